//! A bounded lock-free MPMC ring after Dmitry Vyukov's design (the one crossbeam's `ArrayQueue`
//! and array channel use), with close folded into the tail index; and the same ring with its
//! slot claim done by load-then-store, the bug crossbeam once fixed.

use super::parking::{self, Parks, Waiting};
use super::{CapacityError, PopError, PushError, Queue, bounded_capacity};
use crate::runtime::{AtomicIntApi, Backoff, CellApi, Deadline, DefaultRuntime, Runtime, Signal};
use crate::trace;
use crossbeam_utils::CachePadded;
use std::mem::MaybeUninit;
use std::sync::atomic::Ordering::{Acquire, Relaxed, Release, SeqCst};
use std::time::Duration;

/// A load in a retry loop: with `order` on the first attempt; on a retry after waiting for
/// another thread, [`crate::lock::wait_read`] (a `SeqCst` read under the model checkers, whose
/// weaker loads may return the same stale value forever and turn the wait into an endless
/// branch). First attempts keep the algorithm's own orderings, so loom checks those.
fn load<R: Runtime>(a: &R::AtomicUsize, order: std::sync::atomic::Ordering, retry: bool) -> usize {
    if retry {
        crate::lock::wait_read::<R>(a, order)
    } else {
        a.load(order)
    }
}

/// One slot: a stamp saying whose turn it is, and the value.
struct Slot<T: Send + 'static, R: Runtime> {
    /// `tail` when the slot is free for the push at index `tail`; `tail + 1` once written;
    /// `head + one_lap` once read (free for the next lap).
    stamp: R::AtomicUsize,
    value: R::UnsafeCell<MaybeUninit<T>>,
}

/// The ring shared by [`MpmcRing`] (`RACY = false`) and [`LoadStoreIndexRing`] (`RACY = true`).
///
/// `head` and `tail` hold an index in their low bits and a lap count above them (`one_lap` is
/// the smallest power of two above `2 × capacity`); bit `mark_bit` of `tail` means closed. A
/// producer claims the slot at `tail` by advancing `tail` with a CAS, writes the value, and
/// publishes it by storing the slot's stamp with `Release`; a consumer claims the slot at `head`
/// the same way once the stamp shows it written, and frees it for the next lap.
pub struct Ring<T: Send + 'static, R: Runtime, const RACY: bool> {
    head: CachePadded<R::AtomicUsize>,
    tail: CachePadded<R::AtomicUsize>,
    buffer: Box<[Slot<T, R>]>,
    cap: usize,
    one_lap: usize,
    mark_bit: usize,
    /// Where blocked consumers sleep until an item is there (or the ring closes).
    readable: Signal<R>,
    /// Where blocked producers sleep until there is room (or the ring closes).
    writable: Signal<R>,
}

/// A bounded lock-free multi-producer multi-consumer ring (Vyukov; crossbeam's `ArrayQueue`
/// with close added as in crossbeam's array channel: a mark bit in `tail`, so close and push
/// are ordered by the same CAS and a push after close always fails with its item).
pub type MpmcRing<T, R = DefaultRuntime> = Ring<T, R, false>;

/// **Intentionally racy:** [`MpmcRing`] claiming slots with a load and a store instead of a
/// compare-and-swap. Two producers that load the same `tail` both write the same slot: one item
/// overwrites the other (**lost item**, and a data race on the slot that loom reports); two
/// consumers that load the same `head` both take the same item (**duplicated item**). This is the
/// shape of the bug crossbeam fixed in its early queues: every access is atomic, the claim is
/// not.
///
/// ```text
/// P1: load tail → 0 (slot 0 free)
/// P2: load tail → 0 (slot 0 free)
/// P1: store tail 1, write slot 0 ← 1
/// P2: store tail 1, write slot 0 ← 2     item 1 is gone
/// ```
pub type LoadStoreIndexRing<T, R = DefaultRuntime> = Ring<T, R, true>;

// SAFETY: the ring hands each slot's value from exactly one producer to exactly one consumer
// (the stamps and the CAS on head/tail order the accesses), so sharing it needs only `T: Send`,
// as for crossbeam's ArrayQueue. The racy variant breaks this on purpose; it is run only under
// the checkers and never on real threads (see the catalogue's stress expectation).
unsafe impl<T: Send + 'static, R: Runtime, const RACY: bool> Sync for Ring<T, R, RACY> {}
// SAFETY: moving the ring moves its items, which are `Send`.
unsafe impl<T: Send + 'static, R: Runtime, const RACY: bool> Send for Ring<T, R, RACY> {}

