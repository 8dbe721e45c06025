//! What a test is: setup, one body per thread, and a final check that classifies the outcome.
//!
//! Outcomes are classified jcstress-style: [`Outcome::Acceptable`] or [`Outcome::Forbidden`]
//! with a named [`BugClass`]. A scenario is generic over the [`Runtime`], so the same body runs
//! under every engine; the engines differ only in who chooses the interleaving.

use crate::runtime::model;
use crate::runtime::{ArcApi, JoinApi, Runtime};
use std::fmt;
use std::sync::{Arc, Mutex};

/// The class of bug a forbidden outcome shows. The report names it precisely.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize, serde::Deserialize,
)]
#[serde(rename_all = "snake_case")]
pub enum BugClass {
    /// An increment (or other update) overwritten by a concurrent one.
    LostUpdate,
    /// A sequence meant to be atomic was split and interleaved.
    AtomicityViolation,
    /// Two operations ran in an order the code assumed impossible.
    OrderViolation,
    /// Unsynchronised concurrent access to plain memory (a data race).
    DataRace,
    /// Two threads inside a critical section at once.
    MutualExclusion,
    /// Every thread blocked forever.
    Deadlock,
    /// A notification that reached nobody, or the wrong side.
    LostWakeup,
    /// A stale value made visible by a weak memory ordering.
    WeakMemory,
    /// A compare-and-swap fooled by a value that changed and changed back.
    Aba,
    /// An operation accepted after close, or an item lost to close.
    UseAfterClose,
    /// An item that went in and never came out.
    LostItem,
    /// An item that came out twice.
    DuplicatedItem,
    /// A bound exceeded.
    Overflow,
    /// A history with no sequential explanation.
    NotLinearizable,
    /// Memory or an `Arc` never freed (loom's leak check).
    Leak,
    /// Work that was cancelled (its cancel reported success) ran anyway.
    CancelledRan,
    /// A shutdown (close, join, drop) that never returns.
    ShutdownHang,
    /// A worker thread still running, or never joined, after its owner shut down.
    LeakedWorker,
    /// An item lost because a timed wait timed out as it arrived.
    TimeoutLostItem,
    /// Threads that stopped making progress without all being blocked (a livelock, or a wait
    /// racelab does not see): the stress watchdog's verdict when it cannot show a deadlock.
    Hang,
    /// A panic that is not one of the above.
    Panic,
}

impl BugClass {
    /// The lower-case name used in messages, e.g. `lost update`.
    pub fn name(self) -> &'static str {
        match self {
            BugClass::LostUpdate => "lost update",
            BugClass::AtomicityViolation => "atomicity violation",
            BugClass::OrderViolation => "order violation",
            BugClass::DataRace => "data race",
            BugClass::MutualExclusion => "mutual exclusion violated",
            BugClass::Deadlock => "deadlock",
            BugClass::LostWakeup => "lost wakeup",
            BugClass::WeakMemory => "weak-memory reordering",
            BugClass::Aba => "ABA",
            BugClass::UseAfterClose => "use after close",
            BugClass::LostItem => "lost item",
            BugClass::DuplicatedItem => "duplicated item",
            BugClass::Overflow => "overflow",
            BugClass::NotLinearizable => "not linearizable",
            BugClass::Leak => "leak",
            BugClass::CancelledRan => "cancelled work ran",
            BugClass::ShutdownHang => "hang at shutdown",
            BugClass::LeakedWorker => "leaked worker",
            BugClass::TimeoutLostItem => "timeout lost an item",
            BugClass::Hang => "hang",
            BugClass::Panic => "panic",
        }
    }
}

impl BugClass {
    /// Every class, in declaration order.
    pub const ALL: [BugClass; 21] = [
        BugClass::LostUpdate,
        BugClass::AtomicityViolation,
        BugClass::OrderViolation,
        BugClass::DataRace,
        BugClass::MutualExclusion,
        BugClass::Deadlock,
        BugClass::LostWakeup,
        BugClass::WeakMemory,
        BugClass::Aba,
        BugClass::UseAfterClose,
        BugClass::LostItem,
        BugClass::DuplicatedItem,
        BugClass::Overflow,
        BugClass::NotLinearizable,
        BugClass::Leak,
        BugClass::CancelledRan,
        BugClass::ShutdownHang,
        BugClass::LeakedWorker,
        BugClass::TimeoutLostItem,
        BugClass::Hang,
        BugClass::Panic,
    ];
}

