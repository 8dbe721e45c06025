//! Pipelines: each racy twin is catalogued with its class (tests/catalogue.rs runs its cells:
//! caught by every engine that must catch it, the correct twin passing every engine), the
//! pipeline over other queues passes every engine, and on real threads: bad input, accounting
//! through failures and panics, input order, a send after close handed back, cancel and drop
//! that never hang.

use racelab::BugClass;
use racelab::catalogue::{Expect, find};
use racelab::engine::EngineKind;
use racelab::pipeline::{
    CANCEL_LEAKS_WORKER, CORRECT, CYCLIC_BACKPRESSURE, EACH_WORKER_CLOSES, JOIN_BEFORE_DRAIN,
    PANIC_LOSES_ITEM, Pipeline, PipelineError, RACY_LIVE_COUNT,
};
use std::sync::mpsc;
use std::time::Duration;

mod support;

use support::every_engine as check;

/// Each racy pipeline's catalogue entry: its bug class, and loom among the engines that must
/// catch it. The runs themselves are the catalogue's cells (tests/catalogue.rs): one test case
/// per (engine, variant), which asserts that every engine that must catch the variant does,
/// with this class, and that the correct twin `Pipeline` passes every engine. They are
/// not run again here (they were: 10.5 s of the warm `cargo test --release`, for the same
/// assertions under the same budgets).
#[test]
fn each_racy_pipeline_is_catalogued_with_its_class_and_loom_must_catch_it() {
    let table = [
        (
            EACH_WORKER_CLOSES,
            "EachWorkerClosesPipeline",
            BugClass::LostItem,
        ),
        (RACY_LIVE_COUNT, "RacyLiveCountPipeline", BugClass::Deadlock),
        (
            PANIC_LOSES_ITEM,
            "PanicLosesItemPipeline",
            BugClass::Deadlock,
        ),
        (
            JOIN_BEFORE_DRAIN,
            "JoinBeforeDrainPipeline",
            BugClass::OrderViolation,
        ),
        (
            CANCEL_LEAKS_WORKER,
            "CancelLeaksWorkerPipeline",
            BugClass::Deadlock,
        ),
        (
            CYCLIC_BACKPRESSURE,
            "CyclicBackpressurePipeline",
            BugClass::Deadlock,
        ),
    ];
    for (bug, variant, class) in table {
        assert_ne!(bug, CORRECT, "{variant}");
        let entry = find(variant).unwrap();
        assert!(entry.racy(), "{variant}");
        assert_eq!(entry.bug, Some(class), "{variant}");
        assert_eq!(
            entry.expectation(EngineKind::Loom),
            Expect::Must,
            "{variant}"
        );
    }
    let twin = find("Pipeline").unwrap();
    assert!(!twin.racy());
}

/// Runs `f` on a thread and fails the test if it has not returned within 60 s.
fn watchdog<T: Send + 'static>(f: impl FnOnce() -> T + Send + 'static) -> T {
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        let _ = tx.send(f());
    });
    rx.recv_timeout(Duration::from_secs(60))
        .expect("the pipeline hung (60 s watchdog)")
}

#[test]
fn bad_input_is_a_one_line_error() {
    let zero = Pipeline::<u32>::builder()
        .stage("resize", 0, Ok::<u32, String>)
        .start()
        .err()
        .unwrap();
    assert_eq!(
        zero,
        PipelineError::NoWorkers {
            stage: "resize".into()
        }
    );
    assert_eq!(
        zero.to_string(),
        "stage `resize` needs at least 1 worker, got 0"
    );
    let cap = Pipeline::<u32>::builder()
        .capacity(0)
        .stage("resize", 1, Ok::<u32, String>)
        .start()
        .err()
        .unwrap();
    assert_eq!(cap, PipelineError::ZeroCapacity);
    let none = Pipeline::<u32>::builder().start().err().unwrap();
    assert_eq!(none.to_string(), "a pipeline needs at least one stage");
    for e in [zero, cap, none] {
        assert!(!e.to_string().contains('\n'));
    }
}

/// The article's download → resize → upload, 1,000 items, with errors and panics on the way:
/// every item is an output or a failure with its stage and message.
#[test]
fn a_thousand_items_are_all_accounted_through_errors_and_panics() {
    let report = watchdog(|| {
        Pipeline::<u64>::builder()
            .capacity(8)
            .stage("download", 3, |x| {
                if x % 100 == 7 {
                    Err(format!("no such item {x}"))
                } else {
                    Ok(x)
                }
            })
            .stage("resize", 4, |x| {
                assert!(x % 250 != 3, "cannot resize {x}");
                Ok::<_, String>(x * 2)
            })
            .stage("upload", 2, |x| Ok::<_, String>(x + 1))
            .run(0..1000)
            .unwrap()
    });
    assert!(report.is_accounted(), "{report:?}");
    assert_eq!(report.sent, 1000);
    assert_eq!(report.failed.len(), 10 + 4);
    assert_eq!(report.outputs.len(), 1000 - 14);
    let download: Vec<_> = report
        .failed
        .iter()
        .filter(|f| f.stage == "download")
        .collect();
    assert_eq!(download.len(), 10);
    assert_eq!(download[0].seq, 7);
    assert_eq!(download[0].message, "no such item 7");
    let resize: Vec<_> = report
        .failed
        .iter()
        .filter(|f| f.stage == "resize")
        .collect();
    assert_eq!(resize.len(), 4);
    assert_eq!(resize[0].message, "panicked: cannot resize 3");
    assert_eq!(report.workers_panicked, 0);
}

