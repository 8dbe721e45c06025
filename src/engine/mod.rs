//! Engines: who chooses the interleaving.
//!
//! Every engine runs a [`Scenario`] and returns the same [`EngineResult`]: verdict, what bound
//! ended the run, executions, elapsed time, outcome histogram, and the first [`Counterexample`]
//! (message, replay string, readable interleaving).
//!
//! | engine | schedule chosen by | memory model | sees |
//! |---|---|---|---|
//! | [`Engine::Loom`] | exhaustive DPOR, bounded preemptions | C11 (weak) | interleavings *and* stale reads, data races on its `UnsafeCell` |
//! | [`Engine::ShuttleRandom`] | uniform random at each sync op | sequentially consistent | interleavings |
//! | [`Engine::ShuttlePct`] | PCT priorities (depth d) | sequentially consistent | interleavings needing ≤ d−1 ordering constraints, with a probability guarantee |
//! | [`Engine::ShuttleDfs`] | exhaustive depth-first over sync ops (bounded) | sequentially consistent | interleavings |
//! | [`Engine::Proptest`] | a proptest-generated choice vector, shrunk | sequentially consistent | interleavings, shrunk to the fewest preemptions |
//! | [`Engine::Stress`] | the OS and the hardware | the machine's (x86: TSO) | what the machine happens to do |
//!
//! # Verdicts are never about an engine's limits
//!
//! - [`Verdict::Caught`]: the structure or its check did something forbidden (a forbidden
//!   outcome, a panic of its own, a deadlock, a data race or a leak the checker found).
//! - [`Verdict::Passed`]: no failure, and [`EngineResult::bound`] says what ended the run:
//!   every schedule within the bound ([`Bound::Exhausted`]), the runs asked for
//!   ([`Bound::Runs`], with what they buy in [`EngineResult::guarantee`]), an adaptive target
//!   ([`Bound::Confidence`]), or a cap that stopped it early ([`Bound::Cap`]).
//! - [`Verdict::NotRun`]: the engine could not run the scenario (a thread limit, a skip), with
//!   the reason and the number. Never a pass, never a catch.
//! - [`Verdict::Error`]: the engine's own machinery failed (a panic that started inside the
//!   checker or inside racelab and is none of the checker's verdicts). It fails the matrix.
//!
//! A panic is attributed by where it *started* (see `runtime::model`): frames of the checker's
//! code, of racelab's, and of the structure under test are marked, so an engine's limit or
//! machinery cannot become a `caught`, and no panic text is parsed to tell them apart. The
//! checker's own verdicts (a loom deadlock, a causality violation, a leak) reach racelab only as
//! panic messages from the checker's code; those messages, and only those, are read.

pub mod check;
pub mod loom;
mod quiet;
mod replay;
mod result;
mod run;
pub mod schedule;
pub mod shuttle;
pub mod stress;

use crate::runtime::model::{self, CapHit, Origin, Recorded, Signal, TraceMode};
use crate::scenario::{BugClass, Outcome, Scenario, ScenarioSet};
use crate::trace::Trace;
use std::cell::Cell;
use std::collections::BTreeMap;
use std::fmt;
use std::str::FromStr;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering as AtOrd};
use std::sync::{Arc, Mutex, Once};
use std::time::{Duration, Instant};

pub use self::check::{Check, Progress, Results};
pub use self::loom::LoomConfig;
pub(crate) use self::quiet::Quiet;
pub use self::quiet::{panic_message, payload_text};
pub use self::replay::Replay;
pub(crate) use self::result::secs;
pub use self::result::{
    Bound, Cap, Counterexample, EngineResult, Guarantee, PctGuarantee, Verdict,
};
pub(crate) use self::run::{Ending, ModelRun, apply, conclude, with_class};
pub use self::schedule::ProptestConfig;
pub use self::shuttle::ShuttleConfig;
pub use self::stress::{StressConfig, StressStats};
pub use crate::runtime::model::TraceMode as Traces;

/// Which engine, without its configuration.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize)]
pub enum EngineKind {
    /// loom, exhaustive under a preemption bound.
    #[serde(rename = "loom")]
    Loom,
    /// shuttle's random scheduler.
    #[serde(rename = "shuttle-random")]
    ShuttleRandom,
    /// shuttle's PCT scheduler.
    #[serde(rename = "shuttle-pct")]
    ShuttlePct,
    /// shuttle's bounded DFS.
    #[serde(rename = "shuttle-dfs")]
    ShuttleDfs,
    /// proptest-chosen schedules, shrunk.
    #[serde(rename = "proptest")]
    Proptest,
    /// Real OS threads.
    #[serde(rename = "stress")]
    Stress,
}

impl EngineKind {
    /// Every engine, in report order.
    pub const ALL: [EngineKind; 6] = [
        EngineKind::Loom,
        EngineKind::ShuttleRandom,
        EngineKind::ShuttlePct,
        EngineKind::ShuttleDfs,
        EngineKind::Proptest,
        EngineKind::Stress,
    ];
    /// The name used on the command line and in the report.
    pub fn name(self) -> &'static str {
        match self {
            EngineKind::Loom => "loom",
            EngineKind::ShuttleRandom => "shuttle-random",
            EngineKind::ShuttlePct => "shuttle-pct",
            EngineKind::ShuttleDfs => "shuttle-dfs",
            EngineKind::Proptest => "proptest",
            EngineKind::Stress => "stress",
        }
    }
    /// Whether the engine is deterministic within its bounds (its expectations are "must").
    pub fn deterministic(self) -> bool {
        self != EngineKind::Stress
    }
}

