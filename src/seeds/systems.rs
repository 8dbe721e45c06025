//! The pipeline (article 001's download → resize → upload) and the executor (article 003's
//! `ThreadPoolExecutor.map`), run as experiments on racelab's own [`Pipeline`] and
//! [`ThreadPoolExecutor`].

use super::{Context, Experiment, Row, timed};
use crate::executor::ThreadPoolExecutor;
use crate::pipeline::Pipeline;
use std::time::Duration;

/// The pipeline and executor experiments.
pub(super) const EXPERIMENTS: [Experiment; 2] = [PIPELINE, EXECUTOR];

/// Article 001: 1,000 items through three stages, with 1 and 4 workers per stage.
const PIPELINE: Experiment = Experiment {
    name: "pipeline",
    article: "001: download → resize → upload over closable queues, one worker thread per stage",
    lesson: "Stages that wait overlap: the pipeline takes about the time of its slowest stage, \
             and 4 workers per stage divide that by 4; in Python the same holds for waiting \
             stages, since the GIL is released while a thread waits.",
    run: pipeline,
};

/// Article 003: `map` on a pool of 5 against a thread per task.
const EXECUTOR: Experiment = Experiment {
    name: "executor",
    article: "003: ThreadPoolExecutor.map over waiting tasks",
    lesson: "A pool of 5 runs 5 waits at a time, so its map takes tasks / 5 waits; a thread per \
             task overlaps them all but pays a thread's start each (and its memory, at scale). \
             Python's trade-off, unchanged.",
    run: executor,
};

/// A stage's (or a task's) wait: the article's simulated network or disk.
fn nap(d: Duration) {
    std::thread::sleep(d);
}

fn pipeline(ctx: &Context) -> Result<Vec<Row>, String> {
    let items = ctx.scale.pick(1_000u64, 200);
    let stage_wait = ctx
        .scale
        .pick(Duration::from_millis(1), Duration::from_micros(500));
    let mut rows = Vec::new();
    for workers in [1usize, 4] {
        let (report, t) = timed(|| {
            Pipeline::<u64>::builder()
                .stage("download", workers, move |x| {
                    nap(stage_wait);
                    Ok::<_, String>(x + 1)
                })
                .stage("resize", workers, move |x| {
                    nap(stage_wait);
                    Ok::<_, String>(x * 2)
                })
                .stage("upload", workers, move |x| {
                    nap(stage_wait);
                    Ok::<_, String>(x)
                })
                .run(0..items)
        });
        let report = report.map_err(|e| format!("pipeline: {e}"))?;
        let expected: u64 = (0..items).map(|x| (x + 1) * 2).sum();
        if !report.is_accounted()
            || !report.failed.is_empty()
            || report.outputs.iter().sum::<u64>() != expected
        {
            return Err(format!(
                "pipeline: {workers} per stage lost or changed items: {} outputs of {items}",
                report.outputs.len()
            ));
        }
        let mut row = Row::new(
            "pipeline",
            format!(
                "{workers} worker{} per stage",
                if workers == 1 { "" } else { "s" }
            ),
        )
        .timed_io(&t, Some(3 * workers))
        .extra(
            "items",
            format!(
                "{items}, 3 stages waiting {} µs each",
                stage_wait.as_micros()
            ),
        );
        if workers == 1 {
            row = row.baseline();
        }
        rows.push(row);
    }
    Ok(rows)
}

fn executor(ctx: &Context) -> Result<Vec<Row>, String> {
    let tasks = ctx.scale.pick(200u64, 50);
    let wait = ctx
        .scale
        .pick(Duration::from_millis(10), Duration::from_millis(2));
    let expected: u64 = (0..tasks).map(|x| x * 3).sum();
    let extra = |r: Row| {
        r.extra(
            "tasks",
            format!("{tasks} waiting {} ms each", wait.as_millis()),
        )
    };
    let task = move |x: u64| {
        nap(wait);
        x * 3
    };

    let ex: ThreadPoolExecutor = ThreadPoolExecutor::new(5).map_err(|e| e.to_string())?;
    let (sum, t) = timed(|| -> Result<u64, String> {
        ex.map(task, 0..tasks, Some(Duration::from_secs(60)))
            .map_err(|e| format!("executor: {e}"))?
            .map(|r| r.map_err(|e| format!("executor: a task: {e}")))
            .sum()
    });
    drop(ex);
    if sum? != expected {
        return Err("executor: map returned the wrong values".into());
    }
    let pool = extra(
        Row::new("executor", "map on ThreadPoolExecutor(5)")
            .baseline()
            .timed_io(&t, Some(5))
            .note("the pool is started before the clock"),
    );

    let (sum, t) = timed(|| {
        let hs: Vec<_> = (0..tasks)
            .map(|x| std::thread::spawn(move || task(x)))
            .collect();
        hs.into_iter()
            .map(|h| {
                h.join()
                    .map_err(|_| "executor: a task thread panicked".to_string())
            })
            .sum::<Result<u64, String>>()
    });
    if sum? != expected {
        return Err("executor: a thread per task returned the wrong values".into());
    }
    let per_task =
        extra(Row::new("executor", "a thread per task").timed_io(&t, Some(tasks as usize)));
    Ok(vec![pool, per_task])
}
