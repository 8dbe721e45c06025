//! Bounded buffers built from a mutex and condition variables: the correct one, three classic
//! ways to get its waits wrong, and one that gets the order wrong.

use super::{CapacityError, PopError, PushError, Queue, bounded_capacity};
use crate::runtime::{CondvarApi, DefaultRuntime, MutexApi, Runtime};
use crate::runtime::{Deadline, wait_while};
use crate::scenario::{BugClass, fail};
use crate::trace;
use std::collections::VecDeque;
use std::time::Duration;

/// The state every buffer here keeps under its mutex.
#[derive(Debug)]
pub(crate) struct Buf<T> {
    pub(crate) items: VecDeque<T>,
    pub(crate) closed: bool,
}

impl<T> Buf<T> {
    fn new(capacity: usize) -> Self {
        Buf {
            items: VecDeque::with_capacity(capacity),
            closed: false,
        }
    }
}

/// The operations that never wait, shared by every buffer here (their bugs are all in the
/// waits, or, for [`CheckThenPushQueue`], in its own push). `notify` is how a buffer wakes the
/// other side after a change.
pub(crate) struct Core<T: Send + 'static, R: Runtime> {
    pub(crate) state: R::Mutex<Buf<T>>,
    pub(crate) capacity: usize,
    /// Which item a pop takes: the oldest (`VecDeque::pop_front`) for every buffer but
    /// [`LatestFirstBuffer`], whose bug this is.
    take: fn(&mut VecDeque<T>) -> Option<T>,
}

/// A backlog served newest first: the bug of [`LatestFirstBuffer`].
fn latest_first<T>(items: &mut VecDeque<T>) -> Option<T> {
    if items.len() > 1 {
        items.pop_back()
    } else {
        items.pop_front()
    }
}

impl<T: Send + 'static, R: Runtime> Core<T, R> {
    fn new(capacity: usize) -> Self {
        Core {
            state: MutexApi::new(Buf::new(capacity)),
            capacity,
            take: VecDeque::pop_front,
        }
    }
    fn try_push(&self, item: T, notify: impl FnOnce()) -> Result<(), PushError<T>> {
        let mut g = self.state.lock();
        if g.closed {
            return Err(PushError::Closed(item));
        }
        if g.items.len() >= self.capacity {
            return Err(PushError::Full(item));
        }
        g.items.push_back(item);
        notify();
        Ok(())
    }
    fn try_pop(&self, notify: impl FnOnce()) -> Result<T, PopError> {
        let mut g = self.state.lock();
        match (self.take)(&mut g.items) {
            Some(item) => {
                notify();
                Ok(item)
            }
            None if g.closed => Err(PopError::Closed),
            None => Err(PopError::Empty),
        }
    }
    /// Closes under the lock, then wakes everyone with `notify_all`.
    fn close(&self, notify_all: impl FnOnce()) -> bool {
        let mut g = self.state.lock();
        let was = std::mem::replace(&mut g.closed, true);
        notify_all();
        !was
    }
    /// A blocking push: waits on `wait_on` in a `while` loop while full, then signals `wake`.
    fn push_wait(
        &self,
        item: T,
        wait_on: &R::Condvar,
        wake: &R::Condvar,
        timeout: Option<Duration>,
    ) -> Result<(), PushError<T>> {
        let deadline = Deadline::<R>::from_timeout(timeout);
        let (mut g, timed_out) =
            wait_while(wait_on, self.state.lock(), &deadline, |s: &mut Buf<T>| {
                let full = !s.closed && s.items.len() >= self.capacity;
                if full {
                    trace::event(|| "push: full, wait".into());
                }
                full
            });
        if timed_out {
            return Err(PushError::Timeout(item));
        }
        if g.closed {
            return Err(PushError::Closed(item));
        }
        g.items.push_back(item);
        trace::event(|| "push, notify_one".into());
        wake.notify_one();
        Ok(())
    }
    /// A blocking pop: waits on `wait_on` in a `while` loop while empty and open, then signals
    /// `wake`.
    fn pop_wait(
        &self,
        wait_on: &R::Condvar,
        wake: &R::Condvar,
        timeout: Option<Duration>,
    ) -> Result<T, PopError> {
        let deadline = Deadline::<R>::from_timeout(timeout);
        let (mut g, timed_out) =
            wait_while(wait_on, self.state.lock(), &deadline, |s: &mut Buf<T>| {
                let empty = !s.closed && s.items.is_empty();
                if empty {
                    trace::event(|| "pop: empty, wait".into());
                }
                empty
            });
        if timed_out {
            return Err(PopError::Timeout);
        }
        match (self.take)(&mut g.items) {
            Some(item) => {
                trace::event(|| "pop, notify_one".into());
                wake.notify_one();
                Ok(item)
            }
            None => Err(PopError::Closed),
        }
    }
    fn is_closed(&self) -> bool {
        self.state.lock().closed
    }
    fn len(&self) -> usize {
        self.state.lock().items.len()
    }
}

