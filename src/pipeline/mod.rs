//! Staged pipelines: the article's download → resize → upload, built on the queue family.
//!
//! A pipeline is a chain of stages, each a fixed set of workers (the article's "fan-out on
//! demand": a few workers fed through a queue, not a thread per item), joined by bounded
//! queues: the article's [`ClosableQueue`](crate::queue::ClosableQueue) unless another family
//! is chosen ([`PipelineBuilder::queues`], [`StageQueues`]):
//!
//! ```
//! use racelab::pipeline::Pipeline;
//! let report = Pipeline::<u32>::builder()
//!     .stage("download", 2, |n| Ok::<_, String>(n * 10))
//!     .stage("resize", 3, |n| if n == 30 { Err(format!("{n} is too big")) } else { Ok(n + 1) })
//!     .stage("upload", 1, |n| Ok::<_, String>(n.to_string()))
//!     .ordered(true)
//!     .run(1..=4)
//!     .unwrap();
//! assert_eq!(report.outputs, ["11", "21", "41"]);
//! assert_eq!(report.failed[0].stage, "resize");
//! assert!(report.is_accounted());
//! ```
//!
//! - **Every item is accounted for.** Each item sent gets a sequence number and reaches the
//!   sink exactly once: as its output, or as a marker of an item that failed or was cancelled on
//!   the way, whose fate the report records. `outputs + failed + cancelled = sent`, always
//!   ([`PipelineReport::is_accounted`]).
//! - **Shutdown drains in order.** Closing the input lets each stage finish what it holds; the
//!   last worker of a stage to leave closes the next queue, exactly once (a `fetch_sub` on the
//!   stage's live count).
//! - **Errors and panics are per item.** A stage function that returns `Err` or panics marks
//!   that item failed, with the stage's name and the message; the worker goes on to the next.
//! - **Cancellation** stops intake (a later send hands its item back); items not yet started
//!   in a stage are reported cancelled; a stage function already running finishes. Every worker
//!   exits; nothing hangs.
//! - **Back-pressure**: every queue is bounded ([`PipelineBuilder::capacity`]); a slow stage
//!   blocks its producers and nothing is dropped.
//! - **Order**: outputs come in completion order, or in input order with
//!   [`PipelineBuilder::ordered`].
//!
//! Two ways to run one: [`PipelineBuilder::run`] feeds an iterator and returns the report;
//! [`PipelineBuilder::start`] returns a [`Pipeline`] handle to `send`, `recv` (or iterate),
//! `close`, `cancel` and `join`. A handle's sender and receiver must not be the same thread
//! unless it reads outputs as it sends: with bounded queues, a full pipeline waits for its
//! reader.
//!
//! The racy twins ([`EachWorkerClosesPipeline`], [`RacyLiveCountPipeline`],
//! [`PanicLosesItemPipeline`], [`JoinBeforeDrainPipeline`], [`CancelLeaksWorkerPipeline`],
//! [`CyclicBackpressurePipeline`]) are this pipeline with one bug each, selected by a const
//! parameter; their scenarios are in [`Pipelines`].

mod queues;
mod scenarios;
mod stage;

pub use self::queues::{Bounded, Channels, Closable, Rings, StageQueues};
pub use self::scenarios::{Pipelines, PipelinesOn};

use self::stage::{Ledger, Msg, Stage, StageFn};
use crate::queue::{PopError, Queue};
use crate::runtime::{
    ArcApi, AtomicBoolApi, AtomicIntApi, DefaultRuntime, JoinApi, MutexApi, Runtime,
};
use crate::trace;
use std::collections::BTreeMap;
use std::fmt;
use std::sync::atomic::Ordering::{Acquire, Relaxed, Release};

/// The bug a pipeline carries (0: none); see the racy twins.
pub type Bug = u8;
/// The correct pipeline.
pub const CORRECT: Bug = 0;
/// [`EachWorkerClosesPipeline`]'s bug.
pub const EACH_WORKER_CLOSES: Bug = 1;
/// [`RacyLiveCountPipeline`]'s bug.
pub const RACY_LIVE_COUNT: Bug = 2;
/// [`PanicLosesItemPipeline`]'s bug.
pub const PANIC_LOSES_ITEM: Bug = 3;
/// [`JoinBeforeDrainPipeline`]'s bug.
pub const JOIN_BEFORE_DRAIN: Bug = 4;
/// [`CancelLeaksWorkerPipeline`]'s bug.
pub const CANCEL_LEAKS_WORKER: Bug = 5;
/// [`CyclicBackpressurePipeline`]'s bug.
pub const CYCLIC_BACKPRESSURE: Bug = 6;

