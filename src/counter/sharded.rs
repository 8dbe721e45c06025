use super::Counter;
use crate::runtime::{AtomicUsizeApi, DefaultRuntime, Runtime};
use crate::trace;
use crossbeam_utils::CachePadded;
use std::cell::Cell;
use std::sync::atomic::{AtomicUsize, Ordering::Relaxed};

/// Per-thread slots, each on its own cache line, summed on read (McKenney's statistical
/// counter). Increments never share a cache line, so they scale with cores; a read costs one
/// load per slot and sees a value between the counts before and after it started.
///
/// A thread uses the slot of its scenario thread index, or else one assigned on first use.
/// Slots are incremented with `fetch_add`, so two threads that share a slot stay correct.
/// Reads are monotonic: every slot only grows, and each is read after the previous read's.
#[derive(Debug)]
pub struct ShardedCounter<R: Runtime = DefaultRuntime> {
    /// Slot `i` counts the increments of the threads mapped to `i`.
    slots: Box<[CachePadded<R::AtomicUsize>]>,
}

/// Slots per counter: enough for this crate's threads on real hardware; few under the
/// checkers, where every extra slot is extra loads to explore.
fn slot_count<R: Runtime>() -> usize {
    if R::MODEL { 4 } else { 16 }
}

std::thread_local! {
    static SLOT: Cell<Option<usize>> = const { Cell::new(None) };
}
static NEXT_SLOT: AtomicUsize = AtomicUsize::new(0);

fn my_slot<R: Runtime>() -> usize {
    R::thread_index().unwrap_or_else(|| {
        SLOT.with(|s| {
            *s.get()
                .get_or_insert_with(|| NEXT_SLOT.fetch_add(1, Relaxed))
        })
    })
}

impl<R: Runtime> Counter for ShardedCounter<R> {
    const NAME: &'static str = "ShardedCounter";
    type On<Q: Runtime> = ShardedCounter<Q>;
    fn new() -> Self {
        ShardedCounter {
            slots: (0..slot_count::<R>())
                .map(|_| CachePadded::new(R::AtomicUsize::new(0)))
                .collect(),
        }
    }
    fn increment(&self) {
        let i = my_slot::<R>() % self.slots.len();
        let v = self.slots[i].fetch_add(1, Relaxed);
        trace::event(|| format!("slot[{i}].fetch_add → {v}"));
    }
    fn get(&self) -> usize {
        let v = self.slots.iter().map(|s| s.load(Relaxed)).sum();
        trace::event(|| format!("sum of slots → {v}"));
        v
    }
}
