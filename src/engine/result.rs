//! What an engine run concludes: the verdict, the bound that ended a pass and what sampled runs
//! buy, the counterexample, and the result with its verdict line and JSON.

use super::*;

/// What an engine concluded about one scenario.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Verdict {
    /// A forbidden outcome, a panic of the structure or its check, or a failure the checker found
    /// in the structure (deadlock, data race, leak). Never an engine's limit.
    Caught,
    /// No failure; [`EngineResult::bound`] says what ended the run.
    Passed,
    /// A racy variant passed an engine that cannot see its bug (set by the catalogue, never by
    /// an engine).
    BlindSpot,
    /// The engine could not run the scenario: a limit of the engine (threads), a skip, or a cell
    /// time limit used up by earlier scenarios. The note gives the reason and the number.
    NotRun,
    /// The engine's own machinery failed; the note says how. It fails the matrix.
    Error,
}

impl fmt::Display for Verdict {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Verdict::Caught => "caught",
            Verdict::Passed => "passed",
            Verdict::BlindSpot => "blind spot",
            Verdict::NotRun => "not run",
            Verdict::Error => "error",
        })
    }
}

/// A cap that stopped a run before its budget.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Cap {
    /// The execution budget (loom's `max_permutations`, DFS's schedule bound).
    Executions(u64),
    /// The run's time limit.
    Time(Duration),
    /// The cell's time limit (shared by a subject's scenarios under one engine).
    CellTime(Duration),
    /// One execution made more than `max` primitive operations (loom: branches), at execution
    /// `at`: a spin that never ends, usually.
    Operations {
        /// The cap.
        max: u64,
        /// The execution that exceeded it.
        at: u64,
    },
    /// One execution took more than `max` scheduling steps (shuttle), at execution `at`.
    Steps {
        /// The cap.
        max: u64,
        /// The execution that exceeded it.
        at: u64,
    },
    /// proptest's shrinking budget ran out (the counterexample is not minimal).
    ShrinkBudget(u32),
}

impl Cap {
    /// A short machine name: `executions`, `time`, `cell_time`, `operations`, `steps`,
    /// `shrink_budget`.
    pub fn kind(&self) -> &'static str {
        match self {
            Cap::Executions(_) => "executions",
            Cap::Time(_) => "time",
            Cap::CellTime(_) => "cell_time",
            Cap::Operations { .. } => "operations",
            Cap::Steps { .. } => "steps",
            Cap::ShrinkBudget(_) => "shrink_budget",
        }
    }
    /// The number the cap is.
    pub fn limit(&self) -> f64 {
        match *self {
            Cap::Executions(n) => n as f64,
            Cap::Time(d) | Cap::CellTime(d) => d.as_secs_f64(),
            Cap::Operations { max, .. } | Cap::Steps { max, .. } => max as f64,
            Cap::ShrinkBudget(n) => f64::from(n),
        }
    }
}

impl fmt::Display for Cap {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Cap::Executions(n) => write!(f, "execution budget of {}", stress::group(*n)),
            Cap::Time(d) => write!(f, "time limit of {}", secs(*d)),
            Cap::CellTime(d) => write!(f, "cell time limit of {}", secs(*d)),
            Cap::Operations { max, at } => write!(
                f,
                "execution {} made more than {} operations (a spin that never ends?)",
                stress::group(*at),
                stress::group(*max)
            ),
            Cap::Steps { max, at } => write!(
                f,
                "execution {} took more than {} scheduling steps (a livelock, or a spin that never yields?)",
                stress::group(*at),
                stress::group(*max)
            ),
            Cap::ShrinkBudget(n) => write!(f, "shrink budget of {n} steps"),
        }
    }
}

pub(crate) fn secs(d: Duration) -> String {
    if d.as_secs_f64() >= 1.0 {
        format!("{:.1} s", d.as_secs_f64())
    } else {
        format!("{} ms", d.as_millis())
    }
}

