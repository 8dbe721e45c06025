//! The proptest engine: schedules chosen by a proptest-generated vector, shrunk to the fewest
//! preemptions.
//!
//! [`ChoiceScheduler`] is a shuttle `Scheduler` driven by a byte vector. At each scheduling
//! point it reads the next byte `c` and picks `candidates[c % len]`, where the candidates start
//! with the *current* task when it may continue. So `0` means "keep running" and every non-zero
//! byte at such a point is a preemption; an exhausted vector reads as zeros. proptest shrinks
//! bytes towards 0 and vectors towards empty, which is exactly towards fewer preemptions: the
//! shrunk counterexample is the smallest interleaving that still breaks the structure.
//!
//! The same scheduler turns fuzzer input into schedules (`fuzz/`), so coverage-guided fuzzing
//! and proptest share one decoding.

use super::shuttle::run_with;
use super::{EngineKind, EngineResult, Verdict};
use crate::runtime::Shuttle;
use crate::scenario::Scenario;
use proptest::collection::vec;
use proptest::prelude::any;
use proptest::test_runner::{Config, RngAlgorithm, TestCaseError, TestError, TestRng, TestRunner};
use shuttle::scheduler::{Schedule, Scheduler, Task, TaskId};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Instant;

/// Configuration of the proptest engine.
#[derive(Debug, Clone)]
pub struct ProptestConfig {
    /// Random choice vectors to try before giving up.
    pub cases: u32,
    /// The seed of proptest's RNG: fixed, so the search and the shrink are reproducible.
    pub seed: [u8; 32],
    /// Longest choice vector generated.
    pub max_len: usize,
    /// Upper bound on shrinking steps.
    pub max_shrink_iters: u32,
    /// shuttle's step limit per execution.
    pub max_steps: usize,
}

impl Default for ProptestConfig {
    fn default() -> Self {
        ProptestConfig {
            cases: 1_000,
            seed: *b"racelab proptest schedule seed!!",
            max_len: 64,
            max_shrink_iters: 10_000,
            max_steps: 100_000,
        }
    }
}

/// A shuttle scheduler whose choices come from a byte vector; see the module docs.
#[derive(Debug, Clone)]
pub struct ChoiceScheduler {
    choices: Vec<u8>,
    next: usize,
    started: bool,
    preemptions: Arc<AtomicU64>,
}

impl ChoiceScheduler {
    /// A scheduler for one execution driven by `choices`.
    pub fn new(choices: Vec<u8>) -> Self {
        ChoiceScheduler {
            choices,
            next: 0,
            started: false,
            preemptions: Arc::new(AtomicU64::new(0)),
        }
    }
    /// Counts the preemptions this scheduler makes.
    pub fn preemption_counter(&self) -> Arc<AtomicU64> {
        self.preemptions.clone()
    }
    fn take(&mut self) -> u8 {
        let c = self.choices.get(self.next).copied().unwrap_or(0);
        self.next += 1;
        c
    }
}

impl Scheduler for ChoiceScheduler {
    fn new_execution(&mut self) -> Option<Schedule> {
        if std::mem::replace(&mut self.started, true) {
            None
        } else {
            Some(Schedule::new(0))
        }
    }
    fn next_task(
        &mut self,
        runnable: &[&Task],
        current: Option<TaskId>,
        is_yielding: bool,
    ) -> Option<TaskId> {
        let ids: Vec<TaskId> = runnable.iter().map(|t| t.id()).collect();
        let pos = current.and_then(|c| ids.iter().position(|&t| t == c));
        let c = self.take() as usize;
        match pos {
            // The current task may continue: rotate it to the front (or, if it is spinning, to
            // the back, so that an all-zero vector still makes progress).
            Some(p) => {
                let n = ids.len();
                let start = if is_yielding && n > 1 { p + 1 } else { p };
                let pick = ids[(start + c % n) % n];
                if pick != ids[p] && !is_yielding {
                    self.preemptions.fetch_add(1, Ordering::Relaxed);
                }
                Some(pick)
            }
            // The current task blocked or finished: any choice is a free switch.
            None => Some(ids[c % ids.len()]),
        }
    }
    fn next_u64(&mut self) -> u64 {
        self.take() as u64
    }
}

