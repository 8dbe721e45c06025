//! The queue scenarios: small producer/consumer programs whose every operation is recorded and
//! judged twice, by item accounting (nothing lost, nothing twice, the bound kept) and by the
//! linearizability checker against a `VecDeque` model.

use super::{PopError, PushError, Queue, TaskQueue};
use crate::lincheck::{
    Clock, Consistency, History, Model, Operation, QueueModel, QueueOp, QueueRet, ThreadLog,
    ViolationKind,
};
use crate::runtime::{AtomicIntApi, Runtime};
use crate::scenario::{BugClass, Outcome, Scenario, Subject};
use std::collections::BTreeMap;
use std::marker::PhantomData;
use std::sync::atomic::Ordering::SeqCst;

pub(crate) type Log = ThreadLog<QueueModel>;

/// The state of one execution: the queue under test and the clock its operations are stamped
/// with.
pub(crate) struct QueueUnderTest<Q> {
    pub(crate) queue: Q,
    pub(crate) clock: Clock,
}

// The names `generate.rs` still imports; remove once it imports the ones above and below.

/// Builds `Q` with capacity `cap` if it is bounded, unbounded otherwise.
pub(crate) fn build_queue<Q: Queue<u64>>(cap: usize) -> Q {
    Q::with_capacity(Some(cap))
        .or_else(|_| Q::with_capacity(None))
        .unwrap_or_else(|e| panic!("scenario queue: {e}"))
}

/// The setup of a queue scenario: a fresh queue under test, of capacity `cap` if bounded.
pub(crate) fn setup<Q: Queue<u64>>(
    cap: usize,
) -> impl Fn() -> QueueUnderTest<Q> + Send + Sync + 'static {
    move || QueueUnderTest {
        queue: build_queue::<Q>(cap),
        clock: Clock::new(),
    }
}

fn push_ret(r: &Result<(), PushError<u64>>) -> QueueRet {
    match r {
        Ok(()) => QueueRet::Pushed,
        Err(PushError::Full(_)) => QueueRet::Full,
        Err(PushError::Closed(_)) => QueueRet::Closed,
        Err(PushError::Timeout(_)) => QueueRet::TimedOut,
    }
}

fn pop_ret(r: &Result<u64, PopError>) -> QueueRet {
    match r {
        Ok(v) => QueueRet::Popped(*v),
        Err(PopError::Empty) => QueueRet::Empty,
        Err(PopError::Closed) => QueueRet::Drained,
        Err(PopError::Timeout) => QueueRet::TimedOut,
    }
}

/// A push, blocking if the queue blocks natively, recorded. Returns whether it was accepted.
fn push<Q: Queue<u64>>(state: &QueueUnderTest<Q>, log: &mut Log, v: u64) -> bool {
    push_as(state, log, v, Q::BLOCKING)
}

/// A push, blocking if `blocking`, recorded. Returns whether it was accepted.
fn push_as<Q: Queue<u64>>(
    state: &QueueUnderTest<Q>,
    log: &mut Log,
    v: u64,
    blocking: bool,
) -> bool {
    let op = if blocking {
        QueueOp::Push(v)
    } else {
        QueueOp::TryPush(v)
    };
    log.record(&state.clock, op, || {
        let r = if blocking {
            state.queue.push(v)
        } else {
            state.queue.try_push(v)
        };
        (push_ret(&r), r.is_ok())
    })
}

/// A non-blocking push, recorded.
pub(crate) fn try_push<Q: Queue<u64>>(state: &QueueUnderTest<Q>, log: &mut Log, v: u64) -> bool {
    log.record(&state.clock, QueueOp::TryPush(v), || {
        let r = state.queue.try_push(v);
        (push_ret(&r), r.is_ok())
    })
}

/// A pop (blocking if `blocking`), recorded.
pub(crate) fn pop<Q: Queue<u64>>(
    state: &QueueUnderTest<Q>,
    log: &mut Log,
    blocking: bool,
) -> Result<u64, PopError> {
    let op = if blocking {
        QueueOp::Pop
    } else {
        QueueOp::TryPop
    };
    log.record(&state.clock, op, || {
        let r = if blocking {
            state.queue.pop()
        } else {
            state.queue.try_pop()
        };
        (pop_ret(&r), r)
    })
}