impl fmt::Display for BugClass {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// A failure a structure or its check reports as a typed value: its class and its message.
/// Raised with [`fail`]; engines read the class from the value, never from the text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Failure {
    /// What kind of bug this is.
    pub class: BugClass,
    /// The message; it starts with the class's name.
    pub message: String,
}

/// Reports a forbidden outcome from inside a structure or a thread body, where returning an
/// [`Outcome`] is not possible (`fail(BugClass::LostWakeup, "pop woke up to an empty buffer")`).
/// It unwinds like a panic; every engine reports it as caught, with this class.
#[track_caller]
pub fn fail(class: BugClass, detail: impl fmt::Display) -> ! {
    std::panic::panic_any(Failure {
        class,
        message: format!("{}: {detail}", class.name()),
    })
}

/// The classified end state of one execution.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// Allowed. The string is the histogram key, e.g. `counter = 2`.
    Acceptable(String),
    /// Forbidden: the bug class and a message that states it, e.g.
    /// `lost update: counter = 1, expected 2`.
    Forbidden {
        /// What kind of bug this is.
        class: BugClass,
        /// The message; it starts with the bug class's name.
        message: String,
    },
}

impl Outcome {
    /// An acceptable outcome with histogram key `key`.
    pub fn ok(key: impl Into<String>) -> Outcome {
        Outcome::Acceptable(key.into())
    }
    /// A forbidden outcome. `detail` follows the class name: `forbidden(LostUpdate, "counter = 1,
    /// expected 2")` reads `lost update: counter = 1, expected 2`.
    pub fn forbidden(class: BugClass, detail: impl fmt::Display) -> Outcome {
        Outcome::Forbidden {
            class,
            message: format!("{}: {detail}", class.name()),
        }
    }
    /// The histogram key: the acceptable key, or the forbidden message.
    pub fn key(&self) -> &str {
        match self {
            Outcome::Acceptable(k) => k,
            Outcome::Forbidden { message, .. } => message,
        }
    }
    /// Whether this outcome is forbidden.
    pub fn is_forbidden(&self) -> bool {
        matches!(self, Outcome::Forbidden { .. })
    }
}

pub(crate) type SetupFn<S> = dyn Fn() -> S + Send + Sync;
pub(crate) type BodyFn<S, O> = dyn Fn(&S) -> O + Send + Sync;
/// The end of an execution: takes the state by value (a teardown may join a structure's
/// workers) and classifies what is left with what each thread observed.
pub(crate) type FinishFn<S, O> = dyn Fn(S, &[O]) -> Outcome + Send + Sync;

/// The type-erased interface the engines drive.
pub(crate) trait Erased<R: Runtime>: Send + Sync {
    /// One complete execution on threads of `R`: setup, spawn, join, check. A panic of the
    /// structure propagates.
    fn execute(&self) -> Outcome;
    /// One execution inside a model engine: the structure's panics become recorded failures
    /// that end the execution (`None` is returned only where no engine is recording).
    fn execute_model(&self) -> Option<Outcome>;
    /// The scenario as rounds an outside driver runs on threads of its own (the stress engine's
    /// persistent OS threads).
    fn rounds(self: Arc<Self>) -> Arc<dyn Rounds>;
}

/// A scenario seen as independent rounds, for a driver that owns the threads: each round is
/// built by [`Rounds::round`], thread `i` of it runs through [`Round::run_thread`] on whichever
/// thread the driver chooses, and [`Round::finish`] classifies it once every thread is done.
/// The state and observation types stay hidden behind it.
pub(crate) trait Rounds: Send + Sync {
    /// How many threads a round has.
    fn threads(&self) -> usize;
    /// A fresh round: runs the setup (user code; a panic propagates).
    fn round(self: Arc<Self>) -> Arc<dyn Round>;
}

/// One round of a scenario: its state and a slot for what each thread observes.
pub(crate) trait Round: Send + Sync {
    /// Runs thread `i`'s body on the round's state and keeps its observation. A panic of the
    /// body propagates to the caller, and the observation is then missing.
    fn run_thread(&self, i: usize);
    /// The end of the round, once every thread has run and dropped its handle: the teardown and
    /// the check (user code; a panic propagates). `None` if a handle is still held elsewhere.
    fn finish(self: Arc<Self>) -> Option<Outcome>;
}

