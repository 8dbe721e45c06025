//! Engines: who chooses the interleaving.
//!
//! Every engine runs a [`Scenario`] and returns the same [`EngineResult`]: verdict, executions,
//! elapsed time, outcome histogram, and the first [`Counterexample`] (message, replay string,
//! readable interleaving).
//!
//! | engine | schedule chosen by | memory model | sees |
//! |---|---|---|---|
//! | [`Engine::Loom`] | exhaustive DPOR, bounded preemptions | C11 (weak) | interleavings *and* stale reads, data races on its `UnsafeCell` |
//! | [`Engine::ShuttleRandom`] | uniform random at each sync op | sequentially consistent | interleavings |
//! | [`Engine::ShuttlePct`] | PCT priorities (depth d) | sequentially consistent | interleavings needing ≤ d−1 ordering constraints, with a probability guarantee |
//! | [`Engine::ShuttleDfs`] | exhaustive depth-first over sync ops (bounded) | sequentially consistent | interleavings |
//! | [`Engine::Proptest`] | a proptest-generated choice vector, shrunk | sequentially consistent | interleavings, shrunk to the fewest preemptions |
//! | [`Engine::Stress`] | the OS and the hardware | the machine's (x86: TSO) | what the machine happens to do |

pub mod loom;
pub mod schedule;
pub mod shuttle;
pub mod stress;

use crate::scenario::{BugClass, Outcome, Scenario, ScenarioSet};
use crate::trace::{self, Trace};
use std::cell::Cell;
use std::collections::BTreeMap;
use std::fmt;
use std::str::FromStr;
use std::sync::{Arc, Mutex, Once};
use std::time::Duration;

pub use self::loom::LoomConfig;
pub use self::schedule::ProptestConfig;
pub use self::shuttle::ShuttleConfig;
pub use self::stress::{StressConfig, StressStats};

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
    /// Runs scenario `index` of `set` under this engine.
    ///
    /// # Panics
    /// If `index` is out of range.
    pub fn run(&self, set: &ScenarioSet, index: usize) -> EngineResult {
        let kind = self.kind();
        match self {
            Engine::Loom(c) => gate(kind, (set.loom)(), index, |s| loom::check(s, c)),
            Engine::ShuttleRandom(c) => gate(kind, (set.shuttle)(), index, |s| {
                shuttle::check(s, shuttle::Mode::Random, c)
            }),
            Engine::ShuttlePct(c) => gate(kind, (set.shuttle)(), index, |s| {
                shuttle::check(s, shuttle::Mode::Pct, c)
            }),
            Engine::ShuttleDfs(c) => gate(kind, (set.shuttle)(), index, |s| {
                shuttle::check(s, shuttle::Mode::Dfs, c)
            }),
            Engine::Proptest(c) => gate(kind, (set.shuttle)(), index, |s| schedule::check(s, c)),
            Engine::Stress(c) => gate(kind, (set.std)(), index, |s| stress::check(s, c)),
        }
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
        Some(why) => EngineResult::not_run(kind, scenario.name(), format!("not run: {why}")),
        None => run(scenario),
    }
}

/// What an engine concluded about one scenario.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Verdict {
    /// A forbidden outcome, a checker-detected failure (deadlock, data race, leak) or a panic.
    Caught,
    /// Every execution within the budget was acceptable.
    Passed,
    /// A racy variant passed an engine that cannot see its bug (set by the catalogue, never by
    /// an engine).
    BlindSpot,
    /// The stress watchdog fired: the threads stopped making progress.
    Hang,
    /// The engine itself could not run (bad configuration, checker limit exceeded).
    Error,
}

impl fmt::Display for Verdict {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Verdict::Caught => "caught",
            Verdict::Passed => "passed",
            Verdict::BlindSpot => "blind spot",
            Verdict::Hang => "hang",
            Verdict::Error => "error",
        })
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
                .map_err(|_| format!("bad loom iteration `{iter}`"))?;
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
    /// How to replay it, where the engine can.
    pub replay: Option<Replay>,
    /// The interleaving of the failing execution (empty for stress: observing real threads would
    /// change them).
    pub trace: Trace,
    /// Context switches between scenario threads in `trace` (proptest: preemptions of the shrunk
    /// schedule).
    pub preemptions: Option<usize>,
}

/// The result of running one scenario under one engine.
#[derive(Debug, Clone)]
pub struct EngineResult {
    /// Which engine.
    pub engine: EngineKind,
    /// Which scenario.
    pub scenario: String,
    /// What it concluded.
    pub verdict: Verdict,
    /// Executions run (for stress: rounds).
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
    /// Anything else worth knowing (an error's cause, a bound that was hit).
    pub note: String,
}

impl EngineResult {
    /// A scenario the engine did not run, for the reason in `note`: a blind spot, never a pass.
    pub fn not_run(engine: EngineKind, scenario: &str, note: String) -> EngineResult {
        EngineResult {
            engine,
            scenario: scenario.to_string(),
            verdict: Verdict::BlindSpot,
            executions: 0,
            first_failure_at: None,
            elapsed: Duration::ZERO,
            time_to_failure: None,
            histogram: BTreeMap::new(),
            counterexample: None,
            stress: None,
            note,
        }
    }
    /// The failure message, if any.
    pub fn message(&self) -> Option<&str> {
        self.counterexample.as_ref().map(|c| c.message.as_str())
    }
    /// Asserts that the engine caught a failure whose message contains `expected`.
    ///
    /// # Panics
    /// With a description of what happened instead. The panic message of a match is the
    /// failure message itself, so `#[should_panic(expected = "lost update")]` tests can call
    /// [`EngineResult::unwrap_passed`] instead.
    pub fn assert_caught(&self, expected: &str) -> &Self {
        match (&self.verdict, self.message()) {
            (Verdict::Caught, Some(m)) if m.contains(expected) => self,
            _ => panic!(
                "{} on `{}`: expected a failure containing {expected:?}, got {} ({})",
                self.engine,
                self.scenario,
                self.verdict,
                self.message().unwrap_or(&self.note)
            ),
        }
    }
    /// Panics with the failure message unless the verdict is `Passed`; for
    /// `#[should_panic(expected = "...")]` tests and for asserting a correct twin passes.
    pub fn unwrap_passed(&self) -> &Self {
        if self.verdict != Verdict::Passed {
            panic!(
                "{} on `{}`: {}: {}",
                self.engine,
                self.scenario,
                self.verdict,
                self.message().unwrap_or(&self.note)
            );
        }
        self
    }
}