/// A timed pop (`pop_timeout`), recorded as a blocking pop that may time out.
fn pop_timed<Q: Queue<u64>>(
    state: &QueueUnderTest<Q>,
    log: &mut Log,
    timeout: std::time::Duration,
) {
    log.record(&state.clock, QueueOp::Pop, || {
        let r = state.queue.pop_timeout(Some(timeout));
        (pop_ret(&r), ())
    });
}

/// A close, recorded.
pub(crate) fn close<Q: Queue<u64>>(state: &QueueUnderTest<Q>, log: &mut Log) {
    log.record(&state.clock, QueueOp::Close, || {
        state.queue.close();
        (QueueRet::Done, ())
    });
}

/// How the recorded order relates to real time on runtime `R`. Under loom it does not: a load
/// may legally return a stale value (C11), so an operation that "started later" in loom's
/// interleaving need not see one that "finished earlier", and only program order binds. Under
/// shuttle (sequentially consistent) and on real threads (the clock's `SeqCst` read-modify-writes
/// order every call and response) the recorded order is real time.
pub(crate) fn consistency<R: Runtime>() -> Consistency {
    if R::CAPS.checked && R::CAPS.weak_memory {
        Consistency::Sequential
    } else {
        Consistency::Linearizable
    }
}

/// Classifies one execution: overflow, then item accounting, then linearizability. The first line
/// of a forbidden outcome names the bug; the history the checker rejected follows.
pub(crate) fn classify<R: Runtime, Q: Queue<u64>>(
    state: &QueueUnderTest<Q>,
    logs: &[Log],
    checker: bool,
) -> Outcome {
    let capacity = state.queue.capacity();
    let len = state.queue.len();
    let mut logs = logs.to_vec();
    // Drain what is left, as one more thread after all the others, so the history accounts for
    // every item. (Not for SPSC rings: only their consumer thread may pop.)
    if !Q::SPSC {
        let mut log = Log::new(logs.len());
        for _ in 0..=len + 2 {
            if pop(state, &mut log, false).is_err() {
                break;
            }
        }
        logs.push(log);
    }
    let history = History::from_logs(logs);
    let verdict = match consistency::<R>() {
        _ if !checker => Ok(()),
        Consistency::Linearizable => lincheck(
            history.operations(),
            QueueModel::new(capacity),
            Consistency::Linearizable,
        ),
        Consistency::Sequential => lincheck(
            history.operations(),
            WeakQueue(QueueModel::new(capacity)),
            Consistency::Sequential,
        ),
    };
    let explain = |detail: String, class: BugClass| -> Outcome {
        match &verdict {
            Err(v) => Outcome::forbidden(class, format!("{detail}\n{}", v.full)),
            Ok(_) => Outcome::forbidden(class, detail),
        }
    };
    if let Some(c) = capacity
        && len > c
    {
        return explain(
            format!("{len} items in a queue of capacity {c} once the threads were done"),
            BugClass::Overflow,
        );
    }
    if let Some((class, detail)) = account_items(history.operations(), Q::SPSC, len) {
        return explain(detail, class);
    }
    match verdict {
        Ok(_) => Outcome::ok(consumer_summary(history.operations())),
        Err(v) if v.gave_up => Outcome::ok(format!(
            "linearizability undecided ({}); items accounted for",
            v.summary
        )),
        Err(v) => Outcome::forbidden(
            BugClass::NotLinearizable,
            format!(
                "{}\n{}",
                v.summary
                    .strip_prefix("not linearizable: ")
                    .unwrap_or(&v.summary),
                v.full
            ),
        ),
    }
}

/// A failed check, rendered.
struct Rejected {
    gave_up: bool,
    summary: String,
    full: String,
}

/// Runs the checker on `ops` with model `init` (whose operations are the queue's).
fn lincheck<M: Model<Op = QueueOp, Ret = QueueRet>>(
    ops: &[Operation<QueueModel>],
    init: M,
    consistency: Consistency,
) -> Result<(), Rejected> {
    let history = History::<M>::from_operations(ops.iter().map(|o| Operation {
        thread: o.thread,
        op: o.op,
        ret: o.ret,
        call: o.call,
        returned: o.returned,
    }));
    crate::lincheck::check(&history, &init, consistency)
        .map(|_| ())
        .map_err(|v| Rejected {
            gave_up: matches!(v.kind(), ViolationKind::GaveUp { .. }),
            summary: v.summary(),
            full: v.to_string(),
        })
}