/// The default bound of every queue between stages.
pub const DEFAULT_CAPACITY: usize = 16;

/// Why a pipeline cannot be built.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PipelineError {
    /// A stage was given 0 workers.
    NoWorkers {
        /// The stage's name.
        stage: String,
    },
    /// The queues were given capacity 0.
    ZeroCapacity,
    /// No stage was added.
    NoStages,
    /// The queue family cannot make a queue of this capacity (or on this runtime).
    Queue(String),
    /// [`PipelineBuilder::queues`] was called after a stage was added.
    QueuesAfterStages,
}

impl fmt::Display for PipelineError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            PipelineError::NoWorkers { stage } => {
                write!(f, "stage `{stage}` needs at least 1 worker, got 0")
            }
            PipelineError::ZeroCapacity => {
                write!(f, "pipeline queues need a capacity of at least 1, got 0")
            }
            PipelineError::NoStages => write!(f, "a pipeline needs at least one stage"),
            PipelineError::Queue(e) => write!(f, "the pipeline's queues: {e}"),
            PipelineError::QueuesAfterStages => {
                write!(f, "choose the queues before the first stage")
            }
        }
    }
}

impl std::error::Error for PipelineError {}

/// An item a stage failed: its sequence number (the order it was sent in, from 0), the stage,
/// and the error's or the panic's message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Failed {
    /// The item's sequence number.
    pub seq: u64,
    /// The stage that failed it.
    pub stage: String,
    /// The error's `Display`, or the panic's message (prefixed `panicked: `).
    pub message: String,
}

/// What a finished pipeline did with every item sent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PipelineReport<O> {
    /// Items sent.
    pub sent: u64,
    /// The outputs the handle's reader had not received before `join` (all of them after
    /// [`PipelineBuilder::run`]): in completion order or, if ordered, in input order.
    pub outputs: Vec<O>,
    /// Outputs the handle's reader received before `join`.
    pub received: u64,
    /// Items a stage failed, by sequence number.
    pub failed: Vec<Failed>,
    /// Sequence numbers of the items cancelled before a stage started them.
    pub cancelled: Vec<u64>,
    /// Items sent that never reached the end: 0 unless a stage lost them (only the racy twins
    /// do).
    pub lost: u64,
    /// Threads that ended by panicking: a worker (only [`PanicLosesItemPipeline`] lets a stage's
    /// panic escape), or [`PipelineBuilder::run`]'s feeder when the input iterator panicked.
    pub workers_panicked: usize,
    /// Worker threads still running when the report was made: 0, since `join` joins every
    /// worker first (only [`JoinBeforeDrainPipeline`] returns earlier).
    pub still_running: usize,
}

impl<O> PipelineReport<O> {
    /// Whether every item sent is an output, a failure or a cancellation, exactly once.
    pub fn is_accounted(&self) -> bool {
        self.lost == 0 && self.workers_panicked == 0 && self.ended() == self.sent
    }

    /// Items that ended: received, output, failed or cancelled.
    pub fn ended(&self) -> u64 {
        self.received
            + self.outputs.len() as u64
            + self.failed.len() as u64
            + self.cancelled.len() as u64
    }
}

/// The plumbing a stage is built on: the queue before it, the ledger, the capacity, and the
/// workers spawned so far.
struct Plumbing<T: Send + 'static, R: Runtime, Q: StageQueues> {
    queue: R::Arc<Q::Of<Msg<T>, R>>,
    ledger: R::Arc<Ledger<R>>,
    capacity: usize,
    workers: Vec<R::JoinHandle<()>>,
}

/// Builds every stage from the pipeline's input queue: the plumbing after the last stage.
type BuildFn<I, O, R, Q> = Box<dyn FnOnce(Plumbing<I, R, Q>) -> Plumbing<O, R, Q> + Send>;

/// Builds a pipeline from items `I` to outputs `O` (see the [module docs](self)); `BUG` selects
/// a racy twin.
pub struct PipelineBuilder<
    I: Send + 'static,
    O: Send + 'static,
    R: Runtime = DefaultRuntime,
    const BUG: Bug = CORRECT,
    Q: StageQueues = Closable,