/// Shared bookkeeping of a model-checker run (loom, shuttle, proptest).
#[derive(Default)]
pub(crate) struct ModelRun {
    pub executions: std::sync::atomic::AtomicU64,
    pub histogram: Mutex<BTreeMap<String, u64>>,
    pub forbidden: Mutex<Option<(BugClass, String)>>,
}

impl ModelRun {
    /// The closure a checker runs once per execution.
    pub fn body<R: crate::runtime::Runtime>(
        self: &Arc<Self>,
        scenario: &Scenario<R>,
    ) -> impl Fn() + Send + Sync + 'static {
        let (run, scenario) = (self.clone(), scenario.clone());
        move || {
            run.executions
                .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            trace::clear();
            let outcome = scenario.execute();
            *lock(&run.histogram)
                .entry(outcome.key().to_string())
                .or_default() += 1;
            if let Outcome::Forbidden { class, message } = outcome {
                *lock(&run.forbidden) = Some((class, message.clone()));
                panic!("{message}");
            }
        }
    }

    /// Classifies a failure caught from the checker: our own forbidden outcome if there was one,
    /// else the checker's or the body's panic message.
    pub fn failure(&self, payload: &(dyn std::any::Any + Send)) -> (BugClass, String) {
        if let Some(f) = lock(&self.forbidden).take() {
            return f;
        }
        let msg = panic_message(payload);
        (classify_panic(&msg), msg)
    }

    pub fn executions(&self) -> u64 {
        self.executions.load(std::sync::atomic::Ordering::Relaxed)
    }

    pub fn histogram(&self) -> BTreeMap<String, u64> {
        lock(&self.histogram).clone()
    }
}

/// Locks a std mutex, ignoring poison (a panic in a model run is expected, not corruption).
pub(crate) fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// The text of a panic payload.
pub fn panic_message(payload: &(dyn std::any::Any + Send)) -> String {
    if let Some(s) = payload.downcast_ref::<&str>() {
        s.to_string()
    } else if let Some(s) = payload.downcast_ref::<String>() {
        s.clone()
    } else {
        "panic with a non-string payload".to_string()
    }
}

/// Names the bug class of a checker's own failure message.
fn classify_panic(msg: &str) -> BugClass {
    let lower = msg.to_lowercase();
    // A structure's own panic that names its bug (`lost wakeup: pop woke up to an empty buffer`).
    if let Some(class) = [
        BugClass::LostWakeup,
        BugClass::LostItem,
        BugClass::DuplicatedItem,
        BugClass::Overflow,
        BugClass::MutualExclusion,
    ]
    .into_iter()
    .find(|c| lower.starts_with(c.name()))
    {
        return class;
    }
    if lower.contains("deadlock") {
        BugClass::Deadlock
    } else if lower.contains("causality violation") {
        BugClass::DataRace
    } else if lower.contains("leak") {
        BugClass::LostItem
    } else {
        BugClass::Panic
    }
}

/// Formats a checker failure message so that it starts with its bug class.
pub(crate) fn with_class(class: BugClass, msg: String) -> String {
    if msg.starts_with(class.name()) {
        msg
    } else {
        format!("{}: {}", class.name(), first_line(&msg))
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
        install_quiet_hook();
        QUIET.with(|q| q.set(q.get() + 1));
        Quiet(())
    }
}

impl Drop for Quiet {
    fn drop(&mut self) {
        QUIET.with(|q| q.set(q.get() - 1));
    }
}

/// Installs (once) a panic hook that is silent on threads inside an engine run and delegates to
/// the original hook elsewhere. Shuttle installs a process-wide hook on its first run that
/// prints "Task failed, serializing schedule" for *every* panic, shuttle's or not; racelab runs
/// shuttle once here so that hook is installed, then drops it (racelab records schedules itself,
/// and shuttle still prints its own failures' schedules without the hook).
fn install_quiet_hook() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        let previous = std::panic::take_hook();
        ::shuttle::check_random(|| {}, 1);
        drop(std::panic::take_hook());
        // RACELAB_PANICS=1 shows every caught panic, for debugging racelab itself.
        let loud = std::env::var_os("RACELAB_PANICS").is_some();
        std::panic::set_hook(Box::new(move |info| {
            if loud || QUIET.with(Cell::get) == 0 {
                previous(info);
            }
        }));
    });
}

/// Runs every scenario of `T` under every engine with its default configuration: the quickest
/// way to check a structure of your own. See the README's "check your own structure".
pub fn check_all<T: crate::scenario::Subject>() -> Vec<EngineResult> {
    let set = ScenarioSet::of::<T>();
    let n = (set.std)().len();
    let mut out = Vec::new();
    for kind in EngineKind::ALL {
        let engine = Engine::default_for(kind);
        for i in 0..n {
            out.push(engine.run(&set, i));
        }
    }
    out
}
