//! The checkers' side of the runtime: the primitives [`crate::Loom`] and [`crate::Shuttle`] hand
//! out are thin wrappers around the checker's own, generic over a [`Checker`] backend. Around
//! each checker operation a wrapper
//!
//! - counts the operation against the run's per-execution operation cap;
//! - records it in the trace (when traces are on): value, ordering, thread, source location;
//! - keeps the wait registry: which thread holds which lock, who waits on what, how many
//!   notifications a condvar has pending. A thread about to block when every other thread is
//!   stuck too is a deadlock, reported right there, the same way under loom and shuttle, before
//!   the checker notices it in its own words;
//! - marks its frames, so that a panic is attributed by *where it started*: inside the checker's
//!   code ([`Origin::Checker`]), inside racelab's ([`Origin::Harness`]), or in the structure
//!   under test ([`Origin::User`]). An engine's limit or machinery is never mistaken for a bug
//!   of the structure, and no panic text is parsed to tell them apart.
//!
//! All model threads of an execution run on the engine's OS thread, one at a time, and switch
//! only inside checker operations, so the per-execution context is an OS-thread-local that no
//! borrow ever spans a checker call. Outside a racelab engine (a downstream crate's own
//! `loom::model` over racelab structures) the wrappers only delegate.

use super::{
    AtomicBoolApi, AtomicInt, AtomicIntApi, AtomicPtrApi, CellApi, JoinApi, MutexApi, RwLockApi,
    ThreadApi,
};
use crate::scenario::BugClass;
use crate::trace::{CondvarOp, Event, EventKind, LockOp, ThreadOp, Trace, Value};
use std::cell::{Cell, RefCell};
use std::marker::PhantomData;
use std::ops::{Deref, DerefMut};
use std::panic::Location;
use std::sync::atomic::{AtomicUsize, Ordering};

type Loc = &'static Location<'static>;

// ------------------------------------------------------------------------------------------
// The backend a checker provides.

/// What a model checker provides to racelab's wrappers. Implemented by [`crate::Loom`] and
/// [`crate::Shuttle`]; not meant to be implemented elsewhere.
#[doc(hidden)]
pub trait Checker: Sized + Send + Sync + 'static {
    /// `"loom"` or `"shuttle"`.
    const CHECKER: &'static str;
    /// How many threads one execution may create, the driver included (loom: 5).
    const MAX_THREADS: Option<usize>;
    /// The checker's mutex.
    type RawMutex<T: Send + 'static>: MutexApi<T>;
    /// The checker's reader-writer lock.
    type RawRwLock<T: Send + Sync + 'static>: RwLockApi<T>;
    /// The checker's condvar.
    type RawCondvar: Send + Sync + 'static;
    /// The checker's join handle.
    type RawJoin<T: Send + 'static>: Send + 'static;
    /// The checker's thread handle.
    type RawThread: Clone + Send + Sync + 'static;
    /// A new condvar.
    fn cv_new() -> Self::RawCondvar;
    /// Waits on `cv`, releasing and retaking the lock of `g`.
    fn cv_wait<'a, T: Send + 'static>(
        cv: &Self::RawCondvar,
        g: RawGuard<'a, Self, T>,
    ) -> RawGuard<'a, Self, T>;
    /// `notify_one`.
    fn cv_notify_one(cv: &Self::RawCondvar);
    /// `notify_all`.
    fn cv_notify_all(cv: &Self::RawCondvar);
    /// Spawns a checker thread.
    fn raw_spawn<F, T>(f: F) -> Self::RawJoin<T>
    where
        F: FnOnce() -> T + Send + 'static,
        T: Send + 'static;
    /// Joins a checker thread.
    fn raw_join<T: Send + 'static>(h: Self::RawJoin<T>) -> std::thread::Result<T>;
    /// The thread of a join handle.
    fn raw_join_thread<T: Send + 'static>(h: &Self::RawJoin<T>) -> Self::RawThread;
    /// The calling thread.
    fn raw_current() -> Self::RawThread;
    /// `Thread::unpark`.
    fn raw_unpark(t: &Self::RawThread);
    /// `park`.
    fn raw_park();
    /// `yield_now`.
    fn raw_yield();
    /// `spin_loop`.
    fn raw_spin_loop();
    /// `fence`.
    fn raw_fence(o: Ordering);
    /// A number that identifies the calling model thread in this execution, cheap to read
    /// (loom: a thread-local racelab sets; shuttle: the task id). The context maps it to the
    /// thread's id.
    fn key() -> usize;
    /// Called first thing on a new thread with its id (loom stores it in the thread-local that
    /// `key` reads; shuttle has its task id already).
    fn set_tid(t: usize);
    /// The calling thread's scenario index (a checker thread-local).
    fn index() -> Option<usize>;
    /// Sets it.
    fn set_index(i: Option<usize>);
    /// The address of a checker thread-local of the calling thread.
    fn token() -> usize;
    /// Ends the current execution now: a failure or a stop has been recorded in the context.
    /// loom: unwinds out of the model with a [`Signal`]; shuttle: yields to racelab's scheduler,
    /// which ends the execution without a panic (shuttle prints every task panic).
    fn stop_execution() -> !;
}

/// The guard of a checker's raw mutex.
pub type RawGuard<'a, B, T> = <<B as Checker>::RawMutex<T> as MutexApi<T>>::Guard<'a>;

/// racelab's own unwinding payloads, raised with `resume_unwind` (so no panic hook runs and the
/// panic record of the user's panic, if any, is kept). Told apart by type.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Signal {
    /// The engine stopped the execution: a failure or a cap has been recorded.
    Stop,
}

// ------------------------------------------------------------------------------------------
// Where a panic started.

/// Whose code a panic started in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Origin {
    /// The structure under test, its scenario or its check.
    User,
    /// The model checker's own code (its verdicts, its limits, its machinery).
    Checker,
    /// racelab's own code: a bug of racelab's.
    Harness,
}

/// The last panic that started on this OS thread, as the panic hook saw it.
#[derive(Debug, Clone, Default)]
pub(crate) struct PanicRecord {
    /// How many panics have started on this OS thread.
    pub seq: u64,
    /// Set by the first marked frame the unwinding passed.
    pub origin: Option<Origin>,
    /// The payload's text.
    pub message: String,
    /// Where it was raised.
    pub location: Option<String>,
}

std::thread_local! {
    static PANIC: RefCell<PanicRecord> = RefCell::new(PanicRecord::default());
}

/// Called by racelab's panic hook at the start of every panic.
pub(crate) fn on_panic(info: &std::panic::PanicHookInfo<'_>) {
    let message = crate::engine::payload_text(info.payload());
    let location = info
        .location()
        .map(|l| format!("{}:{}", l.file(), l.line()));
    let _ = PANIC.try_with(|p| {
        if let Ok(mut p) = p.try_borrow_mut() {
            p.seq += 1;
            p.origin = None;
            p.message = message;
            p.location = location;
        }
    });
}

/// The number of panics started on this OS thread so far.
pub(crate) fn panic_seq() -> u64 {
    PANIC.with(|p| p.borrow().seq)
}

/// The last panic's record.
pub(crate) fn last_panic() -> PanicRecord {
    PANIC.with(|p| p.borrow().clone())
}

/// A frame marker: dropped only when unwinding passes its frame (it is forgotten on a normal
/// return), it sets the panic's origin if no inner frame did.
struct Mark(Origin);

impl Drop for Mark {
    fn drop(&mut self) {
        let _ = PANIC.try_with(|p| {
            if let Ok(mut p) = p.try_borrow_mut()
                && p.origin.is_none()
            {
                p.origin = Some(self.0);
            }
        });
    }
}

#[inline(always)]
fn marked<T>(origin: Origin, f: impl FnOnce() -> T) -> T {
    let m = Mark(origin);
    let v = f();
    std::mem::forget(m);
    v
}

/// Runs checker code: a panic that starts inside is the checker's.
#[inline(always)]
pub(crate) fn checker<T>(f: impl FnOnce() -> T) -> T {
    marked(Origin::Checker, f)
}