/// The queue model as loom can judge it: `try_pop → Empty` and `try_push → Full` are accepted
/// in any state. Under C11 a correct Release/Acquire queue may read a stale index and report
/// empty (or full) while, in loom's interleaving order, an item (or a free place) is already
/// there; what it does promise, and what is checked, is that no item is lost, duplicated,
/// invented or reordered, that a closed and drained queue is really drained, and that pushes
/// after close are refused.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
struct WeakQueue(QueueModel);

impl Model for WeakQueue {
    type Op = QueueOp;
    type Ret = QueueRet;
    fn step(&self, op: &QueueOp, ret: &QueueRet) -> Option<Self> {
        match (op, ret) {
            (QueueOp::TryPop, QueueRet::Empty) | (QueueOp::TryPush(_), QueueRet::Full) => {
                Some(self.clone())
            }
            _ => self.0.step(op, ret).map(WeakQueue),
        }
    }
}

/// Item accounting over a history whose last thread (unless `spsc`) is the drain.
fn account_items(
    ops: &[Operation<QueueModel>],
    spsc: bool,
    len: usize,
) -> Option<(BugClass, String)> {
    let drain = if spsc {
        None
    } else {
        ops.iter().map(|o| o.thread).max()
    };
    let mut pushed: BTreeMap<u64, usize> = BTreeMap::new();
    let mut popped: BTreeMap<u64, usize> = BTreeMap::new();
    let mut drained_by_consumer = false;
    let mut left_after_drain = Vec::new();
    for o in ops {
        match (&o.op, &o.ret) {
            (QueueOp::Push(v) | QueueOp::TryPush(v), Some(QueueRet::Pushed)) => {
                *pushed.entry(*v).or_default() += 1;
            }
            (QueueOp::Pop | QueueOp::TryPop, Some(QueueRet::Popped(v))) => {
                *popped.entry(*v).or_default() += 1;
                if Some(o.thread) == drain {
                    left_after_drain.push(*v);
                }
            }
            (QueueOp::Pop | QueueOp::TryPop, Some(QueueRet::Drained))
                if Some(o.thread) != drain =>
            {
                drained_by_consumer = true;
            }
            _ => {}
        }
    }
    for (v, n) in &popped {
        let put = pushed.get(v).copied().unwrap_or(0);
        if *n > put {
            return Some(if put == 0 {
                (
                    BugClass::DuplicatedItem,
                    format!("item {v} came out but was never pushed"),
                )
            } else {
                (
                    BugClass::DuplicatedItem,
                    format!("item {v} came out {n} times, pushed {put}"),
                )
            });
        }
    }
    let missing: Vec<u64> = pushed
        .iter()
        .filter(|(v, n)| popped.get(v).copied().unwrap_or(0) < **n)
        .map(|(v, _)| *v)
        .collect();
    if !spsc && !missing.is_empty() {
        return Some((
            BugClass::LostItem,
            format!(
                "item {missing:?} was accepted and never came out, not even when the queue was drained"
            ),
        ));
    }
    if spsc {
        let accepted: usize = pushed.values().sum();
        let taken: usize = popped.values().sum();
        if accepted != taken + len {
            return Some((
                BugClass::LostItem,
                format!(
                    "{accepted} items accepted, {taken} taken, {len} left: {} lost",
                    accepted as isize - (taken + len) as isize
                ),
            ));
        }
    }
    if drained_by_consumer && !left_after_drain.is_empty() {
        return Some((
            BugClass::LostItem,
            format!(
                "item {left_after_drain:?} was accepted, but a consumer had already been told the queue was closed and drained: never delivered"
            ),
        ));
    }
    None
}

/// The histogram key of an acceptable execution: what each consumer got.
fn consumer_summary(ops: &[Operation<QueueModel>]) -> String {
    let mut by_thread: BTreeMap<usize, Vec<String>> = BTreeMap::new();
    for o in ops {
        if let (QueueOp::Pop | QueueOp::TryPop, Some(r)) = (&o.op, &o.ret) {
            by_thread.entry(o.thread).or_default().push(match r {
                QueueRet::Popped(v) => v.to_string(),
                QueueRet::Empty => "empty".into(),
                QueueRet::Drained => "closed".into(),
                other => format!("{other:?}"),
            });
        }
    }
    by_thread
        .iter()
        .map(|(t, got)| format!("T{}: {}", t + 1, got.join(" ")))
        .collect::<Vec<_>>()
        .join("; ")
}