/// A concurrent test: setup, one body per thread, and a check of the end state.
///
/// `S` is the shared state (it holds the structure under test), `O` what each thread observed.
/// Build one with [`Scenario::builder`]. Cloning is cheap.
pub struct Scenario<R: Runtime> {
    name: String,
    threads: usize,
    /// Threads the structure spawns itself, as declared with `spawns`.
    owned: usize,
    pub(crate) inner: Arc<dyn Erased<R>>,
    /// Why this scenario is not run on this runtime, if it is not.
    pub(crate) skip: Option<String>,
}

impl<R: Runtime> Clone for Scenario<R> {
    fn clone(&self) -> Self {
        Scenario {
            name: self.name.clone(),
            threads: self.threads,
            owned: self.owned,
            inner: self.inner.clone(),
            skip: self.skip.clone(),
        }
    }
}

impl<R: Runtime> fmt::Debug for Scenario<R> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Scenario")
            .field("name", &self.name)
            .field("threads", &self.threads)
            .field("runtime", &R::NAME)
            .finish()
    }
}

impl<R: Runtime> Scenario<R> {
    /// Starts a scenario named `name` whose state is made by `setup` (once per execution).
    ///
    /// Then either declare what thread bodies return with
    /// [`observing`](ScenarioStart::observing), or add threads whose bodies return nothing;
    /// `observing` is only offered before the first thread, so no thread can be dropped by it.
    ///
    /// ```
    /// use racelab::runtime::prelude::*;
    /// use racelab::{Outcome, Scenario, Std};
    /// use std::sync::atomic::Ordering::SeqCst;
    /// let s = Scenario::<Std>::builder("two readers", || <Std as Runtime>::AtomicUsize::new(7))
    ///     .observing::<usize>()
    ///     .thread(|a| a.load(SeqCst))
    ///     .thread(|a| a.load(SeqCst))
    ///     .check(|_, seen| Outcome::ok(format!("{seen:?}")));
    /// assert_eq!(s.threads(), 2);
    /// assert_eq!(s.execute(), Outcome::ok("[7, 7]"));
    /// ```
    ///
    /// Declaring observations after a thread would drop that thread (it happened, before this
    /// builder was typed), so it does not compile:
    ///
    /// ```compile_fail
    /// use racelab::{Outcome, Scenario, Std};
    /// let _ = Scenario::<Std>::builder("x", || ())
    ///     .thread(|_| ())
    ///     .observing::<u8>();
    /// ```
    pub fn builder<S, F>(name: impl Into<String>, setup: F) -> ScenarioStart<R, S>
    where
        S: Send + Sync + 'static,
        F: Fn() -> S + Send + Sync + 'static,
    {
        ScenarioStart {
            name: name.into(),
            setup: Arc::new(setup),
            _r: std::marker::PhantomData,
        }
    }
    /// Marks this scenario as not run on runtime `R`, for `reason` (an engine limitation, say).
    /// Engines report it as not run with the reason, never as a pass; keeping it in the list
    /// keeps scenario indices the same on every runtime.
    pub fn skip(mut self, reason: impl Into<String>) -> Self {
        self.skip = Some(reason.into());
        self
    }
    /// Why the scenario is not run on this runtime, if it is not.
    pub fn skipped(&self) -> Option<&str> {
        self.skip.as_deref()
    }
    /// The scenario's name, e.g. `2 threads × 1 increment`.
    pub fn name(&self) -> &str {
        &self.name
    }
    /// How many threads it spawns itself (the driver, and threads its structure spawns, come
    /// on top).
    pub fn threads(&self) -> usize {
        self.threads
    }
    /// Declares that the structure spawns `n` threads of its own in each execution (a pool's
    /// workers), so an engine with a thread limit (loom: 4 besides the driver) can say before
    /// the run that it cannot run the scenario. Undeclared threads are counted as they are
    /// spawned, and the limit is enforced then.
    pub fn spawns(mut self, n: usize) -> Self {
        self.owned = n;
        self
    }
    /// The threads one execution needs in all: the driver, the scenario's threads and the
    /// threads its structure is declared to spawn.
    pub fn threads_needed(&self) -> usize {
        1 + self.threads + self.owned
    }
    /// Runs one execution on the current runtime's threads. Inside a loom model or shuttle
    /// execution this is one interleaving; on `Std` it is one real run. A panic of the
    /// structure propagates.
    pub fn execute(&self) -> Outcome {
        self.inner.execute()
    }
}