#[test]
fn ordered_outputs_come_in_input_order() {
    let report = watchdog(|| {
        Pipeline::<u64>::builder()
            .ordered(true)
            .stage(
                "resize",
                4,
                |x| {
                    if x % 10 == 5 { Err("skip") } else { Ok(x) }
                },
            )
            .stage("upload", 3, Ok::<u64, String>)
            .run(0..500)
            .unwrap()
    });
    let want: Vec<u64> = (0..500).filter(|x| x % 10 != 5).collect();
    assert_eq!(report.outputs, want);
    assert!(report.is_accounted());
}

#[test]
fn a_send_after_close_hands_the_item_back_and_streaming_works() {
    let report = watchdog(|| {
        let p = Pipeline::<u64>::builder()
            .stage("show", 2, |x: u64| Ok::<_, String>(x.to_string()))
            .start()
            .unwrap();
        for x in 0..10 {
            p.send(x).unwrap();
        }
        let mut got: Vec<String> = (0..5).map(|_| p.recv().unwrap()).collect();
        p.close();
        assert_eq!(p.send(99), Err(99));
        while let Some(s) = p.recv() {
            got.push(s);
        }
        assert_eq!(got.len(), 10);
        p.join()
    });
    assert_eq!(report.received, 10);
    assert!(report.outputs.is_empty());
    assert!(report.is_accounted());
}

#[test]
fn cancel_stops_intake_and_accounts_for_every_item() {
    let report = watchdog(|| {
        let p = Pipeline::<u64>::builder()
            .capacity(4)
            .stage("slow", 1, |x| {
                std::thread::sleep(Duration::from_millis(1));
                Ok::<_, String>(x)
            })
            .stage("upload", 1, Ok::<u64, String>)
            .start()
            .unwrap();
        for x in 0..8 {
            p.send(x).unwrap();
        }
        p.cancel();
        assert_eq!(p.send(8), Err(8));
        p.join()
    });
    assert_eq!(report.sent, 8);
    assert!(report.is_accounted(), "{report:?}");
    assert!(!report.cancelled.is_empty(), "{report:?}");
}

#[test]
fn dropping_a_running_pipeline_joins_its_workers() {
    watchdog(|| {
        let p = Pipeline::<u64>::builder()
            .capacity(2)
            .stage("a", 2, Ok::<u64, String>)
            .stage("b", 2, Ok::<u64, String>)
            .start()
            .unwrap();
        for x in 0..4 {
            p.send(x).unwrap();
        }
        drop(p);
    });
}

/// An input iterator that panics halfway: the items sent so far are accounted, the panic is
/// counted, and `run` returns instead of waiting for an input that nobody closes.
#[test]
fn a_panicking_input_iterator_ends_the_run_instead_of_hanging_it() {
    let report = watchdog(|| {
        Pipeline::<u64>::builder()
            .stage("resize", 2, Ok::<u64, String>)
            .run((0..10u64).inspect(|x| assert!(*x != 5, "input {x} is corrupt")))
            .unwrap()
    });
    assert_eq!(report.sent, 5);
    assert_eq!(report.outputs.len(), 5);
    assert_eq!(report.workers_panicked, 1, "the feeder's panic is counted");
}

/// A retrying stage over full queues of capacity 1, on real threads: every item whose first
/// tries fail comes out, one that always fails fails with its last error, and nothing waits on
/// itself.
#[test]
fn a_retrying_stage_retries_through_full_queues_without_waiting_on_itself() {
    use std::sync::atomic::{AtomicU64, Ordering};
    let tries = std::sync::Arc::new(AtomicU64::new(0));
    let counted = tries.clone();
    let report = watchdog(move || {
        Pipeline::<u64>::builder()
            .capacity(1)
            .retrying_stage("flaky", 2, 3, move |x: u64| {
                let n = counted.fetch_add(1, Ordering::Relaxed);
                if x == 13 {
                    Err(format!("item {x} never uploads"))
                } else if x % 3 == 0 && n % 2 == 0 {
                    Err(format!("item {x}: try again"))
                } else {
                    Ok(x)
                }
            })
            .ordered(true)
            .run(0..300)
            .unwrap()
    });
    assert!(report.is_accounted(), "{report:?}");
    assert_eq!(report.failed.len(), 1, "{:?}", report.failed);
    assert_eq!(report.failed[0].seq, 13);
    assert_eq!(report.failed[0].message, "item 13 never uploads");
    let expected: Vec<u64> = (0..300).filter(|&x| x != 13).collect();
    assert_eq!(report.outputs, expected);
    // Item 13 is tried 1 + 3 times; at least some other items were retried.
    assert!(tries.load(Ordering::Relaxed) > 300 + 3);
}

