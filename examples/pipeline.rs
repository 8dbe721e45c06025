//! The pipeline article in Rust: download → resize → upload over closable queues, 1000 items,
//! then the same pipeline with fan-out, and a racy variant of it caught by the checkers.
//!
//! The article (`../shared/docs/seed-notes.md` §2) wires three `StoppableWorker` threads with
//! four `ClosableQueue`s, puts 1000 items, then closes and joins stage by stage. Here the
//! builder does the wiring: the last worker of each stage closes the next queue, so one
//! `close` of the input drains the whole pipeline in order, and the report accounts for every
//! item.
//!
//! Run it: `cargo run --release --example pipeline`.

use racelab::engine::{Check, EngineKind};
use racelab::pipeline::{EACH_WORKER_CLOSES, Pipeline, Pipelines};
use racelab::{BugClass, Verdict};
use std::time::{Duration, Instant};

/// A stand-in for a download or an upload: waiting on the network.
fn io(ms: u64) {
    std::thread::sleep(Duration::from_millis(ms));
}

/// A stand-in for resizing: some arithmetic.
fn resize(x: u64) -> u64 {
    (0..20_000u64).fold(x, |h, i| h.rotate_left(5) ^ i)
}

fn main() {
    // 1. The article's pipeline: one worker per stage, identity functions, 1000 items.
    let start = Instant::now();
    let report = Pipeline::<u64>::builder()
        .stage("download", 1, Ok::<u64, String>)
        .stage("resize", 1, Ok::<u64, String>)
        .stage("upload", 1, Ok::<u64, String>)
        .run(0..1000)
        .expect("a valid pipeline");
    assert!(report.is_accounted());
    println!(
        "article's pipeline: {} items processed in {:.3} s ({} failed, {} cancelled)",
        report.outputs.len(),
        start.elapsed().as_secs_f64(),
        report.failed.len(),
        report.cancelled.len(),
    );

    // 2. With work in each stage (1 ms of "IO" around some CPU), one worker per stage, then
    //    fan-out: a fixed set of workers fed through the queues, never a thread per item.
    for workers in [1, 4] {
        let start = Instant::now();
        let report = Pipeline::<u64>::builder()
            .stage("download", workers, |x| {
                io(1);
                Ok::<_, String>(x)
            })
            .stage("resize", workers, |x| Ok::<_, String>(resize(x)))
            .stage("upload", workers, |x| {
                io(1);
                Ok::<_, String>(x)
            })
            .run(0..200)
            .expect("a valid pipeline");
        assert!(report.is_accounted());
        println!(
            "200 items, {workers} worker(s) per stage: {} processed in {:.3} s",
            report.outputs.len(),
            start.elapsed().as_secs_f64()
        );
    }

    // 3. A racy variant: every worker of a fan-out stage closes the next queue when its own
    //    input runs dry, instead of the last one out. proptest picks schedules, finds one that
    //    loses an item, and shrinks it to a minimal interleaving.
    let results = Check::new()
        .engines([EngineKind::Proptest])
        .seed(1)
        .first_catch()
        .run(&Pipelines::<EACH_WORKER_CLOSES>);
    println!("\nEachWorkerClosesPipeline under proptest:\n{results}");
    results.assert_caught_by(&[EngineKind::Proptest], BugClass::LostItem);
    if let Some(r) = results
        .results
        .iter()
        .find(|r| r.engine == EngineKind::Proptest && r.verdict == Verdict::Caught)
        && let Some(token) = r.replay_token()
    {
        // The scenarios are the catalogue entry's, so the command line replays the same run.
        println!("replay it: racelab replay 'pipeline/EachWorkerClosesPipeline/{token}'");
    }
}