/// The [`Queue`] methods a buffer forwards to its [`Core`] unchanged: which condition variable
/// a pop and a close signal are the only differences between the buffers here.
macro_rules! forward_to_core {
    (pop wakes $popped:ident, close wakes $($all:ident),+) => {
        fn try_pop(&self) -> Result<T, PopError> {
            self.core.try_pop(|| self.$popped.notify_one())
        }
        fn close(&self) -> bool {
            self.core.close(|| {
                $(self.$all.notify_all();)+
            })
        }
        fn is_closed(&self) -> bool {
            self.core.is_closed()
        }
        fn len(&self) -> usize {
            self.core.len()
        }
        fn capacity(&self) -> Option<usize> {
            Some(self.core.capacity)
        }
    };
}

/// A bounded buffer: one mutex, a `not_empty` and a `not_full` condition variable, and every
/// wait in a `while` loop that re-checks its condition after waking. This is the textbook
/// monitor; wakeups that are spurious or stolen by another thread are harmless.
///
/// [`LatestFirstBuffer`] is its racy twin.
pub type BoundedBuffer<T, R = DefaultRuntime> = Monitor<T, R, false>;

/// **Intentionally racy:** [`BoundedBuffer`] that serves a backlog newest first: a pop that
/// finds more than one item waiting takes the latest. Nothing is lost, nothing is taken twice,
/// the bound holds, so item accounting passes every history; only the linearizability checker
/// sees that the queue is not a queue.
///
/// ```text
/// P: push 1; push 2                (both waiting)
/// C: pop → 2                        a FIFO queue returns 1 here: no order of the operations
///                                   explains it
/// ```
pub type LatestFirstBuffer<T, R = DefaultRuntime> = Monitor<T, R, true>;

/// The monitor of [`BoundedBuffer`] and [`LatestFirstBuffer`]; `LATEST_FIRST` is the bug.
pub struct Monitor<T: Send + 'static, R: Runtime = DefaultRuntime, const LATEST_FIRST: bool = false>
{
    core: Core<T, R>,
    not_empty: R::Condvar,
    not_full: R::Condvar,
}

impl<T: Send + 'static, R: Runtime, const LATEST_FIRST: bool> Queue<T>
    for Monitor<T, R, LATEST_FIRST>
{
    const NAME: &'static str = if LATEST_FIRST {
        "LatestFirstBuffer"
    } else {
        "BoundedBuffer"
    };
    const BLOCKING: bool = true;
    type Rt = R;
    type On<Q: Runtime> = Monitor<T, Q, LATEST_FIRST>;
    fn with_capacity(capacity: Option<usize>) -> Result<Self, CapacityError> {
        let capacity = bounded_capacity(Self::NAME, capacity)?;
        let mut core = Core::new(capacity);
        if LATEST_FIRST {
            core.take = latest_first;
        }
        Ok(Monitor {
            core,
            not_empty: CondvarApi::new(),
            not_full: CondvarApi::new(),
        })
    }
    fn try_push(&self, item: T) -> Result<(), PushError<T>> {
        self.core.try_push(item, || self.not_empty.notify_one())
    }
    fn push_timeout(&self, item: T, timeout: Option<Duration>) -> Result<(), PushError<T>> {
        self.core
            .push_wait(item, &self.not_full, &self.not_empty, timeout)
    }
    fn pop_timeout(&self, timeout: Option<Duration>) -> Result<T, PopError> {
        self.core.pop_wait(&self.not_empty, &self.not_full, timeout)
    }
    forward_to_core!(pop wakes not_full, close wakes not_empty, not_full);
}

/// **Intentionally racy:** [`BoundedBuffer`] with each wait guarded by `if` instead of `while`.
///
/// A woken thread does not own the condition it was woken for: between `notify_one` and the
/// waiter re-acquiring the mutex, another consumer can take the item. The woken consumer then
/// pops an empty buffer (the Python original raises `IndexError`; this one panics with
/// `lost wakeup`).
///
/// ```text
/// C1: pop: empty, wait on not_empty
/// P:  push, notify not_empty          (C1 is woken, not yet running)
/// C2: pop → the item                  (C2 got the mutex first)
/// C1: wakes, `if` does not re-check → pop on an empty buffer
/// ```
pub struct IfNotWhileBuffer<T: Send + 'static, R: Runtime = DefaultRuntime> {
    core: Core<T, R>,
    not_empty: R::Condvar,
    not_full: R::Condvar,
}

