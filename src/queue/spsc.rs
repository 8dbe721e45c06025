//! A single-producer single-consumer ring (Lamport's, with cached indices), and the same ring
//! with its tail published `Relaxed`.

use super::parking::{self, Parks, Waiting};
use super::{CapacityError, PopError, PushError, Queue, bounded_capacity};
use crate::runtime::{
    AtomicBoolApi, AtomicIntApi, CellApi, Deadline, DefaultRuntime, Runtime, Signal,
};
use crate::trace;
use crossbeam_utils::CachePadded;
use std::mem::MaybeUninit;
use std::sync::atomic::Ordering::{Acquire, Relaxed, Release};
use std::time::Duration;

/// One side's private state: which thread it is, and its cached copy of the other side's index.
struct Side<R: Runtime> {
    /// [`Runtime::thread_token`] of the thread that took this side (0: nobody yet).
    owner: R::AtomicUsize,
    /// The other side's index as last read: re-read only when it looks full (producer) or empty
    /// (consumer), so most operations touch no shared cache line but the slot.
    cached: R::UnsafeCell<usize>,
}

/// The ring shared by [`SpscRing`] (`RACY = false`) and [`RelaxedSpscRing`] (`RACY = true`).
///
/// Positions run from 0 to `2 × capacity - 1` and wrap, so "full" (`tail - head = capacity`)
/// and "empty" (`tail = head`) differ without a spare slot. The producer alone writes `tail`
/// and `closed`, the consumer alone writes `head`.
///
/// One producer and one consumer is a contract the type cannot express with `&self` methods, so
/// it is checked at run time: the first thread to push (or close) becomes the producer, the
/// first to pop the consumer, and any other thread that tries gets a panic that says so, never
/// undefined behaviour. The check is one `Relaxed` load and a thread-local address per call.
/// Under the model checkers it is skipped (their scenarios keep the contract by construction).
pub struct Spsc<T: Send + 'static, R: Runtime, const RACY: bool> {
    head: CachePadded<R::AtomicUsize>,
    tail: CachePadded<R::AtomicUsize>,
    producer: CachePadded<Side<R>>,
    consumer: CachePadded<Side<R>>,
    closed: R::AtomicBool,
    buffer: Box<[R::UnsafeCell<MaybeUninit<T>>]>,
    cap: usize,
    /// Where a blocked consumer sleeps until an item is there (or the ring closes).
    readable: Signal<R>,
    /// Where a blocked producer sleeps until there is room.
    writable: Signal<R>,
}

/// A bounded SPSC ring: the producer writes a slot, then publishes it by storing `tail` with
/// `Release`; the consumer loads `tail` with `Acquire` before reading the slot, and frees it by
/// storing `head` with `Release`. No read-modify-write on the fast path.
pub type SpscRing<T, R = DefaultRuntime> = Spsc<T, R, false>;

/// **Intentionally racy:** [`SpscRing`] publishing `tail` with `Relaxed`. The consumer can see
/// the new tail before the slot's contents (nothing orders the slot write before the tail
/// store for it): a **stale read**, which loom reports as a causality violation on the slot.
/// x86 keeps the two stores in order, and shuttle is sequentially consistent, so only loom sees
/// it.
///
/// ```text
/// P: write slot 0 ← 1
/// P: store tail 1 (Relaxed)
/// C: load tail → 1 (Acquire, but it synchronises with nothing)
/// C: read slot 0 → not yet 1         ← the write is not visible
/// ```
pub type RelaxedSpscRing<T, R = DefaultRuntime> = Spsc<T, R, true>;

// SAFETY: each slot passes from the producer to the consumer through the Release/Acquire pair
// on `tail` (and back through `head`), and each side's cached index is touched only by the one
// thread that owns the side (checked at run time on real threads), so sharing the ring needs
// only `T: Send`. The racy variant breaks the first half on purpose and is never run on real
// threads (see the catalogue's stress expectation).
unsafe impl<T: Send + 'static, R: Runtime, const RACY: bool> Sync for Spsc<T, R, RACY> {}
// SAFETY: moving the ring moves its items, which are `Send`.
unsafe impl<T: Send + 'static, R: Runtime, const RACY: bool> Send for Spsc<T, R, RACY> {}

impl<T: Send + 'static, R: Runtime, const RACY: bool> Spsc<T, R, RACY> {
    /// The position after `pos`.
    fn next(&self, pos: usize) -> usize {
        if pos + 1 == 2 * self.cap { 0 } else { pos + 1 }
    }
    /// The slot of position `pos`.
    fn slot(&self, pos: usize) -> &R::UnsafeCell<MaybeUninit<T>> {
        &self.buffer[if pos >= self.cap { pos - self.cap } else { pos }]
    }
    /// Items between `head` and `tail`.
    fn distance(&self, head: usize, tail: usize) -> usize {
        if tail >= head {
            tail - head
        } else {
            tail + 2 * self.cap - head
        }
    }
    /// Makes the calling thread `side`'s owner, or panics if another thread is.
    fn take_side(side: &Side<R>, role: &str) {
        if R::CAPS.checked {
            return;
        }
        let me = R::thread_token();
        let owner = side.owner.load(Relaxed);
        if owner == me
            || (owner == 0 && side.owner.compare_exchange(0, me, Relaxed, Relaxed).is_ok())
        {
            return;
        }
        panic!(
            "{}: {role} called from a second thread; an SPSC ring has one producer (who also closes) and one consumer",
            <Self as Queue<T>>::NAME
        );
    }
}