/// What ended a run that caught nothing.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Bound {
    /// Every schedule within the bound ran: loom finished its enumeration (`preemption_bound`
    /// preemptions at most), or DFS enumerated every schedule (`None`).
    Exhausted {
        /// loom's preemption bound, when it had one.
        preemption_bound: Option<usize>,
    },
    /// The engine ran the executions it was asked for (random, PCT, proptest, stress). See
    /// [`EngineResult::guarantee`] for what they buy.
    Runs(u64),
    /// The adaptive budget reached its target: `confidence` of finding any bug of depth ≤
    /// `depth` (PCT's guarantee).
    Confidence {
        /// The target confidence.
        confidence: f64,
        /// The bug depth it covers.
        depth: usize,
    },
    /// A cap stopped the run before its budget.
    Cap(Cap),
}

impl Bound {
    /// Whether the run covered everything within its bound (only [`Bound::Exhausted`]).
    pub fn complete(&self) -> bool {
        matches!(self, Bound::Exhausted { .. })
    }
    /// A short machine name: `exhausted`, `runs`, `confidence`, or the cap's kind.
    pub fn kind(&self) -> &'static str {
        match self {
            Bound::Exhausted { .. } => "exhausted",
            Bound::Runs(_) => "runs",
            Bound::Confidence { .. } => "confidence",
            Bound::Cap(c) => c.kind(),
        }
    }
}

impl fmt::Display for Bound {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Bound::Exhausted {
                preemption_bound: Some(b),
            } => write!(f, "exhaustive within {b} preemptions"),
            Bound::Exhausted {
                preemption_bound: None,
            } => f.write_str("exhaustive"),
            Bound::Runs(n) => write!(f, "budget: {} runs, not exhaustive", stress::group(*n)),
            Bound::Confidence { confidence, depth } => write!(
                f,
                "adaptive budget reached: {:.0}% confidence for bugs of depth ≤ {depth}",
                confidence * 100.0
            ),
            Bound::Cap(c) => write!(f, "stopped early: {c}"),
        }
    }
}

/// What a run of random schedules buys, when it finds nothing.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Guarantee {
    /// Executions run.
    pub runs: u64,
    /// The per-execution failure probability that `runs` clean executions rule out at 95%
    /// confidence (the rule of three: ≈ 3 / runs). A bug that shows in a larger fraction of
    /// random executions would have been seen. Valid for random, PCT, proptest and stress
    /// alike; it says nothing about rarer bugs.
    pub rule_of_three: f64,
    /// PCT's own guarantee, for shuttle-pct.
    pub pct: Option<PctGuarantee>,
}

/// PCT's probabilistic guarantee (Burckhardt et al., ASPLOS 2010): each run finds a given bug of
/// depth `d` with probability at least `1 / (n · k^(d−1))`, for `n` threads and `k` steps.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct PctGuarantee {
    /// The depth PCT was run with (`d`): bugs of depth ≤ d are covered.
    pub depth: usize,
    /// Threads seen (`n`).
    pub threads: usize,
    /// The most scheduling steps with a choice seen in one execution (`k`).
    pub steps: u64,
    /// The per-run lower bound `1 / (n · k^(d−1))`.
    pub per_run: f64,
    /// The confidence the runs give: `1 − (1 − per_run)^runs`.
    pub confidence: f64,
}

impl PctGuarantee {
    /// The guarantee of `runs` runs at depth `d` with `n` threads and `k` steps.
    pub fn new(depth: usize, threads: usize, steps: u64, runs: u64) -> PctGuarantee {
        let k = steps.max(1) as f64;
        let per_run = 1.0 / (threads.max(1) as f64 * k.powi(depth.saturating_sub(1) as i32));
        PctGuarantee {
            depth,
            threads,
            steps,
            per_run,
            confidence: confidence(per_run, runs),
        }
    }
    /// Runs needed for `target` confidence at this per-run probability.
    pub fn runs_for(per_run: f64, target: f64) -> u64 {
        if per_run >= 1.0 {
            return 1;
        }
        ((1.0 - target).ln() / (1.0 - per_run).ln()).ceil().max(1.0) as u64
    }
}

