//! Readable interleavings: what each thread did, in the order it ran.
//!
//! Under the model engines (loom, shuttle, proptest) every operation on a runtime primitive is
//! recorded automatically: atomic loads, stores and read-modify-writes with their value and
//! ordering, lock acquire and release, condvar wait, wakeup and notify, spawn, join, park and
//! unpark, fences, cell accesses. Each carries the thread that made it, named as the report names
//! threads (`main` is the scenario's driver, `T1` its first thread, `thread#1` the first thread a
//! structure spawned itself), and the source location of the call. A structure may add its own
//! steps with [`event`] (`load → 0`, `pop: empty, wait`); they are interleaved with the
//! automatic ones, and are what [`Trace::story`] prints alone.
//!
//! All model threads run on the engine's OS thread, one at a time, so the recorded order *is* the
//! interleaving. Under loom it is the order of *execution*, not of visibility: a load may return
//! an older store (C11 allows it, and loom treats `SeqCst` accesses as `AcqRel`). Such a load is
//! marked `stale`, with the latest store the trace shows, so it does not read like a broken
//! memory model. The stress engine records nothing: observing real threads would change them.
//!
//! Recording is switchable per run ([`crate::engine::Check::traces`]); with it off, engines
//! still keep the wait registry that deadlock reports come from.

use std::fmt;
use std::panic::Location;
use std::sync::atomic::Ordering;

/// A value an atomic held, for printing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Value {
    /// An integer of any width.
    Int(i128),
    /// A bool.
    Bool(bool),
    /// A pointer (its address).
    Ptr(usize),
}

impl fmt::Display for Value {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Value::Int(v) => write!(f, "{v}"),
            Value::Bool(b) => write!(f, "{b}"),
            Value::Ptr(0) => f.write_str("null"),
            Value::Ptr(p) => write!(f, "{p:#x}"),
        }
    }
}

/// What one recorded event was.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EventKind {
    /// A structure's own step ([`event`]).
    User(String),
    /// An atomic load. `stale` is the latest value stored to this atomic earlier in the trace,
    /// when the load returned something else (loom's weak memory).
    Load {
        /// The atomic.
        obj: usize,
        /// Its ordering.
        ord: Ordering,
        /// What it returned.
        value: Value,
        /// The latest earlier store in trace order, when the load did not return it.
        stale: Option<Value>,
    },
    /// An atomic store.
    Store {
        /// The atomic.
        obj: usize,
        /// Its ordering.
        ord: Ordering,
        /// What it stored.
        value: Value,
    },
    /// A read-modify-write: `swap`, `fetch_add`, … (`op` names it).
    Rmw {
        /// The atomic.
        obj: usize,
        /// Which operation.
        op: &'static str,
        /// Its ordering.
        ord: Ordering,
        /// The value read.
        old: Value,
        /// The value written (`None` for a `fetch_update` whose closure declined).
        new: Option<Value>,
    },
    /// A compare-and-swap.
    Cas {
        /// The atomic.
        obj: usize,
        /// `compare_exchange_weak`.
        weak: bool,
        /// Success ordering.
        ord: Ordering,
        /// The expected value.
        expected: Value,
        /// The value to write.
        new: Value,
        /// `Ok(previous)` or `Err(actual)`.
        result: Result<Value, Value>,
    },
    /// A fence.
    Fence(Ordering),
    /// A lock operation.
    Lock {
        /// The lock.
        obj: usize,
        /// What happened.
        op: LockOp,
    },
    /// A condvar operation.
    Condvar {
        /// The condvar.
        obj: usize,
        /// What happened.
        op: CondvarOp,
    },
    /// A cell access through `with` (read) or `with_mut` (write).
    Cell {
        /// The cell.
        obj: usize,
        /// A write.
        write: bool,
    },
    /// A thread operation.
    Thread(ThreadOp),
}

/// A lock event.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LockOp {
    /// `lock` (or `write`) returned: the lock is held.
    Acquired,
    /// `read` returned: a shared hold.
    ReadAcquired,
    /// `try_lock` found it held.
    TryFailed,
    /// `lock`, `read` or `write` found it held by another thread: the thread blocks.
    Waiting,
    /// The guard was dropped.
    Released,
    /// A shared guard was dropped.
    ReadReleased,
}

/// A condvar event.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CondvarOp {
    /// `wait` began: `lock` was released and the thread sleeps.
    Wait {
        /// The lock it released.
        lock: usize,
    },
    /// `wait` returned with the lock held again.
    Woken,
    /// A timed wait timed out (modelled time), with the lock held again; `idle`: because
    /// nothing else could run, rather than by the engine's choice.
    TimedOut {
        /// The timer fired because every other thread was stuck.
        idle: bool,
    },
    /// `notify_one`.
    NotifyOne,
    /// `notify_all`.
    NotifyAll,
}