/// Runs racelab code: a panic that starts inside is racelab's.
#[inline(always)]
pub(crate) fn harness<T>(f: impl FnOnce() -> T) -> T {
    marked(Origin::Harness, f)
}

/// Runs user code called back from checker or racelab code.
#[inline(always)]
pub(crate) fn user<T>(f: impl FnOnce() -> T) -> T {
    marked(Origin::User, f)
}

// ------------------------------------------------------------------------------------------
// The per-execution context.

/// What the trace records.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum TraceMode {
    /// Nothing (the wait registry is still kept: deadlock reports need it).
    Off,
    /// Only the structure's own [`crate::trace::event`] steps.
    Story,
    /// Every runtime operation, with the structure's own steps interleaved.
    #[default]
    Full,
}

/// A failure recorded during an execution, with the trace at that moment.
#[derive(Debug, Clone)]
pub(crate) struct Recorded {
    pub class: BugClass,
    pub message: String,
    pub thread: Option<String>,
    pub location: Option<String>,
    pub trace: Trace,
}

/// Why an execution was stopped by a cap rather than finished.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum CapHit {
    /// More operations in one execution than the cap (a spin that never ends?).
    Ops(u64),
    /// More threads than the checker can hold.
    Threads { needed: usize, max: usize },
    /// The scheduler's step cap (shuttle).
    Steps(u64),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Atomic,
    Lock,
    RwLock,
    Condvar,
    Cell,
}

impl Kind {
    fn name(self) -> &'static str {
        match self {
            Kind::Atomic => "atomic",
            Kind::Lock => "lock",
            Kind::RwLock => "rwlock",
            Kind::Condvar => "condvar",
            Kind::Cell => "cell",
        }
    }
}

#[derive(Debug)]
struct Obj {
    kind: Kind,
    ordinal: usize,
    /// Exclusive holder and where it took the lock.
    writer: Option<(usize, Loc)>,
    /// Shared holders.
    readers: Vec<(usize, Loc)>,
    /// Threads waiting on this condvar.
    waiters: usize,
    /// Notifications not yet consumed by a waiter (a notify wakes one *current* waiter).
    pending: usize,
    /// The latest value stored, in trace order, and by whom.
    last: Option<Value>,
}

#[derive(Debug, Clone, Copy)]
enum Wait {
    Lock(usize),
    Read(usize),
    Write(usize),
    Condvar { cv: usize, lock: usize },
    Join(usize),
    Park,
}

#[derive(Debug, Clone, Copy)]
enum TState {
    Running,
    Waiting(Wait, Loc),
    Finished,
}

#[derive(Debug)]
struct ThreadRec {
    index: Option<usize>,
    state: TState,
    token: bool,
    /// Where a composite primitive (barrier, once) was called, for the ops it is made of.
    at: Option<Loc>,
}

/// The context of the executions of one engine run on this OS thread.
pub(crate) struct Ctx {
    checker: &'static str,
    mode: TraceMode,
    events: Vec<Event>,
    threads: Vec<ThreadRec>,
    objects: Vec<Obj>,
    counts: [usize; 5],
    ops: u64,
    max_ops: u64,
    /// A failure or cap has been recorded: the execution is ending.
    pub stopping: bool,
    pub failure: Option<Recorded>,
    pub cap: Option<CapHit>,
    /// How the current execution ends itself (the backend's `stop_execution`).
    stop: fn() -> !,
    /// The calling model thread's key (the backend's `key`).
    key: fn() -> usize,
    /// key → thread id.
    keys: Vec<usize>,
}

std::thread_local! {
    static CTX: RefCell<Option<Ctx>> = const { RefCell::new(None) };
    static ACTIVE: Cell<bool> = const { Cell::new(false) };
}

/// How many OS threads have a recording context: the fast path of `trace::event`.
static RECORDERS: AtomicUsize = AtomicUsize::new(0);

/// Whether user trace events are recorded on this OS thread now.
#[inline]
pub(crate) fn recording() -> bool {
    RECORDERS.load(Ordering::Relaxed) != 0 && ACTIVE.with(Cell::get)
}

#[inline]
fn active() -> bool {
    ACTIVE.with(Cell::get)
}

/// Runs `f` on the context, if there is one and it is not borrowed.
#[inline]
fn with<U>(f: impl FnOnce(&mut Ctx) -> U) -> Option<U> {
    if !active() {
        return None;
    }
    CTX.with(|c| c.try_borrow_mut().ok().and_then(|mut c| c.as_mut().map(f)))
}

/// Starts a context for an engine run on this OS thread.
pub(crate) fn begin<B: Checker>(mode: TraceMode, max_ops: u64) {
    let (checker, stop, key): (_, fn() -> !, fn() -> usize) =
        (B::CHECKER, B::stop_execution, B::key);
    CTX.with(|c| {
        *c.borrow_mut() = Some(Ctx {
            checker,
            mode,
            events: Vec::new(),
            threads: Vec::new(),
            objects: Vec::new(),
            counts: [0; 5],
            ops: 0,
            max_ops,
            stopping: false,
            failure: None,
            cap: None,
            stop,
            key,
            keys: Vec::new(),
        })
    });
    ACTIVE.with(|a| a.set(true));
    RECORDERS.fetch_add(1, Ordering::Relaxed);
}

/// Ends the context; returns the failure and cap of the last execution.
pub(crate) fn end() -> (Option<Recorded>, Option<CapHit>) {
    if !active() {
        return (None, None);
    }
    ACTIVE.with(|a| a.set(false));
    RECORDERS.fetch_sub(1, Ordering::Relaxed);
    CTX.with(|c| {
        c.borrow_mut()
            .take()
            .map_or((None, None), |c| (c.failure, c.cap))
    })
}

/// Resets the context for a new execution whose driver is model thread 0.
pub(crate) fn new_execution() {
    with(|c| {
        c.events.clear();
        c.threads.clear();
        c.threads.push(ThreadRec {
            index: None,
            state: TState::Running,
            token: false,
            at: None,
        });
        c.objects.clear();
        c.keys.clear();
        c.counts = [0; 5];
        c.ops = 0;
        c.stopping = false;
        c.failure = None;
        c.cap = None;
    });
}

/// Whether the current execution is ending (a failure or cap is recorded).
pub(crate) fn stopping() -> bool {
    with(|c| c.stopping).unwrap_or(false)
}

/// The trace of the current execution so far.
pub(crate) fn snapshot() -> Trace {
    with(|c| c.trace()).unwrap_or_default()
}

/// Records a failure of the current execution (the first one wins) and ends the execution.
pub(crate) fn fail_and_stop(class: BugClass, message: String, location: Option<String>) -> ! {
    let stop = with(|c| {
        c.record(class, message, location);
        c.stop
    });
    match stop {
        Some(stop) => stop(),
        // No engine: behave as the checker would with a plain panic.
        None => std::panic::resume_unwind(Box::new(Signal::Stop)),
    }
}

/// Records that a cap ended the execution, and ends it.
pub(crate) fn cap_and_stop(cap: CapHit) -> ! {
    let stop = with(|c| {
        if !c.stopping {
            c.cap = Some(cap);
            c.stopping = true;
        }
        c.stop
    });
    match stop {
        Some(stop) => stop(),
        None => std::panic::resume_unwind(Box::new(Signal::Stop)),
    }
}

/// Records a structure's own step.
pub(crate) fn record_user(op: String) {
    with(|c| {
        if c.mode != TraceMode::Off {
            let thread = c.current();
            c.events.push(Event {
                thread,
                kind: EventKind::User(op),
                at: None,
            });
        }
    });
}

#[inline]
fn tid<B: Checker>() -> usize {
    let k = B::key();
    with(|c| c.tid_of(k)).unwrap_or(k)
}

impl Ctx {
    fn tid_of(&self, key: usize) -> usize {
        self.keys.get(key).copied().unwrap_or(key)
    }

    fn current(&self) -> usize {
        self.tid_of((self.key)())
    }

    fn map_key(&mut self, key: usize, tid: usize) {
        if self.keys.len() <= key {
            let n = self.keys.len();
            self.keys.extend(n..=key);
        }
        self.keys[key] = tid;
    }

