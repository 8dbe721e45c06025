//! [`Std`]: real OS threads and std's primitives (parking_lot's mutex for `ParkingLotMutex`).

use super::{CellApi, CondvarApi, JoinApi, MutexGuard, Runtime, ThreadApi};
use std::cell::{Cell, UnsafeCell};
use std::panic::Location;
use std::sync::atomic::{
    AtomicBool, AtomicI8, AtomicI16, AtomicI32, AtomicI64, AtomicIsize, AtomicPtr, AtomicU8,
    AtomicU16, AtomicU32, AtomicU64, AtomicUsize, Ordering,
};
use std::sync::{Arc, Condvar, Mutex, RwLock, RwLockReadGuard, RwLockWriteGuard};
use std::thread::JoinHandle;
use std::time::Duration;

/// Real threads and std's primitives. The runtime of the stress engine and the benchmarks.
///
/// Every primitive is std's own type, so a structure monomorphised over `Std` is the structure
/// written against std. The one addition: a thread about to *block* (a contended lock, a condvar
/// wait, a join, a park) first checks one `Relaxed` flag, and while a stress run is watching it
/// registers what it waits on, so a stress hang can name each thread's wait and release the
/// condvar and park waiters (see `watch`).
#[derive(Debug, Clone, Copy, Default)]
pub struct Std;

std::thread_local! {
    static THREAD_INDEX: Cell<Option<usize>> = const { Cell::new(None) };
}

super::delegate_atomics!(
    u8 => AtomicU8, u16 => AtomicU16, u32 => AtomicU32, u64 => AtomicU64,
    usize => AtomicUsize, i8 => AtomicI8, i16 => AtomicI16, i32 => AtomicI32,
    i64 => AtomicI64, isize => AtomicIsize; AtomicBool, AtomicPtr
);

impl<T: Send + 'static> super::MutexApi<T> for Mutex<T> {
    type Guard<'a> = std::sync::MutexGuard<'a, T>;
    #[inline]
    fn new(value: T) -> Self {
        Mutex::new(value)
    }
    #[inline]
    #[track_caller]
    fn lock(&self) -> Self::Guard<'_> {
        let _t = if watch::watching() {
            if let Some(g) = super::MutexApi::try_lock(self) {
                return g;
            }
            Some(watch::register(
                watch::What::Lock,
                addr(self),
                Location::caller(),
                None,
            ))
        } else {
            None
        };
        Mutex::lock(self).unwrap_or_else(std::sync::PoisonError::into_inner)
    }
    #[inline]
    fn try_lock(&self) -> Option<Self::Guard<'_>> {
        match Mutex::try_lock(self) {
            Ok(g) => Some(g),
            Err(std::sync::TryLockError::Poisoned(p)) => Some(p.into_inner()),
            Err(std::sync::TryLockError::WouldBlock) => None,
        }
    }
}

impl<T: Send + 'static> super::MutexApi<T> for parking_lot::Mutex<T> {
    type Guard<'a> = parking_lot::MutexGuard<'a, T>;
    #[inline]
    fn new(value: T) -> Self {
        parking_lot::Mutex::new(value)
    }
    #[inline]
    #[track_caller]
    fn lock(&self) -> Self::Guard<'_> {
        if watch::watching() {
            if let Some(g) = parking_lot::Mutex::try_lock(self) {
                return g;
            }
            let _t = watch::register(watch::What::Lock, addr(self), Location::caller(), None);
            return parking_lot::Mutex::lock(self);
        }
        parking_lot::Mutex::lock(self)
    }
    #[inline]
    fn try_lock(&self) -> Option<Self::Guard<'_>> {
        parking_lot::Mutex::try_lock(self)
    }
}

