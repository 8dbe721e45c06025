//! The executor: each racy twin is caught with its class by every engine that must catch it,
//! the executor passes every engine; and on real threads, the Python API's behaviour, bad input
//! and faults. Nothing here asserts on time; timeouts are either zero on a task that cannot
//! finish yet (a gate it waits on) or unbounded.

use racelab::BugClass;
use racelab::catalogue::{Expect, find};
use racelab::engine::{EngineKind, Results, Verdict};
use racelab::executor::{
    CALLBACK_RACE, CANCEL_RUNS_ANYWAY, CORRECT, DONE_BEFORE_RESULT, ExecutorError, Executors,
    ReturnWhen, SCAN_THEN_WAIT, SCRUTINEE_GUARD, SHUTDOWN_DROPS_QUEUED, STALE_CANCEL,
    SUBMIT_SHUTDOWN_RACE, TaskError, ThreadPoolExecutor, as_completed, wait,
};
use racelab::scenario::Subject;
use std::sync::atomic::{AtomicUsize, Ordering::SeqCst};
use std::sync::{Arc, mpsc};
use std::time::Duration;

mod support;

use support::every_engine as check;

type Ex = ThreadPoolExecutor;

/// The engines `variant`'s catalogue entry says must catch it; loom is always one.
fn must(variant: &str) -> Vec<EngineKind> {
    let entry = find(variant).unwrap();
    let must: Vec<EngineKind> = EngineKind::ALL
        .into_iter()
        .filter(|k| entry.expectation(*k) == Expect::Must)
        .collect();
    assert!(
        must.contains(&EngineKind::Loom),
        "{variant}: loom must catch it"
    );
    must
}

/// Asserts that each engine of `must` caught `class` in every scenario of `scenarios`.
fn assert_caught_in(results: &Results, must: &[EngineKind], class: BugClass, scenarios: &[&str]) {
    results.assert_caught_by(must, class);
    for &k in must {
        for scenario in scenarios {
            assert!(
                results.of(k).any(|r| r.scenario == *scenario
                    && r.verdict == Verdict::Caught
                    && r.counterexample.as_ref().is_some_and(|c| c.class == class)),
                "{k} did not catch {class} in `{scenario}`"
            );
        }
    }
}

/// Runs the engines that must catch `variant` (only those: the others are measured by the
/// matrix) and asserts each caught it with `class` in each of `scenarios`.
fn caught<S: Subject>(subject: &S, variant: &str, class: BugClass, scenarios: &[&str]) {
    let must = must(variant);
    let results = check()
        .engines(must.iter().copied())
        .scenarios(scenarios.iter().copied())
        .run(subject);
    assert_caught_in(&results, &must, class, scenarios);
}

#[test]
fn done_before_result_is_an_order_violation() {
    caught(
        &Executors::<DONE_BEFORE_RESULT>,
        "DoneBeforeResultFuture",
        BugClass::OrderViolation,
        &["submit, result, callbacks"],
    );
}

#[test]
fn a_check_then_set_cancel_lets_the_task_run() {
    caught(
        &Executors::<CANCEL_RUNS_ANYWAY>,
        "CancelRunsAnywayFuture",
        BugClass::CancelledRan,
        &["cancel races the worker"],
    );
}

#[test]
fn scan_then_wait_misses_a_completion_and_hangs() {
    caught(
        &Executors::<SCAN_THEN_WAIT>,
        "ScanThenWaitWaiter",
        BugClass::Deadlock,
        &[
            "wait(FIRST_COMPLETED) races completion",
            "as_completed over two executors",
        ],
    );
}

#[test]
fn submit_racing_shutdown_loses_the_task() {
    caught(
        &Executors::<SUBMIT_SHUTDOWN_RACE>,
        "SubmitShutdownRaceExecutor",
        BugClass::LostItem,
        &["submit races shutdown(wait)"],
    );
}

#[test]
fn workers_that_stop_at_the_flag_drop_queued_tasks() {
    caught(
        &Executors::<SHUTDOWN_DROPS_QUEUED>,
        "ShutdownDropsQueuedExecutor",
        BugClass::LostItem,
        &["shutdown(wait) resolves queued tasks"],
    );
}

#[test]
fn a_racy_add_done_callback_loses_the_callback() {
    caught(
        &Executors::<CALLBACK_RACE>,
        "CallbackRaceFuture",
        BugClass::LostWakeup,
        &["submit, result, callbacks"],
    );
}

#[test]
fn the_match_scrutinee_guard_deadlocks_cancel() {
    // Every engine, on the scenario where it shows: the self-deadlock is the structure's,
    // reported as caught (a deadlock) by those that must catch it, and never as an error of the
    // harness by any. (Its other scenarios are the catalogue's cells, in tests/catalogue.rs.)
    let results = check()
        .scenarios(["cancel races the worker"])
        .run(&Executors::<SCRUTINEE_GUARD>);
    assert_caught_in(
        &results,
        &must("ScrutineeGuardExecutor"),
        BugClass::Deadlock,
        &["cancel races the worker"],
    );
    let errors: Vec<String> = results
        .results
        .iter()
        .filter(|r| r.verdict == Verdict::Error)
        .map(|r| format!("{} {}: {}", r.engine, r.scenario, r.summary()))
        .collect();
    assert!(errors.is_empty(), "{errors:?}");
}