/// Why loom skips one scenario of the lock-free rings.
pub const LOOM_SPINNERS: &str = "loom has no fairness: two threads spinning on a third's unfinished operation yield to each other until loom's branch budget is gone; shuttle runs this scenario, loom the ring's other 3-thread scenarios";

/// The scenarios every queue runs (real threads and both model checkers), with values 1, 2, ...
///
/// Multi-producer queues:
/// - `2 producers, 1 consumer`: capacity 2; one push each; the consumer takes two.
/// - `1 producer × 2, 2 consumers, capacity 1`: the shape that exposes stolen and misdirected
///   wakeups (Cargill's buffer), and wraps a ring's index around.
/// - `close while pushing`: one producer pushes 1 and 2, another thread closes, a consumer
///   takes until closed and drained. Every accepted item must reach the consumer.
/// - `2 producers, capacity 1`: two non-blocking pushes into one free place; at most one may
///   succeed.
///
/// SPSC rings (one producer, who also closes, and one consumer):
/// - `1 producer × 3, 1 consumer, capacity 2`: wraps the ring; the producer then closes.
/// - `1 producer × 2, 1 consumer, capacity 1`: every push waits for a pop.
///
/// Blocking queues use blocking push and pop (the model checkers report a wait nobody ends as a
/// deadlock); non-blocking ones use `try_` operations a bounded number of times, so no
/// scenario spins.
pub struct Queues<Q> {
    /// Whether histories go to the linearizability checker after item accounting.
    checker: bool,
    _q: PhantomData<fn() -> Q>,
}

impl<Q> Default for Queues<Q> {
    fn default() -> Self {
        Queues {
            checker: true,
            _q: PhantomData,
        }
    }
}

impl<Q> Queues<Q> {
    /// The same scenarios judged by item accounting alone (bound, lost, duplicated, accepted
    /// after close): what the checker adds is what these miss.
    pub fn accounting_only() -> Self {
        Queues {
            checker: false,
            _q: PhantomData,
        }
    }
}

impl<Q: Queue<u64>> Subject for Queues<Q> {
    fn scenarios<R: Runtime>(&self) -> Vec<Scenario<R>> {
        let mut all = if <Q::On<R> as Queue<u64>>::SPSC {
            spsc::<R, Q::On<R>>(self.checker)
        } else {
            mpmc::<R, Q::On<R>>(self.checker)
        };
        if !Q::MODEL_CHECKABLE && R::CAPS.checked {
            all = all
                .into_iter()
                .map(|s| s.skip(crate::catalogue::MODEL_STD_ATOMICS))
                .collect();
        }
        all
    }
}

/// The consumer side of a scenario: `n` takes, blocking or bounded.
fn consume<Q: Queue<u64>>(state: &QueueUnderTest<Q>, log: &mut Log, n: usize) {
    for _ in 0..n {
        match pop(state, log, Q::BLOCKING) {
            Ok(_) | Err(PopError::Empty) => {}
            Err(_) => break,
        }
    }
}

