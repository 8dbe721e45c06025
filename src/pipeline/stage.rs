//! One stage: its workers' loop, what travels between stages, and the ledger of what failed
//! or was cancelled. The racy twins differ from the correct pipeline only here and in the
//! handle's `cancel` and `join`.

use super::StageQueues;
use super::{
    Bug, CANCEL_LEAKS_WORKER, CYCLIC_BACKPRESSURE, EACH_WORKER_CLOSES, Failed, JOIN_BEFORE_DRAIN,
    PANIC_LOSES_ITEM, RACY_LIVE_COUNT,
};
use crate::queue::Queue;
use crate::runtime::{
    AtomicBoolApi, AtomicIntApi, CondvarApi, Deadline, MutexApi, Runtime, model, wait_while,
};
use crate::trace;
use std::sync::atomic::Ordering::{AcqRel, Acquire, Release, SeqCst};

/// What travels between stages: an item's sequence number and its value, or `None` for an item
/// that failed or was cancelled upstream (its fate is in the [`Ledger`]), and how many times
/// this stage has already tried it. Every item sent reaches the sink exactly once, so the sink
/// can account for it and put outputs back in order.
pub(crate) struct Msg<T> {
    pub(crate) seq: u64,
    pub(crate) value: Option<T>,
    pub(crate) tries: u32,
}

impl<T> Msg<T> {
    /// An item entering a stage (not tried there yet), or its marker.
    pub(crate) fn new(seq: u64, value: Option<T>) -> Self {
        Msg {
            seq,
            value,
            tries: 0,
        }
    }
}

/// A stage's function: its error turned into its message, with the item handed back when the
/// stage retries (a retrying stage keeps a clone of each item for this).
pub(crate) type StageFn<T, U> = Box<dyn Fn(T) -> Result<U, (String, Option<T>)> + Send + Sync>;

/// What every stage records: failures, cancellations, whether the pipeline was cancelled, and
/// (for [`JoinBeforeDrainPipeline`](super::JoinBeforeDrainPipeline), whose join does not join
/// them) how many worker threads are still running and how many items put on the first
/// stage's input are not yet taken.
pub(crate) struct Ledger<R: Runtime> {
    pub(crate) cancelled: R::AtomicBool,
    pub(crate) fates: R::Mutex<Fates>,
    pub(crate) running: R::AtomicUsize,
    /// Python's `unfinished_tasks` with `task_done` right after `get`: items put on the first
    /// stage's input and not yet taken. Only the early-join twin counts them, so the queue can
    /// be any [`Queue`], not one with `task_done` and `join`.
    untaken: R::Mutex<usize>,
    all_taken: R::Condvar,
}

/// The items that did not become outputs.
#[derive(Default)]
pub(crate) struct Fates {
    pub(crate) failed: Vec<Failed>,
    pub(crate) cancelled: Vec<u64>,
}

impl<R: Runtime> Ledger<R> {
    /// The ledger of a pipeline of `workers` workers in all, counted running from the start
    /// (so spawning them adds no operation for the checkers to interleave).
    pub(crate) fn new(workers: usize) -> Self {
        Ledger {
            cancelled: AtomicBoolApi::new(false),
            fates: MutexApi::new(Fates::default()),
            running: AtomicIntApi::new(workers),
            untaken: MutexApi::new(0),
            all_taken: CondvarApi::new(),
        }
    }

    /// An item is about to be put on the first stage's input (the early-join twin only).
    pub(crate) fn put(&self) {
        *self.untaken.lock() += 1;
    }

    /// An item put was taken, or its put was refused (the early-join twin only).
    pub(crate) fn taken(&self) {
        let mut n = self.untaken.lock();
        *n -= 1;
        if *n == 0 {
            self.all_taken.notify_all();
        }
    }

    /// Waits until every item put has been taken: the early-join twin's `join`.
    pub(crate) fn wait_all_taken(&self) {
        let never = Deadline::<R>::from_timeout(None);
        let _ = wait_while(&self.all_taken, self.untaken.lock(), &never, |n| *n > 0);
    }
}