/// `1 − (1 − p)^n`, computed without losing small `p`.
pub(crate) fn confidence(p: f64, n: u64) -> f64 {
    -((n as f64) * (-p).ln_1p()).exp_m1()
}

impl Guarantee {
    /// The guarantee of `runs` clean runs, with PCT's when given.
    pub fn new(runs: u64, pct: Option<PctGuarantee>) -> Guarantee {
        Guarantee {
            runs,
            rule_of_three: if runs == 0 {
                1.0
            } else {
                (3.0 / runs as f64).min(1.0)
            },
            pct,
        }
    }
}

impl fmt::Display for Guarantee {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Some(p) = &self.pct {
            let conf = if p.confidence > 0.999 {
                "> 99.9%".to_string()
            } else {
                percent(p.confidence)
            };
            write!(
                f,
                "PCT d={} n={} k={}: each run ≥ {}, so {conf} confidence for a depth-≤{} bug; ",
                p.depth,
                p.threads,
                p.steps,
                probability(p.per_run),
                p.depth
            )?;
        }
        write!(
            f,
            "a bug showing in ≥ {} of runs would have been seen (95%)",
            percent(self.rule_of_three)
        )
    }
}

pub(crate) fn probability(p: f64) -> String {
    if p <= 0.0 {
        "0".into()
    } else if p >= 0.01 {
        format!("{p:.3}")
    } else {
        format!("1/{}", stress::group((1.0 / p).round() as u64))
    }
}

pub(crate) fn percent(p: f64) -> String {
    let pc = p * 100.0;
    if pc >= 1.0 {
        format!("{pc:.1}%")
    } else if pc >= 0.01 {
        format!("{pc:.2}%")
    } else {
        format!("{pc:.1e}%")
    }
}

/// The first failure an engine found.
#[derive(Debug, Clone)]
pub struct Counterexample {
    /// The bug class.
    pub class: BugClass,
    /// The message, e.g. `lost update: counter = 1, expected 2`.
    pub message: String,
    /// The thread that failed, named as the trace names it (`T1`, `main` for the check).
    pub thread: Option<String>,
    /// Where the failure was raised (a panic's location), when it is known.
    pub location: Option<String>,
    /// How to replay it, where the engine can.
    pub replay: Option<Replay>,
    /// The interleaving of the failing execution (empty for stress: observing real threads would
    /// change them).
    pub trace: Trace,
    /// Preemptions of the failing schedule: switches, between consecutive recorded operations,
    /// away from a thread that could have gone on (it had not blocked, yielded or finished).
    /// Counted on the full trace, the same way on every model engine; `None` under stress (no
    /// schedule is known) and when traces are not [`TraceMode::Full`].
    pub preemptions: Option<usize>,
}

impl Counterexample {
    /// A failure with no trace, thread, location or replay (what real threads give).
    pub fn untraced(class: BugClass, message: String) -> Counterexample {
        Counterexample {
            class,
            message,
            thread: None,
            location: None,
            replay: None,
            trace: Trace::default(),
            preemptions: None,
        }
    }
}

/// The result of running one scenario under one engine.
///
/// Every field means the same on every engine:
/// - `executions`: complete or attempted executions of the scenario body the engine ran in
///   total (proptest: its search *and* its shrinking runs; stress: rounds);
/// - `first_failure_at`: the 1-based execution (round) in which the first failure appeared;
/// - `elapsed`: wall time of the whole run; `time_to_failure`: until the first failure;
/// - `histogram`: outcome → executions (forbidden outcomes keyed by their message);
/// - `bound`: for a pass, what ended the run; `guarantee`: for a pass of sampled schedules,
///   what the runs buy.
#[derive(Debug, Clone)]
pub struct EngineResult {
    /// Which engine.
    pub engine: EngineKind,
    /// Which scenario.
    pub scenario: String,
    /// The scenario's index in its subject (for replay tokens).
    pub scenario_index: usize,
    /// What it concluded.
    pub verdict: Verdict,
    /// For a pass: what ended the run. `None` for other verdicts.
    pub bound: Option<Bound>,
    /// For a pass of sampled schedules: what the runs buy.
    pub guarantee: Option<Guarantee>,
    /// Executions run (see the type's docs).
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
    /// Anything else worth knowing: the reason of a `not run` or an `error`.
    pub note: String,
}

