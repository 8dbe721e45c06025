//! crossbeam's queues behind the [`Queue`] trait: the yardstick the home-made queues are checked
//! with (same scenarios, same linearizability check) and measured against.
//!
//! crossbeam's queues have no `close`, so the adapters add one that loses nothing: a push
//! announces itself in an in-flight count before it checks the closed flag, and a pop reports
//! "closed and drained" only when the flag is set, no push is in flight and the queue is empty
//! (all `SeqCst`, so a push that missed the flag is seen in flight). That costs two
//! read-modify-writes per push; the benchmarks therefore also time crossbeam bare.
//!
//! Their atomics are std's, invisible to loom and shuttle (crossbeam has its own loom build,
//! behind a cfg of its own), so these run only on real threads: the stress engine checks them.

use super::{CapacityError, PopError, PushError, Queue, bounded_capacity};
use crate::runtime::{Backoff, Runtime, Std};
use crossbeam_channel::{self as channel, Receiver, RecvTimeoutError, Sender, TrySendError};
use crossbeam_queue::{ArrayQueue, SegQueue};
use std::marker::PhantomData;
use std::sync::atomic::Ordering::SeqCst;
use std::sync::atomic::{AtomicBool, AtomicUsize};
use std::time::Duration;

/// The close protocol every adapter shares.
#[derive(Debug, Default)]
struct CloseGate {
    closed: AtomicBool,
    in_flight: AtomicUsize,
}

impl CloseGate {
    /// Runs `push` unless closed; `Err(item)` if closed.
    fn push<T, E>(
        &self,
        item: T,
        push: impl FnOnce(T) -> Result<(), E>,
    ) -> Result<(), PushGate<T, E>> {
        self.in_flight.fetch_add(1, SeqCst);
        let r = if self.closed.load(SeqCst) {
            Err(PushGate::Closed(item))
        } else {
            push(item).map_err(PushGate::Inner)
        };
        self.in_flight.fetch_sub(1, SeqCst);
        r
    }
    fn close(&self) -> bool {
        !self.closed.swap(true, SeqCst)
    }
    fn is_closed(&self) -> bool {
        self.closed.load(SeqCst)
    }
    /// A pop with `pop`, which the gate turns into `Empty` or `Closed` when it finds nothing.
    fn pop<T>(&self, pop: impl Fn() -> Option<T>) -> Result<T, PopError> {
        match pop() {
            Some(item) => Ok(item),
            None => empty_pop(self, pop),
        }
    }
}

enum PushGate<T, E> {
    Closed(T),
    Inner(E),
}

/// A pop that found the queue empty. Open: `Empty`. Closed: a push that passed the flag before
/// the close counts as happening before it, so its item must be delivered, not reported absent:
/// wait for in-flight pushes to land (they never wait themselves), then `Closed` only if the
/// queue is still empty. Reporting `Empty` in that window was a real linearizability violation
/// that the stress engine's checked histories found in an earlier version of this adapter.
fn empty_pop<T>(gate: &CloseGate, retry: impl Fn() -> Option<T>) -> Result<T, PopError> {
    if !gate.closed.load(SeqCst) {
        return Err(PopError::Empty);
    }
    let backoff = crossbeam_utils::Backoff::new();
    loop {
        let settled = gate.in_flight.load(SeqCst) == 0;
        if let Some(item) = retry() {
            return Ok(item);
        }
        if settled {
            return Err(PopError::Closed);
        }
        backoff.snooze();
    }
}

fn only_std<R: Runtime>(queue: &'static str) -> Result<(), CapacityError> {
    if R::CAPS.checked {
        Err(CapacityError {
            queue,
            requested: None,
            reason: "crossbeam's atomics are std's: loom and shuttle cannot run it",
        })
    } else {
        Ok(())
    }
}

/// crossbeam's `ArrayQueue` (bounded, lock-free; the design [`super::MpmcRing`] follows).
pub struct CrossbeamArrayQueue<T: Send + 'static, R: Runtime = Std> {
    queue: ArrayQueue<T>,
    gate: CloseGate,
    _r: PhantomData<fn() -> R>,
}

impl<T: Send + 'static, R: Runtime> Queue<T> for CrossbeamArrayQueue<T, R> {
    const NAME: &'static str = "CrossbeamArrayQueue";
    const MODEL_CHECKABLE: bool = false;
    type Rt = R;
    type On<Q: Runtime> = CrossbeamArrayQueue<T, Q>;
    fn with_capacity(capacity: Option<usize>) -> Result<Self, CapacityError> {
        only_std::<R>(Self::NAME)?;
        let cap = bounded_capacity(Self::NAME, capacity)?;
        Ok(CrossbeamArrayQueue {
            queue: ArrayQueue::new(cap),
            gate: CloseGate::default(),
            _r: PhantomData,
        })
    }
    fn try_push(&self, item: T) -> Result<(), PushError<T>> {
        self.gate
            .push(item, |i| self.queue.push(i))
            .map_err(|e| match e {
                PushGate::Closed(i) => PushError::Closed(i),
                PushGate::Inner(i) => PushError::Full(i),
            })
    }
    fn try_pop(&self) -> Result<T, PopError> {
        self.gate.pop(|| self.queue.pop())
    }
    fn close(&self) -> bool {
        self.gate.close()
    }
    fn is_closed(&self) -> bool {
        self.gate.is_closed()
    }
    fn len(&self) -> usize {
        self.queue.len()
    }
    fn capacity(&self) -> Option<usize> {
        Some(self.queue.capacity())
    }
}

