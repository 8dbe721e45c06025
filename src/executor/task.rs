//! The handle of one submitted task: Python's `concurrent.futures.Future`, on any [`Runtime`].
//!
//! One mutex and one condition variable per task guard its state, its outcome, its callbacks and
//! the waiters of [`super::wait`] and [`super::as_completed`] (CPython's `Future._condition`,
//! `_state`, `_result`, `_done_callbacks` and `_waiters`). The state moves once from pending to
//! running or cancelled, and once from running to finished:
//!
//! ```text
//! Pending ──worker: start──▶ Running ──worker: finish──▶ Finished (value or panic)
//!    └──────cancel()──────▶ Cancelled
//! ```
//!
//! Every move out of `Pending` is one decision under the task's lock, so `cancel` and the
//! worker's start cannot both win (the fix of [`super::CancelRunsAnywayFuture`]), and the
//! outcome is stored in the same critical section that publishes "finished" (the fix of
//! [`super::DoneBeforeResultFuture`]).

use super::wait::Waiter;
use super::{Bug, CALLBACK_RACE, CANCEL_RUNS_ANYWAY, DONE_BEFORE_RESULT, SCRUTINEE_GUARD};
use crate::runtime::{
    ArcApi, CondvarApi, Deadline, MutexApi, MutexGuard, Runtime, spin_first, wait_while,
};
use crate::scenario::BugClass;
use crate::trace;
use std::fmt;
use std::time::Duration;

/// Where a task is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum State {
    Pending,
    Running,
    Cancelled,
    Finished,
}

impl State {
    fn settled(self) -> bool {
        matches!(self, State::Cancelled | State::Finished)
    }
}

/// A callback of [`TaskHandle::add_done_callback`].
type Callback<T, R> = Box<dyn FnOnce(&TaskHandle<T, R>) + Send>;

/// What the task's lock guards.
pub(crate) struct Slot<T: Send + 'static, R: Runtime> {
    pub(crate) state: State,
    /// The value, or the panic's message; stored with `Finished` (the racy twin stores it after).
    outcome: Option<Result<T, String>>,
    /// Whether [`TaskHandle::take`] moved the value out.
    taken: bool,
    callbacks: Vec<Callback<T, R>>,
    /// The waiters of `wait`/`as_completed` calls watching this task, with the task's index
    /// in each call's list.
    pub(crate) waiters: Vec<(R::Arc<Waiter<R>>, usize)>,
    /// The thread token of the worker running it (for the stale-cancel twin).
    pub(crate) worker: Option<usize>,
    callback_panics: Vec<String>,
}

/// One task: its number, its bug (the executor's), its slot and the condvar of `result`.
pub(crate) struct Cell<T: Send + 'static, R: Runtime> {
    pub(crate) id: usize,
    pub(crate) bug: Bug,
    pub(crate) slot: R::Mutex<Slot<T, R>>,
    done: R::Condvar,
    /// The executor's interrupted workers, by thread token: only the stale-cancel twin has it.
    interrupts: Option<Interrupts<R>>,
}

/// The worker flags of [`StaleCancelExecutor`](super::StaleCancelExecutor).
pub(crate) type Interrupts<R> = <R as Runtime>::Arc<<R as Runtime>::Mutex<Vec<usize>>>;

/// Why [`TaskHandle::result`] (or [`TaskHandle::take`], [`TaskHandle::exception`]) has no value
/// to give.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TaskError {
    /// The task was cancelled before it started (`concurrent.futures.CancelledError`).
    Cancelled,
    /// The timeout passed with the task still pending or running (`TimeoutError`). The task
    /// goes on; ask again later.
    TimedOut,
    /// The task panicked, with the panic's message (the exception `result()` re-raises).
    Panicked(String),
    /// [`TaskHandle::take`] already moved the value out.
    Taken,
}

impl fmt::Display for TaskError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TaskError::Cancelled => f.write_str("the task was cancelled"),
            TaskError::TimedOut => f.write_str("timed out waiting for the task"),
            TaskError::Panicked(m) => write!(f, "the task panicked: {m}"),
            TaskError::Taken => f.write_str("the task's value was already taken"),
        }
    }
}

