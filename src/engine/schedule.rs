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
use proptest::prelude::{Rng, any};
use proptest::strategy::{Strategy, ValueTree};
use proptest::test_runner::{Config, RngAlgorithm, TestError, TestRng, TestRunner};
use shuttle::scheduler::{Schedule, Scheduler, Task, TaskId};
use std::cell::RefCell;
use std::rc::Rc;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

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
    run_choices_with(scenario, choices, max_steps, &RunOptions::default())
}

/// One execution on `choices`, on a runner of its own.
fn run_choices_with(
    scenario: &Scenario<Shuttle>,
    choices: &[u8],
    max_steps: usize,
    opts: &RunOptions,
) -> EngineResult {
    let scheduler = ChoiceScheduler::new(choices.to_vec());
    let run = ModelRun::new(EngineKind::Proptest, scenario.name(), None, Some(1), opts);
    let out = run_on(scenario, scheduler, max_steps, &run, opts);
    out.result(EngineKind::Proptest, scenario.name(), &run)
}

/// Runs `scenario` under a scheduler of choice vectors: shuttle's run, with the engine choosing
/// when timers fire.
fn run_on<S: Scheduler + 'static>(
    scenario: &Scenario<Shuttle>,
    scheduler: S,
    max_steps: usize,
    run: &Arc<ModelRun>,
    opts: &RunOptions,
) -> super::shuttle::Output {
    let drive = super::shuttle::Drive {
        time_choices: true,
        ..Default::default()
    };
    run_with(scenario, scheduler, max_steps, run, opts, drive)
}

/// Searches for a failing schedule with proptest with default options, then shrinks it.
pub fn check(scenario: &Scenario<Shuttle>, cfg: &ProptestConfig) -> EngineResult {
    run(scenario, cfg, &RunOptions::default())
}

/// proptest's search and shrink, one case at a time: the value to test next comes out, the
/// verdict on it goes in.
///
/// proptest's `TestRunner::run` calls the test once per case, and a shuttle `Runner::run` calls
/// its scheduler once per execution: both want to own the loop. The engine runs case after case
/// in one shuttle runner (see [`Pull`]), so it drives proptest's loop from outside instead. This
/// follows proptest 1.11's `run_in_process` and `shrink` step for step: each case reseeds the
/// RNG from itself as proptest does and draws a new value tree; after a failure it simplifies,
/// after a pass it complicates, for at most `max_shrink_iters` shrinking runs, and when those run
/// out it goes back to the last failing value. So the values, their order and the minimal one are
/// the ones proptest would give; the test `search_runs_what_proptest_runs` holds it to that.
struct Search<S: Strategy> {
    runner: TestRunner,
    strategy: S,
    cases: u32,
    max_shrink_iters: u32,
    successes: u32,
    tree: Option<S::Tree>,
    /// Shrinking runs so far, once a case has failed.
    shrinking: Option<u32>,
    last_failure: String,
    end: Option<Result<(), TestError<S::Value>>>,
}

impl<S: Strategy> Search<S> {
    fn new(runner: TestRunner, strategy: S) -> Self {
        let config = runner.config();
        let (cases, max_shrink_iters) = (config.cases, config.max_shrink_iters());
        Search {
            runner,
            strategy,
            cases,
            max_shrink_iters,
            successes: 0,
            tree: None,
            shrinking: None,
            last_failure: String::new(),
            end: None,
        }
    }

    /// The first value to test (`None`: no case to run).
    fn start(&mut self) -> Option<S::Value> {
        self.generate()
    }

    /// Takes the verdict on the last value (`Err` with the failure's message: it failed) and
    /// gives the next value to test, or `None` when the search has ended (see `outcome`).
    fn next(&mut self, verdict: Result<(), String>) -> Option<S::Value> {
        let tree = self.tree.as_mut()?;
        match (self.shrinking, verdict) {
            (None, Ok(())) => {
                self.successes += 1;
                self.generate()
            }
            (None, Err(why)) => {
                self.last_failure = why;
                if self.max_shrink_iters == 0 || !tree.simplify() {
                    return self.finish();
                }
                self.shrinking = Some(0);
                self.shrink_step()
            }
            (Some(_), Ok(())) => {
                if !tree.complicate() {
                    return self.finish();
                }
                self.shrink_step()
            }
            (Some(_), Err(why)) => {
                self.last_failure = why;
                if !tree.simplify() {
                    return self.finish();
                }
                self.shrink_step()
            }
        }
    }

