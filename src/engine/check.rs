//! [`Check`]: the builder a user checks a structure of their own with.
//!
//! ```no_run
//! use racelab::engine::{Check, EngineKind};
//! # use racelab::{Runtime, Scenario, Subject};
//! # struct MyQueue { capacity: usize }
//! # impl Subject for MyQueue {
//! #     fn scenarios<R: Runtime>(&self) -> Vec<Scenario<R>> { Vec::new() }
//! # }
//! let results = Check::new()
//!     .engines([EngineKind::Loom, EngineKind::ShuttlePct, EngineKind::Proptest])
//!     .seed(7)
//!     .runs(5_000)
//!     .time_limit(std::time::Duration::from_secs(10))
//!     .progress(|p| eprintln!("{p}"))
//!     .run(&MyQueue { capacity: 2 });
//! println!("{results}");
//! ```

use super::{
    Bound, Cap, Engine, EngineKind, EngineResult, Replay, RunOptions, TraceMode, Verdict,
    run_unless_skipped,
};
use crate::runtime::{Loom, Shuttle, Std};
use crate::scenario::{BugClass, Scenario, ScenarioSet, Subject};
use std::fmt;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// How far one engine run has got: what [`Check::progress`] callbacks receive.
#[derive(Debug, Clone)]
pub struct Progress {
    /// The engine.
    pub engine: EngineKind,
    /// The scenario.
    pub scenario: String,
    /// Executions so far.
    pub executions: u64,
    /// Time so far.
    pub elapsed: Duration,
}

impl fmt::Display for Progress {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} `{}`: {} executions in {:.1} s",
            self.engine,
            self.scenario,
            super::stress::group(self.executions),
            self.elapsed.as_secs_f64()
        )
    }
}

/// Which engines to run, with what budgets, seeds, time limits, traces and progress.
///
/// Every setting has a default: all six engines with their default configurations
/// ([`Engine::default_for`]), full traces, no time limit beyond each engine's own, no progress.
/// Settings that name an engine's budget apply to the engines that have one; the others ignore
/// them.
#[derive(Clone)]
pub struct Check {
    engines: Vec<Engine>,
    opts: RunOptions,
    cell_time_limit: Option<Duration>,
    first_catch: bool,
    only: Option<Vec<String>>,
}

impl Default for Check {
    fn default() -> Self {
        Check::new()
    }
}

impl fmt::Debug for Check {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Check")
            .field("engines", &self.engines)
            .field("opts", &self.opts)
            .field("cell_time_limit", &self.cell_time_limit)
            .finish()
    }
}

