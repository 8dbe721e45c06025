//! The registry: every structure variant, racy or correct, with what each engine is expected to
//! find. Tests, the report and the benchmarks iterate [`catalogue()`]; nothing lists variants a
//! second time.

use crate::counter::{self, Counter, Counters};
use crate::engine::{Check, Engine, EngineKind, EngineResult, Verdict};
use crate::lock::{LockCounter, Locks, RawLock};
use crate::scenario::{BugClass, ScenarioSet, Subject};

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
    /// A timed run on real threads, for the benchmarks; `None` when the entry must not run on
    /// real threads (a data race) or is not a timed structure.
    pub bench: Option<crate::bench::BenchFn>,
    /// Lincheck-style exploration with generated programs (`racelab explore`), for queues that
    /// support it.
    pub explore: Option<crate::queue::generate::ExploreFn>,
    /// Per-engine expectations of a racy entry (ignored for correct ones: those must pass
    /// everywhere).
    pub expect: [(EngineKind, Expect); 6],
}

/// shuttle is sequentially consistent and preempts only at synchronisation operations.
pub const SHUTTLE_NO_CELL: &str = "shuttle preempts only at synchronisation operations; a plain cell access is not one, so the racing read-modify-write never interleaves";
/// Why stress never runs a data race.
pub const STRESS_UB: &str =
    "not run: a data race on real threads is undefined behaviour, not an experiment";

impl Entry {
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

impl Entry {
    /// With generated-program exploration for queue `Q`.
    fn explorable<Q: crate::queue::Queue<u64>>(self) -> Entry {
        Entry {
            explore: Some(crate::queue::generate::explore::<Q>),
            ..self
        }
    }
    /// With `expect` on `engine` instead of what its builder chose.
    fn expecting(mut self, engine: EngineKind, expect: Expect) -> Entry {
        for (kind, e) in self.expect.iter_mut() {
            if *kind == engine {
                *e = expect;
            }
        }
        self
    }
}

/// Why loom cannot catch a bug that needs a timer to fire early (modelled time).
pub const LOOM_NO_TIME: &str = "loom has no data choices, so a timed wait times out only when nothing else can run; a timeout racing a wakeup is never explored";

/// Why bounded DFS cannot either.
pub const DFS_NO_TIME: &str = "bounded DFS enumerates schedules only: a timed wait times out only when nothing else can run, never racing a wakeup";

/// What a racy entry expects: loom must catch it; the four shuttle-based engines share one
/// expectation; stress has its own.
struct Racy {
    bug: BugClass,
    symptoms: &'static [&'static str],
    story: &'static str,
    shuttle: Expect,
    /// shuttle's bounded DFS, when it differs from the other shuttle engines.
    dfs: Option<Expect>,
    /// shuttle's PCT, when it differs from the other shuttle engines.
    pct: Option<Expect>,
    stress: Expect,
}

impl Racy {
    fn entry<T: Subject + Default>(
        self,
        family: &'static str,
        variant: &'static str,
        bench: Option<crate::bench::BenchFn>,
        max_threads: usize,
    ) -> Entry {
        Entry {
            family,
            variant,
            bug: Some(self.bug),
            story: self.story,
            symptoms: self.symptoms,
            max_threads,
            scenarios: ScenarioSet::of::<T>(),
            bench,
            explore: None,
            expect: [
                (EngineKind::Loom, Expect::Must),
                (EngineKind::ShuttleRandom, self.shuttle),
                (EngineKind::ShuttlePct, self.pct.unwrap_or(self.shuttle)),
                (EngineKind::ShuttleDfs, self.dfs.unwrap_or(self.shuttle)),
                (EngineKind::Proptest, self.shuttle),
                (EngineKind::Stress, self.stress),
            ],
        }
    }
}

fn racy_counter<C: Counter>(
    bug: BugClass,
    symptoms: &'static [&'static str],
    story: &'static str,
    cell: bool,
) -> Entry {
    let bench: Option<crate::bench::BenchFn> = if cell {
        None
    } else {
        Some(crate::bench::counter_run::<C>)
    };
    Racy {
        bug,
        symptoms,
        story,
        shuttle: if cell {
            Expect::Blind(SHUTTLE_NO_CELL)
        } else {
            Expect::Must
        },
        dfs: None,
        pct: None,
        stress: if cell {
            Expect::Skip(STRESS_UB)
        } else {
            Expect::May
        },
    }
    .entry::<Counters<C>>("counter", C::NAME, bench, usize::MAX)
}