impl std::error::Error for TaskError {}

/// The handle of a submitted task: Python's `concurrent.futures.Future`.
///
/// **Why not `Future`:** `std::future::Future` is the trait of `async` code, polled by an
/// executor; this is the other thing Python calls a future, a blocking handle to a result that a
/// worker thread will produce. Naming it `Future` would clash with the prelude's trait in every
/// `async` file that also uses racelab, and would promise `.await`. `TaskHandle` says what it is,
/// as tokio's `JoinHandle` does, without reusing `std::thread::JoinHandle`'s name, which racelab's
/// runtime already uses for threads.
///
/// **Values are cloned, or taken once.** Python's `result()` may be called any number of times,
/// from any thread, and returns the same object each time. [`TaskHandle::result`] keeps that:
/// it needs `T: Clone` and returns a clone (wrap a large value in an `Arc`).
/// [`TaskHandle::take`] moves a value that is not `Clone` out, once; later calls get
/// [`TaskError::Taken`]. The handle itself is cheap to clone: every clone is the same task.
pub struct TaskHandle<T: Send + 'static, R: Runtime = crate::runtime::DefaultRuntime> {
    pub(crate) cell: R::Arc<Cell<T, R>>,
}

impl<T: Send + 'static, R: Runtime> Clone for TaskHandle<T, R> {
    fn clone(&self) -> Self {
        TaskHandle {
            cell: self.cell.clone(),
        }
    }
}

impl<T: Send + 'static, R: Runtime> fmt::Debug for TaskHandle<T, R> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let s = self.cell.slot.lock();
        f.debug_struct("TaskHandle")
            .field("id", &self.cell.id)
            .field("state", &s.state)
            .finish()
    }
}

/// What a settled task's waiters and callbacks are owed, taken out under its lock and delivered
/// outside it.
struct Settled<T: Send + 'static, R: Runtime> {
    callbacks: Vec<Callback<T, R>>,
    waiters: Vec<(R::Arc<Waiter<R>>, usize)>,
    failed: bool,
}

