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
            Engine::Loom(c) => gate(kind, set.loom(), index, |s| loom::run(s, c, opts)),
            Engine::ShuttleRandom(c) => gate(kind, set.shuttle(), index, |s| {
                shuttle::run(s, shuttle::Mode::Random, c, opts)
            }),
            Engine::ShuttlePct(c) => gate(kind, set.shuttle(), index, |s| {
                shuttle::run(s, shuttle::Mode::Pct, c, opts)
            }),
            Engine::ShuttleDfs(c) => gate(kind, set.shuttle(), index, |s| {
                shuttle::run(s, shuttle::Mode::Dfs, c, opts)
            }),
            Engine::Proptest(c) => gate(kind, set.shuttle(), index, |s| schedule::run(s, c, opts)),
            Engine::Stress(c) => gate(kind, set.std(), index, |s| stress::run(s, c, opts)),
        };
        r.scenario_index = index;
        r
    }
}

/// Runs scenario `index` of `scenarios` with `run`, unless the scenario is skipped on this
/// runtime, which is reported as not run.
fn gate<R: crate::runtime::Runtime>(
    kind: EngineKind,
    scenarios: Vec<Scenario<R>>,
    index: usize,
    run: impl FnOnce(&Scenario<R>) -> EngineResult,
) -> EngineResult {
    let scenario = &scenarios[index];
    match scenario.skipped() {
        Some(why) => EngineResult::not_run(kind, scenario.name(), why.to_string()),
        None => run(scenario),
    }
}

/// What an engine concluded about one scenario.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Verdict {
    /// A forbidden outcome, a panic of the structure or its check, or a failure the checker found
    /// in the structure (deadlock, data race, leak). Never an engine's limit.
    Caught,
    /// No failure; [`EngineResult::bound`] says what ended the run.
    Passed,
    /// A racy variant passed an engine that cannot see its bug (set by the catalogue, never by
    /// an engine).
    BlindSpot,
    /// The engine could not run the scenario: a limit of the engine (threads), a skip, or a cell
    /// time limit used up by earlier scenarios. The note gives the reason and the number.
    NotRun,
    /// The engine's own machinery failed; the note says how. It fails the matrix.
    Error,
}

impl fmt::Display for Verdict {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Verdict::Caught => "caught",
            Verdict::Passed => "passed",
            Verdict::BlindSpot => "blind spot",
            Verdict::NotRun => "not run",
            Verdict::Error => "error",
        })
    }
}

/// A cap that stopped a run before its budget.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Cap {
    /// The execution budget (loom's `max_permutations`, DFS's schedule bound).
    Executions(u64),
    /// The run's time limit.
    Time(Duration),
    /// The cell's time limit (shared by a subject's scenarios under one engine).
    CellTime(Duration),
    /// One execution made more than `max` primitive operations (loom: branches), at execution
    /// `at`: a spin that never ends, usually.
    Operations {
        /// The cap.
        max: u64,
        /// The execution that exceeded it.
        at: u64,
    },
    /// One execution took more than `max` scheduling steps (shuttle), at execution `at`.
    Steps {
        /// The cap.
        max: u64,
        /// The execution that exceeded it.
        at: u64,
    },
    /// proptest's shrinking budget ran out (the counterexample is not minimal).
    ShrinkBudget(u32),
}

impl Cap {
    /// A short machine name: `executions`, `time`, `cell_time`, `operations`, `steps`,
    /// `shrink_budget`.
    pub fn kind(&self) -> &'static str {
        match self {
            Cap::Executions(_) => "executions",
            Cap::Time(_) => "time",
            Cap::CellTime(_) => "cell_time",
            Cap::Operations { .. } => "operations",
            Cap::Steps { .. } => "steps",
            Cap::ShrinkBudget(_) => "shrink_budget",
        }
    }
    /// The number the cap is.
    pub fn limit(&self) -> f64 {
        match *self {
            Cap::Executions(n) => n as f64,
            Cap::Time(d) | Cap::CellTime(d) => d.as_secs_f64(),
            Cap::Operations { max, .. } | Cap::Steps { max, .. } => max as f64,
            Cap::ShrinkBudget(n) => f64::from(n),
        }
    }
}

