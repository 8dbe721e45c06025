//! The executor of the futures article (issue 11): Python's `concurrent.futures.ThreadPoolExecutor`
//! on racelab's [`WorkerPool`], on any [`Runtime`].
//!
//! - [`ThreadPoolExecutor::new`]`(max_workers)`; 0 is an error.
//! - [`PoolExecutor::submit`] returns a [`TaskHandle`] (Python's `Future`; see there for the
//!   name). A submit after shutdown hands the task back in [`Refused`].
//! - [`PoolExecutor::map`]: results in input order, lazily; the timeout runs from the call.
//! - [`PoolExecutor::shutdown`]`(wait, cancel_futures)`; dropping the executor shuts it down
//!   and waits. From inside one of its own tasks a shutdown cannot wait for itself: it begins
//!   shutdown and returns (the drop joins the workers later).
//! - [`wait`] and [`as_completed`], over handles from any executors.
//!
//! A panicking task is caught in its worker: its handle's `result` gives
//! [`TaskError::Panicked`] with the message, and the worker goes on.
//!
//! The intentionally racy twins are the same type with one constant changed ([`Bug`]); each is
//! modelled on a bug a real executor shipped, named in its doc comment. [`Executors`] is the
//! family's [`Subject`](crate::scenario::Subject): eleven scenarios that every engine runs
//! (`docs/executor.md` maps each Python call to its counterpart here).

mod scenarios;
mod task;
mod wait;

pub use self::scenarios::Executors;
pub use self::task::{TaskError, TaskHandle};
pub use self::wait::{AsCompleted, DoneAndNotDone, ReturnWhen, TimedOut, as_completed, wait};

use self::task::{Interrupts, Queued};
use crate::pool::WorkerPool;
use crate::runtime::{ArcApi, AtomicBoolApi, Deadline, DefaultRuntime, MutexApi, Runtime, model};
use crate::trace;
use std::fmt;
use std::sync::atomic::Ordering::SeqCst;
use std::time::Duration;

/// Which bug an executor has: [`CORRECT`] or one of the constants below.
pub type Bug = u8;
/// The correct executor.
pub const CORRECT: Bug = 0;
/// [`DoneBeforeResultFuture`]'s bug.
pub const DONE_BEFORE_RESULT: Bug = 1;
/// [`CancelRunsAnywayFuture`]'s bug.
pub const CANCEL_RUNS_ANYWAY: Bug = 2;
/// [`ScanThenWaitWaiter`]'s bug.
pub const SCAN_THEN_WAIT: Bug = 3;
/// [`SubmitShutdownRaceExecutor`]'s bug.
pub const SUBMIT_SHUTDOWN_RACE: Bug = 4;
/// [`ShutdownDropsQueuedExecutor`]'s bug.
pub const SHUTDOWN_DROPS_QUEUED: Bug = 5;
/// [`CallbackRaceFuture`]'s bug.
pub const CALLBACK_RACE: Bug = 6;
/// [`ScrutineeGuardExecutor`]'s bug.
pub const SCRUTINEE_GUARD: Bug = 7;
/// [`StaleCancelExecutor`]'s bug.
pub const STALE_CANCEL: Bug = 8;

/// The executor could not be built, or has shut down.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExecutorError {
    /// `max_workers` was 0.
    NoWorkers,
    /// The executor has shut down (a `map` after shutdown).
    ShutDown,
}

impl fmt::Display for ExecutorError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ExecutorError::NoWorkers => {
                f.write_str("an executor needs at least 1 worker (max_workers), not 0")
            }
            ExecutorError::ShutDown => f.write_str("the executor has shut down"),
        }
    }
}

impl std::error::Error for ExecutorError {}

/// A task offered after shutdown, handed back unrun.
pub struct Refused<F>(pub F);

impl<F> Refused<F> {
    /// The task that was not run.
    pub fn into_inner(self) -> F {
        self.0
    }
}

impl<F> fmt::Debug for Refused<F> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Refused(..)")
    }
}

impl<F> fmt::Display for Refused<F> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("task refused: the executor has shut down (the task is handed back)")
    }
}

impl<F> std::error::Error for Refused<F> {}

/// What a shutdown did.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Shutdown {
    /// Whether this call began the shutdown (false if another had).
    pub began: bool,
    /// Queued tasks this call cancelled (`cancel_futures`).
    pub cancelled: usize,
    /// Whether it waited for every task to settle (false for `wait = false`, and from inside
    /// one of the executor's own tasks).
    pub waited: bool,
}

/// What `submit`, the workers and `shutdown` share.
struct ExecState {
    shut: bool,
    next: usize,
    /// Tasks that may still be queued, for `shutdown(cancel_futures)`; pruned as it grows.
    queued: Vec<Box<dyn Queued>>,
    prune_at: usize,
}

