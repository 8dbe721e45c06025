use super::Counter;
use crate::runtime::{AtomicIntApi, DefaultRuntime, Runtime};
use crate::trace;
use crossbeam_utils::CachePadded;
use std::cell::Cell;
use std::sync::atomic::{AtomicUsize, Ordering::Relaxed};

/// Per-thread slots, each on its own cache line, summed on read (McKenney's statistical
/// counter). Increments never share a cache line, and a slot's owner increments it with a plain
/// load and store, no `lock`-prefixed instruction: only its owner ever writes it.
///
/// A thread claims the slot its token hashes to with one compare-and-swap on first use; a
/// thread whose slot is taken by another falls back to a shared slot incremented with
/// `fetch_add`. Reads are monotonic: every slot only grows, and each is read after the previous
/// read's. Tokens are unique per OS thread on real threads, and per scenario thread under the
/// checkers (where every model thread runs on the same OS thread).
#[derive(Debug)]
pub struct ShardedCounter<R: Runtime = DefaultRuntime> {
    slots: Box<[CachePadded<Slot<R>>]>,
    /// For threads whose slot another thread owns (or that have no token under a checker).
    shared: CachePadded<R::AtomicUsize>,
}

#[derive(Debug)]
struct Slot<R: Runtime> {
    /// The token of the thread that owns the slot; 0 while free. Set once, by CAS.
    owner: R::AtomicUsize,
    /// Increments of the owner: written by the owner only.
    count: R::AtomicUsize,
}

/// Slots per counter: enough for this crate's threads on real hardware. Two under the
/// checkers, so that in the 3-thread scenarios two threads collide on one slot and the
/// claim-or-fall-back path is explored too (and every extra slot is extra loads to explore).
fn slot_count<R: Runtime>() -> usize {
    if R::CAPS.checked { 2 } else { 16 }
}

std::thread_local! {
    static TOKEN: Cell<usize> = const { Cell::new(0) };
}
static NEXT_TOKEN: AtomicUsize = AtomicUsize::new(1);

/// This thread's token (never 0), or `None` under a checker outside a scenario thread.
fn token<R: Runtime>() -> Option<usize> {
    if R::CAPS.checked {
        R::thread_index().map(|i| i + 1)
    } else {
        Some(TOKEN.with(|t| {
            if t.get() == 0 {
                t.set(NEXT_TOKEN.fetch_add(1, Relaxed));
            }
            t.get()
        }))
    }
}

impl<R: Runtime> Counter for ShardedCounter<R> {
    const NAME: &'static str = "ShardedCounter";
    type On<Q: Runtime> = ShardedCounter<Q>;
    fn new() -> Self {
        ShardedCounter {
            slots: (0..slot_count::<R>())
                .map(|_| {
                    CachePadded::new(Slot {
                        owner: R::AtomicUsize::new(0),
                        count: R::AtomicUsize::new(0),
                    })
                })
                .collect(),
            shared: CachePadded::new(R::AtomicUsize::new(0)),
        }
    }
    fn increment(&self) {
        if let Some(me) = token::<R>() {
            let i = me % self.slots.len();
            let slot = &self.slots[i];
            // A thread always sees its own claim (coherence), so `owner == me` is exact; a
            // stale 0 only sends us to the CAS, which reads the latest owner.
            let owner = slot.owner.load(Relaxed);
            if owner == me
                || (owner == 0 && slot.owner.compare_exchange(0, me, Relaxed, Relaxed).is_ok())
            {
                // Single writer: a plain load and store cannot lose an update.
                let v = slot.count.load(Relaxed);
                slot.count.store(v + 1, Relaxed);
                trace::event(|| format!("slot[{i}] = {} (owned)", v + 1));
                return;
            }
        }
        let v = self.shared.fetch_add(1, Relaxed);
        trace::event(|| format!("shared.fetch_add → {v}"));
    }
    fn get(&self) -> usize {
        let v = self
            .slots
            .iter()
            .map(|s| s.count.load(Relaxed))
            .sum::<usize>()
            + self.shared.load(Relaxed);
        trace::event(|| format!("sum of slots → {v}"));
        v
    }
}