impl fmt::Display for Cap {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Cap::Executions(n) => write!(f, "execution budget of {}", stress::group(*n)),
            Cap::Time(d) => write!(f, "time limit of {}", secs(*d)),
            Cap::CellTime(d) => write!(f, "cell time limit of {}", secs(*d)),
            Cap::Operations { max, at } => write!(
                f,
                "execution {} made more than {} operations (a spin that never ends?)",
                stress::group(*at),
                stress::group(*max)
            ),
            Cap::Steps { max, at } => write!(
                f,
                "execution {} took more than {} scheduling steps (a livelock, or a spin that never yields?)",
                stress::group(*at),
                stress::group(*max)
            ),
            Cap::ShrinkBudget(n) => write!(f, "shrink budget of {n} steps"),
        }
    }
}

fn secs(d: Duration) -> String {
    if d.as_secs_f64() >= 1.0 {
        format!("{:.1} s", d.as_secs_f64())
    } else {
        format!("{} ms", d.as_millis())
    }
}

/// What ended a run that caught nothing.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Bound {
    /// Every schedule within the bound ran: loom finished its enumeration (`preemption_bound`
    /// preemptions at most), or DFS enumerated every schedule (`None`).
    Exhausted {
        /// loom's preemption bound, when it had one.
        preemption_bound: Option<usize>,
    },
    /// The engine ran the executions it was asked for (random, PCT, proptest, stress). See
    /// [`EngineResult::guarantee`] for what they buy.
    Runs(u64),
    /// The adaptive budget reached its target: `confidence` of finding any bug of depth ≤
    /// `depth` (PCT's guarantee).
    Confidence {
        /// The target confidence.
        confidence: f64,
        /// The bug depth it covers.
        depth: usize,
    },
    /// A cap stopped the run before its budget.
    Cap(Cap),
}

impl Bound {
    /// Whether the run covered everything within its bound (only [`Bound::Exhausted`]).
    pub fn complete(&self) -> bool {
        matches!(self, Bound::Exhausted { .. })
    }
    /// A short machine name: `exhausted`, `runs`, `confidence`, or the cap's kind.
    pub fn kind(&self) -> &'static str {
        match self {
            Bound::Exhausted { .. } => "exhausted",
            Bound::Runs(_) => "runs",
            Bound::Confidence { .. } => "confidence",
            Bound::Cap(c) => c.kind(),
        }
    }
}

impl fmt::Display for Bound {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Bound::Exhausted {
                preemption_bound: Some(b),
            } => write!(f, "exhaustive within {b} preemptions"),
            Bound::Exhausted {
                preemption_bound: None,
            } => f.write_str("exhaustive"),
            Bound::Runs(n) => write!(f, "budget: {} runs, not exhaustive", stress::group(*n)),
            Bound::Confidence { confidence, depth } => write!(
                f,
                "adaptive budget reached: {:.0}% confidence for bugs of depth ≤ {depth}",
                confidence * 100.0
            ),
            Bound::Cap(c) => write!(f, "stopped early: {c}"),
        }
    }
}

/// What a run of random schedules buys, when it finds nothing.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize)]
pub struct Guarantee {
    /// Executions run.
    pub runs: u64,
    /// The per-execution failure probability that `runs` clean executions rule out at 95%
    /// confidence (the rule of three: ≈ 3 / runs). A bug that shows in a larger fraction of
    /// random executions would have been seen. Valid for random, PCT, proptest and stress
    /// alike; it says nothing about rarer bugs.
    pub rule_of_three: f64,
    /// PCT's own guarantee, for shuttle-pct.
    pub pct: Option<PctGuarantee>,
}

/// PCT's probabilistic guarantee (Burckhardt et al., ASPLOS 2010): each run finds a given bug of
/// depth `d` with probability at least `1 / (n · k^(d−1))`, for `n` threads and `k` steps.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize)]
pub struct PctGuarantee {
    /// The depth PCT was run with (`d`): bugs of depth ≤ d are covered.
    pub depth: usize,
    /// Threads seen (`n`).
    pub threads: usize,
    /// The most scheduling steps with a choice seen in one execution (`k`).
    pub steps: u64,
    /// The per-run lower bound `1 / (n · k^(d−1))`.
    pub per_run: f64,
    /// The confidence the runs give: `1 − (1 − per_run)^runs`.
    pub confidence: f64,
}

