//! The seed article's `ClosableQueue`: a queue that can be closed, whose items are acknowledged
//! with `task_done`, and whose `join` waits until every item put has been acknowledged. And two
//! ways to get close and join wrong.

use super::{CapacityError, PopError, PushError, Queue, bounded::Buf};
use crate::runtime::{AtomicBoolApi, CondvarApi, DefaultRuntime, MutexApi, MutexGuard, Runtime};
use crate::runtime::{Deadline, wait_while};
use crate::trace;
use std::collections::VecDeque;
use std::fmt;
use std::sync::atomic::Ordering::SeqCst;
use std::time::Duration;

/// `task_done` was called more often than items were taken (Python raises `ValueError`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TaskDoneError;

impl fmt::Display for TaskDoneError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("task_done called more times than there were items")
    }
}

impl std::error::Error for TaskDoneError {}

/// A queue whose consumers acknowledge each item, so a producer can wait for the work to be
/// finished, not only taken (Python's `queue.Queue.task_done` / `join`).
pub trait TaskQueue<T: Send + 'static>: Queue<T> {
    /// The same queue on runtime `Q`, as a task queue.
    type TaskOn<Q: Runtime>: TaskQueue<T, Rt = Q>;
    /// Acknowledges one taken item as processed.
    ///
    /// # Errors
    /// More acknowledgements than items put.
    fn task_done(&self) -> Result<(), TaskDoneError>;
    /// Waits until every item ever pushed has been acknowledged, for at most `timeout`
    /// (`None`: no limit). Returns whether that happened (false: timed out).
    fn join_timeout(&self, timeout: Option<Duration>) -> bool;
    /// Waits until every item ever pushed has been acknowledged.
    fn join(&self) {
        self.join_timeout(None);
    }
}

/// Iterates over a queue's items with blocking pops until it is closed and drained: the
/// `for item in queue` of the Python `ClosableQueue`.
pub struct Iter<'a, T: Send + 'static, Q: Queue<T>> {
    queue: &'a Q,
    _t: std::marker::PhantomData<fn() -> T>,
}

impl<'a, T: Send + 'static, Q: Queue<T>> Iter<'a, T, Q> {
    /// Iterates over `queue`.
    pub fn new(queue: &'a Q) -> Self {
        Iter {
            queue,
            _t: std::marker::PhantomData,
        }
    }
}

impl<T: Send + 'static, Q: Queue<T>> Iterator for Iter<'_, T, Q> {
    type Item = T;
    fn next(&mut self) -> Option<T> {
        // Only `Closed` ends the iteration: a blocking pop without a timeout returns nothing
        // else.
        self.queue.pop().ok()
    }
}

#[derive(Debug)]
struct Tasks<T> {
    buf: Buf<T>,
    /// Items pushed and not yet acknowledged.
    unfinished: usize,
    /// Threads asleep on `not_empty` and on `not_full`. A push or pop notifies only when
    /// someone waits: std's futex condvar makes a system call on every notify, waiter or not,
    /// which was most of a pipeline's per-item cost (`benches/pipeline.rs`).
    pop_waiters: usize,
    push_waiters: usize,
}

/// [`wait_while`], counting this thread in `waiters` of the state while it sleeps. The count
/// is read and written under the queue's mutex, as the predicate is, so a notifier that finds
/// it 0 has nobody to wake: a waiter counts itself before `wait` releases the mutex.
fn wait_counted<'a, T: Send + 'static, R: Runtime>(
    cv: &R::Condvar,
    mut guard: MutexGuard<'a, R, Tasks<T>>,
    deadline: &Deadline<R>,
    mut blocked: impl FnMut(&mut Tasks<T>) -> bool,
    waiters: fn(&mut Tasks<T>) -> &mut usize,
) -> (MutexGuard<'a, R, Tasks<T>>, bool) {
    loop {
        if !blocked(&mut guard) {
            return (guard, false);
        }
        *waiters(&mut guard) += 1;
        let (g, timed_out) = deadline.wait(cv, guard);
        guard = g;
        *waiters(&mut guard) -= 1;
        if timed_out {
            let still = blocked(&mut guard);
            return (guard, still);
        }
    }
}

