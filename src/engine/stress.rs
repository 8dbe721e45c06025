//! The stress engine: real OS threads, released together, many rounds, an outcome histogram.
//!
//! Threads are spawned once and reused. Each round the driver builds a fresh state, then the
//! workers pass a spinning start line together, run their bodies and report. A spinning release
//! (rather than `std::sync::Barrier`, whose wakeups are tens of microseconds apart) is what gives
//! the bodies a chance to overlap at all. A round counts as *overlapped* when at least two bodies
//! were in flight at once, so the report can say how much real contention the run had. That is
//! decided logically, not by clocks: each body increments `started` before it runs, and the
//! first to finish reads how many had started by then (every one of those overlapped it). The
//! atomic's modification order is one total order all threads agree on; timestamps are not (on
//! this project's VM, clocks read on two cores disagreed with lost updates that can only happen
//! with overlap).
//!
//! A watchdog turns a round that never finishes into a verdict: the run watches the runtime's
//! wait registry (`runtime::std_rt::watch`), so the report names what each thread waits on. If
//! every thread is blocked in a racelab primitive it is a **deadlock**; otherwise it is a
//! **hang** (a livelock, or a wait racelab does not see). Either way it is *caught*. Then the
//! waiters that can be released are (condvar waits are notified, parked threads unparked, and
//! each unwinds); a thread blocked in a lock or a join cannot be, and is left behind and
//! counted in the note. The suite itself never hangs.

use super::{
    Bound, Counterexample, EngineKind, EngineResult, Guarantee, Quiet, RunOptions, Verdict, lock,
    payload_text,
};
use crate::runtime::std_rt_watch as watch;
use crate::runtime::{Runtime, Std};
use crate::scenario::{BugClass, Failure, Outcome, Round, Rounds, Scenario};
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
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
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

/// A round that made no progress.
pub(crate) struct Stall {
    pub round: u64,
    /// What the registry showed when the watchdog fired.
    pub blocked: Vec<watch::Blocked>,
    /// Workers that had not finished the round.
    pub stuck: usize,
    /// Their names.
    pub stuck_names: Vec<String>,
    /// Of those, the ones that could not be released (blocked in a lock or a join).
    pub left_behind: usize,
    pub threads: usize,
}

pub(crate) struct RawRun {
    pub stats: StressStats,
    pub histogram: BTreeMap<String, u64>,
    pub first: Option<(u64, Duration, BugClass, String)>,
    pub stall: Option<Stall>,
    pub elapsed: Duration,
}

/// What a worker reports for a round (its observation stays in the round).
enum Report {
    Done,
    Failed(BugClass, String),
    Released,
}

type Slot = Mutex<Option<Report>>;