/// shuttle's sequential consistency hides every weak-memory bug.
pub const SHUTTLE_SC: &str = "shuttle is sequentially consistent: every load sees the latest store, so no stale read or store buffering can happen";
/// x86-TSO keeps stores in order and loads in order.
pub const STRESS_TSO: &str = "x86 is TSO: stores stay in order and loads stay in order, so message passing works in hardware even with Relaxed (ARM/POWER would show it)";

fn stress_tso() -> Expect {
    if cfg!(any(target_arch = "x86", target_arch = "x86_64")) {
        Expect::Blind(STRESS_TSO)
    } else {
        Expect::May
    }
}

/// x86-TSO on a release: a `Relaxed` store compiles to the same `mov` as a `Release` one.
pub const STRESS_TSO_RELEASE: &str = "x86 is TSO: a Relaxed store is the same plain `mov` as a Release store, so the hardware publishes the critical section anyway (ARM/POWER would not)";

fn stress_tso_release() -> Expect {
    if cfg!(any(target_arch = "x86", target_arch = "x86_64")) {
        Expect::Blind(STRESS_TSO_RELEASE)
    } else {
        Expect::May
    }
}

impl Entry {
    /// With stress expected to do `e`.
    fn stress(mut self, e: Expect) -> Entry {
        for (k, x) in self.expect.iter_mut() {
            if *k == EngineKind::Stress {
                *x = e;
            }
        }
        self
    }
}

/// shuttle's DFS on spinning code.
pub const DFS_SPIN: &str = "bounded DFS varies the last choices first; spin loops make every schedule's tail long, so within its bound it rarely revisits the early interleavings where the bug is";

fn racy_lock<L: RawLock>(bug: BugClass, story: &'static str, shuttle: Expect) -> Entry {
    Racy {
        bug,
        symptoms: &["mutual exclusion violated", "lost update", "data race"],
        story,
        shuttle,
        // Bounded DFS is shallow on spinning code (DFS_SPIN).
        dfs: (shuttle == Expect::Must).then_some(Expect::May),
        pct: None,
        stress: Expect::May,
    }
    .entry::<Locks<L>>(
        "lock",
        L::NAME,
        Some(crate::bench::counter_run::<LockCounter<L>>),
        L::MAX_THREADS,
    )
}

fn correct_lock<L: RawLock>(story: &'static str) -> Entry {
    Entry {
        max_threads: L::MAX_THREADS,
        ..correct::<Locks<L>>(
            "lock",
            L::NAME,
            story,
            Some(crate::bench::counter_run::<LockCounter<L>>),
        )
    }
}

fn racy_ordering<T: Subject + Default>(
    variant: &'static str,
    story: &'static str,
    stress: Expect,
) -> Entry {
    Racy {
        bug: BugClass::WeakMemory,
        symptoms: &["weak-memory reordering"],
        story,
        shuttle: Expect::Blind(SHUTTLE_SC),
        dfs: None,
        pct: None,
        stress,
    }
    .entry::<T>("ordering", variant, None, usize::MAX)
}

fn correct<T: Subject + Default>(
    family: &'static str,
    variant: &'static str,
    story: &'static str,
    bench: Option<crate::bench::BenchFn>,
) -> Entry {
    Entry {
        family,
        variant,
        bug: None,
        story,
        symptoms: &[],
        max_threads: usize::MAX,
        scenarios: ScenarioSet::of::<T>(),
        bench,
        explore: None,
        expect: EngineKind::ALL.map(|k| (k, Expect::Must)),
    }
}

fn correct_counter<C: Counter>(story: &'static str) -> Entry {
    correct::<Counters<C>>(
        "counter",
        C::NAME,
        story,
        Some(crate::bench::counter_run::<C>),
    )
}