/// A scenario with its setup and no thread yet; see [`Scenario::builder`].
pub struct ScenarioStart<R: Runtime, S> {
    name: String,
    setup: Arc<SetupFn<S>>,
    _r: std::marker::PhantomData<fn() -> R>,
}

impl<R: Runtime, S: Send + Sync + 'static> ScenarioStart<R, S> {
    /// Declares that thread bodies return observations of type `O`, which the check receives.
    pub fn observing<O: Send + 'static>(self) -> ScenarioBuilder<R, S, O> {
        ScenarioBuilder {
            name: self.name,
            setup: self.setup,
            bodies: Vec::new(),
            _r: std::marker::PhantomData,
        }
    }
    /// Adds the first thread, whose body returns nothing.
    pub fn thread(self, body: impl Fn(&S) + Send + Sync + 'static) -> ScenarioBuilder<R, S, ()> {
        self.observing::<()>().thread(body)
    }
    /// Adds `n` threads running the same body, which returns nothing.
    pub fn threads(
        self,
        n: usize,
        body: impl Fn(&S) + Send + Sync + 'static,
    ) -> ScenarioBuilder<R, S, ()> {
        self.observing::<()>().threads(n, body)
    }
}

/// Builds a [`Scenario`]; see [`Scenario::builder`].
pub struct ScenarioBuilder<R: Runtime, S, O> {
    name: String,
    setup: Arc<SetupFn<S>>,
    bodies: Vec<Arc<BodyFn<S, O>>>,
    _r: std::marker::PhantomData<fn() -> R>,
}

impl<R: Runtime, S: Send + Sync + 'static, O: Send + 'static> ScenarioBuilder<R, S, O> {
    /// Adds a thread running `body`. Threads are numbered in the order they are added: the
    /// first is `T1` in traces, and [`Runtime::thread_index`] is `Some(0)` on it.
    pub fn thread(mut self, body: impl Fn(&S) -> O + Send + Sync + 'static) -> Self {
        self.bodies.push(Arc::new(body));
        self
    }
    /// Adds `n` threads running the same `body`.
    pub fn threads(mut self, n: usize, body: impl Fn(&S) -> O + Send + Sync + 'static) -> Self {
        let body: Arc<BodyFn<S, O>> = Arc::new(body);
        for _ in 0..n {
            self.bodies.push(body.clone());
        }
        self
    }
    /// Finishes with the check that classifies the end state and what each thread observed.
    ///
    /// # Panics
    /// If no thread was added (`threads(0, …)`): a scenario needs at least one.
    pub fn check(self, check: impl Fn(&S, &[O]) -> Outcome + Send + Sync + 'static) -> Scenario<R> {
        self.finish(Arc::new(move |state: S, observed: &[O]| {
            check(&state, observed)
        }))
    }

    /// Adds a teardown that takes the state by value once every thread of the scenario has been
    /// joined: a structure that owns threads joins them here (a pool's `shutdown`, a pipeline's
    /// `join`), and [`Teardown::check`] judges what it returns. It is user code like the bodies:
    /// its panics are the structure's failures, and a teardown that never returns is a hang.
    pub fn teardown<U: 'static>(
        self,
        teardown: impl Fn(S) -> U + Send + Sync + 'static,
    ) -> Teardown<R, S, O, U> {
        Teardown {
            builder: self,
            teardown: Arc::new(teardown),
        }
    }

    fn finish(self, finish: Arc<FinishFn<S, O>>) -> Scenario<R> {
        assert!(
            !self.bodies.is_empty(),
            "scenario `{}` needs at least one thread",
            self.name
        );
        Scenario {
            name: self.name,
            threads: self.bodies.len(),
            owned: 0,
            inner: Arc::new(Parts::<R, S, O> {
                setup: self.setup,
                bodies: self.bodies,
                finish,
                _r: std::marker::PhantomData,
            }),
            skip: None,
        }
    }
}

