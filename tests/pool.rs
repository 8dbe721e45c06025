//! The worker pool: its racy twin is caught with its class by every engine that must catch it,
//! the pool passes every engine, and on real threads: bad input, a job handed back after close,
//! a panicking job accounted while its worker goes on, nothing lost at shutdown or drop.

use racelab::BugClass;
use racelab::catalogue::{Expect, find};
use racelab::engine::{EngineKind, Verdict};
use racelab::pool::{OneSentinelPool, PoolError, Pools, WorkerPool};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering::SeqCst};
use std::time::Duration;

mod support;

use support::every_engine as check;

#[test]
fn one_sentinel_pool_hangs_at_shutdown_under_every_engine_that_must_catch_it() {
    let entry = find("OneSentinelPool").unwrap();
    let must: Vec<EngineKind> = EngineKind::ALL
        .into_iter()
        .filter(|k| entry.expectation(*k) == Expect::Must)
        .collect();
    assert_eq!(
        must.len(),
        EngineKind::ALL.len(),
        "every engine must catch it"
    );
    let results = check().run(&Pools::<OneSentinelPool>::default());
    results.assert_caught_by(&must, BugClass::Deadlock);
    for r in results
        .results
        .iter()
        .filter(|r| r.verdict == Verdict::Caught)
    {
        let m = r.message().unwrap();
        assert!(m.contains("T1 waits to join"), "{}: {m}", r.engine);
        if r.engine != EngineKind::Stress {
            // The worker that did not take the sentinel waits for work that never comes; the
            // checkers name it (either worker may be the one).
            assert!(
                m.contains("worker#1 waits on condvar") || m.contains("worker#2 waits on condvar"),
                "{}: {m}",
                r.engine
            );
            assert_eq!(
                r.first_failure_at,
                Some(1),
                "{}: every schedule hangs",
                r.engine
            );
        }
    }
    // One worker stops on one sentinel: the twin's one-worker scenario passes.
    for r in results
        .results
        .iter()
        .filter(|r| r.scenario.starts_with("1 worker"))
    {
        assert_eq!(r.verdict, Verdict::Passed, "{}: {}", r.engine, r.summary());
    }
}

#[test]
fn worker_pool_passes_every_engine() {
    let results = check().run(&Pools::<WorkerPool>::default());
    results.assert_passed();
    // The panicking job is the pool's to account for, not the scenario's failure.
    let panicked = results
        .results
        .iter()
        .filter(|r| r.scenario.contains("a job panics"))
        .collect::<Vec<_>>();
    assert_eq!(panicked.len(), EngineKind::ALL.len());
    for r in panicked {
        assert!(
            r.histogram.keys().all(|k| k.contains("1 panicked")),
            "{}: {:?}",
            r.engine,
            r.histogram
        );
    }
}

#[test]
fn zero_workers_is_a_one_line_error() {
    let e = WorkerPool::<racelab::Std>::new(0).unwrap_err();
    assert_eq!(e, PoolError::NoWorkers);
    let text = e.to_string();
    assert_eq!(text, "a worker pool needs at least 1 worker, not 0");
    assert!(!text.contains('\n'));
    assert!(
        WorkerPool::<racelab::Std>::builder(0)
            .name("x")
            .build()
            .is_err()
    );
}

#[test]
fn execute_after_close_hands_the_job_back_unrun() {
    let pool = WorkerPool::<racelab::Std>::new(2).unwrap();
    let ran = Arc::new(AtomicUsize::new(0));
    let r = ran.clone();
    pool.execute(move || {
        r.fetch_add(1, SeqCst);
    })
    .unwrap();
    assert!(pool.close());
    assert!(!pool.close(), "closing twice begins nothing");
    let r = ran.clone();
    let back = pool
        .execute(move || {
            r.fetch_add(10, SeqCst);
        })
        .unwrap_err();
    assert_eq!(
        back.to_string(),
        "job refused: the pool is shutting down (the job is handed back)"
    );
    let report = pool.shutdown();
    assert_eq!(ran.load(SeqCst), 1, "the refused job did not run");
    (back.into_inner())();
    assert_eq!(ran.load(SeqCst), 11, "and it is the job that was offered");
    assert_eq!((report.submitted, report.completed), (1, 1));
}