/// A thread event.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ThreadOp {
    /// Spawned thread `.0`.
    Spawn(usize),
    /// `join` of thread `.0`, which has not finished: the thread blocks.
    JoinWait(usize),
    /// `join` of thread `.0` returned.
    Joined(usize),
    /// The thread's body returned.
    Finished,
    /// The thread's body panicked (a structure's thread; a scenario thread's panic fails the run).
    Panicked,
    /// `park` with no token: the thread blocks.
    Park,
    /// `park` returned.
    Unparked,
    /// Unparked thread `.0`.
    Unpark(usize),
    /// `yield_now` or a spin-loop hint.
    Yield,
    /// A deadline check found the deadline passed (modelled time: the engine fired the timer).
    DeadlinePassed,
}

/// One recorded event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Event {
    /// The thread, an index into [`Trace::threads`].
    pub thread: usize,
    /// What happened.
    pub kind: EventKind,
    /// Where, for automatic events.
    pub at: Option<&'static Location<'static>>,
}

impl Event {
    /// Whether this is a structure's own step rather than an automatic one.
    pub fn is_user(&self) -> bool {
        matches!(self.kind, EventKind::User(_))
    }
    /// Whether the thread could not have gone on after this event (it blocked, yielded or
    /// ended), so a switch to another thread right after it is not a preemption.
    pub fn gives_way(&self) -> bool {
        matches!(
            self.kind,
            EventKind::Condvar {
                op: CondvarOp::Wait { .. },
                ..
            } | EventKind::Lock {
                op: LockOp::Waiting,
                ..
            } | EventKind::Thread(
                ThreadOp::Finished
                    | ThreadOp::Panicked
                    | ThreadOp::Yield
                    | ThreadOp::JoinWait(_)
                    | ThreadOp::Park
            )
        )
    }
}

/// A recorded interleaving, with the names of its threads and objects.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Trace {
    /// The events, in the order they ran.
    pub events: Vec<Event>,
    /// Thread names: `main`, `T1`, …, `thread#1`, …
    pub threads: Vec<String>,
    /// Object names: `atomic#1`, `lock#1`, `condvar#1`, `cell#1`, …
    pub objects: Vec<String>,
    /// The checker it was recorded under (`loom` gets a note on stale loads).
    pub checker: Option<&'static str>,
}

