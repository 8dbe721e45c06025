//! The stress engine: real OS threads, released together, many rounds, an outcome histogram.
//!
//! Threads are spawned once and reused. Each round the driver builds a fresh state, then the
//! workers pass a spinning start line together, run their bodies and report. A spinning release
//! (rather than `std::sync::Barrier`, whose wakeups are tens of microseconds apart) is what gives
//! the bodies a chance to overlap at all. A round counts as *overlapped* when at least two bodies
//! were in flight at once, so the report can say how much real contention the run had. That is
//! decided logically, not by clocks: each body increments `started` before it runs, and the
//! first to finish reads how many had started by then (every one of those overlapped it). The atomic's modification
//! order is one total order all threads agree on; timestamps are not (on this project's VM,
//! clocks read on two cores disagreed with lost updates that can only happen with overlap). A watchdog turns a round that never finishes into a
//! [`Verdict::Hang`]; its threads are abandoned (a deadlocked thread cannot be killed), so the
//! suite itself never hangs.

use super::{Counterexample, EngineKind, EngineResult, Quiet, Verdict, lock, panic_message};
use crate::runtime::{Runtime, Std};
use crate::scenario::{BodyFn, BugClass, CheckFn, Outcome, Scenario, SetupFn};
use std::collections::BTreeMap;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// Configuration of the stress engine.
#[derive(Debug, Clone)]
pub struct StressConfig {
    /// Rounds to run at most.
    pub rounds: u64,
    /// Stop after this long even if rounds remain.
    pub time_budget: Duration,
    /// A round that takes longer than this is a hang.
    pub watchdog: Duration,
}

impl Default for StressConfig {
    fn default() -> Self {
        StressConfig {
            rounds: 1_000_000,
            time_budget: Duration::from_millis(1_000),
            watchdog: Duration::from_secs(5),
        }
    }
}

/// What a stress run saw, beyond the histogram.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize)]
pub struct StressStats {
    /// Rounds run.
    pub rounds: u64,
    /// Rounds in which at least two bodies were running at the same time.
    pub overlapped: u64,
    /// Rounds with a forbidden outcome.
    pub forbidden: u64,
}

impl StressStats {
    /// jcstress-style frequency, e.g. `1 in 2,345`; `never` when zero.
    pub fn frequency(&self) -> String {
        if self.forbidden == 0 {
            "never".into()
        } else {
            format!("{} in {}", group(self.forbidden), group(self.rounds))
        }
    }
}

