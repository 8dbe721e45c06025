//! Recording: a shared logical [`Clock`], one [`ThreadLog`] per thread, merged into a [`History`].

use std::collections::BTreeSet;
use std::sync::atomic::{AtomicU64, Ordering};

use super::Model;

/// A logical clock shared by the threads of one execution.
///
/// It is a plain `std` atomic, never a runtime (loom, shuttle) one, so model checkers do not see
/// it and do not explore its interleavings. Every event takes one tick with
/// `fetch_add(1, SeqCst)`: the ticks of one execution are distinct, and if an operation's
/// response tick is smaller than another's invocation tick, the first really did return before
/// the second was invoked.
#[derive(Debug, Default)]
pub struct Clock {
    /// The next tick to hand out.
    next: AtomicU64,
}

impl Clock {
    /// A clock at tick 0.
    pub const fn new() -> Self {
        Self {
            next: AtomicU64::new(0),
        }
    }

    /// Takes the next tick.
    pub fn tick(&self) -> u64 {
        // SeqCst: all ticks of all threads fall in one total order that agrees with real time.
        self.next.fetch_add(1, Ordering::SeqCst)
    }
}

/// One operation of a history.
///
/// `ret` and `returned` are both `Some` (a completed operation) or both `None` (a pending one:
/// the thread never saw a response, so the operation may or may not have taken effect).
#[derive(Debug, Clone)]
pub struct Operation<M: Model> {
    /// The thread that invoked it, as given to [`ThreadLog::new`].
    pub thread: usize,
    /// What was invoked.
    pub op: M::Op,
    /// What it returned, or `None` if it is pending.
    pub ret: Option<M::Ret>,
    /// Clock tick of the invocation.
    pub call: u64,
    /// Clock tick of the response, or `None` if it is pending.
    pub returned: Option<u64>,
}

impl<M: Model> Operation<M> {
    /// Whether the operation never returned.
    pub fn is_pending(&self) -> bool {
        self.returned.is_none()
    }
}

/// One thread's record of its operations, in program order.
///
/// Each thread owns its log, so recording takes no shared lock (only the [`Clock`] is shared);
/// the thread hands the log back at the end and [`History::from_logs`] merges them.
#[derive(Debug, Clone)]
pub struct ThreadLog<M: Model> {
    /// The thread id stamped on every operation.
    thread: usize,
    /// Operations in program order; completed ones have `ret` and `returned` set.
    ops: Vec<Operation<M>>,
}

impl<M: Model> ThreadLog<M> {
    /// An empty log for thread `thread`.
    pub fn new(thread: usize) -> Self {
        Self {
            thread,
            ops: Vec::new(),
        }
    }

    /// Records the invocation of `op` (one clock tick), runs `f`, records its response (one
    /// tick) and returns the second half of `f`'s result.
    ///
    /// `f` returns `(what the model sees, what the caller wants back)`. If `f` panics, the
    /// operation stays pending in the log.
    pub fn record<R>(&mut self, clock: &Clock, op: M::Op, f: impl FnOnce() -> (M::Ret, R)) -> R {
        let index = self.call(clock, op);
        let (ret, r) = f();
        self.ret(clock, index, ret);
        r
    }

    /// Records the invocation of `op` and returns its index for [`ThreadLog::ret`]. An
    /// operation never completed is pending: the checker lets it take effect with any legal
    /// result, or not at all.
    pub fn call(&mut self, clock: &Clock, op: M::Op) -> usize {
        let call = clock.tick();
        self.ops.push(Operation {
            thread: self.thread,
            op,
            ret: None,
            call,
            returned: None,
        });
        self.ops.len() - 1
    }

    /// Records the response `ret` of the operation `index` returned by [`ThreadLog::call`].
    ///
    /// # Panics
    ///
    /// If `index` is not a pending operation of this log.
    pub fn ret(&mut self, clock: &Clock, index: usize, ret: M::Ret) {
        let tick = clock.tick();
        let entry = self
            .ops
            .get_mut(index)
            .unwrap_or_else(|| panic!("ThreadLog::ret: no operation {index}"));
        assert!(
            entry.returned.is_none(),
            "ThreadLog::ret: operation {index} already returned"
        );
        entry.ret = Some(ret);
        entry.returned = Some(tick);
    }

    /// Number of operations recorded (pending ones included).
    pub fn len(&self) -> usize {
        self.ops.len()
    }

    /// Whether nothing was recorded.
    pub fn is_empty(&self) -> bool {
        self.ops.is_empty()
    }

    /// The thread id given to [`ThreadLog::new`].
    pub fn thread(&self) -> usize {
        self.thread
    }

    /// The operations recorded so far, in program order.
    pub fn operations(&self) -> &[Operation<M>] {
        &self.ops
    }
}

/// A complete history: every operation of every thread, sorted by invocation tick.
///
/// Indices into [`History::operations`] are the indices used by
/// [`Linearization::order`](super::Linearization::order) and
/// [`Violation::prefix`](super::Violation::prefix).
#[derive(Debug, Clone)]
pub struct History<M: Model> {
    /// Sorted by `call` (stable: a thread's operations stay in program order on ties).
    ops: Vec<Operation<M>>,
    /// Number of distinct thread ids.
    threads: usize,
}

impl<M: Model> History<M> {
    /// Merges the logs of the threads of one execution (recorded with one shared [`Clock`]).
    pub fn from_logs(logs: impl IntoIterator<Item = ThreadLog<M>>) -> Self {
        Self::from_operations(logs.into_iter().flat_map(|log| log.ops))
    }

    /// A history from operations built by hand (tests, or an edited recorded history).
    ///
    /// Within one thread, operations are taken in invocation-tick order.
    ///
    /// # Panics
    ///
    /// If an operation has exactly one of `ret` and `returned`, or returns at or before its
    /// invocation tick.
    pub fn from_operations(ops: impl IntoIterator<Item = Operation<M>>) -> Self {
        let mut ops: Vec<Operation<M>> = ops.into_iter().collect();
        for o in &ops {
            assert_eq!(
                o.ret.is_some(),
                o.returned.is_some(),
                "History: {:?} has a result without a response tick or the reverse",
                o.op
            );
            if let Some(r) = o.returned {
                assert!(
                    r > o.call,
                    "History: {:?} returns at tick {r}, not after its call at {}",
                    o.op,
                    o.call
                );
            }
        }
        ops.sort_by_key(|o| o.call);
        let threads = ops.iter().map(|o| o.thread).collect::<BTreeSet<_>>().len();
        Self { ops, threads }
    }

    /// Number of operations (pending ones included).
    pub fn len(&self) -> usize {
        self.ops.len()
    }

    /// Whether there are no operations.
    pub fn is_empty(&self) -> bool {
        self.ops.is_empty()
    }

    /// Number of distinct threads that recorded at least one operation.
    pub fn threads(&self) -> usize {
        self.threads
    }

    /// The operations, sorted by invocation tick.
    pub fn operations(&self) -> &[Operation<M>] {
        &self.ops
    }
}
