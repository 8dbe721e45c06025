use super::RawLock;
use crate::runtime::{AtomicBoolApi, AtomicIntApi, DefaultRuntime, Runtime};
use crate::trace;
use std::sync::atomic::Ordering::{self, Acquire, Release, SeqCst};

/// Peterson's algorithm for two threads, parameterised by its orderings. Each thread raises
/// its flag, gives the turn away, and waits while the other's flag is up and the turn is the
/// other's. The thread's number (0 or 1) is its scenario thread index.
#[derive(Debug)]
struct Peterson<R: Runtime> {
    /// `flag[i]`: thread i wants in.
    flag: [R::AtomicBool; 2],
    /// Whose turn it is to wait: the last thread to arrive yields to the other.
    turn: R::AtomicUsize,
}

/// This thread's number: its scenario thread index. The driver thread (no index) counts as 0:
/// it only takes the lock before the scenario threads start or after they have all finished.
fn me<R: Runtime>() -> usize {
    R::thread_index().unwrap_or(0) % 2
}

impl<R: Runtime> Peterson<R> {
    fn new() -> Self {
        Peterson {
            flag: [R::AtomicBool::new(false), R::AtomicBool::new(false)],
            turn: R::AtomicUsize::new(0),
        }
    }
    fn waits(&self, other: usize, load: Ordering) -> bool {
        let f = self.flag[other].load(load);
        let t = self.turn.load(load);
        trace::event(|| format!("flag[{other}] → {f}, turn → {t}"));
        f && t == other
    }
}

/// **Intentionally racy:** Peterson's algorithm with Release stores and Acquire loads. Each
/// thread's load of the other's flag may be satisfied before its own flag store is visible
/// (store buffering: a store followed by a load of another location is the one reordering
/// x86-TSO allows, and C11 Acquire/Release forbids nothing here).
///
/// ```text
/// T1: flag[0] = true     (still in T1's store buffer)
/// T2: flag[1] = true     (still in T2's store buffer)
/// T1: flag[1] → false    → enters
/// T2: flag[0] → false    → enters
/// ```
///
/// loom finds it; x86 stress can; shuttle is sequentially consistent and cannot. The twin is
/// [`PetersonSeqCst`].
#[derive(Debug)]
pub struct PetersonAcqRel<R: Runtime = DefaultRuntime>(Peterson<R>);

impl<R: Runtime> RawLock for PetersonAcqRel<R> {
    const NAME: &'static str = "PetersonAcqRel";
    const MAX_THREADS: usize = 2;
    type Rt = R;
    type On<Q: Runtime> = PetersonAcqRel<Q>;
    fn new() -> Self {
        PetersonAcqRel(Peterson::new())
    }
    fn lock(&self) {
        let (me, other) = (me::<R>(), 1 - me::<R>());
        self.0.flag[me].store(true, Release);
        self.0.turn.store(other, Release);
        trace::event(|| format!("flag[{me}] = true, turn = {other}"));
        while self.0.waits(other, Acquire) {
            R::spin_loop();
        }
    }
    fn try_lock(&self) -> bool {
        let (me, other) = (me::<R>(), 1 - me::<R>());
        self.0.flag[me].store(true, Release);
        self.0.turn.store(other, Release);
        if self.0.waits(other, Acquire) {
            self.0.flag[me].store(false, Release);
            return false;
        }
        true
    }
    fn unlock(&self) {
        self.0.flag[me::<R>()].store(false, Release);
    }
}

/// Peterson's algorithm made correct for C11: every access `SeqCst`, the turn handed over with
/// a `swap` (a read-modify-write), and a `SeqCst` fence before reading the other's flag.
///
/// Plain `SeqCst` stores and loads would already be correct in C11 (all of them fall in one total
/// order). But loom treats `SeqCst` *accesses* as `AcqRel` (its README; tokio-rs/loom#180), so
/// that version is a loom false alarm. The `swap` makes the two turn handovers totally ordered
/// with the later one reading the earlier (so the later thread sees the earlier one's flag), and
/// the fence is the form of `SeqCst` loom does model. Both cost nothing extra on x86, where the
/// `swap` is the full barrier a `SeqCst` store needs anyway.
#[derive(Debug)]
pub struct PetersonSeqCst<R: Runtime = DefaultRuntime>(Peterson<R>);

impl<R: Runtime> PetersonSeqCst<R> {
    fn announce(&self) -> (usize, usize) {
        let (me, other) = (me::<R>(), 1 - me::<R>());
        self.0.flag[me].store(true, SeqCst);
        self.0.turn.swap(other, SeqCst);
        R::fence(SeqCst);
        trace::event(|| format!("flag[{me}] = true, turn = {other}, fence"));
        (me, other)
    }
}

impl<R: Runtime> RawLock for PetersonSeqCst<R> {
    const NAME: &'static str = "PetersonSeqCst";
    const MAX_THREADS: usize = 2;
    type Rt = R;
    type On<Q: Runtime> = PetersonSeqCst<Q>;
    fn new() -> Self {
        PetersonSeqCst(Peterson::new())
    }
    fn lock(&self) {
        let (_, other) = self.announce();
        while self.0.waits(other, SeqCst) {
            R::spin_loop();
        }
    }
    fn try_lock(&self) -> bool {
        let (me, other) = self.announce();
        if self.0.waits(other, SeqCst) {
            self.0.flag[me].store(false, SeqCst);
            return false;
        }
        true
    }
    fn unlock(&self) {
        self.0.flag[me::<R>()].store(false, SeqCst);
    }
}