/// A scenario with a teardown; see [`ScenarioBuilder::teardown`].
pub struct Teardown<R: Runtime, S, O, U> {
    builder: ScenarioBuilder<R, S, O>,
    teardown: Arc<dyn Fn(S) -> U + Send + Sync>,
}

impl<R: Runtime, S: Send + Sync + 'static, O: Send + 'static, U: 'static> Teardown<R, S, O, U> {
    /// Finishes with the check that classifies what the teardown returned and what each thread
    /// observed.
    ///
    /// # Panics
    /// If no thread was added (`threads(0, …)`): a scenario needs at least one.
    pub fn check(self, check: impl Fn(&U, &[O]) -> Outcome + Send + Sync + 'static) -> Scenario<R> {
        let teardown = self.teardown;
        self.builder
            .finish(Arc::new(move |state: S, observed: &[O]| {
                check(&teardown(state), observed)
            }))
    }
}

pub(crate) struct Parts<R, S, O> {
    pub setup: Arc<SetupFn<S>>,
    pub bodies: Vec<Arc<BodyFn<S, O>>>,
    pub finish: Arc<FinishFn<S, O>>,
    _r: std::marker::PhantomData<fn() -> R>,
}

impl<R: Runtime, S: Send + Sync + 'static, O: Send + 'static> Erased<R> for Parts<R, S, O> {
    fn execute(&self) -> Outcome {
        let state: R::Arc<S> = R::Arc::new((self.setup)());
        let handles: Vec<_> = self
            .bodies
            .iter()
            .enumerate()
            .map(|(i, body)| {
                let (state, body) = (state.clone(), body.clone());
                R::spawn(move || {
                    R::set_thread_index(Some(i));
                    body(&state)
                })
            })
            .collect();
        let mut observed = Vec::with_capacity(handles.len());
        for h in handles {
            match h.join() {
                Ok(o) => observed.push(o),
                Err(payload) => std::panic::resume_unwind(payload),
            }
        }
        (self.finish)(sole::<R, S>(state), &observed)
    }

    fn execute_model(&self) -> Option<Outcome> {
        let state = model::run_user(|| (self.setup)())?;
        let state: R::Arc<S> = model::harness(|| R::Arc::new(state));
        let handles: Vec<_> = self
            .bodies
            .iter()
            .enumerate()
            .map(|(i, body)| {
                let (state, body) = (state.clone(), body.clone());
                R::spawn(move || {
                    R::set_thread_index(Some(i));
                    model::run_user(|| body(&state))
                })
            })
            .collect();
        let mut observed = Vec::with_capacity(handles.len());
        let mut failed = false;
        for h in handles {
            match h.join() {
                Ok(Some(o)) => observed.push(o),
                Ok(None) => failed = true,
                Err(payload) => std::panic::resume_unwind(payload),
            }
        }
        if failed {
            return None;
        }
        let state = model::harness(|| sole::<R, S>(state));
        // The teardown, the check and the state's drop (the structure's own `Drop`) are all
        // user code.
        model::run_user(move || (self.finish)(state, &observed))
    }

    fn rounds(self: Arc<Self>) -> Arc<dyn Rounds> {
        self
    }
}

impl<R: Runtime, S: Send + Sync + 'static, O: Send + 'static> Rounds for Parts<R, S, O> {
    fn threads(&self) -> usize {
        self.bodies.len()
    }
    fn round(self: Arc<Self>) -> Arc<dyn Round> {
        let state = (self.setup)();
        let observed = self.bodies.iter().map(|_| Mutex::new(None)).collect();
        Arc::new(RoundOf {
            parts: self,
            state,
            observed,
        })
    }
}

/// One round of [`Parts`]: the state, and each thread's observation once it has one.
struct RoundOf<R, S, O> {
    parts: Arc<Parts<R, S, O>>,
    state: S,
    observed: Vec<Mutex<Option<O>>>,
}

impl<R: Runtime, S: Send + Sync + 'static, O: Send + 'static> Round for RoundOf<R, S, O> {
    fn run_thread(&self, i: usize) {
        let o = (self.parts.bodies[i])(&self.state);
        *self.observed[i]
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner) = Some(o);
    }
    fn finish(self: Arc<Self>) -> Option<Outcome> {
        let RoundOf {
            parts,
            state,
            observed,
        } = Arc::try_unwrap(self).ok()?;
        let observed: Vec<O> = observed
            .into_iter()
            .filter_map(|o| {
                o.into_inner()
                    .unwrap_or_else(std::sync::PoisonError::into_inner)
            })
            .collect();
        Some((parts.finish)(state, &observed))
    }
}

