//! The fixed worker pool of the pipeline article (issue 10): a set of workers fed through the
//! project's own [`ClosableQueue`], and the Python idiom done wrong beside it.
//!
//! - [`WorkerPool`]: `execute` queues a job (a job offered after shutdown began is handed back
//!   inside [`Rejected`], never dropped and never run); `wait_idle` waits until every job
//!   submitted so far has finished; `shutdown` closes intake, lets the workers drain every queued
//!   job, joins them and returns an accounted [`PoolReport`]. A panicking job is caught in its
//!   worker, counted with its message, and the worker goes on. After shutdown, always,
//!   `submitted = completed + panicked`. Dropping the pool shuts it down the same way.
//! - [`OneSentinelPool`], **intentionally racy**: shutdown puts one stop sentinel in the queue
//!   for N workers, so one worker stops and the others wait for work forever; the shutdown's join
//!   never returns.
//!
//! Both are [`FixedPool`], which differ only in how `close` tells the workers to stop (as
//! [`crate::queue::MpmcRing`] and its racy twin differ only in how they claim a slot).
//! [`Pools`] is the family's scenarios, generic over [`Pool`].

mod scenarios;

pub use self::scenarios::Pools;
pub(crate) use self::scenarios::Ran;

use crate::queue::{ClosableQueue, Queue, TaskQueue};
use crate::runtime::{ArcApi, Deadline, DefaultRuntime, JoinApi, MutexApi, Runtime, model};
use crate::trace;
use std::fmt;
use std::time::Duration;

/// What a worker runs.
pub type Job = Box<dyn FnOnce() + Send + 'static>;

/// A pool of a fixed set of workers, as the catalogue and the scenarios see it: [`FixedPool`]'s
/// methods, with the pool's name and the same pool on another runtime.
pub trait Pool: Send + Sync + Sized + 'static {
    /// The type's name, as in the catalogue.
    const NAME: &'static str;
    /// The runtime its workers and primitives come from.
    type Rt: Runtime;
    /// The same pool on runtime `Q`.
    type On<Q: Runtime>: Pool<Rt = Q>;
    /// A pool of `workers` workers named `worker#1`, `worker#2`, …
    ///
    /// # Errors
    /// [`PoolError::NoWorkers`] for 0 workers.
    fn with_workers(workers: usize) -> Result<Self, PoolError>;
    /// Queues `job` for a worker.
    ///
    /// # Errors
    /// [`Rejected`], with the job, once shutdown has begun.
    fn execute<F: FnOnce() + Send + 'static>(&self, job: F) -> Result<(), Rejected<F>>;
    /// Begins shutdown: later jobs are handed back, the workers drain the queue and stop.
    /// Returns whether this call began it.
    fn close(&self) -> bool;
    /// Waits until every job submitted so far has finished (none queued, none running).
    fn wait_idle(&self);
    /// Closes, drains, joins every worker and accounts for every job.
    fn shutdown(self) -> PoolReport;
}

/// A pool that cannot be built as asked.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PoolError {
    /// A pool needs at least one worker.
    NoWorkers,
}

impl fmt::Display for PoolError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            PoolError::NoWorkers => f.write_str("a worker pool needs at least 1 worker, not 0"),
        }
    }
}

impl std::error::Error for PoolError {}

/// A job offered after shutdown began, handed back unrun.
#[derive(PartialEq, Eq)]
pub struct Rejected<F>(pub F);

impl<F> Rejected<F> {
    /// The job that was not run.
    pub fn into_inner(self) -> F {
        self.0
    }
}

impl<F> fmt::Debug for Rejected<F> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // The job need not be Debug (a closure is not).
        f.write_str("Rejected(..)")
    }
}

impl<F> fmt::Display for Rejected<F> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("job refused: the pool is shutting down (the job is handed back)")
    }
}

impl<F> std::error::Error for Rejected<F> {}