#[test]
fn a_panicking_job_is_accounted_and_the_worker_goes_on() {
    let pool = WorkerPool::<racelab::Std>::new(1).unwrap();
    let ran = Arc::new(AtomicUsize::new(0));
    pool.execute(|| panic!("job 0 fails")).unwrap();
    for _ in 0..3 {
        let r = ran.clone();
        pool.execute(move || {
            r.fetch_add(1, SeqCst);
        })
        .unwrap();
    }
    pool.wait_idle();
    assert_eq!(
        pool.workers(),
        1,
        "the only worker survived its job's panic"
    );
    assert_eq!(pool.pending(), 0);
    let report = pool.shutdown();
    assert_eq!(ran.load(SeqCst), 3);
    assert_eq!((report.submitted, report.completed), (4, 3));
    assert_eq!(report.panicked.len(), 1);
    let p = &report.panicked[0];
    assert_eq!((p.job, p.worker, p.message.as_str()), (0, 1, "job 0 fails"));
    assert!(report.accounted());
    assert_eq!(
        report.to_string(),
        "4 submitted: 3 completed, 1 panicked; 1 workers joined; job 0 panicked on worker 1: job 0 fails"
    );
}

#[test]
fn shutdown_loses_nothing() {
    let jobs = if cfg!(miri) { 50 } else { 1_000 };
    let pool = WorkerPool::<racelab::Std>::new(4).unwrap();
    let ran = Arc::new(AtomicUsize::new(0));
    for _ in 0..jobs {
        let r = ran.clone();
        pool.execute(move || {
            r.fetch_add(1, SeqCst);
        })
        .unwrap();
    }
    let report = pool.shutdown();
    assert_eq!(ran.load(SeqCst), jobs);
    assert_eq!((report.submitted, report.completed), (jobs, jobs));
    assert_eq!(report.workers_joined, 4);
    assert!(report.panicked.is_empty());
}

#[test]
fn drop_shuts_down_and_runs_every_queued_job() {
    let ran = Arc::new(AtomicUsize::new(0));
    {
        let pool = WorkerPool::<racelab::Std>::new(2).unwrap();
        for _ in 0..100 {
            let r = ran.clone();
            pool.execute(move || {
                r.fetch_add(1, SeqCst);
            })
            .unwrap();
        }
    }
    assert_eq!(ran.load(SeqCst), 100);
}

#[test]
fn wait_idle_waits_for_every_job_submitted_so_far() {
    let pool = WorkerPool::<racelab::Std>::new(2).unwrap();
    let ran = Arc::new(AtomicUsize::new(0));
    for round in 1..=3 {
        for _ in 0..50 {
            let r = ran.clone();
            pool.execute(move || {
                std::thread::yield_now();
                r.fetch_add(1, SeqCst);
            })
            .unwrap();
        }
        pool.wait_idle();
        assert_eq!(ran.load(SeqCst), 50 * round);
        assert_eq!(pool.pending(), 0);
    }
    assert!(pool.wait_idle_timeout(Duration::from_secs(60)));
}

#[test]
fn the_builder_names_the_workers_threads() {
    let pool = WorkerPool::<racelab::Std>::builder(2)
        .name("resize")
        .build()
        .unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    pool.execute(move || {
        tx.send(std::thread::current().name().map(str::to_string))
            .unwrap();
    })
    .unwrap();
    assert_eq!(rx.recv().unwrap().as_deref(), Some("resize"));
    assert_eq!(pool.shutdown().workers_joined, 2);
}