/// The pipeline article's closable queue, optionally bounded: one mutex; `not_empty`,
/// `not_full` and `all_done` condition variables; every wait in a `while` loop.
///
/// - `close` refuses later pushes (the item is handed back) and wakes everyone; consumers drain
///   the remaining items and then see [`PopError::Closed`], which ends [`Iter`].
/// - Each push counts an unfinished task; `task_done` acknowledges one; `join` waits for zero.
pub struct ClosableQueue<T: Send + 'static, R: Runtime = DefaultRuntime> {
    state: R::Mutex<Tasks<T>>,
    not_empty: R::Condvar,
    not_full: R::Condvar,
    all_done: R::Condvar,
    capacity: Option<usize>,
}

impl<T: Send + 'static, R: Runtime> ClosableQueue<T, R> {
    /// An unbounded closable queue (the Python original).
    pub fn new() -> Self {
        Self::build(None)
    }
    fn build(capacity: Option<usize>) -> Self {
        ClosableQueue {
            state: MutexApi::new(Tasks {
                buf: Buf {
                    items: VecDeque::new(),
                    closed: false,
                },
                unfinished: 0,
                pop_waiters: 0,
                push_waiters: 0,
            }),
            not_empty: CondvarApi::new(),
            not_full: CondvarApi::new(),
            all_done: CondvarApi::new(),
            capacity,
        }
    }
    /// Iterates with blocking pops until closed and drained.
    pub fn iter(&self) -> Iter<'_, T, Self> {
        Iter::new(self)
    }
    fn full(&self, len: usize) -> bool {
        self.capacity.is_some_and(|c| len >= c)
    }
}

impl<T: Send + 'static, R: Runtime> Default for ClosableQueue<T, R> {
    fn default() -> Self {
        Self::new()
    }
}

/// A capacity of 0 is an error; `None` is unbounded.
fn optional_capacity(queue: &'static str, capacity: Option<usize>) -> Result<(), CapacityError> {
    match capacity {
        Some(0) => Err(CapacityError {
            queue,
            requested: capacity,
            reason: "capacity must be at least 1 (or unbounded)",
        }),
        _ => Ok(()),
    }
}

impl<T: Send + 'static, R: Runtime> Queue<T> for ClosableQueue<T, R> {
    const NAME: &'static str = "ClosableQueue";
    const BLOCKING: bool = true;
    type Rt = R;
    type On<Q: Runtime> = ClosableQueue<T, Q>;
    fn with_capacity(capacity: Option<usize>) -> Result<Self, CapacityError> {
        optional_capacity(Self::NAME, capacity)?;
        Ok(Self::build(capacity))
    }
    fn try_push(&self, item: T) -> Result<(), PushError<T>> {
        let mut g = self.state.lock();
        if g.buf.closed {
            return Err(PushError::Closed(item));
        }
        if self.full(g.buf.items.len()) {
            return Err(PushError::Full(item));
        }
        g.buf.items.push_back(item);
        g.unfinished += 1;
        if g.pop_waiters > 0 {
            self.not_empty.notify_one();
        }
        Ok(())
    }
    fn try_pop(&self) -> Result<T, PopError> {
        let mut g = self.state.lock();
        match g.buf.items.pop_front() {
            Some(item) => {
                if g.push_waiters > 0 {
                    self.not_full.notify_one();
                }
                Ok(item)
            }
            None if g.buf.closed => Err(PopError::Closed),
            None => Err(PopError::Empty),
        }
    }
    fn push_timeout(&self, item: T, timeout: Option<Duration>) -> Result<(), PushError<T>> {
        let deadline = Deadline::<R>::from_timeout(timeout);
        let (mut g, timed_out) = wait_counted(
            &self.not_full,
            self.state.lock(),
            &deadline,
            |s: &mut Tasks<T>| !s.buf.closed && self.full(s.buf.items.len()),
            |s| &mut s.push_waiters,
        );
        if timed_out {
            return Err(PushError::Timeout(item));
        }
        if g.buf.closed {
            trace::event(|| "push refused: closed".into());
            return Err(PushError::Closed(item));
        }
        g.buf.items.push_back(item);
        g.unfinished += 1;
        trace::event(|| "push".into());
        if g.pop_waiters > 0 {
            self.not_empty.notify_one();
        }
        Ok(())
    }
    fn pop_timeout(&self, timeout: Option<Duration>) -> Result<T, PopError> {
        let deadline = Deadline::<R>::from_timeout(timeout);
        let (mut g, timed_out) = wait_counted(
            &self.not_empty,
            self.state.lock(),
            &deadline,
            |s: &mut Tasks<T>| !s.buf.closed && s.buf.items.is_empty(),
            |s| &mut s.pop_waiters,
        );
        if timed_out {
            return Err(PopError::Timeout);
        }
        match g.buf.items.pop_front() {
            Some(item) => {
                trace::event(|| "pop".into());
                if g.push_waiters > 0 {
                    self.not_full.notify_one();
                }
                Ok(item)
            }
            None => {
                trace::event(|| "pop: closed and drained".into());
                Err(PopError::Closed)
            }
        }
    }
    fn close(&self) -> bool {
        let mut g = self.state.lock();
        let was = std::mem::replace(&mut g.buf.closed, true);
        trace::event(|| "close".into());
        self.not_empty.notify_all();
        self.not_full.notify_all();
        !was
    }
    fn is_closed(&self) -> bool {
        self.state.lock().buf.closed
    }
    fn len(&self) -> usize {
        self.state.lock().buf.items.len()
    }
    fn capacity(&self) -> Option<usize> {
        self.capacity
    }
}