/// A job that panicked: which, where, and its message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JobPanic {
    /// The job's number: jobs are numbered from 0 in the order `execute` accepted them.
    pub job: usize,
    /// The worker that ran it, numbered from 1 as its thread's trace name is (`worker#1`).
    pub worker: usize,
    /// The panic's message (a string payload, a [`crate::Failure`]'s message, or a description).
    pub message: String,
}

impl fmt::Display for JobPanic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "job {} panicked on worker {}: {}",
            self.job, self.worker, self.message
        )
    }
}

/// What a shutdown accounts for.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PoolReport {
    /// Jobs `execute` accepted.
    pub submitted: usize,
    /// Jobs that returned.
    pub completed: usize,
    /// Jobs that panicked, in the order they finished.
    pub panicked: Vec<JobPanic>,
    /// Workers joined by this shutdown.
    pub workers_joined: usize,
}

impl PoolReport {
    /// Whether every accepted job is accounted for: `submitted = completed + panicked`.
    pub fn accounted(&self) -> bool {
        self.submitted == self.completed + self.panicked.len()
    }
}

impl fmt::Display for PoolReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} submitted: {} completed, {} panicked; {} workers joined",
            self.submitted,
            self.completed,
            self.panicked.len(),
            self.workers_joined
        )?;
        for p in &self.panicked {
            write!(f, "; {p}")?;
        }
        Ok(())
    }
}

/// What travels through the queue.
enum Msg {
    /// Job number `.0`.
    Run(usize, Job),
    /// Stop (only [`OneSentinelPool`] sends it; [`WorkerPool`] closes the queue instead).
    Stop,
}

/// The books: what was accepted and how each job ended.
#[derive(Debug)]
struct Ledger {
    /// Whether `execute` accepts jobs. Set false once, by `close`, under this lock; a job is
    /// pushed under the same lock, so every accepted job is in the queue before it is closed.
    accepting: bool,
    submitted: usize,
    completed: usize,
    panicked: Vec<JobPanic>,
}

/// What the pool and its workers share.
struct Shared<R: Runtime> {
    /// The jobs. Unbounded: `execute` pushes under the ledger's lock, so it must never wait
    /// for room (a worker needs that lock to record a job and take the next one).
    queue: ClosableQueue<Msg, R>,
    ledger: R::Mutex<Ledger>,
    /// The workers' [`Runtime::thread_token`]s, each pushed once as its worker starts: how
    /// [`FixedPool::in_worker`] knows a call comes from inside a job. std's mutex, held for a
    /// push or a scan and never across a wait, so the checkers need not see it.
    tokens: std::sync::Mutex<Vec<usize>>,
}

/// The pool shared by [`WorkerPool`] (`RACY = false`) and [`OneSentinelPool`] (`RACY = true`).
///
/// Lock order: the ledger, then the queue (`execute`); a worker takes them one at a time.
pub struct FixedPool<R: Runtime, const RACY: bool> {
    shared: R::Arc<Shared<R>>,
    /// The workers not joined yet, with their numbers (empty after shutdown). Behind std's
    /// mutex only to make the pool `Sync` (a join handle need not be): it is reached through
    /// `&mut self` (`get_mut`, no locking) except by [`FixedPool::workers`], which holds it for
    /// one read, so the checkers need not see it.
    workers: std::sync::Mutex<Vec<(usize, R::JoinHandle<()>)>>,
}

/// A fixed set of workers fed through a [`ClosableQueue`]. `shutdown` (or drop) closes the
/// queue: every worker drains it and sees it closed, so every worker stops and every job runs.
///
/// ```
/// use racelab::pool::WorkerPool;
/// use std::sync::atomic::{AtomicUsize, Ordering::SeqCst};
/// use std::sync::Arc;
///
/// let pool: WorkerPool = WorkerPool::new(2).unwrap();
/// let done = Arc::new(AtomicUsize::new(0));
/// for _ in 0..10 {
///     let done = done.clone();
///     pool.execute(move || { done.fetch_add(1, SeqCst); }).unwrap();
/// }
/// pool.wait_idle();
/// assert_eq!(done.load(SeqCst), 10);
/// let report = pool.shutdown();
/// assert_eq!((report.submitted, report.completed, report.workers_joined), (10, 10, 2));
/// ```
pub type WorkerPool<R = DefaultRuntime> = FixedPool<R, false>;