struct Shared<R: Runtime> {
    state: R::Mutex<ExecState>,
    /// `shut`, readable without the lock: only the racy twins read it so.
    flag: R::AtomicBool,
    /// The stale-cancel twin's worker flags.
    interrupts: Option<Interrupts<R>>,
}

/// The executor, with bug `BUG` ([`CORRECT`] for [`ThreadPoolExecutor`]).
pub struct PoolExecutor<R: Runtime, const BUG: Bug> {
    pool: WorkerPool<R>,
    shared: R::Arc<Shared<R>>,
}

/// Python's `ThreadPoolExecutor`: a fixed set of workers, futures as [`TaskHandle`]s.
///
/// ```
/// use racelab::executor::{ThreadPoolExecutor, ReturnWhen, wait};
///
/// let ex: ThreadPoolExecutor = ThreadPoolExecutor::new(2).unwrap();
/// let h = ex.submit(|| 6 * 7).unwrap();
/// assert_eq!(h.result(None), Ok(42));
/// let squares: Vec<u64> = ex.map(|x: u64| x * x, 1..=4, None).unwrap()
///     .map(|r| r.unwrap()).collect();
/// assert_eq!(squares, [1, 4, 9, 16]);
/// let hs: Vec<_> = (0..3).map(|i| ex.submit(move || i).unwrap()).collect();
/// let (done, not_done) = wait(&hs, None, ReturnWhen::AllCompleted);
/// assert_eq!((done.len(), not_done.len()), (3, 0));
/// ```
pub type ThreadPoolExecutor<R = DefaultRuntime> = PoolExecutor<R, CORRECT>;
/// **Intentionally racy:** a worker publishes "finished" and wakes `result()` before it stores
/// the value, so a woken caller finds the task done with no value (an order violation; the shape
/// of every hand-rolled future that sets a `done` flag before its payload).
pub type DoneBeforeResultFuture<R = DefaultRuntime> = PoolExecutor<R, DONE_BEFORE_RESULT>;
/// **Intentionally racy:** `cancel` checks "pending" and sets "cancelled" in two critical
/// sections; a worker that starts the task in between runs it, and `cancel` returns true. The fix
/// is one decision from pending, CPython's `set_running_or_notify_cancel`.
pub type CancelRunsAnywayFuture<R = DefaultRuntime> = PoolExecutor<R, CANCEL_RUNS_ANYWAY>;
/// **Intentionally racy:** `wait`/`as_completed` scan the tasks' states, then install their
/// waiter, without holding each task's lock across both; a completion in the gap is never seen
/// and the wait hangs (CPython bpo-20319).
pub type ScanThenWaitWaiter<R = DefaultRuntime> = PoolExecutor<R, SCAN_THEN_WAIT>;
/// **Intentionally racy:** `submit` checks the shutdown flag outside the executor's lock;
/// shutdown sets it and joins the workers, and the task reaches the closed pool after they left:
/// its handle never completes (CPython bpo-31783; here the pool hands the job back and the racy
/// submit, having "checked", drops it).
pub type SubmitShutdownRaceExecutor<R = DefaultRuntime> = PoolExecutor<R, SUBMIT_SHUTDOWN_RACE>;
/// **Intentionally racy:** with `shutdown(wait = true)`, workers stop taking tasks as soon as
/// the flag is set, so queued tasks never resolve (a lost item).
pub type ShutdownDropsQueuedExecutor<R = DefaultRuntime> = PoolExecutor<R, SHUTDOWN_DROPS_QUEUED>;
/// **Intentionally racy:** `add_done_callback` checks "done" and registers in two critical
/// sections; a completion in between runs the callbacks registered so far, and this one is
/// pushed after and never runs.
pub type CallbackRaceFuture<R = DefaultRuntime> = PoolExecutor<R, CALLBACK_RACE>;
/// **Intentionally racy, and a Rust trap:** `cancel` is
/// `match slot.lock().state { Pending => { slot.lock() … } }`: the scrutinee's temporary guard
/// lives to the end of the `match`, so cancelling a pending task deadlocks its own thread.
pub type ScrutineeGuardExecutor<R = DefaultRuntime> = PoolExecutor<R, SCRUTINEE_GUARD>;
/// **Intentionally racy** (the shape of Java's `FutureTask` interrupt leak, JDK-8016247 and
/// kin): cancelling a running task flags its *worker*; the worker clears its flag when the task
/// ends, and a flag set after that cancels the worker's next task instead.
pub type StaleCancelExecutor<R = DefaultRuntime> = PoolExecutor<R, STALE_CANCEL>;

