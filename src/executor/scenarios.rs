//! The executor family's scenarios: small programs over [`PoolExecutor`] that every engine runs,
//! judged by what the futures article promises.
//!
//! Each fits loom's thread limit: one or two scenario threads and at most two workers. Where a
//! racy twin hangs (a wait that misses a completion, a self-deadlocked `cancel`), the executor is
//! built, used and dropped inside a scenario thread, so that under stress the hang happens where
//! the watchdog watches.
//!
//! | scenario | what must hold | the twin it catches |
//! |---|---|---|
//! | `submit, result, callbacks` | `result()` gives the value; a callback added before completion runs once, one added after runs at once | [`DoneBeforeResultFuture`](super::DoneBeforeResultFuture) (order violation), [`CallbackRaceFuture`](super::CallbackRaceFuture) (lost wakeup) |
//! | `cancel races the worker` | `cancel()` is true only for a task that never runs; the next task is not touched | [`CancelRunsAnywayFuture`](super::CancelRunsAnywayFuture) (cancelled work ran), [`ScrutineeGuardExecutor`](super::ScrutineeGuardExecutor) (deadlock) |
//! | `cancel a running task, then the next` | the cancel is refused; the task submitted next runs | [`StaleCancelExecutor`](super::StaleCancelExecutor) (lost item) |
//! | `wait(FIRST_COMPLETED) races completion` | `wait` returns with a task done | [`ScanThenWaitWaiter`](super::ScanThenWaitWaiter) (deadlock) |
//! | `as_completed over two executors` | both tasks are yielded, once each | [`ScanThenWaitWaiter`](super::ScanThenWaitWaiter) (deadlock) |
//! | `timeouts: result(0), wait, as_completed` | a timeout never loses the task or reports a done task as not done | (modelled time: the timers fire where the engine chooses) |
//! | `map: input order, timeout from the call` | a prefix of the results in input order, then at most one timeout | |
//! | `submit races shutdown(wait)` | a task `submit` accepted is settled when `shutdown(wait)` returns | [`SubmitShutdownRaceExecutor`](super::SubmitShutdownRaceExecutor) (lost item) |
//! | `shutdown(wait) resolves queued tasks` | every queued task runs before `shutdown(wait)` returns | [`ShutdownDropsQueuedExecutor`](super::ShutdownDropsQueuedExecutor) (lost item) |
//! | `shutdown(cancel_futures) accounts for every task` | each task ran once or was cancelled unrun, and the count says how many | |
//! | `a panicking task surfaces, its worker goes on` | `result()` gives the panic's message, the next task runs | |

use super::{Bug, PoolExecutor, ReturnWhen, TaskError, TaskHandle, as_completed, wait};
use crate::pool::Ran;
use crate::runtime::{ArcApi, CondvarApi, Deadline, MutexApi, Runtime, wait_while};
use crate::scenario::{BugClass, Outcome, Scenario, Subject};
use std::time::Duration;

/// The scenarios of the executor with bug `BUG` ([`super::CORRECT`]: the correct one).
#[derive(Debug, Default, Clone, Copy)]
pub struct Executors<const BUG: Bug>;

type Ex<R, const BUG: Bug> = PoolExecutor<R, BUG>;
type Handle<R> = TaskHandle<u64, R>;

/// An executor of `workers` workers.
fn executor<R: Runtime, const BUG: Bug>(workers: usize) -> Ex<R, BUG> {
    Ex::<R, BUG>::new(workers).expect("at least one worker")
}

/// Submits task `i` of `ran`, which counts its run and returns `i`.
fn submit<R: Runtime, const BUG: Bug>(ex: &Ex<R, BUG>, ran: &Ran<R>, i: usize) -> Handle<R> {
    let job = ran.job(i);
    ex.submit(move || {
        job();
        i as u64
    })
    .unwrap_or_else(|_| panic!("task {i} refused by an open executor"))
}

/// A scenario of one thread that builds its own executor of `workers` workers: `body` returns
/// the verdict.
fn alone<R: Runtime>(name: &str, workers: usize, body: fn() -> Outcome) -> Scenario<R> {
    Scenario::<R>::builder(name, || ())
        .observing::<Outcome>()
        .thread(move |_| body())
        .check(|_, seen| seen[0].clone())
        .spawns(workers)
}