/// The state, once every thread that shared it has been joined (their handles are dropped with
/// their closures, before `join` returns).
fn sole<R: Runtime, S: Send + Sync + 'static>(state: R::Arc<S>) -> S {
    match <R::Arc<S> as ArcApi<S>>::try_unwrap(state) {
        Ok(s) => s,
        Err(_) => {
            panic!("racelab: the scenario's state is still shared after every thread was joined")
        }
    }
}

/// A structure or family that provides scenarios for any runtime: the unit the catalogue,
/// [`crate::Check`] and [`crate::check_all`] work with. Implement it for your
/// own type to check it under every engine. The subject is a value, so it can carry parameters
/// (a capacity, a thread count) into the scenarios it builds.
pub trait Subject: Send + Sync + 'static {
    /// The scenarios, built on runtime `R`. Called once per engine run, outside the checker.
    fn scenarios<R: Runtime>(&self) -> Vec<Scenario<R>>;
}

trait ErasedSubject: Send + Sync {
    fn on_std(&self) -> Vec<Scenario<crate::runtime::Std>>;
    fn on_loom(&self) -> Vec<Scenario<crate::runtime::Loom>>;
    fn on_shuttle(&self) -> Vec<Scenario<crate::runtime::Shuttle>>;
}

impl<T: Subject> ErasedSubject for T {
    fn on_std(&self) -> Vec<Scenario<crate::runtime::Std>> {
        self.scenarios()
    }
    fn on_loom(&self) -> Vec<Scenario<crate::runtime::Loom>> {
        self.scenarios()
    }
    fn on_shuttle(&self) -> Vec<Scenario<crate::runtime::Shuttle>> {
        self.scenarios()
    }
}

/// A subject's scenarios for each runtime. Cloning is cheap.
#[derive(Clone)]
pub struct ScenarioSet {
    subject: Arc<dyn ErasedSubject>,
}

impl ScenarioSet {
    /// The scenario set of `subject`.
    pub fn new<T: Subject>(subject: T) -> ScenarioSet {
        ScenarioSet {
            subject: Arc::new(subject),
        }
    }
    /// The scenario set of a subject without parameters.
    pub fn of<T: Subject + Default>() -> ScenarioSet {
        ScenarioSet::new(T::default())
    }
    /// The scenarios on real threads.
    pub fn std(&self) -> Vec<Scenario<crate::runtime::Std>> {
        self.subject.on_std()
    }
    /// The scenarios under loom.
    pub fn loom(&self) -> Vec<Scenario<crate::runtime::Loom>> {
        self.subject.on_loom()
    }
    /// The scenarios under shuttle.
    pub fn shuttle(&self) -> Vec<Scenario<crate::runtime::Shuttle>> {
        self.subject.on_shuttle()
    }
    /// The skip each scenario declares ([`Scenario::skip`]) on the runtime `engine` runs it
    /// on (loom's, shuttle's for the shuttle engines and proptest, real threads' for stress),
    /// by index: what a [`Verdict::NotRun`](crate::engine::Verdict::NotRun) of a correct
    /// subject may say without being a hole in the check.
    pub fn skips(&self, engine: crate::engine::EngineKind) -> Vec<Option<String>> {
        use crate::engine::EngineKind;
        fn of<R: crate::runtime::Runtime>(s: Vec<Scenario<R>>) -> Vec<Option<String>> {
            s.iter().map(|s| s.skipped().map(str::to_string)).collect()
        }
        match engine {
            EngineKind::Loom => of(self.loom()),
            EngineKind::Stress => of(self.std()),
            EngineKind::ShuttleRandom
            | EngineKind::ShuttlePct
            | EngineKind::ShuttleDfs
            | EngineKind::Proptest => of(self.shuttle()),
        }
    }
    /// The scenarios' names (built on `Std`, which needs no checker).
    pub fn names(&self) -> Vec<String> {
        self.std().iter().map(|s| s.name().to_string()).collect()
    }
    /// How many scenarios there are.
    pub fn len(&self) -> usize {
        self.std().len()
    }
    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

impl fmt::Debug for ScenarioSet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_list().entries(self.names()).finish()
    }
}