fn mpmc<R: Runtime, Q: Queue<u64>>(checker: bool) -> Vec<Scenario<R>> {
    let classify =
        move |state: &QueueUnderTest<Q>, logs: &[Log]| classify::<R, Q>(state, logs, checker);
    let two_one = Scenario::<R>::builder("2 producers, 1 consumer", setup::<Q>(2))
        .observing::<Log>()
        .thread(|s| {
            let mut log = Log::new(0);
            push(s, &mut log, 1);
            log
        })
        .thread(|s| {
            let mut log = Log::new(1);
            push(s, &mut log, 2);
            log
        })
        .thread(|s| {
            let mut log = Log::new(2);
            consume(s, &mut log, 2);
            log
        })
        .check(classify);
    let one_two = Scenario::<R>::builder("1 producer × 2, 2 consumers, capacity 1", setup::<Q>(1))
        .observing::<Log>()
        .thread(|s| {
            let mut log = Log::new(0);
            push(s, &mut log, 1);
            push(s, &mut log, 2);
            log
        })
        .threads(2, |s| {
            let mut log = Log::new(R::thread_index().unwrap_or(1));
            consume(s, &mut log, 1);
            log
        })
        .check(classify);
    let close = Scenario::<R>::builder("close while pushing", setup::<Q>(2))
        .observing::<Log>()
        .thread(|s| {
            let mut log = Log::new(0);
            push(s, &mut log, 1);
            push(s, &mut log, 2);
            log
        })
        .thread(|s| {
            let mut log = Log::new(1);
            close(s, &mut log);
            log
        })
        .thread(|s| {
            let mut log = Log::new(2);
            // Until closed and drained (blocking), or three looks (non-blocking).
            consume(s, &mut log, 3);
            log
        })
        .check(classify);
    let overfill = Scenario::<R>::builder("2 producers, capacity 1", setup::<Q>(1))
        .observing::<Log>()
        .threads(2, |s| {
            let i = R::thread_index().unwrap_or(0);
            let mut log = Log::new(i);
            try_push(s, &mut log, i as u64 + 1);
            log
        })
        .check(classify);
    // Two threads can wait on a third mid-operation here (a producer for the consumer freeing
    // the one place, the other consumer for it too): loom's unfair scheduler lets two such
    // spinners yield to each other until its branch budget is gone. Lock-free rings run it under
    // shuttle; under loom they run the other three 3-thread scenarios.
    let one_two = if R::CAPS.exhaustive && !Q::BLOCKING {
        one_two.skip(LOOM_SPINNERS)
    } else {
        one_two
    };
    let mut all = vec![two_one, one_two, close, overfill];
    if Q::BLOCKING {
        all.push(timed_pop::<R, Q>(checker));
    } else if Q::PARKS {
        all.extend(parking::<R, Q>(checker));
    }
    all
}

/// The blocking operations of a lock-free queue that parks (the rings on a
/// [`Signal`](crate::runtime::Signal)), in 2-thread scenarios: a full queue's push and an empty
/// queue's pop go to sleep and must be woken by the other side, a close must wake a sleeping
/// pop, and a timed pop must lose nothing to its timer.
fn parking<R: Runtime, Q: Queue<u64>>(checker: bool) -> Vec<Scenario<R>> {
    let classify =
        move |state: &QueueUnderTest<Q>, logs: &[Log]| classify::<R, Q>(state, logs, checker);
    let both = Scenario::<R>::builder(
        "blocking push meets blocking pop, capacity 1",
        setup::<Q>(1),
    )
    .observing::<Log>()
    .thread(|l| {
        let mut log = Log::new(0);
        push_as(l, &mut log, 1, true);
        push_as(l, &mut log, 2, true);
        log
    })
    .thread(|l| {
        let mut log = Log::new(1);
        for _ in 0..2 {
            let _ = pop(l, &mut log, true);
        }
        log
    })
    .check(classify);
    let close = Scenario::<R>::builder("close wakes a blocked pop", setup::<Q>(1))
        .observing::<Log>()
        .thread(|l| {
            let mut log = Log::new(0);
            // The item, then (once closed and drained) `Closed`.
            for _ in 0..2 {
                let _ = pop(l, &mut log, true);
            }
            log
        })
        .thread(|l| {
            let mut log = Log::new(1);
            push_as(l, &mut log, 1, true);
            close(l, &mut log);
            log
        })
        .check(classify);
    vec![both, close, timed_pop::<R, Q>(checker)]
}

const TIMED_POP: &str = "timed pop meets a push";

/// `timed pop meets a push`: a consumer pops with a timeout while a producer pushes one item.
/// Under modelled time the engine may fire the timer before the wait, at the wake (racing the
/// push's notification) or not at all; on real threads the timeout is 50 µs. Whatever the
/// timer did, the item is popped or still in the queue.
fn timed_pop<R: Runtime, Q: Queue<u64>>(checker: bool) -> Scenario<R> {
    let classify =
        move |state: &QueueUnderTest<Q>, logs: &[Log]| classify::<R, Q>(state, logs, checker);
    Scenario::<R>::builder(TIMED_POP, setup::<Q>(1))
        .observing::<Log>()
        .thread(|s| {
            let mut log = Log::new(0);
            pop_timed(s, &mut log, std::time::Duration::from_micros(50));
            log
        })
        .thread(|s| {
            let mut log = Log::new(1);
            push(s, &mut log, 1);
            log
        })
        .check(classify)
}

