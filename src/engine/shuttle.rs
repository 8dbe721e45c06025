//! The shuttle engines: random, PCT and bounded DFS schedulers.
//!
//! racelab wraps every shuttle scheduler in `Recording`, which records the schedule (so a
//! failure prints a schedule string without shuttle's panic hook), counts steps and threads,
//! and enforces the run's caps: the execution budget and time limit before each execution, the
//! step cap inside one. When a failure or a cap is recorded it ends the execution at the next
//! scheduling point, so shuttle never sees a panic for it and prints nothing.

use super::{
    Bound, Cap, Ending, EngineKind, EngineResult, Guarantee, ModelRun, PctGuarantee, Quiet, Replay,
    RunOptions, Verdict, apply, conclude,
};
use crate::runtime::Shuttle;
use crate::runtime::model::{self, CapHit};
use crate::scenario::Scenario;
use shuttle::scheduler::{
    DfsScheduler, PctScheduler, RandomScheduler, ReplayScheduler, Schedule, Scheduler, Task, TaskId,
};
use shuttle::{Config, FailurePersistence, Runner};
use shuttle_engine::scheduler::serialization::{deserialize_schedule, serialize_schedule};
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

/// Which shuttle scheduler.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// Uniformly random choice at every scheduling point.
    Random,
    /// Probabilistic concurrency testing with [`ShuttleConfig::depth`].
    Pct,
    /// Depth-first enumeration, bounded by [`ShuttleConfig::iterations`].
    Dfs,
}

/// Configuration of the shuttle engines.
#[derive(Debug, Clone)]
pub struct ShuttleConfig {
    /// Executions to try (for DFS: the bound on the enumeration; with `confidence`: the most
    /// executions the adaptive budget may use).
    pub iterations: usize,
    /// The RNG seed of random and PCT: fixed by default, so a run is reproducible.
    pub seed: u64,
    /// PCT's bug depth: how many ordering constraints a bug may need (d in the PCT paper).
    pub depth: usize,
    /// Most scheduling steps one execution may take; past it the execution is stopped and the
    /// pass names the cap (a livelock, or a spin that never yields).
    pub max_steps: usize,
    /// Stop starting new executions after this long (checked before each, so the overshoot is
    /// at most one execution). Spinning code makes every schedule long, and bounded DFS over it
    /// can otherwise take minutes per scenario.
    pub max_time: Option<Duration>,
    /// PCT only: an adaptive budget. Run until PCT's guarantee gives this confidence (0–1) of
    /// finding any bug of depth ≤ `depth`, recomputed after every execution from the threads
    /// and steps seen so far, or until `iterations` or `max_time` ends it first (the pass then
    /// names that cap).
    pub confidence: Option<f64>,
}

impl Default for ShuttleConfig {
    fn default() -> Self {
        ShuttleConfig {
            iterations: 2_000,
            seed: 0x5eed_1ace,
            depth: 3,
            max_steps: 100_000,
            max_time: Some(Duration::from_secs(2)),
            confidence: None,
        }
    }
}

std::thread_local! {
    /// The schedule of the current execution. The scheduler runs on the engine's OS thread, so
    /// a thread-local costs less than a lock at every scheduling step.
    static SCHEDULE: std::cell::RefCell<Schedule> = std::cell::RefCell::new(Schedule::new(0));
    /// The data choices of the current execution (modelled time's timers), in order. shuttle's
    /// schedule records only *that* a choice was made; the values make the replay exact, also
    /// for the proptest engine, whose choices do not come from the schedule's seed.
    static CHOICES: std::cell::RefCell<Vec<u64>> = const { std::cell::RefCell::new(Vec::new()) };
}

/// The separator between a shuttle schedule and its data choices in a replay string.
const CHOICES_MARK: char = '~';

/// A replay scheduler that hands back the recorded data choices.
struct WithChoices<S> {
    inner: S,
    choices: Vec<u64>,
    next: usize,
}