impl Check {
    /// Every engine with its default configuration.
    pub fn new() -> Check {
        Check {
            engines: EngineKind::ALL.map(Engine::default_for).to_vec(),
            opts: RunOptions::default(),
            cell_time_limit: None,
            first_catch: false,
            only: None,
        }
    }
    /// Only these engines, in report order; an engine configured earlier keeps its configuration.
    pub fn engines(mut self, kinds: impl IntoIterator<Item = EngineKind>) -> Check {
        let kinds: Vec<EngineKind> = kinds.into_iter().collect();
        let mut engines = Vec::new();
        for k in EngineKind::ALL.into_iter().filter(|k| kinds.contains(k)) {
            let e = self
                .engines
                .iter()
                .find(|e| e.kind() == k)
                .cloned()
                .unwrap_or_else(|| Engine::default_for(k));
            engines.push(e);
        }
        self.engines = engines;
        self
    }
    /// Sets one engine's configuration (adding the engine if it was not selected).
    pub fn engine(mut self, engine: Engine) -> Check {
        match self.engines.iter_mut().find(|e| e.kind() == engine.kind()) {
            Some(e) => *e = engine,
            None => {
                self.engines.push(engine);
                self.engines.sort_by_key(Engine::kind);
            }
        }
        self
    }
    fn each(mut self, f: impl Fn(&mut Engine)) -> Check {
        self.engines.iter_mut().for_each(f);
        self
    }
    /// The seed of the randomised engines (shuttle random and PCT, proptest).
    pub fn seed(self, seed: u64) -> Check {
        self.each(|e| match e {
            Engine::ShuttleRandom(c) | Engine::ShuttlePct(c) => c.seed = seed,
            Engine::Proptest(c) => {
                let mut s = [0u8; 32];
                for (i, chunk) in s.chunks_mut(8).enumerate() {
                    chunk.copy_from_slice(
                        &(seed ^ (i as u64).wrapping_mul(0x9e37_79b9)).to_le_bytes(),
                    );
                }
                c.seed = s;
            }
            _ => {}
        })
    }
    /// The execution budget: shuttle random and PCT runs, DFS's schedule bound, proptest cases,
    /// loom's `max_permutations`, stress rounds.
    pub fn runs(self, n: usize) -> Check {
        self.each(|e| match e {
            Engine::ShuttleRandom(c) | Engine::ShuttlePct(c) | Engine::ShuttleDfs(c) => {
                c.iterations = n
            }
            Engine::Proptest(c) => c.cases = u32::try_from(n).unwrap_or(u32::MAX),
            Engine::Loom(c) => c.max_permutations = Some(n),
            Engine::Stress(c) => c.rounds = n as u64,
        })
    }
    /// PCT's adaptive budget: run until its guarantee gives `confidence` (0–1) of finding any bug
    /// of depth ≤ `depth`, within the execution budget and the time limit.
    pub fn pct_confidence(self, confidence: f64, depth: usize) -> Check {
        self.each(|e| {
            if let Engine::ShuttlePct(c) = e {
                c.confidence = Some(confidence);
                c.depth = depth;
                c.iterations = c.iterations.max(1_000_000);
            }
        })
    }
    /// loom's preemption bound (`None`: unbounded, fully exhaustive).
    pub fn preemption_bound(self, bound: Option<usize>) -> Check {
        self.each(|e| {
            if let Engine::Loom(c) = e {
                c.preemption_bound = bound;
            }
        })
    }
    /// A time limit for each engine run (one scenario under one engine), on top of each
    /// engine's own. A run stopped by it passes with [`Cap::Time`] named.
    pub fn time_limit(mut self, limit: Duration) -> Check {
        self.opts.time_limit = Some(limit);
        self
    }
    /// A time limit for all the scenarios of the subject under one engine (a matrix cell).
    /// Scenarios that find it used up are not run, with the reason.
    pub fn cell_time_limit(mut self, limit: Duration) -> Check {
        self.cell_time_limit = Some(limit);
        self
    }
    /// Runs only the scenarios named in `names` (exact names, as [`ScenarioSet::names`] gives
    /// them); the others come back as not run, with the reason. For a test that is about one
    /// scenario, or to reproduce a cell's one failing scenario without its neighbours.
    ///
    /// [`ScenarioSet::names`]: crate::ScenarioSet::names
    pub fn scenarios<S: Into<String>>(mut self, names: impl IntoIterator<Item = S>) -> Check {
        self.only = Some(names.into_iter().map(Into::into).collect());
        self
    }
    /// Ends a cell at its first catch: once a scenario has caught a bug, the subject's later
    /// scenarios under that engine are not run, with the reason. For runs that only need to
    /// know that an engine catches a racy subject (the deep loom run); the matrix runs every
    /// scenario, to show which ones catch it.
    pub fn first_catch(mut self) -> Check {
        self.first_catch = true;
        self
    }
    /// What counterexample traces record (default: every runtime operation).
    pub fn traces(mut self, mode: TraceMode) -> Check {
        self.opts.traces = mode;
        self
    }
    /// Called at most every 200 ms during each engine run, and when it ends.
    pub fn progress(mut self, f: impl Fn(&Progress) + Send + Sync + 'static) -> Check {
        self.opts.progress = Some(Arc::new(f));
        self
    }
    /// The engines, as configured.
    pub fn configured(&self) -> &[Engine] {
        &self.engines
    }
    /// The options every run gets.
    pub fn options(&self) -> &RunOptions {
        &self.opts
    }

    /// Runs every scenario of `subject` under every selected engine.
    pub fn run<T: Subject>(&self, subject: &T) -> Results {
        self.run_built(&Built::of(subject))
    }

    /// Runs every scenario of `set` under every selected engine.
    pub fn run_set(&self, set: &ScenarioSet) -> Results {
        self.run_built(&Built::set(set))
    }

    /// Runs the scenarios of `subject` under one engine: one matrix cell, with the cell time
    /// limit applied.
    pub fn run_engine<T: Subject>(&self, engine: &Engine, subject: &T) -> Vec<EngineResult> {
        self.cell(engine, &Built::of(subject))
    }

    /// [`Check::run_engine`] for a scenario set.
    pub fn run_engine_set(&self, engine: &Engine, set: &ScenarioSet) -> Vec<EngineResult> {
        self.cell(engine, &Built::set(set))
    }

