//! A bounded buffer that hands an item straight to a waiting consumer, and its twin whose timed
//! pop forgets to look in its hand before it leaves.
//!
//! The hand-off is how std's `mpmc` zero-capacity channel, crossbeam-channel, Go's channels and
//! Java's `SynchronousQueue` deliver to a sleeping receiver: the sender writes the item into the
//! receiver's own slot and wakes it, so no other consumer can steal it. The price is a race
//! between the timer of a timed receive and the sender: a receiver whose wait times out must
//! still check whether an item was handed to it in the meantime (std's `mpmc` settles it with
//! one compare-and-swap on the waiter's `Selected` state: `Aborted` loses to an operation that
//! was already selected). Only modelled time shows that race to a model checker.

use super::{CapacityError, PopError, PushError, Queue, bounded_capacity};
use crate::runtime::{CondvarApi, Deadline, DefaultRuntime, MutexApi, Runtime, wait_while};
use crate::trace;
use std::collections::VecDeque;
use std::time::Duration;

/// The state under the mutex.
struct State<T> {
    /// The backlog. While a consumer waits, it is empty: pushes go to the waiters' hands.
    items: VecDeque<T>,
    closed: bool,
    /// The tickets of consumers waiting for an item, oldest first.
    waiting: VecDeque<u64>,
    /// Items handed to a waiting consumer and not yet taken by it: (ticket, item).
    handed: Vec<(u64, T)>,
    next_ticket: u64,
}

impl<T> State<T> {
    fn take_handed(&mut self, ticket: u64) -> Option<T> {
        let i = self.handed.iter().position(|(t, _)| *t == ticket)?;
        Some(self.handed.swap_remove(i).1)
    }
    fn leave(&mut self, ticket: u64) {
        self.waiting.retain(|t| *t != ticket);
    }
}

/// A bounded buffer whose push hands its item directly to the longest-waiting consumer, if one
/// waits, instead of queueing it. A timed pop that times out re-checks its hand before it
/// leaves, so an item handed over at the moment the timer fires is still delivered.
///
/// [`TimeoutLosesHandoffBuffer`] is its racy twin.
pub type HandoffBuffer<T, R = DefaultRuntime> = Handoff<T, R, false>;

/// **Intentionally racy:** [`HandoffBuffer`] whose timed pop, when its wait times out, leaves
/// without looking in its hand. An item a producer handed over while the timer fired is then in
/// nobody's hands: the producer was told it was delivered, the consumer was told it timed out.
/// Only a timeout that races the hand-off shows it, so only engines that choose when a timer
/// fires (shuttle's random and PCT schedulers, proptest) can catch it; loom and DFS fire a
/// timer only when nothing else can run.
///
/// ```text
/// C: pop(timeout): empty, wait with ticket #0
/// P: push 1: C waits → hand 1 to ticket #0, notify
/// C: wakes; its timer fired at the same moment → "timed out", leaves
///    item 1 is lost (pushed, never popped, not in the buffer)
/// ```
pub type TimeoutLosesHandoffBuffer<T, R = DefaultRuntime> = Handoff<T, R, true>;

/// The buffer of [`HandoffBuffer`] and [`TimeoutLosesHandoffBuffer`]; `LOSES` is the bug.
pub struct Handoff<T: Send + 'static, R: Runtime = DefaultRuntime, const LOSES: bool = false> {
    state: R::Mutex<State<T>>,
    /// Consumers wait here for a hand-off (every hand-off wakes all: it is for one of them).
    handed_over: R::Condvar,
    /// Producers wait here for room.
    not_full: R::Condvar,
    capacity: usize,
}

impl<T: Send + 'static, R: Runtime, const LOSES: bool> Handoff<T, R, LOSES> {
    /// Delivers `item` under the lock: into a waiter's hand, else into the backlog.
    fn deliver(&self, g: &mut State<T>, item: T) {
        if let Some(ticket) = g.waiting.pop_front() {
            g.handed.push((ticket, item));
            trace::event(|| format!("push: hand to waiting pop #{ticket}"));
            self.handed_over.notify_all();
        } else {
            g.items.push_back(item);
            trace::event(|| "push".into());
        }
    }
    fn no_room(&self, g: &State<T>) -> bool {
        g.waiting.is_empty() && g.items.len() >= self.capacity
    }
}

