//! One model-checker run, shared by loom, the shuttle engines and proptest: the bookkeeping
//! the checker's body updates, and how the run's end becomes a verdict.

use super::*;

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
    /// A pass, with what ended it, and a note on what it did not explore.
    Passed(Option<Bound>, Option<&'static str>),
    NotRun(String),
    Error(String),
}

/// The note on a pass whose engine does not choose when timers fire.
pub(crate) const IDLE_TIMERS: &str = "timed waits here timed out only when nothing else could run: this engine does not choose when a timer fires, so a timeout racing a wakeup was not explored (shuttle's random and PCT schedulers and proptest explore it)";

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
    let timers = model::idle_timers_only().then_some(IDLE_TIMERS);
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
            return Ending::Passed(run.stopped.get().copied().map(Bound::Cap), timers);
        }
        Err(p) => p,
    };
    if let Some(Signal::Stop) = payload.downcast_ref::<Signal>() {
        return match run.stopped.get().copied() {
            Some(c) => Ending::Passed(Some(Bound::Cap(c)), timers),
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
pub(crate) fn capped(cap: Cap, executions: u64) -> Ending {
    if executions <= 1 {
        Ending::NotRun(format!("the first execution already hit a cap: {cap}"))
    } else {
        Ending::Passed(Some(Bound::Cap(cap)), None)
    }
}

pub(crate) fn counterexample(f: Recorded) -> Counterexample {
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
        Ending::Passed(bound, note) => {
            r.verdict = Verdict::Passed;
            r.bound = bound;
            if let Some(note) = note {
                r.note = note.to_string();
            }
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

/// Formats a failure message so that it starts with its bug class.
pub(crate) fn with_class(class: BugClass, msg: String) -> String {
    if msg.starts_with(class.name()) {
        msg
    } else {
        format!("{}: {}", class.name(), msg.trim())
    }
}

pub(crate) fn first_line(s: &str) -> &str {
    s.lines().next().unwrap_or(s).trim()
}
