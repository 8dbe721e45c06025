//! Mutexes and reader-writer locks under a checker: holders registered, waits checked for
//! deadlock, acquire and release recorded.

use super::*;

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
    /// The address of the checker's lock it guards (what a firing timer locks).
    raw: usize,
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
    pub(crate) fn new(inner: G, obj: usize, raw: usize, shared: bool) -> Self {
        ModelGuard {
            inner: Some(inner),
            obj,
            raw,
            shared,
            _b: PhantomData,
        }
    }
    /// Takes the inner guard out without recording a release (a condvar wait does that), with
    /// the lock's registry id and the checker lock's address.
    pub(crate) fn take(mut self) -> (G, usize, usize) {
        let g = self.inner.take().expect("a live guard");
        (g, self.obj, self.raw)
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
pub(crate) fn acquire<G, B: Checker>(
    obj: usize,
    raw: usize,
    at: Loc,
    how: Wait,
    shared: bool,
    f: impl FnOnce() -> G,
) -> ModelGuard<G, B> {
    if !active() {
        return ModelGuard::new(f(), obj, raw, shared);
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
        ModelGuard::new(g, obj, raw, shared)
    })
}

pub(crate) fn new_lock_id(kind: Kind) -> usize {
    harness(|| with(|c| c.new_obj(kind, None)).unwrap_or(usize::MAX))
}

impl<M, B> ModelMutex<M, B> {
    /// The address of the checker's mutex inside, for a timer that must lock it.
    fn raw(&self) -> usize {
        std::ptr::from_ref(&self.inner) as usize
    }
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
        acquire(self.id, self.raw(), at, Wait::Lock(self.id), false, || {
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
                .map(|g| ModelGuard::new(g, self.id, self.raw(), false));
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
            g.map(|g| ModelGuard::new(g, obj, self.raw(), false))
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
        acquire(self.id, 0, at, Wait::Read(self.id), true, || {
            self.inner.read()
        })
    }
    #[track_caller]
    fn write(&self) -> Self::WriteGuard<'_> {
        let at = Location::caller();
        acquire(self.id, 0, at, Wait::Write(self.id), false, || {
            self.inner.write()
        })
    }
}