/// Runs one execution of `scenario` on the schedule `choices` encodes. Used by the proptest
/// engine and the fuzz targets.
pub fn run_choices(scenario: &Scenario<Shuttle>, choices: &[u8], max_steps: usize) -> EngineResult {
    let scheduler = ChoiceScheduler::new(choices.to_vec());
    let preemptions = scheduler.preemption_counter();
    let mut r = run_with(scenario, EngineKind::Proptest, scheduler, max_steps, None);
    if let Some(c) = r.counterexample.as_mut() {
        c.preemptions = Some(preemptions.load(Ordering::Relaxed) as usize);
    }
    r
}

/// Searches for a failing schedule with proptest, then shrinks it.
///
/// `executions` counts the search's cases up to and including the first failure; shrinking
/// runs are reported in the note.
pub fn check(scenario: &Scenario<Shuttle>, cfg: &ProptestConfig) -> EngineResult {
    let config = Config {
        cases: cfg.cases,
        max_shrink_iters: cfg.max_shrink_iters,
        failure_persistence: None,
        rng_algorithm: RngAlgorithm::ChaCha,
        ..Config::default()
    };
    let mut runner =
        TestRunner::new_with_rng(config, TestRng::from_seed(RngAlgorithm::ChaCha, &cfg.seed));
    let runs = AtomicU64::new(0);
    let first_failure = Mutex::new(None::<(u64, std::time::Duration)>);
    let histogram = Mutex::new(std::collections::BTreeMap::<String, u64>::new());
    let start = Instant::now();
    let outcome = runner.run(&vec(any::<u8>(), 0..=cfg.max_len), |choices| {
        let n = runs.fetch_add(1, Ordering::Relaxed) + 1;
        let r = run_choices(scenario, &choices, cfg.max_steps);
        let mut ff = super::lock(&first_failure);
        if ff.is_none() {
            for (k, v) in &r.histogram {
                *super::lock(&histogram).entry(k.clone()).or_default() += v;
            }
        }
        match r.verdict {
            Verdict::Passed => Ok(()),
            _ => {
                if ff.is_none() {
                    *ff = Some((n, start.elapsed()));
                }
                Err(TestCaseError::fail(
                    r.message().unwrap_or(&r.note).to_string(),
                ))
            }
        }
    });
    let elapsed = start.elapsed();
    let total_runs = runs.load(Ordering::Relaxed);
    let first = *super::lock(&first_failure);
    let histogram = super::lock(&histogram).clone();
    match outcome {
        Ok(()) => EngineResult {
            engine: EngineKind::Proptest,
            scenario: scenario.name().to_string(),
            verdict: Verdict::Passed,
            executions: total_runs,
            first_failure_at: None,
            elapsed,
            time_to_failure: None,
            histogram,
            counterexample: None,
            stress: None,
            note: format!("{} random schedules", cfg.cases),
        },
        Err(TestError::Fail(_, minimal)) => {
            // Rerun the shrunk schedule to record its interleaving and shuttle schedule.
            let mut r = run_choices(scenario, &minimal, cfg.max_steps);
            let (at, ttf) = first.unwrap_or((total_runs, elapsed));
            r.executions = at;
            r.first_failure_at = Some(at);
            r.time_to_failure = Some(ttf);
            r.elapsed = elapsed;
            r.histogram = histogram;
            r.note = format!(
                "shrunk in {} further runs to {} choices",
                total_runs - at,
                minimal.len()
            );
            if r.verdict == Verdict::Passed {
                // The shrunk input no longer fails on its own: say so rather than pretend.
                r.verdict = Verdict::Error;
                r.note = "proptest's shrunk schedule did not reproduce".to_string();
            }
            r
        }
        Err(TestError::Abort(why)) => EngineResult {
            engine: EngineKind::Proptest,
            scenario: scenario.name().to_string(),
            verdict: Verdict::Error,
            executions: total_runs,
            first_failure_at: None,
            elapsed,
            time_to_failure: None,
            histogram,
            counterexample: None,
            stress: None,
            note: format!("proptest aborted: {why}"),
        },
    }
}