    fn record(&mut self, class: BugClass, message: String, location: Option<String>) {
        if self.failure.is_some() {
            return;
        }
        self.stopping = true;
        let t = self.current();
        let trace = self.trace();
        let thread = trace.threads.get(t).cloned();
        self.failure = Some(Recorded {
            class,
            message,
            thread,
            location,
            trace,
        });
    }

    fn thread_names(&self) -> Vec<String> {
        let mut spawned = 0;
        self.threads
            .iter()
            .enumerate()
            .map(|(t, r)| match (t, r.index) {
                (_, Some(i)) => format!("T{}", i + 1),
                (0, None) => "main".to_string(),
                (_, None) => {
                    spawned += 1;
                    format!("thread#{spawned}")
                }
            })
            .collect()
    }

    fn trace(&self) -> Trace {
        Trace {
            events: self.events.clone(),
            threads: self.thread_names(),
            objects: self
                .objects
                .iter()
                .map(|o| format!("{}#{}", o.kind.name(), o.ordinal))
                .collect(),
            checker: Some(self.checker),
        }
    }

    fn push(&mut self, thread: usize, kind: EventKind, at: Loc) {
        self.push_at(thread, kind, Some(at));
    }

    fn push_at(&mut self, thread: usize, kind: EventKind, at: Option<Loc>) {
        if self.mode == TraceMode::Full {
            let at = self.threads.get(thread).and_then(|t| t.at).or(at);
            self.events.push(Event { thread, kind, at });
        }
    }

    fn new_obj(&mut self, kind: Kind, init: Option<Value>) -> usize {
        let k = kind as usize;
        self.counts[k] += 1;
        self.objects.push(Obj {
            kind,
            ordinal: self.counts[k],
            writer: None,
            readers: Vec::new(),
            waiters: 0,
            pending: 0,
            last: init,
        });
        self.objects.len() - 1
    }

    fn obj(&mut self, id: usize) -> Option<&mut Obj> {
        self.objects.get_mut(id)
    }

    fn obj_name(&self, id: usize) -> String {
        self.objects.get(id).map_or("an object".into(), |o| {
            format!("{}#{}", o.kind.name(), o.ordinal)
        })
    }

    /// Whether thread `t` cannot proceed until another thread acts.
    fn stuck(&self, t: usize) -> bool {
        let held = |l: usize| self.objects.get(l).is_some_and(|o| o.writer.is_some());
        let shared = |l: usize| self.objects.get(l).is_some_and(|o| !o.readers.is_empty());
        match self.threads[t].state {
            TState::Running => false,
            TState::Finished => true,
            TState::Waiting(w, _) => match w {
                Wait::Lock(l) | Wait::Read(l) => held(l),
                Wait::Write(l) => held(l) || shared(l),
                Wait::Condvar { cv, lock } => {
                    let pending = self.objects.get(cv).is_some_and(|o| o.pending > 0);
                    !pending || held(lock)
                }
                Wait::Join(j) => {
                    !matches!(self.threads.get(j).map(|r| r.state), Some(TState::Finished))
                }
                Wait::Park => !self.threads[t].token,
            },
        }
    }

    /// Marks `t` as waiting; returns the deadlock report if no thread can proceed now.
    fn wait(&mut self, t: usize, w: Wait, at: Loc) -> Option<String> {
        let at = self.threads.get(t).and_then(|r| r.at).unwrap_or(at);
        self.threads.get_mut(t)?.state = TState::Waiting(w, at);
        let all = (0..self.threads.len()).all(|i| self.stuck(i));
        let any_waiting = self
            .threads
            .iter()
            .any(|r| matches!(r.state, TState::Waiting(..)));
        (all && any_waiting).then(|| self.deadlock_report())
    }

    fn running(&mut self, t: usize) {
        if let Some(r) = self.threads.get_mut(t) {
            r.state = TState::Running;
        }
    }

    /// Every thread's state, as the report names threads: the body of a deadlock message.
    pub(crate) fn deadlock_report(&self) -> String {
        let names = self.thread_names();
        let mut lines = vec!["every thread is blocked".to_string()];
        for (t, r) in self.threads.iter().enumerate() {
            let line = match r.state {
                TState::Finished => continue,
                TState::Running => format!(
                    "{} is not blocked in a racelab primitive (it may wait on something racelab does not see)",
                    names[t]
                ),
                TState::Waiting(w, at) => {
                    let what = match w {
                        Wait::Lock(l) | Wait::Write(l) | Wait::Read(l) => {
                            let how = match w {
                                Wait::Read(_) => "a shared hold of ",
                                _ => "",
                            };
                            let holder = self.objects.get(l).and_then(|o| {
                                o.writer
                                    .map(|(h, a)| vec![(h, a)])
                                    .or_else(|| (!o.readers.is_empty()).then(|| o.readers.clone()))
                            });
                            let held = match holder {
                                Some(hs) => hs
                                    .iter()
                                    .map(|(h, a)| {
                                        format!(
                                            "held by {} (taken at {}:{})",
                                            names.get(*h).map_or("?", String::as_str),
                                            a.file(),
                                            a.line()
                                        )
                                    })
                                    .collect::<Vec<_>>()
                                    .join(", "),
                                None => "free".to_string(),
                            };
                            format!("waits for {how}{}, {held}", self.obj_name(l))
                        }
                        Wait::Condvar { cv, lock } => format!(
                            "waits on {} (released {}), no notification pending",
                            self.obj_name(cv),
                            self.obj_name(lock)
                        ),
                        Wait::Join(j) => {
                            format!("waits to join {}", names.get(j).map_or("?", String::as_str))
                        }
                        Wait::Park => "is parked, and nobody will unpark it".to_string(),
                    };
                    format!("{} {what}, at {}:{}", names[t], at.file(), at.line())
                }
            };
            lines.push(line);
        }
        lines.join("\n  ")
    }

    fn count_op(&mut self) -> bool {
        self.ops += 1;
        self.ops > self.max_ops
    }
}

/// Counts one operation against the execution's cap; past it, ends the execution.
#[inline]
fn count_op() {
    if with(|c| !c.stopping && c.count_op()).unwrap_or(false) {
        let max = with(|c| c.max_ops).unwrap_or(0);
        cap_and_stop(CapHit::Ops(max));
    }
}

/// Marks thread `t` waiting on `w`; ends the execution with a deadlock if nobody can proceed.
fn wait_or_deadlock(t: usize, w: Wait, at: Loc) {
    if let Some(Some(report)) = with(|c| if c.stopping { None } else { c.wait(t, w, at) }) {
        fail_and_stop(BugClass::Deadlock, format!("deadlock: {report}"), None);
    }
}

/// The report of a deadlock the checker detected itself, from the registry.
pub(crate) fn deadlock_report() -> Option<String> {
    with(|c| c.deadlock_report())
}

fn int<V: AtomicInt>(v: V) -> Value {
    Value::Int(v.widen())
}

fn ptr<T>(p: *mut T) -> Value {
    Value::Ptr(p as usize)
}

// ------------------------------------------------------------------------------------------
// Atomics.

/// An atomic of a checker (`R::AtomicUsize`, `R::AtomicBool`, `R::AtomicPtr<T>` under loom and
/// shuttle): the checker's atomic, recorded.
pub struct ModelAtomic<A, B> {
    inner: A,
    id: usize,
    _b: PhantomData<fn() -> B>,
}

impl<A: std::fmt::Debug, B> std::fmt::Debug for ModelAtomic<A, B> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.inner.fmt(f)
    }
}

impl<A, B: Checker> ModelAtomic<A, B> {
    fn make(inner: A, init: Value) -> Self {
        let id = harness(|| with(|c| c.new_obj(Kind::Atomic, Some(init))).unwrap_or(usize::MAX));
        ModelAtomic {
            inner,
            id,
            _b: PhantomData,
        }
    }