impl<S: Scheduler> Scheduler for WithChoices<S> {
    fn new_execution(&mut self) -> Option<Schedule> {
        self.next = 0;
        self.inner.new_execution()
    }
    fn next_task(
        &mut self,
        runnable: &[&Task],
        current: Option<TaskId>,
        is_yielding: bool,
    ) -> Option<TaskId> {
        self.inner.next_task(runnable, current, is_yielding)
    }
    fn next_u64(&mut self) -> u64 {
        let fallback = self.inner.next_u64();
        let v = self.choices.get(self.next).copied().unwrap_or(fallback);
        self.next += 1;
        v
    }
}

/// Splits a replay string into the shuttle schedule and its data choices.
fn split_choices(s: &str) -> Result<(&str, Vec<u64>), String> {
    let Some((schedule, values)) = s.split_once(CHOICES_MARK) else {
        return Ok((s, Vec::new()));
    };
    let values = values
        .split(',')
        .map(|v| u64::from_str_radix(v, 16))
        .collect::<Result<Vec<u64>, _>>()
        .map_err(|_| "the data choices after `~` are comma-separated hex numbers".to_string())?;
    Ok((schedule, values))
}

/// Wraps a scheduler: records the schedule of the current execution, counts steps and decision
/// points, and ends the run when a failure, a cap or the adaptive target says so.
pub(crate) struct Recording<S> {
    pub inner: S,
    run: Arc<ModelRun>,
    max_steps: u64,
    steps: u64,
    decisions: u64,
    tasks: usize,
    /// (target confidence, depth) of an adaptive PCT budget.
    adaptive: Option<(f64, usize)>,
    pub reached: Arc<std::sync::atomic::AtomicBool>,
    /// Stop after a first execution with no scheduling decision (PCT: nothing to vary, and
    /// shuttle's PCT asserts on it).
    stop_if_sequential: bool,
    pub sequential: Arc<std::sync::atomic::AtomicBool>,
}

impl<S> Recording<S> {
    pub(crate) fn new(inner: S, run: Arc<ModelRun>, max_steps: u64) -> Self {
        SCHEDULE.with(|s| *s.borrow_mut() = Schedule::new(0));
        CHOICES.with(|c| c.borrow_mut().clear());
        Recording {
            inner,
            run,
            max_steps,
            steps: 0,
            decisions: 0,
            tasks: 0,
            adaptive: None,
            reached: Arc::new(std::sync::atomic::AtomicBool::new(false)),
            stop_if_sequential: false,
            sequential: Arc::new(std::sync::atomic::AtomicBool::new(false)),
        }
    }
    fn end_execution(&mut self) {
        self.run
            .threads_seen
            .fetch_max(self.tasks, Ordering::Relaxed);
        self.run
            .steps_seen
            .fetch_max(self.decisions, Ordering::Relaxed);
        self.steps = 0;
        self.decisions = 0;
        self.tasks = 0;
    }
}

impl<S: Scheduler> Scheduler for Recording<S> {
    fn new_execution(&mut self) -> Option<Schedule> {
        let ran = self.run.executions() > 0;
        if ran {
            self.end_execution();
        }
        if model::stopping() || self.run.over_budget().is_some() {
            return None;
        }
        if self.stop_if_sequential
            && self.run.executions() == 1
            && self.run.steps_seen.load(Ordering::Relaxed) == 0
        {
            self.sequential.store(true, Ordering::Relaxed);
            return None;
        }
        if let Some((target, depth)) = self.adaptive
            && ran
        {
            let g = PctGuarantee::new(
                depth,
                self.run.threads_seen.load(Ordering::Relaxed),
                self.run.steps_seen.load(Ordering::Relaxed),
                self.run.executions(),
            );
            if g.confidence >= target {
                self.reached.store(true, Ordering::Relaxed);
                return None;
            }
        }
        let s = self.inner.new_execution()?;
        SCHEDULE.with(|c| *c.borrow_mut() = Schedule::new(s.seed));
        CHOICES.with(|c| c.borrow_mut().clear());
        Some(s)
    }
    fn next_task(
        &mut self,
        runnable: &[&Task],
        current: Option<TaskId>,
        is_yielding: bool,
    ) -> Option<TaskId> {
        if model::stopping() {
            return None;
        }
        self.steps += 1;
        if self.steps > self.max_steps {
            model::record_cap(CapHit::Steps(self.max_steps));
            return None;
        }
        if runnable.len() > 1 {
            self.decisions += 1;
        }
        if let Some(max) = runnable.iter().map(|t| usize::from(t.id())).max() {
            self.tasks = self.tasks.max(max + 1);
        }
        let t = self.inner.next_task(runnable, current, is_yielding)?;
        SCHEDULE.with(|c| c.borrow_mut().push_task(t));
        Some(t)
    }
    fn next_u64(&mut self) -> u64 {
        SCHEDULE.with(|c| c.borrow_mut().push_random());
        let v = self.inner.next_u64();
        CHOICES.with(|c| c.borrow_mut().push(v));
        v
    }
}