/// `submit`, `result`, a callback added before completion (it must run once) and one added
/// after (it must run at once, on this thread).
fn callbacks<R: Runtime, const BUG: Bug>() -> Outcome {
    let ex = executor::<R, BUG>(1);
    let calls = Ran::<R>::new(2);
    let h = ex.submit(|| 7u64).expect("open");
    let early = calls.job(0);
    h.add_done_callback(move |_| early());
    let r = h.result(None);
    if r != Ok(7) {
        return Outcome::forbidden(
            BugClass::LostItem,
            format!("result() gave {r:?}, not Ok(7)"),
        );
    }
    let late = calls.job(1);
    h.add_done_callback(move |_| late());
    if calls.counts()[1] != 1 {
        return Outcome::forbidden(
            BugClass::OrderViolation,
            "a callback added to a done task did not run at once",
        );
    }
    // The worker runs the early callback after it wakes `result()`: joined here.
    ex.shutdown(true, false);
    match calls.counts()[0] {
        1 => Outcome::ok("value, both callbacks once"),
        0 => Outcome::forbidden(
            BugClass::LostWakeup,
            "the callback added before completion never ran: it was registered after the task had delivered its callbacks",
        ),
        n => Outcome::forbidden(
            BugClass::DuplicatedItem,
            format!("the callback added before completion ran {n} times"),
        ),
    }
}

/// Two tasks queued, the first cancelled while the worker may be starting it.
fn cancel_races<R: Runtime, const BUG: Bug>() -> Outcome {
    let ex = executor::<R, BUG>(1);
    let ran = Ran::<R>::new(2);
    let a = submit(&ex, &ran, 0);
    let b = submit(&ex, &ran, 1);
    let cancelled = a.cancel();
    let ra = a.result(None);
    let rb = b.result(None);
    ex.shutdown(true, false);
    let n = ran.counts();
    if rb != Ok(1) || n[1] != 1 {
        return Outcome::forbidden(
            BugClass::LostItem,
            format!(
                "task 1, never cancelled, ended {rb:?} and ran {} times (only task 0 was cancelled; a stale interrupt hit the worker's next task)",
                n[1]
            ),
        );
    }
    match (cancelled, ra, n[0]) {
        (true, Err(TaskError::Cancelled), 0) => Outcome::ok("cancelled before it ran"),
        (false, Ok(0), 1) => Outcome::ok("already running: cancel refused"),
        (true, ra, n) if n > 0 => Outcome::forbidden(
            BugClass::CancelledRan,
            format!("cancel() returned true and task 0 ran anyway ({n} run, result {ra:?})"),
        ),
        (c, ra, n) => Outcome::forbidden(
            BugClass::LostItem,
            format!("cancel() returned {c}, task 0 ran {n} times and ended {ra:?}"),
        ),
    }
}

/// A task cancelled while it runs (the cancel must be refused), then the next task submitted: it
/// must run, untouched by the refused cancel.
fn cancel_running<R: Runtime, const BUG: Bug>() -> Outcome {
    let ex = executor::<R, BUG>(1);
    let started: R::Arc<(R::Mutex<bool>, R::Condvar)> =
        R::Arc::new((MutexApi::new(false), CondvarApi::new()));
    let signal = started.clone();
    let a = ex
        .submit(move || {
            *signal.0.lock() = true;
            signal.1.notify_all();
            0u64
        })
        .expect("open");
    drop(wait_while(
        &started.1,
        started.0.lock(),
        &Deadline::<R>::never(),
        |s: &mut bool| !*s,
    ));
    let refused = !a.cancel();
    let b = ex.submit(|| 1u64).expect("open");
    let ra = a.result(None);
    let rb = b.result(None);
    ex.shutdown(true, false);
    if rb != Ok(1) {
        return Outcome::forbidden(
            BugClass::LostItem,
            format!(
                "task 1, submitted after a refused cancel of running task 0, ended {rb:?}: the cancel reached the worker's next task"
            ),
        );
    }
    if !refused || ra != Ok(0) {
        return Outcome::forbidden(
            BugClass::CancelledRan,
            format!(
                "cancel() of a running task returned {}, and it ended {ra:?}",
                !refused
            ),
        );
    }
    Outcome::ok("running: cancel refused, next task ran")
}