> {
    build: BuildFn<I, O, R, Q>,
    stages: usize,
    /// Workers of every stage so far.
    workers: usize,
    capacity: usize,
    ordered: bool,
    error: Option<PipelineError>,
}

/// The correct pipeline, from items `I` to outputs `O`: its handle once started. Its stages are
/// joined by queues of family `Q` ([`PipelineBuilder::queues`]).
pub type Pipeline<I, O = I, R = DefaultRuntime, Q = Closable> = Staged<I, O, R, CORRECT, Q>;

/// **Intentionally racy:** every worker of a stage closes the next queue when its own input
/// runs dry, instead of the last one out. A sibling still working on an item then finds the
/// queue closed, and the item is lost.
///
/// ```text
/// resize#1: pop → closed (input drained)   close upload's queue
/// resize#2: (still resizing item 7)        push item 7 → refused: closed   ← item 7 lost
/// ```
///
/// Its twin is [`Pipeline`], whose workers count down a live count and the last one closes.
pub type EachWorkerClosesPipeline<I, O = I, R = DefaultRuntime> =
    Staged<I, O, R, EACH_WORKER_CLOSES>;

/// **Intentionally racy:** "last one out closes" with a load and then a store of the live
/// count. Two workers that leave together both load 2 and store 1: neither sees itself last,
/// nobody closes the next queue, and the next stage waits forever (or both see 1 and close
/// twice).
///
/// ```text
/// resize#1: live.load → 2
/// resize#2: live.load → 2
/// resize#1: live.store(1)
/// resize#2: live.store(1)       ← nobody reaches 0; upload never ends
/// ```
///
/// Its twin is [`Pipeline`], whose `fetch_sub` cannot be split.
pub type RacyLiveCountPipeline<I, O = I, R = DefaultRuntime> = Staged<I, O, R, RACY_LIVE_COUNT>;

/// **Intentionally racy:** a stage function's panic is not caught. It unwinds out of the
/// worker, so the item vanishes, the worker is gone, and the stage's live count never reaches
/// zero: the next stage never ends, and `join` hangs.
///
/// ```text
/// resize#1: resize(item 3) panics   → resize#1 dies (item 3 lost, live stays 2)
/// resize#2: pop → closed            live 2 → 1: not last, so nobody closes upload's queue
/// ```
///
/// Its twin is [`Pipeline`], which catches the panic and fails the one item.
pub type PanicLosesItemPipeline<I, O = I, R = DefaultRuntime> = Staged<I, O, R, PANIC_LOSES_ITEM>;

/// **Intentionally racy:** `join` is the input queue's `join()`, and each worker calls
/// `task_done` as soon as it takes an item: Python's `queue.join()` with the acknowledgement in
/// the wrong place. It returns once every item has been taken, not finished, so outputs still
/// in the stages miss the report, and workers are still running when it is read.
///
/// ```text
/// resize#1: pop item 0; task_done               (every item taken)
/// T1:       join: input joined → report: outputs []     ← item 0 not yet resized
/// upload#1: pop item 0 → output 1                       (after the report was made)
/// ```
///
/// It reads no outputs while it waits, so when the last queue fills, a worker waits for room
/// and the join waits for the worker's next `task_done`: a deadlock.
///
/// Its twin is [`Pipeline`], whose `join` drains the sink and joins every worker first.
pub type JoinBeforeDrainPipeline<I, O = I, R = DefaultRuntime> = Staged<I, O, R, JOIN_BEFORE_DRAIN>;

/// **Intentionally racy:** `cancel` only sets a flag, which workers read between items. A
/// worker already blocked in `pop` on an empty input is never woken to read it (no close, no
/// notify), so it waits forever and `join` with it: Go's leaked goroutine, where a consumer
/// stops early and the goroutines feeding it block for good.
///
/// ```text
/// resize#1: pop → (input empty) wait
/// T1:       cancel: cancelled = true            ← no close, nobody wakes resize#1
/// T1:       join → waits for resize#1 forever
/// ```
///
/// Its twin is [`Pipeline`], whose `cancel` also closes the input, waking every worker.
pub type CancelLeaksWorkerPipeline<I, O = I, R = DefaultRuntime> =
    Staged<I, O, R, CANCEL_LEAKS_WORKER>;