fn spsc<R: Runtime, Q: Queue<u64>>(checker: bool) -> Vec<Scenario<R>> {
    let classify =
        move |state: &QueueUnderTest<Q>, logs: &[Log]| classify::<R, Q>(state, logs, checker);
    let ring_scenario = |name: &str, cap: usize, items: u64| {
        Scenario::<R>::builder(name, setup::<Q>(cap))
            .observing::<Log>()
            .thread(move |s| {
                let mut log = Log::new(0);
                for v in 1..=items {
                    try_push(s, &mut log, v);
                }
                close(s, &mut log);
                log
            })
            .thread(move |s| {
                let mut log = Log::new(1);
                for _ in 0..items {
                    if let Err(PopError::Closed) = pop(s, &mut log, false) {
                        break;
                    }
                }
                log
            })
            .check(classify)
    };
    let mut all = vec![
        ring_scenario("1 producer × 3, 1 consumer, capacity 2", 2, 3),
        ring_scenario("1 producer × 2, 1 consumer, capacity 1", 1, 2),
    ];
    if Q::PARKS {
        // Both sides asleep in turn: the second push waits for room, the pops for items and,
        // last, for the close.
        let blocking = Scenario::<R>::builder("blocking push and pop, capacity 1", setup::<Q>(1))
            .observing::<Log>()
            .thread(|s| {
                let mut log = Log::new(0);
                push_as(s, &mut log, 1, true);
                push_as(s, &mut log, 2, true);
                close(s, &mut log);
                log
            })
            .thread(|s| {
                let mut log = Log::new(1);
                while pop(s, &mut log, true).is_ok() {}
                log
            })
            .check(classify);
        all.extend([blocking, timed_pop::<R, Q>(checker)]);
    }
    all
}

/// The seed article's pipeline contract, for queues with `task_done`/`join`: the queue's
/// scenarios plus `join waits for the work`: a producer pushes 1 and 2, closes, joins, then
/// counts the processed items; two workers iterate until closed, processing (counting) each
/// item before acknowledging it. `join` must not return before both are processed.
pub struct TaskQueues<Q>(PhantomData<fn() -> Q>);

impl<Q> Default for TaskQueues<Q> {
    fn default() -> Self {
        TaskQueues(PhantomData)
    }
}

struct Pipeline<Q, R: Runtime> {
    q: Q,
    processed: R::AtomicUsize,
}

impl<Q: TaskQueue<u64>> Subject for TaskQueues<Q> {
    fn scenarios<R: Runtime>(&self) -> Vec<Scenario<R>> {
        let mut all = Queues::<Q>::default().scenarios::<R>();
        // After the four queue scenarios and before the timed pop, so that the scenario
        // indices of replay strings printed before the timed pop existed still hold.
        let at = all
            .iter()
            .position(|s| s.name() == TIMED_POP)
            .unwrap_or(all.len());
        all.insert(at, join_scenario::<R, Q>());
        all
    }
}

fn join_scenario<R: Runtime, Q: TaskQueue<u64>>() -> Scenario<R> {
    Scenario::<R>::builder("join waits for the work", || Pipeline::<_, R> {
        q: build_queue::<Q::TaskOn<R>>(2),
        processed: R::AtomicUsize::new(0),
    })
    .observing::<Option<usize>>()
    .thread(|p| {
        for v in 1..=2 {
            p.q.push(v).expect("open queue");
        }
        p.q.close();
        p.q.join();
        Some(p.processed.load(SeqCst))
    })
    .threads(2, |p| {
        for _item in super::Iter::new(&p.q) {
            p.processed.fetch_add(1, SeqCst);
            p.q.task_done().expect("one task_done per item taken");
        }
        None
    })
    .check(|p, seen| {
        let at_join = seen[0].unwrap_or(0);
        let total = p.processed.load(SeqCst);
        if at_join < 2 {
            Outcome::forbidden(
                BugClass::OrderViolation,
                format!(
                    "join returned with {at_join} of 2 items processed (the workers processed {total} in the end)"
                ),
            )
        } else {
            Outcome::ok(format!("join saw {at_join} processed"))
        }
    })
}