impl PctGuarantee {
    /// The guarantee of `runs` runs at depth `d` with `n` threads and `k` steps.
    pub fn new(depth: usize, threads: usize, steps: u64, runs: u64) -> PctGuarantee {
        let k = steps.max(1) as f64;
        let per_run = 1.0 / (threads.max(1) as f64 * k.powi(depth.saturating_sub(1) as i32));
        PctGuarantee {
            depth,
            threads,
            steps,
            per_run,
            confidence: confidence(per_run, runs),
        }
    }
    /// Runs needed for `target` confidence at this per-run probability.
    pub fn runs_for(per_run: f64, target: f64) -> u64 {
        if per_run >= 1.0 {
            return 1;
        }
        ((1.0 - target).ln() / (1.0 - per_run).ln()).ceil().max(1.0) as u64
    }
}

/// `1 − (1 − p)^n`, computed without losing small `p`.
fn confidence(p: f64, n: u64) -> f64 {
    -((n as f64) * (-p).ln_1p()).exp_m1()
}

impl Guarantee {
    /// The guarantee of `runs` clean runs, with PCT's when given.
    pub fn new(runs: u64, pct: Option<PctGuarantee>) -> Guarantee {
        Guarantee {
            runs,
            rule_of_three: if runs == 0 {
                1.0
            } else {
                (3.0 / runs as f64).min(1.0)
            },
            pct,
        }
    }
}

impl fmt::Display for Guarantee {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Some(p) = &self.pct {
            let conf = if p.confidence > 0.999 {
                "> 99.9%".to_string()
            } else {
                percent(p.confidence)
            };
            write!(
                f,
                "PCT d={} n={} k={}: each run ≥ {}, so {conf} confidence for a depth-≤{} bug; ",
                p.depth,
                p.threads,
                p.steps,
                probability(p.per_run),
                p.depth
            )?;
        }
        write!(
            f,
            "a bug showing in ≥ {} of runs would have been seen (95%)",
            percent(self.rule_of_three)
        )
    }
}

fn probability(p: f64) -> String {
    if p <= 0.0 {
        "0".into()
    } else if p >= 0.01 {
        format!("{p:.3}")
    } else {
        format!("1/{}", stress::group((1.0 / p).round() as u64))
    }
}

fn percent(p: f64) -> String {
    let pc = p * 100.0;
    if pc >= 1.0 {
        format!("{pc:.1}%")
    } else if pc >= 0.01 {
        format!("{pc:.2}%")
    } else {
        format!("{pc:.1e}%")
    }
}

/// How to reproduce a failure.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Replay {
    /// A shuttle schedule string; `shuttle::replay(body, s)` reproduces it too.
    Shuttle(String),
    /// loom is deterministic: rerunning with the same preemption bound fails at the same
    /// iteration.
    Loom {
        /// The preemption bound of the run.
        preemption_bound: Option<usize>,
        /// The 1-based iteration that failed.
        iteration: u64,
    },
}

impl fmt::Display for Replay {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Replay::Shuttle(s) => write!(f, "shuttle:{s}"),
            Replay::Loom {
                preemption_bound,
                iteration,
            } => match preemption_bound {
                Some(b) => write!(f, "loom:pb{b}:{iteration}"),
                None => write!(f, "loom:unbounded:{iteration}"),
            },
        }
    }
}

impl FromStr for Replay {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        if let Some(rest) = s.strip_prefix("shuttle:") {
            shuttle::validate_schedule(rest)?;
            return Ok(Replay::Shuttle(rest.to_string()));
        }
        if let Some(rest) = s.strip_prefix("loom:") {
            let (bound, iter) = rest
                .split_once(':')
                .ok_or("a loom replay reads `loom:pbN:ITERATION`")?;
            let preemption_bound = match bound {
                "unbounded" => None,
                b => Some(
                    b.strip_prefix("pb")
                        .and_then(|n| n.parse().ok())
                        .ok_or_else(|| format!("bad loom preemption bound `{b}`"))?,
                ),
            };
            let iteration = iter
                .parse()
                .ok()
                .filter(|i| *i > 0)
                .ok_or_else(|| format!("bad loom iteration `{iter}`"))?;
            return Ok(Replay::Loom {
                preemption_bound,
                iteration,
            });
        }
        Err("a replay payload starts with `shuttle:` or `loom:`".into())
    }
}

