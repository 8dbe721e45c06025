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
use super::{
    Bound, Cap, Ending, EngineKind, EngineResult, Guarantee, ModelRun, RunOptions, Verdict, apply,
};
use crate::runtime::Shuttle;
use crate::scenario::Scenario;
use proptest::collection::vec;
use proptest::prelude::any;
use proptest::test_runner::{Config, RngAlgorithm, TestCaseError, TestError, TestRng, TestRunner};
use shuttle::scheduler::{Schedule, Scheduler, Task, TaskId};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

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
    /// Stop the search (and any shrinking) after this long; checked before each case.
    pub max_time: Option<std::time::Duration>,
}

impl Default for ProptestConfig {
    fn default() -> Self {
        ProptestConfig {
            cases: 1_000,
            seed: *b"racelab proptest schedule seed!!",
            max_len: 64,
            max_shrink_iters: 10_000,
            max_steps: 100_000,
            max_time: Some(std::time::Duration::from_secs(10)),
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
    run_choices_with(scenario, choices, max_steps, &RunOptions::default(), None)
}

/// One execution on `choices`, counted in `parent` when given.
fn run_choices_with(
    scenario: &Scenario<Shuttle>,
    choices: &[u8],
    max_steps: usize,
    opts: &RunOptions,
    parent: Option<&AtomicU64>,
) -> EngineResult {
    let scheduler = ChoiceScheduler::new(choices.to_vec());
    let run = ModelRun::new(EngineKind::Proptest, scenario.name(), None, Some(1), opts);
    let out = run_with(
        scenario,
        scheduler,
        max_steps,
        &run,
        opts,
        super::shuttle::Drive {
            time_choices: true,
            ..Default::default()
        },
    );
    if let Some(p) = parent {
        p.fetch_add(run.executions(), Ordering::Relaxed);
    }
    out.result(EngineKind::Proptest, scenario.name(), &run)
}

/// Searches for a failing schedule with proptest with default options, then shrinks it.
pub fn check(scenario: &Scenario<Shuttle>, cfg: &ProptestConfig) -> EngineResult {
    run(scenario, cfg, &RunOptions::default())
}

/// Searches for a failing schedule with proptest, then shrinks it.
///
/// `executions` counts every execution: the search's cases and the shrinking runs;
/// `first_failure_at` is the search case that failed first.
pub fn run(scenario: &Scenario<Shuttle>, cfg: &ProptestConfig, opts: &RunOptions) -> EngineResult {
    if cfg.cases == 0 {
        return EngineResult::not_run(
            EngineKind::Proptest,
            scenario.name(),
            "a budget of 0 cases".into(),
        );
    }
    let config = Config {
        cases: cfg.cases,
        max_shrink_iters: cfg.max_shrink_iters,
        failure_persistence: None,
        rng_algorithm: RngAlgorithm::ChaCha,
        ..Config::default()
    };
    let mut runner =
        TestRunner::new_with_rng(config, TestRng::from_seed(RngAlgorithm::ChaCha, &cfg.seed));
    // The run as a whole: its time limit, its progress.
    let whole = ModelRun::new(
        EngineKind::Proptest,
        scenario.name(),
        cfg.max_time,
        None,
        opts,
    );
    let executions = AtomicU64::new(0);
    let first_failure = Mutex::new(None::<(u64, std::time::Duration, EngineResult)>);
    let histogram = Mutex::new(std::collections::BTreeMap::<String, u64>::new());
    let stopped = Mutex::new(None::<Cap>);
    let error = Mutex::new(None::<String>);
    let outcome = runner.run(&vec(any::<u8>(), 0..=cfg.max_len), |choices| {
        if let Some(cap) = whole.over_budget() {
            // Out of time: remaining cases (and shrink candidates) pass without running.
            super::lock(&stopped).get_or_insert(cap);
            return Ok(());
        }
        let r = run_choices_with(scenario, &choices, cfg.max_steps, opts, Some(&executions));
        whole
            .executions
            .store(executions.load(Ordering::Relaxed), Ordering::Relaxed);
        whole.progress(false);
        let mut ff = super::lock(&first_failure);
        if ff.is_none() {
            for (k, v) in &r.histogram {
                *super::lock(&histogram).entry(k.clone()).or_default() += v;
            }
        }
        match r.verdict {
            Verdict::Passed => Ok(()),
            Verdict::Caught => {
                if ff.is_none() {
                    *ff = Some((
                        executions.load(Ordering::Relaxed),
                        whole.start.elapsed(),
                        r.clone(),
                    ));
                }
                Err(TestCaseError::fail(r.message().unwrap_or("").to_string()))
            }
            // A cap or an engine error is not a failure of the structure: never shrunk towards.
            _ => {
                if r.verdict == Verdict::Error {
                    super::lock(&error).get_or_insert(r.note.clone());
                }
                Ok(())
            }
        }
    });
    let total = executions.load(Ordering::Relaxed);
    let elapsed = whole.start.elapsed();
    let first = super::lock(&first_failure).take();
    let histogram = super::lock(&histogram).clone();
    let stopped = *super::lock(&stopped);
    let mut r = EngineResult::empty(EngineKind::Proptest, scenario.name());
    r.executions = total;
    r.elapsed = elapsed;
    r.histogram = histogram;
    whole.progress(true);
    if let Some(e) = super::lock(&error).take() {
        apply(&mut r, Ending::Error(e), || None);
        return r;
    }
    match outcome {
        Ok(()) => {
            r.verdict = Verdict::Passed;
            r.bound = Some(match stopped {
                Some(c) => Bound::Cap(c),
                None => Bound::Runs(total),
            });
            r.guarantee = Some(Guarantee::new(total, None));
            r
        }
        Err(TestError::Fail(_, minimal)) => {
            // Rerun the shrunk schedule to record its interleaving and shuttle schedule.
            let mut m = run_choices_with(scenario, &minimal, cfg.max_steps, opts, None);
            let (at, ttf, original) = first.expect("a failing case was recorded");
            if m.verdict != Verdict::Caught {
                // The shrunk input no longer fails on its own: report the original failure.
                m = original;
                r.note = "proptest's shrunk schedule did not reproduce; this is the first failing case, unshrunk".into();
            } else {
                r.note = format!(
                    "shrunk in {} further runs to {} choices",
                    total - at,
                    minimal.len()
                );
            }
            if let Some(c) = stopped {
                r.note += &format!("; shrinking stopped early: {c}");
            }
            r.verdict = Verdict::Caught;
            r.first_failure_at = Some(at);
            r.time_to_failure = Some(ttf);
            r.counterexample = m.counterexample;
            r
        }
        Err(TestError::Abort(why)) => {
            apply(
                &mut r,
                Ending::Error(format!("proptest aborted: {why}")),
                || None,
            );
            r
        }
    }
}