/// crossbeam's `SegQueue` (unbounded, lock-free, a linked list of blocks).
pub struct CrossbeamSegQueue<T: Send + 'static, R: Runtime = Std> {
    queue: SegQueue<T>,
    gate: CloseGate,
    _r: PhantomData<fn() -> R>,
}

impl<T: Send + 'static, R: Runtime> Queue<T> for CrossbeamSegQueue<T, R> {
    const NAME: &'static str = "CrossbeamSegQueue";
    const MODEL_CHECKABLE: bool = false;
    type Rt = R;
    type On<Q: Runtime> = CrossbeamSegQueue<T, Q>;
    fn with_capacity(capacity: Option<usize>) -> Result<Self, CapacityError> {
        only_std::<R>(Self::NAME)?;
        if capacity.is_some() {
            return Err(CapacityError {
                queue: Self::NAME,
                requested: capacity,
                reason: "SegQueue is unbounded; pass no capacity",
            });
        }
        Ok(CrossbeamSegQueue {
            queue: SegQueue::new(),
            gate: CloseGate::default(),
            _r: PhantomData,
        })
    }
    fn try_push(&self, item: T) -> Result<(), PushError<T>> {
        self.gate
            .push(item, |i| {
                self.queue.push(i);
                Ok::<(), T>(())
            })
            .map_err(|e| match e {
                PushGate::Closed(i) | PushGate::Inner(i) => PushError::Closed(i),
            })
    }
    fn try_pop(&self) -> Result<T, PopError> {
        self.gate.pop(|| self.queue.pop())
    }
    fn close(&self) -> bool {
        self.gate.close()
    }
    fn is_closed(&self) -> bool {
        self.gate.is_closed()
    }
    fn len(&self) -> usize {
        self.queue.len()
    }
    fn capacity(&self) -> Option<usize> {
        None
    }
}

/// crossbeam's channel, bounded (`channel::bounded`) or not (`channel::unbounded`): blocking
/// send and receive with timeouts. Close is the gate above; a receiver blocked on an empty
/// channel notices a close within 1 ms (it waits in slices).
pub struct CrossbeamChannel<T: Send + 'static, R: Runtime = Std> {
    tx: Sender<T>,
    rx: Receiver<T>,
    gate: CloseGate,
    _r: PhantomData<fn() -> R>,
}

impl<T: Send + 'static, R: Runtime> Queue<T> for CrossbeamChannel<T, R> {
    const NAME: &'static str = "CrossbeamChannel";
    const BLOCKING: bool = true;
    const MODEL_CHECKABLE: bool = false;
    type Rt = R;
    type On<Q: Runtime> = CrossbeamChannel<T, Q>;
    fn with_capacity(capacity: Option<usize>) -> Result<Self, CapacityError> {
        only_std::<R>(Self::NAME)?;
        if capacity == Some(0) {
            return Err(CapacityError {
                queue: Self::NAME,
                requested: capacity,
                reason: "capacity must be at least 1 (crossbeam's zero-capacity rendezvous channel has no buffer to check)",
            });
        }
        let (tx, rx) = match capacity {
            Some(c) => channel::bounded(c),
            None => channel::unbounded(),
        };
        Ok(CrossbeamChannel {
            tx,
            rx,
            gate: CloseGate::default(),
            _r: PhantomData,
        })
    }
    fn try_push(&self, item: T) -> Result<(), PushError<T>> {
        self.gate
            .push(item, |i| self.tx.try_send(i))
            .map_err(|e| match e {
                PushGate::Closed(i) => PushError::Closed(i),
                PushGate::Inner(TrySendError::Full(i)) => PushError::Full(i),
                // The adapter owns a receiver, so the channel never disconnects.
                PushGate::Inner(TrySendError::Disconnected(i)) => PushError::Closed(i),
            })
    }
    fn try_pop(&self) -> Result<T, PopError> {
        self.gate.pop(|| self.rx.try_recv().ok())
    }
    fn push_timeout(&self, item: T, timeout: Option<Duration>) -> Result<(), PushError<T>> {
        // Waits in slices so that a close is noticed.
        let mut wait = Backoff::<R>::new(timeout);
        let mut item = item;
        loop {
            let sent = self.gate.push(item, |i| {
                self.tx
                    .send_timeout(i, Duration::from_millis(1))
                    .map_err(|e| e.into_inner())
            });
            match sent {
                Ok(()) => return Ok(()),
                Err(PushGate::Closed(i)) => return Err(PushError::Closed(i)),
                Err(PushGate::Inner(i)) => item = i,
            }
            if !wait.step() {
                return Err(PushError::Timeout(item));
            }
        }
    }
    fn pop_timeout(&self, timeout: Option<Duration>) -> Result<T, PopError> {
        let mut wait = Backoff::<R>::new(timeout);
        loop {
            match self.rx.recv_timeout(Duration::from_millis(1)) {
                Ok(item) => return Ok(item),
                Err(RecvTimeoutError::Timeout | RecvTimeoutError::Disconnected) => {
                    match empty_pop(&self.gate, || self.rx.try_recv().ok()) {
                        Err(PopError::Empty) => {}
                        done => return done,
                    }
                }
            }
            if !wait.step() {
                return Err(PopError::Timeout);
            }
        }
    }
    fn close(&self) -> bool {
        self.gate.close()
    }
    fn is_closed(&self) -> bool {
        self.gate.is_closed()
    }
    fn len(&self) -> usize {
        self.rx.len()
    }
    fn capacity(&self) -> Option<usize> {
        self.tx.capacity()
    }
}