/// The first failure an engine found.
#[derive(Debug, Clone)]
pub struct Counterexample {
    /// The bug class.
    pub class: BugClass,
    /// The message, e.g. `lost update: counter = 1, expected 2`.
    pub message: String,
    /// The thread that failed, named as the trace names it (`T1`, `main` for the check).
    pub thread: Option<String>,
    /// Where the failure was raised (a panic's location), when it is known.
    pub location: Option<String>,
    /// How to replay it, where the engine can.
    pub replay: Option<Replay>,
    /// The interleaving of the failing execution (empty for stress: observing real threads would
    /// change them).
    pub trace: Trace,
    /// Preemptions of the failing schedule: switches, between consecutive recorded operations,
    /// away from a thread that could have gone on (it had not blocked, yielded or finished).
    /// Counted on the full trace, the same way on every model engine; `None` under stress (no
    /// schedule is known) and when traces are not [`TraceMode::Full`].
    pub preemptions: Option<usize>,
}

impl Counterexample {
    /// A failure with no trace, thread, location or replay (what real threads give).
    pub fn untraced(class: BugClass, message: String) -> Counterexample {
        Counterexample {
            class,
            message,
            thread: None,
            location: None,
            replay: None,
            trace: Trace::default(),
            preemptions: None,
        }
    }
}

/// The result of running one scenario under one engine.
///
/// Every field means the same on every engine:
/// - `executions`: complete or attempted executions of the scenario body the engine ran in
///   total (proptest: its search *and* its shrinking runs; stress: rounds);
/// - `first_failure_at`: the 1-based execution (round) in which the first failure appeared;
/// - `elapsed`: wall time of the whole run; `time_to_failure`: until the first failure;
/// - `histogram`: outcome → executions (forbidden outcomes keyed by their message);
/// - `bound`: for a pass, what ended the run; `guarantee`: for a pass of sampled schedules,
///   what the runs buy.
#[derive(Debug, Clone)]
pub struct EngineResult {
    /// Which engine.
    pub engine: EngineKind,
    /// Which scenario.
    pub scenario: String,
    /// The scenario's index in its subject (for replay tokens).
    pub scenario_index: usize,
    /// What it concluded.
    pub verdict: Verdict,
    /// For a pass: what ended the run. `None` for other verdicts.
    pub bound: Option<Bound>,
    /// For a pass of sampled schedules: what the runs buy.
    pub guarantee: Option<Guarantee>,
    /// Executions run (see the type's docs).
    pub executions: u64,
    /// The 1-based execution at which the first failure appeared.
    pub first_failure_at: Option<u64>,
    /// Wall time of the whole run.
    pub elapsed: Duration,
    /// Wall time until the first failure.
    pub time_to_failure: Option<Duration>,
    /// How often each outcome was seen.
    pub histogram: BTreeMap<String, u64>,
    /// The first failure.
    pub counterexample: Option<Counterexample>,
    /// Stress-only statistics (overlap of the threads, how often the forbidden outcome appeared).
    pub stress: Option<StressStats>,
    /// Anything else worth knowing: the reason of a `not run` or an `error`.
    pub note: String,
}