impl<T: Send + Sync + 'static> super::RwLockApi<T> for RwLock<T> {
    type ReadGuard<'a> = RwLockReadGuard<'a, T>;
    type WriteGuard<'a> = RwLockWriteGuard<'a, T>;
    #[inline]
    fn new(value: T) -> Self {
        RwLock::new(value)
    }
    #[inline]
    #[track_caller]
    fn read(&self) -> RwLockReadGuard<'_, T> {
        let _t = if watch::watching() {
            if let Ok(g) = RwLock::try_read(self) {
                return g;
            }
            Some(watch::register(
                watch::What::Read,
                addr(self),
                Location::caller(),
                None,
            ))
        } else {
            None
        };
        RwLock::read(self).unwrap_or_else(std::sync::PoisonError::into_inner)
    }
    #[inline]
    #[track_caller]
    fn write(&self) -> RwLockWriteGuard<'_, T> {
        let _t = if watch::watching() {
            if let Ok(g) = RwLock::try_write(self) {
                return g;
            }
            Some(watch::register(
                watch::What::Write,
                addr(self),
                Location::caller(),
                None,
            ))
        } else {
            None
        };
        RwLock::write(self).unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

fn addr<T: ?Sized>(r: &T) -> usize {
    std::ptr::from_ref(r).cast::<u8>() as usize
}

impl<T: Send + 'static> JoinApi<T> for JoinHandle<T> {
    type Thread = std::thread::Thread;
    #[inline]
    #[track_caller]
    fn join(self) -> std::thread::Result<T> {
        // Read here: inside the closure below it would name this file, not the caller.
        let at = Location::caller();
        let _t = watch::watching().then(|| watch::register(watch::What::Join, 0, at, None));
        JoinHandle::join(self)
    }
    #[inline]
    fn thread(&self) -> std::thread::Thread {
        JoinHandle::thread(self).clone()
    }
}

impl ThreadApi for std::thread::Thread {
    #[inline]
    fn unpark(&self) {
        std::thread::Thread::unpark(self)
    }
}

impl CondvarApi<Std> for Condvar {
    #[inline]
    fn new() -> Self {
        Condvar::new()
    }
    #[inline]
    #[track_caller]
    fn wait<'a, T: Send + 'static>(&self, g: MutexGuard<'a, Std, T>) -> MutexGuard<'a, Std, T> {
        if watch::watching() {
            let t = watch::register(
                watch::What::Condvar,
                addr(self),
                Location::caller(),
                Some(watch::Wake::Condvar(std::ptr::from_ref(self))),
            );
            let g = Condvar::wait(self, g).unwrap_or_else(std::sync::PoisonError::into_inner);
            return watch::after_wait(t, g);
        }
        Condvar::wait(self, g).unwrap_or_else(std::sync::PoisonError::into_inner)
    }
    #[inline]
    #[track_caller]
    fn wait_timeout<'a, T: Send + 'static>(
        &self,
        g: MutexGuard<'a, Std, T>,
        timeout: Duration,
    ) -> (MutexGuard<'a, Std, T>, bool) {
        let t = watch::watching().then(|| {
            watch::register(
                watch::What::Condvar,
                addr(self),
                Location::caller(),
                Some(watch::Wake::Condvar(std::ptr::from_ref(self))),
            )
        });
        let (g, r) = Condvar::wait_timeout(self, g, timeout)
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let g = match t {
            Some(t) => watch::after_wait(t, g),
            None => g,
        };
        (g, r.timed_out())
    }
    #[inline]
    fn notify_one(&self) {
        Condvar::notify_one(self)
    }
    #[inline]
    fn notify_all(&self) {
        Condvar::notify_all(self)
    }
}

impl<T: Send + Sync + 'static> super::ArcApi<T> for Arc<T> {
    #[inline]
    fn new(value: T) -> Self {
        Arc::new(value)
    }
    #[inline]
    fn try_unwrap(this: Self) -> Result<T, Self> {
        Arc::try_unwrap(this)
    }
}

/// An unchecked `UnsafeCell` with loom's closure API, for the std and shuttle runtimes.
///
/// It is `Sync` so that a structure can share it, exactly like the `UnsafeCell` inside any lock;
/// the structure that shares it is responsible for synchronising the accesses.
#[derive(Debug, Default)]
pub struct PlainCell<T>(UnsafeCell<T>);

// SAFETY: `PlainCell` only hands out raw pointers; dereferencing them is `unsafe` at the use site,
// where the structure must show that accesses are synchronised (as `std::sync::Mutex` does for
// its own `UnsafeCell`). `T: Send` because another thread may end up owning the value.
unsafe impl<T: Send> Sync for PlainCell<T> {}