/// **Intentionally racy:** the Python idiom done wrong. Its `close` puts *one* stop sentinel in
/// the queue for N workers (the article's `ClosableQueue.close` puts a single `SENTINEL`, and
/// the caller must close once per worker). The first worker to reach the sentinel stops; the
/// others block in `pop` on an empty queue that is never closed, so shutdown's join of the
/// second worker never returns. Nothing is lost (every job was queued before the sentinel):
/// the one bug is the hang.
///
/// ```text
/// main: execute a, execute b           queue: a b
/// worker#1: run a      worker#2: run b
/// main: shutdown: push STOP            queue: STOP
/// worker#1: pop STOP → stop
/// worker#2: pop → queue empty, open → waits
/// main: join worker#1 ✓, join worker#2 … never returns
/// ```
pub type OneSentinelPool<R = DefaultRuntime> = FixedPool<R, true>;

impl<R: Runtime, const RACY: bool> FixedPool<R, RACY> {
    /// A pool of `workers` workers named `worker#1`, `worker#2`, … in traces.
    ///
    /// # Errors
    /// [`PoolError::NoWorkers`] for 0 workers.
    pub fn new(workers: usize) -> Result<Self, PoolError> {
        Self::builder(workers).build()
    }

    /// A builder, to name the workers after their role.
    pub fn builder(workers: usize) -> PoolBuilder<R, RACY> {
        PoolBuilder {
            workers,
            name: "worker".to_string(),
            _r: std::marker::PhantomData,
        }
    }

    /// Queues `job` for a worker. Jobs start in the order they were accepted; with more than
    /// one worker they may finish in any order.
    ///
    /// # Errors
    /// [`Rejected`], with the job unrun, once shutdown has begun.
    pub fn execute<F: FnOnce() + Send + 'static>(&self, job: F) -> Result<(), Rejected<F>> {
        let mut ledger = self.shared.ledger.lock();
        if !ledger.accepting {
            trace::event(|| "execute refused: shutting down".into());
            return Err(Rejected(job));
        }
        let n = ledger.submitted;
        ledger.submitted += 1;
        trace::event(|| format!("execute job {n}"));
        // Under the ledger's lock: `close` clears `accepting` under it before it closes the
        // queue, so the queue is open here and the push cannot be refused.
        if self.shared.queue.push(Msg::Run(n, Box::new(job))).is_err() {
            unreachable!("the pool's queue was closed while it accepted jobs");
        }
        Ok(())
    }

    /// Begins shutdown without waiting: later jobs are handed back, the workers drain what is
    /// queued and stop. Returns whether this call began it (false if it had begun).
    pub fn close(&self) -> bool {
        let began = std::mem::replace(&mut self.shared.ledger.lock().accepting, false);
        if began {
            trace::event(|| "close".into());
            if RACY {
                // The bug: one sentinel, however many workers wait for it.
                let _ = self.shared.queue.push(Msg::Stop);
            } else {
                // Every worker sees the queue closed once it is drained.
                self.shared.queue.close();
            }
        }
        began
    }

    /// Waits until every job submitted so far has finished, panicked ones included (none
    /// queued, none running). Jobs submitted meanwhile are waited for too.
    pub fn wait_idle(&self) {
        self.shared.queue.join();
    }

    /// [`FixedPool::wait_idle`] for at most `timeout`; whether the pool became idle.
    pub fn wait_idle_timeout(&self, timeout: Duration) -> bool {
        self.shared.queue.join_timeout(Some(timeout))
    }

    /// How many workers have not been joined (the pool's size until shutdown).
    pub fn workers(&self) -> usize {
        self.workers
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .len()
    }

    /// Jobs accepted and not finished yet: queued or running.
    pub fn pending(&self) -> usize {
        let l = self.shared.ledger.lock();
        l.submitted - l.completed - l.panicked.len()
    }

    /// Closes intake, lets the workers run every queued job, joins every worker and accounts
    /// for every job: `submitted = completed + panicked`.
    pub fn shutdown(mut self) -> PoolReport {
        self.finish()
    }

    /// Whether the calling thread is one of this pool's workers (a job asking about its own
    /// pool): such a caller must not wait for the pool to go idle or join it, since it would
    /// wait for itself.
    pub fn in_worker(&self) -> bool {
        let me = R::thread_token();
        self.shared
            .tokens
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .contains(&me)
    }

    /// Closes intake and joins the workers that no other call has joined, through a shared
    /// reference (what an owner that lends the pool, such as an executor, needs). Returns how
    /// many this call joined. From inside one of the pool's own jobs it joins none and returns
    /// 0: a worker cannot join itself; the drop detaches them then.
    pub fn join(&self) -> usize {
        self.close();
        if self.in_worker() {
            return 0;
        }
        // Taken out under std's mutex and joined outside it: a second caller finds none left.
        let handles = std::mem::take(
            &mut *self
                .workers
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner),
        );
        let mut joined = 0;
        for (n, h) in handles {
            trace::event(|| format!("join worker {n}"));
            // A worker catches its jobs' panics; an unwinding that reaches its join is not a
            // job's (a checker's verdict, a stress run releasing a stuck thread) and goes on.
            if let Err(p) = h.join() {
                std::panic::resume_unwind(p);
            }
            joined += 1;
        }
        joined
    }

    fn handles(&mut self) -> &mut Vec<(usize, R::JoinHandle<()>)> {
        self.workers
            .get_mut()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    fn finish(&mut self) -> PoolReport {
        let joined = self.join();
        let mut l = self.shared.ledger.lock();
        PoolReport {
            submitted: l.submitted,
            completed: l.completed,
            panicked: std::mem::take(&mut l.panicked),
            workers_joined: joined,
        }
    }
}