impl EngineResult {
    pub(crate) fn empty(engine: EngineKind, scenario: &str) -> EngineResult {
        EngineResult {
            engine,
            scenario: scenario.to_string(),
            scenario_index: 0,
            verdict: Verdict::Passed,
            bound: None,
            guarantee: None,
            executions: 0,
            first_failure_at: None,
            elapsed: Duration::ZERO,
            time_to_failure: None,
            histogram: BTreeMap::new(),
            counterexample: None,
            stress: None,
            note: String::new(),
        }
    }
    /// A scenario the engine did not run, for the reason in `why`.
    pub fn not_run(engine: EngineKind, scenario: &str, why: String) -> EngineResult {
        EngineResult {
            verdict: Verdict::NotRun,
            note: why,
            ..EngineResult::empty(engine, scenario)
        }
    }
    /// The failure message, if any.
    pub fn message(&self) -> Option<&str> {
        self.counterexample.as_ref().map(|c| c.message.as_str())
    }
    /// Whether the run passed *and* covered everything within its bound.
    pub fn passed_exhaustively(&self) -> bool {
        self.verdict == Verdict::Passed && self.bound.is_some_and(|b| b.complete())
    }
    /// The verdict line: `caught @3: lost update: …`, `passed (exhaustive within 2 preemptions,
    /// 17 executions)`, `passed (budget: 2,000 runs, not exhaustive; PCT …)`, `not run: needs 5
    /// threads; …`, `error: …`.
    pub fn summary(&self) -> String {
        match self.verdict {
            Verdict::Caught => format!(
                "caught @{}: {}",
                self.first_failure_at.unwrap_or(0),
                self.message().unwrap_or("")
            ),
            Verdict::Passed => {
                let mut s = format!("passed ({} executions", stress::group(self.executions));
                if let Some(b) = &self.bound {
                    s += &format!("; {b}");
                }
                if let Some(g) = &self.guarantee {
                    s += &format!("; {g}");
                }
                s + ")"
            }
            Verdict::BlindSpot => format!("blind spot: {}", self.note),
            Verdict::NotRun => format!("not run: {}", self.note),
            Verdict::Error => format!("error: {}", self.note),
        }
    }
    /// The result's fields in the JSON contract (see [`crate::report`]), without the catalogue's
    /// fields (family, variant, expectation) and with the replay token of a user subject.
    pub fn to_json(&self) -> serde_json::Value {
        let c = self.counterexample.as_ref();
        serde_json::json!({
            "engine": self.engine.name(),
            "scenario": self.scenario,
            "scenario_index": self.scenario_index,
            "verdict": self.verdict,
            "summary": self.summary(),
            "bound": self.bound.map(|b| serde_json::json!({
                "kind": b.kind(),
                "complete": b.complete(),
                "limit": match b {
                    Bound::Cap(c) => Some(c.limit()),
                    Bound::Runs(n) => Some(n as f64),
                    Bound::Confidence { confidence, .. } => Some(confidence),
                    Bound::Exhausted { preemption_bound } => preemption_bound.map(|p| p as f64),
                },
                "text": b.to_string(),
            })),
            "guarantee": self.guarantee,
            "executions": self.executions,
            "first_failure_at": self.first_failure_at,
            "millis": self.elapsed.as_secs_f64() * 1e3,
            "time_to_failure_ms": self.time_to_failure.map(|d| d.as_secs_f64() * 1e3),
            "class": c.map(|c| c.class),
            "message": c.map(|c| c.message.clone()),
            "thread": c.and_then(|c| c.thread.clone()),
            "location": c.and_then(|c| c.location.clone()),
            "replay": self.replay_token(),
            "trace": c.map(|c| c.trace.to_string()).filter(|t| !t.is_empty()),
            "story": c.map(|c| c.trace.story()).filter(|t| !t.is_empty()),
            "preemptions": c.and_then(|c| c.preemptions),
            "histogram": self.histogram,
            "stress": self.stress,
            "note": self.note,
        })
    }
    /// `scenario-index/payload`: what [`Check::replay`] takes to reproduce this failure on the
    /// same subject.
    pub fn replay_token(&self) -> Option<String> {
        let r = self.counterexample.as_ref()?.replay.as_ref()?;
        Some(format!("{}/{r}", self.scenario_index))
    }
    /// Asserts that the engine caught a failure whose message contains `expected`.
    ///
    /// # Panics
    /// With a description of what happened instead.
    pub fn assert_caught(&self, expected: &str) -> &Self {
        match (&self.verdict, self.message()) {
            (Verdict::Caught, Some(m)) if m.contains(expected) => self,
            _ => panic!(
                "{} on `{}`: expected a failure containing {expected:?}, got {}",
                self.engine,
                self.scenario,
                self.summary()
            ),
        }
    }
    /// Asserts that the engine caught a failure of bug class `class`.
    ///
    /// # Panics
    /// With a description of what happened instead.
    pub fn assert_caught_class(&self, class: BugClass) -> &Self {
        match &self.counterexample {
            Some(c) if self.verdict == Verdict::Caught && c.class == class => self,
            _ => panic!(
                "{} on `{}`: expected {class} to be caught, got {}",
                self.engine,
                self.scenario,
                self.summary()
            ),
        }
    }
    /// Panics with the verdict line unless the verdict is `Passed`; for
    /// `#[should_panic(expected = "...")]` tests and for asserting a correct twin passes.
    pub fn unwrap_passed(&self) -> &Self {
        if self.verdict != Verdict::Passed {
            panic!("{} on `{}`: {}", self.engine, self.scenario, self.summary());
        }
        self
    }
}

