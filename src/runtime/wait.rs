//! Waiting in the runtime: one place for every way a racelab structure waits for another thread.
//!
//! | facility | for | on real threads | under the checkers |
//! |---|---|---|---|
//! | [`wait_while`](super::wait_while) | a monitor (mutex + condvar): the bounded buffers, the closable queue | `Condvar::wait_timeout` in a loop | the checker's condvar, time modelled ([`super::Deadline`]) |
//! | [`Signal`] | lock-free structures: the rings | spin, then yield, then park; a notify that finds no sleeper is one load | park at once (no spinning) |
//! | [`Backoff`] | a retry inside a lock-free operation, waiting for another thread's step in progress | spin, then yield | yield at once |
//! | [`wait_read`] | the read a spin-wait repeats | a load with the algorithm's ordering | a `SeqCst` fence and load (see there) |
//! | `Parker` (crate-private) | the hand-built locks' waiters | spin (the lock's own algorithm) | park on a condvar |
//!
//! [`Signal`] follows the waker of std's `mpmc` and crossbeam's channels: a waiter spins
//! briefly, then registers as a sleeper and re-checks before it blocks; the other side, after
//! making progress, wakes only if someone sleeps. That keeps the fast path free of locks and
//! system calls: when nobody waits, a notify is a fence and a load of a line nobody writes.

use super::{AtomicIntApi, CondvarApi, Deadline, MutexApi, Runtime};
use crossbeam_utils::CachePadded;
use std::sync::atomic::Ordering::{self, AcqRel, Relaxed, SeqCst};
use std::time::Duration;

/// Re-reads `a` inside a wait loop: a load with `order` on real threads, a `SeqCst` fence and
/// load under the model checkers.
///
/// loom lets a weaker load keep returning a stale value after a yield, so a spin-wait on it can
/// run until loom's branch budget is gone; a spin on a read-modify-write is no better (every
/// retry is a new write for loom to order against the holder's). A `SeqCst` fence and load read
/// the latest value in loom. Use it only for the *wait's* read: the correctness of the
/// structure must rest on the operations that enter or publish (a CAS, a release store), which
/// keep their own orderings, so the model checks the same algorithm.
pub fn wait_read<R: Runtime>(a: &R::AtomicUsize, order: Ordering) -> usize {
    if R::CAPS.fair {
        a.load(order)
    } else {
        R::fence(SeqCst);
        a.load(SeqCst)
    }
}

/// Spins that double from 1 to 64 `spin_loop` hints, then yields (crossbeam's `Backoff`):
/// the wait inside a lock-free operation for another thread's step in progress, and the retry
/// loop of a queue with no wait of its own. Where spinning is not fair (the checkers), it
/// yields at once.
#[derive(Debug)]
pub struct Backoff<R: Runtime> {
    deadline: Deadline<R>,
    step: u32,
}

/// Doublings of the spin before [`Backoff`] and [`Signal`] start to yield.
const SPIN_LIMIT: u32 = 6;
/// Steps after which [`Signal`] stops yielding and parks.
const YIELD_LIMIT: u32 = 10;

impl<R: Runtime> Backoff<R> {
    /// A backoff that gives up after `timeout` (`None`: never).
    pub fn new(timeout: Option<Duration>) -> Self {
        Backoff {
            deadline: Deadline::from_timeout(timeout),
            step: 0,
        }
    }
    /// Waits a little; false once the deadline has passed.
    #[track_caller]
    pub fn step(&mut self) -> bool {
        self.snooze();
        !self.deadline.passed()
    }
    /// Waits a little: a doubling spin, then a yield.
    pub fn snooze(&mut self) {
        self.step = self.step.saturating_add(1);
        if !R::CAPS.fair || self.step > SPIN_LIMIT {
            R::yield_now();
        } else {
            for _ in 0..(1u32 << self.step) {
                R::spin_loop();
            }
        }
    }
    /// Whether spinning and yielding have run their course: time to block instead.
    fn completed(&self) -> bool {
        self.step > YIELD_LIMIT
    }
}