/// Dropping the pool shuts it down and joins its workers: every queued job runs first. While
/// the thread unwinds from a panic it only closes intake (on real threads), without joining.
impl<R: Runtime, const RACY: bool> Drop for FixedPool<R, RACY> {
    fn drop(&mut self) {
        if self.handles().is_empty() {
            return;
        }
        if std::thread::panicking() {
            // Joining here could block an unwinding thread; under a checker the execution is
            // being abandoned and its threads with it.
            if !R::CAPS.checked {
                self.close();
            }
            return;
        }
        if self.in_worker() {
            // The last owner let go inside one of the pool's jobs: the workers drain the queue
            // and stop by themselves; joining would wait for this very thread.
            self.close();
            self.handles().clear();
            return;
        }
        self.finish();
    }
}

impl<R: Runtime, const RACY: bool> fmt::Debug for FixedPool<R, RACY> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct(<Self as Pool>::NAME)
            .field("workers", &self.workers())
            .field("ledger", &*self.shared.ledger.lock())
            .finish()
    }
}

/// Builds a [`FixedPool`]; see [`FixedPool::builder`].
#[derive(Debug, Clone)]
pub struct PoolBuilder<R: Runtime, const RACY: bool> {
    workers: usize,
    name: String,
    _r: std::marker::PhantomData<fn() -> R>,
}

impl<R: Runtime, const RACY: bool> PoolBuilder<R, RACY> {
    /// Names the workers' threads after their role: `"resize"` gives `resize#1`, `resize#2`, …
    /// in traces and wait reports, and `resize` as the OS thread's name.
    pub fn name(mut self, name: impl Into<String>) -> Self {
        self.name = name.into();
        self
    }

    /// Spawns the workers.
    ///
    /// # Errors
    /// [`PoolError::NoWorkers`] for 0 workers.
    pub fn build(self) -> Result<FixedPool<R, RACY>, PoolError> {
        if self.workers == 0 {
            return Err(PoolError::NoWorkers);
        }
        let shared = R::Arc::new(Shared {
            queue: ClosableQueue::new(),
            ledger: MutexApi::new(Ledger {
                accepting: true,
                submitted: 0,
                completed: 0,
                panicked: Vec::new(),
            }),
            tokens: std::sync::Mutex::new(Vec::with_capacity(self.workers)),
        });
        let workers = (1..=self.workers)
            .map(|n| {
                let shared = shared.clone();
                (n, R::spawn_named(&self.name, move || work(&shared, n)))
            })
            .collect();
        Ok(FixedPool {
            shared,
            workers: std::sync::Mutex::new(workers),
        })
    }
}