    /// The configured engine of `kind`, or its default.
    pub fn engine_of(&self, kind: EngineKind) -> Engine {
        self.engines
            .iter()
            .find(|e| e.kind() == kind)
            .cloned()
            .unwrap_or_else(|| Engine::default_for(kind))
    }

    fn run_built(&self, built: &Built) -> Results {
        let mut results = Vec::new();
        for engine in &self.engines {
            results.extend(self.cell(engine, built));
        }
        Results { results }
    }

    fn cell(&self, engine: &Engine, built: &Built) -> Vec<EngineResult> {
        let start = Instant::now();
        let mut out: Vec<EngineResult> = Vec::new();
        for i in 0..built.std.len() {
            if let Some(only) = &self.only
                && !only.iter().any(|n| n == built.std[i].name())
            {
                let mut r = EngineResult::not_run(
                    engine.kind(),
                    built.std[i].name(),
                    "not selected (Check::scenarios)".into(),
                );
                r.scenario_index = i;
                out.push(r);
                continue;
            }
            if let Some(first) = out.iter().find(|r| r.verdict == Verdict::Caught)
                && self.first_catch
            {
                let mut r = EngineResult::not_run(
                    engine.kind(),
                    built.std[i].name(),
                    format!("the cell ends at its first catch, in `{}`", first.scenario),
                );
                r.scenario_index = i;
                out.push(r);
                continue;
            }
            let mut opts = self.opts.clone();
            let mut cell_cut = None;
            if let Some(cell) = self.cell_time_limit {
                let left = cell.saturating_sub(start.elapsed());
                if left.is_zero() {
                    let mut r = EngineResult::not_run(
                        engine.kind(),
                        built.std[i].name(),
                        format!(
                            "the cell time limit of {} was used up by earlier scenarios",
                            super::secs(cell)
                        ),
                    );
                    r.scenario_index = i;
                    out.push(r);
                    continue;
                }
                if opts.time_limit.is_none_or(|t| left < t) {
                    opts.time_limit = Some(left);
                    cell_cut = Some((left, cell));
                }
            }
            let mut r = built.run(engine, i, &opts);
            if let (Some((left, cell)), Some(Bound::Cap(Cap::Time(d)))) = (cell_cut, r.bound)
                && d == left
            {
                r.bound = Some(Bound::Cap(Cap::CellTime(cell)));
            }
            out.push(r);
        }
        out
    }

    /// Reproduces a failure of `subject` from its replay token (`EngineResult::replay_token`:
    /// `scenario-index/shuttle:…` or `scenario-index/loom:pbN:ITERATION`).
    ///
    /// # Errors
    /// A one-line description of a malformed token or an index out of range.
    pub fn replay<T: Subject>(&self, subject: &T, token: &str) -> Result<EngineResult, String> {
        let (index, payload) = token
            .split_once('/')
            .ok_or("a replay token reads `SCENARIO-INDEX/PAYLOAD`")?;
        let built = Built::of(subject);
        let index: usize = index
            .parse()
            .ok()
            .filter(|i| *i < built.std.len())
            .ok_or_else(|| format!("scenario index `{index}` out of range"))?;
        let payload: Replay = payload.parse()?;
        let mut r = match &payload {
            Replay::Shuttle(s) => {
                super::shuttle::replay(&built.shuttle[index], EngineKind::ShuttleRandom, s)?
            }
            Replay::Loom {
                preemption_bound, ..
            } => super::loom::replay(&built.loom[index], *preemption_bound),
        };
        r.scenario_index = index;
        Ok(r)
    }
}

/// A subject's scenarios, built once for every engine of a run.
struct Built {
    std: Vec<Scenario<Std>>,
    loom: Vec<Scenario<Loom>>,
    shuttle: Vec<Scenario<Shuttle>>,
}

impl Built {
    fn of<T: Subject>(subject: &T) -> Built {
        Built {
            std: subject.scenarios(),
            loom: subject.scenarios(),
            shuttle: subject.scenarios(),
        }
    }

    fn set(set: &ScenarioSet) -> Built {
        Built {
            std: set.std(),
            loom: set.loom(),
            shuttle: set.shuttle(),
        }
    }