/// **Intentionally racy:** a [retrying stage](PipelineBuilder::retrying_stage) puts a failed
/// item back on its own bounded input with a blocking push. With the queue full (its producer
/// waiting to add more) and the stage's workers waiting for room, nobody pops: a cycle of
/// back-pressure, and a deadlock.
///
/// ```text
/// T1:      send 0; flaky#1: pop 0;  T1: send 1 (queue full)
/// flaky#1: item 0 fails → push 0 back → wait: full
/// T1:      send 2 → wait: full                    ← each waits for the other to pop
/// ```
///
/// Its twin is [`Pipeline`], whose retry uses `try_push` and runs the item again at once when
/// the queue has no room: the cycle can never block.
pub type CyclicBackpressurePipeline<I, O = I, R = DefaultRuntime> =
    Staged<I, O, R, CYCLIC_BACKPRESSURE>;

impl<I: Send + 'static, R: Runtime, const BUG: Bug, Q: StageQueues> Staged<I, I, R, BUG, Q> {
    /// A builder with no stage yet.
    pub fn builder() -> PipelineBuilder<I, I, R, BUG, Q> {
        PipelineBuilder {
            build: Box::new(|p| p),
            stages: 0,
            workers: 0,
            capacity: DEFAULT_CAPACITY,
            ordered: false,
            error: None,
        }
    }
}

impl<I: Send + 'static, R: Runtime, const BUG: Bug, Q: StageQueues>
    PipelineBuilder<I, I, R, BUG, Q>
{
    /// Joins the stages with queues of family `Q2` instead of the default [`Closable`]:
    /// [`Bounded`], [`Rings`], [`Channels`] or a [family of your own](StageQueues). Call it
    /// before the first stage; after one, [`start`](Self::start) fails with
    /// [`PipelineError::QueuesAfterStages`].
    pub fn queues<Q2: StageQueues>(self) -> PipelineBuilder<I, I, R, BUG, Q2> {
        let error = self
            .error
            .or((self.stages > 0).then_some(PipelineError::QueuesAfterStages));
        PipelineBuilder {
            build: Box::new(|p| p),
            stages: self.stages,
            workers: self.workers,
            capacity: self.capacity,
            ordered: self.ordered,
            error,
        }
    }
}