    /// Runs the checker operation `f`, then records what `event` makes of its result.
    #[inline]
    fn op<V>(&self, at: Loc, f: impl FnOnce(&A) -> V, event: impl FnOnce(&V) -> EventKind) -> V {
        if !active() {
            return f(&self.inner);
        }
        harness(|| {
            // One look at the context: count the operation, and see whether it is traced.
            let full = match with(|c| (!c.stopping && c.count_op(), c.mode == TraceMode::Full)) {
                Some((true, _)) => cap_and_stop(CapHit::Ops(with(|c| c.max_ops).unwrap_or(0))),
                Some((false, full)) => full,
                None => false,
            };
            let t = if full { tid::<B>() } else { 0 };
            let v = checker(|| f(&self.inner));
            if !full {
                return v;
            }
            with(|c| {
                let mut kind = event(&v);
                let loom = c.checker == "loom";
                if let Some(o) = c.obj(self.id) {
                    match &mut kind {
                        EventKind::Load { value, stale, .. }
                            if loom && o.last.is_some_and(|l| l != *value) =>
                        {
                            *stale = o.last;
                        }
                        EventKind::Store { value, .. } => o.last = Some(*value),
                        EventKind::Rmw { new: Some(n), .. } => o.last = Some(*n),
                        EventKind::Cas {
                            new, result: Ok(_), ..
                        } => o.last = Some(*new),
                        _ => {}
                    }
                }
                c.push(t, kind, at);
            });
            v
        })
    }
}

macro_rules! rmw {
    ($self:ident, $op:literal, $method:ident, $v:ident, $order:ident, $conv:expr, $newf:expr) => {{
        let at = Location::caller();
        let id = $self.id;
        $self.op(
            at,
            |a| a.$method($v, $order),
            |old| EventKind::Rmw {
                obj: id,
                op: $op,
                ord: $order,
                old: $conv(*old),
                new: Some($conv($newf(*old, $v))),
            },
        )
    }};
}

fn cas_event(
    obj: usize,
    weak: bool,
    ord: Ordering,
    expected: Value,
    new: Value,
    result: Result<Value, Value>,
) -> EventKind {
    EventKind::Cas {
        obj,
        weak,
        ord,
        expected,
        new,
        result,
    }
}

/// Integer atomic semantics for the trace's "new value" of a read-modify-write.
trait IntOps: AtomicInt {
    fn wadd(self, b: Self) -> Self;
    fn wsub(self, b: Self) -> Self;
    fn and(self, b: Self) -> Self;
    fn nand(self, b: Self) -> Self;
    fn or(self, b: Self) -> Self;
    fn xor(self, b: Self) -> Self;
}

macro_rules! int_ops {
    ($($t:ty),*) => {$(
        impl IntOps for $t {
            fn wadd(self, b: Self) -> Self { self.wrapping_add(b) }
            fn wsub(self, b: Self) -> Self { self.wrapping_sub(b) }
            fn and(self, b: Self) -> Self { self & b }
            fn nand(self, b: Self) -> Self { !(self & b) }
            fn or(self, b: Self) -> Self { self | b }
            fn xor(self, b: Self) -> Self { self ^ b }
        }
    )*};
}
int_ops!(u8, u16, u32, u64, usize, i8, i16, i32, i64, isize);

/// The integer types whose atomics the wrappers record (every std integer type).
#[doc(hidden)]
#[allow(private_bounds)]
pub trait ModelInt: IntOps {}
impl<V: IntOps> ModelInt for V {}

impl<V: ModelInt, A: AtomicIntApi<V>, B: Checker> AtomicIntApi<V> for ModelAtomic<A, B> {
    fn new(v: V) -> Self {
        ModelAtomic::make(checker(|| A::new(v)), int(v))
    }
    #[track_caller]
    fn load(&self, order: Ordering) -> V {
        let (at, id) = (Location::caller(), self.id);
        self.op(
            at,
            |a| a.load(order),
            |v| EventKind::Load {
                obj: id,
                ord: order,
                value: int(*v),
                stale: None,
            },
        )
    }
    #[track_caller]
    fn store(&self, v: V, order: Ordering) {
        let (at, id) = (Location::caller(), self.id);
        self.op(
            at,
            |a| a.store(v, order),
            |_| EventKind::Store {
                obj: id,
                ord: order,
                value: int(v),
            },
        )
    }
    #[track_caller]
    fn swap(&self, v: V, order: Ordering) -> V {
        rmw!(self, "swap", swap, v, order, int, |_old, new| new)
    }
    #[track_caller]
    fn compare_exchange(&self, c: V, n: V, s: Ordering, f: Ordering) -> Result<V, V> {
        let (at, id) = (Location::caller(), self.id);
        self.op(
            at,
            |a| a.compare_exchange(c, n, s, f),
            |r| cas_event(id, false, s, int(c), int(n), r.map(int).map_err(int)),
        )
    }
    #[track_caller]
    fn compare_exchange_weak(&self, c: V, n: V, s: Ordering, f: Ordering) -> Result<V, V> {
        let (at, id) = (Location::caller(), self.id);
        self.op(
            at,
            |a| a.compare_exchange_weak(c, n, s, f),
            |r| cas_event(id, true, s, int(c), int(n), r.map(int).map_err(int)),
        )
    }
    #[track_caller]
    fn fetch_add(&self, v: V, order: Ordering) -> V {
        rmw!(self, "fetch_add", fetch_add, v, order, int, V::wadd)
    }
    #[track_caller]
    fn fetch_sub(&self, v: V, order: Ordering) -> V {
        rmw!(self, "fetch_sub", fetch_sub, v, order, int, V::wsub)
    }
    #[track_caller]
    fn fetch_and(&self, v: V, order: Ordering) -> V {
        rmw!(self, "fetch_and", fetch_and, v, order, int, V::and)
    }
    #[track_caller]
    fn fetch_nand(&self, v: V, order: Ordering) -> V {
        rmw!(self, "fetch_nand", fetch_nand, v, order, int, V::nand)
    }
    #[track_caller]
    fn fetch_or(&self, v: V, order: Ordering) -> V {
        rmw!(self, "fetch_or", fetch_or, v, order, int, V::or)
    }
    #[track_caller]
    fn fetch_xor(&self, v: V, order: Ordering) -> V {
        rmw!(self, "fetch_xor", fetch_xor, v, order, int, V::xor)
    }
    #[track_caller]
    fn fetch_max(&self, v: V, order: Ordering) -> V {
        rmw!(self, "fetch_max", fetch_max, v, order, int, std::cmp::max)
    }
    #[track_caller]
    fn fetch_min(&self, v: V, order: Ordering) -> V {
        rmw!(self, "fetch_min", fetch_min, v, order, int, std::cmp::min)
    }
    #[track_caller]
    fn fetch_update<F>(&self, set: Ordering, fetch: Ordering, mut f: F) -> Result<V, V>
    where
        F: FnMut(V) -> Option<V>,
    {
        let (at, id) = (Location::caller(), self.id);
        let mut written = None;
        let r = self.op(
            at,
            |a| {
                a.fetch_update(set, fetch, |v| {
                    let n = user(|| f(v));
                    written = n;
                    n
                })
            },
            |_| EventKind::Rmw {
                obj: id,
                op: "fetch_update",
                ord: set,
                old: Value::Int(0),
                new: None,
            },
        );
        // Fix the recorded event up with what actually happened.
        with(|c| {
            if let Some(Event {
                kind: EventKind::Rmw { old, new, .. },
                ..
            }) = c.events.last_mut()
            {
                let (o, n) = match r {
                    Ok(o) => (o, written),
                    Err(o) => (o, None),
                };
                *old = int(o);
                *new = n.map(int);
                if let Some(n) = n
                    && let Some(ob) = c.objects.get_mut(id)
                    && r.is_ok()
                {
                    ob.last = Some(int(n));
                }
            }
        });
        r
    }
    fn into_inner(self) -> V {
        self.inner.into_inner()
    }
}