// ------------------------------------------------------------------------------------------
// One model-checker run: shared by loom, the shuttle engines and proptest.

/// Bookkeeping of one model-checker run, shared with the body the checker runs per execution.
pub(crate) struct ModelRun {
    pub engine: EngineKind,
    pub scenario: String,
    pub executions: AtomicU64,
    pub histogram: Mutex<BTreeMap<String, u64>>,
    pub start: Instant,
    /// Stop at this time (the run's time limit), checked before each execution.
    pub deadline: Option<(Instant, Duration)>,
    /// Stop after this many executions (checked before each).
    pub max_executions: Option<u64>,
    /// The cap that stopped the run, if one did.
    pub stopped: std::sync::OnceLock<Cap>,
    /// The most threads and decision steps seen in one execution (for PCT's bound).
    pub threads_seen: AtomicUsize,
    pub steps_seen: AtomicU64,
    progress: Option<ProgressFn>,
    last_progress: Mutex<Instant>,
}

impl ModelRun {
    pub fn new(
        engine: EngineKind,
        scenario: &str,
        time_limit: Option<Duration>,
        max_executions: Option<u64>,
        opts: &RunOptions,
    ) -> Arc<ModelRun> {
        let start = Instant::now();
        let limit = match (time_limit, opts.time_limit) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        };
        Arc::new(ModelRun {
            engine,
            scenario: scenario.to_string(),
            executions: AtomicU64::new(0),
            histogram: Mutex::new(BTreeMap::new()),
            start,
            deadline: limit.map(|d| (start + d, d)),
            max_executions,
            stopped: std::sync::OnceLock::new(),
            threads_seen: AtomicUsize::new(0),
            steps_seen: AtomicU64::new(0),
            progress: opts.progress.clone(),
            last_progress: Mutex::new(start),
        })
    }

    pub fn executions(&self) -> u64 {
        self.executions.load(AtOrd::Relaxed)
    }

    pub fn histogram(&self) -> BTreeMap<String, u64> {
        lock(&self.histogram).clone()
    }

    /// The cap that should stop the run before another execution starts, if any.
    pub fn over_budget(&self) -> Option<Cap> {
        if let Some(c) = self.stopped.get() {
            return Some(*c);
        }
        let cap = if self.max_executions.is_some_and(|m| self.executions() >= m) {
            Some(Cap::Executions(self.max_executions.unwrap_or(0)))
        } else {
            self.deadline
                .filter(|(at, _)| Instant::now() >= *at)
                .map(|(_, d)| Cap::Time(d))
        };
        cap.map(|c| *self.stopped.get_or_init(|| c))
    }

    /// Calls the progress callback if 200 ms have passed since the last call (or `force`).
    pub fn progress(&self, force: bool) {
        let Some(p) = &self.progress else { return };
        let now = Instant::now();
        {
            let mut last = lock(&self.last_progress);
            if !force && now.duration_since(*last) < Duration::from_millis(200) {
                return;
            }
            *last = now;
        }
        p(&Progress {
            engine: self.engine,
            scenario: self.scenario.clone(),
            executions: self.executions(),
            elapsed: now.duration_since(self.start),
        });
    }

    /// The closure a checker runs once per execution. `check_budget` makes the body itself
    /// enforce the run's caps (loom, which has no scheduler hook); the shuttle engines enforce
    /// them in their scheduler instead.
    pub fn body<R: crate::runtime::Runtime>(
        self: &Arc<Self>,
        scenario: &Scenario<R>,
        check_budget: bool,
    ) -> impl Fn() + Send + Sync + 'static {
        let (run, scenario) = (self.clone(), scenario.clone());
        move || {
            model::harness(|| {
                if check_budget && run.over_budget().is_some() {
                    // Stop before this execution: loom unwinds out of the model.
                    std::panic::resume_unwind(Box::new(Signal::Stop));
                }
                run.executions.fetch_add(1, AtOrd::Relaxed);
                model::new_execution();
                run.progress(false);
            });
            let outcome = scenario.inner.execute_model();
            model::harness(|| {
                let Some(outcome) = outcome else { return };
                let mut h = lock(&run.histogram);
                match h.get_mut(outcome.key()) {
                    Some(n) => *n += 1,
                    None => {
                        h.insert(outcome.key().to_string(), 1);
                    }
                }
                drop(h);
                if let Outcome::Forbidden { class, message } = outcome {
                    model::fail_and_stop(class, message, None);
                }
            });
        }
    }
}