impl<I: Send + 'static, O: Send + 'static, R: Runtime, const BUG: Bug, Q: StageQueues>
    PipelineBuilder<I, O, R, BUG, Q>
{
    /// Adds a stage of `workers` threads (named `name#1`, `name#2`, … in traces) applying `f`
    /// to each item. `Err(e)` or a panic fails the item, with `name` and the message.
    pub fn stage<U, E, F>(
        self,
        name: &str,
        workers: usize,
        f: F,
    ) -> PipelineBuilder<I, U, R, BUG, Q>
    where
        U: Send + 'static,
        E: fmt::Display,
        F: Fn(O) -> Result<U, E> + Send + Sync + 'static,
    {
        self.add(
            name,
            workers,
            0,
            Box::new(move |x| f(x).map_err(|e| (e.to_string(), None))),
        )
    }

    /// Adds a stage as [`stage`](Self::stage) does, whose function is tried up to `retries`
    /// more times on an item it returns `Err` for, before the item fails with the last error.
    /// The item is cloned before each try. A retry goes back on the stage's own input, behind
    /// the items waiting there, when the queue has room; when it is full or closed it runs at
    /// once, so a stage that feeds itself never waits on itself (see
    /// [`CyclicBackpressurePipeline`]). A panic is not retried.
    pub fn retrying_stage<U, E, F>(
        self,
        name: &str,
        workers: usize,
        retries: u32,
        f: F,
    ) -> PipelineBuilder<I, U, R, BUG, Q>
    where
        O: Clone,
        U: Send + 'static,
        E: fmt::Display,
        F: Fn(O) -> Result<U, E> + Send + Sync + 'static,
    {
        let f: StageFn<O, U> = Box::new(move |x: O| {
            let keep = x.clone();
            f(x).map_err(|e| (e.to_string(), Some(keep)))
        });
        self.add(name, workers, retries, f)
    }

    /// Adds a stage running `f`, retrying an item up to `retries` times.
    fn add<U: Send + 'static>(
        self,
        name: &str,
        workers: usize,
        retries: u32,
        f: StageFn<O, U>,
    ) -> PipelineBuilder<I, U, R, BUG, Q> {
        let mut error = self.error;
        if workers == 0 && error.is_none() {
            error = Some(PipelineError::NoWorkers {
                stage: name.to_string(),
            });
        }
        let name = name.to_string();
        let first = self.stages == 0;
        let before = self.build;
        let build: BuildFn<I, U, R, Q> = Box::new(move |p| {
            let p = before(p);
            let output = R::Arc::new(
                <Q::Of<Msg<U>, R>>::with_capacity(Some(p.capacity))
                    .expect("capacity checked at start"),
            );
            let stage = R::Arc::new(Stage {
                name,
                f,
                retries,
                input: p.queue,
                output: output.clone(),
                ledger: p.ledger.clone(),
                live: AtomicIntApi::new(workers),
                first,
            });
            let mut all = p.workers;
            all.extend(stage::spawn::<O, U, R, Q, BUG>(stage, workers));
            Plumbing {
                queue: output,
                ledger: p.ledger,
                capacity: p.capacity,
                workers: all,
            }
        });
        PipelineBuilder {
            build,
            stages: self.stages + 1,
            workers: self.workers + workers,
            capacity: self.capacity,
            ordered: self.ordered,
            error,
        }
    }

    /// Bounds every queue between stages (default [`DEFAULT_CAPACITY`]; 0 is an error at start).
    pub fn capacity(mut self, capacity: usize) -> Self {
        self.capacity = capacity;
        self
    }

    /// Delivers outputs in input order (default: in completion order). Failed and cancelled
    /// items leave no gap.
    pub fn ordered(mut self, ordered: bool) -> Self {
        self.ordered = ordered;
        self
    }

    /// Spawns every stage's workers and returns the handle.
    ///
    /// # Errors
    /// A stage with 0 workers, capacity 0, or no stage.
    pub fn start(self) -> Result<Staged<I, O, R, BUG, Q>, PipelineError> {
        if let Some(e) = self.error {
            return Err(e);
        }
        if self.capacity == 0 {
            return Err(PipelineError::ZeroCapacity);
        }
        if self.stages == 0 {
            return Err(PipelineError::NoStages);
        }
        // Every queue of the family is made at this capacity: one refused here is an error,
        // and the stages' own are then made with it.
        let input = R::Arc::new(
            <Q::Of<Msg<I>, R>>::with_capacity(Some(self.capacity))
                .map_err(|e| PipelineError::Queue(e.to_string()))?,
        );
        let ledger = R::Arc::new(Ledger::new(self.workers));
        let built = (self.build)(Plumbing {
            queue: input.clone(),
            ledger: ledger.clone(),
            capacity: self.capacity,
            workers: Vec::new(),
        });
        Ok(Staged {
            input,
            output: built.queue,
            ledger,
            workers: std::sync::Mutex::new(built.workers),
            sent: AtomicIntApi::new(0),
            sink: MutexApi::new(Sink {
                next: 0,
                parked: BTreeMap::new(),
                received: 0,
                ordered: self.ordered,
            }),
        })
    }

    /// Starts the pipeline, sends every item of `inputs` from a feeder thread (named `feed`),
    /// closes the input, and returns the report once every stage has finished.
    ///
    /// # Errors
    /// As for [`PipelineBuilder::start`].
    pub fn run(
        self,
        inputs: impl IntoIterator<Item = I> + Send + 'static,
    ) -> Result<PipelineReport<O>, PipelineError> {
        let p = R::Arc::new(self.start()?);
        let feeder = {
            let p = p.clone();
            R::spawn_named("feed", move || {
                // Closes the input however the feeder ends, a panicking iterator included, so
                // the reader below is never left waiting for an input that will not close.
                struct CloseOnExit<
                    'a,
                    I: Send + 'static,
                    O: Send + 'static,
                    R: Runtime,
                    const BUG: Bug,
                    Q: StageQueues,
                >(&'a Staged<I, O, R, BUG, Q>);
                impl<
                    I: Send + 'static,
                    O: Send + 'static,
                    R: Runtime,
                    const BUG: Bug,
                    Q: StageQueues,
                > Drop for CloseOnExit<'_, I, O, R, BUG, Q>
                {
                    fn drop(&mut self) {
                        self.0.close();
                    }
                }
                let _close = CloseOnExit(&p);
                for item in inputs {
                    if p.send(item).is_err() {
                        break;
                    }
                }
            })
        };
        let mut outputs = Vec::new();
        while let Some(o) = p.recv() {
            outputs.push(o);
        }
        let feeder_panicked = feeder.join().is_err();
        let p = match R::Arc::try_unwrap(p) {
            Ok(p) => p,
            Err(_) => unreachable!("the feeder has been joined"),
        };
        let mut report = p.join();
        report.received = 0;
        outputs.append(&mut report.outputs);
        report.outputs = outputs;
        report.workers_panicked += usize::from(feeder_panicked);
        Ok(report)
    }
}