impl<T: Send + 'static, R: Runtime> TaskHandle<T, R> {
    /// A pending task numbered `id`, with the executor's bug.
    pub(crate) fn new(id: usize, bug: Bug, interrupts: Option<Interrupts<R>>) -> Self {
        TaskHandle {
            cell: R::Arc::new(Cell {
                id,
                bug,
                slot: MutexApi::new(Slot {
                    state: State::Pending,
                    outcome: None,
                    taken: false,
                    callbacks: Vec::new(),
                    waiters: Vec::new(),
                    worker: None,
                    callback_panics: Vec::new(),
                }),
                done: CondvarApi::new(),
                interrupts,
            }),
        }
    }

    /// The task's number: tasks are numbered from 0 per executor, in the order `submit`
    /// accepted them.
    pub fn id(&self) -> usize {
        self.cell.id
    }

    /// Whether `self` and `other` are the same task.
    pub fn same(&self, other: &Self) -> bool {
        std::ptr::eq::<Cell<T, R>>(&*self.cell, &*other.cell)
    }

    /// Cancels the task if it has not started: true if it is (now or already) cancelled, false
    /// if it is running or done. A cancelled task never runs; its waiters and callbacks see it
    /// done at once.
    pub fn cancel(&self) -> bool {
        if self.cell.bug == CANCEL_RUNS_ANYWAY {
            return self.cancel_check_then_set();
        }
        if self.cell.bug == SCRUTINEE_GUARD {
            return self.cancel_scrutinee_guard();
        }
        if let Some(flags) = &self.cell.interrupts {
            // StaleCancelExecutor: a running task is "interrupted" by flagging its worker, after
            // the check and outside the task's lock; the task may end and its worker clear its
            // flag in between, and the flag then cancels the worker's next task.
            let (state, worker) = {
                let s = self.cell.slot.lock();
                (s.state, s.worker)
            };
            if let (State::Running, Some(w)) = (state, worker) {
                trace::event(|| format!("task {} running: interrupt its worker", self.cell.id));
                flags.lock().push(w);
                return false;
            }
        }
        let mut s = self.cell.slot.lock();
        match s.state {
            State::Running | State::Finished => false,
            State::Cancelled => true,
            State::Pending => {
                s.state = State::Cancelled;
                trace::event(|| format!("task {} cancelled", self.cell.id));
                let owed = self.settle(&mut s);
                drop(s);
                self.deliver(owed);
                true
            }
        }
    }

    /// [`CancelRunsAnywayFuture`](super::CancelRunsAnywayFuture): "is it pending?" and "mark it
    /// cancelled" are two critical sections; a worker that starts the task in between runs it,
    /// and `cancel` still says true.
    fn cancel_check_then_set(&self) -> bool {
        let state = self.cell.slot.lock().state;
        match state {
            State::Running | State::Finished => false,
            State::Cancelled => true,
            State::Pending => {
                trace::event(|| format!("cancel: task {} is pending", self.cell.id));
                // The gap: a worker may move the task to Running here.
                let mut s = self.cell.slot.lock();
                s.state = State::Cancelled;
                trace::event(|| format!("task {} cancelled (checked before)", self.cell.id));
                let owed = self.settle(&mut s);
                drop(s);
                self.deliver(owed);
                true
            }
        }
    }

    /// [`ScrutineeGuardExecutor`](super::ScrutineeGuardExecutor): the `match` scrutinee's
    /// temporary guard lives to the end of the `match`, so the arm's second `lock()` waits for
    /// a lock this thread holds.
    #[allow(clippy::significant_drop_in_scrutinee)]
    fn cancel_scrutinee_guard(&self) -> bool {
        match self.cell.slot.lock().state {
            State::Running | State::Finished => false,
            State::Cancelled => true,
            State::Pending => {
                // The scrutinee's guard is still alive here: a self-deadlock.
                let mut s = self.cell.slot.lock();
                s.state = State::Cancelled;
                let owed = self.settle(&mut s);
                drop(s);
                self.deliver(owed);
                true
            }
        }
    }

    /// Whether the task was cancelled.
    pub fn cancelled(&self) -> bool {
        self.cell.slot.lock().state == State::Cancelled
    }

    /// Whether a worker is running the task now.
    pub fn running(&self) -> bool {
        self.cell.slot.lock().state == State::Running
    }

    /// Whether the task is cancelled or finished (returned or panicked).
    pub fn done(&self) -> bool {
        self.cell.slot.lock().state.settled()
    }

    /// Waits up to `timeout` (`None`: for ever) for the task and returns a clone of its value.
    ///
    /// # Errors
    /// [`TaskError::Cancelled`], [`TaskError::TimedOut`] (a `Some(Duration::ZERO)` timeout on an
    /// unfinished task times out at once), [`TaskError::Panicked`] with the panic's message, or
    /// [`TaskError::Taken`] after [`TaskHandle::take`].
    #[track_caller]
    pub fn result(&self, timeout: Option<Duration>) -> Result<T, TaskError>
    where
        T: Clone,
    {
        self.result_until(&Deadline::from_timeout(timeout))
    }

    #[track_caller]
    pub(crate) fn result_until(&self, deadline: &Deadline<R>) -> Result<T, TaskError>
    where
        T: Clone,
    {
        let s = self.settled(deadline)?;
        match &s.outcome {
            Some(Ok(v)) if !s.taken => Ok(v.clone()),
            Some(Ok(_)) => Err(TaskError::Taken),
            Some(Err(m)) => Err(TaskError::Panicked(m.clone())),
            None => self.no_value(),
        }
    }

    /// [`TaskHandle::result`] for a value that is not `Clone`: moves it out, once.
    ///
    /// # Errors
    /// As [`TaskHandle::result`]; every call after the one that took the value gets
    /// [`TaskError::Taken`].
    #[track_caller]
    pub fn take(&self, timeout: Option<Duration>) -> Result<T, TaskError> {
        self.take_until(&Deadline::from_timeout(timeout))
    }

    #[track_caller]
    pub(crate) fn take_until(&self, deadline: &Deadline<R>) -> Result<T, TaskError> {
        let mut s = self.settled(deadline)?;
        if s.taken {
            return Err(TaskError::Taken);
        }
        match s.outcome.take() {
            Some(Ok(v)) => {
                s.taken = true;
                Ok(v)
            }
            Some(Err(m)) => {
                let e = TaskError::Panicked(m.clone());
                s.outcome = Some(Err(m));
                Err(e)
            }
            None => self.no_value(),
        }
    }

    /// Waits up to `timeout` for the task and returns its panic's message, or `None` if it
    /// returned (Python's `exception()`).
    ///
    /// # Errors
    /// [`TaskError::Cancelled`] or [`TaskError::TimedOut`].
    #[track_caller]
    pub fn exception(&self, timeout: Option<Duration>) -> Result<Option<String>, TaskError> {
        let s = self.settled(&Deadline::from_timeout(timeout))?;
        match &s.outcome {
            Some(Ok(_)) => Ok(None),
            Some(Err(m)) => Ok(Some(m.clone())),
            None => self.no_value(),
        }
    }

    /// Waits until the task is settled or the deadline passes; the guard of a finished task.
    #[track_caller]
    fn settled(&self, deadline: &Deadline<R>) -> Result<MutexGuard<'_, R, Slot<T, R>>, TaskError> {
        // On real threads a short spin first: a quick task's value is usually there within
        // microseconds, and a sleep and wakeup would cost more than the task.
        let quick = spin_first(deadline, || {
            let s = self.cell.slot.lock();
            s.state.settled().then_some(s)
        });
        let s = quick.unwrap_or_else(|| self.cell.slot.lock());
        let (s, timed_out) = wait_while(&self.cell.done, s, deadline, |s| !s.state.settled());
        if timed_out {
            return Err(TaskError::TimedOut);
        }
        match s.state {
            State::Cancelled => Err(TaskError::Cancelled),
            _ => Ok(s),
        }
    }

    /// A finished task with no outcome: only [`DoneBeforeResultFuture`](super::DoneBeforeResultFuture)
    /// publishes one.
    #[track_caller]
    fn no_value(&self) -> ! {
        crate::fail(
            BugClass::OrderViolation,
            format!(
                "task {} is done but holds no value: \"finished\" was published before the result was stored",
                self.cell.id
            ),
        )
    }

    /// Runs `f(handle)` once the task is done: at once, on this thread, if it is done already;
    /// else on the thread that settles it (the worker, or the thread that cancels it), after the
    /// task's waiters are woken. A panicking callback is caught and its message kept
    /// ([`TaskHandle::callback_panics`]); the other callbacks and the worker go on.
    pub fn add_done_callback(&self, f: impl FnOnce(&TaskHandle<T, R>) + Send + 'static) {
        let f: Callback<T, R> = Box::new(f);
        if self.cell.bug == CALLBACK_RACE {
            // The race: "done?" and "register" are two critical sections. A completion in
            // between runs the callbacks registered so far, and this one is pushed after.
            let done = self.cell.slot.lock().state.settled();
            if done {
                self.run_callback(f);
            } else {
                self.cell.slot.lock().callbacks.push(f);
            }
            return;
        }
        let mut s = self.cell.slot.lock();
        if s.state.settled() {
            drop(s);
            self.run_callback(f);
        } else {
            s.callbacks.push(f);
        }
    }

    /// The messages of the callbacks that panicked, in the order they ran.
    pub fn callback_panics(&self) -> Vec<String> {
        self.cell.slot.lock().callback_panics.clone()
    }

    fn run_callback(&self, f: Callback<T, R>) {
        if let Err(p) = crate::runtime::model::catch_user(|| f(self)) {
            let message = crate::engine::payload_text(p.as_ref());
            trace::event(|| format!("task {}: a done callback panicked: {message}", self.cell.id));
            self.cell.slot.lock().callback_panics.push(message);
        }
    }

    /// Takes what a settling task owes its waiters and callbacks; the caller has just moved the
    /// state to `Cancelled` or `Finished` under `s`.
    fn settle(&self, s: &mut Slot<T, R>) -> Settled<T, R> {
        Settled {
            callbacks: std::mem::take(&mut s.callbacks),
            waiters: std::mem::take(&mut s.waiters),
            failed: matches!(s.outcome, Some(Err(_))),
        }
    }

    /// Wakes `result` callers, notes the task in each waiter, runs the callbacks: outside the
    /// task's lock, so a callback may use the handle.
    fn deliver(&self, owed: Settled<T, R>) {
        self.cell.done.notify_all();
        self.deliver_to_waiters_and_callbacks(owed);
    }

    /// [`TaskHandle::deliver`] without the wakeup of `result` callers.
    fn deliver_to_waiters_and_callbacks(&self, owed: Settled<T, R>) {
        for (w, i) in owed.waiters {
            w.note(i, owed.failed);
        }
        for f in owed.callbacks {
            self.run_callback(f);
        }
    }

    /// The worker's start (CPython's `set_running_or_notify_cancel`): moves a pending task to
    /// running and returns true, or returns false for a cancelled one, in one critical section.
    pub(crate) fn start(&self, worker: usize) -> bool {
        let mut s = self.cell.slot.lock();
        match s.state {
            State::Pending => {
                s.state = State::Running;
                s.worker = Some(worker);
                trace::event(|| format!("task {} running", self.cell.id));
                true
            }
            _ => false,
        }
    }

    /// The worker's end: stores the outcome and publishes "finished" together, then delivers.
    pub(crate) fn finish(&self, outcome: Result<T, String>) {
        if self.cell.bug == DONE_BEFORE_RESULT {
            return self.finish_done_first(outcome);
        }
        let mut s = self.cell.slot.lock();
        s.outcome = Some(outcome);
        s.state = State::Finished;
        s.worker = None;
        trace::event(|| format!("task {} finished", self.cell.id));
        let owed = self.settle(&mut s);
        drop(s);
        self.deliver(owed);
    }

    /// [`DoneBeforeResultFuture`](super::DoneBeforeResultFuture): "finished" is published and
    /// the waiters woken in one critical section, the outcome stored in the next.
    fn finish_done_first(&self, outcome: Result<T, String>) {
        let failed = outcome.is_err();
        let mut s = self.cell.slot.lock();
        s.state = State::Finished;
        s.worker = None;
        trace::event(|| format!("task {} finished (no value stored yet)", self.cell.id));
        let mut owed = self.settle(&mut s);
        owed.failed = failed;
        drop(s);
        self.cell.done.notify_all();
        // The gap: a `result()` woken above finds the task done and no value.
        self.cell.slot.lock().outcome = Some(outcome);
        self.deliver_to_waiters_and_callbacks(owed);
    }

    /// `Some(panicked)` if the task is settled under `s`, else `None`.
    pub(crate) fn settled_as(&self, s: &Slot<T, R>) -> Option<bool> {
        s.state
            .settled()
            .then_some(matches!(s.outcome, Some(Err(_))))
    }

    /// [`TaskHandle::settled_as`] in a critical section of its own.
    pub(crate) fn done_and_failed(&self) -> Option<bool> {
        let s = self.cell.slot.lock();
        self.settled_as(&s)
    }

    /// Whether the task has left `Pending` (for the executor's list of queued tasks).
    pub(crate) fn started(&self) -> bool {
        self.cell.slot.lock().state != State::Pending
    }
}

/// A queued task as the executor's `shutdown(cancel_futures)` sees it, whatever its value type.
pub(crate) trait Queued: Send {
    /// [`TaskHandle::cancel`].
    fn cancel(&self) -> bool;
    /// Whether it has left `Pending`.
    fn started(&self) -> bool;
}

impl<T: Send + 'static, R: Runtime> Queued for TaskHandle<T, R> {
    fn cancel(&self) -> bool {
        TaskHandle::cancel(self)
    }
    fn started(&self) -> bool {
        TaskHandle::started(self)
    }
}