#[test]
fn a_stale_interrupt_cancels_the_next_task() {
    caught(
        &Executors::<STALE_CANCEL>,
        "StaleCancelExecutor",
        BugClass::LostItem,
        &["cancel a running task, then the next"],
    );
}

/// The catalogue runs the correct executor under every engine and accepts a `not run` only
/// where a scenario declares a skip; the executor declares none, so every engine checks every
/// scenario of it.
#[test]
fn the_executor_declares_no_skip_on_any_runtime() {
    fn none<R: racelab::Runtime>() {
        for s in Executors::<CORRECT>.scenarios::<R>() {
            assert_eq!(s.skipped(), None, "{}: skipped", s.name());
        }
    }
    none::<racelab::Std>();
    none::<racelab::Loom>();
    none::<racelab::Shuttle>();
    // ... and the catalogue holds it as a correct entry, so its cells must pass everywhere.
    assert_eq!(find("ThreadPoolExecutor").unwrap().bug, None);
}

/// A task blocked until the returned sender sends (or is dropped).
fn gated() -> (mpsc::Sender<()>, impl FnOnce() -> u32 + Send + 'static) {
    let (tx, rx) = mpsc::channel::<()>();
    (tx, move || {
        let _ = rx.recv();
        7
    })
}

#[test]
fn zero_workers_is_a_one_line_error() {
    let e = Ex::new(0).unwrap_err();
    assert_eq!(e, ExecutorError::NoWorkers);
    assert!(!e.to_string().contains('\n'));
}

#[test]
fn submit_result_and_state() {
    let ex = Ex::new(2).unwrap();
    let (go, task) = gated();
    let h = ex.submit(task).unwrap();
    assert!(!h.done());
    assert_eq!(h.result(Some(Duration::ZERO)), Err(TaskError::TimedOut));
    go.send(()).unwrap();
    assert_eq!(h.result(None), Ok(7));
    assert_eq!(h.result(None), Ok(7), "result can be read again");
    assert!(h.done() && !h.running() && !h.cancelled());
    assert_eq!(h.exception(None), Ok(None));
    assert_eq!(h.take(None), Ok(7));
    assert_eq!(h.take(None), Err(TaskError::Taken));
}

#[test]
fn a_panicking_task_surfaces_and_its_worker_survives() {
    let ex = Ex::new(1).unwrap();
    let bad = ex.submit(|| -> u32 { panic!("boom") }).unwrap();
    let good = ex.submit(|| 1u32).unwrap();
    assert_eq!(bad.result(None), Err(TaskError::Panicked("boom".into())));
    assert_eq!(bad.exception(None), Ok(Some("boom".into())));
    assert_eq!(good.result(None), Ok(1));
}

#[test]
fn cancel_a_queued_task_and_a_done_one() {
    let ex = Ex::new(1).unwrap();
    let (go, task) = gated();
    let first = ex.submit(task).unwrap();
    let queued = ex.submit(|| 2u32).unwrap();
    assert!(queued.cancel());
    assert!(
        queued.cancel(),
        "cancelling a cancelled task says true, as Python does"
    );
    assert!(queued.cancelled() && queued.done());
    assert_eq!(queued.result(None), Err(TaskError::Cancelled));
    go.send(()).unwrap();
    assert_eq!(first.result(None), Ok(7));
    assert!(!first.cancel(), "a done task cannot be cancelled");
}

#[test]
fn callbacks_run_once_even_when_added_late_or_panicking() {
    let ex = Ex::new(1).unwrap();
    let runs = Arc::new(AtomicUsize::new(0));
    let (go, task) = gated();
    let h = ex.submit(task).unwrap();
    let r = runs.clone();
    h.add_done_callback(move |_| {
        r.fetch_add(1, SeqCst);
    });
    h.add_done_callback(|_| panic!("callback fails"));
    go.send(()).unwrap();
    h.result(None).unwrap();
    ex.shutdown(true, false);
    let r = runs.clone();
    h.add_done_callback(move |h| {
        assert!(h.done());
        r.fetch_add(1, SeqCst);
    });
    assert_eq!(runs.load(SeqCst), 2);
    assert_eq!(h.callback_panics(), ["callback fails"]);
}

