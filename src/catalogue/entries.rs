//! Every entry's declaration, and the builders that keep each declaration to what differs. A
//! variant's name comes from its type (`C::NAME`, `L::NAME`, `Q::NAME`, `O::NAME`); a queue's
//! type is written once per entry, through `queue!` or `task_queue!`.

use super::queue::{Parcel, QueueHooks};
use super::{
    COUNTER, EXECUTOR, Entry, Expect, Hooks, LOCK, ORDERING, PIPELINE, POOL, QUEUE,
    SHUTTLE_NO_CELL, STRESS_UB,
};
use crate::bench::{BenchFn, Timed};
use crate::counter::{Counter, Counters};
use crate::engine::EngineKind;
use crate::lock::{LockCounter, Locks, RawLock};
use crate::ordering::OrderingVariant;
use crate::pool::{Pool, Pools};
use crate::queue::Queue;
use crate::scenario::{BugClass, ScenarioSet, Subject};

/// A variant before its expectations: what its type says about it.
struct Variant {
    family: &'static str,
    variant: &'static str,
    scenarios: ScenarioSet,
    bench: Option<Timed>,
    max_threads: usize,
    hooks: Hooks,
}

impl Variant {
    /// Counter `C`; timed on real threads unless `timed` is false (a data race).
    fn counter<C: Counter>(timed: bool) -> Variant {
        Variant {
            family: COUNTER,
            variant: C::NAME,
            scenarios: ScenarioSet::of::<Counters<C>>(),
            bench: timed.then_some(Timed::Increments(crate::bench::counter_run::<C> as BenchFn)),
            max_threads: usize::MAX,
            hooks: Hooks::None,
        }
    }
    /// Lock `L`, timed as a counter it guards.
    fn lock<L: RawLock>() -> Variant {
        Variant {
            family: LOCK,
            variant: L::NAME,
            scenarios: ScenarioSet::of::<Locks<L>>(),
            bench: Some(Timed::Increments(
                crate::bench::counter_run::<LockCounter<L>>,
            )),
            max_threads: L::MAX_THREADS,
            hooks: Hooks::None,
        }
    }
    /// Ordering subject `T`.
    fn ordering<T: OrderingVariant>() -> Variant {
        Variant {
            family: ORDERING,
            variant: T::NAME,
            scenarios: ScenarioSet::of::<T>(),
            bench: None,
            max_threads: usize::MAX,
            hooks: Hooks::None,
        }
    }
    /// The pipeline with bug `BUG` (0: the correct one), with its scenarios.
    fn pipeline<const BUG: crate::pipeline::Bug>() -> Variant {
        Variant {
            family: PIPELINE,
            variant: crate::pipeline::Staged::<u64, u64, crate::runtime::Std, BUG>::NAME,
            scenarios: ScenarioSet::of::<crate::pipeline::Pipelines<BUG>>(),
            bench: None,
            max_threads: usize::MAX,
            hooks: Hooks::None,
        }
    }
    /// The executor with bug `BUG` (0: the correct one), with its scenarios.
    fn executor<const BUG: crate::executor::Bug>() -> Variant {
        Variant {
            family: EXECUTOR,
            variant: crate::executor::PoolExecutor::<crate::runtime::Std, BUG>::NAME,
            scenarios: ScenarioSet::of::<crate::executor::Executors<BUG>>(),
            bench: None,
            max_threads: usize::MAX,
            hooks: Hooks::None,
        }
    }
    /// Queue `Q` with scenarios `S`; `P` is the same queue type holding parcels. Use `queue!`
    /// or `task_queue!`, which write the type once.
    fn queue<S: Subject + Default, Q: Queue<u64>, P: Queue<Parcel>>() -> Variant {
        Variant {
            family: QUEUE,
            variant: Q::NAME,
            scenarios: ScenarioSet::of::<S>(),
            bench: Some(Timed::Transfer(crate::bench::queue_run::<Q>)),
            // Threads in a timed run: one producer and one consumer for a single-producer
            // queue, as many as asked otherwise.
            max_threads: if Q::SPSC { 2 } else { usize::MAX },
            hooks: Hooks::Queue(QueueHooks::of::<Q, P>()),
        }
    }
    /// Worker pool `P` with the pool scenarios.
    fn pool<P: Pool>() -> Variant {
        Variant {
            family: POOL,
            variant: P::NAME,
            scenarios: ScenarioSet::of::<Pools<P>>(),
            bench: None,
            max_threads: usize::MAX,
            hooks: Hooks::None,
        }
    }
    /// An intentionally racy variant, with what each engine is expected to find. A racy queue
    /// has no timed run: a transfer that loses an item would wait for it forever.
    fn racy(mut self, e: RacyExpectations) -> Entry {
        if matches!(self.bench, Some(Timed::Transfer(_))) {
            self.bench = None;
        }
        self.entry(
            Some(e.bug),
            e.story,
            e.symptoms,
            [
                (EngineKind::Loom, Expect::Must),
                (EngineKind::ShuttleRandom, e.shuttle),
                (EngineKind::ShuttlePct, e.pct.unwrap_or(e.shuttle)),
                (EngineKind::ShuttleDfs, e.dfs.unwrap_or(e.shuttle)),
                (EngineKind::Proptest, e.shuttle),
                (EngineKind::Stress, e.stress),
            ],
        )
    }
    /// A correct variant: every engine that can run it must pass it.
    fn correct(self, story: &'static str) -> Entry {
        self.entry(None, story, &[], EngineKind::ALL.map(|k| (k, Expect::Must)))
    }
    /// The entry. A queue the model checkers cannot run (`Queue::MODEL_CHECKABLE`) is skipped
    /// by every engine but stress: the one place that declaration takes effect.
    fn entry(
        self,
        bug: Option<BugClass>,
        story: &'static str,
        symptoms: &'static [&'static str],
        mut expect: [(EngineKind, Expect); 6],
    ) -> Entry {
        if let Hooks::Queue(q) = &self.hooks
            && !q.model_checkable
        {
            for (kind, e) in expect.iter_mut() {
                if *kind != EngineKind::Stress {
                    *e = Expect::Skip(MODEL_STD_ATOMICS);
                }
            }
        }
        Entry {
            family: self.family,
            variant: self.variant,
            bug,
            story,
            symptoms,
            max_threads: self.max_threads,
            scenarios: self.scenarios,
            bench: self.bench,
            hooks: self.hooks,
            expect,
        }
    }
}

