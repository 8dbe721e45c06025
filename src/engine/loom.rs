//! The loom engine: exhaustive exploration under a preemption bound, with C11 weak memory.
//!
//! racelab drives `loom::model::Builder` itself and enforces the run's caps *before each
//! execution*: `max_permutations` stops after exactly that many executions and `max_duration`
//! within one execution of the limit (loom's own checks run every 20,000 iterations, so a cap of
//! 10,000 ran 19,999). A pass says which bound ended it: the whole space within the preemption
//! bound, or the cap. The per-execution operation cap (`max_branches`) is racelab's too, typed;
//! loom's own branch limit is set above it as a backstop.

use super::{
    Bound, EngineKind, EngineResult, ModelRun, Quiet, Replay, RunOptions, apply, conclude,
};
use crate::runtime::Loom;
use crate::runtime::model;
use crate::scenario::Scenario;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::time::{Duration, Instant};

/// Configuration of the loom engine. Field defaults follow loom's environment variables.
#[derive(Debug, Clone)]
pub struct LoomConfig {
    /// Maximum preemptions per execution (`LOOM_MAX_PREEMPTIONS`, else 2). `None` is unbounded:
    /// fully exhaustive, and exponential.
    pub preemption_bound: Option<usize>,
    /// Stop after this many executions (`LOOM_MAX_PERMUTATIONS`); the verdict is then a pass that
    /// names this cap. Exact: checked before every execution.
    pub max_permutations: Option<usize>,
    /// Stop starting executions after this long (`LOOM_MAX_DURATION`, in seconds). Checked
    /// before every execution, so the overshoot is at most one execution.
    pub max_duration: Option<Duration>,
    /// Most primitive operations one execution may make (`LOOM_MAX_BRANCHES`, else 1,000): an
    /// execution past it is stopped and the pass names the cap (a spin that never ends, usually).
    pub max_branches: usize,
}

impl Default for LoomConfig {
    fn default() -> Self {
        let env = |name: &str| std::env::var(name).ok().and_then(|v| v.parse::<u64>().ok());
        LoomConfig {
            preemption_bound: Some(env("LOOM_MAX_PREEMPTIONS").map_or(2, |v| v as usize)),
            max_permutations: env("LOOM_MAX_PERMUTATIONS").map(|v| v as usize),
            max_duration: env("LOOM_MAX_DURATION").map(Duration::from_secs),
            max_branches: env("LOOM_MAX_BRANCHES").map_or(1_000, |v| v as usize),
        }
    }
}

/// Runs `scenario` under loom with default options.
pub fn check(scenario: &Scenario<Loom>, cfg: &LoomConfig) -> EngineResult {
    run(scenario, cfg, &RunOptions::default())
}

/// Runs `scenario` under loom.
pub fn run(scenario: &Scenario<Loom>, cfg: &LoomConfig, opts: &RunOptions) -> EngineResult {
    let max = loom::MAX_THREADS;
    if scenario.threads_needed() > max {
        return EngineResult::not_run(
            EngineKind::Loom,
            scenario.name(),
            format!(
                "needs {} threads besides the driver; loom checks at most {} besides the driver",
                scenario.threads_needed() - 1,
                max - 1
            ),
        );
    }
    let _quiet = Quiet::new();
    let run = ModelRun::new(
        EngineKind::Loom,
        scenario.name(),
        cfg.max_duration,
        cfg.max_permutations.map(|n| n as u64),
        opts,
    );
    let mut builder = loom::model::Builder::new();
    builder.preemption_bound = cfg.preemption_bound;
    builder.max_permutations = None;
    builder.max_duration = None;
    // racelab's operation cap ends an execution first; loom's own limit is the backstop.
    builder.max_branches = cfg.max_branches.saturating_mul(4).max(10_000);
    builder.max_threads = max;
    builder.checkpoint_file = None;
    builder.log = false;
    let body = run.body(scenario, true);
    model::begin::<Loom>(opts.traces, cfg.max_branches as u64);
    let start = Instant::now();
    let outcome = catch_unwind(AssertUnwindSafe(|| builder.check(body)));
    let elapsed = start.elapsed();
    let ending = conclude(outcome, &run, "loom");
    let mut r = EngineResult::empty(EngineKind::Loom, scenario.name());
    r.executions = run.executions();
    r.elapsed = elapsed;
    r.histogram = run.histogram();
    let (pb, iteration) = (cfg.preemption_bound, r.executions);
    apply(&mut r, ending, || {
        Some(Replay::Loom {
            preemption_bound: pb,
            iteration,
        })
    });
    if r.verdict == super::Verdict::Passed && r.bound.is_none() {
        r.bound = Some(Bound::Exhausted {
            preemption_bound: pb,
        });
    }
    run.progress(true);
    r
}

/// Replays a loom failure: loom explores in a fixed order, so the same bound fails at the same
/// iteration. Returns the rerun's result; the caller compares the iteration.
pub fn replay(scenario: &Scenario<Loom>, preemption_bound: Option<usize>) -> EngineResult {
    let cfg = LoomConfig {
        preemption_bound,
        ..LoomConfig::default()
    };
    check(scenario, &cfg)
}