/// shuttle's `RandomScheduler` prints "failing seed: … To replay the failure …" when it is
/// dropped before its iterations ran out, which is every time racelab stops a run early (a
/// failure, a cap). racelab replays from its own schedule strings, so the advice is wrong here:
/// the scheduler is never dropped. It owns no heap memory (two PCG generators and an
/// `Option<u64>`), so nothing leaks.
struct NoSeedPrint(std::mem::ManuallyDrop<RandomScheduler>);

impl Scheduler for NoSeedPrint {
    fn new_execution(&mut self) -> Option<Schedule> {
        self.0.new_execution()
    }
    fn next_task(
        &mut self,
        runnable: &[&Task],
        current: Option<TaskId>,
        is_yielding: bool,
    ) -> Option<TaskId> {
        self.0.next_task(runnable, current, is_yielding)
    }
    fn next_u64(&mut self) -> u64 {
        self.0.next_u64()
    }
}

pub(crate) fn config() -> Config {
    let mut config = Config::new();
    config.max_time = None;
    config.failure_persistence = FailurePersistence::None;
    config.max_steps = shuttle::MaxSteps::None;
    config.silence_warnings = true;
    config
}

/// What one shuttle run produced, before it becomes a result.
pub(crate) struct Output {
    pub ending: Ending,
    pub schedule: String,
    pub elapsed: Duration,
    pub reached: bool,
    /// PCT stopped after one execution that made no scheduling decision.
    pub sequential: bool,
}

impl Output {
    /// The result of the run: its executions, time, histogram, and how it ended, with the
    /// failing schedule as its replay.
    pub(crate) fn result(self, engine: EngineKind, scenario: &str, run: &ModelRun) -> EngineResult {
        let mut r = EngineResult::empty(engine, scenario);
        r.executions = run.executions();
        r.elapsed = self.elapsed;
        r.histogram = run.histogram();
        let schedule = self.schedule;
        apply(&mut r, self.ending, || Some(Replay::Shuttle(schedule)));
        r
    }
}

/// The note of a PCT pass that stopped after one execution.
const PCT_SEQUENTIAL: &str = "the first execution made no scheduling decision (at most one thread could run at every step), so PCT has no priorities to vary: one run";

/// How a shuttle-based engine drives its scheduler.
#[derive(Clone, Copy, Default)]
pub(crate) struct Drive {
    /// (target confidence, depth) of an adaptive PCT budget.
    pub adaptive: Option<(f64, usize)>,
    /// Whether the engine chooses when timers fire (see `runtime::time`).
    pub time_choices: bool,
    /// PCT: stop after a first execution without a scheduling decision.
    pub pct: bool,
}

