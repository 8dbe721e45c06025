//! The shuttle engines: random, PCT and bounded DFS schedulers.

use super::{EngineKind, EngineResult, ModelRun, Quiet, Replay, Verdict, with_class};
use crate::runtime::Shuttle;
use crate::scenario::Scenario;
use crate::trace;
use shuttle::scheduler::{
    DfsScheduler, PctScheduler, RandomScheduler, ReplayScheduler, Schedule, Scheduler, Task, TaskId,
};
use shuttle::{Config, FailurePersistence, Runner};
use shuttle_engine::scheduler::serialization::{deserialize_schedule, serialize_schedule};
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::{Arc, Mutex};
use std::time::Instant;

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
    /// Executions to try (for DFS: the bound on the enumeration).
    pub iterations: usize,
    /// The RNG seed of random and PCT: fixed by default, so a run is reproducible.
    pub seed: u64,
    /// PCT's bug depth: how many ordering constraints a bug may need (d in the PCT paper).
    pub depth: usize,
    /// shuttle's step limit per execution; a schedule that exceeds it (a livelock) fails.
    pub max_steps: usize,
    /// Stop starting new executions after this long (shuttle's `max_time`); the note says when
    /// the cap cut a run short. Spinning code makes every schedule long, and bounded DFS over it
    /// can otherwise take minutes per scenario.
    pub max_time: Option<std::time::Duration>,
}

impl Default for ShuttleConfig {
    fn default() -> Self {
        ShuttleConfig {
            iterations: 2_000,
            seed: 0x5eed_1ace,
            depth: 3,
            max_steps: 100_000,
            max_time: Some(std::time::Duration::from_secs(2)),
        }
    }
}

/// Wraps a scheduler and records the schedule of the current execution, so a failure can be
/// printed as a shuttle schedule string without going through shuttle's panic hook.
pub(crate) struct Recording<S> {
    pub inner: S,
    pub current: Arc<Mutex<Schedule>>,
}

impl<S: Scheduler> Scheduler for Recording<S> {
    fn new_execution(&mut self) -> Option<Schedule> {
        let s = self.inner.new_execution()?;
        *super::lock(&self.current) = Schedule::new(s.seed);
        Some(s)
    }
    fn next_task(
        &mut self,
        runnable: &[&Task],
        current: Option<TaskId>,
        is_yielding: bool,
    ) -> Option<TaskId> {
        let t = self.inner.next_task(runnable, current, is_yielding)?;
        super::lock(&self.current).push_task(t);
        Some(t)
    }
    fn next_u64(&mut self) -> u64 {
        super::lock(&self.current).push_random();
        self.inner.next_u64()
    }
}

pub(crate) fn config(max_steps: usize, max_time: Option<std::time::Duration>) -> Config {
    let mut config = Config::new();
    config.max_time = max_time;
    config.failure_persistence = FailurePersistence::None;
    config.max_steps = shuttle::MaxSteps::FailAfter(max_steps);
    config
}

/// Runs `scenario` under `scheduler` and builds the result. Shared by every shuttle-based engine.
pub(crate) fn run_with<S: Scheduler + 'static>(
    scenario: &Scenario<Shuttle>,
    engine: EngineKind,
    scheduler: S,
    max_steps: usize,
    max_time: Option<std::time::Duration>,
) -> EngineResult {
    let _quiet = Quiet::new();
    let run = Arc::new(ModelRun::default());
    let current = Arc::new(Mutex::new(Schedule::new(0)));
    let runner = Runner::new(
        Recording {
            inner: scheduler,
            current: current.clone(),
        },
        config(max_steps, max_time),
    );
    let body = run.body(scenario);
    trace::start(<Shuttle as crate::runtime::Runtime>::thread_index);
    let start = Instant::now();
    let outcome = catch_unwind(AssertUnwindSafe(|| runner.run(body)));
    let elapsed = start.elapsed();
    let recorded = trace::stop();
    let executions = run.executions();
    let mut result = EngineResult {
        engine,
        scenario: scenario.name().to_string(),
        verdict: Verdict::Passed,
        executions,
        first_failure_at: None,
        elapsed,
        time_to_failure: None,
        histogram: run.histogram(),
        counterexample: None,
        stress: None,
        note: String::new(),
    };
    if let Err(payload) = outcome {
        let (class, msg) = run.failure(payload.as_ref());
        let schedule = serialize_schedule(&super::lock(&current));
        let preemptions = Some(recorded.switches());
        result.verdict = if msg.contains("exceeded max_steps") {
            result.note = format!("shuttle step limit ({max_steps}) exceeded: a livelock?");
            Verdict::Hang
        } else {
            Verdict::Caught
        };
        result.first_failure_at = Some(executions);
        result.time_to_failure = Some(elapsed);
        result.counterexample = Some(super::Counterexample {
            class,
            message: with_class(class, msg),
            replay: Some(Replay::Shuttle(schedule)),
            trace: recorded,
            preemptions,
        });
    }
    result
}

/// Runs `scenario` under the shuttle scheduler `mode`.
pub fn check(scenario: &Scenario<Shuttle>, mode: Mode, cfg: &ShuttleConfig) -> EngineResult {
    match mode {
        Mode::Random => run_with(
            scenario,
            EngineKind::ShuttleRandom,
            RandomScheduler::new_from_seed(cfg.seed, cfg.iterations),
            cfg.max_steps,
            cfg.max_time,
        ),
        Mode::Pct => run_with(
            scenario,
            EngineKind::ShuttlePct,
            PctScheduler::new_from_seed(cfg.seed, cfg.depth, cfg.iterations),
            cfg.max_steps,
            cfg.max_time,
        ),
        Mode::Dfs => {
            let mut r = run_with(
                scenario,
                EngineKind::ShuttleDfs,
                DfsScheduler::new(Some(cfg.iterations), false),
                cfg.max_steps,
                cfg.max_time,
            );
            if r.verdict == Verdict::Passed {
                r.note = if (r.executions as usize) >= cfg.iterations {
                    format!("bounded: first {} schedules", cfg.iterations)
                } else if cfg.max_time.is_some_and(|t| r.elapsed >= t) {
                    format!("time cap: first {} schedules", r.executions)
                } else {
                    format!("exhaustive: all {} schedules", r.executions)
                };
            }
            r
        }
    }
}

/// Checks that `s` is a well-formed shuttle schedule string before shuttle decodes it: shuttle's
/// own decoder indexes without bounds checks and trusts the encoded length, so a truncated or
/// corrupted string would panic (or allocate without limit) instead of being rejected.
///
/// # Errors
/// A one-line description of what is wrong.
pub fn validate_schedule(s: &str) -> Result<Schedule, String> {
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
    let schedule = validate_schedule(schedule)?;
    let mut scheduler = ReplayScheduler::new_from_schedule(schedule);
    scheduler.set_allow_incomplete();
    Ok(run_with(scenario, engine, scheduler, usize::MAX / 2, None))
}