impl EngineResult {
    pub(crate) fn empty(engine: EngineKind, scenario: &str) -> EngineResult {
        EngineResult {
            engine,
            scenario: scenario.to_string(),
            scenario_index: 0,
            verdict: Verdict::Passed,
            bound: None,
            guarantee: None,
            executions: 0,
            first_failure_at: None,
            elapsed: Duration::ZERO,
            time_to_failure: None,
            histogram: BTreeMap::new(),
            counterexample: None,
            stress: None,
            note: String::new(),
        }
    }
    /// A scenario the engine did not run, for the reason in `why`.
    pub fn not_run(engine: EngineKind, scenario: &str, why: String) -> EngineResult {
        EngineResult {
            verdict: Verdict::NotRun,
            note: why,
            ..EngineResult::empty(engine, scenario)
        }
    }
    /// A scenario racelab's own machinery could not run to a verdict (a worker process that
    /// died, a reply it could not read), for the reason in `why`: an [`Verdict::Error`], never a
    /// verdict about the code.
    pub fn error(engine: EngineKind, scenario: &str, why: String) -> EngineResult {
        EngineResult {
            verdict: Verdict::Error,
            note: why,
            ..EngineResult::empty(engine, scenario)
        }
    }
    /// The failure message, if any.
    pub fn message(&self) -> Option<&str> {
        self.counterexample.as_ref().map(|c| c.message.as_str())
    }
    /// Whether the run passed *and* covered everything within its bound.
    pub fn passed_exhaustively(&self) -> bool {
        self.verdict == Verdict::Passed && self.bound.is_some_and(|b| b.complete())
    }
    /// The verdict line: `caught @3: lost update: …`, `passed (exhaustive within 2 preemptions,
    /// 17 executions)`, `passed (budget: 2,000 runs, not exhaustive; PCT …)`, `not run: needs 5
    /// threads; …`, `error: …`.
    pub fn summary(&self) -> String {
        match self.verdict {
            Verdict::Caught => format!(
                "caught @{}: {}",
                self.first_failure_at.unwrap_or(0),
                self.message().unwrap_or("")
            ),
            Verdict::Passed => {
                let mut s = format!("passed ({} executions", stress::group(self.executions));
                if let Some(b) = &self.bound {
                    s += &format!("; {b}");
                }
                if let Some(g) = &self.guarantee {
                    s += &format!("; {g}");
                }
                s + ")"
            }
            Verdict::BlindSpot => format!("blind spot: {}", self.note),
            Verdict::NotRun => format!("not run: {}", self.note),
            Verdict::Error => format!("error: {}", self.note),
        }
    }
    /// The result's fields in the JSON contract (see [`crate::report`]), without the catalogue's
    /// fields (family, variant, expectation) and with the replay token of a user subject.
    pub fn to_json(&self) -> serde_json::Value {
        let c = self.counterexample.as_ref();
        serde_json::json!({
            "engine": self.engine.name(),
            "scenario": self.scenario,
            "scenario_index": self.scenario_index,
            "verdict": self.verdict,
            "summary": self.summary(),
            "bound": self.bound.map(|b| serde_json::json!({
                "kind": b.kind(),
                "complete": b.complete(),
                "limit": match b {
                    Bound::Cap(c) => Some(c.limit()),
                    Bound::Runs(n) => Some(n as f64),
                    Bound::Confidence { confidence, .. } => Some(confidence),
                    Bound::Exhausted { preemption_bound } => preemption_bound.map(|p| p as f64),
                },
                "text": b.to_string(),
            })),
            "guarantee": self.guarantee,
            "executions": self.executions,
            "first_failure_at": self.first_failure_at,
            "millis": self.elapsed.as_secs_f64() * 1e3,
            "time_to_failure_ms": self.time_to_failure.map(|d| d.as_secs_f64() * 1e3),
            "class": c.map(|c| c.class),
            "message": c.map(|c| c.message.clone()),
            "thread": c.and_then(|c| c.thread.clone()),
            "location": c.and_then(|c| c.location.clone()),
            "replay": self.replay_token(),
            "trace": c.map(|c| c.trace.to_string()).filter(|t| !t.is_empty()),
            "story": c.map(|c| c.trace.story()).filter(|t| !t.is_empty()),
            "preemptions": c.and_then(|c| c.preemptions),
            "histogram": self.histogram,
            "stress": self.stress,
            "note": self.note,
        })
    }
    /// Reads a result back from its JSON (a report's `results` entry, see [`crate::report`]):
    /// every field the matrix, the exit status and the report need. The trace comes back as
    /// its text only (`trace` in the JSON), which [`crate::shard`] keeps beside the result; the
    /// `Trace` itself is empty.
    ///
    /// # Errors
    /// A one-line description of the first field that is missing or malformed.
    pub fn from_json(v: &serde_json::Value) -> Result<EngineResult, String> {
        use serde_json::Value;
        let field = |k: &str| v.get(k).filter(|x| !x.is_null());
        let text = |k: &str| -> Result<&str, String> {
            field(k)
                .and_then(Value::as_str)
                .ok_or_else(|| format!("no string `{k}`"))
        };
        let opt_u64 = |k: &str| field(k).and_then(Value::as_u64);
        let ms = |k: &str| {
            field(k)
                .and_then(Value::as_f64)
                .map(|m| Duration::from_secs_f64(m.max(0.0) / 1e3))
        };
        let parsed =
            |k: &str| -> Result<Option<serde_json::Value>, String> { Ok(field(k).cloned()) };
        let engine: EngineKind = text("engine")?.parse()?;
        let verdict: Verdict = serde_json::from_value(parsed("verdict")?.ok_or("no `verdict`")?)
            .map_err(|e| format!("bad `verdict`: {e}"))?;
        let bound = match field("bound") {
            None => None,
            Some(b) => Some(bound_from_json(b)?),
        };
        let guarantee = match field("guarantee") {
            None => None,
            Some(g) => Some(
                serde_json::from_value(g.clone()).map_err(|e| format!("bad `guarantee`: {e}"))?,
            ),
        };
        let counterexample = match field("class") {
            None => None,
            Some(c) => {
                let class: BugClass =
                    serde_json::from_value(c.clone()).map_err(|e| format!("bad `class`: {e}"))?;
                let replay = match field("replay").and_then(Value::as_str) {
                    // `family/variant/index/payload` in a report, `index/payload` alone.
                    Some(token) => Some(
                        token
                            .rsplit('/')
                            .next()
                            .unwrap_or(token)
                            .parse::<Replay>()
                            .map_err(|e| format!("bad `replay`: {e}"))?,
                    ),
                    None => None,
                };
                Some(Counterexample {
                    class,
                    message: text("message").unwrap_or("").to_string(),
                    thread: field("thread").and_then(Value::as_str).map(String::from),
                    location: field("location").and_then(Value::as_str).map(String::from),
                    replay,
                    trace: Trace::default(),
                    preemptions: opt_u64("preemptions").map(|p| p as usize),
                })
            }
        };
        let histogram = match field("histogram") {
            None => BTreeMap::new(),
            Some(h) => {
                serde_json::from_value(h.clone()).map_err(|e| format!("bad `histogram`: {e}"))?
            }
        };
        let stress = match field("stress") {
            None => None,
            Some(s) => {
                Some(serde_json::from_value(s.clone()).map_err(|e| format!("bad `stress`: {e}"))?)
            }
        };
        Ok(EngineResult {
            engine,
            scenario: text("scenario")?.to_string(),
            scenario_index: opt_u64("scenario_index").ok_or("no `scenario_index`")? as usize,
            verdict,
            bound,
            guarantee,
            executions: opt_u64("executions").ok_or("no `executions`")?,
            first_failure_at: opt_u64("first_failure_at"),
            elapsed: ms("millis").unwrap_or_default(),
            time_to_failure: ms("time_to_failure_ms"),
            histogram,
            counterexample,
            stress,
            note: field("note")
                .and_then(Value::as_str)
                .unwrap_or("")
                .to_string(),
        })
    }
    /// `scenario-index/payload`: what [`Check::replay`] takes to reproduce this failure on the
    /// same subject.
    pub fn replay_token(&self) -> Option<String> {
        let r = self.counterexample.as_ref()?.replay.as_ref()?;
        Some(format!("{}/{r}", self.scenario_index))
    }
    /// Asserts that the engine caught a failure whose message contains `expected`.
    ///
    /// # Panics
    /// With a description of what happened instead.
    pub fn assert_caught(&self, expected: &str) -> &Self {
        match (&self.verdict, self.message()) {
            (Verdict::Caught, Some(m)) if m.contains(expected) => self,
            _ => panic!(
                "{} on `{}`: expected a failure containing {expected:?}, got {}",
                self.engine,
                self.scenario,
                self.summary()
            ),
        }
    }
    /// Asserts that the engine caught a failure of bug class `class`.
    ///
    /// # Panics
    /// With a description of what happened instead.
    pub fn assert_caught_class(&self, class: BugClass) -> &Self {
        match &self.counterexample {
            Some(c) if self.verdict == Verdict::Caught && c.class == class => self,
            _ => panic!(
                "{} on `{}`: expected {class} to be caught, got {}",
                self.engine,
                self.scenario,
                self.summary()
            ),
        }
    }
    /// Panics with the verdict line unless the verdict is `Passed`; for
    /// `#[should_panic(expected = "...")]` tests and for asserting a correct twin passes.
    pub fn unwrap_passed(&self) -> &Self {
        if self.verdict != Verdict::Passed {
            panic!("{} on `{}`: {}", self.engine, self.scenario, self.summary());
        }
        self
    }
}