impl<A: AtomicBoolApi, B: Checker> AtomicBoolApi for ModelAtomic<A, B> {
    fn new(v: bool) -> Self {
        ModelAtomic::make(checker(|| A::new(v)), Value::Bool(v))
    }
    #[track_caller]
    fn load(&self, order: Ordering) -> bool {
        let (at, id) = (Location::caller(), self.id);
        self.op(
            at,
            |a| a.load(order),
            |v| EventKind::Load {
                obj: id,
                ord: order,
                value: Value::Bool(*v),
                stale: None,
            },
        )
    }
    #[track_caller]
    fn store(&self, v: bool, order: Ordering) {
        let (at, id) = (Location::caller(), self.id);
        self.op(
            at,
            |a| a.store(v, order),
            |_| EventKind::Store {
                obj: id,
                ord: order,
                value: Value::Bool(v),
            },
        )
    }
    #[track_caller]
    fn swap(&self, v: bool, order: Ordering) -> bool {
        rmw!(self, "swap", swap, v, order, Value::Bool, |_o, n| n)
    }
    #[track_caller]
    fn compare_exchange(&self, c: bool, n: bool, s: Ordering, f: Ordering) -> Result<bool, bool> {
        let (at, id) = (Location::caller(), self.id);
        let b = Value::Bool;
        self.op(
            at,
            |a| a.compare_exchange(c, n, s, f),
            |r| cas_event(id, false, s, b(c), b(n), r.map(b).map_err(b)),
        )
    }
    #[track_caller]
    fn compare_exchange_weak(
        &self,
        c: bool,
        n: bool,
        s: Ordering,
        f: Ordering,
    ) -> Result<bool, bool> {
        let (at, id) = (Location::caller(), self.id);
        let b = Value::Bool;
        self.op(
            at,
            |a| a.compare_exchange_weak(c, n, s, f),
            |r| cas_event(id, true, s, b(c), b(n), r.map(b).map_err(b)),
        )
    }
    #[track_caller]
    fn fetch_and(&self, v: bool, order: Ordering) -> bool {
        rmw!(
            self,
            "fetch_and",
            fetch_and,
            v,
            order,
            Value::Bool,
            |o: bool, n: bool| o & n
        )
    }
    #[track_caller]
    fn fetch_nand(&self, v: bool, order: Ordering) -> bool {
        rmw!(
            self,
            "fetch_nand",
            fetch_nand,
            v,
            order,
            Value::Bool,
            |o: bool, n: bool| !(o & n)
        )
    }
    #[track_caller]
    fn fetch_or(&self, v: bool, order: Ordering) -> bool {
        rmw!(
            self,
            "fetch_or",
            fetch_or,
            v,
            order,
            Value::Bool,
            |o: bool, n: bool| o | n
        )
    }
    #[track_caller]
    fn fetch_xor(&self, v: bool, order: Ordering) -> bool {
        rmw!(
            self,
            "fetch_xor",
            fetch_xor,
            v,
            order,
            Value::Bool,
            |o: bool, n: bool| o ^ n
        )
    }
    #[track_caller]
    fn fetch_update<F>(&self, set: Ordering, fetch: Ordering, mut f: F) -> Result<bool, bool>
    where
        F: FnMut(bool) -> Option<bool>,
    {
        let (at, id) = (Location::caller(), self.id);
        self.op(
            at,
            |a| a.fetch_update(set, fetch, |v| user(|| f(v))),
            |r| EventKind::Rmw {
                obj: id,
                op: "fetch_update",
                ord: set,
                old: Value::Bool(*r.as_ref().unwrap_or_else(|e| e)),
                new: None,
            },
        )
    }
    fn into_inner(self) -> bool {
        self.inner.into_inner()
    }
}

impl<T: 'static, A: AtomicPtrApi<T>, B: Checker> AtomicPtrApi<T> for ModelAtomic<A, B> {
    fn new(p: *mut T) -> Self {
        ModelAtomic::make(checker(|| A::new(p)), ptr(p))
    }
    #[track_caller]
    fn load(&self, order: Ordering) -> *mut T {
        let (at, id) = (Location::caller(), self.id);
        self.op(
            at,
            |a| a.load(order),
            |v| EventKind::Load {
                obj: id,
                ord: order,
                value: ptr(*v),
                stale: None,
            },
        )
    }
    #[track_caller]
    fn store(&self, p: *mut T, order: Ordering) {
        let (at, id) = (Location::caller(), self.id);
        self.op(
            at,
            |a| a.store(p, order),
            |_| EventKind::Store {
                obj: id,
                ord: order,
                value: ptr(p),
            },
        )
    }
    #[track_caller]
    fn swap(&self, p: *mut T, order: Ordering) -> *mut T {
        rmw!(self, "swap", swap, p, order, ptr, |_o, n| n)
    }
    #[track_caller]
    fn compare_exchange(
        &self,
        c: *mut T,
        n: *mut T,
        s: Ordering,
        f: Ordering,
    ) -> Result<*mut T, *mut T> {
        let (at, id) = (Location::caller(), self.id);
        self.op(
            at,
            |a| a.compare_exchange(c, n, s, f),
            |r| cas_event(id, false, s, ptr(c), ptr(n), r.map(ptr).map_err(ptr)),
        )
    }
    #[track_caller]
    fn compare_exchange_weak(
        &self,
        c: *mut T,
        n: *mut T,
        s: Ordering,
        f: Ordering,
    ) -> Result<*mut T, *mut T> {
        let (at, id) = (Location::caller(), self.id);
        self.op(
            at,
            |a| a.compare_exchange_weak(c, n, s, f),
            |r| cas_event(id, true, s, ptr(c), ptr(n), r.map(ptr).map_err(ptr)),
        )
    }
    #[track_caller]
    fn fetch_update<F>(&self, set: Ordering, fetch: Ordering, mut f: F) -> Result<*mut T, *mut T>
    where
        F: FnMut(*mut T) -> Option<*mut T>,
    {
        let (at, id) = (Location::caller(), self.id);
        self.op(
            at,
            |a| a.fetch_update(set, fetch, |v| user(|| f(v))),
            |r| EventKind::Rmw {
                obj: id,
                op: "fetch_update",
                ord: set,
                old: ptr(*r.as_ref().unwrap_or_else(|e| e)),
                new: None,
            },
        )
    }
    fn into_inner(self) -> *mut T {
        self.inner.into_inner()
    }
}

/// `fence` under a checker, recorded.
#[track_caller]
pub(crate) fn fence<B: Checker>(order: Ordering) {
    let at = Location::caller();
    if !active() {
        return B::raw_fence(order);
    }
    harness(|| {
        count_op();
        let t = tid::<B>();
        checker(|| B::raw_fence(order));
        with(|c| c.push(t, EventKind::Fence(order), at));
    })
}

/// `yield_now` / `spin_loop` under a checker, recorded.
#[track_caller]
pub(crate) fn yield_now<B: Checker>(spin: bool) {
    let at = Location::caller();
    let raw = || {
        if spin {
            B::raw_spin_loop()
        } else {
            B::raw_yield()
        }
    };
    if !active() {
        return raw();
    }
    harness(|| {
        count_op();
        let t = tid::<B>();
        with(|c| c.push(t, EventKind::Thread(ThreadOp::Yield), at));
        checker(raw);
    })
}

// ------------------------------------------------------------------------------------------
// Locks.

/// A checker's mutex (`R::Mutex<T>` under loom and shuttle), registered and recorded.
pub struct ModelMutex<M, B> {
    inner: M,
    id: usize,
    _b: PhantomData<fn() -> B>,
}

/// The guard of a [`ModelMutex`] or [`ModelRwLock`]: releases (and records the release) on drop.
pub struct ModelGuard<G, B: Checker> {
    inner: Option<G>,
    obj: usize,
    shared: bool,
    _b: PhantomData<fn() -> B>,
}

/// The shared guard of a [`ModelRwLock`].
pub type ModelReadGuard<G, B> = ModelGuard<G, B>;
/// The exclusive guard of a [`ModelRwLock`].
pub type ModelWriteGuard<G, B> = ModelGuard<G, B>;

impl<G: Deref, B: Checker> Deref for ModelGuard<G, B> {
    type Target = G::Target;
    fn deref(&self) -> &G::Target {
        self.inner.as_ref().expect("a live guard")
    }
}

impl<G: DerefMut, B: Checker> DerefMut for ModelGuard<G, B> {
    fn deref_mut(&mut self) -> &mut G::Target {
        self.inner.as_mut().expect("a live guard")
    }
}