impl<T: Send + 'static, R: Runtime> TaskQueue<T> for ClosableQueue<T, R> {
    type TaskOn<Q: Runtime> = ClosableQueue<T, Q>;
    fn task_done(&self) -> Result<(), TaskDoneError> {
        let mut g = self.state.lock();
        // Acknowledging more than was taken is an error; `unfinished` counts items pushed and
        // not acknowledged, of which those still queued cannot have been taken.
        if g.unfinished <= g.buf.items.len() {
            return Err(TaskDoneError);
        }
        g.unfinished -= 1;
        trace::event(|| "task_done".into());
        if g.unfinished == 0 {
            self.all_done.notify_all();
        }
        Ok(())
    }
    fn join_timeout(&self, timeout: Option<Duration>) -> bool {
        let deadline = Deadline::<R>::from_timeout(timeout);
        let (_g, timed_out) = wait_while(
            &self.all_done,
            self.state.lock(),
            &deadline,
            |s: &mut Tasks<T>| s.unfinished > 0,
        );
        if timed_out {
            return false;
        }
        trace::event(|| "join returns".into());
        true
    }
}

/// **Intentionally racy:** [`ClosableQueue`] whose unfinished-task count drops when an item is
/// *taken*, not when it is acknowledged: `task_done` only checks. `join` then returns as soon as
/// the queue is empty, while the last items are still being processed. A pipeline that joins
/// and then reads the results reads them incomplete.
///
/// ```text
/// P: push 1, push 2
/// W1: pop 1 (unfinished 1)      W2: pop 2 (unfinished 0)
/// P: join returns               ← 2 items taken, 0 processed
/// W1: process, task_done        W2: process, task_done
/// ```
pub struct EarlyJoinQueue<T: Send + 'static, R: Runtime = DefaultRuntime> {
    inner: ClosableQueue<T, R>,
    /// Items taken and not yet acknowledged (only to reject extra `task_done` calls).
    taken: R::Mutex<usize>,
}

impl<T: Send + 'static, R: Runtime> Queue<T> for EarlyJoinQueue<T, R> {
    const NAME: &'static str = "EarlyJoinQueue";
    const BLOCKING: bool = true;
    type Rt = R;
    type On<Q: Runtime> = EarlyJoinQueue<T, Q>;
    fn with_capacity(capacity: Option<usize>) -> Result<Self, CapacityError> {
        optional_capacity(Self::NAME, capacity)?;
        Ok(EarlyJoinQueue {
            inner: ClosableQueue::build(capacity),
            taken: MutexApi::new(0),
        })
    }
    fn try_push(&self, item: T) -> Result<(), PushError<T>> {
        self.inner.try_push(item)
    }
    fn try_pop(&self) -> Result<T, PopError> {
        let item = self.inner.try_pop()?;
        self.finish_on_take();
        Ok(item)
    }
    fn push_timeout(&self, item: T, timeout: Option<Duration>) -> Result<(), PushError<T>> {
        self.inner.push_timeout(item, timeout)
    }
    fn pop_timeout(&self, timeout: Option<Duration>) -> Result<T, PopError> {
        let item = self.inner.pop_timeout(timeout)?;
        self.finish_on_take();
        Ok(item)
    }
    fn close(&self) -> bool {
        self.inner.close()
    }
    fn is_closed(&self) -> bool {
        self.inner.is_closed()
    }
    fn len(&self) -> usize {
        self.inner.len()
    }
    fn capacity(&self) -> Option<usize> {
        self.inner.capacity()
    }
}

impl<T: Send + 'static, R: Runtime> EarlyJoinQueue<T, R> {
    /// The bug: the task is counted finished when it is taken.
    fn finish_on_take(&self) {
        *self.taken.lock() += 1;
        let mut g = self.inner.state.lock();
        g.unfinished -= 1;
        trace::event(|| "taken: counted as finished".into());
        if g.unfinished == 0 {
            self.inner.all_done.notify_all();
        }
    }
}