impl<T: Send + 'static, R: Runtime> Queue<T> for IfNotWhileBuffer<T, R> {
    const NAME: &'static str = "IfNotWhileBuffer";
    const BLOCKING: bool = true;
    type Rt = R;
    type On<Q: Runtime> = IfNotWhileBuffer<T, Q>;
    fn with_capacity(capacity: Option<usize>) -> Result<Self, CapacityError> {
        let capacity = bounded_capacity(Self::NAME, capacity)?;
        Ok(IfNotWhileBuffer {
            core: Core::new(capacity),
            not_empty: CondvarApi::new(),
            not_full: CondvarApi::new(),
        })
    }
    fn try_push(&self, item: T) -> Result<(), PushError<T>> {
        self.core.try_push(item, || self.not_empty.notify_one())
    }
    fn push_timeout(&self, item: T, timeout: Option<Duration>) -> Result<(), PushError<T>> {
        let deadline = Deadline::<R>::from_timeout(timeout);
        let mut g = self.core.state.lock();
        // The bug: `if`, so a stolen wakeup is not noticed.
        if !g.closed && g.items.len() >= self.core.capacity {
            trace::event(|| "push: full, wait on not_full (once: `if`)".into());
            let (g2, timed_out) = deadline.wait(&self.not_full, g);
            g = g2;
            if timed_out && !g.closed && g.items.len() >= self.core.capacity {
                return Err(PushError::Timeout(item));
            }
        }
        if g.closed {
            return Err(PushError::Closed(item));
        }
        if g.items.len() >= self.core.capacity {
            drop(g);
            fail(
                BugClass::LostWakeup,
                "push woke up to a full buffer (its wakeup was stolen: `if` instead of `while`)",
            );
        }
        g.items.push_back(item);
        trace::event(|| "push, notify not_empty".into());
        self.not_empty.notify_one();
        Ok(())
    }
    fn pop_timeout(&self, timeout: Option<Duration>) -> Result<T, PopError> {
        let deadline = Deadline::<R>::from_timeout(timeout);
        let mut g = self.core.state.lock();
        // The bug: `if`, so a stolen wakeup is not noticed.
        if !g.closed && g.items.is_empty() {
            trace::event(|| "pop: empty, wait on not_empty (once: `if`)".into());
            let (g2, timed_out) = deadline.wait(&self.not_empty, g);
            g = g2;
            if timed_out && !g.closed && g.items.is_empty() {
                return Err(PopError::Timeout);
            }
        }
        match g.items.pop_front() {
            Some(item) => {
                trace::event(|| "pop, notify not_full".into());
                self.not_full.notify_one();
                Ok(item)
            }
            None if g.closed => Err(PopError::Closed),
            None => {
                trace::event(|| "pop on an empty buffer".into());
                drop(g);
                fail(
                    BugClass::LostWakeup,
                    "pop woke up to an empty buffer (its wakeup was stolen: `if` instead of `while`)",
                )
            }
        }
    }
    forward_to_core!(pop wakes not_full, close wakes not_empty, not_full);
}

/// **Intentionally racy:** Cargill's bounded buffer. Producers and consumers wait on *one*
/// condition variable and wake each other with `notify_one`, so a wakeup can reach a thread of
/// the same side, which goes back to sleep, and the thread that could have progressed is never
/// woken: everyone sleeps (a **lost wakeup**, seen as a **deadlock**). The waits are `while`
/// loops: this is not [`IfNotWhileBuffer`]'s bug. Shuttle's `bounded_buffer` demo is this bug.
///
/// ```text
/// capacity 1; C1 and C2 wait (empty)
/// P:  push 1, notify_one → wakes C1
/// P:  push 2: full, wait
/// C1: pop 1, notify_one → wakes C2 (the wrong side: P is the one that can go on)
/// C2: empty, wait                     → P, C2 asleep; nobody will notify
/// ```
pub struct NotifyOneBuffer<T: Send + 'static, R: Runtime = DefaultRuntime> {
    core: Core<T, R>,
    changed: R::Condvar,
}