/// The fast path before a blocking wait, on real threads (where spinning is fair): calls
/// `ready`, then again between [`Backoff`] snoozes, until it returns `Some`, the backoff has run
/// its course (a few microseconds of spinning, then a few yields) or `deadline` passes. `None`:
/// block now. Under the checkers it returns `None` without calling `ready`, so a model is the
/// same with or without it and explores the block and its wakeup, not a spin.
///
/// For a monitor (mutex + condvar), `ready` takes the mutex for its look: a handoff to a thread
/// that is about to publish then costs no sleep and no wakeup system call, which is most of a
/// round trip's price when the publisher is quick (std's `mpmc` and crossbeam's channels spin
/// the same way before they park).
pub(crate) fn spin_first<R: Runtime, T>(
    deadline: &Deadline<R>,
    mut ready: impl FnMut() -> Option<T>,
) -> Option<T> {
    if !R::CAPS.fair {
        return None;
    }
    if let Some(v) = ready() {
        return Some(v);
    }
    let mut backoff = Backoff::<R>::new(None);
    while !backoff.completed() {
        backoff.snooze();
        if let Some(v) = ready() {
            return Some(v);
        }
        if deadline.passed() {
            return ready();
        }
    }
    None
}

/// Where the threads waiting for one condition of a lock-free structure sleep ("an item is
/// there", "there is room"), and how the threads that make it true wake them.
///
/// ```text
/// waiter                                    notifier
/// ready()? no — spin, yield, retry          change the state (the CAS, the publish)
/// lock; sleepers += 1; fence                fence; sleepers == 0? → done (the fast path)
/// ready()? no — wait on the condvar         lock; notify
/// ```
///
/// A structure whose state changes by a read-modify-write on one word (the rings' CAS on
/// `head`/`tail`) can drop the notifier's fence: the waiter watches that word
/// ([`Signal::wait_until_watching`]) and the notifier calls [`Signal::notify_one_after_rmw`].
///
/// No wakeup is lost: the fences order "sleepers += 1 then re-check" against "change then read
/// sleepers" (store buffering, forbidden with a `SeqCst` fence on each side), so either the
/// re-check sees the change or the notifier sees the sleeper; and the sleeper holds the mutex
/// from its re-check to its wait, so a notifier that saw it cannot notify in between.
///
/// `ready` runs with the signal's mutex held: it must not wait or take a lock that a
/// notifier of this signal holds while notifying. A structure keeps its own notifications out of
/// `ready` and makes them after [`Signal::wait_until`] returns.
pub struct Signal<R: Runtime> {
    /// Threads registered to sleep (counted under `mutex`, read by notifiers without it).
    sleepers: CachePadded<R::AtomicUsize>,
    mutex: R::Mutex<()>,
    cv: R::Condvar,
}

impl<R: Runtime> std::fmt::Debug for Signal<R> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Signal")
            .field("sleepers", &self.sleepers.load(Relaxed))
            .finish()
    }
}

impl<R: Runtime> Default for Signal<R> {
    fn default() -> Self {
        Self::new()
    }
}

impl<R: Runtime> Signal<R> {
    /// A signal nobody waits on.
    pub fn new() -> Self {
        Signal {
            sleepers: CachePadded::new(AtomicIntApi::new(0)),
            mutex: MutexApi::new(()),
            cv: CondvarApi::new(),
        }
    }

    /// Calls `ready` until it returns `Some`, waiting in between, or until `deadline` passes
    /// (`None`; `ready` has had a last look after the timer fired).
    ///
    /// On real threads it spins and yields a little first ([`Backoff`]) and parks only after;
    /// under the checkers it parks at once, so a model explores the sleep and the wakeup rather
    /// than a spin.
    #[track_caller]
    pub fn wait_until<T>(
        &self,
        deadline: &Deadline<R>,
        ready: impl FnMut() -> Option<T>,
    ) -> Option<T> {
        self.wait(None, deadline, ready)
    }

    /// [`Signal::wait_until`] for a structure whose notifiers change `watched` with a
    /// read-modify-write (a CAS that claims a slot, a `fetch_or` that closes) and then call
    /// [`Signal::notify_one_after_rmw`], which needs no fence.
    ///
    /// After registering, the waiter makes its own read-modify-write on `watched` (one that
    /// leaves the value as it is). Read-modify-writes of one atomic are totally ordered, each
    /// reading the one before: if the notifier's comes after the waiter's, it reads from it and
    /// so happens after the registration, and the notifier sees the sleeper; if it comes before,
    /// the waiter's reads the changed value and its re-check sees the change. Nothing is left
    /// to a `SeqCst` total order, which loom does not model for loads and stores.
    #[track_caller]
    pub fn wait_until_watching<T>(
        &self,
        watched: &R::AtomicUsize,
        deadline: &Deadline<R>,
        ready: impl FnMut() -> Option<T>,
    ) -> Option<T> {
        self.wait(Some(watched), deadline, ready)
    }