impl<T: Send + 'static, R: Runtime, const RACY: bool> Ring<T, R, RACY> {
    /// Claims position `from` of `index` by moving it to `to`: a CAS (or, racy, a store after
    /// the caller's load). `Err` carries the current value to retry from.
    fn claim(index: &R::AtomicUsize, from: usize, to: usize) -> Result<(), usize> {
        if RACY {
            // The bug: the caller loaded `from` earlier; anyone may have moved it since.
            index.store(to, SeqCst);
            Ok(())
        } else {
            index
                .compare_exchange(from, to, SeqCst, Relaxed)
                .map(|_| ())
        }
    }

    /// The position after `pos` (same lap, or index 0 of the next lap).
    fn next(&self, pos: usize) -> usize {
        let index = pos & (self.mark_bit - 1);
        let lap = pos & !(self.one_lap - 1);
        if index + 1 < self.cap {
            pos + 1
        } else {
            lap.wrapping_add(self.one_lap)
        }
    }
}

impl<T: Send + 'static, R: Runtime, const RACY: bool> Queue<T> for Ring<T, R, RACY> {
    const NAME: &'static str = if RACY {
        "LoadStoreIndexRing"
    } else {
        "MpmcRing"
    };
    const PARKS: bool = true;
    type Rt = R;
    type On<Q: Runtime> = Ring<T, Q, RACY>;

    fn with_capacity(capacity: Option<usize>) -> Result<Self, CapacityError> {
        let cap = bounded_capacity(Self::NAME, capacity)?;
        let mark_bit = (cap + 1).next_power_of_two();
        let one_lap = mark_bit * 2;
        let buffer = (0..cap)
            .map(|i| Slot {
                stamp: R::AtomicUsize::new(i),
                value: R::UnsafeCell::new(MaybeUninit::uninit()),
            })
            .collect();
        Ok(Ring {
            head: CachePadded::new(R::AtomicUsize::new(0)),
            tail: CachePadded::new(R::AtomicUsize::new(0)),
            buffer,
            cap,
            one_lap,
            mark_bit,
            readable: Signal::new(),
            writable: Signal::new(),
        })
    }

    fn try_push(&self, item: T) -> Result<(), PushError<T>> {
        parking::try_push(self, item)
    }

    fn try_pop(&self) -> Result<T, PopError> {
        parking::try_pop(self)
    }

    fn push_timeout(&self, item: T, timeout: Option<Duration>) -> Result<(), PushError<T>> {
        parking::push_timeout(self, item, timeout)
    }

    fn pop_timeout(&self, timeout: Option<Duration>) -> Result<T, PopError> {
        parking::pop_timeout(self, timeout)
    }

    fn close(&self) -> bool {
        let tail = self.tail.fetch_or(self.mark_bit, SeqCst);
        trace::event(|| "close".into());
        // Everyone blocked looks again: producers to fail with their item, consumers to drain.
        self.readable.notify_all();
        self.writable.notify_all();
        tail & self.mark_bit == 0
    }

    fn is_closed(&self) -> bool {
        self.tail.load(SeqCst) & self.mark_bit != 0
    }

    fn len(&self) -> usize {
        loop {
            let tail = self.tail.load(SeqCst);
            let head = self.head.load(SeqCst);
            // A consistent snapshot: the tail did not move while the head was read.
            if self.tail.load(SeqCst) == tail {
                return self.count(head, tail);
            }
        }
    }

    fn capacity(&self) -> Option<usize> {
        Some(self.cap)
    }
}

impl<T: Send + 'static, R: Runtime, const RACY: bool> Ring<T, R, RACY> {
    /// Items between `head` and `tail` (crossbeam's formula: same index means empty or full,
    /// told apart by the lap).
    fn count(&self, head: usize, tail: usize) -> usize {
        let hix = head & (self.mark_bit - 1);
        let tix = tail & (self.mark_bit - 1);
        if hix < tix {
            tix - hix
        } else if hix > tix {
            self.cap - hix + tix
        } else if (tail & !self.mark_bit) == head {
            0
        } else {
            self.cap
        }
    }
}