impl<G, B: Checker> ModelGuard<G, B> {
    fn new(inner: G, obj: usize, shared: bool) -> Self {
        ModelGuard {
            inner: Some(inner),
            obj,
            shared,
            _b: PhantomData,
        }
    }
    /// Takes the inner guard out without recording a release (a condvar wait does that).
    fn take(mut self) -> (G, usize) {
        let g = self.inner.take().expect("a live guard");
        (g, self.obj)
    }
}

impl<G, B: Checker> Drop for ModelGuard<G, B> {
    fn drop(&mut self) {
        let Some(g) = self.inner.take() else { return };
        if active() && !std::thread::panicking() {
            harness(|| {
                let t = tid::<B>();
                let (obj, shared) = (self.obj, self.shared);
                with(|c| {
                    if let Some(o) = c.obj(obj) {
                        if shared {
                            if let Some(p) = o.readers.iter().position(|(r, _)| *r == t) {
                                o.readers.swap_remove(p);
                            }
                        } else {
                            o.writer = None;
                        }
                    }
                    let op = if shared {
                        LockOp::ReadReleased
                    } else {
                        LockOp::Released
                    };
                    // A guard's drop has no caller location worth printing (it would name
                    // the drop glue), so the release is printed without one.
                    c.push_at(t, EventKind::Lock { obj, op }, None);
                });
            });
        }
        checker(|| drop(g));
    }
}

/// Acquires through `f` (which may block in the checker), with the registry and the trace.
fn acquire<G, B: Checker>(
    obj: usize,
    at: Loc,
    how: Wait,
    shared: bool,
    f: impl FnOnce() -> G,
) -> ModelGuard<G, B> {
    if !active() {
        return ModelGuard::new(f(), obj, shared);
    }
    harness(|| {
        count_op();
        let t = tid::<B>();
        let blocked = with(|c| {
            let o = c.objects.get(obj);
            let taken = o.is_some_and(|o| {
                o.writer.is_some_and(|(h, _)| h != t) || (!shared && !o.readers.is_empty())
            });
            if taken {
                c.push(
                    t,
                    EventKind::Lock {
                        obj,
                        op: LockOp::Waiting,
                    },
                    at,
                );
            }
            taken
        })
        .unwrap_or(false);
        let _ = blocked;
        wait_or_deadlock(t, how, at);
        let g = checker(f);
        with(|c| {
            c.running(t);
            let at = c.threads.get(t).and_then(|r| r.at).unwrap_or(at);
            if let Some(o) = c.obj(obj) {
                if shared {
                    o.readers.push((t, at));
                } else {
                    o.writer = Some((t, at));
                }
            }
            let op = if shared {
                LockOp::ReadAcquired
            } else {
                LockOp::Acquired
            };
            c.push(t, EventKind::Lock { obj, op }, at);
        });
        ModelGuard::new(g, obj, shared)
    })
}

fn new_lock_id(kind: Kind) -> usize {
    harness(|| with(|c| c.new_obj(kind, None)).unwrap_or(usize::MAX))
}

impl<T: Send + 'static, M: MutexApi<T>, B: Checker> MutexApi<T> for ModelMutex<M, B> {
    type Guard<'a>
        = ModelGuard<M::Guard<'a>, B>
    where
        Self: 'a;
    fn new(value: T) -> Self {
        ModelMutex {
            inner: checker(|| M::new(value)),
            id: new_lock_id(Kind::Lock),
            _b: PhantomData,
        }
    }
    #[track_caller]
    fn lock(&self) -> Self::Guard<'_> {
        let at = Location::caller();
        acquire(self.id, at, Wait::Lock(self.id), false, || {
            self.inner.lock()
        })
    }
    #[track_caller]
    fn try_lock(&self) -> Option<Self::Guard<'_>> {
        let at = Location::caller();
        if !active() {
            return self
                .inner
                .try_lock()
                .map(|g| ModelGuard::new(g, self.id, false));
        }
        harness(|| {
            count_op();
            let t = tid::<B>();
            let g = checker(|| self.inner.try_lock());
            let obj = self.id;
            with(|c| {
                let op = if g.is_some() {
                    if let Some(o) = c.obj(obj) {
                        o.writer = Some((t, at));
                    }
                    LockOp::Acquired
                } else {
                    LockOp::TryFailed
                };
                c.push(t, EventKind::Lock { obj, op }, at);
            });
            g.map(|g| ModelGuard::new(g, obj, false))
        })
    }
}

/// A checker's reader-writer lock (`R::RwLock<T>` under loom and shuttle).
pub struct ModelRwLock<L, B> {
    inner: L,
    id: usize,
    _b: PhantomData<fn() -> B>,
}

impl<T: Send + Sync + 'static, L: RwLockApi<T>, B: Checker> RwLockApi<T> for ModelRwLock<L, B> {
    type ReadGuard<'a>
        = ModelGuard<L::ReadGuard<'a>, B>
    where
        Self: 'a;
    type WriteGuard<'a>
        = ModelGuard<L::WriteGuard<'a>, B>
    where
        Self: 'a;
    fn new(value: T) -> Self {
        ModelRwLock {
            inner: checker(|| L::new(value)),
            id: new_lock_id(Kind::RwLock),
            _b: PhantomData,
        }
    }
    #[track_caller]
    fn read(&self) -> Self::ReadGuard<'_> {
        let at = Location::caller();
        acquire(self.id, at, Wait::Read(self.id), true, || self.inner.read())
    }
    #[track_caller]
    fn write(&self) -> Self::WriteGuard<'_> {
        let at = Location::caller();
        acquire(self.id, at, Wait::Write(self.id), false, || {
            self.inner.write()
        })
    }
}

// ------------------------------------------------------------------------------------------
// Condvars.

/// A checker's condvar (`R::Condvar` under loom and shuttle).
pub struct ModelCondvar<B: Checker> {
    inner: B::RawCondvar,
    id: usize,
}

impl<B: Checker> ModelCondvar<B> {
    pub(crate) fn make() -> Self {
        ModelCondvar {
            inner: checker(B::cv_new),
            id: harness(|| with(|c| c.new_obj(Kind::Condvar, None)).unwrap_or(usize::MAX)),
        }
    }

    pub(crate) fn wait_guard<'a, T: Send + 'static>(
        &self,
        g: ModelGuard<RawGuard<'a, B, T>, B>,
        at: Loc,
    ) -> ModelGuard<RawGuard<'a, B, T>, B> {
        let (raw, lock) = g.take();
        if !active() {
            return ModelGuard::new(B::cv_wait(&self.inner, raw), lock, false);
        }
        harness(|| {
            count_op();
            let t = tid::<B>();
            let cv = self.id;
            with(|c| {
                if let Some(o) = c.obj(lock) {
                    o.writer = None;
                }
                if let Some(o) = c.obj(cv) {
                    o.waiters += 1;
                }
                c.push(
                    t,
                    EventKind::Condvar {
                        obj: cv,
                        op: CondvarOp::Wait { lock },
                    },
                    at,
                );
            });
            wait_or_deadlock(t, Wait::Condvar { cv, lock }, at);
            let raw = checker(|| B::cv_wait(&self.inner, raw));
            with(|c| {
                c.running(t);
                if let Some(o) = c.obj(cv) {
                    o.waiters = o.waiters.saturating_sub(1);
                    o.pending = o.pending.saturating_sub(1);
                }
                let at = c.threads.get(t).and_then(|r| r.at).unwrap_or(at);
                if let Some(o) = c.obj(lock) {
                    o.writer = Some((t, at));
                }
                c.push(
                    t,
                    EventKind::Condvar {
                        obj: cv,
                        op: CondvarOp::Woken,
                    },
                    at,
                );
            });
            ModelGuard::new(raw, lock, false)
        })
    }

    pub(crate) fn notify(&self, all: bool, at: Loc) {
        if !active() {
            return if all {
                B::cv_notify_all(&self.inner)
            } else {
                B::cv_notify_one(&self.inner)
            };
        }
        harness(|| {
            count_op();
            let t = tid::<B>();
            let cv = self.id;
            with(|c| {
                if let Some(o) = c.obj(cv) {
                    o.pending = if all {
                        o.waiters
                    } else {
                        (o.pending + 1).min(o.waiters)
                    };
                }
                let op = if all {
                    CondvarOp::NotifyAll
                } else {
                    CondvarOp::NotifyOne
                };
                c.push(t, EventKind::Condvar { obj: cv, op }, at);
            });
            checker(|| {
                if all {
                    B::cv_notify_all(&self.inner)
                } else {
                    B::cv_notify_one(&self.inner)
                }
            });
        })
    }
}

