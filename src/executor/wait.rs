//! Waiting for many tasks: [`wait`] and [`as_completed`], over handles from any executors.
//!
//! Both install one [`Waiter`] in every unfinished task, as CPython's `_create_and_install_waiters`
//! does, and the settling thread notes the task in it. The correct install checks "done?" and
//! installs **in one critical section per task**: a task either is done at the check or finds the
//! waiter when it settles. [`ScanThenWaitWaiter`](super::ScanThenWaitWaiter) scans every task
//! first and installs afterwards, and a task that settles in the gap is never noted (CPython
//! bpo-20319: `wait` could hang on a future that was already done).

use super::task::TaskHandle;
use super::{SCAN_THEN_WAIT, TaskError};
use crate::runtime::{ArcApi, CondvarApi, Deadline, MutexApi, Runtime, wait_while};
use crate::trace;
use std::collections::VecDeque;
use std::fmt;
use std::time::Duration;

/// Where one `wait` or `as_completed` call sleeps, and what the settling tasks noted in it.
pub(crate) struct Waiter<R: Runtime> {
    seen: R::Mutex<Seen>,
    cv: R::Condvar,
}

#[derive(Default)]
struct Seen {
    /// The indices (in the call's list) of the tasks that settled since the install, in order.
    settled: VecDeque<usize>,
    /// Whether one of them panicked.
    failed: bool,
}

impl<R: Runtime> Waiter<R> {
    fn new() -> R::Arc<Self> {
        R::Arc::new(Waiter {
            seen: MutexApi::new(Seen::default()),
            cv: CondvarApi::new(),
        })
    }
    /// A task settled (and panicked if `failed`): called by the settling thread.
    pub(crate) fn note(&self, index: usize, failed: bool) {
        let mut s = self.seen.lock();
        s.settled.push_back(index);
        s.failed |= failed;
        drop(s);
        self.cv.notify_one();
    }
}

/// When [`wait`] returns (Python's `FIRST_COMPLETED`, `FIRST_EXCEPTION`, `ALL_COMPLETED`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReturnWhen {
    /// As soon as one task is done (or cancelled).
    FirstCompleted,
    /// As soon as one task panics; if none does, when all are done.
    FirstException,
    /// When every task is done.
    AllCompleted,
}

/// The tasks of one call, without duplicates, in first-seen order, with the waiter installed in
/// those not done yet.
struct Installed<T: Send + 'static, R: Runtime> {
    handles: Vec<TaskHandle<T, R>>,
    /// Per handle: whether the waiter was installed in it (it was not done at the install).
    watched: Vec<bool>,
    waiter: R::Arc<Waiter<R>>,
    /// Handles done at the install, and whether one of them had panicked.
    done_at_install: usize,
    failed_at_install: bool,
}

impl<T: Send + 'static, R: Runtime> Installed<T, R> {
    fn new(handles: &[TaskHandle<T, R>]) -> Self {
        let mut unique: Vec<TaskHandle<T, R>> = Vec::with_capacity(handles.len());
        for h in handles {
            if !unique.iter().any(|u| u.same(h)) {
                unique.push(h.clone());
            }
        }
        let waiter = Waiter::<R>::new();
        let racy = unique.iter().any(|h| h.cell.bug == SCAN_THEN_WAIT);
        let mut watched = vec![false; unique.len()];
        let mut done = 0;
        let mut failed = false;
        if racy {
            // The scan, one task at a time...
            let states: Vec<_> = unique.iter().map(|h| h.done_and_failed()).collect();
            trace::event(|| {
                let pending = states.iter().filter(|s| s.is_none()).count();
                format!("wait: scanned, {pending} pending")
            });
            // ... then the install, without re-checking: a task that settled in between
            // never notes this waiter.
            for (i, (h, st)) in unique.iter().zip(states).enumerate() {
                match st {
                    Some(f) => {
                        done += 1;
                        failed |= f;
                    }
                    None => {
                        h.cell.slot.lock().waiters.push((waiter.clone(), i));
                        trace::event(|| format!("wait: waiter installed in task {}", h.id()));
                        watched[i] = true;
                    }
                }
            }
        } else {
            for (i, h) in unique.iter().enumerate() {
                let mut s = h.cell.slot.lock();
                if let Some(f) = h.settled_as(&s) {
                    done += 1;
                    failed |= f;
                } else {
                    s.waiters.push((waiter.clone(), i));
                    watched[i] = true;
                }
            }
        }
        Installed {
            handles: unique,
            watched,
            waiter,
            done_at_install: done,
            failed_at_install: failed,
        }
    }

    /// Takes the waiter out of every task it is still installed in.
    fn uninstall(&mut self) {
        for (h, w) in self.handles.iter().zip(self.watched.iter_mut()) {
            if std::mem::take(w) {
                h.cell
                    .slot
                    .lock()
                    .waiters
                    .retain(|(x, _)| !std::ptr::eq::<Waiter<R>>(&**x, &*self.waiter));
            }
        }
    }
}