/// `wait(FIRST_COMPLETED)` on two tasks as one worker finishes them.
fn wait_races<R: Runtime, const BUG: Bug>() -> Outcome {
    let ex = executor::<R, BUG>(1);
    let ran = Ran::<R>::new(2);
    let hs = [submit(&ex, &ran, 0), submit(&ex, &ran, 1)];
    let (done, not_done) = wait(&hs, None, ReturnWhen::FirstCompleted);
    if done.is_empty() || done.len() + not_done.len() != 2 || !done.iter().all(|h| h.done()) {
        return Outcome::forbidden(
            BugClass::LostWakeup,
            format!(
                "wait(FIRST_COMPLETED) returned {} done, {} not done",
                done.len(),
                not_done.len()
            ),
        );
    }
    Outcome::ok(format!("{} done at the first completion", done.len()))
}

/// `as_completed` over one task of each of two executors, then `wait(ALL_COMPLETED)`.
fn as_completed_two<R: Runtime, const BUG: Bug>() -> Outcome {
    let (x, y) = (executor::<R, BUG>(1), executor::<R, BUG>(1));
    let ran = Ran::<R>::new(2);
    let hs = [submit(&x, &ran, 0), submit(&y, &ran, 1)];
    let mut order = Vec::new();
    for item in as_completed(&hs, None) {
        match item {
            Ok(h) if h.done() => order.extend(hs.iter().position(|x| x.same(&h))),
            Ok(h) => {
                return Outcome::forbidden(
                    BugClass::OrderViolation,
                    format!("as_completed yielded task {} before it was done", h.id()),
                );
            }
            Err(t) => {
                return Outcome::forbidden(BugClass::LostItem, format!("no timeout was set: {t}"));
            }
        }
    }
    order.sort_unstable();
    if order != [0, 1] {
        return Outcome::forbidden(
            BugClass::LostItem,
            format!("as_completed yielded tasks {order:?} of [0, 1] (one per executor)"),
        );
    }
    let (done, not_done) = wait(&hs, None, ReturnWhen::AllCompleted);
    if (done.len(), not_done.len()) != (2, 0) {
        return Outcome::forbidden(
            BugClass::LostItem,
            format!(
                "wait(ALL_COMPLETED) returned {} done, {} not done",
                done.len(),
                not_done.len()
            ),
        );
    }
    Outcome::ok("both yielded once")
}

/// `result(0)`, a timed `wait` and a timed `as_completed` on one task, then `result(None)`. The
/// timers fire where the engine chooses (modelled time) or after 1 ms (real threads); whatever
/// fires, a task done stays done and nothing is lost.
fn timeouts<R: Runtime, const BUG: Bug>() -> Outcome {
    let ex = executor::<R, BUG>(1);
    let h = ex.submit(|| 5u64).expect("open");
    let short = Some(Duration::from_millis(1));
    let r0 = h.result(Some(Duration::ZERO));
    let done_at_first = match r0 {
        Ok(5) => true,
        Err(TaskError::TimedOut) => false,
        other => {
            return Outcome::forbidden(BugClass::LostItem, format!("result(0) gave {other:?}"));
        }
    };
    let (done, not_done) = wait(std::slice::from_ref(&h), short, ReturnWhen::FirstCompleted);
    if done.len() + not_done.len() != 1 || (done_at_first && done.is_empty()) {
        return Outcome::forbidden(
            BugClass::LostItem,
            format!(
                "a timed wait on a task {} returned {} done, {} not done",
                if done_at_first {
                    "already done"
                } else {
                    "pending"
                },
                done.len(),
                not_done.len()
            ),
        );
    }
    if done.iter().any(|d| !d.done()) {
        return Outcome::forbidden(BugClass::OrderViolation, "wait put a pending task in done");
    }
    let waited_done = !done.is_empty();
    let items: Vec<_> = as_completed(std::slice::from_ref(&h), short).collect();
    let yielded = match items.as_slice() {
        [Ok(x)] if x.same(&h) && x.done() => true,
        [Err(t)] if t.unfinished == 1 && !waited_done => false,
        _ => {
            return Outcome::forbidden(
                BugClass::LostItem,
                format!(
                    "as_completed on a task {} yielded {:?}",
                    if waited_done { "done" } else { "pending" },
                    items
                        .iter()
                        .map(|i| i.as_ref().map(|h| h.id()))
                        .collect::<Vec<_>>()
                ),
            );
        }
    };
    match h.result(None) {
        Ok(5) => Outcome::ok(format!(
            "result(0) {}, wait {}, as_completed {}",
            if done_at_first { "done" } else { "timed out" },
            if waited_done { "done" } else { "timed out" },
            if yielded { "yielded" } else { "timed out" },
        )),
        other => Outcome::forbidden(
            BugClass::LostItem,
            format!("after the timeouts, result() gave {other:?}"),
        ),
    }
}