struct Shared {
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
    /// The current round, shared by the workers while they run it.
    state: Mutex<Option<Arc<dyn Round>>>,
    slots: Vec<Slot>,
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

/// The class and message of a panic of the structure on real threads.
fn classify(payload: &(dyn std::any::Any + Send)) -> Option<(BugClass, String)> {
    if payload.downcast_ref::<watch::Abandoned>().is_some() {
        return None;
    }
    Some(match payload.downcast_ref::<Failure>() {
        Some(f) => (f.class, f.message.clone()),
        None => (
            BugClass::Panic,
            super::with_class(BugClass::Panic, payload_text(payload)),
        ),
    })
}

/// Runs `rounds` on persistent OS threads, one per scenario thread, until `cfg` says stop.
fn drive(rounds: &Arc<dyn Rounds>, cfg: &StressConfig) -> RawRun {
    let n = rounds.threads();
    let run_id = watch::start_run();
    let shared = Arc::new(Shared {
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
    for i in 0..n {
        let shared = shared.clone();
        std::thread::spawn(move || {
            let _quiet = Quiet::new();
            Std::set_thread_index(Some(i));
            watch::join_run(run_id);
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
                let o = catch_unwind(AssertUnwindSafe(|| state.run_thread(i)));
                let in_flight = shared.started.load(Ordering::Acquire);
                if shared.finished.fetch_add(1, Ordering::AcqRel) == 0 {
                    shared.overlapped.store(in_flight >= 2, Ordering::Relaxed);
                }
                drop(state);
                let report = match o {
                    Ok(()) => Report::Done,
                    Err(p) => match classify(p.as_ref()) {
                        Some((class, m)) => Report::Failed(class, m),
                        None => Report::Released,
                    },
                };
                let released = matches!(report, Report::Released);
                *lock(&shared.slots[i]) = Some(report);
                shared.done.fetch_add(1, Ordering::Release);
                if released {
                    return;
                }
            }
        });
    }

    let _quiet = Quiet::new();
    // The driver builds each round's state: threads a structure spawns in its setup (a pool's
    // workers) belong to the run, so their waits are watched and released with it.
    watch::join_run(run_id);
    let mut out = RawRun {
        stats: StressStats::default(),
        histogram: BTreeMap::new(),
        first: None,
        stall: None,
        elapsed: Duration::ZERO,
    };
    let start = Instant::now();
    let never = AtomicBool::new(false);
    for r in 1..=cfg.rounds {
        if start.elapsed() > cfg.time_budget {
            break;
        }
        let state = rounds.clone().round();
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
            // Read the registry before releasing anyone, then release who can be.
            let blocked = watch::snapshot(run_id);
            let stuck_names: Vec<String> = shared
                .slots
                .iter()
                .enumerate()
                .filter(|(_, s)| lock(s).is_none())
                .map(|(i, _)| format!("T{}", i + 1))
                .collect();
            let stuck = stuck_names.len();
            shared.stop.store(true, Ordering::Relaxed);
            watch::abort(run_id);
            // The released unwind in microseconds; a thread still out after this (at most the
            // watchdog, at most 1 s) is blocked in a lock or a join and is left behind.
            wait_until(
                || shared.done.load(Ordering::Acquire) == n,
                &never,
                Some(Instant::now() + cfg.watchdog.min(Duration::from_secs(1))),
            );
            let left_behind = n - shared.done.load(Ordering::Acquire);
            out.stall = Some(Stall {
                round: r,
                blocked,
                stuck,
                stuck_names,
                left_behind,
                threads: n,
            });
            out.stats.rounds = r;
            *lock(&shared.state) = None;
            break;
        }
        *lock(&shared.state) = None;
        let mut failed = None;
        for slot in &shared.slots {
            match lock(slot).take().expect("worker reported") {
                Report::Done | Report::Released => {}
                Report::Failed(class, m) => failed = Some((class, m)),
            }
        }
        out.stats.rounds = r;
        if n < 2 || shared.overlapped.load(Ordering::Relaxed) {
            out.stats.overlapped += 1;
        }
        let outcome = match failed {
            Some((class, m)) => Outcome::Forbidden { class, message: m },
            None => catch_unwind(AssertUnwindSafe(|| {
                // Every worker dropped its handle before reporting the round done.
                state.finish().unwrap_or_else(|| {
                    panic!("racelab: a stress round's state is still shared after the round")
                })
            }))
            .unwrap_or_else(|p| {
                let (class, message) =
                    classify(p.as_ref()).unwrap_or((BugClass::Panic, "panic: released".into()));
                Outcome::Forbidden { class, message }
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
    watch::join_run(0);
    watch::end_run(run_id);
    out
}

/// Runs `scenario` on real threads with default options.
pub fn check(scenario: &Scenario<Std>, cfg: &StressConfig) -> EngineResult {
    run(scenario, cfg, &RunOptions::default())
}

/// Runs `scenario` on real threads.
pub fn run(scenario: &Scenario<Std>, cfg: &StressConfig, opts: &RunOptions) -> EngineResult {
    let mut cfg = cfg.clone();
    if let Some(t) = opts.time_limit {
        cfg.time_budget = cfg.time_budget.min(t);
    }
    let raw = drive(&scenario.inner.clone().rounds(), &cfg);
    let overlap_pct = if raw.stats.rounds == 0 {
        0.0
    } else {
        100.0 * raw.stats.overlapped as f64 / raw.stats.rounds as f64
    };
    let mut r = EngineResult::empty(EngineKind::Stress, scenario.name());
    r.executions = raw.stats.rounds;
    r.elapsed = raw.elapsed;
    r.histogram = raw.histogram;
    r.stress = Some(raw.stats);
    r.note = format!(
        "forbidden outcome {}; two or more bodies overlapped in {:.1}% of rounds",
        raw.stats.frequency(),
        overlap_pct
    );
    if raw.stats.overlapped == 0 && scenario.threads() > 1 {
        r.note
            .push_str(" (no real overlap: this run measured nothing about contention)");
    }
    if let Some(st) = raw.stall {
        let threads: std::collections::BTreeSet<&str> =
            st.blocked.iter().map(|b| b.thread.as_str()).collect();
        let all_blocked = !st.stuck_names.is_empty()
            && st.stuck_names.iter().all(|n| threads.contains(n.as_str()));
        let mut lines: Vec<String> = st.blocked.iter().map(|b| b.text.clone()).collect();
        for name in &st.stuck_names {
            if !threads.contains(name.as_str()) {
                lines.push(format!(
                    "{name} is not blocked in a racelab primitive (running, spinning, finished, or waiting on something racelab does not see)"
                ));
            }
        }
        let (class, head) = if all_blocked {
            (BugClass::Deadlock, "deadlock: every thread is blocked")
        } else {
            (BugClass::Hang, "hang: the threads made no progress")
        };
        let message = format!(
            "{head} (round {} made no progress for {:?})\n  {}",
            st.round,
            cfg.watchdog,
            lines.join("\n  ")
        );
        r.verdict = Verdict::Caught;
        r.first_failure_at = Some(st.round);
        r.time_to_failure = Some(raw.elapsed);
        r.counterexample = Some(Counterexample::untraced(class, message));
        r.note = format!(
            "watchdog: round {} made no progress for {:?}; {} of {} threads were stuck, {} released, {} left behind (blocked in a lock or a join: a real thread cannot be stopped)",
            st.round,
            cfg.watchdog,
            st.stuck,
            st.threads,
            st.stuck - st.left_behind,
            st.left_behind
        );
        return r;
    }
    match raw.first {
        Some((round, at, class, message)) => {
            r.verdict = Verdict::Caught;
            r.first_failure_at = Some(round);
            r.time_to_failure = Some(at);
            r.counterexample = Some(Counterexample::untraced(class, message));
        }
        None => {
            r.verdict = Verdict::Passed;
            r.bound = Some(Bound::Runs(raw.stats.rounds));
            r.guarantee = Some(Guarantee::new(raw.stats.rounds, None));
        }
    }
    r
}
