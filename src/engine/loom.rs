//! The loom engine: exhaustive exploration under a preemption bound, with C11 weak memory.

use super::{EngineKind, EngineResult, ModelRun, Quiet, Replay, Verdict, with_class};
use crate::runtime::Loom;
use crate::scenario::Scenario;
use crate::trace;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// Configuration of the loom engine. Field defaults follow loom's environment variables.
#[derive(Debug, Clone)]
pub struct LoomConfig {
    /// Maximum preemptions per execution (`LOOM_MAX_PREEMPTIONS`, else 2). `None` is unbounded:
    /// fully exhaustive, and exponential.
    pub preemption_bound: Option<usize>,
    /// Stop after this many executions (`LOOM_MAX_PERMUTATIONS`); the verdict is then "passed
    /// within the bound" and the note says so.
    pub max_permutations: Option<usize>,
    /// Stop after this long (`LOOM_MAX_DURATION`, in seconds).
    pub max_duration: Option<Duration>,
    /// Maximum thread switches per execution (`LOOM_MAX_BRANCHES`, else 1000).
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

/// Runs `scenario` under loom.
pub fn check(scenario: &Scenario<Loom>, cfg: &LoomConfig) -> EngineResult {
    let _quiet = Quiet::new();
    let run = Arc::new(ModelRun::default());
    let mut builder = loom::model::Builder::new();
    builder.preemption_bound = cfg.preemption_bound;
    builder.max_permutations = cfg.max_permutations;
    builder.max_duration = cfg.max_duration;
    builder.max_branches = cfg.max_branches;
    // Loom checks at most `max_threads` threads, the driver included.
    builder.max_threads = (scenario.threads() + 1).max(2);
    builder.checkpoint_file = None;
    builder.log = false;
    let body = run.body(scenario);
    trace::start(<Loom as crate::runtime::Runtime>::thread_index);
    let start = Instant::now();
    let outcome = catch_unwind(AssertUnwindSafe(|| builder.check(body)));
    let elapsed = start.elapsed();
    let recorded = trace::stop();
    let executions = run.executions();
    let mut result = EngineResult {
        engine: EngineKind::Loom,
        scenario: scenario.name().to_string(),
        verdict: Verdict::Passed,
        executions,
        first_failure_at: None,
        elapsed,
        time_to_failure: None,
        histogram: run.histogram(),
        counterexample: None,
        stress: None,
        note: match cfg.preemption_bound {
            Some(b) => format!("exhaustive up to {b} preemptions"),
            None => "exhaustive".to_string(),
        },
    };
    if let Err(payload) = outcome {
        let (class, msg) = run.failure(payload.as_ref());
        if msg.contains("Model exceeded maximum number of branches") {
            result.verdict = Verdict::Error;
            result.note = format!(
                "loom branch limit ({}) exceeded; raise LOOM_MAX_BRANCHES",
                cfg.max_branches
            );
            return result;
        }
        result.verdict = Verdict::Caught;
        result.first_failure_at = Some(executions);
        result.time_to_failure = Some(elapsed);
        let preemptions = Some(recorded.switches());
        result.counterexample = Some(super::Counterexample {
            class,
            message: with_class(class, msg),
            replay: Some(Replay::Loom {
                preemption_bound: cfg.preemption_bound,
                iteration: executions,
            }),
            trace: recorded,
            preemptions,
        });
    }
    result
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