/// Why the crossbeam adapters run only on real threads.
pub const MODEL_STD_ATOMICS: &str =
    "crossbeam's atomics are std's, invisible to loom and shuttle; the stress engine checks it";

/// The queue scenarios are 3-thread programs whose bugs need an early preemption.
pub const DFS_SHALLOW: &str = "bounded DFS varies the last scheduling choices first; within its budget it rarely reaches the early preemption these bugs need";

fn racy_queue(
    bug: BugClass,
    symptoms: &'static [&'static str],
    story: &'static str,
    shuttle: Expect,
    stress: Expect,
) -> Racy {
    Racy {
        bug,
        symptoms,
        story,
        shuttle,
        dfs: None,
        pct: None,
        stress,
    }
}

impl Racy {
    /// Bounded DFS may miss it (see [`DFS_SHALLOW`]).
    fn dfs_may(mut self) -> Self {
        self.dfs = Some(Expect::May);
        self
    }
    /// PCT may miss it within its budget.
    fn pct_may(mut self) -> Self {
        self.pct = Some(Expect::May);
        self
    }
    fn queue<T: Subject + Default>(self, variant: &'static str) -> Entry {
        self.entry::<T>("queue", variant, None, usize::MAX)
    }
}

fn correct_queue<T: Subject + Default>(variant: &'static str, story: &'static str) -> Entry {
    correct::<T>("queue", variant, story, None)
}

/// A correct entry that only real threads can run.
fn correct_std_only<T: Subject + Default>(variant: &'static str, story: &'static str) -> Entry {
    let mut e = correct_queue::<T>(variant, story);
    for (kind, expect) in e.expect.iter_mut() {
        if *kind != EngineKind::Stress {
            *expect = Expect::Skip(MODEL_STD_ATOMICS);
        }
    }
    e
}