/// A worker: takes jobs until the queue is closed and drained (or, for the racy twin, until it
/// takes the sentinel), runs each, and records how it ended.
fn work<R: Runtime>(shared: &Shared<R>, worker: usize) {
    let _token = Token::<R>::register(&shared.tokens);
    while let Ok(msg) = next_job(&shared.queue) {
        let Msg::Run(n, job) = msg else {
            trace::event(|| "stop sentinel: worker stops".into());
            let _ = shared.queue.task_done();
            return;
        };
        // Only the job's own panics: a checker's verdict or a stress release goes on.
        let ended = model::catch_user(job);
        {
            let mut l = shared.ledger.lock();
            match ended {
                Ok(()) => l.completed += 1,
                Err(payload) => {
                    let message = crate::engine::payload_text(payload.as_ref());
                    trace::event(|| format!("job {n} panicked: {message}"));
                    l.panicked.push(JobPanic {
                        job: n,
                        worker,
                        message,
                    });
                }
            }
        }
        // After the ledger: `wait_idle` returns only once this job's ending is counted.
        let _ = shared.queue.task_done();
    }
    trace::event(|| "queue closed and drained: worker stops".into());
}

/// The next message for a worker: on real threads a short spin on `try_pop` first, so a job
/// submitted just after the last one finished is picked up without a sleep and a wakeup (what
/// a submit → result round trip costs otherwise); then the blocking `pop`. Under the checkers
/// the blocking `pop` at once.
fn next_job<R: Runtime>(queue: &ClosableQueue<Msg, R>) -> Result<Msg, crate::queue::PopError> {
    let quick = crate::runtime::spin_first(&Deadline::<R>::never(), || match queue.try_pop() {
        Err(crate::queue::PopError::Empty) => None,
        ended => Some(ended),
    });
    quick.unwrap_or_else(|| queue.pop())
}

/// A worker's thread token in [`Shared::tokens`] while the worker runs: taken out again as it
/// stops (a token identifies a thread only among the living, so a dead worker's must go).
struct Token<'a, R: Runtime> {
    tokens: &'a std::sync::Mutex<Vec<usize>>,
    me: usize,
    _r: std::marker::PhantomData<fn() -> R>,
}

impl<'a, R: Runtime> Token<'a, R> {
    fn register(tokens: &'a std::sync::Mutex<Vec<usize>>) -> Self {
        let me = R::thread_token();
        tokens
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .push(me);
        Token {
            tokens,
            me,
            _r: std::marker::PhantomData,
        }
    }
}

impl<R: Runtime> Drop for Token<'_, R> {
    fn drop(&mut self) {
        let mut t = self
            .tokens
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if let Some(i) = t.iter().position(|x| *x == self.me) {
            t.swap_remove(i);
        }
    }
}

impl<R: Runtime, const RACY: bool> Pool for FixedPool<R, RACY> {
    const NAME: &'static str = if RACY {
        "OneSentinelPool"
    } else {
        "WorkerPool"
    };
    type Rt = R;
    type On<Q: Runtime> = FixedPool<Q, RACY>;
    fn with_workers(workers: usize) -> Result<Self, PoolError> {
        Self::new(workers)
    }
    fn execute<F: FnOnce() + Send + 'static>(&self, job: F) -> Result<(), Rejected<F>> {
        FixedPool::execute(self, job)
    }
    fn close(&self) -> bool {
        FixedPool::close(self)
    }
    fn wait_idle(&self) {
        FixedPool::wait_idle(self)
    }
    fn shutdown(self) -> PoolReport {
        FixedPool::shutdown(self)
    }
}