/// How a model-checker run ended, as the engines turn it into a result.
pub(crate) enum Ending {
    Caught(Counterexample),
    Passed(Option<Bound>),
    NotRun(String),
    Error(String),
}

/// Classifies how a model-checker run ended. Call it right after the checker returned or
/// unwound, before `model::end`.
pub(crate) fn conclude(
    outcome: std::thread::Result<()>,
    run: &ModelRun,
    checker: &'static str,
) -> Ending {
    // What the context holds about the last execution, and the registry's deadlock report.
    let trace = model::snapshot();
    let registry = model::deadlock_report();
    let (failure, cap) = model::end();
    let executions = run.executions();
    if let Some(f) = failure {
        return Ending::Caught(counterexample(f));
    }
    match cap {
        Some(CapHit::Threads { needed, max }) => {
            return Ending::NotRun(format!(
                "needs {needed} threads, the driver included; {checker} checks at most {max} ({} besides the driver)",
                max - 1
            ));
        }
        Some(CapHit::Ops(max)) => {
            return capped(
                Cap::Operations {
                    max,
                    at: executions,
                },
                executions,
            );
        }
        Some(CapHit::Steps(max)) => {
            return capped(
                Cap::Steps {
                    max,
                    at: executions,
                },
                executions,
            );
        }
        None => {}
    }
    let payload = match outcome {
        Ok(()) => {
            return Ending::Passed(run.stopped.get().copied().map(Bound::Cap));
        }
        Err(p) => p,
    };
    if let Some(Signal::Stop) = payload.downcast_ref::<Signal>() {
        return match run.stopped.get().copied() {
            Some(c) => Ending::Passed(Some(Bound::Cap(c))),
            None => Ending::Error("racelab stopped the execution without recording why".into()),
        };
    }
    let rec = model::last_panic();
    let message = payload_text(payload.as_ref());
    let at = rec.location.clone().unwrap_or_else(|| "?".into());
    match rec.origin.unwrap_or(Origin::Checker) {
        Origin::Checker => {
            let lower = message.to_lowercase();
            let caught = |class: BugClass, text: String| {
                Ending::Caught(Counterexample {
                    trace: trace.clone(),
                    ..Counterexample::untraced(class, text)
                })
            };
            if lower.contains("deadlock") {
                let report = registry.unwrap_or_else(|| first_line(&message).to_string());
                caught(BugClass::Deadlock, format!("deadlock: {report}"))
            } else if lower.contains("causality violation") {
                caught(
                    BugClass::DataRace,
                    format!("data race: {}", first_line(&message)),
                )
            } else if lower.contains("leaked") {
                caught(
                    BugClass::Leak,
                    format!(
                        "leak: {} (at the end of the execution)",
                        first_line(&message)
                    ),
                )
            } else if lower.contains("maximum number of branches") {
                capped(
                    Cap::Operations {
                        max: 0,
                        at: executions,
                    },
                    executions,
                )
            } else {
                Ending::Error(format!(
                    "{checker} failed inside its own code: {} (at {at})",
                    first_line(&message)
                ))
            }
        }
        Origin::Harness => Ending::Error(format!(
            "racelab internal error: {} (at {at})",
            first_line(&message)
        )),
        Origin::User => Ending::Caught(Counterexample {
            class: BugClass::Panic,
            message: with_class(BugClass::Panic, message),
            thread: None,
            location: rec.location,
            replay: None,
            preemptions: None,
            trace,
        }),
    }
}

/// A cap hit during execution `executions`: the executions before it passed; if there were
/// none, nothing was checked.
fn capped(cap: Cap, executions: u64) -> Ending {
    if executions <= 1 {
        Ending::NotRun(format!("the first execution already hit a cap: {cap}"))
    } else {
        Ending::Passed(Some(Bound::Cap(cap)))
    }
}

