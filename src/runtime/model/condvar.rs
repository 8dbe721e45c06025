//! Condition variables under a checker: waiters and pending notifications counted, so a wait
//! that nobody can end is reported as the deadlock it is.

use super::*;

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
        self.wait_inner(g, at, false).0
    }

    /// A timed wait under modelled time. Where it would block, and again where it wakes, the
    /// engine may let its timer fire (shuttle's random and PCT schedulers, the proptest
    /// engine); under every engine the timer fires when nothing else can run, so a timed wait
    /// is never a deadlock. A timeout that fires at the wait returns without releasing the lock
    /// (as a timeout of zero may); one that fires at the wake races the notification, as a real
    /// timer can.
    pub(crate) fn wait_timed<'a, T: Send + 'static>(
        &self,
        g: ModelGuard<RawGuard<'a, B, T>, B>,
        at: Loc,
    ) -> (ModelGuard<RawGuard<'a, B, T>, B>, bool) {
        if !active() {
            return (self.wait_inner(g, at, false).0, false);
        }
        let early = harness(|| {
            with(|c| c.timed_waits += 1);
            timer_choice()
        });
        if early {
            harness(|| {
                count_op();
                let t = tid::<B>();
                let cv = self.id;
                with(|c| c.push(t, timed_out_event(cv, false), at));
            });
            return (g, true);
        }
        self.wait_inner(g, at, true)
    }

    fn wait_inner<'a, T: Send + 'static>(
        &self,
        g: ModelGuard<RawGuard<'a, B, T>, B>,
        at: Loc,
        timed: bool,
    ) -> (ModelGuard<RawGuard<'a, B, T>, B>, bool) {
        let (raw, lock, mutex) = g.take();
        if !active() {
            return (
                ModelGuard::new(B::cv_wait(&self.inner, raw), lock, mutex, false),
                false,
            );
        }
        harness(|| {
            count_op();
            let t = tid::<B>();
            let cv = self.id;
            let timer = timed.then(|| Timer {
                condvar: std::ptr::from_ref(&self.inner) as usize,
                mutex,
                notify: notify_at::<B, T>,
                fired: false,
                lock_first: false,
            });
            with(|c| {
                if let Some(o) = c.obj(lock) {
                    o.writer = None;
                }
                if let Some(o) = c.obj(cv) {
                    o.waiters += 1;
                }
                if let Some(r) = c.threads.get_mut(t) {
                    r.timer = timer;
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
            if wait_or_deadlock(t, Wait::Condvar { cv, lock }, at) {
                // Nothing else can run: this thread's own timer fires before it sleeps.
                with(|c| {
                    let at = c.resume(t, cv, lock, at, false);
                    c.push(t, timed_out_event(cv, true), at);
                });
                return (ModelGuard::new(raw, lock, mutex, false), true);
            }
            let raw = checker(|| B::cv_wait(&self.inner, raw));
            let timed_out = with(|c| {
                let fired = c
                    .threads
                    .get(t)
                    .and_then(|r| r.timer)
                    .is_some_and(|tm| tm.fired);
                let at = c.resume(t, cv, lock, at, true);
                // A timer may fire at the wake, racing the notification that woke it.
                let timed_out = timed && (fired || c.timer_choice());
                let event = if timed_out {
                    timed_out_event(cv, fired)
                } else {
                    EventKind::Condvar {
                        obj: cv,
                        op: CondvarOp::Woken,
                    }
                };
                c.push(t, event, at);
                timed_out
            })
            .unwrap_or(false);
            (ModelGuard::new(raw, lock, mutex, false), timed_out)
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

fn timed_out_event(cv: usize, idle: bool) -> EventKind {
    EventKind::Condvar {
        obj: cv,
        op: CondvarOp::TimedOut { idle },
    }
}

impl Ctx {
    /// Thread `t` leaves its wait on `cv` holding `lock` again: running, its timer cleared, one
    /// waiter fewer (and one notification consumed if it was `woken`), the lock held. Returns
    /// where it now holds the lock, as the trace names it.
    fn resume(&mut self, t: usize, cv: usize, lock: usize, at: Loc, woken: bool) -> Loc {
        self.running(t);
        if let Some(r) = self.threads.get_mut(t) {
            r.timer = None;
        }
        if let Some(o) = self.obj(cv) {
            o.waiters = o.waiters.saturating_sub(1);
            if woken {
                o.pending = o.pending.saturating_sub(1);
            }
        }
        let at = self.threads.get(t).and_then(|r| r.at).unwrap_or(at);
        if let Some(o) = self.obj(lock) {
            o.writer = Some((t, at));
        }
        at
    }
}

/// `notify_all` on the checker condvar at `cv`, for a timer that fires from another thread;
/// with `mutex`, holding the checker mutex at that address while it notifies.
fn notify_at<B: Checker, T: Send + 'static>(cv: usize, mutex: Option<usize>) {
    // SAFETY: `cv` is the address of the `B::RawCondvar` inside a `ModelCondvar` that a thread
    // is blocked on in `wait_inner`, and `mutex` the address of the `B::RawMutex<T>` inside the
    // `ModelMutex` whose guard it waits with; `wait_inner` borrows both for the whole wait. The
    // registry hands the addresses out only while that thread is registered as waiting (its
    // timer is cleared before the wait returns, and the guard's mutex is typed by the same `T`).
    // The model checkers run one model thread at a time and switch only inside checker
    // operations, and none runs between reading the timer from the registry and this call, so
    // the waiter is still blocked and both objects alive. Locking the mutex may switch to the
    // waiter, which then releases it only to sleep in the condvar: it stays borrowed.
    let (cv, mutex) = unsafe {
        (
            &*(cv as *const B::RawCondvar),
            mutex.map(|m| &*(m as *const B::RawMutex<T>)),
        )
    };
    let guard = mutex.map(MutexApi::lock);
    B::cv_notify_all(cv);
    drop(guard);
}