    fn run(&self, engine: &Engine, i: usize, opts: &RunOptions) -> EngineResult {
        let kind = engine.kind();
        let mut r = match engine {
            Engine::Loom(c) => {
                run_unless_skipped(kind, &self.loom[i], |s| super::loom::run(s, c, opts))
            }
            Engine::ShuttleRandom(c) | Engine::ShuttlePct(c) | Engine::ShuttleDfs(c) => {
                let mode = match kind {
                    EngineKind::ShuttleRandom => super::shuttle::Mode::Random,
                    EngineKind::ShuttlePct => super::shuttle::Mode::Pct,
                    _ => super::shuttle::Mode::Dfs,
                };
                run_unless_skipped(kind, &self.shuttle[i], |s| {
                    super::shuttle::run(s, mode, c, opts)
                })
            }
            Engine::Proptest(c) => {
                run_unless_skipped(kind, &self.shuttle[i], |s| super::schedule::run(s, c, opts))
            }
            Engine::Stress(c) => {
                run_unless_skipped(kind, &self.std[i], |s| super::stress::run(s, c, opts))
            }
        };
        r.scenario_index = i;
        r
    }
}

/// The results of a [`Check`]: one per engine and scenario.
#[derive(Debug, Clone)]
pub struct Results {
    /// Every result, engine by engine, scenario by scenario.
    pub results: Vec<EngineResult>,
}

impl Results {
    /// Every result.
    pub fn iter(&self) -> std::slice::Iter<'_, EngineResult> {
        self.results.iter()
    }
    /// The results of one engine.
    pub fn of(&self, kind: EngineKind) -> impl Iterator<Item = &EngineResult> {
        self.results.iter().filter(move |r| r.engine == kind)
    }
    /// How many results there are.
    pub fn len(&self) -> usize {
        self.results.len()
    }
    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.results.is_empty()
    }
    /// Whether any engine caught a failure.
    pub fn caught(&self) -> bool {
        self.results.iter().any(|r| r.verdict == Verdict::Caught)
    }
    /// Asserts that each of `engines` caught `class` in at least one scenario.
    ///
    /// # Panics
    /// Naming the first engine that did not, with its verdict lines.
    pub fn assert_caught_by(&self, engines: &[EngineKind], class: BugClass) -> &Self {
        for &k in engines {
            let hit = self.of(k).any(|r| {
                r.verdict == Verdict::Caught
                    && r.counterexample.as_ref().is_some_and(|c| c.class == class)
            });
            if !hit {
                let lines: Vec<String> = self
                    .of(k)
                    .map(|r| format!("  {}: {}", r.scenario, r.summary()))
                    .collect();
                panic!(
                    "{k} did not catch {class}:\n{}",
                    if lines.is_empty() {
                        "  (not selected)".to_string()
                    } else {
                        lines.join("\n")
                    }
                );
            }
        }
        self
    }
    /// Asserts that no engine caught anything and none failed: every result passed or was not
    /// run (with its reason).
    ///
    /// # Panics
    /// Naming the first result that caught something or erred.
    pub fn assert_passed(&self) -> &Self {
        if let Some(r) = self
            .results
            .iter()
            .find(|r| matches!(r.verdict, Verdict::Caught | Verdict::Error))
        {
            panic!("{} on `{}`: {}", r.engine, r.scenario, r.summary());
        }
        self
    }
}

impl<'a> IntoIterator for &'a Results {
    type Item = &'a EngineResult;
    type IntoIter = std::slice::Iter<'a, EngineResult>;
    fn into_iter(self) -> Self::IntoIter {
        self.results.iter()
    }
}

impl IntoIterator for Results {
    type Item = EngineResult;
    type IntoIter = std::vec::IntoIter<EngineResult>;
    fn into_iter(self) -> Self::IntoIter {
        self.results.into_iter()
    }
}

impl fmt::Display for Results {
    /// One verdict line per result, then the first counterexample with its trace and replay.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for r in &self.results {
            writeln!(
                f,
                "{:<15} {:<28} {}",
                r.engine.name(),
                r.scenario,
                r.summary()
            )?;
        }
        if let Some(r) = self.results.iter().find(|r| r.counterexample.is_some()) {
            let c = r.counterexample.as_ref().expect("has one");
            writeln!(
                f,
                "\nfirst counterexample ({}, `{}`):",
                r.engine, r.scenario
            )?;
            for line in c.message.lines() {
                writeln!(f, "  {line}")?;
            }
            for line in c.trace.to_string().lines() {
                writeln!(f, "    {line}")?;
            }
            if let Some(t) = r.replay_token() {
                writeln!(f, "  replay: Check::replay(&subject, \"{t}\")")?;
            }
        }
        Ok(())
    }
}
