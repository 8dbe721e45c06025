//! The per-execution context: the trace, the thread table, the objects and their holders and
//! waiters (the wait registry), the caps, and the failure recorded for the execution.

use super::*;

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
pub(crate) enum Kind {
    Atomic,
    Lock,
    RwLock,
    Condvar,
    Cell,
}

impl Kind {
    pub(crate) fn name(self) -> &'static str {
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
pub(crate) struct Obj {
    pub(crate) kind: Kind,
    pub(crate) ordinal: usize,
    /// Exclusive holder and where it took the lock.
    pub(crate) writer: Option<(usize, Loc)>,
    /// Shared holders.
    pub(crate) readers: Vec<(usize, Loc)>,
    /// Threads waiting on this condvar.
    pub(crate) waiters: usize,
    /// Notifications not yet consumed by a waiter (a notify wakes one *current* waiter).
    pub(crate) pending: usize,
    /// The latest value stored, in trace order, and by whom.
    pub(crate) last: Option<Value>,
}

#[derive(Debug, Clone, Copy)]
pub(crate) enum Wait {
    Lock(usize),
    Read(usize),
    Write(usize),
    Condvar { cv: usize, lock: usize },
    Join(usize),
    Park,
}

#[derive(Debug, Clone, Copy)]
pub(crate) enum TState {
    Running,
    Waiting(Wait, Loc),
    Finished,
}

#[derive(Debug)]
pub(crate) struct ThreadRec {
    pub(crate) index: Option<usize>,
    /// The role a structure gave it (`spawn_named`), numbered per name in traces.
    pub(crate) name: Option<String>,
    pub(crate) state: TState,
    pub(crate) token: bool,
    /// Where a composite primitive (barrier, once) was called, for the ops it is made of.
    pub(crate) at: Option<Loc>,
    /// The timer of the timed wait this thread is in, if any.
    pub(crate) timer: Option<Timer>,
}

impl ThreadRec {
    pub(crate) fn new(name: Option<String>) -> Self {
        ThreadRec {
            index: None,
            name,
            state: TState::Running,
            token: false,
            at: None,
            timer: None,
        }
    }
}

/// The timer of a thread in a timed condvar wait (modelled time). When nothing else can run,
/// the timer fires: `fired` is set and the condvar is notified through [`Timer::fire`], so the
/// waiter wakes and reports that it timed out.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Timer {
    /// The address of the checker's condvar the thread waits on.
    pub(crate) condvar: usize,
    /// The address of the checker's mutex it waits with.
    pub(crate) mutex: usize,
    /// Notifies all on the condvar at `condvar`, first locking the mutex at the second address
    /// if one is given (typed by the backend and the mutex's value type).
    pub(crate) notify: fn(usize, Option<usize>),
    pub(crate) fired: bool,
    /// Set when it fires: whether the firing thread must take the mutex before it notifies.
    pub(crate) lock_first: bool,
}

impl Timer {
    /// Wakes the waiter. Both checkers have a scheduling point inside a condvar wait while the
    /// waiter still holds its mutex, before it is queued on the condvar; a notification sent
    /// from there would be lost. Taking the mutex first waits until the waiter has released it,
    /// which the checkers do in the same step as queueing it.
    pub(crate) fn fire(self) {
        (self.notify)(self.condvar, self.lock_first.then_some(self.mutex))
    }
}

/// What a thread about to block learns from the registry.
pub(crate) enum Blocked {
    /// Another thread can proceed: block.
    Go,
    /// Nobody can proceed and no timer can fire: the report.
    Deadlock(String),
    /// Nobody else can proceed, but this thread's own timer can fire: time out now.
    TimeOutSelf,
    /// Nobody can proceed; another thread's timer fires: notify its condvar, then block.
    Fire(Timer),
}

/// The context of the executions of one engine run on this OS thread.
pub(crate) struct Ctx {
    pub(crate) checker: &'static str,
    pub(crate) mode: TraceMode,
    pub(crate) events: Vec<Event>,
    pub(crate) threads: Vec<ThreadRec>,
    pub(crate) objects: Vec<Obj>,
    pub(crate) counts: [usize; 5],
    pub(crate) ops: u64,
    pub(crate) max_ops: u64,
    /// A failure or cap has been recorded: the execution is ending.
    pub stopping: bool,
    pub failure: Option<Recorded>,
    pub cap: Option<CapHit>,
    /// How the current execution ends itself (the backend's `stop_execution`).
    pub(crate) stop: fn() -> !,
    /// The calling model thread's key (the backend's `key`).
    pub(crate) key: fn() -> usize,
    /// key → thread id.
    pub(crate) keys: Vec<usize>,
    /// Whether the engine chooses when timers fire (shuttle's random and PCT schedulers, the
    /// proptest engine). Otherwise (loom, DFS) a timer fires only when nothing else can run.
    pub(crate) time_choices: bool,
    /// The engine's source of choices (the scheduler's `next_u64`).
    pub(crate) random: fn() -> u64,
    /// Timed waits begun in this run (all executions): a pass over them names how time was
    /// explored.
    pub(crate) timed_waits: u64,
}