/// Queue `$q` (a type whose first parameter is its item) with the queue scenarios.
macro_rules! queue {
    ($q:ident) => {
        Variant::queue::<crate::queue::Queues<$q<u64>>, $q<u64>, $q<Parcel>>()
    };
}

/// Task queue `$q` (with `task_done`/`join`) with the queue scenarios and the pipeline's.
macro_rules! task_queue {
    ($q:ident) => {
        Variant::queue::<crate::queue::TaskQueues<$q<u64>>, $q<u64>, $q<Parcel>>()
    };
}

impl Entry {
    /// With generated-program exploration (`racelab explore`) allowed.
    ///
    /// # Panics
    /// If the entry is not a queue that can be explored: a declaration error.
    fn explorable(mut self) -> Entry {
        match self.hooks {
            Hooks::Queue(q) => self.hooks = Hooks::Queue(q.explorable()),
            Hooks::None => panic!("{}: only queues can be explored", self.variant),
        }
        self
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
struct RacyExpectations {
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

impl RacyExpectations {
    /// Bug `bug`, shown by `symptoms`, with `shuttle` for the four shuttle-based engines and
    /// `stress` for real threads.
    fn new(
        bug: BugClass,
        symptoms: &'static [&'static str],
        story: &'static str,
        shuttle: Expect,
        stress: Expect,
    ) -> Self {
        RacyExpectations {
            bug,
            symptoms,
            story,
            shuttle,
            dfs: None,
            pct: None,
            stress,
        }
    }
    /// Bounded DFS may miss it (see [`DFS_SHALLOW`], [`DFS_SPIN`]).
    fn dfs_may(mut self) -> Self {
        self.dfs = Some(Expect::May);
        self
    }
    /// PCT may miss it within its budget.
    fn pct_may(mut self) -> Self {
        self.pct = Some(Expect::May);
        self
    }
}

/// A racy counter; `cell` if its race is on a plain cell (a data race: shuttle cannot see it,
/// and real threads must not run it).
fn racy_counter<C: Counter>(
    bug: BugClass,
    symptoms: &'static [&'static str],
    story: &'static str,
    cell: bool,
) -> Entry {
    let (shuttle, stress) = if cell {
        (Expect::Blind(SHUTTLE_NO_CELL), Expect::Skip(STRESS_UB))
    } else {
        (Expect::Must, Expect::May)
    };
    Variant::counter::<C>(!cell).racy(RacyExpectations::new(bug, symptoms, story, shuttle, stress))
}

fn correct_counter<C: Counter>(story: &'static str) -> Entry {
    Variant::counter::<C>(true).correct(story)
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

/// shuttle's DFS on spinning code.
pub const DFS_SPIN: &str = "bounded DFS varies the last choices first; spin loops make every schedule's tail long, so within its bound it rarely revisits the early interleavings where the bug is";

fn racy_lock<L: RawLock>(bug: BugClass, story: &'static str, shuttle: Expect) -> Entry {
    let e = RacyExpectations::new(
        bug,
        &["mutual exclusion violated", "lost update", "data race"],
        story,
        shuttle,
        Expect::May,
    );
    // Bounded DFS is shallow on spinning code (DFS_SPIN).
    let e = if shuttle == Expect::Must {
        e.dfs_may()
    } else {
        e
    };
    Variant::lock::<L>().racy(e)
}

fn correct_lock<L: RawLock>(story: &'static str) -> Entry {
    Variant::lock::<L>().correct(story)
}

fn racy_ordering<T: OrderingVariant>(story: &'static str, stress: Expect) -> Entry {
    Variant::ordering::<T>().racy(RacyExpectations::new(
        BugClass::WeakMemory,
        &["weak-memory reordering"],
        story,
        Expect::Blind(SHUTTLE_SC),
        stress,
    ))
}

fn correct_ordering<T: OrderingVariant>(story: &'static str) -> Entry {
    Variant::ordering::<T>().correct(story)
}

/// Why the crossbeam adapters run only on real threads: the reason every engine but stress
/// gives for a queue that is not `Queue::MODEL_CHECKABLE`.
pub const MODEL_STD_ATOMICS: &str =
    "crossbeam's atomics are std's, invisible to loom and shuttle; the stress engine checks it";

/// The queue scenarios are 3-thread programs whose bugs need an early preemption.
pub const DFS_SHALLOW: &str = "bounded DFS varies the last scheduling choices first; within its budget it rarely reaches the early preemption these bugs need";

/// Every entry, racy ones first within each family.
pub fn catalogue() -> Vec<Entry> {
    use crate::counter::*;
    use crate::lock::*;
    use crate::ordering::*;
    use crate::pool::{OneSentinelPool, WorkerPool};
    use crate::queue::*;
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
        .expecting(EngineKind::Stress, stress_tso_release()),
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
            "payload then flag, both Relaxed: a reader sees the flag and a stale payload",
            stress_tso(),
        ),
        correct_ordering::<MessagePassing<ReleaseAcquirePublish>>(
            "flag stored Release, loaded Acquire: the payload is visible with the flag",
        ),
        racy_ordering::<OnceInit<RelaxedOnceInit>>(
            "double-checked lazy init with a Relaxed fast path: a reader sees ready but the value uninitialised",
            stress_tso(),
        ),
        correct_ordering::<OnceInit<AcquireReleaseOnceInit>>(
            "double-checked lazy init, Acquire fast path paired with a Release store (as std::sync::Once)",
        ),
        racy_ordering::<StoreBuffering<StoreBufferingRelaxed>>(
            "litmus SB, Relaxed: r1 = r2 = 0 is allowed by C11 and real on x86 (store buffers)",
            Expect::May,
        ),
        racy_ordering::<StoreBuffering<StoreBufferingAcqRel>>(
            "litmus SB, Release/Acquire: a store then a load is the pair they leave unordered",
            Expect::May,
        ),
        correct_ordering::<StoreBuffering<StoreBufferingSeqCstFence>>(
            "litmus SB with a SeqCst fence between store and load: r1 = r2 = 0 is forbidden",
        ),
        queue!(IfNotWhileBuffer)
            .racy(
                RacyExpectations::new(
                    BugClass::LostWakeup,
                    &["lost wakeup"],
                    "a condvar wait guarded by `if`: a consumer woken for an item another consumer took pops an empty buffer",
                    Expect::Must,
                    Expect::May,
                )
                .dfs_may(),
            )
            .explorable(),
        queue!(NotifyOneBuffer)
            .racy(
                RacyExpectations::new(
                    BugClass::LostWakeup,
                    &["deadlock", "lost wakeup"],
                    "Cargill's buffer: producers and consumers share one condvar and notify_one wakes the wrong side; everyone sleeps",
                    Expect::Must,
                    Expect::May,
                )
                .dfs_may()
                .pct_may(),
            )
            .explorable(),
        queue!(CheckThenPushQueue)
            .racy(
                RacyExpectations::new(
                    BugClass::Overflow,
                    &["overflow"],
                    "the room is checked under one lock acquisition and the item pushed under another: two producers fill one place",
                    Expect::Must,
                    Expect::May,
                ),
            )
            .explorable(),
        queue!(LatestFirstBuffer)
            .racy(
                RacyExpectations::new(
                    BugClass::NotLinearizable,
                    &["not linearizable"],
                    "serves a backlog newest first: nothing lost, nothing twice, the bound kept; only the linearizability checker sees it is not FIFO",
                    Expect::Must,
                    Expect::May,
                ),
            )
            .explorable(),
        queue!(TimeoutLosesHandoffBuffer)
            .racy(
                RacyExpectations::new(
                    BugClass::TimeoutLostItem,
                    &["lost item"],
                    "hands an item straight to a waiting consumer; a timed pop whose timer fires as the item is handed over leaves without looking in its hand",
                    Expect::Must,
                    Expect::May,
                ),
            )
            .expecting(EngineKind::Loom, Expect::Blind(LOOM_NO_TIME))
            .expecting(EngineKind::ShuttleDfs, Expect::Blind(DFS_NO_TIME)),
        queue!(RelaxedSpscRing)
            .racy(
                RacyExpectations::new(
                    BugClass::WeakMemory,
                    &["data race", "weak-memory reordering", "not linearizable"],
                    "SPSC ring publishing its tail Relaxed: the consumer sees the new tail before the slot's contents",
                    Expect::Blind(SHUTTLE_SC),
                    Expect::Skip(STRESS_UB),
                ),
            ),
        queue!(LoadStoreIndexRing)
            .racy(
                RacyExpectations::new(
                    BugClass::LostItem,
                    &[
                        "lost item",
                        "duplicated item",
                        "data race",
                        "not linearizable",
                        "deadlock",
                    ],
                    "MPMC ring claiming slots with load then store instead of CAS: two producers write one slot, two consumers take one item; and a sleeping consumer's wakeup, which rides on the claim's read-modify-write, is lost (a deadlock)",
                    Expect::Must,
                    Expect::Skip(STRESS_UB),
                )
                .dfs_may(),
            )
            .explorable(),
        queue!(CloseRacesPushQueue)
            .racy(
                RacyExpectations::new(
                    BugClass::LostItem,
                    &["lost item"],
                    "push checks `closed` outside the lock: a push accepted just after close lands after the consumers have gone",
                    Expect::Must,
                    Expect::May,
                )
                .dfs_may(),
            )
            .explorable(),
        task_queue!(EarlyJoinQueue)
            .racy(
                RacyExpectations::new(
                    BugClass::OrderViolation,
                    &["order violation"],
                    "task counted finished when taken, not when acknowledged: join returns while the last items are processed",
                    Expect::Must,
                    Expect::May,
                ),
            )
            .explorable(),
        task_queue!(ClosableQueue).correct(
            "the pipeline article's queue: mutex, three condvars in while loops, task_done/join, push after close hands the item back",
        )
        .explorable(),
        queue!(BoundedBuffer).correct(
            "mutex plus not_empty/not_full condvars, every wait in a while loop",
        )
        .explorable(),
        queue!(HandoffBuffer).correct(
            "bounded buffer that hands an item straight to the longest-waiting consumer; a timed pop re-checks its hand when the timer fires",
        )
        .explorable(),
        queue!(MpmcRing).correct(
            "Vyukov's sequence-stamped ring (crossbeam's ArrayQueue) with close as a mark bit in the tail",
        )
        .explorable(),
        queue!(SpscRing).correct(
            "Lamport ring with cached indices: tail stored Release, loaded Acquire; no RMW on the fast path",
        ),
        queue!(CrossbeamArrayQueue).correct(
            "the yardstick: crossbeam's ArrayQueue, with a lossless close added",
        ),
        queue!(CrossbeamSegQueue).correct(
            "the yardstick: crossbeam's unbounded SegQueue, with a lossless close added",
        ),
        queue!(CrossbeamChannel).correct(
            "the yardstick: a bounded crossbeam channel, with a lossless close added",
        ),
        // Every schedule hangs (one worker takes the sentinel, the other waits), so every engine
        // must catch it, stress too: its watchdog sees the shutting thread blocked in a join.
        Variant::pool::<OneSentinelPool>().racy(RacyExpectations::new(
            BugClass::Deadlock,
            &["deadlock"],
            "shutdown puts one stop sentinel in the queue for N workers (the Python idiom done wrong): one worker stops, the others wait for work forever, and the shutdown's join never returns",
            Expect::Must,
            Expect::Must,
        )),
        Variant::pool::<WorkerPool>().correct(
            "fixed workers fed through a ClosableQueue: shutdown closes it, every worker drains it and stops; a job's panic is counted with its message, a job offered after close is handed back",
        ),
        Variant::pipeline::<{ crate::pipeline::EACH_WORKER_CLOSES }>().racy(
            RacyExpectations::new(
                BugClass::LostItem,
                &["lost"],
                "every worker of a stage closes the next queue when its own input runs dry: a sibling's later push is refused and its item lost",
                Expect::Must,
                Expect::May,
            )
            .dfs_may(),
        ),
        Variant::pipeline::<{ crate::pipeline::RACY_LIVE_COUNT }>().racy(
            RacyExpectations::new(
                BugClass::Deadlock,
                &["deadlock", "hang"],
                "last one out closes, with a load then a store of the live count: two workers leaving together both store the same count, nobody closes, the next stage never ends",
                Expect::Must,
                Expect::May,
            )
            .dfs_may(),
        ),
        Variant::pipeline::<{ crate::pipeline::PANIC_LOSES_ITEM }>().racy(
            RacyExpectations::new(
                BugClass::Deadlock,
                &["deadlock", "hang", "lost"],
                "a stage function's panic is not caught: the worker dies with its item, the stage's live count never reaches zero, join hangs",
                Expect::Must,
                Expect::Must,
            ),
        ),
        Variant::pipeline::<{ crate::pipeline::JOIN_BEFORE_DRAIN }>().racy(RacyExpectations::new(
            BugClass::OrderViolation,
            &["still running", "deadlock", "hang"],
            "join is the input queue's join, with task_done on pop: it returns once every item is taken, not finished; outputs still in the stages miss the report, workers still run (and a join that reads no outputs waits on a full last queue: a deadlock)",
            Expect::Must,
            Expect::May,
        )),
        Variant::pipeline::<{ crate::pipeline::CANCEL_LEAKS_WORKER }>().racy(RacyExpectations::new(
            BugClass::Deadlock,
            &["deadlock", "hang"],
            "cancel only sets a flag that workers read between items: one already blocked in pop on the empty input is never woken (Go's leaked goroutine), join waits forever",
            Expect::Must,
            Expect::May,
        )
        .dfs_may()),
        Variant::pipeline::<{ crate::pipeline::CYCLIC_BACKPRESSURE }>().racy(RacyExpectations::new(
            BugClass::Deadlock,
            &["deadlock", "hang"],
            "a retrying stage pushes a failed item back on its own full bounded input and waits, while its producer waits for room: back-pressure in a cycle, a deadlock",
            Expect::Must,
            Expect::May,
        )),
        Variant::pipeline::<{ crate::pipeline::CORRECT }>().correct(
            "download → resize → upload: stages of workers over bounded closable queues; the last worker out closes the next queue (fetch_sub); a failing or panicking item is accounted, never lost",
        ),
        Variant::executor::<{ crate::executor::DONE_BEFORE_RESULT }>().racy(RacyExpectations::new(
            BugClass::OrderViolation,
            &["order violation"],
            "the worker publishes \"finished\" and wakes result() before it stores the value: a woken caller finds the task done with no value",
            Expect::Must,
            Expect::May,
        )
        .dfs_may()),
        Variant::executor::<{ crate::executor::CANCEL_RUNS_ANYWAY }>().racy(RacyExpectations::new(
            BugClass::CancelledRan,
            &["cancelled work ran"],
            "cancel() checks \"pending\" and sets \"cancelled\" in two critical sections; a worker starts the task in between: cancel returns true and the task runs anyway (the fix: one decision from pending, CPython's set_running_or_notify_cancel)",
            Expect::Must,
            Expect::May,
        )
        .dfs_may()),
        Variant::executor::<{ crate::executor::SCAN_THEN_WAIT }>().racy(RacyExpectations::new(
            BugClass::Deadlock,
            &["deadlock", "hang"],
            "wait/as_completed scan the tasks' states, then install their waiter without the tasks' locks: a completion in the gap is never noted and the wait hangs (CPython bpo-20319)",
            Expect::Must,
            Expect::May,
        )
        .dfs_may()),
        Variant::executor::<{ crate::executor::SUBMIT_SHUTDOWN_RACE }>().racy(RacyExpectations::new(
            BugClass::LostItem,
            &["lost item"],
            "submit reads the shutdown flag outside the executor's lock; shutdown sets it and joins the workers, and the task reaches the pool after they left: its handle never completes (CPython bpo-31783)",
            Expect::Must,
            Expect::May,
        )
        .dfs_may()),
        Variant::executor::<{ crate::executor::SHUTDOWN_DROPS_QUEUED }>().racy(RacyExpectations::new(
            BugClass::LostItem,
            &["lost item"],
            "with shutdown(wait=True) the workers stop taking tasks as soon as the flag is set: queued tasks are dropped and never resolve",
            Expect::Must,
            Expect::May,
        )
        .dfs_may()),
        Variant::executor::<{ crate::executor::CALLBACK_RACE }>().racy(RacyExpectations::new(
            BugClass::LostWakeup,
            &["lost wakeup"],
            "add_done_callback checks \"done\" and registers in two critical sections; the completion in between runs the callbacks registered so far, and this one never runs",
            Expect::Must,
            Expect::May,
        )
        .dfs_may()),
        Variant::executor::<{ crate::executor::SCRUTINEE_GUARD }>().racy(RacyExpectations::new(
            BugClass::Deadlock,
            &["deadlock", "hang"],
            "`match slot.lock().state { Pending => { slot.lock() … } }`: the scrutinee's temporary guard lives to the end of the match, so cancelling a pending task deadlocks its own thread (a Rust trap)",
            Expect::Must,
            Expect::May,
        )
        .dfs_may()),
        Variant::executor::<{ crate::executor::STALE_CANCEL }>().racy(RacyExpectations::new(
            BugClass::LostItem,
            &["lost item"],
            "cancelling a running task flags its worker, not the task; the worker clears its flag when the task ends, and a flag set after that cancels its next task instead (the shape of Java's FutureTask interrupt leak)",
            Expect::Must,
            Expect::May,
        )
        .dfs_may()),
        Variant::executor::<{ crate::executor::CORRECT }>().correct(
            "Python's ThreadPoolExecutor on the worker pool: each task's state moves out of pending in one decision under its lock, the value is stored with \"finished\", waiters are installed under each task's lock, submit checks shutdown under the executor's lock, and shutdown(wait) lets the workers drain the queue",
        ),
    ]
}
