//! What a test is: setup, one body per thread, and a final check that classifies the outcome.
//!
//! Outcomes are classified jcstress-style: [`Outcome::Acceptable`] or [`Outcome::Forbidden`]
//! with a named [`BugClass`]. A scenario is generic over the [`Runtime`], so the same body runs
//! under every engine; the engines differ only in who chooses the interleaving.

use crate::runtime::{ArcApi, JoinApi, Runtime};
use std::fmt;
use std::sync::Arc;

/// The class of bug a forbidden outcome shows. The report names it precisely.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize)]
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
            BugClass::Panic => "panic",
        }
    }
}

impl fmt::Display for BugClass {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
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
pub(crate) type CheckFn<S, O> = dyn Fn(&S, &[O]) -> Outcome + Send + Sync;

/// The type-erased interface the engines drive.
pub(crate) trait Erased<R: Runtime>: Send + Sync {
    /// One complete execution on threads of `R`: setup, spawn, join, check.
    fn execute(&self) -> Outcome;
    /// A stress driver that runs rounds on persistent OS threads.
    fn stress_driver(self: Arc<Self>) -> Box<dyn crate::engine::stress::Driver>;
}

/// A concurrent test: setup, one body per thread, and a check of the end state.
///
/// `S` is the shared state (it holds the structure under test), `O` what each thread observed.
/// Build one with [`Scenario::builder`]. Cloning is cheap.
pub struct Scenario<R: Runtime> {
    name: String,
    threads: usize,
    pub(crate) inner: Arc<dyn Erased<R>>,
    /// Why this scenario is not run on this runtime, if it is not.
    pub(crate) skip: Option<String>,
}

impl<R: Runtime> Clone for Scenario<R> {
    fn clone(&self) -> Self {
        Scenario {
            name: self.name.clone(),
            threads: self.threads,
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
    pub fn builder<S, F>(name: impl Into<String>, setup: F) -> ScenarioBuilder<R, S, ()>
    where
        S: Send + Sync + 'static,
        F: Fn() -> S + Send + Sync + 'static,
    {
        ScenarioBuilder {
            name: name.into(),
            setup: Arc::new(setup),
            bodies: Vec::new(),
            _r: std::marker::PhantomData,
        }
    }
    /// Marks this scenario as not run on runtime `R`, for `reason` (an engine limitation, say).
    /// Engines report it as a blind spot with the reason, and never as a pass; keeping it in
    /// the list keeps scenario indices the same on every runtime.
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
    /// How many threads it spawns.
    pub fn threads(&self) -> usize {
        self.threads
    }
    /// Runs one execution on the current runtime's threads. Inside a loom model or shuttle
    /// execution this is one interleaving; on `Std` it is one real run.
    pub fn execute(&self) -> Outcome {
        self.inner.execute()
    }
}

/// Builds a [`Scenario`]; see [`Scenario::builder`].
pub struct ScenarioBuilder<R: Runtime, S, O> {
    name: String,
    setup: Arc<SetupFn<S>>,
    bodies: Vec<Arc<BodyFn<S, O>>>,
    _r: std::marker::PhantomData<fn() -> R>,
}

impl<R: Runtime, S: Send + Sync + 'static> ScenarioBuilder<R, S, ()> {
    /// Declares that thread bodies return observations of type `O`.
    pub fn observing<O>(self) -> ScenarioBuilder<R, S, O> {
        ScenarioBuilder {
            name: self.name,
            setup: self.setup,
            bodies: Vec::new(),
            _r: std::marker::PhantomData,
        }
    }
}

impl<R: Runtime, S: Send + Sync + 'static, O: Send + 'static> ScenarioBuilder<R, S, O> {
    /// Adds a thread running `body`. Threads are numbered in the order they are added.
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
    /// If no thread was added: a scenario needs at least one.
    pub fn check(self, check: impl Fn(&S, &[O]) -> Outcome + Send + Sync + 'static) -> Scenario<R> {
        assert!(
            !self.bodies.is_empty(),
            "scenario `{}` needs at least one thread",
            self.name
        );
        Scenario {
            name: self.name,
            threads: self.bodies.len(),
            inner: Arc::new(Parts::<R, S, O> {
                setup: self.setup,
                bodies: self.bodies,
                check: Arc::new(check),
                _r: std::marker::PhantomData,
            }),
            skip: None,
        }
    }
}

pub(crate) struct Parts<R, S, O> {
    pub setup: Arc<SetupFn<S>>,
    pub bodies: Vec<Arc<BodyFn<S, O>>>,
    pub check: Arc<CheckFn<S, O>>,
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
                // Re-raise: the engine reports the thread's own panic message.
                Err(payload) => std::panic::resume_unwind(payload),
            }
        }
        (self.check)(&state, &observed)
    }

    fn stress_driver(self: Arc<Self>) -> Box<dyn crate::engine::stress::Driver> {
        Box::new(crate::engine::stress::Rounds::new(
            self.setup.clone(),
            self.bodies.clone(),
            self.check.clone(),
        ))
    }
}

/// A structure or family that provides scenarios for any runtime: the unit the catalogue and
/// [`crate::engine::check_all`] work with. Implement it for your own type to check it under
/// every engine.
pub trait Subject: 'static {
    /// The scenarios, built on runtime `R`.
    fn scenarios<R: Runtime>() -> Vec<Scenario<R>>;
}

/// A subject's scenarios for each runtime, as plain function pointers.
#[derive(Clone, Copy)]
pub struct ScenarioSet {
    /// On real threads.
    pub std: fn() -> Vec<Scenario<crate::runtime::Std>>,
    /// Under loom.
    pub loom: fn() -> Vec<Scenario<crate::runtime::Loom>>,
    /// Under shuttle.
    pub shuttle: fn() -> Vec<Scenario<crate::runtime::Shuttle>>,
}

impl ScenarioSet {
    /// The scenario set of `T`.
    pub fn of<T: Subject>() -> ScenarioSet {
        ScenarioSet {
            std: T::scenarios::<crate::runtime::Std>,
            loom: T::scenarios::<crate::runtime::Loom>,
            shuttle: T::scenarios::<crate::runtime::Shuttle>,
        }
    }
    /// The scenarios' names (built on `Std`, which needs no checker).
    pub fn names(&self) -> Vec<String> {
        (self.std)().iter().map(|s| s.name().to_string()).collect()
    }
}

impl fmt::Debug for ScenarioSet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_list().entries(self.names()).finish()
    }
}