impl<T: Send + 'static> CellApi<T> for PlainCell<T> {
    #[inline]
    fn new(value: T) -> Self {
        PlainCell(UnsafeCell::new(value))
    }
    #[inline]
    fn with<F, U>(&self, f: F) -> U
    where
        F: FnOnce(*const T) -> U,
    {
        f(self.0.get())
    }
    #[inline]
    fn with_mut<F, U>(&self, f: F) -> U
    where
        F: FnOnce(*mut T) -> U,
    {
        f(self.0.get())
    }
}

/// The body of a thread spawned from `f`'s parent: it belongs to the parent's stress run (so its
/// waits are watched and released with the run's) and is quiet if the parent is (a structure's
/// thread inside an engine run prints no panic the structure catches, a pool's job's).
fn inherit<F, T>(f: F) -> impl FnOnce() -> T + Send + 'static
where
    F: FnOnce() -> T + Send + 'static,
    T: Send + 'static,
{
    let run = watch::current_run();
    let quiet = crate::engine::Quiet::is_on();
    move || {
        watch::join_run(run);
        let _quiet = quiet.then(crate::engine::Quiet::new);
        f()
    }
}

impl Runtime for Std {
    const NAME: &'static str = "std";
    const MODEL: bool = false;
    const CAPS: super::Capabilities = super::Capabilities {
        checked: false,
        exhaustive: false,
        fair: true,
        modelled_time: false,
        weak_memory: true,
        max_threads: None,
    };
    type AtomicU8 = AtomicU8;
    type AtomicU16 = AtomicU16;
    type AtomicU32 = AtomicU32;
    type AtomicU64 = AtomicU64;
    type AtomicUsize = AtomicUsize;
    type AtomicI8 = AtomicI8;
    type AtomicI16 = AtomicI16;
    type AtomicI32 = AtomicI32;
    type AtomicI64 = AtomicI64;
    type AtomicIsize = AtomicIsize;
    type AtomicBool = AtomicBool;
    type AtomicPtr<T: 'static> = AtomicPtr<T>;
    type Mutex<T: Send + 'static> = Mutex<T>;
    type ParkingLotMutex<T: Send + 'static> = parking_lot::Mutex<T>;
    type RwLock<T: Send + Sync + 'static> = RwLock<T>;
    type Condvar = Condvar;
    type Barrier = super::sync::Barrier<Std>;
    type Once = std::sync::Once;
    type Arc<T: Send + Sync + 'static> = Arc<T>;
    type UnsafeCell<T: Send + 'static> = PlainCell<T>;
    type JoinHandle<T: Send + 'static> = JoinHandle<T>;
    type Thread = std::thread::Thread;

    fn spawn<F, T>(f: F) -> JoinHandle<T>
    where
        F: FnOnce() -> T + Send + 'static,
        T: Send + 'static,
    {
        std::thread::spawn(inherit(f))
    }
    fn spawn_named<F, T>(name: &str, f: F) -> JoinHandle<T>
    where
        F: FnOnce() -> T + Send + 'static,
        T: Send + 'static,
    {
        std::thread::Builder::new()
            .name(name.to_string())
            .spawn(inherit(f))
            .unwrap_or_else(|e| panic!("cannot spawn thread `{name}`: {e}"))
    }
    #[inline]
    fn yield_now() {
        std::thread::yield_now()
    }
    fn sleep(d: std::time::Duration) {
        std::thread::sleep(d)
    }
    #[inline]
    fn spin_loop() {
        std::hint::spin_loop()
    }
    #[inline]
    fn fence(order: Ordering) {
        std::sync::atomic::fence(order)
    }
    #[inline]
    #[track_caller]
    fn park() {
        if watch::watching() {
            let t = watch::register(
                watch::What::Park,
                0,
                Location::caller(),
                Some(watch::Wake::Thread(std::thread::current())),
            );
            std::thread::park();
            watch::after_wait(t, ());
            return;
        }
        std::thread::park()
    }
    #[inline]
    fn current() -> std::thread::Thread {
        std::thread::current()
    }
    #[inline]
    fn thread_index() -> Option<usize> {
        THREAD_INDEX.with(Cell::get)
    }
    #[inline]
    fn set_thread_index(index: Option<usize>) {
        THREAD_INDEX.with(|c| c.set(index))
    }
    #[inline]
    fn thread_token() -> usize {
        THREAD_INDEX.with(|c| std::ptr::from_ref(c) as usize)
    }
    fn attributed<U>(at: &'static Location<'static>, f: impl FnOnce() -> U) -> U {
        watch::attributed(at, f)
    }
}

