use super::RawLock;
use crate::runtime::{AtomicIntApi, DefaultRuntime, Runtime};
use crate::trace;
use std::sync::atomic::Ordering::{Acquire, Relaxed, Release};

/// A ticket lock: take a number (`fetch_add` on `next`), wait until `serving` shows it. Fair:
/// threads enter in the order they took tickets.
///
/// Fairness has a price under oversubscription: if the thread whose turn it is has been
/// descheduled, everyone behind it waits for the scheduler (the benchmarks at 4 threads on 2
/// cores show it).
#[derive(Debug)]
pub struct TicketLock<R: Runtime = DefaultRuntime> {
    /// The next ticket to hand out.
    next: R::AtomicUsize,
    /// The ticket allowed in; only the holder advances it.
    serving: R::AtomicUsize,
    /// Where waiters wait (a spin on real threads; see [`super::Parker`]).
    parker: super::Parker<R>,
}

impl<R: Runtime> RawLock for TicketLock<R> {
    const NAME: &'static str = "TicketLock";
    const PARKS_UNDER_MODELS: bool = true;
    type Rt = R;
    type On<Q: Runtime> = TicketLock<Q>;
    fn new() -> Self {
        TicketLock {
            next: R::AtomicUsize::new(0),
            serving: R::AtomicUsize::new(0),
            parker: super::Parker::new(),
        }
    }
    fn lock(&self) {
        // The ticket only orders the waiters; the synchronisation is on `serving`.
        let me = self.next.fetch_add(1, Relaxed);
        trace::event(|| format!("ticket {me}"));
        // Acquire: pairs with the Release in `unlock` ..
        self.parker
            .wait_while(|| super::wait_read::<R>(&self.serving, Acquire) != me);
        // .. so the previous holder's critical section is visible here.
        trace::event(|| format!("serving {me}"));
    }
    fn try_lock(&self) -> bool {
        let s = self.serving.load(Acquire);
        self.next
            .compare_exchange(s, s + 1, Relaxed, Relaxed)
            .is_ok()
    }
    fn unlock(&self) {
        self.serving.fetch_add(1, Release);
        self.parker.wake();
    }
}