impl<T: Send + 'static, R: Runtime> TaskQueue<T> for EarlyJoinQueue<T, R> {
    type TaskOn<Q: Runtime> = EarlyJoinQueue<T, Q>;
    fn task_done(&self) -> Result<(), TaskDoneError> {
        let mut taken = self.taken.lock();
        if *taken == 0 {
            return Err(TaskDoneError);
        }
        *taken -= 1;
        Ok(())
    }
    fn join_timeout(&self, timeout: Option<Duration>) -> bool {
        self.inner.join_timeout(timeout)
    }
}

/// **Intentionally racy:** close and push are not atomic with each other. `push` checks a
/// `closed` flag *before* taking the lock; `close` sets it and wakes the consumers, who drain
/// and stop. A push that passed the check just before the close then appends its item after the
/// consumers have gone: the push **succeeded** and the item is **never delivered**.
///
/// ```text
/// P: closed? no
/// C: close: closed = true, notify_all
/// W: pop: empty and closed → stop
/// P: lock, append 1, Ok(())          ← accepted, and nobody will ever take it
/// ```
pub struct CloseRacesPushQueue<T: Send + 'static, R: Runtime = DefaultRuntime> {
    items: R::Mutex<VecDeque<T>>,
    closed: R::AtomicBool,
    not_empty: R::Condvar,
}

impl<T: Send + 'static, R: Runtime> Queue<T> for CloseRacesPushQueue<T, R> {
    const NAME: &'static str = "CloseRacesPushQueue";
    const BLOCKING: bool = true;
    type Rt = R;
    type On<Q: Runtime> = CloseRacesPushQueue<T, Q>;
    fn with_capacity(capacity: Option<usize>) -> Result<Self, CapacityError> {
        if capacity.is_some() {
            return Err(CapacityError {
                queue: Self::NAME,
                requested: capacity,
                reason: "this queue is unbounded; pass no capacity",
            });
        }
        Ok(CloseRacesPushQueue {
            items: MutexApi::new(VecDeque::new()),
            closed: AtomicBoolApi::new(false),
            not_empty: CondvarApi::new(),
        })
    }
    fn try_push(&self, item: T) -> Result<(), PushError<T>> {
        // The bug: checked outside the lock that the append takes.
        if self.closed.load(SeqCst) {
            trace::event(|| "push: closed? yes → refused".into());
            return Err(PushError::Closed(item));
        }
        trace::event(|| "push: closed? no".into());
        let mut items = self.items.lock();
        items.push_back(item);
        trace::event(|| "push: appended".into());
        self.not_empty.notify_one();
        Ok(())
    }
    fn try_pop(&self) -> Result<T, PopError> {
        let mut items = self.items.lock();
        match items.pop_front() {
            Some(item) => Ok(item),
            None if self.closed.load(SeqCst) => Err(PopError::Closed),
            None => Err(PopError::Empty),
        }
    }
    fn push_timeout(&self, item: T, _timeout: Option<Duration>) -> Result<(), PushError<T>> {
        // Unbounded: a push never waits.
        self.try_push(item)
    }
    fn pop_timeout(&self, timeout: Option<Duration>) -> Result<T, PopError> {
        let deadline = Deadline::<R>::from_timeout(timeout);
        let (mut items, timed_out) = wait_while(
            &self.not_empty,
            self.items.lock(),
            &deadline,
            |items: &mut VecDeque<T>| items.is_empty() && !self.closed.load(SeqCst),
        );
        if timed_out {
            return Err(PopError::Timeout);
        }
        match items.pop_front() {
            Some(item) => {
                trace::event(|| "pop".into());
                Ok(item)
            }
            None => {
                trace::event(|| "pop: closed and drained".into());
                Err(PopError::Closed)
            }
        }
    }
    fn close(&self) -> bool {
        // Under the lock, so a consumer between its check and its wait cannot miss the wakeup:
        // the one bug here is push's unlocked check.
        let _items = self.items.lock();
        let was = self.closed.swap(true, SeqCst);
        trace::event(|| "close".into());
        self.not_empty.notify_all();
        !was
    }
    fn is_closed(&self) -> bool {
        self.closed.load(SeqCst)
    }
    fn len(&self) -> usize {
        self.items.lock().len()
    }
    fn capacity(&self) -> Option<usize> {
        None
    }
}