impl<R: Runtime, const BUG: Bug> PoolExecutor<R, BUG> {
    /// The variant's name, as in the catalogue.
    pub const NAME: &'static str = match BUG {
        DONE_BEFORE_RESULT => "DoneBeforeResultFuture",
        CANCEL_RUNS_ANYWAY => "CancelRunsAnywayFuture",
        SCAN_THEN_WAIT => "ScanThenWaitWaiter",
        SUBMIT_SHUTDOWN_RACE => "SubmitShutdownRaceExecutor",
        SHUTDOWN_DROPS_QUEUED => "ShutdownDropsQueuedExecutor",
        CALLBACK_RACE => "CallbackRaceFuture",
        SCRUTINEE_GUARD => "ScrutineeGuardExecutor",
        STALE_CANCEL => "StaleCancelExecutor",
        _ => "ThreadPoolExecutor",
    };

    /// An executor of `max_workers` workers, named `executor#1`, `executor#2`, … in traces.
    ///
    /// # Errors
    /// [`ExecutorError::NoWorkers`] for 0.
    pub fn new(max_workers: usize) -> Result<Self, ExecutorError> {
        let pool = WorkerPool::<R>::builder(max_workers)
            .name("executor")
            .build()
            .map_err(|_| ExecutorError::NoWorkers)?;
        Ok(PoolExecutor {
            pool,
            shared: R::Arc::new(Shared {
                state: MutexApi::new(ExecState {
                    shut: false,
                    next: 0,
                    queued: Vec::new(),
                    prune_at: 64,
                }),
                flag: AtomicBoolApi::new(false),
                interrupts: (BUG == STALE_CANCEL).then(|| R::Arc::new(MutexApi::new(Vec::new()))),
            }),
        })
    }

    /// Queues `task` and returns its handle.
    ///
    /// # Errors
    /// [`Refused`], with the task unrun, once shutdown has begun.
    pub fn submit<T, F>(&self, task: F) -> Result<TaskHandle<T, R>, Refused<F>>
    where
        T: Send + 'static,
        F: FnOnce() -> T + Send + 'static,
    {
        if BUG == SUBMIT_SHUTDOWN_RACE {
            return self.submit_unlocked(task);
        }
        // The flag and the push under one lock: a shutdown that set the flag has seen every
        // task accepted before it, and none is pushed after the pool closed (the fix of
        // bpo-31783).
        let mut st = self.shared.state.lock();
        if st.shut {
            trace::event(|| "submit refused: shut down".into());
            return Err(Refused(task));
        }
        let h = self.register(&mut st);
        let job = self.job(h.clone(), task);
        if self.pool.execute(job).is_err() {
            unreachable!("the executor's pool closed while it accepted tasks");
        }
        Ok(h)
    }

    /// [`SubmitShutdownRaceExecutor`]: the flag is read without the lock held over the push.
    fn submit_unlocked<T, F>(&self, task: F) -> Result<TaskHandle<T, R>, Refused<F>>
    where
        T: Send + 'static,
        F: FnOnce() -> T + Send + 'static,
    {
        if self.shared.flag.load(SeqCst) {
            return Err(Refused(task));
        }
        let h = self.register(&mut self.shared.state.lock());
        // The gap: shutdown may set the flag, close the pool and join the workers here. The
        // refusal is dropped, "the flag was checked": the handle never completes.
        let _ = self.pool.execute(self.job(h.clone(), task));
        Ok(h)
    }

    /// A new pending task, numbered, in the list `shutdown(cancel_futures)` reads.
    fn register<T: Send + 'static>(&self, st: &mut ExecState) -> TaskHandle<T, R> {
        let h = TaskHandle::new(st.next, BUG, self.shared.interrupts.clone());
        st.next += 1;
        if st.queued.len() >= st.prune_at {
            st.queued.retain(|q| !q.started());
            st.prune_at = (2 * st.queued.len()).max(64);
        }
        st.queued.push(Box::new(h.clone()));
        trace::event(|| format!("submit task {}", h.id()));
        h
    }

    /// What the pool runs for task `h`.
    fn job<T, F>(&self, h: TaskHandle<T, R>, task: F) -> impl FnOnce() + Send + 'static
    where
        T: Send + 'static,
        F: FnOnce() -> T + Send + 'static,
    {
        let shared = self.shared.clone();
        move || {
            if BUG == SHUTDOWN_DROPS_QUEUED && shared.flag.load(SeqCst) {
                trace::event(|| format!("shutting down: task {} dropped", h.id()));
                return;
            }
            let me = R::thread_token();
            if let Some(flags) = &shared.interrupts {
                let mut f = flags.lock();
                if let Some(i) = f.iter().position(|w| *w == me) {
                    // A stale interrupt: this task is cancelled in its predecessor's place.
                    f.swap_remove(i);
                    drop(f);
                    trace::event(|| format!("worker interrupted: task {} cancelled", h.id()));
                    h.cancel();
                    return;
                }
            }
            if !h.start(me) {
                trace::event(|| format!("task {} was cancelled: skipped", h.id()));
                return;
            }
            let out = model::catch_user(task).map_err(|p| crate::engine::payload_text(p.as_ref()));
            h.finish(out);
            if let Some(flags) = &shared.interrupts {
                // Cleared late: after the task has ended, where a cancel may still set it.
                flags.lock().retain(|w| *w != me);
            }
        }
    }

    /// Submits `f(item)` for every item now, and returns their results in input order, lazily:
    /// each `next` waits for the next task. `timeout` runs from this call; when it passes, the
    /// iterator yields `Err(TaskError::TimedOut)`, cancels the tasks not started and ends.
    /// Dropping it early cancels them too. A panicking item yields `Err(Panicked)` and the rest
    /// go on (Python's generator stops at the first exception instead).
    ///
    /// # Errors
    /// [`ExecutorError::ShutDown`] if the executor has shut down (checked at every submit; the
    /// tasks submitted before a concurrent shutdown are cancelled).
    #[track_caller]
    pub fn map<X, U, F>(
        &self,
        f: F,
        items: impl IntoIterator<Item = X>,
        timeout: Option<Duration>,
    ) -> Result<MapResults<U, R>, ExecutorError>
    where
        X: Send + 'static,
        U: Send + 'static,
        F: Fn(X) -> U + Send + Sync + 'static,
    {
        let deadline = Deadline::<R>::from_timeout(timeout);
        let f = std::sync::Arc::new(f);
        let mut handles = std::collections::VecDeque::new();
        for x in items {
            let f = f.clone();
            match self.submit(move || f(x)) {
                Ok(h) => handles.push_back(h),
                Err(_) => {
                    for h in &handles {
                        h.cancel();
                    }
                    return Err(ExecutorError::ShutDown);
                }
            }
        }
        Ok(MapResults {
            handles,
            deadline,
            over: false,
        })
    }

    /// Shuts down: later submits are refused; with `cancel_futures`, every task not started
    /// is cancelled; with `wait`, returns once every task has settled and the workers are
    /// joined. From inside one of its own tasks it does not wait (it would wait for itself).
    pub fn shutdown(&self, wait: bool, cancel_futures: bool) -> Shutdown {
        let (began, queued) = {
            let mut st = self.shared.state.lock();
            let began = !std::mem::replace(&mut st.shut, true);
            self.shared.flag.store(true, SeqCst);
            let queued = if cancel_futures {
                std::mem::take(&mut st.queued)
            } else {
                Vec::new()
            };
            (began, queued)
        };
        let cancelled = queued.iter().filter(|q| !q.started() && q.cancel()).count();
        self.pool.close();
        let waited = wait && !self.pool.in_worker();
        if waited {
            self.pool.join();
            self.pool.wait_idle();
        }
        Shutdown {
            began,
            cancelled,
            waited,
        }
    }

    /// The number of workers.
    pub fn max_workers(&self) -> usize {
        self.pool.workers()
    }
}

