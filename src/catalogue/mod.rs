//! The registry: every structure variant, racy or correct, with what each engine is expected to
//! find. Tests, the report and the benchmarks iterate [`catalogue()`]; nothing lists variants a
//! second time.
//!
//! Each variant's name is written once, as its type's own constant: `Counter::NAME`,
//! `RawLock::NAME`, `Queue::NAME`, [`OrderingVariant::NAME`](crate::ordering::OrderingVariant).
//! An entry's declaration (in `entries.rs`) says everything else once too: what each engine is
//! expected to find, whether the model checkers can run it at all (a queue's
//! `Queue::MODEL_CHECKABLE`), and whether `racelab explore` may run generated programs on it.
//! What the fuzzer runs is derived from the same declaration ([`fuzz_entries`]).
//!
//! What only one family has lives in [`Entry::hooks`], a [`Hooks`] value; the timed run
//! [`Entry::bench`] is the one hook every family can have, and its shape
//! ([`Timed`](crate::bench::Timed): increments or transfers) is the family's.

mod entries;
mod queue;

pub use self::entries::{
    DFS_NO_TIME, DFS_SHALLOW, DFS_SPIN, LOOM_NO_TIME, MODEL_STD_ATOMICS, SHUTTLE_SC, STRESS_TSO,
    STRESS_TSO_RELEASE, catalogue,
};
pub use self::queue::{DynQueue, OpenFn, Parcel, QueueHooks};

use crate::engine::{Check, Engine, EngineKind, EngineResult, Verdict};
use crate::scenario::{BugClass, ScenarioSet};

/// The family of the counters ([`crate::counter`]).
pub const COUNTER: &str = "counter";
/// The family of the locks ([`crate::lock`]).
pub const LOCK: &str = "lock";
/// The family of the memory-ordering subjects ([`crate::ordering`]).
pub const ORDERING: &str = "ordering";
/// The family of the queues ([`crate::queue`]).
pub const QUEUE: &str = "queue";
/// The family of the worker pools ([`crate::pool`]).
pub const POOL: &str = "pool";
/// The family of the pipelines ([`crate::pipeline`]).
pub const PIPELINE: &str = "pipeline";
/// The family of the executors ([`crate::executor`]).
pub const EXECUTOR: &str = "executor";

/// What an engine is expected to do with a racy entry.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Expect {
    /// Must catch it: deterministic within its bounds. Missing it fails the run.
    Must,
    /// May catch it: depends on the machine. Measured and reported, never a failure.
    May,
    /// Cannot see it, for the stated reason. Reported as a blind spot, never as a pass.
    Blind(&'static str),
    /// Not run, for the stated reason (e.g. it would be undefined behaviour).
    Skip(&'static str),
}

impl Expect {
    /// `must`, `may`, `blind` or `skip`.
    pub fn name(self) -> &'static str {
        match self {
            Expect::Must => "must",
            Expect::May => "may",
            Expect::Blind(_) => "blind",
            Expect::Skip(_) => "skip",
        }
    }
}

/// One variant of one family.
#[derive(Debug, Clone)]
pub struct Entry {
    /// The family, e.g. `counter`.
    pub family: &'static str,
    /// The variant's type name, e.g. `LoadStoreCounter`.
    pub variant: &'static str,
    /// `Some(class)` for an intentionally racy variant, `None` for a correct one.
    pub bug: Option<BugClass>,
    /// One line: what it does and what goes wrong.
    pub story: &'static str,
    /// Every catching engine's message contains one of these (e.g. `lost update`); empty for
    /// correct entries.
    pub symptoms: &'static [&'static str],
    /// The most threads its scenarios and benchmarks may use (Peterson's lock: 2).
    pub max_threads: usize,
    /// Its scenarios on each runtime.
    pub scenarios: ScenarioSet,
    /// A timed run on real threads, with its shape, for the benchmarks; `None` when the entry
    /// must not run on real threads (a data race), is not a timed structure, or is a racy queue
    /// (a transfer that loses an item would wait for it forever).
    pub bench: Option<crate::bench::Timed>,
    /// What only this entry's family has.
    pub hooks: Hooks,
    /// Per-engine expectations of a racy entry (ignored for correct ones: those must pass
    /// everywhere).
    pub expect: [(EngineKind, Expect); 6],
}

/// shuttle is sequentially consistent and preempts only at synchronisation operations.
pub const SHUTTLE_NO_CELL: &str = "shuttle preempts only at synchronisation operations; a plain cell access is not one, so the racing read-modify-write never interleaves";
/// Why stress never runs a data race.
pub const STRESS_UB: &str =
    "not run: a data race on real threads is undefined behaviour, not an experiment";

/// The hooks one family adds to its entries. Families without any have [`Hooks::None`].
#[derive(Debug, Clone, Copy)]
pub enum Hooks {
    /// Nothing beyond the common fields (counters, locks, ordering subjects).
    None,
    /// A queue's: its erased constructors and whether generated programs may run on it.
    Queue(QueueHooks),
}