// ------------------------------------------------------------------------------------------
// Threads.

/// A checker's join handle (`R::JoinHandle<T>` under loom and shuttle).
pub struct ModelJoinHandle<T: Send + 'static, B: Checker> {
    raw: B::RawJoin<std::thread::Result<T>>,
    tid: usize,
}

/// A checker's thread handle (`R::Thread` under loom and shuttle).
pub struct ModelThread<B: Checker> {
    raw: B::RawThread,
    tid: usize,
}

impl<B: Checker> Clone for ModelThread<B> {
    fn clone(&self) -> Self {
        ModelThread {
            raw: self.raw.clone(),
            tid: self.tid,
        }
    }
}

/// Spawns a checker thread, registered. A panic of the thread's body that starts in the
/// body (not in the checker) is caught and handed to `join`, as std does; the checker's own
/// panics (its verdicts, its limits) go on to the checker.
#[track_caller]
pub(crate) fn spawn<B: Checker, F, T>(f: F) -> ModelJoinHandle<T, B>
where
    F: FnOnce() -> T + Send + 'static,
    T: Send + 'static,
{
    let at = Location::caller();
    if !active() {
        let raw = B::raw_spawn(move || Ok(f()));
        return ModelJoinHandle { raw, tid: 0 };
    }
    harness(|| {
        count_op();
        let parent = tid::<B>();
        let child = with(|c| {
            c.threads.push(ThreadRec {
                index: None,
                state: TState::Running,
                token: false,
                at: None,
            });
            let child = c.threads.len() - 1;
            c.push(parent, EventKind::Thread(ThreadOp::Spawn(child)), at);
            child
        })
        .unwrap_or(0);
        if let Some(max) = B::MAX_THREADS
            && child >= max
        {
            cap_and_stop(CapHit::Threads {
                needed: child + 1,
                max,
            });
        }
        let raw = checker(|| {
            B::raw_spawn(move || {
                B::set_tid(child);
                let key = B::key();
                with(|c| c.map_key(key, child));
                let seq = panic_seq();
                let r = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| user(f)));
                let r = match r {
                    Ok(v) => Ok(v),
                    Err(p) => {
                        let rec = last_panic();
                        if rec.seq == seq || stopping() || rec.origin != Some(Origin::User) {
                            std::panic::resume_unwind(p)
                        }
                        Err(p)
                    }
                };
                harness(|| {
                    let t = tid::<B>();
                    with(|c| {
                        let op = if r.is_ok() {
                            ThreadOp::Finished
                        } else {
                            ThreadOp::Panicked
                        };
                        c.push(t, EventKind::Thread(op), at);
                        if let Some(rec) = c.threads.get_mut(t) {
                            rec.state = TState::Finished;
                        }
                    });
                });
                r
            })
        });
        ModelJoinHandle { raw, tid: child }
    })
}

impl<T: Send + 'static, B: Checker> JoinApi<T> for ModelJoinHandle<T, B> {
    type Thread = ModelThread<B>;
    #[track_caller]
    fn join(self) -> std::thread::Result<T> {
        let at = Location::caller();
        let ModelJoinHandle { raw, tid: child } = self;
        if !active() {
            return B::raw_join(raw).and_then(|r| r);
        }
        harness(|| {
            count_op();
            let t = tid::<B>();
            with(|c| {
                let done = matches!(
                    c.threads.get(child).map(|r| r.state),
                    Some(TState::Finished)
                );
                if !done {
                    c.push(t, EventKind::Thread(ThreadOp::JoinWait(child)), at);
                }
            });
            wait_or_deadlock(t, Wait::Join(child), at);
            let r = checker(|| B::raw_join(raw));
            with(|c| {
                c.running(t);
                c.push(t, EventKind::Thread(ThreadOp::Joined(child)), at);
            });
            r.and_then(|r| r)
        })
    }
    fn thread(&self) -> ModelThread<B> {
        ModelThread {
            raw: B::raw_join_thread(&self.raw),
            tid: self.tid,
        }
    }
}

impl<B: Checker> ThreadApi for ModelThread<B> {
    #[track_caller]
    fn unpark(&self) {
        let at = Location::caller();
        if !active() {
            return B::raw_unpark(&self.raw);
        }
        harness(|| {
            count_op();
            let t = tid::<B>();
            let target = self.tid;
            with(|c| {
                if let Some(r) = c.threads.get_mut(target) {
                    r.token = true;
                }
                c.push(t, EventKind::Thread(ThreadOp::Unpark(target)), at);
            });
            checker(|| B::raw_unpark(&self.raw));
        })
    }
}

/// The calling thread's handle.
pub(crate) fn current<B: Checker>() -> ModelThread<B> {
    let raw = checker(B::raw_current);
    let tid = if active() { tid::<B>() } else { 0 };
    ModelThread { raw, tid }
}

/// `park` under a checker, registered.
#[track_caller]
pub(crate) fn park<B: Checker>() {
    let at = Location::caller();
    if !active() {
        return B::raw_park();
    }
    harness(|| {
        count_op();
        let t = tid::<B>();
        let has_token = with(|c| c.threads.get(t).is_some_and(|r| r.token)).unwrap_or(false);
        if !has_token {
            with(|c| c.push(t, EventKind::Thread(ThreadOp::Park), at));
            wait_or_deadlock(t, Wait::Park, at);
        }
        checker(B::raw_park);
        with(|c| {
            c.running(t);
            if let Some(r) = c.threads.get_mut(t) {
                r.token = false;
            }
            c.push(t, EventKind::Thread(ThreadOp::Unparked), at);
        });
    })
}

/// Sets the calling thread's scenario index, in the checker's thread-local and the registry.
pub(crate) fn set_index<B: Checker>(index: Option<usize>) {
    if !active() {
        return B::set_index(index);
    }
    {
        let t = tid::<B>();
        with(|c| {
            if let Some(r) = c.threads.get_mut(t) {
                r.index = index;
            }
        });
    }
}

/// The calling thread's scenario index: from the registry during an engine run, else from the
/// checker's thread-local.
pub(crate) fn index<B: Checker>() -> Option<usize> {
    if !active() {
        return B::index();
    }
    let t = tid::<B>();
    with(|c| c.threads.get(t).and_then(|r| r.index)).flatten()
}

/// Runs `f` (a composite primitive's body) attributing its operations to `at`, the caller of
/// the composite.
pub(crate) fn attributed<B: Checker, U>(at: Loc, f: impl FnOnce() -> U) -> U {
    if !active() {
        return f();
    }
    let t = tid::<B>();
    let prev = with(|c| c.threads.get_mut(t).and_then(|r| r.at.replace(at))).flatten();
    let v = f();
    with(|c| {
        if let Some(r) = c.threads.get_mut(t) {
            r.at = prev;
        }
    });
    v
}

// ------------------------------------------------------------------------------------------
// Cells.

/// A checker's `UnsafeCell` (`R::UnsafeCell<T>` under loom and shuttle), recorded.
pub struct ModelCell<C, B> {
    inner: C,
    id: usize,
    _b: PhantomData<fn() -> B>,
}

// SAFETY: a `ModelCell` is a cell: sharing it is exactly as safe as sharing the inner cell, which
// is the structure's responsibility to synchronise (loom checks that it does).
unsafe impl<C: Sync, B> Sync for ModelCell<C, B> {}