#[test]
fn wait_and_as_completed() {
    let ex = Ex::new(2).unwrap();
    assert_eq!(
        wait::<u32, racelab::Std>(&[], None, ReturnWhen::AllCompleted)
            .0
            .len(),
        0
    );
    let done = ex.submit(|| 1u32).unwrap();
    done.result(None).unwrap();
    let (go, task) = gated();
    let slow = ex.submit(task).unwrap();
    let (d, nd) = wait(
        &[done.clone(), slow.clone()],
        None,
        ReturnWhen::FirstCompleted,
    );
    assert_eq!((d.len(), nd.len()), (1, 1));
    let (d, nd) = wait(
        std::slice::from_ref(&slow),
        Some(Duration::ZERO),
        ReturnWhen::AllCompleted,
    );
    assert_eq!(
        (d.len(), nd.len()),
        (0, 1),
        "a timeout returns what is left"
    );
    // Duplicates count once; the finished one comes first.
    let mut it = as_completed(&[slow.clone(), done.clone(), slow.clone()], None);
    assert!(it.next().unwrap().unwrap().same(&done));
    go.send(()).unwrap();
    assert!(it.next().unwrap().unwrap().same(&slow));
    assert!(it.next().is_none());
}

#[test]
fn as_completed_times_out_with_what_is_left() {
    let ex = Ex::new(1).unwrap();
    let (go, task) = gated();
    let slow = ex.submit(task).unwrap();
    let mut it = as_completed(std::slice::from_ref(&slow), Some(Duration::ZERO));
    assert_eq!(it.next().unwrap().unwrap_err().unfinished, 1);
    assert!(it.next().is_none());
    go.send(()).unwrap();
}

#[test]
fn wait_first_exception() {
    let ex = Ex::new(2).unwrap();
    let (_go, task) = gated();
    let slow = ex.submit(task).unwrap();
    let bad = ex.submit(|| -> u32 { panic!("no") }).unwrap();
    let (d, nd) = wait(
        &[slow.clone(), bad.clone()],
        None,
        ReturnWhen::FirstException,
    );
    assert!(d.iter().any(|h| h.same(&bad)));
    assert!(nd.iter().any(|h| h.same(&slow)));
    slow.cancel();
    drop(_go);
}

#[test]
fn map_keeps_input_order() {
    let ex = Ex::new(4).unwrap();
    let out: Vec<u64> = ex
        .map(|x: u64| x * 10, 0..100, None)
        .unwrap()
        .map(Result::unwrap)
        .collect();
    assert_eq!(out, (0..100).map(|x| x * 10).collect::<Vec<_>>());
}

#[test]
fn map_times_out_and_cancels_the_rest() {
    let ex = Ex::new(1).unwrap();
    // Item 0 waits for the gate (if it started before the timeout cancelled it).
    let gate = Arc::new(AtomicUsize::new(0));
    let g = gate.clone();
    let mut it = ex
        .map(
            move |x: u32| {
                while x == 0 && g.load(SeqCst) == 0 {
                    std::thread::yield_now();
                }
                x
            },
            0..3,
            Some(Duration::ZERO),
        )
        .unwrap();
    assert_eq!(it.next(), Some(Err(TaskError::TimedOut)));
    assert_eq!(it.next(), None);
    gate.store(1, SeqCst);
}

#[test]
fn submit_after_shutdown_hands_the_task_back() {
    let ex = Ex::new(1).unwrap();
    let s = ex.shutdown(true, false);
    assert!(s.began && s.waited);
    let back = ex.submit(|| 5u32).unwrap_err();
    assert_eq!((back.into_inner())(), 5);
    assert_eq!(
        ex.map(|x: u32| x, [1], None).unwrap_err(),
        ExecutorError::ShutDown
    );
}

#[test]
fn shutdown_cancels_queued_tasks_when_asked_and_loses_none() {
    let ex = Ex::new(1).unwrap();
    let (go, task) = gated();
    let first = ex.submit(task).unwrap();
    let rest: Vec<_> = (0..5).map(|i| ex.submit(move || i).unwrap()).collect();
    // Let the first start, so exactly the five are queued.
    while !first.running() {
        std::thread::yield_now();
    }
    let s = ex.shutdown(false, true);
    assert_eq!(s.cancelled, 5);
    go.send(()).unwrap();
    drop(ex);
    assert_eq!(first.result(None), Ok(7));
    assert!(rest.iter().all(|h| h.cancelled()));
}

#[test]
fn shutdown_with_wait_resolves_every_queued_task() {
    let ex = Ex::new(2).unwrap();
    let hs: Vec<_> = (0..50u32).map(|i| ex.submit(move || i).unwrap()).collect();
    ex.shutdown(true, false);
    for (i, h) in hs.iter().enumerate() {
        assert_eq!(h.result(Some(Duration::ZERO)), Ok(i as u32));
    }
}

#[test]
fn shutdown_from_inside_a_task_does_not_hang() {
    let ex = Arc::new(Ex::new(2).unwrap());
    let inner = ex.clone();
    let h = ex.submit(move || inner.shutdown(true, false)).unwrap();
    let s = h.result(None).unwrap();
    assert!(
        s.began && !s.waited,
        "a task cannot wait for its own worker"
    );
    assert!(ex.submit(|| ()).is_err());
}