impl<T: Send + 'static, R: Runtime> Queue<T> for NotifyOneBuffer<T, R> {
    const NAME: &'static str = "NotifyOneBuffer";
    const BLOCKING: bool = true;
    type Rt = R;
    type On<Q: Runtime> = NotifyOneBuffer<T, Q>;
    fn with_capacity(capacity: Option<usize>) -> Result<Self, CapacityError> {
        let capacity = bounded_capacity(Self::NAME, capacity)?;
        Ok(NotifyOneBuffer {
            core: Core::new(capacity),
            changed: CondvarApi::new(),
        })
    }
    fn try_push(&self, item: T) -> Result<(), PushError<T>> {
        self.core.try_push(item, || self.changed.notify_one())
    }
    fn push_timeout(&self, item: T, timeout: Option<Duration>) -> Result<(), PushError<T>> {
        // The bug: one condvar for both sides, so this may wake another producer.
        self.core
            .push_wait(item, &self.changed, &self.changed, timeout)
    }
    fn pop_timeout(&self, timeout: Option<Duration>) -> Result<T, PopError> {
        // The bug: one condvar for both sides, so this may wake another consumer.
        self.core.pop_wait(&self.changed, &self.changed, timeout)
    }
    forward_to_core!(pop wakes changed, close wakes changed);
}

/// **Intentionally racy:** the capacity is checked under one acquisition of the lock and the
/// item pushed under another. Two producers can both see room for one item and both push: the
/// buffer **overflows** its bound. Each step is locked; the check-then-act is not atomic.
///
/// ```text
/// capacity 1, empty
/// P1: lock, len 0 < 1, unlock
/// P2: lock, len 0 < 1, unlock
/// P1: lock, push, unlock
/// P2: lock, push, unlock               → len 2 > capacity 1
/// ```
pub struct CheckThenPushQueue<T: Send + 'static, R: Runtime = DefaultRuntime> {
    core: Core<T, R>,
    not_empty: R::Condvar,
    not_full: R::Condvar,
}

impl<T: Send + 'static, R: Runtime> CheckThenPushQueue<T, R> {
    /// Whether there is room, under its own lock acquisition (`Err` if closed).
    fn room(&self) -> Result<bool, ()> {
        let g = self.core.state.lock();
        if g.closed {
            return Err(());
        }
        let len = g.items.len();
        trace::event(|| format!("check: len {len}"));
        Ok(len < self.core.capacity)
    }
    /// The push itself, under a second acquisition.
    fn append(&self, item: T) -> Result<(), PushError<T>> {
        let mut g = self.core.state.lock();
        if g.closed {
            return Err(PushError::Closed(item));
        }
        g.items.push_back(item);
        let len = g.items.len();
        trace::event(|| format!("push: len {len}"));
        self.not_empty.notify_one();
        Ok(())
    }
}

impl<T: Send + 'static, R: Runtime> Queue<T> for CheckThenPushQueue<T, R> {
    const NAME: &'static str = "CheckThenPushQueue";
    const BLOCKING: bool = true;
    type Rt = R;
    type On<Q: Runtime> = CheckThenPushQueue<T, Q>;
    fn with_capacity(capacity: Option<usize>) -> Result<Self, CapacityError> {
        let capacity = bounded_capacity(Self::NAME, capacity)?;
        Ok(CheckThenPushQueue {
            core: Core::new(capacity),
            not_empty: CondvarApi::new(),
            not_full: CondvarApi::new(),
        })
    }
    fn try_push(&self, item: T) -> Result<(), PushError<T>> {
        match self.room() {
            Err(()) => Err(PushError::Closed(item)),
            Ok(false) => Err(PushError::Full(item)),
            // The bug: the lock was released between the check and the push.
            Ok(true) => self.append(item),
        }
    }
    fn push_timeout(&self, item: T, timeout: Option<Duration>) -> Result<(), PushError<T>> {
        let deadline = Deadline::<R>::from_timeout(timeout);
        let (g, timed_out) = wait_while(
            &self.not_full,
            self.core.state.lock(),
            &deadline,
            |s: &mut Buf<T>| !s.closed && s.items.len() >= self.core.capacity,
        );
        drop(g);
        if timed_out {
            return Err(PushError::Timeout(item));
        }
        // The bug again: the room seen above may be gone by now.
        self.append(item)
    }
    fn pop_timeout(&self, timeout: Option<Duration>) -> Result<T, PopError> {
        self.core.pop_wait(&self.not_empty, &self.not_full, timeout)
    }
    forward_to_core!(pop wakes not_full, close wakes not_empty, not_full);
}