/// Every entry, racy ones first within each family.
pub fn catalogue() -> Vec<Entry> {
    use crate::lock::*;
    use crate::ordering::*;
    use crate::queue::*;
    use counter::*;
    vec![
        racy_counter::<LoadStoreCounter>(
            BugClass::LostUpdate,
            &["lost update"],
            "atomic load, then store of value+1: two threads read the same value and one increment is lost",
            false,
        ),
        racy_counter::<SplitLockCounter>(
            BugClass::AtomicityViolation,
            &["lost update", "atomicity violation"],
            "reads under the lock, releases it, writes under it again: every access locked, the increment not atomic",
            false,
        ),
        racy_counter::<WrongLockCounter>(
            BugClass::LostUpdate,
            &["lost update"],
            "even threads lock A, odd threads lock B: two correct critical sections that do not exclude each other",
            false,
        ),
        racy_counter::<UnsyncCellCounter>(
            BugClass::DataRace,
            &["data race"],
            "`*cell += 1` with no synchronisation: a data race (loom: causality violation)",
            true,
        ),
        correct_counter::<AtomicCounter>("one fetch_add: an indivisible read-modify-write"),
        correct_counter::<MutexCounter>("std Mutex held across the read and the write"),
        correct_counter::<ParkingLotCounter>(
            "parking_lot Mutex held across the read and the write",
        ),
        correct_counter::<RwLockCounter>("RwLock: write lock to increment, read lock to read"),
        correct_counter::<ShardedCounter>("cache-padded per-thread slots, summed on read"),
        racy_lock::<TestThenSetLock>(
            BugClass::MutualExclusion,
            "waits until the flag reads free, then stores locked: two threads see it free and both enter",
            Expect::Must,
        ),
        racy_lock::<PetersonAcqRel>(
            BugClass::WeakMemory,
            "Peterson with Release stores and Acquire loads: store buffering lets both threads read the other's flag as down",
            Expect::Blind(SHUTTLE_SC),
        ),
        racy_lock::<RelaxedUnlockSpinLock>(
            BugClass::WeakMemory,
            "SpinLock released with a Relaxed store: still exclusive, but the next holder's Acquire synchronises with nothing, so the critical section's writes are not published",
            Expect::Blind(SHUTTLE_SC),
        )
        .stress(stress_tso_release()),
        correct_lock::<SpinLock>(
            "test-and-test-and-set: swap(true, Acquire) to enter, store(false, Release) to leave",
        ),
        correct_lock::<TicketLock>(
            "take a ticket with fetch_add, wait until serving shows it: fair, FIFO",
        ),
        correct_lock::<PetersonSeqCst>(
            "Peterson with SeqCst, the turn handed over by swap, a SeqCst fence before the check",
        ),
        racy_ordering::<MessagePassing<RelaxedPublish>>(
            "RelaxedPublish",
            "payload then flag, both Relaxed: a reader sees the flag and a stale payload",
            stress_tso(),
        ),
        correct::<MessagePassing<ReleaseAcquirePublish>>(
            "ordering",
            "ReleaseAcquirePublish",
            "flag stored Release, loaded Acquire: the payload is visible with the flag",
            None,
        ),
        racy_ordering::<OnceInit<RelaxedOnceInit>>(
            "RelaxedOnceInit",
            "double-checked lazy init with a Relaxed fast path: a reader sees ready but the value uninitialised",
            stress_tso(),
        ),
        correct::<OnceInit<AcquireReleaseOnceInit>>(
            "ordering",
            "AcquireReleaseOnceInit",
            "double-checked lazy init, Acquire fast path paired with a Release store (as std::sync::Once)",
            None,
        ),
        racy_ordering::<StoreBuffering<StoreBufferingRelaxed>>(
            "StoreBufferingRelaxed",
            "litmus SB, Relaxed: r1 = r2 = 0 is allowed by C11 and real on x86 (store buffers)",
            Expect::May,
        ),
        racy_ordering::<StoreBuffering<StoreBufferingAcqRel>>(
            "StoreBufferingAcqRel",
            "litmus SB, Release/Acquire: a store then a load is the pair they leave unordered",
            Expect::May,
        ),
        correct::<StoreBuffering<StoreBufferingSeqCstFence>>(
            "ordering",
            "StoreBufferingSeqCstFence",
            "litmus SB with a SeqCst fence between store and load: r1 = r2 = 0 is forbidden",
            None,
        ),
        racy_queue(            BugClass::LostWakeup,
            &["lost wakeup"],
            "a condvar wait guarded by `if`: a consumer woken for an item another consumer took pops an empty buffer",
            Expect::Must,
            Expect::May,)
        .dfs_may()
        .queue::<Queues<IfNotWhileBuffer<u64>>>("IfNotWhileBuffer")
        .explorable::<IfNotWhileBuffer<u64>>(),
        racy_queue(            BugClass::LostWakeup,
            &["deadlock", "lost wakeup"],
            "Cargill's buffer: producers and consumers share one condvar and notify_one wakes the wrong side; everyone sleeps",
            Expect::Must,
            Expect::May,)
        .dfs_may()
        .pct_may()
        .queue::<Queues<NotifyOneBuffer<u64>>>("NotifyOneBuffer")
        .explorable::<NotifyOneBuffer<u64>>(),
        racy_queue(            BugClass::Overflow,
            &["overflow"],
            "the room is checked under one lock acquisition and the item pushed under another: two producers fill one place",
            Expect::Must,
            Expect::May,)
        .queue::<Queues<CheckThenPushQueue<u64>>>("CheckThenPushQueue")
        .explorable::<CheckThenPushQueue<u64>>(),
        racy_queue(
            BugClass::NotLinearizable,
            &["not linearizable"],
            "serves a backlog newest first: nothing lost, nothing twice, the bound kept; only the linearizability checker sees it is not FIFO",
            Expect::Must,
            Expect::May,
        )
        .queue::<Queues<LatestFirstBuffer<u64>>>("LatestFirstBuffer")
        .explorable::<LatestFirstBuffer<u64>>(),
        racy_queue(
            BugClass::TimeoutLostItem,
            &["lost item"],
            "hands an item straight to a waiting consumer; a timed pop whose timer fires as the item is handed over leaves without looking in its hand",
            Expect::Must,
            Expect::May,
        )
        .queue::<Queues<TimeoutLosesHandoffBuffer<u64>>>("TimeoutLosesHandoffBuffer")
        .expecting(EngineKind::Loom, Expect::Blind(LOOM_NO_TIME))
        .expecting(EngineKind::ShuttleDfs, Expect::Blind(DFS_NO_TIME)),
        racy_queue(            BugClass::WeakMemory,
            &["data race", "weak-memory reordering", "not linearizable"],
            "SPSC ring publishing its tail Relaxed: the consumer sees the new tail before the slot's contents",
            Expect::Blind(SHUTTLE_SC),
            Expect::Skip(STRESS_UB),)
        .queue::<Queues<RelaxedSpscRing<u64>>>("RelaxedSpscRing"),
        racy_queue(            BugClass::LostItem,
            &["lost item", "duplicated item", "data race", "not linearizable"],
            "MPMC ring claiming slots with load then store instead of CAS: two producers write one slot, two consumers take one item",
            Expect::Must,
            Expect::Skip(STRESS_UB),)
        .dfs_may()
        .queue::<Queues<LoadStoreIndexRing<u64>>>("LoadStoreIndexRing")
        .explorable::<LoadStoreIndexRing<u64>>(),
        racy_queue(            BugClass::LostItem,
            &["lost item"],
            "push checks `closed` outside the lock: a push accepted just after close lands after the consumers have gone",
            Expect::Must,
            Expect::May,)
        .dfs_may()
        .queue::<Queues<CloseRacesPushQueue<u64>>>("CloseRacesPushQueue")
        .explorable::<CloseRacesPushQueue<u64>>(),
        racy_queue(            BugClass::OrderViolation,
            &["order violation"],
            "task counted finished when taken, not when acknowledged: join returns while the last items are processed",
            Expect::Must,
            Expect::May,)
        .queue::<TaskQueues<EarlyJoinQueue<u64>>>("EarlyJoinQueue")
        .explorable::<EarlyJoinQueue<u64>>(),
        correct_queue::<TaskQueues<ClosableQueue<u64>>>(
            "ClosableQueue",
            "the pipeline article's queue: mutex, three condvars in while loops, task_done/join, push after close hands the item back",
        )
        .explorable::<ClosableQueue<u64>>(),
        correct_queue::<Queues<BoundedBuffer<u64>>>(
            "BoundedBuffer",
            "mutex plus not_empty/not_full condvars, every wait in a while loop",
        )
        .explorable::<BoundedBuffer<u64>>(),
        correct_queue::<Queues<HandoffBuffer<u64>>>(
            "HandoffBuffer",
            "bounded buffer that hands an item straight to the longest-waiting consumer; a timed pop re-checks its hand when the timer fires",
        )
        .explorable::<HandoffBuffer<u64>>(),
        correct_queue::<Queues<MpmcRing<u64>>>(
            "MpmcRing",
            "Vyukov's sequence-stamped ring (crossbeam's ArrayQueue) with close as a mark bit in the tail",
        )
        .explorable::<MpmcRing<u64>>(),
        correct_queue::<Queues<SpscRing<u64>>>(
            "SpscRing",
            "Lamport ring with cached indices: tail stored Release, loaded Acquire; no RMW on the fast path",
        ),
        correct_std_only::<Queues<CrossbeamArrayQueue<u64>>>(
            "CrossbeamArrayQueue",
            "the yardstick: crossbeam's ArrayQueue, with a lossless close added",
        ),
        correct_std_only::<Queues<CrossbeamSegQueue<u64>>>(
            "CrossbeamSegQueue",
            "the yardstick: crossbeam's unbounded SegQueue, with a lossless close added",
        ),
        correct_std_only::<Queues<CrossbeamChannel<u64>>>(
            "CrossbeamChannel",
            "the yardstick: a bounded crossbeam channel, with a lossless close added",
        ),
    ]
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

/// The entries a fuzzer's schedules are run on: every entry the schedule engine can run (not the
/// racy ones it is blind to, nor the crossbeam adapters, which it cannot run). Appended entries
/// keep the indices of earlier ones.
pub fn fuzz_entries() -> Vec<Entry> {
    catalogue()
        .into_iter()
        .filter(|e| {
            // Not the racy entries the schedule engine is blind to, nor any entry it cannot run
            // (the crossbeam adapters: std atomics, invisible to shuttle).
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