/// `1234567` → `1,234,567`.
pub fn group(n: u64) -> String {
    let s = n.to_string();
    let mut out = String::new();
    for (i, ch) in s.chars().enumerate() {
        if i > 0 && (s.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(ch);
    }
    out
}

/// A scenario turned into rounds on persistent threads (built by the scenario, which knows the
/// state and observation types).
pub(crate) trait Driver {
    fn run(&mut self, cfg: &StressConfig) -> RawRun;
}

pub(crate) struct RawRun {
    pub stats: StressStats,
    pub histogram: BTreeMap<String, u64>,
    pub first: Option<(u64, Duration, BugClass, String)>,
    pub hang: bool,
    pub elapsed: Duration,
}

type Slot<O> = Mutex<Option<Result<O, String>>>;

struct Shared<S, O> {
    /// The round the workers should run next; bumped by the driver (Release) after `state` is set.
    round: AtomicU64,
    /// Workers that reached the start line, over the whole run: round r starts at n·r.
    arrived: AtomicU64,
    /// Workers that finished the current round.
    done: AtomicUsize,
    /// Bodies that started in the current round.
    started: AtomicUsize,
    /// Bodies that finished in the current round (the first one decides `overlapped`).
    finished: AtomicUsize,
    /// Whether, when the first body finished, another had started too.
    overlapped: AtomicBool,
    stop: AtomicBool,
    state: Mutex<Option<Arc<S>>>,
    slots: Vec<Slot<O>>,
}

pub(crate) struct Rounds<S, O> {
    setup: Arc<SetupFn<S>>,
    bodies: Vec<Arc<BodyFn<S, O>>>,
    check: Arc<CheckFn<S, O>>,
}

impl<S, O> Rounds<S, O> {
    pub fn new(
        setup: Arc<SetupFn<S>>,
        bodies: Vec<Arc<BodyFn<S, O>>>,
        check: Arc<CheckFn<S, O>>,
    ) -> Self {
        Rounds {
            setup,
            bodies,
            check,
        }
    }
}

/// Spins, then yields: on an oversubscribed machine a pure spin would starve the thread it waits
/// for.
fn wait_until(
    mut ready: impl FnMut() -> bool,
    stop: &AtomicBool,
    deadline: Option<Instant>,
) -> bool {
    let mut spins = 0u32;
    loop {
        if ready() {
            return true;
        }
        if stop.load(Ordering::Relaxed) || deadline.is_some_and(|d| Instant::now() > d) {
            return false;
        }
        spins += 1;
        if spins < 1 << 7 {
            std::hint::spin_loop();
        } else {
            std::thread::yield_now();
        }
    }
}

impl<S: Send + Sync + 'static, O: Send + 'static> Driver for Rounds<S, O> {
    fn run(&mut self, cfg: &StressConfig) -> RawRun {
        let n = self.bodies.len();
        let shared = Arc::new(Shared::<S, O> {
            round: AtomicU64::new(0),
            arrived: AtomicU64::new(0),
            done: AtomicUsize::new(0),
            started: AtomicUsize::new(0),
            finished: AtomicUsize::new(0),
            overlapped: AtomicBool::new(false),
            stop: AtomicBool::new(false),
            state: Mutex::new(None),
            slots: (0..n).map(|_| Mutex::new(None)).collect(),
        });
        for (i, body) in self.bodies.iter().enumerate() {
            let (shared, body) = (shared.clone(), body.clone());
            std::thread::spawn(move || {
                let _quiet = Quiet::new();
                Std::set_thread_index(Some(i));
                let mut seen = 0;
                loop {
                    let mut r = 0;
                    if !wait_until(
                        || {
                            r = shared.round.load(Ordering::Acquire);
                            r != seen
                        },
                        &shared.stop,
                        None,
                    ) {
                        return;
                    }
                    seen = r;
                    let Some(state) = lock(&shared.state).clone() else {
                        return;
                    };
                    // The start line: every worker arrives before any runs its body.
                    shared.arrived.fetch_add(1, Ordering::AcqRel);
                    let line = r * n as u64;
                    if !wait_until(
                        || shared.arrived.load(Ordering::Acquire) >= line,
                        &shared.stop,
                        None,
                    ) {
                        return;
                    }
                    shared.started.fetch_add(1, Ordering::AcqRel);
                    let o = catch_unwind(AssertUnwindSafe(|| body(&state)))
                        .map_err(|p| panic_message(p.as_ref()));
                    let in_flight = shared.started.load(Ordering::Acquire);
                    if shared.finished.fetch_add(1, Ordering::AcqRel) == 0 {
                        shared.overlapped.store(in_flight >= 2, Ordering::Relaxed);
                    }
                    drop(state);
                    *lock(&shared.slots[i]) = Some(o);
                    shared.done.fetch_add(1, Ordering::Release);
                }
            });
        }

        let _quiet = Quiet::new();
        let mut out = RawRun {
            stats: StressStats::default(),
            histogram: BTreeMap::new(),
            first: None,
            hang: false,
            elapsed: Duration::ZERO,
        };
        let start = Instant::now();
        let never = AtomicBool::new(false);
        for r in 1..=cfg.rounds {
            if start.elapsed() > cfg.time_budget {
                break;
            }
            let state = Arc::new((self.setup)());
            *lock(&shared.state) = Some(state.clone());
            shared.done.store(0, Ordering::Relaxed);
            shared.started.store(0, Ordering::Relaxed);
            shared.finished.store(0, Ordering::Relaxed);
            shared.round.store(r, Ordering::Release);
            let deadline = Instant::now() + cfg.watchdog;
            if !wait_until(
                || shared.done.load(Ordering::Acquire) == n,
                &never,
                Some(deadline),
            ) {
                out.hang = true;
                out.stats.rounds = r;
                break;
            }
            *lock(&shared.state) = None;
            let mut observed = Vec::with_capacity(n);
            let mut panicked = None;
            for slot in &shared.slots {
                match lock(slot).take().expect("worker reported") {
                    Ok(o) => observed.push(o),
                    Err(m) => panicked = Some(m),
                }
            }
            out.stats.rounds = r;
            if n < 2 || shared.overlapped.load(Ordering::Relaxed) {
                out.stats.overlapped += 1;
            }
            let outcome = match panicked {
                Some(m) => Outcome::forbidden(BugClass::Panic, m),
                None => catch_unwind(AssertUnwindSafe(|| (self.check)(&state, &observed)))
                    .unwrap_or_else(|p| {
                        Outcome::forbidden(BugClass::Panic, panic_message(p.as_ref()))
                    }),
            };
            *out.histogram.entry(outcome.key().to_string()).or_default() += 1;
            if let Outcome::Forbidden { class, message } = outcome {
                out.stats.forbidden += 1;
                if out.first.is_none() {
                    out.first = Some((r, start.elapsed(), class, message));
                }
            }
        }
        out.elapsed = start.elapsed();
        shared.stop.store(true, Ordering::Relaxed);
        out
    }
}

/// Runs `scenario` on real threads.
pub fn check(scenario: &Scenario<Std>, cfg: &StressConfig) -> EngineResult {
    let mut driver = scenario.inner.clone().stress_driver();
    let raw = driver.run(cfg);
    let verdict = if raw.hang {
        Verdict::Hang
    } else if raw.first.is_some() {
        Verdict::Caught
    } else {
        Verdict::Passed
    };
    let overlap_pct = if raw.stats.rounds == 0 {
        0.0
    } else {
        100.0 * raw.stats.overlapped as f64 / raw.stats.rounds as f64
    };
    let mut note = format!(
        "forbidden outcome {}; two or more bodies overlapped in {:.1}% of rounds",
        raw.stats.frequency(),
        overlap_pct
    );
    if raw.hang {
        note = format!(
            "watchdog: round {} made no progress for {:?}; its threads were abandoned",
            raw.stats.rounds, cfg.watchdog
        );
    } else if raw.stats.overlapped == 0 && scenario.threads() > 1 {
        note.push_str(" (no real overlap: this run measured nothing about contention)");
    }
    EngineResult {
        engine: EngineKind::Stress,
        scenario: scenario.name().to_string(),
        verdict,
        executions: raw.stats.rounds,
        first_failure_at: raw
            .first
            .as_ref()
            .map(|f| f.0)
            .or(raw.hang.then_some(raw.stats.rounds)),
        elapsed: raw.elapsed,
        time_to_failure: raw.first.as_ref().map(|f| f.1),
        histogram: raw.histogram,
        counterexample: match raw.first {
            Some((_, _, class, message)) => Some(Counterexample {
                class,
                message,
                replay: None,
                trace: Default::default(),
                preemptions: None,
            }),
            None if raw.hang => Some(Counterexample {
                class: BugClass::Deadlock,
                message: format!(
                    "deadlock: round {} made no progress for {:?} (watchdog)",
                    raw.stats.rounds, cfg.watchdog
                ),
                replay: None,
                trace: Default::default(),
                preemptions: None,
            }),
            None => None,
        },
        stress: Some(raw.stats),
        note,
    }
}