impl<T: Send + 'static, R: Runtime, const LOSES: bool> Queue<T> for Handoff<T, R, LOSES> {
    const NAME: &'static str = if LOSES {
        "TimeoutLosesHandoffBuffer"
    } else {
        "HandoffBuffer"
    };
    const BLOCKING: bool = true;
    type Rt = R;
    type On<Q: Runtime> = Handoff<T, Q, LOSES>;
    fn with_capacity(capacity: Option<usize>) -> Result<Self, CapacityError> {
        let capacity = bounded_capacity(Self::NAME, capacity)?;
        Ok(Handoff {
            state: MutexApi::new(State {
                items: VecDeque::with_capacity(capacity),
                closed: false,
                waiting: VecDeque::new(),
                handed: Vec::new(),
                next_ticket: 0,
            }),
            handed_over: CondvarApi::new(),
            not_full: CondvarApi::new(),
            capacity,
        })
    }
    fn try_push(&self, item: T) -> Result<(), PushError<T>> {
        let mut g = self.state.lock();
        if g.closed {
            return Err(PushError::Closed(item));
        }
        if self.no_room(&g) {
            return Err(PushError::Full(item));
        }
        self.deliver(&mut g, item);
        Ok(())
    }
    fn push_timeout(&self, item: T, timeout: Option<Duration>) -> Result<(), PushError<T>> {
        let deadline = Deadline::<R>::from_timeout(timeout);
        let (mut g, timed_out) = wait_while(
            &self.not_full,
            self.state.lock(),
            &deadline,
            |s: &mut State<T>| !s.closed && self.no_room(s),
        );
        if timed_out {
            return Err(PushError::Timeout(item));
        }
        if g.closed {
            return Err(PushError::Closed(item));
        }
        self.deliver(&mut g, item);
        Ok(())
    }
    fn try_pop(&self) -> Result<T, PopError> {
        let mut g = self.state.lock();
        match g.items.pop_front() {
            Some(item) => {
                self.not_full.notify_one();
                Ok(item)
            }
            None if g.closed => Err(PopError::Closed),
            None => Err(PopError::Empty),
        }
    }
    fn pop_timeout(&self, timeout: Option<Duration>) -> Result<T, PopError> {
        let deadline = Deadline::<R>::from_timeout(timeout);
        let mut g = self.state.lock();
        if let Some(item) = g.items.pop_front() {
            trace::event(|| "pop".into());
            self.not_full.notify_one();
            return Ok(item);
        }
        if g.closed {
            return Err(PopError::Closed);
        }
        let ticket = g.next_ticket;
        g.next_ticket += 1;
        g.waiting.push_back(ticket);
        trace::event(|| format!("pop: empty, wait with ticket #{ticket}"));
        // A producer waiting for room can hand to this consumer now.
        self.not_full.notify_all();
        loop {
            if let Some(item) = g.take_handed(ticket) {
                trace::event(|| format!("pop #{ticket}: took the item handed over"));
                return Ok(item);
            }
            if g.closed {
                g.leave(ticket);
                return Err(PopError::Closed);
            }
            let (g2, timed_out) = deadline.wait(&self.handed_over, g);
            g = g2;
            if timed_out {
                if !LOSES && let Some(item) = g.take_handed(ticket) {
                    trace::event(|| {
                        format!("pop #{ticket}: timed out, but an item was handed over")
                    });
                    return Ok(item);
                }
                // The bug (LOSES): an item handed over as the timer fired stays in `handed`.
                g.leave(ticket);
                trace::event(|| format!("pop #{ticket}: timed out, leaves"));
                return Err(PopError::Timeout);
            }
        }
    }
    fn close(&self) -> bool {
        let mut g = self.state.lock();
        let was = std::mem::replace(&mut g.closed, true);
        self.handed_over.notify_all();
        self.not_full.notify_all();
        !was
    }
    fn is_closed(&self) -> bool {
        self.state.lock().closed
    }
    fn len(&self) -> usize {
        self.state.lock().items.len()
    }
    fn capacity(&self) -> Option<usize> {
        Some(self.capacity)
    }
}