std::thread_local! {
    static CTX: RefCell<Option<Ctx>> = const { RefCell::new(None) };
    static ACTIVE: Cell<bool> = const { Cell::new(false) };
}

/// How many OS threads have a recording context: the fast path of `trace::event`.
pub(crate) static RECORDERS: AtomicUsize = AtomicUsize::new(0);

/// Whether user trace events are recorded on this OS thread now.
#[inline]
pub(crate) fn recording() -> bool {
    RECORDERS.load(Ordering::Relaxed) != 0 && ACTIVE.with(Cell::get)
}

#[inline]
pub(crate) fn active() -> bool {
    ACTIVE.with(Cell::get)
}

/// Runs `f` on the context, if there is one and it is not borrowed.
#[inline]
pub(crate) fn with<U>(f: impl FnOnce(&mut Ctx) -> U) -> Option<U> {
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
            time_choices: false,
            random: B::random,
            timed_waits: 0,
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
        c.threads.push(ThreadRec::new(None));
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
pub(crate) fn tid<B: Checker>() -> usize {
    let k = B::key();
    with(|c| c.tid_of(k)).unwrap_or(k)
}

impl Ctx {
    pub(crate) fn tid_of(&self, key: usize) -> usize {
        self.keys.get(key).copied().unwrap_or(key)
    }

    pub(crate) fn current(&self) -> usize {
        self.tid_of((self.key)())
    }

    pub(crate) fn map_key(&mut self, key: usize, tid: usize) {
        if self.keys.len() <= key {
            let n = self.keys.len();
            self.keys.extend(n..=key);
        }
        self.keys[key] = tid;
    }

    pub(crate) fn record(&mut self, class: BugClass, message: String, location: Option<String>) {
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

    pub(crate) fn thread_names(&self) -> Vec<String> {
        let mut seen: Vec<(&str, usize)> = Vec::new();
        self.threads
            .iter()
            .enumerate()
            .map(|(t, r)| match (t, r.index) {
                (_, Some(i)) => format!("T{}", i + 1),
                (0, None) => "main".to_string(),
                (_, None) => {
                    let base = r.name.as_deref().unwrap_or("thread");
                    let n = match seen.iter_mut().find(|(b, _)| *b == base) {
                        Some((_, n)) => {
                            *n += 1;
                            *n
                        }
                        None => {
                            seen.push((base, 1));
                            1
                        }
                    };
                    format!("{base}#{n}")
                }
            })
            .collect()
    }

    pub(crate) fn trace(&self) -> Trace {
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

    pub(crate) fn push(&mut self, thread: usize, kind: EventKind, at: Loc) {
        self.push_at(thread, kind, Some(at));
    }

    pub(crate) fn push_at(&mut self, thread: usize, kind: EventKind, at: Option<Loc>) {
        if self.mode == TraceMode::Full {
            let at = self.threads.get(thread).and_then(|t| t.at).or(at);
            self.events.push(Event { thread, kind, at });
        }
    }

    pub(crate) fn new_obj(&mut self, kind: Kind, init: Option<Value>) -> usize {
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

    pub(crate) fn obj(&mut self, id: usize) -> Option<&mut Obj> {
        self.objects.get_mut(id)
    }

    pub(crate) fn obj_name(&self, id: usize) -> String {
        self.objects.get(id).map_or("an object".into(), |o| {
            format!("{}#{}", o.kind.name(), o.ordinal)
        })
    }

    /// Whether thread `t` cannot proceed until another thread acts.
    pub(crate) fn stuck(&self, t: usize) -> bool {
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

    /// Marks `t` as waiting. If no thread can proceed now, a timer fires (this thread's own
    /// first, else the lowest-numbered waiting thread's), or else it is a deadlock.
    pub(crate) fn wait(&mut self, t: usize, w: Wait, at: Loc) -> Blocked {
        let at = self.threads.get(t).and_then(|r| r.at).unwrap_or(at);
        let Some(rec) = self.threads.get_mut(t) else {
            return Blocked::Go;
        };
        rec.state = TState::Waiting(w, at);
        let all = (0..self.threads.len()).all(|i| self.stuck(i));
        let any_waiting = self
            .threads
            .iter()
            .any(|r| matches!(r.state, TState::Waiting(..)));
        if !(all && any_waiting) {
            return Blocked::Go;
        }
        if self.threads[t].timer.is_some_and(|tm| !tm.fired) {
            return Blocked::TimeOutSelf;
        }
        match self.fire_idle_timer(Some(t)) {
            Some(tm) => Blocked::Fire(tm),
            None => Blocked::Deadlock(self.deadlock_report()),
        }
    }

    /// When no thread can proceed and one waits on a condvar with a timer that has not fired,
    /// fires that timer: marks the lowest-numbered such thread's timer fired and its condvar
    /// notified; the caller (thread `by`, or a thread that has finished)
    /// wakes it with [`Timer::fire`].
    pub(crate) fn fire_idle_timer(&mut self, by: Option<usize>) -> Option<Timer> {
        if !(0..self.threads.len()).all(|i| self.stuck(i)) {
            return None;
        }
        let armed = self
            .threads
            .iter_mut()
            .find_map(|r| match (&mut r.timer, r.state) {
                (Some(tm), TState::Waiting(Wait::Condvar { .. }, _)) if !tm.fired => {
                    tm.fired = true;
                    Some((*tm, r.state))
                }
                _ => None,
            });
        let Some((mut tm, TState::Waiting(Wait::Condvar { cv, lock }, _))) = armed else {
            return None;
        };
        if let Some(o) = self.obj(cv) {
            o.pending = o.waiters;
        }
        // The firing thread takes the mutex first unless someone holds it as far as the
        // registry knows (then the waiter released it, so it is queued), or the firing thread
        // is itself entering a wait with it (it holds it in the checker: the waiter is queued).
        let held = self.objects.get(lock).is_some_and(|o| o.writer.is_some());
        let own = by.is_some_and(|b| {
            matches!(
                self.threads.get(b).map(|r| r.state),
                Some(TState::Waiting(Wait::Condvar { lock: l, .. }, _)) if l == lock
            )
        });
        tm.lock_first = !held && !own;
        Some(tm)
    }

    /// Whether a timer fires here, by the engine's choice (never when it does not choose).
    /// About one draw in four fires; a proptest choice of 0 (what shrinking tends to) does not.
    pub(crate) fn timer_choice(&mut self) -> bool {
        self.time_choices && (self.random)() & 0xFF >= 0xC0
    }

    pub(crate) fn running(&mut self, t: usize) {
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

    pub(crate) fn count_op(&mut self) -> bool {
        self.ops += 1;
        self.ops > self.max_ops
    }
}

/// Counts one operation against the execution's cap; past it, ends the execution.
#[inline]
pub(crate) fn count_op() {
    if with(|c| !c.stopping && c.count_op()).unwrap_or(false) {
        let max = with(|c| c.max_ops).unwrap_or(0);
        cap_and_stop(CapHit::Ops(max));
    }
}

/// Marks thread `t` waiting on `w`; ends the execution with a deadlock if nobody can proceed
/// and no timer can fire. Returns true when `t`'s own timer fired instead (it must not block).
pub(crate) fn wait_or_deadlock(t: usize, w: Wait, at: Loc) -> bool {
    match with(|c| {
        if c.stopping {
            Blocked::Go
        } else {
            c.wait(t, w, at)
        }
    }) {
        Some(Blocked::Deadlock(report)) => {
            fail_and_stop(BugClass::Deadlock, format!("deadlock: {report}"), None)
        }
        Some(Blocked::TimeOutSelf) => true,
        Some(Blocked::Fire(tm)) => {
            checker(|| tm.fire());
            false
        }
        Some(Blocked::Go) | None => false,
    }
}

/// Whether the engine lets a timer fire at this point (modelled time).
pub(crate) fn timer_choice() -> bool {
    with(|c| c.timer_choice()).unwrap_or(false)
}

/// Whether the run met timed waits while its engine did not choose when timers fire.
pub(crate) fn idle_timers_only() -> bool {
    with(|c| c.timed_waits > 0 && !c.time_choices).unwrap_or(false)
}

/// Lets the engine choose when timers fire for the rest of this run.
pub(crate) fn set_time_choices(on: bool) {
    with(|c| c.time_choices = on);
}

/// The report of a deadlock the checker detected itself, from the registry.
pub(crate) fn deadlock_report() -> Option<String> {
    with(|c| c.deadlock_report())
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