/// Runs `scenario` under `scheduler` (wrapped in `Recording`) for the run `run`. Shared by
/// every shuttle-based engine.
pub(crate) fn run_with<S: Scheduler + 'static>(
    scenario: &Scenario<Shuttle>,
    scheduler: S,
    max_steps: usize,
    run: &Arc<ModelRun>,
    opts: &RunOptions,
    how: Drive,
) -> Output {
    let Drive {
        adaptive,
        time_choices,
        pct,
    } = how;
    let _quiet = Quiet::new();
    let mut recording = Recording::new(scheduler, run.clone(), max_steps as u64);
    recording.adaptive = adaptive;
    recording.stop_if_sequential = pct;
    let reached = recording.reached.clone();
    let sequential = recording.sequential.clone();
    let runner = Runner::new(recording, config());
    let body = run.body(scenario, false);
    model::begin::<Shuttle>(opts.traces, u64::MAX);
    model::set_time_choices(time_choices);
    let start = Instant::now();
    let outcome = catch_unwind(AssertUnwindSafe(|| {
        runner.run(body);
    }));
    let elapsed = start.elapsed();
    let ending = conclude(outcome, run, "shuttle");
    let mut schedule = SCHEDULE.with(|c| serialize_schedule(&c.borrow()));
    CHOICES.with(|c| {
        let c = c.borrow();
        if !c.is_empty() {
            let values: Vec<String> = c.iter().map(|v| format!("{v:x}")).collect();
            schedule.push(CHOICES_MARK);
            schedule.push_str(&values.join(","));
        }
    });
    Output {
        ending,
        schedule,
        elapsed,
        reached: reached.load(Ordering::Relaxed),
        sequential: sequential.load(Ordering::Relaxed),
    }
}

/// Runs `scenario` under the shuttle scheduler `mode` with default options.
pub fn check(scenario: &Scenario<Shuttle>, mode: Mode, cfg: &ShuttleConfig) -> EngineResult {
    run(scenario, mode, cfg, &RunOptions::default())
}

/// Runs `scenario` under the shuttle scheduler `mode`.
pub fn run(
    scenario: &Scenario<Shuttle>,
    mode: Mode,
    cfg: &ShuttleConfig,
    opts: &RunOptions,
) -> EngineResult {
    let engine = match mode {
        Mode::Random => EngineKind::ShuttleRandom,
        Mode::Pct => EngineKind::ShuttlePct,
        Mode::Dfs => EngineKind::ShuttleDfs,
    };
    if cfg.iterations == 0 {
        return EngineResult::not_run(engine, scenario.name(), "a budget of 0 executions".into());
    }
    let adaptive = match (mode, cfg.confidence) {
        (Mode::Pct, Some(c)) if (0.0..1.0).contains(&c) => Some((c, cfg.depth)),
        (_, Some(c)) if !(0.0..1.0).contains(&c) => {
            return EngineResult::not_run(
                engine,
                scenario.name(),
                format!("confidence {c} is not between 0 and 1"),
            );
        }
        _ => None,
    };
    let run = ModelRun::new(
        engine,
        scenario.name(),
        cfg.max_time,
        Some(cfg.iterations as u64),
        opts,
    );
    let out = match mode {
        Mode::Random => run_with(
            scenario,
            NoSeedPrint(std::mem::ManuallyDrop::new(RandomScheduler::new_from_seed(
                cfg.seed,
                usize::MAX,
            ))),
            cfg.max_steps,
            &run,
            opts,
            Drive {
                time_choices: true,
                ..Drive::default()
            },
        ),
        Mode::Pct => run_with(
            scenario,
            PctScheduler::new_from_seed(cfg.seed, cfg.depth.max(1), usize::MAX),
            cfg.max_steps,
            &run,
            opts,
            Drive {
                adaptive,
                time_choices: true,
                pct: true,
            },
        ),
        Mode::Dfs => run_with(
            scenario,
            DfsScheduler::new(None, false),
            cfg.max_steps,
            &run,
            opts,
            Drive::default(),
        ),
    };
    let reached = out.reached;
    let sequential = out.sequential;
    let mut r = out.result(engine, scenario.name(), &run);
    if r.verdict == Verdict::Passed {
        let budget_used = r.bound == Some(Bound::Cap(Cap::Executions(cfg.iterations as u64)));
        match mode {
            Mode::Dfs => {
                if r.bound.is_none() {
                    r.bound = Some(Bound::Exhausted {
                        preemption_bound: None,
                    });
                }
            }
            Mode::Pct if sequential => {
                r.bound = Some(Bound::Runs(r.executions));
                r.note = PCT_SEQUENTIAL.into();
            }
            Mode::Random | Mode::Pct => {
                if reached {
                    r.bound = Some(Bound::Confidence {
                        confidence: adaptive.map_or(0.0, |a| a.0),
                        depth: cfg.depth,
                    });
                } else if r.bound.is_none() || (budget_used && adaptive.is_none()) {
                    r.bound = Some(Bound::Runs(r.executions));
                }
                let pct = (mode == Mode::Pct).then(|| {
                    PctGuarantee::new(
                        cfg.depth,
                        run.threads_seen.load(Ordering::Relaxed),
                        run.steps_seen.load(Ordering::Relaxed),
                        r.executions,
                    )
                });
                r.guarantee = Some(Guarantee::new(r.executions, pct));
            }
        }
    }
    run.progress(true);
    r
}