    #[track_caller]
    fn wait<T>(
        &self,
        watched: Option<&R::AtomicUsize>,
        deadline: &Deadline<R>,
        mut ready: impl FnMut() -> Option<T>,
    ) -> Option<T> {
        if let Some(v) = ready() {
            return Some(v);
        }
        if let Some(v) = spin_first(deadline, &mut ready) {
            return Some(v);
        }
        let mut guard = self.mutex.lock();
        self.sleepers.fetch_add(1, SeqCst);
        R::fence(SeqCst);
        if let Some(w) = watched {
            w.fetch_add(0, AcqRel);
        }
        let out = loop {
            if let Some(v) = ready() {
                break Some(v);
            }
            let (g, timed_out) = deadline.wait(&self.cv, guard);
            guard = g;
            if timed_out {
                break ready();
            }
        };
        self.sleepers.fetch_sub(1, Relaxed);
        drop(guard);
        out
    }

    /// Wakes one sleeper, if any. Call it after the change that may make a sleeper's `ready`
    /// true.
    #[inline]
    pub fn notify_one(&self) {
        if self.has_sleepers(true) {
            self.wake(false);
        }
    }

    /// Wakes one sleeper, if any, right after the read-modify-write on the word that
    /// sleepers watch ([`Signal::wait_until_watching`]): no fence, one `Relaxed` load of a line
    /// nobody writes while nobody sleeps.
    #[inline]
    pub fn notify_one_after_rmw(&self) {
        if self.has_sleepers(false) {
            self.wake(false);
        }
    }

    /// Wakes every sleeper, if any (a close: everyone must look again).
    #[inline]
    pub fn notify_all(&self) {
        if self.has_sleepers(true) {
            self.wake(true);
        }
    }

    /// The notifier's side of the handshake: a `SeqCst` fence (unless the caller's
    /// read-modify-write on the watched word orders it), then the sleeper count.
    #[inline]
    fn has_sleepers(&self, fence: bool) -> bool {
        if fence {
            R::fence(SeqCst);
        }
        self.sleepers.load(Relaxed) != 0
    }

    /// The slow path: under the mutex, so a sleeper between its re-check and its wait is not
    /// missed.
    #[cold]
    fn wake(&self, all: bool) {
        let _g = self.mutex.lock();
        if all {
            self.cv.notify_all();
        } else {
            self.cv.notify_one();
        }
    }
}

/// Where a hand-built lock's waiters wait. On real threads: a spin (`R::spin_loop`), exactly
/// the lock's own algorithm. Under the model checkers: a park on a condition variable, woken by
/// `wake` after every release. loom has no fairness, so two spinning waiters can yield to each
/// other forever while the holder never runs, and its branch budget runs out; parked waiters
/// are not runnable, so loom explores the 3-thread scenarios to the end. The wait is not what
/// makes a lock exclusive (its entry read-modify-write and release store are, and those are
/// unchanged), so the checkers still check the lock. On `Std` `wake` is nothing and the mutex
/// and condvar are never touched.
pub(crate) struct Parker<R: Runtime> {
    mutex: R::Mutex<()>,
    cv: R::Condvar,
}

impl<R: Runtime> Parker<R> {
    pub(crate) fn new() -> Self {
        Parker {
            mutex: MutexApi::new(()),
            cv: CondvarApi::new(),
        }
    }
    /// Waits while `busy()` holds.
    #[inline]
    pub(crate) fn wait_while(&self, mut busy: impl FnMut() -> bool) {
        if R::CAPS.fair {
            while busy() {
                R::spin_loop();
            }
        } else {
            // The check runs under the mutex that `wake` takes after the release store, so a
            // release between the check and the wait cannot be missed.
            let mut g = self.mutex.lock();
            while busy() {
                g = self.cv.wait(g);
            }
        }
    }
    /// After a release: wakes the parked waiters (under the checkers only).
    #[inline]
    pub(crate) fn wake(&self) {
        if !R::CAPS.fair {
            let _g = self.mutex.lock();
            self.cv.notify_all();
        }
    }
}

impl<R: Runtime> std::fmt::Debug for Parker<R> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Parker")
    }
}