/// A stage's shared parts: its name, function, queues, how many times it retries a failed
/// item, and how many of its workers are still running (the last one to leave closes
/// `output`).
pub(crate) struct Stage<T: Send + 'static, U: Send + 'static, R: Runtime, Q: StageQueues> {
    pub(crate) name: String,
    pub(crate) f: StageFn<T, U>,
    pub(crate) retries: u32,
    pub(crate) input: R::Arc<Q::Of<Msg<T>, R>>,
    pub(crate) output: R::Arc<Q::Of<Msg<U>, R>>,
    pub(crate) ledger: R::Arc<Ledger<R>>,
    pub(crate) live: R::AtomicUsize,
    /// Whether this is the first stage (whose input the early-join twin's join waits on).
    pub(crate) first: bool,
}

impl<T: Send + 'static, U: Send + 'static, R: Runtime, Q: StageQueues> Stage<T, U, R, Q> {
    /// Records item `seq` as failed in this stage.
    fn fail(&self, seq: u64, message: String) {
        self.ledger.fates.lock().failed.push(Failed {
            seq,
            stage: self.name.clone(),
            message,
        });
    }
    /// Records item `seq` as cancelled before this stage started it.
    fn cancel(&self, seq: u64) {
        trace::event(|| format!("{}: item {seq} cancelled", self.name));
        self.ledger.fates.lock().cancelled.push(seq);
    }
}

/// Spawns `workers` threads named after the stage, each running [`work`].
pub(crate) fn spawn<
    T: Send + 'static,
    U: Send + 'static,
    R: Runtime,
    Q: StageQueues,
    const BUG: Bug,
>(
    stage: R::Arc<Stage<T, U, R, Q>>,
    workers: usize,
) -> Vec<R::JoinHandle<()>> {
    (0..workers)
        .map(|_| {
            let stage = stage.clone();
            R::spawn_named(&stage.name.clone(), move || {
                // Only the twin whose join returns early needs the count: the correct join
                // joins every worker before it reports, and the checkers would interleave the
                // count's decrements for nothing (a quarter more loom executions).
                let _running = (BUG == JOIN_BEFORE_DRAIN).then(|| Running(&stage.ledger));
                work::<T, U, R, Q, BUG>(&stage)
            })
        })
        .collect()
}

/// Counts a worker out of [`Ledger::running`] however it ends, by a panic included.
struct Running<'a, R: Runtime>(&'a Ledger<R>);

impl<R: Runtime> Drop for Running<'_, R> {
    fn drop(&mut self) {
        self.0.running.fetch_sub(1, Release);
    }
}

/// A worker: pops until its input is closed and drained, applies the stage to each item (or
/// passes a marker on, or cancels), pushes the result on; the last worker out closes the next
/// queue.
fn work<T: Send + 'static, U: Send + 'static, R: Runtime, Q: StageQueues, const BUG: Bug>(
    s: &Stage<T, U, R, Q>,
) {
    loop {
        if BUG == CANCEL_LEAKS_WORKER && s.ledger.cancelled.load(Acquire) {
            // The twin's cancel only sets the flag, which a worker reads between items: one
            // that sees it cancels what is queued and leaves. One already blocked in `pop`
            // below never sees it.
            while let Ok(Msg { seq, value, .. }) = s.input.try_pop() {
                if value.is_some() {
                    s.cancel(seq);
                }
                pass_on::<T, U, R, Q, BUG>(s, Msg::new(seq, None));
            }
            break;
        }
        let Ok(Msg { seq, value, tries }) = s.input.pop() else {
            break;
        };
        if BUG == JOIN_BEFORE_DRAIN && s.first {
            // The bug, with the twin's join: the item is acknowledged as taken, not as done.
            s.ledger.taken();
        }
        let out = match value {
            None => None,
            Some(_) if s.ledger.cancelled.load(Acquire) => {
                s.cancel(seq);
                None
            }
            Some(v) => match apply::<T, U, R, Q, BUG>(s, seq, v, tries) {
                Applied::Done(out) => out,
                Applied::Requeued => continue,
            },
        };
        pass_on::<T, U, R, Q, BUG>(s, Msg::new(seq, out));
    }
    if BUG == EACH_WORKER_CLOSES {
        // The bug: this worker's input ran dry, so it closes the next queue, though a sibling
        // may still be working on an item it will push there.
        trace::event(|| format!("{}: input dry, close the next queue", s.name));
        s.output.close();
        return;
    }
    leave::<T, U, R, Q, BUG>(s);
}

