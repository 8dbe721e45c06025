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
