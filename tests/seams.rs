//! Seams for structures that own threads: threads spawned by a structure carry its names in
//! traces and deadlock reports, and a scenario's teardown takes the state by value to join them.

use racelab::engine::{Check, EngineKind, Verdict};
use racelab::runtime::prelude::*;
use racelab::{BugClass, Outcome, Scenario, Subject};
use std::sync::atomic::Ordering::SeqCst;

const MODEL_ENGINES: [EngineKind; 5] = [
    EngineKind::Loom,
    EngineKind::ShuttleRandom,
    EngineKind::ShuttlePct,
    EngineKind::ShuttleDfs,
    EngineKind::Proptest,
];

/// A one-worker "pool": the worker adds every job it is handed to a total, and stops at `None`.
/// (Its first version kept the jobs in a `Vec` used as a stack: the stop request, pushed last,
/// was taken first and a job was lost. Every model engine caught it at once.)
struct Pool<R: Runtime> {
    jobs: R::Mutex<std::collections::VecDeque<Option<usize>>>,
    ready: R::Condvar,
    worker: R::Mutex<Option<R::JoinHandle<()>>>,
    total: R::Arc<R::AtomicUsize>,
}

impl<R: Runtime> Pool<R> {
    fn new(stop_on_none: bool) -> R::Arc<Self> {
        let pool = R::Arc::new(Pool::<R> {
            jobs: R::Mutex::new(std::collections::VecDeque::new()),
            ready: R::Condvar::new(),
            worker: R::Mutex::new(None),
            total: R::Arc::new(R::AtomicUsize::new(0)),
        });
        let p = pool.clone();
        let h = R::spawn_named("adder", move || {
            loop {
                let mut g = p.jobs.lock();
                let job = loop {
                    if let Some(job) = g.pop_front() {
                        break job;
                    }
                    g = p.ready.wait(g);
                };
                drop(g);
                match job {
                    Some(n) => {
                        p.total.fetch_add(n, SeqCst);
                    }
                    None if stop_on_none => return,
                    // The bug of the broken pool: a stop request is taken for an empty job.
                    None => {}
                }
            }
        });
        *pool.worker.lock() = Some(h);
        pool
    }
    fn submit(&self, job: Option<usize>) {
        self.jobs.lock().push_back(job);
        self.ready.notify_one();
    }
    /// Stops the worker and joins it; returns the total.
    fn shutdown(&self) -> usize {
        self.submit(None);
        let h = self.worker.lock().take().expect("a worker");
        h.join().expect("the worker does not panic");
        self.total.load(SeqCst)
    }
}

struct Pools {
    stop_on_none: bool,
}

impl Subject for Pools {
    fn scenarios<R: Runtime>(&self) -> Vec<Scenario<R>> {
        let stop = self.stop_on_none;
        vec![
            Scenario::<R>::builder("submit 2 jobs, then shut down", move || {
                Pool::<R>::new(stop)
            })
            .threads(2, |p| p.submit(Some(1)))
            .teardown(|p| p.shutdown())
            .check(|total, _| match *total {
                2 => Outcome::ok("total 2"),
                n => Outcome::forbidden(BugClass::LostItem, format!("total {n}, expected 2")),
            }),
        ]
    }
}

#[test]
fn a_teardown_joins_the_workers_and_the_check_judges_what_it_returns() {
    let results = Check::new()
        .engines(MODEL_ENGINES)
        .run(&Pools { stop_on_none: true });
    for r in &results {
        assert_eq!(r.verdict, Verdict::Passed, "{}: {}", r.engine, r.summary());
        assert!(r.histogram.contains_key("total 2"), "{:?}", r.histogram);
    }
}

/// A pool whose worker never takes the stop request hangs at shutdown: every engine reports the
/// deadlock with the worker named as the structure named it.
#[test]
fn threads_a_structure_spawns_carry_their_names_in_deadlock_reports_and_traces() {
    let results = Check::new().engines(MODEL_ENGINES).run(&Pools {
        stop_on_none: false,
    });
    results.assert_caught_by(&MODEL_ENGINES, BugClass::Deadlock);
    for r in &results {
        let m = r.message().unwrap();
        assert!(
            m.contains("main waits to join adder#1"),
            "{}: {m}",
            r.engine
        );
        assert!(
            m.contains("adder#1 waits on condvar#1"),
            "{}: {m}",
            r.engine
        );
        let trace = r.counterexample.as_ref().unwrap().trace.to_string();
        assert!(trace.contains("main:   spawn adder#1"), "{trace}");
        assert!(trace.contains("adder#1:   "), "{trace}");
    }
}

#[test]
fn bug_classes_have_distinct_names() {
    let names: std::collections::BTreeSet<&str> = BugClass::ALL.iter().map(|c| c.name()).collect();
    assert_eq!(names.len(), BugClass::ALL.len());
}

/// A structure that declares its own threads is judged against loom's limit before the run.
struct Declared;

impl Subject for Declared {
    fn scenarios<R: Runtime>(&self) -> Vec<Scenario<R>> {
        vec![
            Scenario::<R>::builder("3 threads and a pool of 2", || ())
                .threads(3, |_| ())
                .check(|_, _| Outcome::ok("done"))
                .spawns(2),
        ]
    }
}

#[test]
fn declared_structure_threads_count_against_loom_limit_before_the_run() {
    let r = Check::new().engines([EngineKind::Loom]).run(&Declared);
    let r = &r.results[0];
    assert_eq!(r.verdict, Verdict::NotRun);
    assert_eq!(r.executions, 0, "decided before the run");
    assert!(
        r.note.contains("needs 5 threads besides the driver"),
        "{}",
        r.note
    );
}

/// A lock whose release is too weak fails its own mutual-exclusion scenario under loom: the
/// critical section writes plain data through the runtime's checked cell, and loom sees the next
/// holder's write race with the previous one's. The read-modify-writes that count who is inside
/// always see the latest value, so alone they let this lock pass.
#[test]
fn a_relaxed_unlock_is_caught_by_the_mutual_exclusion_scenario_itself() {
    let entry = racelab::catalogue::find("RelaxedUnlockSpinLock").unwrap();
    let r = racelab::engine::Engine::default_for(EngineKind::Loom).run(&entry.scenarios, 0);
    assert_eq!(r.scenario, "2 threads: mutual exclusion");
    r.assert_caught_class(BugClass::DataRace);
    // Its correct twin passes the same scenario.
    let twin = racelab::catalogue::find("SpinLock").unwrap();
    racelab::engine::Engine::default_for(EngineKind::Loom)
        .run(&twin.scenarios, 0)
        .unwrap_passed();
}

/// Every check earns its place: a queue that loses nothing and breaks FIFO order is caught by
/// the linearizability checker on every model engine, and escapes all of them with the checker
/// switched off (item accounting alone).
#[test]
fn a_queue_that_only_breaks_order_is_caught_only_through_the_checker() {
    use racelab::queue::{LatestFirstBuffer, Queues};
    let engines = [
        EngineKind::Loom,
        EngineKind::ShuttleRandom,
        EngineKind::ShuttlePct,
        EngineKind::Proptest,
    ];
    Check::new()
        .engines(engines)
        .run(&Queues::<LatestFirstBuffer<u64>>::default())
        .assert_caught_by(&engines, BugClass::NotLinearizable);
    Check::new()
        .engines(engines)
        .run(&Queues::<LatestFirstBuffer<u64>>::accounting_only())
        .assert_passed();
}
