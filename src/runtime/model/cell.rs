//! `UnsafeCell` under a checker, recorded.

use super::*;

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
    pub(crate) fn access<U>(&self, write: bool, at: Loc, f: impl FnOnce() -> U) -> U {
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