impl<T: Send + 'static, R: Runtime, const RACY: bool> Queue<T> for Spsc<T, R, RACY> {
    const NAME: &'static str = if RACY { "RelaxedSpscRing" } else { "SpscRing" };
    const SPSC: bool = true;
    const PARKS: bool = true;
    type Rt = R;
    type On<Q: Runtime> = Spsc<T, Q, RACY>;

    fn with_capacity(capacity: Option<usize>) -> Result<Self, CapacityError> {
        let cap = bounded_capacity(Self::NAME, capacity)?;
        let side = || {
            CachePadded::new(Side {
                owner: R::AtomicUsize::new(0),
                cached: R::UnsafeCell::new(0),
            })
        };
        Ok(Spsc {
            head: CachePadded::new(R::AtomicUsize::new(0)),
            tail: CachePadded::new(R::AtomicUsize::new(0)),
            producer: side(),
            consumer: side(),
            closed: R::AtomicBool::new(false),
            buffer: (0..cap)
                .map(|_| R::UnsafeCell::new(MaybeUninit::uninit()))
                .collect(),
            cap,
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
        Self::take_side(&self.producer, "close");
        let was = self.closed.swap(true, Release);
        trace::event(|| "close".into());
        // A consumer asleep on an empty ring looks again and finds it drained.
        self.readable.notify_all();
        !was
    }

    fn is_closed(&self) -> bool {
        self.closed.load(Acquire)
    }

    fn len(&self) -> usize {
        let head = self.head.load(Acquire);
        let tail = self.tail.load(Acquire);
        self.distance(head, tail).min(self.cap)
    }

    fn capacity(&self) -> Option<usize> {
        Some(self.cap)
    }
}

impl<T: Send + 'static, R: Runtime, const RACY: bool> Parks<T> for Spsc<T, R, RACY> {
    type Rt = R;

    fn put(&self, item: T) -> Result<(), PushError<T>> {
        Self::take_side(&self.producer, "push");
        // Only the producer writes `closed` and `tail`: its own values, read Relaxed.
        if self.closed.load(Relaxed) {
            return Err(PushError::Closed(item));
        }
        let tail = self.tail.load(Relaxed);
        // SAFETY: `cached` of the producer side is touched only by the producer thread.
        let mut head = self.producer.cached.with(|p| unsafe { *p });
        if self.distance(head, tail) == self.cap {
            // Looks full: refresh. `Acquire` pairs with the consumer's `Release` on `head`, so
            // the slot it freed is really done with.
            head = self.head.load(Acquire);
            // SAFETY: as above, the producer's own cell.
            self.producer.cached.with_mut(|p| unsafe { *p = head });
            if self.distance(head, tail) == self.cap {
                trace::event(|| "push: full".into());
                return Err(PushError::Full(item));
            }
        }
        // SAFETY: the slot at `tail` is outside head..tail, so the consumer does not read it
        // until the store to `tail` below publishes it.
        self.slot(tail).with_mut(|p| unsafe { (*p).write(item) });
        trace::event(|| format!("push: write slot {}", tail % self.cap));
        let publish = if RACY { Relaxed } else { Release };
        self.tail.store(self.next(tail), publish);
        trace::event(|| {
            format!(
                "push: store tail {} ({})",
                self.next(tail),
                if RACY { "Relaxed" } else { "Release" }
            )
        });
        Ok(())
    }

    fn take(&self) -> Result<T, PopError> {
        Self::take_side(&self.consumer, "pop");
        let head = self.head.load(Relaxed);
        // SAFETY: `cached` of the consumer side is touched only by the consumer thread.
        let mut tail = self.consumer.cached.with(|p| unsafe { *p });
        if tail == head {
            tail = self.tail.load(Acquire);
            trace::event(|| format!("pop: load tail → {tail}"));
            if tail == head {
                if !self.closed.load(Acquire) {
                    return Err(PopError::Empty);
                }
                // Closed: the producer's pushes happened before its close, so this load sees
                // all of them.
                tail = self.tail.load(Acquire);
                if tail == head {
                    return Err(PopError::Closed);
                }
            }
            // SAFETY: the consumer's own cell.
            self.consumer.cached.with_mut(|p| unsafe { *p = tail });
        }
        // SAFETY: `head` is in head..tail: written by the producer before it published `tail`,
        // and this thread is its only reader; the slot is freed by the store to `head` below.
        let item = self.slot(head).with(|p| unsafe { (*p).assume_init_read() });
        trace::event(|| format!("pop: read slot {}", head % self.cap));
        self.head.store(self.next(head), Release);
        Ok(item)
    }

    fn sleep<X>(
        &self,
        side: Waiting,
        deadline: &Deadline<R>,
        ready: impl FnMut() -> Option<X>,
    ) -> Option<X> {
        // Progress is a plain `Release` store here, so the signals' fences do the ordering.
        match side {
            Waiting::Items => self.readable.wait_until(deadline, ready),
            Waiting::Room => self.writable.wait_until(deadline, ready),
        }
    }

    fn wake(&self, side: Waiting) {
        match side {
            Waiting::Items => self.readable.notify_one(),
            Waiting::Room => self.writable.notify_one(),
        }
    }
}

impl<T: Send + 'static, R: Runtime, const RACY: bool> Drop for Spsc<T, R, RACY> {
    fn drop(&mut self) {
        let mut head = self.head.load(Relaxed);
        let tail = self.tail.load(Relaxed);
        while head != tail {
            // SAFETY: head..tail holds values written and not read; each is dropped once, here,
            // with no other thread left (`&mut self`).
            self.slot(head)
                .with_mut(|p| unsafe { (*p).assume_init_drop() });
            head = self.next(head);
        }
    }
}