/// The wait registry of real threads, kept only while a stress run watches (one `Relaxed` load
/// otherwise, on the blocking paths only).
///
/// A thread of a watched run that is about to block registers what it waits on and where; the
/// stress watchdog reads the registry to say which thread waits on what when a round makes no
/// progress, then *releases* the waiters it can: condvar waiters are notified and parked threads
/// unparked, and each wakes to find its run aborted and unwinds with [`Abandoned`]. A thread
/// blocked in a lock or a join cannot be released; the stress report counts it as leaked.
pub(crate) mod watch {
    use std::cell::Cell;
    use std::panic::Location;
    use std::sync::Mutex;
    use std::sync::atomic::{AtomicUsize, Ordering};

    type Loc = &'static Location<'static>;

    /// How many stress runs are watching, process-wide.
    static WATCHING: AtomicUsize = AtomicUsize::new(0);

    std::thread_local! {
        /// The watched run this thread belongs to (0: none).
        static RUN: Cell<u64> = const { Cell::new(0) };
        /// The caller of a composite primitive (a barrier), for the waits it is made of.
        static AT: Cell<Option<Loc>> = const { Cell::new(None) };
    }

    /// What a thread waits on.
    #[derive(Debug, Clone, Copy, PartialEq, Eq)]
    pub(crate) enum What {
        Lock,
        Read,
        Write,
        Condvar,
        Join,
        Park,
    }

    /// How to release a waiter.
    pub(crate) enum Wake {
        Condvar(*const std::sync::Condvar),
        Thread(std::thread::Thread),
    }

    struct Entry {
        key: u64,
        run: u64,
        thread: String,
        what: What,
        obj: usize,
        at: Loc,
        wake: Option<Wake>,
    }

    // SAFETY: the only non-`Send` field is the condvar pointer of `Wake::Condvar`. It is
    // dereferenced only by `abort`, under the registry lock, and an entry is removed (by its
    // `Ticket`, under the same lock) before the waiting frame that borrows the condvar returns,
    // so the pointee is alive whenever the pointer is used.
    unsafe impl Send for Entry {}

    #[derive(Default)]
    struct Registry {
        next: u64,
        entries: Vec<Entry>,
        aborted: Vec<u64>,
    }

    static REG: Mutex<Registry> = Mutex::new(Registry {
        next: 1,
        entries: Vec::new(),
        aborted: Vec::new(),
    });

    fn reg() -> std::sync::MutexGuard<'static, Registry> {
        REG.lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// The payload a released waiter unwinds with.
    #[derive(Debug)]
    pub(crate) struct Abandoned;

    /// Whether this thread's blocking should be registered.
    #[inline]
    pub(crate) fn watching() -> bool {
        WATCHING.load(Ordering::Relaxed) != 0 && RUN.with(Cell::get) != 0
    }

    /// The run of the calling thread (threads a structure spawns inherit it).
    pub(crate) fn current_run() -> u64 {
        RUN.with(Cell::get)
    }

    /// Makes the calling thread part of `run`.
    pub(crate) fn join_run(run: u64) {
        RUN.with(|r| r.set(run));
    }

    /// Starts watching a new run; returns its id.
    pub(crate) fn start_run() -> u64 {
        WATCHING.fetch_add(1, Ordering::Relaxed);
        let mut r = reg();
        r.next += 1;
        r.next
    }

    /// Stops watching `run`. Entries of threads still blocked stay until those threads return.
    pub(crate) fn end_run(run: u64) {
        let _ = run;
        WATCHING.fetch_sub(1, Ordering::Relaxed);
    }

