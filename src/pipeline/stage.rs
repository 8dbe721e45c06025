//! One stage: its workers' loop, what travels between stages, and the ledger of what failed
//! or was cancelled. The racy twins differ from the correct pipeline only here.

use super::{Bug, EACH_WORKER_CLOSES, Failed, PANIC_LOSES_ITEM, RACY_LIVE_COUNT};
use crate::queue::{ClosableQueue, Queue};
use crate::runtime::{AtomicBoolApi, AtomicIntApi, MutexApi, Runtime, model};
use crate::trace;
use std::sync::atomic::Ordering::{AcqRel, Acquire, SeqCst};

/// What travels between stages: an item's sequence number and its value, or `None` for an item
/// that failed or was cancelled upstream (its fate is in the [`Ledger`]). Every item sent
/// reaches the sink exactly once, so the sink can account for it and put outputs back in order.
pub(crate) struct Msg<T> {
    pub(crate) seq: u64,
    pub(crate) value: Option<T>,
}

/// A stage's function, with its error turned into its message.
pub(crate) type StageFn<T, U> = Box<dyn Fn(T) -> Result<U, String> + Send + Sync>;

/// What every stage records: failures, cancellations, and whether the pipeline was cancelled.
pub(crate) struct Ledger<R: Runtime> {
    pub(crate) cancelled: R::AtomicBool,
    pub(crate) fates: R::Mutex<Fates>,
}

/// The items that did not become outputs.
#[derive(Default)]
pub(crate) struct Fates {
    pub(crate) failed: Vec<Failed>,
    pub(crate) cancelled: Vec<u64>,
}

impl<R: Runtime> Ledger<R> {
    pub(crate) fn new() -> Self {
        Ledger {
            cancelled: AtomicBoolApi::new(false),
            fates: MutexApi::new(Fates::default()),
        }
    }
}

/// A stage's shared parts: its name, function, queues, and how many of its workers are still
/// running (the last one to leave closes `output`).
pub(crate) struct Stage<T: Send + 'static, U: Send + 'static, R: Runtime> {
    pub(crate) name: String,
    pub(crate) f: StageFn<T, U>,
    pub(crate) input: R::Arc<ClosableQueue<Msg<T>, R>>,
    pub(crate) output: R::Arc<ClosableQueue<Msg<U>, R>>,
    pub(crate) ledger: R::Arc<Ledger<R>>,
    pub(crate) live: R::AtomicUsize,
}

impl<T: Send + 'static, U: Send + 'static, R: Runtime> Stage<T, U, R> {
    /// Records item `seq` as failed in this stage.
    fn fail(&self, seq: u64, message: String) {
        self.ledger.fates.lock().failed.push(Failed {
            seq,
            stage: self.name.clone(),
            message,
        });
    }
}

/// Spawns `workers` threads named after the stage, each running [`work`].
pub(crate) fn spawn<T: Send + 'static, U: Send + 'static, R: Runtime, const BUG: Bug>(
    stage: R::Arc<Stage<T, U, R>>,
    workers: usize,
) -> Vec<R::JoinHandle<()>> {
    (0..workers)
        .map(|_| {
            let stage = stage.clone();
            R::spawn_named(&stage.name.clone(), move || work::<T, U, R, BUG>(&stage))
        })
        .collect()
}

/// A worker: pops until its input is closed and drained, applies the stage to each item (or
/// passes a marker on, or cancels), pushes the result on; the last worker out closes the next
/// queue.
fn work<T: Send + 'static, U: Send + 'static, R: Runtime, const BUG: Bug>(s: &Stage<T, U, R>) {
    while let Ok(Msg { seq, value }) = s.input.pop() {
        let out = match value {
            None => None,
            Some(_) if s.ledger.cancelled.load(Acquire) => {
                trace::event(|| format!("{}: item {seq} cancelled", s.name));
                s.ledger.fates.lock().cancelled.push(seq);
                None
            }
            Some(v) => apply::<T, U, R, BUG>(s, seq, v),
        };
        if let Err(refused) = s.output.push(Msg { seq, value: out }) {
            // Only a sibling that closed the queue too early can refuse it (the racy twin).
            let seq = refused.into_inner().seq;
            trace::event(|| format!("{}: push of item {seq} refused: closed", s.name));
            if BUG != EACH_WORKER_CLOSES {
                s.fail(seq, "the next stage's queue was closed".into());
            }
        }
    }
    if BUG == EACH_WORKER_CLOSES {
        // The bug: this worker's input ran dry, so it closes the next queue, though a sibling
        // may still be working on an item it will push there.
        trace::event(|| format!("{}: input dry, close the next queue", s.name));
        s.output.close();
        return;
    }
    leave::<T, U, R, BUG>(s);
}

/// Runs the stage's function on one item: its output, or `None` with the failure recorded.
fn apply<T: Send + 'static, U: Send + 'static, R: Runtime, const BUG: Bug>(
    s: &Stage<T, U, R>,
    seq: u64,
    v: T,
) -> Option<U> {
    let r = if BUG == PANIC_LOSES_ITEM {
        // The bug: no catch, so a panic unwinds out of the worker, taking the item with it
        // and leaving the stage one worker short, its live count never decremented.
        Ok((s.f)(v))
    } else {
        // Only the function's own panics: a checker's verdict or a stress release goes on.
        model::catch_user(|| (s.f)(v))
    };
    let message = match r {
        Ok(Ok(out)) => return Some(out),
        Ok(Err(e)) => e,
        Err(payload) => format!(
            "panicked: {}",
            crate::engine::payload_text(payload.as_ref())
        ),
    };
    trace::event(|| format!("{}: item {seq} failed: {message}", s.name));
    s.fail(seq, message);
    None
}

/// The worker leaves: the last one out of the stage closes the next queue, exactly once.
fn leave<T: Send + 'static, U: Send + 'static, R: Runtime, const BUG: Bug>(s: &Stage<T, U, R>) {
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