/// The reorder buffer at the end of the pipeline.
struct Sink<O> {
    /// The next sequence number to deliver, in order.
    next: u64,
    /// Items that arrived before their turn (`None`: failed or cancelled).
    parked: BTreeMap<u64, Option<O>>,
    received: u64,
    ordered: bool,
}

/// A running pipeline (its correct form is [`Pipeline`]): send items, receive outputs, close,
/// cancel, join.
pub struct Staged<
    I: Send + 'static,
    O: Send + 'static,
    R: Runtime = DefaultRuntime,
    const BUG: Bug = CORRECT,
    Q: StageQueues = Closable,
> {
    input: R::Arc<Q::Of<Msg<I>, R>>,
    output: R::Arc<Q::Of<Msg<O>, R>>,
    ledger: R::Arc<Ledger<R>>,
    /// Touched only by `join` and `drop` (through `&mut self`, so never locked): the mutex only
    /// makes the handle `Sync`, which a join handle is not.
    workers: std::sync::Mutex<Vec<R::JoinHandle<()>>>,
    sent: R::AtomicU64,
    sink: R::Mutex<Sink<O>>,
}

impl<I: Send + 'static, O: Send + 'static, R: Runtime, const BUG: Bug, Q: StageQueues>
    Staged<I, O, R, BUG, Q>
{
    /// Sends an item in, waiting while the first queue is full.
    ///
    /// # Errors
    /// The item back, once the pipeline is closed or cancelled.
    pub fn send(&self, item: I) -> Result<(), I> {
        // A refused push gives its number back. Only a send after close is refused, so the
        // numbers of accepted items have no gap before the last one (concurrent senders racing
        // a close may leave one at the end, which the ordered sink skips once all is in).
        if BUG == CANCEL_LEAKS_WORKER && self.ledger.cancelled.load(Acquire) {
            // The twin's cancel leaves the input open: its flag is what refuses an item.
            return Err(item);
        }
        let seq = self.sent.fetch_add(1, Relaxed);
        if BUG == JOIN_BEFORE_DRAIN {
            // Counted before the push, so a worker's take can never come first.
            self.ledger.put();
        }
        match self.input.push(Msg::new(seq, Some(item))) {
            Ok(()) => Ok(()),
            Err(e) => {
                if BUG == JOIN_BEFORE_DRAIN {
                    self.ledger.taken();
                }
                self.sent.fetch_sub(1, Relaxed);
                Err(e.into_inner().value.expect("an item sent has a value"))
            }
        }
    }

    /// Stops intake: later sends hand their items back; every stage drains what it holds.
    pub fn close(&self) {
        self.input.close();
    }

    /// Stops intake and cancels every item a stage has not started (reported cancelled); a
    /// stage function already running finishes, and its output is still delivered only if it
    /// was the last stage.
    pub fn cancel(&self) {
        self.ledger.cancelled.store(true, Release);
        if BUG == CANCEL_LEAKS_WORKER {
            // The bug: only the flag. A worker reads it between items, but one blocked in
            // `pop` on an empty input is never woken to read it.
            trace::event(|| "cancel: set the flag (no close)".into());
            return;
        }
        self.input.close();
    }

    /// The next output, waiting for it: `None` once every stage has finished and every output
    /// has been received.
    pub fn recv(&self) -> Option<O> {
        let mut sink = self.sink.lock();
        loop {
            if sink.ordered {
                let next = sink.next;
                if let Some(slot) = sink.parked.remove(&next) {
                    sink.next += 1;
                    match slot {
                        Some(o) => {
                            sink.received += 1;
                            return Some(o);
                        }
                        None => continue,
                    }
                }
            }
            match self.output.pop() {
                Ok(Msg { seq, value, .. }) => {
                    if sink.ordered {
                        sink.parked.insert(seq, value);
                    } else if let Some(o) = value {
                        sink.received += 1;
                        return Some(o);
                    }
                }
                Err(PopError::Closed) => {
                    // Everything has arrived; a gap left now is an item a stage lost (only a
                    // racy twin loses one): deliver what is parked, in order.
                    let first = sink.parked.keys().next().copied()?;
                    sink.next = first;
                }
                Err(_) => unreachable!("a blocking pop without a timeout"),
            }
        }
    }

    /// Closes the input (if not yet), receives every output left, joins every worker, and
    /// returns the report.
    pub fn join(mut self) -> PipelineReport<O> {
        if BUG == JOIN_BEFORE_DRAIN {
            return self.join_early();
        }
        self.finish()
    }

    /// [`JoinBeforeDrainPipeline`]'s join: it waits for every item to be taken from the input
    /// queue, not for every item to finish, and reports what the sink holds then. Dropping the handle
    /// afterwards cancels, drains and joins the rest, whose outputs the report never sees.
    fn join_early(self) -> PipelineReport<O> {
        self.close();
        let received = self.sink.lock().received;
        // Python's `queue.join()`, with each worker's `task_done` right after its `pop`: it
        // returns once every item has been taken, not finished.
        self.ledger.wait_all_taken();
        let mut outputs = Vec::new();
        while let Ok(Msg { value, .. }) = self.output.try_pop() {
            outputs.extend(value);
        }
        let running = self.ledger.running.load(Acquire);
        self.report(received, outputs, 0, running)
    }

    fn finish(&mut self) -> PipelineReport<O> {
        if BUG != CANCEL_LEAKS_WORKER || !self.ledger.cancelled.load(Acquire) {
            // (The twin believes its flag has stopped the workers, and does not close.)
            self.close();
        }
        // What the reader had received before; the outputs drained here are the report's.
        let received = self.sink.lock().received;
        let mut outputs = Vec::new();
        while let Some(o) = self.recv() {
            outputs.push(o);
        }
        let workers = self.workers.get_mut().unwrap_or_else(|e| e.into_inner());
        let panicked = joined(workers.drain(..));
        self.report(received, outputs, panicked, 0)
    }

    /// The report, with the fates the stages recorded so far.
    fn report(
        &self,
        received: u64,
        outputs: Vec<O>,
        workers_panicked: usize,
        still_running: usize,
    ) -> PipelineReport<O> {
        let fates = std::mem::take(&mut *self.ledger.fates.lock());
        let mut failed = fates.failed;
        failed.sort_by_key(|f| f.seq);
        let mut cancelled = fates.cancelled;
        cancelled.sort_unstable();
        let mut report = PipelineReport {
            sent: self.sent.load(Relaxed),
            received,
            outputs,
            failed,
            cancelled,
            lost: 0,
            workers_panicked,
            still_running,
        };
        report.lost = report.sent.saturating_sub(report.ended());
        report
    }

    /// The variant's name, as in the catalogue.
    pub const NAME: &'static str = match BUG {
        EACH_WORKER_CLOSES => "EachWorkerClosesPipeline",
        RACY_LIVE_COUNT => "RacyLiveCountPipeline",
        PANIC_LOSES_ITEM => "PanicLosesItemPipeline",
        JOIN_BEFORE_DRAIN => "JoinBeforeDrainPipeline",
        CANCEL_LEAKS_WORKER => "CancelLeaksWorkerPipeline",
        CYCLIC_BACKPRESSURE => "CyclicBackpressurePipeline",
        _ => "Pipeline",
    };
}

/// Joins `workers`: how many ended by panicking.
fn joined<H: JoinApi<()>>(workers: impl Iterator<Item = H>) -> usize {
    workers.map(JoinApi::join).filter(Result::is_err).count()
}

/// Dropping a pipeline that was not joined cancels it (items not started are dropped, as
/// cancelled), drains it and joins its workers, so no thread outlives it. While the thread is
/// unwinding from a panic it does nothing: waiting for workers then could only hang or panic
/// again (and abort); the workers are left to the queues' owners.
impl<I: Send + 'static, O: Send + 'static, R: Runtime, const BUG: Bug, Q: StageQueues> Drop
    for Staged<I, O, R, BUG, Q>
{
    fn drop(&mut self) {
        if std::thread::panicking() {
            return;
        }
        let running = self.workers.get_mut().is_ok_and(|w| !w.is_empty());
        if running {
            self.ledger.cancelled.store(true, Release);
            let _ = self.finish();
        }
    }
}