    /// How the search ended: `Ok` when every case passed, else proptest's error with the
    /// minimal failing value.
    fn outcome(self) -> Result<(), TestError<S::Value>> {
        self.end.unwrap_or(Ok(()))
    }

    fn generate(&mut self) -> Option<S::Value> {
        if self.successes >= self.cases {
            self.end = Some(Ok(()));
            return None;
        }
        // proptest draws a seed per case and reseeds from it (so that a failure's seed could be
        // persisted), then draws the case's value tree.
        let seed: [u8; 32] = self.runner.rng().random();
        *self.runner.rng() = TestRng::from_seed(RngAlgorithm::ChaCha, &seed);
        match self.strategy.new_tree(&mut self.runner) {
            Ok(tree) => {
                let value = tree.current();
                self.tree = Some(tree);
                Some(value)
            }
            Err(why) => {
                self.end = Some(Err(TestError::Abort(why)));
                None
            }
        }
    }

    fn shrink_step(&mut self) -> Option<S::Value> {
        let tree = self.tree.as_mut()?;
        let done = self.shrinking.unwrap_or(0);
        if done >= self.max_shrink_iters {
            // Out of shrinking runs: back to the most recent failing value.
            while tree.complicate() {}
            return self.finish();
        }
        self.shrinking = Some(done + 1);
        Some(tree.current())
    }

    fn finish(&mut self) -> Option<S::Value> {
        let minimal = self.tree.as_ref()?.current();
        let why = std::mem::take(&mut self.last_failure);
        self.end = Some(Err(TestError::Fail(why.into(), minimal)));
        None
    }
}

/// The whole proptest run: the search, and what its cases found so far.
struct Cases<S: Strategy<Value = Vec<u8>>> {
    search: Search<S>,
    whole: Arc<ModelRun>,
    executions: u64,
    /// (executions before it, time, result) of the first failing case.
    first_failure: Option<(u64, std::time::Duration, EngineResult)>,
    histogram: std::collections::BTreeMap<String, u64>,
    /// The cap that made the rest of the cases pass without running.
    stopped: Option<Cap>,
    error: Option<String>,
}

impl<S: Strategy<Value = Vec<u8>>> Cases<S> {
    fn first(&mut self) -> Option<Vec<u8>> {
        let next = self.search.start();
        self.unless_over_budget(next)
    }

    /// Records the result of the last case and gives the next choice vector to run.
    fn record(&mut self, r: EngineResult) -> Option<Vec<u8>> {
        self.executions += r.executions;
        self.whole
            .executions
            .store(self.executions, Ordering::Relaxed);
        self.whole.progress(false);
        if self.first_failure.is_none() {
            for (k, v) in &r.histogram {
                *self.histogram.entry(k.clone()).or_default() += v;
            }
        }
        let verdict = match r.verdict {
            Verdict::Passed => Ok(()),
            Verdict::Caught => {
                let message = r.message().unwrap_or("").to_string();
                if self.first_failure.is_none() {
                    self.first_failure = Some((self.executions, self.whole.start.elapsed(), r));
                }
                Err(message)
            }
            // A cap or an engine error is not a failure of the structure: never shrunk towards.
            _ => {
                if r.verdict == Verdict::Error {
                    self.error.get_or_insert(r.note);
                }
                Ok(())
            }
        };
        let next = self.search.next(verdict);
        self.unless_over_budget(next)
    }

    /// Out of time, the remaining cases (and shrink candidates) pass without running.
    fn unless_over_budget(&mut self, mut next: Option<Vec<u8>>) -> Option<Vec<u8>> {
        while next.is_some() {
            let Some(cap) = self.whole.over_budget() else {
                break;
            };
            self.stopped.get_or_insert(cap);
            next = self.search.next(Ok(()));
        }
        next
    }
}

/// Where one shuttle runner stands: its execution count when its current case started, and
/// whether the search ended inside it.
#[derive(Default)]
struct RunnerState {
    base: std::cell::Cell<u64>,
    ended: std::cell::Cell<bool>,
}

