//! Threads under a checker: spawn (counted against the checker's thread limit), join, park
//! and unpark, registered and recorded.

use super::*;

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
pub(crate) fn spawn<B: Checker, F, T>(name: Option<&str>, f: F) -> ModelJoinHandle<T, B>
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
            c.threads.push(ThreadRec::new(name.map(str::to_string)));
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
                let r = catch_user(f);
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
                    // The last thread that could run is gone: a timed wait's timer fires
                    // now, or the others would sleep forever on a wait that has a timeout.
                    if let Some(tm) =
                        with(|c| (!c.stopping).then(|| c.fire_idle_timer(None)).flatten()).flatten()
                    {
                        checker(|| tm.fire());
                    }
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