/// Pushes a result (or a marker) to the next stage.
fn pass_on<T: Send + 'static, U: Send + 'static, R: Runtime, Q: StageQueues, const BUG: Bug>(
    s: &Stage<T, U, R, Q>,
    m: Msg<U>,
) {
    if let Err(refused) = s.output.push(m) {
        // Only a sibling that closed the queue too early can refuse it (the racy twin).
        let seq = refused.into_inner().seq;
        trace::event(|| format!("{}: push of item {seq} refused: closed", s.name));
        if BUG != EACH_WORKER_CLOSES {
            s.fail(seq, "the next stage's queue was closed".into());
        }
    }
}

/// What became of an item a worker applied the stage to.
enum Applied<U> {
    /// Its output, or `None` with its failure recorded.
    Done(Option<U>),
    /// Put back on the stage's own input, to be tried again.
    Requeued,
}

/// Runs the stage's function on one item, retrying a failure while tries are left: its
/// output, `None` with the failure recorded, or the item put back on the stage's input.
fn apply<T: Send + 'static, U: Send + 'static, R: Runtime, Q: StageQueues, const BUG: Bug>(
    s: &Stage<T, U, R, Q>,
    seq: u64,
    mut v: T,
    mut tries: u32,
) -> Applied<U> {
    loop {
        let r = if BUG == PANIC_LOSES_ITEM {
            // The bug: no catch, so a panic unwinds out of the worker, taking the item with
            // it and leaving the stage one worker short, its live count never decremented.
            Ok((s.f)(v))
        } else {
            // Only the function's own panics: a checker's verdict or a stress release goes on.
            model::catch_user(|| (s.f)(v))
        };
        let message = match r {
            Ok(Ok(out)) => return Applied::Done(Some(out)),
            Ok(Err((e, Some(back)))) if tries < s.retries => {
                trace::event(|| format!("{}: item {seq} failed ({e}), retry", s.name));
                tries += 1;
                match requeue::<T, U, R, Q, BUG>(
                    s,
                    Msg {
                        seq,
                        value: Some(back),
                        tries,
                    },
                ) {
                    None => return Applied::Requeued,
                    Some(again) => {
                        v = again;
                        continue;
                    }
                }
            }
            Ok(Err((e, _))) => e,
            Err(payload) => format!(
                "panicked: {}",
                crate::engine::payload_text(payload.as_ref())
            ),
        };
        trace::event(|| format!("{}: item {seq} failed: {message}", s.name));
        s.fail(seq, message);
        return Applied::Done(None);
    }
}

/// Puts an item to retry back on the stage's own input, behind the items waiting there; or
/// hands it back, to be retried at once, when the queue is full or closed. The queue is part of
/// a cycle (the stage feeds itself), so the correct pipeline never waits on it.
fn requeue<T: Send + 'static, U: Send + 'static, R: Runtime, Q: StageQueues, const BUG: Bug>(
    s: &Stage<T, U, R, Q>,
    m: Msg<T>,
) -> Option<T> {
    let counted = BUG == JOIN_BEFORE_DRAIN && s.first;
    if counted {
        s.ledger.put();
    }
    let r = if BUG == CYCLIC_BACKPRESSURE {
        // The bug: a blocking push into the stage's own, bounded, input. With the queue full
        // (its producer is waiting to add more) and every worker here waiting for room,
        // nobody pops: the producer and the stage wait on each other forever.
        s.input.push(m)
    } else {
        s.input.try_push(m)
    };
    if counted && r.is_err() {
        s.ledger.taken();
    }
    r.err()
        .map(|e| e.into_inner().value.expect("a retried item has a value"))
}

/// The worker leaves: the last one out of the stage closes the next queue, exactly once.
fn leave<T: Send + 'static, U: Send + 'static, R: Runtime, Q: StageQueues, const BUG: Bug>(
    s: &Stage<T, U, R, Q>,
) {
    let last = if BUG == RACY_LIVE_COUNT {
        // The bug: a load then a store. Two workers that load the same count both store the
        // same decrement; neither sees zero, and the next stage never ends.
        let n = s.live.load(SeqCst);
        s.live.store(n - 1, SeqCst);
        n == 1
    } else {
        s.live.fetch_sub(1, AcqRel) == 1
    };
    trace::event(|| format!("{}: worker leaves (last: {last})", s.name));
    if last {
        s.output.close();
    }
}