impl Trace {
    /// Context switches away from a thread that could have gone on: the number of preemptions
    /// the interleaving needs. A switch after a thread blocked, yielded or finished is free.
    /// Counted on automatic events when there are any (they show blocking), else on every
    /// event.
    pub fn preemptions(&self) -> usize {
        let auto = self.events.iter().any(|e| !e.is_user());
        let events: Vec<&Event> = self
            .events
            .iter()
            .filter(|e| !auto || !e.is_user())
            .collect();
        let mut n = 0;
        for w in events.windows(2) {
            if w[0].thread != w[1].thread && !w[0].gives_way() {
                n += 1;
            }
        }
        n
    }
    /// Number of times the running thread changed between consecutive events.
    pub fn switches(&self) -> usize {
        self.events
            .windows(2)
            .filter(|w| w[0].thread != w[1].thread)
            .count()
    }
    /// Whether nothing was recorded.
    pub fn is_empty(&self) -> bool {
        self.events.is_empty()
    }
    /// Only the structure's own steps ([`event`]), one per line: the short story.
    pub fn story(&self) -> String {
        let mut out = String::new();
        for e in self.events.iter().filter(|e| e.is_user()) {
            if !out.is_empty() {
                out.push('\n');
            }
            out += &format!("{}: {}", self.thread_name(e.thread), self.describe(e));
        }
        out
    }
    /// The name of thread `t`.
    pub fn thread_name(&self, t: usize) -> &str {
        self.threads.get(t).map_or("?", String::as_str)
    }
    fn obj(&self, o: usize) -> &str {
        self.objects.get(o).map_or("object", String::as_str)
    }
    /// One event as text, without the thread.
    pub fn describe(&self, e: &Event) -> String {
        match &e.kind {
            EventKind::User(s) => s.clone(),
            EventKind::Load {
                obj,
                ord,
                value,
                stale,
            } => {
                let mut s = format!("{}.load({ord:?}) → {value}", self.obj(*obj));
                if let Some(latest) = stale {
                    s += &format!(" (stale: the latest store above is {latest})");
                }
                s
            }
            EventKind::Store { obj, ord, value } => {
                format!("{}.store({value}, {ord:?})", self.obj(*obj))
            }
            EventKind::Rmw {
                obj,
                op,
                ord,
                old,
                new,
            } => match new {
                Some(n) => format!("{}.{op}({ord:?}): {old} → {n}", self.obj(*obj)),
                None => format!("{}.{op}({ord:?}): {old}, unchanged", self.obj(*obj)),
            },
            EventKind::Cas {
                obj,
                weak,
                ord,
                expected,
                new,
                result,
            } => {
                let name = if *weak {
                    "compare_exchange_weak"
                } else {
                    "compare_exchange"
                };
                match result {
                    Ok(_) => format!("{}.{name}({expected} → {new}, {ord:?}): ok", self.obj(*obj)),
                    Err(v) => format!(
                        "{}.{name}({expected} → {new}, {ord:?}): failed, found {v}",
                        self.obj(*obj)
                    ),
                }
            }
            EventKind::Fence(o) => format!("fence({o:?})"),
            EventKind::Lock { obj, op } => {
                let what = match op {
                    LockOp::Acquired => "acquired",
                    LockOp::ReadAcquired => "acquired (shared)",
                    LockOp::TryFailed => "try_lock: held",
                    LockOp::Waiting => "held by another thread: waits",
                    LockOp::Released => "released",
                    LockOp::ReadReleased => "released (shared)",
                };
                format!("{} {what}", self.obj(*obj))
            }
            EventKind::Condvar { obj, op } => match op {
                CondvarOp::Wait { lock } => {
                    format!("{}.wait (releases {})", self.obj(*obj), self.obj(*lock))
                }
                CondvarOp::Woken => format!("{}.wait returned", self.obj(*obj)),
                CondvarOp::TimedOut { idle: false } => {
                    format!(
                        "{}.wait timed out (the engine fired its timer)",
                        self.obj(*obj)
                    )
                }
                CondvarOp::TimedOut { idle: true } => {
                    format!("{}.wait timed out (nothing else could run)", self.obj(*obj))
                }
                CondvarOp::NotifyOne => format!("{}.notify_one", self.obj(*obj)),
                CondvarOp::NotifyAll => format!("{}.notify_all", self.obj(*obj)),
            },
            EventKind::Cell { obj, write } => {
                format!(
                    "{} {}",
                    self.obj(*obj),
                    if *write { "write" } else { "read" }
                )
            }
            EventKind::Thread(op) => match op {
                ThreadOp::Spawn(t) => format!("spawn {}", self.thread_name(*t)),
                ThreadOp::JoinWait(t) => format!("join {}: waits", self.thread_name(*t)),
                ThreadOp::Joined(t) => format!("joined {}", self.thread_name(*t)),
                ThreadOp::Finished => "finished".into(),
                ThreadOp::Panicked => "panicked".into(),
                ThreadOp::Park => "park: waits".into(),
                ThreadOp::Unparked => "park returned".into(),
                ThreadOp::Unpark(t) => format!("unpark {}", self.thread_name(*t)),
                ThreadOp::Yield => "yield".into(),
                ThreadOp::DeadlinePassed => "deadline passed (the engine fired the timer)".into(),
            },
        }
    }
}

impl fmt::Display for Trace {
    /// One line per event: `T1: load → 0` for a structure's own step, an indented
    /// `T1:   atomic#1.load(SeqCst) → 0   src/x.rs:12` for an automatic one.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut first = true;
        if self.checker == Some("loom")
            && self
                .events
                .iter()
                .any(|e| matches!(e.kind, EventKind::Load { .. }))
        {
            f.write_str(
                "(loom: execution order, not visibility order; a load may return an older store)",
            )?;
            first = false;
        }
        for e in &self.events {
            if !first {
                writeln!(f)?;
            }
            first = false;
            let name = self.thread_name(e.thread);
            if e.is_user() {
                write!(f, "{name}: {}", self.describe(e))?;
            } else {
                let text = self.describe(e);
                match e.at {
                    Some(at) => write!(f, "{name}:   {text:<48} {}:{}", at.file(), at.line())?,
                    None => write!(f, "{name}:   {text}")?,
                }
            }
        }
        Ok(())
    }
}

/// Records `op()` as a step of the calling thread, if a model engine is recording.
///
/// On real threads (the stress engine, benchmarks) this costs one `Relaxed` load of a line that
/// nobody writes.
#[inline]
pub fn event(op: impl FnOnce() -> String) {
    if !crate::runtime::model::recording() {
        return;
    }
    crate::runtime::model::record_user(op());
}