impl<T: Send + 'static, C: CellApi<T>, B: Checker> CellApi<T> for ModelCell<C, B> {
    fn new(value: T) -> Self {
        ModelCell {
            inner: checker(|| C::new(value)),
            id: harness(|| with(|c| c.new_obj(Kind::Cell, None)).unwrap_or(usize::MAX)),
            _b: PhantomData,
        }
    }
    #[track_caller]
    fn with<F, U>(&self, f: F) -> U
    where
        F: FnOnce(*const T) -> U,
    {
        self.access(false, Location::caller(), || {
            self.inner.with(|p| user(|| f(p)))
        })
    }
    #[track_caller]
    fn with_mut<F, U>(&self, f: F) -> U
    where
        F: FnOnce(*mut T) -> U,
    {
        self.access(true, Location::caller(), || {
            self.inner.with_mut(|p| user(|| f(p)))
        })
    }
}

impl<C, B: Checker> ModelCell<C, B> {
    fn access<U>(&self, write: bool, at: Loc, f: impl FnOnce() -> U) -> U {
        if !active() {
            return f();
        }
        harness(|| {
            let t = tid::<B>();
            let obj = self.id;
            with(|c| c.push(t, EventKind::Cell { obj, write }, at));
            checker(f)
        })
    }
}

// ------------------------------------------------------------------------------------------
// The boundary between an engine and the structure under test.

/// Runs user code (a scenario's setup, a thread body, the check, the state's drop) inside a
/// model execution. A panic that started in the user's code is the structure's failure: it is
/// recorded (its class from a [`crate::scenario::Failure`] payload, else `panic`) and the
/// execution ends. A panic that started in the checker or in racelab, or an unwinding that no
/// panic hook saw (a teardown, a re-raise), goes on to the checker untouched.
pub(crate) fn run_user<T>(f: impl FnOnce() -> T) -> Option<T> {
    if !active() {
        return Some(f());
    }
    let seq = panic_seq();
    match std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| user(f))) {
        Ok(v) => Some(v),
        Err(payload) => {
            let rec = last_panic();
            if rec.seq == seq || stopping() || rec.origin != Some(Origin::User) {
                std::panic::resume_unwind(payload)
            }
            let (class, message) = match payload.downcast_ref::<crate::scenario::Failure>() {
                Some(f) => (f.class, f.message.clone()),
                None => (
                    BugClass::Panic,
                    crate::engine::payload_text(payload.as_ref()),
                ),
            };
            drop(payload);
            fail_and_stop(class, message, rec.location)
        }
    }
}

/// Records that a cap ended the execution, without ending it (the scheduler is about to).
pub(crate) fn record_cap(cap: CapHit) {
    with(|c| {
        if !c.stopping {
            c.cap = Some(cap);
            c.stopping = true;
        }
    });
}

/// The `Runtime` impl of a checker (and its condvar's `CondvarApi`), the same for loom and
/// shuttle but for the backend's own `Arc` and cell: every primitive is a model wrapper.
macro_rules! model_runtime {
    ($rt:ident, $($atomics:ident)::+, arc = $arc:ty, cell = $cell:ty) => {
        impl $crate::runtime::CondvarApi<$rt> for $crate::runtime::model::ModelCondvar<$rt> {
            fn new() -> Self {
                $crate::runtime::model::ModelCondvar::make()
            }
            #[track_caller]
            fn wait<'a, T: Send + 'static>(
                &self,
                g: $crate::runtime::MutexGuard<'a, $rt, T>,
            ) -> $crate::runtime::MutexGuard<'a, $rt, T> {
                self.wait_guard(g, ::std::panic::Location::caller())
            }
            /// Never times out: a model has no clock (see `CondvarApi::wait_timeout`).
            #[track_caller]
            fn wait_timeout<'a, T: Send + 'static>(
                &self,
                g: $crate::runtime::MutexGuard<'a, $rt, T>,
                _timeout: ::std::time::Duration,
            ) -> ($crate::runtime::MutexGuard<'a, $rt, T>, bool) {
                (self.wait_guard(g, ::std::panic::Location::caller()), false)
            }
            #[track_caller]
            fn notify_one(&self) {
                self.notify(false, ::std::panic::Location::caller())
            }
            #[track_caller]
            fn notify_all(&self) {
                self.notify(true, ::std::panic::Location::caller())
            }
        }

        impl $crate::runtime::Runtime for $rt {
            const NAME: &'static str = <$rt as $crate::runtime::model::Checker>::CHECKER;
            const MODEL: bool = true;
            type AtomicU8 = $crate::runtime::model::ModelAtomic<$($atomics)::+::AtomicU8, $rt>;
            type AtomicU16 = $crate::runtime::model::ModelAtomic<$($atomics)::+::AtomicU16, $rt>;
            type AtomicU32 = $crate::runtime::model::ModelAtomic<$($atomics)::+::AtomicU32, $rt>;
            type AtomicU64 = $crate::runtime::model::ModelAtomic<$($atomics)::+::AtomicU64, $rt>;
            type AtomicUsize = $crate::runtime::model::ModelAtomic<$($atomics)::+::AtomicUsize, $rt>;
            type AtomicI8 = $crate::runtime::model::ModelAtomic<$($atomics)::+::AtomicI8, $rt>;
            type AtomicI16 = $crate::runtime::model::ModelAtomic<$($atomics)::+::AtomicI16, $rt>;
            type AtomicI32 = $crate::runtime::model::ModelAtomic<$($atomics)::+::AtomicI32, $rt>;
            type AtomicI64 = $crate::runtime::model::ModelAtomic<$($atomics)::+::AtomicI64, $rt>;
            type AtomicIsize = $crate::runtime::model::ModelAtomic<$($atomics)::+::AtomicIsize, $rt>;
            type AtomicBool = $crate::runtime::model::ModelAtomic<$($atomics)::+::AtomicBool, $rt>;
            type AtomicPtr<T: 'static> =
                $crate::runtime::model::ModelAtomic<$($atomics)::+::AtomicPtr<T>, $rt>;
            type Mutex<T: Send + 'static> = $crate::runtime::model::ModelMutex<
                <$rt as $crate::runtime::model::Checker>::RawMutex<T>,
                $rt,
            >;
            type ParkingLotMutex<T: Send + 'static> = Self::Mutex<T>;
            type RwLock<T: Send + Sync + 'static> = $crate::runtime::model::ModelRwLock<
                <$rt as $crate::runtime::model::Checker>::RawRwLock<T>,
                $rt,
            >;
            type Condvar = $crate::runtime::model::ModelCondvar<$rt>;
            type Barrier = $crate::runtime::sync::Barrier<$rt>;
            type Once = $crate::runtime::sync::Once<$rt>;
            type Arc<T: Send + Sync + 'static> = $arc;
            type UnsafeCell<T: Send + 'static> = $crate::runtime::model::ModelCell<$cell, $rt>;
            type JoinHandle<T: Send + 'static> = $crate::runtime::model::ModelJoinHandle<T, $rt>;
            type Thread = $crate::runtime::model::ModelThread<$rt>;

            #[track_caller]
            fn spawn<F, T>(f: F) -> Self::JoinHandle<T>
            where
                F: FnOnce() -> T + Send + 'static,
                T: Send + 'static,
            {
                $crate::runtime::model::spawn::<$rt, F, T>(f)
            }
            #[track_caller]
            fn yield_now() {
                $crate::runtime::model::yield_now::<$rt>(false)
            }
            #[track_caller]
            fn spin_loop() {
                $crate::runtime::model::yield_now::<$rt>(true)
            }
            #[track_caller]
            fn fence(order: ::std::sync::atomic::Ordering) {
                $crate::runtime::model::fence::<$rt>(order)
            }
            #[track_caller]
            fn park() {
                $crate::runtime::model::park::<$rt>()
            }
            fn current() -> Self::Thread {
                $crate::runtime::model::current::<$rt>()
            }
            fn thread_index() -> Option<usize> {
                $crate::runtime::model::index::<$rt>()
            }
            fn set_thread_index(index: Option<usize>) {
                $crate::runtime::model::set_index::<$rt>(index)
            }
            fn thread_token() -> usize {
                <$rt as $crate::runtime::model::Checker>::token()
            }
            fn attributed<U>(at: &'static ::std::panic::Location<'static>, f: impl FnOnce() -> U) -> U {
                $crate::runtime::model::attributed::<$rt, U>(at, f)
            }
        }
    };
}
pub(crate) use model_runtime;