/// The correct cancel wakes workers blocked on an empty input: join returns, nothing leaks.
#[test]
fn cancel_wakes_workers_blocked_on_an_empty_input() {
    let report = watchdog(|| {
        let p = Pipeline::<u64>::builder()
            .stage("resize", 3, Ok::<u64, String>)
            .stage("upload", 2, Ok::<u64, String>)
            .start()
            .unwrap();
        // Let the workers block in pop on the empty input, then cancel.
        std::thread::sleep(Duration::from_millis(20));
        p.cancel();
        p.join()
    });
    assert!(report.is_accounted(), "{report:?}");
    assert_eq!((report.sent, report.still_running), (0, 0));
}

/// The article's 1000 items through 3 stages of 2 workers, in input order, over every queue
/// family racelab ships.
fn article_pipeline<Q: racelab::pipeline::StageQueues>() {
    let report = Pipeline::<u64>::builder()
        .queues::<Q>()
        .capacity(4)
        .ordered(true)
        .stage("download", 2, |x| Ok::<_, String>(x + 1))
        .stage("resize", 2, |x| {
            if x % 100 == 0 {
                Err(format!("{x}: too big"))
            } else {
                Ok(x * 2)
            }
        })
        .stage("upload", 2, |x| Ok::<_, String>(x.to_string()))
        .run(0..1000)
        .unwrap();
    assert!(report.is_accounted(), "{}: {report:?}", Q::NAME);
    let expected: Vec<String> = (0..1000u64)
        .map(|x| x + 1)
        .filter(|x| x % 100 != 0)
        .map(|x| (x * 2).to_string())
        .collect();
    assert_eq!(report.outputs, expected, "{}", Q::NAME);
    assert_eq!(report.failed.len(), 10, "{}", Q::NAME);
    assert!(report.failed.iter().all(|f| f.stage == "resize"));
}

#[test]
fn every_queue_family_carries_the_article_pipeline() {
    use racelab::pipeline::{Bounded, Channels, Closable, Rings};
    article_pipeline::<Closable>();
    article_pipeline::<Bounded>();
    article_pipeline::<Rings>();
    article_pipeline::<Channels>();
}

// The pipeline over the other queues, in three tests: loom's exhaustive pass over the bounded
// buffer is 4.5 s of the 7 s the bounded buffer takes, and cargo-nextest runs each test in a
// process of its own. (Under libtest, threads of one process, the split saves little: loom's
// coroutine stacks are mapped and unmapped per execution, and that serialises the threads.)
#[test]
fn the_pipeline_over_the_bounded_buffer_passes_loom() {
    use racelab::pipeline::{Bounded, PipelinesOn};
    check()
        .engines([EngineKind::Loom])
        .run(&PipelinesOn::<Bounded>::default())
        .assert_passed();
}

#[test]
fn the_pipeline_over_the_bounded_buffer_passes_every_other_engine() {
    use racelab::pipeline::{Bounded, PipelinesOn};
    check()
        .engines(
            EngineKind::ALL
                .into_iter()
                .filter(|k| *k != EngineKind::Loom),
        )
        .run(&PipelinesOn::<Bounded>::default())
        .assert_passed();
}

#[test]
fn the_pipeline_over_rings_passes_the_sampling_engines_and_real_threads() {
    use racelab::pipeline::{PipelinesOn, Rings};
    // Over the lock-free ring, loom is not exhaustive in minutes (414,616 executions of the
    // two-stage scenario in 60 s at 2 preemptions), so the ring's pipeline is checked by the
    // sampling engines and real threads; loom checks the ring itself in the queue family.
    check()
        .engines([
            EngineKind::ShuttleRandom,
            EngineKind::ShuttlePct,
            EngineKind::Proptest,
            EngineKind::Stress,
        ])
        .run(&PipelinesOn::<Rings>::default())
        .assert_passed();
}

#[test]
fn a_family_the_checkers_cannot_see_is_not_run_under_them() {
    use racelab::Verdict;
    use racelab::pipeline::{Channels, PipelinesOn};
    let results = check().run(&PipelinesOn::<Channels>::default());
    for r in &results.results {
        let expected = if r.engine == EngineKind::Stress {
            Verdict::Passed
        } else {
            Verdict::NotRun
        };
        assert_eq!(r.verdict, expected, "{r:?}");
    }
}

#[test]
fn queues_after_a_stage_is_a_one_line_error() {
    let e = Pipeline::<u64>::builder()
        .stage("a", 1, Ok::<u64, String>)
        .queues::<racelab::pipeline::Rings>()
        .start()
        .err()
        .unwrap();
    assert_eq!(e, PipelineError::QueuesAfterStages);
    assert_eq!(e.to_string(), "choose the queues before the first stage");
}
