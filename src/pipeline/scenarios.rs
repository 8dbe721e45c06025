//! The pipeline scenarios: small pipelines built, fed and joined by one scenario thread, judged
//! by the report's accounting. Each fits loom's thread limit (one scenario thread and at most
//! three workers). The join runs in the scenario thread, not in a teardown: the stress engine's
//! watchdog watches scenario threads, so a racy twin's hanging join is caught there, not hung.

use super::{Bug, CORRECT, Closable, PipelineReport, StageQueues, Staged};
use crate::queue::Queue;
use crate::runtime::Runtime;
use crate::scenario::{BugClass, Outcome, Scenario, Subject};
use std::marker::PhantomData;

/// The scenarios of the pipeline with bug `BUG` (0: the correct one).
///
/// - `2 resize workers, 1 upload, close`: `T1` sends one item, closes and joins. The output must
///   arrive (one item is enough: the sibling that finds the input drained is the one that
///   races): a lost item is **lost item**, a join that never returns a
///   **deadlock** (or, on real threads, a hang).
/// - `a panicking item fails alone`: the first stage panics on one item. The report must show
///   it failed with its panic message, the other item delivered, every worker alive.
/// - `cancel while sending`: `T1` sends one item into one stage of two workers and cancels. Every item must be an output, a
///   failure or a cancellation, exactly once.
/// - `ordered outputs`: one stage of two workers, two items, outputs in input order.
/// - `a failing item retried, 1 worker`: a retrying stage of one worker over queues of
///   capacity 1; item 0 fails its first try while `T1` sends items 1 and 2. Every item must
///   come out; a stage and its producer waiting on each other is a **deadlock**.
#[derive(Debug, Default, Clone, Copy)]
pub struct Pipelines<const BUG: Bug>;

/// The pipeline of the scenarios: `u64` items through stages of `u64`.
type P<R, const BUG: Bug, Q> = Staged<u64, u64, R, BUG, Q>;

/// The first stage's function: times ten, panicking on 1 in the panic scenario.
fn resize(panics_on_one: bool) -> impl Fn(u64) -> Result<u64, String> + Send + Sync + 'static {
    move |x| {
        if panics_on_one && x == 1 {
            panic!("cannot resize item {x}");
        }
        Ok(x * 10)
    }
}

/// The second stage's function: plus one.
fn upload(x: u64) -> Result<u64, String> {
    Ok(x + 1)
}

/// A two-stage pipeline: `resize` on two workers, `upload` on one; queues of capacity 1.
fn two_stages<R: Runtime, const BUG: Bug, Q: StageQueues>() -> P<R, BUG, Q> {
    P::<R, BUG, Q>::builder()
        .capacity(1)
        .stage("resize", 2, resize(false))
        .stage("upload", 1, upload)
        .start()
        .expect("a valid pipeline")
}

/// One stage, `resize` on two workers (panicking on item 1 if asked); queues of capacity 1;
/// outputs in input order if `ordered`.
fn one_stage<R: Runtime, const BUG: Bug, Q: StageQueues>(
    panics_on_one: bool,
    ordered: bool,
) -> P<R, BUG, Q> {
    P::<R, BUG, Q>::builder()
        .capacity(1)
        .ordered(ordered)
        .stage("resize", 2, resize(panics_on_one))
        .start()
        .expect("a valid pipeline")
}

/// One retrying stage (one retry) of one worker, times ten, failing item 0's first try; queues
/// of capacity 1.
fn retrying<R: Runtime, const BUG: Bug, Q: StageQueues>() -> P<R, BUG, Q> {
    let failed_once = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    P::<R, BUG, Q>::builder()
        .capacity(1)
        .retrying_stage("flaky", 1, 1, move |x: u64| {
            // Item 0 fails once (state of this one worker, so a std atomic is enough).
            if x == 0 && !failed_once.swap(true, std::sync::atomic::Ordering::Relaxed) {
                return Err("timed out, try again".to_string());
            }
            Ok(x * 10)
        })
        .start()
        .expect("a valid pipeline")
}

/// Sends `0..n` into `p`, closes (or cancels), and joins it.
fn send<R: Runtime, const BUG: Bug, Q: StageQueues>(
    p: P<R, BUG, Q>,
    n: u64,
    cancel: bool,
) -> PipelineReport<u64> {
    for x in 0..n {
        if p.send(x).is_err() {
            break;
        }
    }
    if cancel {
        p.cancel();
    } else {
        p.close();
    }
    p.join()
}

/// A join that returned before its workers ended first, then lost items (the class the racy
/// twins show), then any other accounting error.
fn accounting(r: &PipelineReport<u64>) -> Option<Outcome> {
    if r.still_running > 0 {
        return Some(Outcome::forbidden(
            BugClass::OrderViolation,
            format!(
                "join returned with {} workers still running: {} of {} items in the report (outputs {:?})",
                r.still_running,
                r.ended(),
                r.sent,
                r.outputs
            ),
        ));
    }
    if r.lost > 0 || r.workers_panicked > 0 {
        return Some(Outcome::forbidden(
            BugClass::LostItem,
            format!(
                "{} of {} items lost ({} workers died): outputs {:?}, failed {:?}, cancelled {:?}",
                r.lost, r.sent, r.workers_panicked, r.outputs, r.failed, r.cancelled
            ),
        ));
    }
    (!r.is_accounted()).then(|| {
        Outcome::forbidden(
            BugClass::DuplicatedItem,
            format!(
                "{} items sent, {} outputs, {} failed, {} cancelled",
                r.sent,
                r.outputs.len(),
                r.failed.len(),
                r.cancelled.len()
            ),
        )
    })
}