    /// Removes its entry when dropped.
    pub(crate) struct Ticket(u64, u64);

    impl Drop for Ticket {
        fn drop(&mut self) {
            let mut r = reg();
            if let Some(p) = r.entries.iter().position(|e| e.key == self.0) {
                r.entries.swap_remove(p);
            }
        }
    }

    /// Registers the calling thread as waiting on `what`.
    #[cold]
    pub(crate) fn register(what: What, obj: usize, at: Loc, wake: Option<Wake>) -> Ticket {
        let run = RUN.with(Cell::get);
        let at = AT.with(Cell::get).unwrap_or(at);
        let thread = match <super::Std as super::Runtime>::thread_index() {
            Some(i) => format!("T{}", i + 1),
            None => std::thread::current()
                .name()
                .map_or_else(|| "a spawned thread".to_string(), str::to_string),
        };
        let mut r = reg();
        r.next += 1;
        let key = r.next;
        r.entries.push(Entry {
            key,
            run,
            thread,
            what,
            obj,
            at,
            wake,
        });
        Ticket(key, run)
    }

    /// After a registered wait returned: deregisters, and unwinds if the run was aborted.
    pub(crate) fn after_wait<G>(t: Ticket, g: G) -> G {
        let run = t.1;
        drop(t);
        if reg().aborted.contains(&run) {
            drop(g);
            std::panic::resume_unwind(Box::new(Abandoned));
        }
        g
    }

    /// Runs `f` attributing the waits it makes to `at`.
    pub(crate) fn attributed<U>(at: Loc, f: impl FnOnce() -> U) -> U {
        if !watching() {
            return f();
        }
        let prev = AT.with(|a| a.replace(Some(at)));
        let v = f();
        AT.with(|a| a.set(prev));
        v
    }

    /// One blocked thread, as a stress report prints it.
    #[derive(Debug, Clone)]
    pub(crate) struct Blocked {
        pub thread: String,
        pub text: String,
    }

    /// Who in `run` waits on what now.
    pub(crate) fn snapshot(run: u64) -> Vec<Blocked> {
        let r = reg();
        let mut objs: Vec<(What, usize)> = Vec::new();
        let mut out = Vec::new();
        for e in r.entries.iter().filter(|e| e.run == run) {
            let kind = match e.what {
                What::Lock => "lock",
                What::Read | What::Write => "rwlock",
                What::Condvar => "condvar",
                What::Join | What::Park => "",
            };
            let key = (
                if e.what == What::Read {
                    What::Write
                } else {
                    e.what
                },
                e.obj,
            );
            let n = match objs.iter().position(|o| *o == key) {
                Some(p) => p + 1,
                None => {
                    objs.push(key);
                    objs.len()
                }
            };
            let what = match e.what {
                What::Lock => format!("waits for {kind}@{n}"),
                What::Read => format!("waits for a shared hold of {kind}@{n}"),
                What::Write => format!("waits for {kind}@{n}"),
                What::Condvar => format!("waits on {kind}@{n}"),
                What::Join => "waits to join a thread".to_string(),
                What::Park => "is parked".to_string(),
            };
            out.push(Blocked {
                thread: e.thread.clone(),
                text: format!("{} {what}, at {}:{}", e.thread, e.at.file(), e.at.line()),
            });
        }
        out.sort_by(|a, b| a.thread.cmp(&b.thread));
        out
    }

    /// Marks `run` aborted and releases its condvar and park waiters.
    pub(crate) fn abort(run: u64) {
        let mut r = reg();
        r.aborted.push(run);
        for e in r.entries.iter().filter(|e| e.run == run) {
            match &e.wake {
                // SAFETY: see `Entry`: the waiter that registered this entry is still inside
                // its wait (its ticket would have removed the entry, under this lock we hold),
                // and that frame borrows the condvar, so it is alive.
                Some(Wake::Condvar(cv)) => unsafe { (**cv).notify_all() },
                Some(Wake::Thread(t)) => t.unpark(),
                None => {}
            }
        }
    }
}