impl Entry {
    /// The queue hooks, if this entry is a queue.
    pub fn queue(&self) -> Option<&QueueHooks> {
        match &self.hooks {
            Hooks::Queue(q) => Some(q),
            Hooks::None => None,
        }
    }
    /// Lincheck-style exploration with generated programs (`racelab explore`), if the entry's
    /// declaration allows it (queues only, never SPSC rings nor queues the model checkers
    /// cannot run).
    pub fn explore(&self) -> Option<crate::queue::generate::ExploreFn> {
        self.queue()?.explore
    }
    /// Whether the entry is intentionally racy.
    pub fn racy(&self) -> bool {
        self.bug.is_some()
    }
    /// What `kind` is expected to do with this entry.
    pub fn expectation(&self, kind: EngineKind) -> Expect {
        let set = self
            .expect
            .iter()
            .find(|(k, _)| *k == kind)
            .map(|(_, e)| *e);
        if !self.racy() {
            // A correct entry must pass every engine that can run it.
            return match set {
                Some(Expect::Skip(why)) => Expect::Skip(why),
                _ => Expect::Must,
            };
        }
        set.unwrap_or(Expect::May)
    }
    /// `family/variant`.
    pub fn key(&self) -> String {
        format!("{}/{}", self.family, self.variant)
    }
    /// Runs every scenario of this entry under `engine` and returns a verdict per scenario,
    /// with blind spots and skips applied.
    pub fn run(&self, engine: &Engine) -> Vec<EngineResult> {
        self.run_in(engine, &Check::new())
    }
    /// [`Entry::run`] with the options and the cell time limit of `check`.
    pub fn run_in(&self, engine: &Engine, check: &Check) -> Vec<EngineResult> {
        let kind = engine.kind();
        if let Expect::Skip(why) = self.expectation(kind) {
            return self
                .scenarios
                .names()
                .iter()
                .enumerate()
                .map(|(i, scenario)| {
                    let mut r = EngineResult::not_run(kind, scenario, why.to_string());
                    r.scenario_index = i;
                    r
                })
                .collect();
        }
        let mut results = check.run_engine_set(engine, &self.scenarios);
        for r in &mut results {
            if r.verdict == Verdict::Passed
                && let Expect::Blind(why) = self.expectation(kind)
            {
                r.verdict = Verdict::BlindSpot;
                r.note = format!("expected blind spot: {why}");
            }
        }
        results
    }
    /// The cell verdict of this entry under one engine, from its scenario results: a racy entry
    /// is caught if any scenario caught it; a correct entry takes its worst scenario.
    pub fn cell(&self, results: &[EngineResult]) -> Verdict {
        let has = |v: Verdict| results.iter().any(|r| r.verdict == v);
        // Worst first. A scenario the engine could not run (not run, with its reason) neither
        // passes nor fails the cell as long as another scenario ran: a correct entry passes on
        // the scenarios that ran, and a racy one that none of them caught is an escape.
        [
            Verdict::Caught,
            Verdict::Error,
            Verdict::Passed,
            Verdict::BlindSpot,
        ]
        .into_iter()
        .find(|v| has(*v))
        .unwrap_or(Verdict::NotRun)
    }
    /// Whether a cell verdict is a failure of the run: an engine error, a false positive, or a
    /// racy variant that escaped an engine that must catch it.
    pub fn is_failure(&self, kind: EngineKind, cell: Verdict) -> bool {
        if cell == Verdict::Error {
            return true;
        }
        if let Expect::Skip(_) = self.expectation(kind) {
            return false;
        }
        if self.racy() {
            self.expectation(kind) == Expect::Must && cell != Verdict::Caught
        } else {
            cell == Verdict::Caught
        }
    }
}

/// Finds an entry by variant name (case-insensitive), or `family/variant`.
///
/// # Errors
/// A one-line message naming the known variants.
pub fn find(name: &str) -> Result<Entry, String> {
    let all = catalogue();
    all.iter()
        .find(|e| e.variant.eq_ignore_ascii_case(name) || e.key().eq_ignore_ascii_case(name))
        .cloned()
        .ok_or_else(|| {
            let names: Vec<_> = all.iter().map(|e| e.variant).collect();
            format!("unknown variant `{name}` (known: {})", names.join(", "))
        })
}

/// The entries a fuzzer's schedules are run on: every entry whose declaration expects the
/// schedule engine (proptest) to run it: not the racy ones it is declared blind to, nor the
/// ones it cannot run (declared skipped). Appended entries keep the indices of earlier ones.
pub fn fuzz_entries() -> Vec<Entry> {
    catalogue()
        .into_iter()
        .filter(|e| {
            !matches!(
                e.expectation(EngineKind::Proptest),
                Expect::Blind(_) | Expect::Skip(_)
            )
        })
        .collect()
}

/// Decodes fuzzer input into one schedule of one scenario: byte 0 picks the entry (modulo
/// [`fuzz_entries`]), byte 1 the scenario, the rest are the choices of
/// [`crate::engine::schedule::ChoiceScheduler`]. Shared by `fuzz/` and `tests/fuzz_corpus.rs`.
pub fn decode_fuzz_input(data: &[u8]) -> Option<(Entry, crate::Scenario<crate::Shuttle>, &[u8])> {
    let [e, s, choices @ ..] = data else {
        return None;
    };
    let entries = fuzz_entries();
    let entry = entries[*e as usize % entries.len()].clone();
    let mut scenarios = entry.scenarios.shuttle();
    let scenario = scenarios.swap_remove(*s as usize % scenarios.len());
    // A scenario this runtime does not run (with its reason) is no input.
    if scenario.skipped().is_some() {
        return None;
    }
    Some((entry, scenario, choices))
}