/// A bound back from its JSON `{kind, complete, limit, text}`.
fn bound_from_json(b: &serde_json::Value) -> Result<Bound, String> {
    let kind = b
        .get("kind")
        .and_then(|k| k.as_str())
        .ok_or("no `bound.kind`")?;
    let limit = b.get("limit").and_then(|l| l.as_f64());
    let text = b.get("text").and_then(|t| t.as_str()).unwrap_or("");
    let need = || limit.ok_or_else(|| format!("bound `{kind}` has no limit"));
    // The number after `word` in the bound's text (`execution 1,234 made …`, `depth ≤ 3`).
    let after = |word: &str| -> u64 {
        text.split(word)
            .nth(1)
            .map(|rest| {
                rest.trim_start()
                    .chars()
                    .take_while(|c| c.is_ascii_digit() || *c == ',')
                    .filter(char::is_ascii_digit)
                    .collect::<String>()
            })
            .and_then(|n| n.parse().ok())
            .unwrap_or(0)
    };
    Ok(match kind {
        "exhausted" => Bound::Exhausted {
            preemption_bound: limit.map(|l| l as usize),
        },
        "runs" => Bound::Runs(need()? as u64),
        "confidence" => Bound::Confidence {
            confidence: need()?,
            depth: after("depth ≤") as usize,
        },
        "executions" => Bound::Cap(Cap::Executions(need()? as u64)),
        "time" => Bound::Cap(Cap::Time(Duration::from_secs_f64(need()?))),
        "cell_time" => Bound::Cap(Cap::CellTime(Duration::from_secs_f64(need()?))),
        "operations" => Bound::Cap(Cap::Operations {
            max: need()? as u64,
            at: after("execution"),
        }),
        "steps" => Bound::Cap(Cap::Steps {
            max: need()? as u64,
            at: after("execution"),
        }),
        "shrink_budget" => Bound::Cap(Cap::ShrinkBudget(need()? as u32)),
        other => return Err(format!("unknown bound kind `{other}`")),
    })
}
