//! Atomics, fences and yields under a checker, recorded.

use super::*;

pub(crate) fn int<V: AtomicInt>(v: V) -> Value {
    Value::Int(v.widen())
}

pub(crate) fn ptr<T>(p: *mut T) -> Value {
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
    pub(crate) fn make(inner: A, init: Value) -> Self {
        let id = harness(|| with(|c| c.new_obj(Kind::Atomic, Some(init))).unwrap_or(usize::MAX));
        ModelAtomic {
            inner,
            id,
            _b: PhantomData,
        }
    }

    /// Runs the checker operation `f`, then records what `event` makes of its result.
    #[inline]
    pub(crate) fn op<V>(
        &self,
        at: Loc,
        f: impl FnOnce(&A) -> V,
        event: impl FnOnce(&V) -> EventKind,
    ) -> V {
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

pub(crate) fn cas_event(
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
pub(crate) trait IntOps: AtomicInt {
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

/// [`crate::runtime::Deadline::passed`] under a checker: the engine's choice, recorded when it
/// fires.
#[track_caller]
pub(crate) fn timer_fires<B: Checker>() -> bool {
    let at = Location::caller();
    if !active() {
        return false;
    }
    harness(|| {
        let fired = with(|c| {
            c.timed_waits += 1;
            c.timer_choice()
        })
        .unwrap_or(false);
        if fired {
            count_op();
            let t = tid::<B>();
            with(|c| c.push(t, EventKind::Thread(ThreadOp::DeadlinePassed), at));
        }
        fired
    })
}