impl<T: Send + 'static, R: Runtime, const RACY: bool> Parks<T> for Ring<T, R, RACY> {
    type Rt = R;

    fn put(&self, item: T) -> Result<(), PushError<T>> {
        let mut wait = Backoff::<R>::new(None);
        let mut tail = self.tail.load(Relaxed);
        let mut retry = false;
        loop {
            if tail & self.mark_bit != 0 {
                trace::event(|| "push: closed".into());
                return Err(PushError::Closed(item));
            }
            let index = tail & (self.mark_bit - 1);
            let slot = &self.buffer[index];
            let stamp = load::<R>(&slot.stamp, Acquire, retry);
            if tail == stamp {
                // The slot is free for this lap: claim it by moving the tail on.
                let next = self.next(tail);
                match Self::claim(&self.tail, tail, next) {
                    Ok(()) => {
                        trace::event(|| format!("push: claim slot {index}"));
                        // SAFETY: the claim gave this thread the slot until it stores the
                        // stamp below; no consumer reads it before that stamp (the `Acquire`
                        // load of the stamp pairs with this `Release` store).
                        slot.value.with_mut(|p| unsafe { (*p).write(item) });
                        slot.stamp.store(tail + 1, Release);
                        trace::event(|| format!("push: publish slot {index}"));
                        return Ok(());
                    }
                    Err(now) => tail = now,
                }
            } else if stamp.wrapping_add(self.one_lap) == tail + 1 {
                // The slot still holds last lap's value: full, unless a consumer is mid-pop.
                R::fence(SeqCst);
                let head = load::<R>(&self.head, Relaxed, retry);
                if head.wrapping_add(self.one_lap) == tail {
                    trace::event(|| "push: full".into());
                    return Err(PushError::Full(item));
                }
                wait.snooze();
                retry = true;
                tail = load::<R>(&self.tail, Relaxed, retry);
            } else {
                // Another producer claimed this slot and has not finished; look again.
                wait.snooze();
                retry = true;
                tail = load::<R>(&self.tail, Relaxed, retry);
            }
        }
    }

    fn take(&self) -> Result<T, PopError> {
        let mut wait = Backoff::<R>::new(None);
        let mut head = self.head.load(Relaxed);
        let mut retry = false;
        loop {
            let index = head & (self.mark_bit - 1);
            let slot = &self.buffer[index];
            let stamp = load::<R>(&slot.stamp, Acquire, retry);
            if head + 1 == stamp {
                // Written for this lap: claim it by moving the head on.
                let next = self.next(head);
                match Self::claim(&self.head, head, next) {
                    Ok(()) => {
                        // SAFETY: the stamp showed the value written (its `Release` store
                        // happened before our `Acquire` load) and the claim made this thread
                        // the slot's only reader until it stores the next lap's stamp.
                        let item = slot.value.with(|p| unsafe { (*p).assume_init_read() });
                        slot.stamp.store(head.wrapping_add(self.one_lap), Release);
                        trace::event(|| format!("pop: take slot {index}"));
                        return Ok(item);
                    }
                    Err(now) => head = now,
                }
            } else if stamp == head {
                // Not written for this lap: empty, unless a producer is mid-push.
                R::fence(SeqCst);
                let tail = load::<R>(&self.tail, Relaxed, retry);
                if tail & !self.mark_bit == head {
                    return if tail & self.mark_bit != 0 {
                        trace::event(|| "pop: closed and drained".into());
                        Err(PopError::Closed)
                    } else {
                        trace::event(|| "pop: empty".into());
                        Err(PopError::Empty)
                    };
                }
                wait.snooze();
                retry = true;
                head = load::<R>(&self.head, Relaxed, retry);
            } else {
                // Another consumer took this slot and has not finished; look again.
                wait.snooze();
                retry = true;
                head = load::<R>(&self.head, Relaxed, retry);
            }
        }
    }

    fn sleep<X>(
        &self,
        side: Waiting,
        deadline: &Deadline<R>,
        ready: impl FnMut() -> Option<X>,
    ) -> Option<X> {
        // A sleeper watches the word whose CAS makes its progress, so a wakeup needs no fence.
        match side {
            Waiting::Items => self
                .readable
                .wait_until_watching(&self.tail, deadline, ready),
            Waiting::Room => self
                .writable
                .wait_until_watching(&self.head, deadline, ready),
        }
    }

    fn wake(&self, side: Waiting) {
        match side {
            Waiting::Items => self.readable.notify_one_after_rmw(),
            Waiting::Room => self.writable.notify_one_after_rmw(),
        }
    }
}

impl<T: Send + 'static, R: Runtime, const RACY: bool> Drop for Ring<T, R, RACY> {
    fn drop(&mut self) {
        // `&mut self`: no other thread can touch the ring; the loads only read our own view.
        let head = self.head.load(Relaxed);
        let tail = self.tail.load(Relaxed);
        let hix = head & (self.mark_bit - 1);
        for i in 0..self.count(head, tail) {
            let index = if hix + i < self.cap {
                hix + i
            } else {
                hix + i - self.cap
            };
            // SAFETY: the slots from head to tail hold values written and not taken; each is
            // dropped once, here, and the ring is never used again.
            self.buffer[index]
                .value
                .with_mut(|p| unsafe { (*p).assume_init_drop() });
        }
    }
}