/// The correct pipeline's scenarios ([`Pipelines`]), with its stages joined by queues of
/// family `Q` ([`StageQueues`]): how a queue of your own is checked as a pipeline's plumbing.
/// A family the model checkers cannot see into (racelab's [`Channels`] wraps crossbeam, whose
/// atomics are std's) has its scenarios reported `not run` under them, with the reason; stress
/// still runs them.
///
/// [`Channels`]: super::Channels
pub struct PipelinesOn<Q: StageQueues>(PhantomData<fn() -> Q>);

impl<Q: StageQueues> Default for PipelinesOn<Q> {
    fn default() -> Self {
        PipelinesOn(PhantomData)
    }
}

impl<Q: StageQueues> Subject for PipelinesOn<Q> {
    fn scenarios<R: Runtime>(&self) -> Vec<Scenario<R>> {
        let all = scenarios::<R, CORRECT, Q>();
        if <Q::Of<u64, R> as Queue<u64>>::MODEL_CHECKABLE || !R::CAPS.checked {
            return all;
        }
        // The checkers cannot see the family's atomics: not run, with the reason, never a
        // verdict (the queue would refuse their runtime and the pipeline fail to start).
        all.into_iter()
            .map(|s| s.skip(crate::catalogue::MODEL_STD_ATOMICS))
            .collect()
    }
}

impl<const BUG: Bug> Subject for Pipelines<BUG> {
    fn scenarios<R: Runtime>(&self) -> Vec<Scenario<R>> {
        scenarios::<R, BUG, Closable>()
    }
}

/// The scenarios of the pipeline with bug `BUG`, over queues of family `Q`.
fn scenarios<R: Runtime, const BUG: Bug, Q: StageQueues>() -> Vec<Scenario<R>> {
    vec![
        Scenario::<R>::builder("2 resize workers, 1 upload, close", || ())
            .observing::<PipelineReport<u64>>()
            .thread(|_| send(two_stages::<R, BUG, Q>(), 1, false))
            .check(|_, seen| {
                let r = &seen[0];
                if let Some(bad) = accounting(r) {
                    return bad;
                }
                if r.outputs == [1] {
                    Outcome::ok("delivered")
                } else {
                    Outcome::forbidden(BugClass::LostItem, format!("outputs {:?}", r.outputs))
                }
            })
            .spawns(3),
        Scenario::<R>::builder("a panicking item fails alone, 2 workers", || ())
            .observing::<PipelineReport<u64>>()
            .thread(|_| send(one_stage::<R, BUG, Q>(true, false), 2, false))
            .check(|_, seen| {
                let r = &seen[0];
                if let Some(bad) = accounting(r) {
                    return bad;
                }
                let failed_alone = r.outputs == [0]
                    && r.failed.len() == 1
                    && r.failed[0].seq == 1
                    && r.failed[0].stage == "resize"
                    && r.failed[0].message == "panicked: cannot resize item 1";
                if failed_alone {
                    Outcome::ok("item 1 failed, item 0 delivered")
                } else {
                    Outcome::forbidden(
                        BugClass::LostItem,
                        format!("outputs {:?}, failed {:?}", r.outputs, r.failed),
                    )
                }
            })
            .spawns(2),
        Scenario::<R>::builder("cancel while sending", || ())
            .observing::<PipelineReport<u64>>()
            .thread(|_| send(one_stage::<R, BUG, Q>(false, false), 1, true))
            .check(|_, seen| match accounting(&seen[0]) {
                Some(bad) => bad,
                None => Outcome::ok(format!(
                    "{} delivered, {} cancelled",
                    seen[0].outputs.len(),
                    seen[0].cancelled.len()
                )),
            })
            .spawns(2),
        Scenario::<R>::builder("ordered outputs", || ())
            .observing::<PipelineReport<u64>>()
            .thread(|_| send(one_stage::<R, BUG, Q>(false, true), 2, false))
            .check(|_, seen| {
                let r = &seen[0];
                if let Some(bad) = accounting(r) {
                    return bad;
                }
                if r.outputs == [0, 10] {
                    Outcome::ok("in order")
                } else {
                    Outcome::forbidden(BugClass::OrderViolation, format!("outputs {:?}", r.outputs))
                }
            })
            .spawns(2),
        Scenario::<R>::builder("a failing item retried, 1 worker", || ())
            .observing::<PipelineReport<u64>>()
            .thread(|_| send(retrying::<R, BUG, Q>(), 3, false))
            .check(|_, seen| {
                let r = &seen[0];
                if let Some(bad) = accounting(r) {
                    return bad;
                }
                let mut out = r.outputs.clone();
                out.sort_unstable();
                if out == [0, 10, 20] && r.failed.is_empty() {
                    Outcome::ok("item 0 retried, all delivered")
                } else {
                    Outcome::forbidden(
                        BugClass::LostItem,
                        format!("outputs {:?}, failed {:?}", r.outputs, r.failed),
                    )
                }
            })
            .spawns(1),
    ]
}