/// `map` over two items on two workers, with a timeout: results in input order, then at most
/// one timeout, then the end.
fn map_in_order<R: Runtime, const BUG: Bug>() -> Outcome {
    let ex = executor::<R, BUG>(2);
    let results: Vec<Result<u64, TaskError>> =
        match ex.map(|x: u64| x * 10, [1, 2], Some(Duration::from_millis(50))) {
            Ok(it) => it.collect(),
            Err(e) => return Outcome::forbidden(BugClass::LostItem, format!("map: {e}")),
        };
    let values: Vec<u64> = results
        .iter()
        .map_while(|r| r.as_ref().ok().copied())
        .collect();
    let rest = &results[values.len()..];
    let shape_ok = [10, 20].starts_with(&values)
        && match rest {
            [] => values.len() == 2,
            [Err(TaskError::TimedOut)] => true,
            _ => false,
        };
    if !shape_ok {
        return Outcome::forbidden(
            BugClass::OrderViolation,
            format!(
                "map gave {results:?}; expected a prefix of [Ok(10), Ok(20)] and at most one timeout"
            ),
        );
    }
    Outcome::ok(match rest {
        [] => "both, in input order".to_string(),
        _ => format!("{} then timed out", values.len()),
    })
}

/// Two tasks queued on one worker, then `shutdown(wait)`: both must have run when it returns.
fn shutdown_resolves<R: Runtime, const BUG: Bug>() -> Outcome {
    let ex = executor::<R, BUG>(1);
    let ran = Ran::<R>::new(2);
    let hs = [submit(&ex, &ran, 0), submit(&ex, &ran, 1)];
    ex.shutdown(true, false);
    for (i, h) in hs.iter().enumerate() {
        let r = h.result(Some(Duration::ZERO));
        if r != Ok(i as u64) {
            return Outcome::forbidden(
                BugClass::LostItem,
                format!(
                    "shutdown(wait=True) returned and task {i} is {r:?}: a queued task was dropped"
                ),
            );
        }
    }
    Outcome::ok("both ran before shutdown returned")
}

/// Two tasks queued on one worker, then `shutdown(wait, cancel_futures)`: each ran once or was
/// cancelled unrun, and the count says how many were cancelled.
fn shutdown_cancels<R: Runtime, const BUG: Bug>() -> Outcome {
    let ex = executor::<R, BUG>(1);
    let ran = Ran::<R>::new(2);
    let hs = [submit(&ex, &ran, 0), submit(&ex, &ran, 1)];
    let s = ex.shutdown(true, true);
    let n = ran.counts();
    let mut cancelled = 0;
    for (i, h) in hs.iter().enumerate() {
        match (h.result(Some(Duration::ZERO)), n[i]) {
            (Err(TaskError::Cancelled), 0) => cancelled += 1,
            (Ok(v), 1) if v == i as u64 => {}
            (r, k) => {
                let class = if h.cancelled() && k > 0 {
                    BugClass::CancelledRan
                } else {
                    BugClass::LostItem
                };
                return Outcome::forbidden(
                    class,
                    format!("after shutdown(cancel_futures) task {i} is {r:?} and ran {k} times"),
                );
            }
        }
    }
    if s.cancelled > cancelled {
        // Its cancel said yes, and the task ran to the end.
        return Outcome::forbidden(
            BugClass::CancelledRan,
            format!(
                "shutdown reported {} cancelled, but {cancelled} ended cancelled: a task it cancelled ran anyway",
                s.cancelled
            ),
        );
    }
    if s.cancelled < cancelled {
        return Outcome::forbidden(
            BugClass::LostItem,
            format!(
                "{cancelled} tasks ended cancelled, shutdown reported {}: one was cancelled by nobody",
                s.cancelled
            ),
        );
    }
    Outcome::ok(format!("{cancelled} cancelled, {} ran", 2 - cancelled))
}