/// Checks that `s` is a well-formed shuttle schedule string before shuttle decodes it: shuttle's
/// own decoder indexes without bounds checks and trusts the encoded length, so a truncated or
/// corrupted string would panic (or allocate without limit) instead of being rejected.
///
/// # Errors
/// A one-line description of what is wrong.
pub fn validate_schedule(s: &str) -> Result<Schedule, String> {
    let (s, _) = split_choices(s)?;
    let hex: Vec<u8> = s.bytes().filter(|b| !b.is_ascii_whitespace()).collect();
    if hex.is_empty() || hex.len() % 2 != 0 {
        return Err("a shuttle schedule is a non-empty even-length hex string".into());
    }
    let nibble = |b: u8| (b as char).to_digit(16).map(|d| d as u8);
    let bytes = hex
        .chunks(2)
        .map(|p| Some(nibble(p[0])? << 4 | nibble(p[1])?))
        .collect::<Option<Vec<u8>>>()
        .ok_or("a shuttle schedule is hex digits only")?;
    if bytes[0] != 0x91 {
        return Err("not a shuttle v2 schedule (bad magic byte)".into());
    }
    let mut pos = 1;
    let mut varint = || -> Result<u64, String> {
        let mut value = 0u64;
        for shift in (0..70).step_by(7) {
            let b = *bytes.get(pos).ok_or("schedule header is truncated")?;
            pos += 1;
            let part = u64::from(b & 0x7f)
                .checked_shl(shift)
                .filter(|v| v >> shift == u64::from(b & 0x7f))
                .ok_or("schedule header number overflows")?;
            value |= part;
            if b & 0x80 == 0 {
                return Ok(value);
            }
        }
        Err("schedule header number overflows".into())
    };
    let task_bits = varint()?;
    let len = varint()?;
    let _seed = varint()?;
    if !(1..=32).contains(&task_bits) {
        return Err(format!("implausible task id width {task_bits}"));
    }
    let total = (bytes.len() - pos) as u64 * 8;
    if len > total {
        return Err("schedule is shorter than its header says".into());
    }
    let bit = |i: u64| bytes[pos + (i / 8) as usize] >> (i % 8) & 1 == 1;
    let mut offset = 0u64;
    for _ in 0..len {
        if offset >= total {
            return Err("schedule is shorter than its header says".into());
        }
        offset += if bit(offset) { 1 } else { 1 + task_bits };
        if offset > total {
            return Err("schedule is shorter than its header says".into());
        }
    }
    deserialize_schedule(s).ok_or_else(|| "corrupt shuttle schedule string".into())
}

/// Replays a shuttle schedule string (as printed in a counterexample) on `scenario`.
///
/// # Errors
/// If the string is not a shuttle schedule.
pub fn replay(
    scenario: &Scenario<Shuttle>,
    engine: EngineKind,
    schedule: &str,
) -> Result<EngineResult, String> {
    let (_, choices) = split_choices(schedule)?;
    let schedule = validate_schedule(schedule)?;
    let mut replayer = ReplayScheduler::new_from_schedule(schedule);
    replayer.set_allow_incomplete();
    // The original run drew data choices exactly where it met a timed wait with choices on.
    let time_choices = !choices.is_empty();
    let scheduler = WithChoices {
        inner: replayer,
        choices,
        next: 0,
    };
    let opts = RunOptions::default();
    let run = ModelRun::new(engine, scenario.name(), None, Some(1), &opts);
    let out = run_with(
        scenario,
        scheduler,
        usize::MAX / 2,
        &run,
        &opts,
        Drive {
            time_choices,
            ..Drive::default()
        },
    );
    Ok(out.result(engine, scenario.name(), &run))
}