impl<T: Send + 'static, R: Runtime> Drop for Installed<T, R> {
    fn drop(&mut self) {
        // As `MapResults`'s drop: no lock is taken while unwinding.
        if !std::thread::panicking() {
            self.uninstall();
        }
    }
}

/// What [`wait`] returns: the handles done, and the rest.
pub type DoneAndNotDone<T, R> = (Vec<TaskHandle<T, R>>, Vec<TaskHandle<T, R>>);

/// Waits until the condition `when` holds for `handles`, or until `timeout` (`None`: no limit),
/// and returns `(done, not_done)`: the handles settled (returned, panicked or cancelled) when it
/// returned, and the rest. Duplicates count once; each list keeps the input order. A timeout is
/// not an error: `not_done` says what is left (Python's `concurrent.futures.wait`). The handles
/// may come from different executors; an empty list returns at once.
#[track_caller]
pub fn wait<T: Send + 'static, R: Runtime>(
    handles: &[TaskHandle<T, R>],
    timeout: Option<Duration>,
    when: ReturnWhen,
) -> DoneAndNotDone<T, R> {
    let deadline = Deadline::<R>::from_timeout(timeout);
    let mut inst = Installed::new(handles);
    let total = inst.handles.len();
    let enough = |settled: usize, failed: bool| match when {
        ReturnWhen::FirstCompleted => settled >= 1 || total == 0,
        ReturnWhen::FirstException => failed || settled == total,
        ReturnWhen::AllCompleted => settled == total,
    };
    if !enough(inst.done_at_install, inst.failed_at_install) {
        let (base, base_failed) = (inst.done_at_install, inst.failed_at_install);
        let s = inst.waiter.seen.lock();
        let (s, _timed_out) = wait_while(&inst.waiter.cv, s, &deadline, |s| {
            !enough(base + s.settled.len(), base_failed || s.failed)
        });
        drop(s);
    }
    inst.uninstall();
    let (done, not_done) = inst.handles.iter().cloned().partition(|h| h.done());
    (done, not_done)
}

/// A timeout of [`as_completed`]: how many tasks had not completed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TimedOut {
    /// The tasks not yielded when time ran out.
    pub unfinished: usize,
}

impl fmt::Display for TimedOut {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} task(s) did not complete in time", self.unfinished)
    }
}

impl std::error::Error for TimedOut {}

impl From<TimedOut> for TaskError {
    fn from(_: TimedOut) -> Self {
        TaskError::TimedOut
    }
}

/// Yields each of `handles` as it completes: first those already done (in input order), then
/// the rest in the order they settle. When `timeout` (from this call; `None`: no limit) passes
/// first, it yields one `Err(TimedOut)` and ends. Duplicates are yielded once (Python's
/// `concurrent.futures.as_completed`). Dropping the iterator early takes its waiter out of the
/// tasks.
#[track_caller]
pub fn as_completed<T: Send + 'static, R: Runtime>(
    handles: &[TaskHandle<T, R>],
    timeout: Option<Duration>,
) -> AsCompleted<T, R> {
    let deadline = Deadline::<R>::from_timeout(timeout);
    let inst = Installed::new(handles);
    let ready = inst
        .watched
        .iter()
        .enumerate()
        .filter(|(_, w)| !**w)
        .map(|(i, _)| i)
        .collect();
    let unfinished = inst.handles.len();
    AsCompleted {
        inst,
        ready,
        unfinished,
        deadline,
        over: false,
    }
}

/// The iterator of [`as_completed`].
pub struct AsCompleted<T: Send + 'static, R: Runtime> {
    inst: Installed<T, R>,
    /// Done at the install, not yielded yet.
    ready: VecDeque<usize>,
    /// Not yielded yet.
    unfinished: usize,
    deadline: Deadline<R>,
    over: bool,
}

impl<T: Send + 'static, R: Runtime> Iterator for AsCompleted<T, R> {
    type Item = Result<TaskHandle<T, R>, TimedOut>;

    #[track_caller]
    fn next(&mut self) -> Option<Self::Item> {
        if let Some(i) = self.ready.pop_front() {
            self.unfinished -= 1;
            return Some(Ok(self.inst.handles[i].clone()));
        }
        if self.over || self.unfinished == 0 {
            return None;
        }
        let s = self.inst.waiter.seen.lock();
        let (mut s, timed_out) = wait_while(&self.inst.waiter.cv, s, &self.deadline, |s| {
            s.settled.is_empty()
        });
        if timed_out {
            drop(s);
            self.over = true;
            self.inst.uninstall();
            return Some(Err(TimedOut {
                unfinished: self.unfinished,
            }));
        }
        let i = s.settled.pop_front().expect("woken with a settled task");
        drop(s);
        self.unfinished -= 1;
        Some(Ok(self.inst.handles[i].clone()))
    }
}

impl<T: Send + 'static, R: Runtime> fmt::Debug for AsCompleted<T, R> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AsCompleted")
            .field("unfinished", &self.unfinished)
            .finish()
    }
}