/// A task that panics, then one that returns: the panic is the first task's result, and the
/// worker runs the second.
fn panicking<R: Runtime, const BUG: Bug>() -> Outcome {
    let ex = executor::<R, BUG>(1);
    let a = ex
        .submit(|| -> u64 { panic!("task 0 fails") })
        .expect("open");
    let b = ex.submit(|| 1u64).expect("open");
    let ra = a.result(None);
    let ea = a.exception(None);
    let rb = b.result(None);
    let message = "task 0 fails".to_string();
    if ra != Err(TaskError::Panicked(message.clone())) || ea != Ok(Some(message)) {
        return Outcome::forbidden(
            BugClass::LostItem,
            format!("a panicking task gave result {ra:?}, exception {ea:?}"),
        );
    }
    if rb != Ok(1) {
        return Outcome::forbidden(
            BugClass::LostItem,
            format!("the task after a panic gave {rb:?}"),
        );
    }
    Outcome::ok("panic surfaced, next task ran")
}

impl<const BUG: Bug> Subject for Executors<BUG> {
    fn scenarios<R: Runtime>(&self) -> Vec<Scenario<R>> {
        vec![
            alone::<R>(
                "submit, result, callbacks",
                1,
                callbacks::<R, BUG>,
            ),
            alone::<R>("cancel races the worker", 1, cancel_races::<R, BUG>),
            alone::<R>(
                "cancel a running task, then the next",
                1,
                cancel_running::<R, BUG>,
            ),
            alone::<R>(
                "wait(FIRST_COMPLETED) races completion",
                1,
                wait_races::<R, BUG>,
            ),
            alone::<R>(
                "timeouts: result(0), wait, as_completed",
                1,
                timeouts::<R, BUG>,
            ),
            // The executor is shared: one thread submits while the other shuts down.
            Scenario::<R>::builder("submit races shutdown(wait)", || executor::<R, BUG>(1))
                .observing::<Option<Handle<R>>>()
                .thread(|ex| match ex.submit(|| 1u64) {
                    Ok(h) => Some(h),
                    // Handed back: the caller may run it itself.
                    Err(refused) => {
                        let _ = (refused.into_inner())();
                        None
                    }
                })
                .thread(|ex| {
                    ex.shutdown(true, false);
                    None
                })
                .check(|_, seen| match &seen[0] {
                    None => Outcome::ok("refused after shutdown, handed back"),
                    Some(h) => match h.result(Some(Duration::ZERO)) {
                        Ok(1) => Outcome::ok("accepted, ran before shutdown returned"),
                        r => Outcome::forbidden(
                            BugClass::LostItem,
                            format!(
                                "submit accepted the task, shutdown(wait=True) returned, and the task is {r:?}: it reached the pool after the workers left"
                            ),
                        ),
                    },
                })
                .spawns(1),
            alone::<R>(
                "shutdown(wait) resolves queued tasks",
                1,
                shutdown_resolves::<R, BUG>,
            ),
            alone::<R>(
                "shutdown(cancel_futures) accounts for every task",
                1,
                shutdown_cancels::<R, BUG>,
            ),
            alone::<R>(
                "a panicking task surfaces, its worker goes on",
                1,
                panicking::<R, BUG>,
            ),
            // The two costliest under loom (3 threads), last: a racy cell ends at its first catch.
            alone::<R>(
                "as_completed over two executors",
                2,
                as_completed_two::<R, BUG>,
            ),
            alone::<R>(
                "map: input order, timeout from the call",
                2,
                map_in_order::<R, BUG>,
            ),
        ]
    }
}
