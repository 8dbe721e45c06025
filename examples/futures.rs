//! The futures article in Rust: `concurrent.futures`' `ThreadPoolExecutor`, its futures
//! (here [`TaskHandle`]s), `map`, `wait` and `as_completed`, then cancelling a queued task and
//! a `result` that times out.
//!
//! The article (`../shared/docs/seed-notes.md` §3) sums `1..=n` for each `n` of
//! `WORK_LIST = [1e5, 1e6, 1e7, 1e8]` on a thread pool: it submits one task per `n`, then
//! collects them with `wait(timeout=7)` (printing `done` and `not_done`) or with
//! `as_completed(timeout=7)`. Here the same, plus what the article lists but does not run.
//! Steps 4 and 5 do not depend on timing: a task that must still be unfinished waits on a
//! gate the example opens afterwards. Steps 3 and 6 use sleeps of tens to hundreds of
//! milliseconds, as the article does, and the order and timeouts they print rely on those
//! sleeps (a machine stalled for longer could print another order). Every wait has an end.
//!
//! Run it: `cargo run --release --example futures`.

use racelab::executor::{ReturnWhen, TaskError, ThreadPoolExecutor, as_completed, wait};
use std::hint::black_box;
use std::sync::mpsc;
use std::time::{Duration, Instant};

/// The article's `WORK_LIST`.
const WORK_LIST: [u64; 4] = [100_000, 1_000_000, 10_000_000, 100_000_000];

/// The article's `sum_generator`: `1 + 2 + … + n`, one addition at a time (no closed form).
fn sum_generator(n: u64) -> u64 {
    (1..=n).fold(0, |s, i| black_box(s + i))
}

/// A task that tells `started` it runs, then waits until the gate opens (or is dropped).
fn gated(
    value: u64,
) -> (
    mpsc::Sender<()>,
    mpsc::Receiver<()>,
    impl FnOnce() -> u64 + Send,
) {
    let (open, gate) = mpsc::channel::<()>();
    let (started_tx, started) = mpsc::channel::<()>();
    let task = move || {
        let _ = started_tx.send(());
        let _ = gate.recv();
        value
    };
    (open, started, task)
}

fn main() {
    let start = Instant::now();
    // Python's default is min(32, CPUs + 4) workers; 4 here.
    let ex: ThreadPoolExecutor = ThreadPoolExecutor::new(4).expect("4 workers");

    // 1. submit + wait: one task per n, then wait(timeout = 7 s), as the article does.
    let futures: Vec<_> = WORK_LIST
        .iter()
        .map(|&n| ex.submit(move || sum_generator(n)).expect("not shut down"))
        .collect();
    let (done, not_done) = wait(
        &futures,
        Some(Duration::from_secs(7)),
        ReturnWhen::AllCompleted,
    );
    println!(
        "1. submit x{}, wait(timeout=7s): {} done, {} not done",
        futures.len(),
        done.len(),
        not_done.len()
    );
    for (f, n) in futures.iter().zip(WORK_LIST) {
        if done.iter().any(|d| d.same(f)) {
            println!("   sum(1..={n}) = {}", f.result(None).expect("done"));
        }
    }

    // 2. map: the results in input order, whatever order the tasks finish in.
    let sums: Vec<u64> = ex
        .map(sum_generator, WORK_LIST, None)
        .expect("not shut down")
        .map(|r| r.expect("a sum returns"))
        .collect();
    println!("2. map(sum_generator, WORK_LIST) in input order: {sums:?}");

    // 3. as_completed: handles in the order their tasks finish. Tasks that sleep, longest
    //    first, so the order cannot come from the input (CPU-bound sums on 2 cores mostly finish
    //    before this thread gets a core back, and those already done are yielded in input order).
    let naps = [300u64, 200, 100, 0];
    let futures: Vec<_> = naps
        .iter()
        .map(|&ms| {
            ex.submit(move || {
                std::thread::sleep(Duration::from_millis(ms));
                ms
            })
            .expect("not shut down")
        })
        .collect();
    let order: Vec<u64> = as_completed(&futures, Some(Duration::from_secs(7)))
        .map(|h| h.expect("all done within 7 s").result(None).expect("done"))
        .collect();
    println!("3. as_completed over tasks sleeping {naps:?} ms: yielded in the order {order:?}");

    // 4. wait(FIRST_COMPLETED): a quick task and one held at a gate; wait returns with the
    //    quick one done and the held one not done.
    let (open, started, held) = gated(1);
    let futures = vec![
        ex.submit(held).expect("not shut down"),
        ex.submit(|| sum_generator(1_000)).expect("not shut down"),
    ];
    let (done, not_done) = wait(&futures, None, ReturnWhen::FirstCompleted);
    started.recv().expect("a worker starts the held task");
    println!(
        "4. wait(FIRST_COMPLETED) on [held at a gate, sum(1..=1000)]: done = {:?}, not done = {} (running: {})",
        done.iter()
            .map(|h| h.result(None).expect("done"))
            .collect::<Vec<_>>(),
        not_done.len(),
        not_done[0].running()
    );
    open.send(()).expect("the held task waits");
    println!("   gate opened: held task -> {:?}", futures[0].result(None));

    // 5. cancel: on one worker, a task held at a gate keeps it busy, so the next one queues.
    //    The queued one can be cancelled; the running one cannot.
    let one: ThreadPoolExecutor = ThreadPoolExecutor::new(1).expect("1 worker");
    let (open, started, busy) = gated(7);
    let running = one.submit(busy).expect("not shut down");
    started.recv().expect("the only worker starts it");
    let queued = one.submit(|| 8u64).expect("not shut down");
    println!(
        "5. one worker busy, a second task queued: queued.cancel() = {}, running.cancel() = {}",
        queued.cancel(),
        running.cancel()
    );
    println!(
        "   queued: cancelled = {}, done = {}, result = {:?}",
        queued.cancelled(),
        queued.done(),
        queued.result(None)
    );
    open.send(()).expect("the busy task waits");
    println!(
        "   gate opened: running task -> {:?}, done = {}",
        running.result(None),
        running.done()
    );
    drop(one);

    // 6. timeouts: result(timeout) on a slow task gives TimedOut and the task goes on; map's
    //    timeout runs from the call, and the items not done by then time out and are cancelled.
    let slow = ex
        .submit(|| {
            std::thread::sleep(Duration::from_millis(300));
            42u64
        })
        .expect("not shut down");
    let t = Instant::now();
    let early = slow.result(Some(Duration::from_millis(50)));
    assert_eq!(early, Err(TaskError::TimedOut));
    println!(
        "6. result(timeout=50ms) on a 300 ms task: {early:?} after {} ms (done: {})",
        t.elapsed().as_millis(),
        slow.done()
    );
    println!(
        "   the task went on: result(None) = {:?} after {} ms",
        slow.result(None),
        t.elapsed().as_millis()
    );
    let naps = ex
        .map(
            |ms: u64| {
                std::thread::sleep(Duration::from_millis(ms));
                ms
            },
            [10, 400, 10],
            Some(Duration::from_millis(100)),
        )
        .expect("not shut down");
    println!(
        "   map(sleep, [10, 400, 10] ms, timeout=100ms): {:?}",
        naps.collect::<Vec<_>>()
    );

    let report = ex.shutdown(true, false);
    println!(
        "shutdown(wait=true): waited = {}; {:.2} s in all",
        report.waited,
        start.elapsed().as_secs_f64()
    );
}