fn counterexample(f: Recorded) -> Counterexample {
    let preemptions = f
        .trace
        .events
        .iter()
        .any(|e| !e.is_user())
        .then(|| f.trace.preemptions());
    Counterexample {
        class: f.class,
        message: with_class(f.class, f.message),
        thread: f.thread,
        location: f.location,
        replay: None,
        trace: f.trace,
        preemptions,
    }
}

/// Turns an [`Ending`] into the fields of a result.
pub(crate) fn apply(r: &mut EngineResult, ending: Ending, replay: impl FnOnce() -> Option<Replay>) {
    match ending {
        Ending::Caught(mut c) => {
            r.verdict = Verdict::Caught;
            r.first_failure_at = Some(r.executions.max(1));
            r.time_to_failure = Some(r.elapsed);
            c.replay = replay();
            r.counterexample = Some(c);
        }
        Ending::Passed(bound) => {
            r.verdict = Verdict::Passed;
            r.bound = bound;
        }
        Ending::NotRun(why) => {
            r.verdict = Verdict::NotRun;
            r.note = why;
        }
        Ending::Error(why) => {
            r.verdict = Verdict::Error;
            r.note = why;
        }
    }
}

/// Locks a std mutex, ignoring poison (a panic in a model run is expected, not corruption).
pub(crate) fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// The text of a panic payload: a string, a racelab [`crate::scenario::Failure`], or a
/// description of the payload's type.
pub fn payload_text(payload: &(dyn std::any::Any + Send)) -> String {
    if let Some(s) = payload.downcast_ref::<&str>() {
        s.to_string()
    } else if let Some(s) = payload.downcast_ref::<String>() {
        s.clone()
    } else if let Some(f) = payload.downcast_ref::<crate::scenario::Failure>() {
        f.message.clone()
    } else if payload.downcast_ref::<Signal>().is_some() {
        "racelab stopped the execution".to_string()
    } else {
        "panic with a non-string payload".to_string()
    }
}

/// The text of a panic payload (kept for callers of earlier versions).
pub fn panic_message(payload: &(dyn std::any::Any + Send)) -> String {
    payload_text(payload)
}

/// Formats a failure message so that it starts with its bug class.
pub(crate) fn with_class(class: BugClass, msg: String) -> String {
    if msg.starts_with(class.name()) {
        msg
    } else {
        format!("{}: {}", class.name(), msg.trim())
    }
}

fn first_line(s: &str) -> &str {
    s.lines().next().unwrap_or(s).trim()
}

std::thread_local! {
    static QUIET: Cell<usize> = const { Cell::new(0) };
}

/// While alive, panics on this OS thread print nothing: the engines catch them on purpose.
pub(crate) struct Quiet(());

impl Quiet {
    pub fn new() -> Quiet {
        install_hook();
        QUIET.with(|q| q.set(q.get() + 1));
        Quiet(())
    }
}

impl Drop for Quiet {
    fn drop(&mut self) {
        QUIET.with(|q| q.set(q.get() - 1));
    }
}

/// Installs (once) racelab's panic hook: it records where every panic started (for the origin
/// attribution), is silent on threads inside an engine run, and delegates to the previous hook
/// elsewhere. Shuttle installs a process-wide hook on its first run that prints "Task failed,
/// serializing schedule" for *every* panic, shuttle's or not; racelab runs shuttle once here so
/// that hook is installed, then drops it (racelab records schedules itself).
pub(crate) fn install_hook() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        let previous = std::panic::take_hook();
        ::shuttle::check_random(|| {}, 1);
        drop(std::panic::take_hook());
        // RACELAB_PANICS=1 shows every caught panic, for debugging racelab itself.
        let loud = std::env::var_os("RACELAB_PANICS").is_some();
        std::panic::set_hook(Box::new(move |info| {
            model::on_panic(info);
            if loud || QUIET.with(Cell::get) == 0 {
                previous(info);
            }
        }));
    });
}

/// Runs every scenario of `subject` under every engine with its default configuration: the
/// quickest way to check a structure of your own. [`Check`] sets engines, budgets, seeds, time
/// limits and progress. See the README's "check your own structure".
pub fn check_all<T: crate::scenario::Subject>(subject: &T) -> Results {
    Check::new().run(subject)
}