impl fmt::Display for EngineKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for EngineKind {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        EngineKind::ALL
            .into_iter()
            .find(|k| k.name() == s)
            .ok_or_else(|| {
                let names: Vec<_> = EngineKind::ALL.iter().map(|k| k.name()).collect();
                format!(
                    "unknown engine `{s}` (expected one of: {})",
                    names.join(", ")
                )
            })
    }
}

/// An engine with its configuration.
#[derive(Debug, Clone)]
pub enum Engine {
    /// loom.
    Loom(LoomConfig),
    /// shuttle random.
    ShuttleRandom(ShuttleConfig),
    /// shuttle PCT with the given depth.
    ShuttlePct(ShuttleConfig),
    /// shuttle DFS.
    ShuttleDfs(ShuttleConfig),
    /// proptest schedules.
    Proptest(ProptestConfig),
    /// Real threads.
    Stress(StressConfig),
}

/// A progress callback.
pub type ProgressFn = Arc<dyn Fn(&Progress) + Send + Sync>;

/// What applies to every engine of a run: traces, progress, a time limit, an execution cap.
#[derive(Clone, Default)]
pub struct RunOptions {
    /// What the counterexample trace records.
    pub traces: TraceMode,
    /// A time limit for this run, on top of the engine's own.
    pub time_limit: Option<Duration>,
    /// Called at most every 200 ms while the run goes on, and once when it ends.
    pub progress: Option<ProgressFn>,
}

impl fmt::Debug for RunOptions {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RunOptions")
            .field("traces", &self.traces)
            .field("time_limit", &self.time_limit)
            .field("progress", &self.progress.is_some())
            .finish()
    }
}

impl Engine {
    /// The default configuration of `kind`: seeded and bounded, so deterministic engines give the
    /// same answer every run.
    pub fn default_for(kind: EngineKind) -> Engine {
        match kind {
            EngineKind::Loom => Engine::Loom(LoomConfig::default()),
            EngineKind::ShuttleRandom => Engine::ShuttleRandom(ShuttleConfig::default()),
            EngineKind::ShuttlePct => Engine::ShuttlePct(ShuttleConfig::default()),
            EngineKind::ShuttleDfs => Engine::ShuttleDfs(ShuttleConfig {
                iterations: 20_000,
                ..ShuttleConfig::default()
            }),
            EngineKind::Proptest => Engine::Proptest(ProptestConfig::default()),
            EngineKind::Stress => Engine::Stress(StressConfig::default()),
        }
    }
    /// Which engine this is.
    pub fn kind(&self) -> EngineKind {
        match self {
            Engine::Loom(_) => EngineKind::Loom,
            Engine::ShuttleRandom(_) => EngineKind::ShuttleRandom,
            Engine::ShuttlePct(_) => EngineKind::ShuttlePct,
            Engine::ShuttleDfs(_) => EngineKind::ShuttleDfs,
            Engine::Proptest(_) => EngineKind::Proptest,
            Engine::Stress(_) => EngineKind::Stress,
        }
    }
    /// Runs scenario `index` of `set` under this engine with default options.
    ///
    /// # Panics
    /// If `index` is out of range.
    pub fn run(&self, set: &ScenarioSet, index: usize) -> EngineResult {
        self.run_with(set, index, &RunOptions::default())
    }
    /// Runs scenario `index` of `set` under this engine.
    ///
    /// # Panics
    /// If `index` is out of range.
    pub fn run_with(&self, set: &ScenarioSet, index: usize, opts: &RunOptions) -> EngineResult {
        let kind = self.kind();
        let mut r = match self {
            Engine::Loom(c) => {
                run_unless_skipped(kind, &set.loom()[index], |s| loom::run(s, c, opts))
            }
            Engine::ShuttleRandom(c) => run_unless_skipped(kind, &set.shuttle()[index], |s| {
                shuttle::run(s, shuttle::Mode::Random, c, opts)
            }),
            Engine::ShuttlePct(c) => run_unless_skipped(kind, &set.shuttle()[index], |s| {
                shuttle::run(s, shuttle::Mode::Pct, c, opts)
            }),
            Engine::ShuttleDfs(c) => run_unless_skipped(kind, &set.shuttle()[index], |s| {
                shuttle::run(s, shuttle::Mode::Dfs, c, opts)
            }),
            Engine::Proptest(c) => {
                run_unless_skipped(kind, &set.shuttle()[index], |s| schedule::run(s, c, opts))
            }
            Engine::Stress(c) => {
                run_unless_skipped(kind, &set.std()[index], |s| stress::run(s, c, opts))
            }
        };
        r.scenario_index = index;
        r
    }
}

/// Runs `scenario` with `run`, unless the scenario is skipped on this runtime, which is
/// reported as not run (with its reason) under engine `kind`.
pub(crate) fn run_unless_skipped<R: crate::runtime::Runtime>(
    kind: EngineKind,
    scenario: &Scenario<R>,
    run: impl FnOnce(&Scenario<R>) -> EngineResult,
) -> EngineResult {
    match scenario.skipped() {
        Some(why) => EngineResult::not_run(kind, scenario.name(), why.to_string()),
        None => run(scenario),
    }
}

/// Locks a std mutex, ignoring poison (a panic in a model run is expected, not corruption).
pub(crate) fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// Runs every scenario of `subject` under every engine with its default configuration: the
/// quickest way to check a structure of your own. [`Check`] sets engines, budgets, seeds, time
/// limits and progress. See the README's "check your own structure".
pub fn check_all<T: crate::scenario::Subject>(subject: &T) -> Results {
    Check::new().run(subject)
}
