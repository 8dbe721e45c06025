use super::Counter;
use crate::runtime::{CellApi, DefaultRuntime, Runtime};
use crate::trace;

/// **Intentionally racy:** increments a plain integer in an `UnsafeCell` with no
/// synchronisation at all: a data race, undefined behaviour in Rust.
///
/// ```text
/// T1: cell += 1   (read 0 …
/// T2: cell += 1   (read 0, write 1)
/// T1:              … write 1)     ← and the compiler may do worse
/// ```
///
/// loom tracks every access to its `UnsafeCell` and reports two unordered accesses as a
/// *causality violation*. shuttle cannot see it: it preempts only at synchronisation
/// operations, and a cell access is not one. The stress engine does not run it: executing a
/// data race on real threads is undefined behaviour, not an experiment. The twin is
/// [`super::AtomicCounter`].
#[derive(Debug)]
pub struct UnsyncCellCounter<R: Runtime = DefaultRuntime> {
    value: R::UnsafeCell<usize>,
}

// SAFETY: none, and that is the point: this impl lets threads share the cell without
// synchronisation. The type exists to be caught by loom's cell tracking; racelab never runs it
// on real threads (its catalogue entry skips the stress engine).
unsafe impl<R: Runtime> Sync for UnsyncCellCounter<R> {}
// SAFETY: the cell holds a `usize`, which may move between threads.
unsafe impl<R: Runtime> Send for UnsyncCellCounter<R> {}

impl<R: Runtime> Counter for UnsyncCellCounter<R> {
    const NAME: &'static str = "UnsyncCellCounter";
    type On<Q: Runtime> = UnsyncCellCounter<Q>;
    fn new() -> Self {
        UnsyncCellCounter {
            value: R::UnsafeCell::new(0),
        }
    }
    fn increment(&self) {
        // SAFETY: not sound under concurrency (see the type's docs); sound when the caller
        // increments from one thread at a time, which is all racelab's own non-loom use does.
        let v = self.value.with_mut(|p| unsafe {
            *p += 1;
            *p
        });
        trace::event(|| format!("cell += 1 → {v}"));
    }
    fn get(&self) -> usize {
        // SAFETY: as for `increment`.
        let v = self.value.with(|p| unsafe { *p });
        trace::event(|| format!("read → {v}"));
        v
    }
}