/// A [`ChoiceScheduler`] that runs one case per execution, taking the next choice vector from
/// the search, so that one shuttle runner runs case after case.
///
/// shuttle keeps its pool of coroutine stacks for the length of one `Runner::run`; a runner per
/// case mapped fresh stacks for every case (24,000 mmap/munmap pairs for one scenario of 1,000
/// cases, against 48 for shuttle's random scheduler over as many executions). Asked for an
/// execution after the first, this scheduler knows the one before it passed: a failure, a cap
/// or an error ends the execution as stopping, and `Recording` then ends the runner without
/// asking. The engine starts a new runner for the next case. Each case runs as it would alone:
/// every execution resets the model's per-execution state.
struct Pull<S: Strategy<Value = Vec<u8>>> {
    cases: Rc<RefCell<Cases<S>>>,
    run: Arc<ModelRun>,
    state: Rc<RunnerState>,
    choices: ChoiceScheduler,
    started: bool,
}

impl<S: Strategy<Value = Vec<u8>>> Scheduler for Pull<S> {
    fn new_execution(&mut self) -> Option<Schedule> {
        if std::mem::replace(&mut self.started, true) {
            let mut r = EngineResult::empty(EngineKind::Proptest, &self.run.scenario);
            r.executions = self.run.executions() - self.state.base.get();
            r.histogram = std::mem::take(&mut *super::lock(&self.run.histogram));
            let Some(next) = self.cases.borrow_mut().record(r) else {
                self.state.ended.set(true);
                return None;
            };
            self.state.base.set(self.run.executions());
            self.choices = ChoiceScheduler::new(next);
        }
        self.choices.new_execution()
    }
    fn next_task(
        &mut self,
        runnable: &[&Task],
        current: Option<TaskId>,
        is_yielding: bool,
    ) -> Option<TaskId> {
        self.choices.next_task(runnable, current, is_yielding)
    }
    fn next_u64(&mut self) -> u64 {
        self.choices.next_u64()
    }
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
    let runner =
        TestRunner::new_with_rng(config, TestRng::from_seed(RngAlgorithm::ChaCha, &cfg.seed));
    // The run as a whole: its time limit, its progress.
    let whole = ModelRun::new(
        EngineKind::Proptest,
        scenario.name(),
        cfg.max_time,
        None,
        opts,
    );
    let cases = Rc::new(RefCell::new(Cases {
        search: Search::new(runner, vec(any::<u8>(), 0..=cfg.max_len)),
        whole: whole.clone(),
        executions: 0,
        first_failure: None,
        histogram: Default::default(),
        stopped: None,
        error: None,
    }));
    // The runners' own runs have no limits and no progress: the whole run has them.
    let case_opts = RunOptions {
        traces: opts.traces,
        time_limit: None,
        progress: None,
    };
    let mut next = cases.borrow_mut().first();
    while let Some(choices) = next {
        let run = ModelRun::new(
            EngineKind::Proptest,
            scenario.name(),
            None,
            None,
            &case_opts,
        );
        let state = Rc::new(RunnerState::default());
        let pull = Pull {
            cases: cases.clone(),
            run: run.clone(),
            state: state.clone(),
            choices: ChoiceScheduler::new(choices),
            started: false,
        };
        let out = run_on(scenario, pull, cfg.max_steps, &run, &case_opts);
        if state.ended.get() {
            break;
        }
        // The runner ended at this case: it failed, hit a cap or erred.
        let mut r = out.result(EngineKind::Proptest, scenario.name(), &run);
        r.executions = run.executions() - state.base.get();
        next = cases.borrow_mut().record(r);
    }
    let Ok(cases) = Rc::try_unwrap(cases).map(RefCell::into_inner) else {
        unreachable!("every runner and its scheduler have ended")
    };
    let Cases {
        search,
        executions: total,
        first_failure,
        histogram,
        stopped,
        error,
        ..
    } = cases;
    let outcome = search.outcome();
    let elapsed = whole.start.elapsed();
    let mut r = EngineResult::empty(EngineKind::Proptest, scenario.name());
    r.executions = total;
    r.elapsed = elapsed;
    r.histogram = histogram;
    whole.progress(true);
    if let Some(e) = error {
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
            let mut m = run_choices_with(scenario, &minimal, cfg.max_steps, opts);
            let (at, ttf, original) = first_failure.expect("a failing case was recorded");
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

#[cfg(test)]
mod tests {
    use super::*;
    use std::cell::RefCell;

    /// Whether a value fails the test.
    type Predicate = dyn Fn(&[u8]) -> bool;

    fn runner(cases: u32, max_shrink_iters: u32) -> TestRunner {
        let config = Config {
            cases,
            max_shrink_iters,
            failure_persistence: None,
            rng_algorithm: RngAlgorithm::ChaCha,
            ..Config::default()
        };
        TestRunner::new_with_rng(
            config,
            TestRng::from_seed(RngAlgorithm::ChaCha, b"racelab proptest schedule seed!!"),
        )
    }

    /// The values proptest's own runner tests, in order, and its outcome.
    fn by_proptest(cases: u32, shrink: u32, fails: &Predicate) -> (Vec<Vec<u8>>, Option<Vec<u8>>) {
        let seen = RefCell::new(Vec::new());
        let outcome = runner(cases, shrink).run(&vec(any::<u8>(), 0..=64), |v| {
            seen.borrow_mut().push(v.clone());
            if fails(&v) {
                Err(proptest::test_runner::TestCaseError::fail("fails"))
            } else {
                Ok(())
            }
        });
        let minimal = match outcome {
            Ok(()) => None,
            Err(TestError::Fail(_, v)) => Some(v),
            Err(e) => panic!("proptest aborted: {e}"),
        };
        (seen.into_inner(), minimal)
    }

    /// The same through `Search`.
    fn by_search(cases: u32, shrink: u32, fails: &Predicate) -> (Vec<Vec<u8>>, Option<Vec<u8>>) {
        let mut search = Search::new(runner(cases, shrink), vec(any::<u8>(), 0..=64));
        let mut seen = Vec::new();
        let mut next = search.start();
        while let Some(v) = next {
            let verdict = if fails(&v) {
                Err("fails".to_string())
            } else {
                Ok(())
            };
            seen.push(v);
            next = search.next(verdict);
        }
        let minimal = match search.outcome() {
            Ok(()) => None,
            Err(TestError::Fail(_, v)) => Some(v),
            Err(e) => panic!("search aborted: {e}"),
        };
        (seen, minimal)
    }

    #[test]
    fn search_runs_what_proptest_runs() {
        // Each predicate drives a different path: every case passes; a failure shrinks to the
        // end; a failure found late; shrinking cut short by its budget, and switched off.
        let never = |_: &[u8]| false;
        let two_big = |v: &[u8]| v.iter().filter(|&&b| b > 200).count() >= 2;
        let long_odd = |v: &[u8]| v.len() > 40 && v.iter().map(|&b| b as u32).sum::<u32>() % 2 == 1;
        let rare = |v: &[u8]| v.windows(2).any(|w| w[0] == 7 && w[1] > 128);
        let cases: [(u32, u32, &Predicate); 6] = [
            (300, 10_000, &never),
            (1_000, 10_000, &two_big),
            (1_000, 10_000, &long_odd),
            (1_000, 10_000, &rare),
            (1_000, 3, &two_big),
            (1_000, 0, &two_big),
        ];
        for (i, (n, shrink, fails)) in cases.into_iter().enumerate() {
            let (want, want_min) = by_proptest(n, shrink, fails);
            let (got, got_min) = by_search(n, shrink, fails);
            assert!(!want.is_empty(), "predicate {i} tested nothing");
            assert_eq!(got.len(), want.len(), "predicate {i}: how many values");
            assert_eq!(got, want, "predicate {i}: the values and their order");
            assert_eq!(
                got_min, want_min,
                "predicate {i}: the minimal failing value"
            );
        }
        // The paths are really taken: a pass, and shrinks that ran.
        assert!(by_proptest(300, 10_000, &never).1.is_none());
        assert!(
            by_proptest(1_000, 10_000, &two_big).0.len() > by_proptest(1_000, 0, &two_big).0.len()
        );
    }
}