impl<R: Runtime, const BUG: Bug> Drop for PoolExecutor<R, BUG> {
    fn drop(&mut self) {
        if std::thread::panicking() {
            return;
        }
        self.shutdown(true, false);
    }
}

impl<R: Runtime, const BUG: Bug> fmt::Debug for PoolExecutor<R, BUG> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let st = self.shared.state.lock();
        f.debug_struct(Self::NAME)
            .field("shut", &st.shut)
            .field("submitted", &st.next)
            .finish()
    }
}

/// The results of [`PoolExecutor::map`], in input order.
pub struct MapResults<U: Send + 'static, R: Runtime> {
    handles: std::collections::VecDeque<TaskHandle<U, R>>,
    deadline: Deadline<R>,
    over: bool,
}

impl<U: Send + 'static, R: Runtime> Iterator for MapResults<U, R> {
    type Item = Result<U, TaskError>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.over {
            return None;
        }
        let h = self.handles.pop_front()?;
        let r = h.take_until(&self.deadline);
        if matches!(r, Err(TaskError::TimedOut)) {
            self.over = true;
            h.cancel();
            for h in self.handles.drain(..) {
                h.cancel();
            }
        }
        Some(r)
    }
}

impl<U: Send + 'static, R: Runtime> Drop for MapResults<U, R> {
    fn drop(&mut self) {
        // Unwinding (a checker ending the execution, or a failure reported from a `next`):
        // the tasks' locks may be what failed, and a panic here would abort.
        if std::thread::panicking() {
            return;
        }
        for h in self.handles.drain(..) {
            h.cancel();
        }
    }
}

impl<U: Send + 'static, R: Runtime> fmt::Debug for MapResults<U, R> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MapResults")
            .field("left", &self.handles.len())
            .finish()
    }
}
