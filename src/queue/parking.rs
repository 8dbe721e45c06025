//! The blocking half of a lock-free queue that parks on [`Signal`](crate::runtime::Signal)s:
//! the rings supply their algorithm (`put`, `take`) and where each side sleeps; the waiting,
//! the timeouts and the wakeups are written once, here.

use super::{PopError, PushError};
use crate::runtime::{Deadline, Runtime};
use std::time::Duration;

/// What a sleeper waits for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Waiting {
    /// An item to pop (consumers).
    Items,
    /// Room to push (producers).
    Room,
}

/// A lock-free queue whose blocking operations park.
pub(crate) trait Parks<T: Send + 'static> {
    /// The runtime of its signals.
    type Rt: Runtime;
    /// `try_push` without waking anyone: the algorithm alone.
    fn put(&self, item: T) -> Result<(), PushError<T>>;
    /// `try_pop` without waking anyone: the algorithm alone.
    fn take(&self) -> Result<T, PopError>;
    /// Sleeps on `side` until `ready` returns `Some` or `deadline` passes.
    fn sleep<X>(
        &self,
        side: Waiting,
        deadline: &Deadline<Self::Rt>,
        ready: impl FnMut() -> Option<X>,
    ) -> Option<X>;
    /// Wakes one sleeper of `side` (after a put: `Items`; after a take: `Room`).
    fn wake(&self, side: Waiting);
}

/// `try_push`: the algorithm, then a wakeup for a consumer.
pub(crate) fn try_push<T: Send + 'static, P: Parks<T>>(p: &P, item: T) -> Result<(), PushError<T>> {
    let r = p.put(item);
    if r.is_ok() {
        p.wake(Waiting::Items);
    }
    r
}

/// `try_pop`: the algorithm, then a wakeup for a producer.
pub(crate) fn try_pop<T: Send + 'static, P: Parks<T>>(p: &P) -> Result<T, PopError> {
    let r = p.take();
    if r.is_ok() {
        p.wake(Waiting::Room);
    }
    r
}

/// `push_timeout`: puts, sleeping on [`Waiting::Room`] while full, until the deadline.
pub(crate) fn push_timeout<T: Send + 'static, P: Parks<T>>(
    p: &P,
    item: T,
    timeout: Option<Duration>,
) -> Result<(), PushError<T>> {
    let deadline = Deadline::<P::Rt>::from_timeout(timeout);
    let mut item = Some(item);
    let done = p.sleep(Waiting::Room, &deadline, || {
        match p.put(item.take().expect("a refused push hands its item back")) {
            Err(PushError::Full(back)) => {
                item = Some(back);
                None
            }
            done => Some(done),
        }
    });
    match done {
        Some(r) => {
            if r.is_ok() {
                p.wake(Waiting::Items);
            }
            r
        }
        None => Err(PushError::Timeout(
            item.expect("a timed-out push keeps its item"),
        )),
    }
}

/// `pop_timeout`: takes, sleeping on [`Waiting::Items`] while empty and open, until the deadline.
pub(crate) fn pop_timeout<T: Send + 'static, P: Parks<T>>(
    p: &P,
    timeout: Option<Duration>,
) -> Result<T, PopError> {
    let deadline = Deadline::<P::Rt>::from_timeout(timeout);
    let done = p.sleep(Waiting::Items, &deadline, || match p.take() {
        Err(PopError::Empty) => None,
        done => Some(done),
    });
    match done {
        Some(r) => {
            if r.is_ok() {
                p.wake(Waiting::Room);
            }
            r
        }
        None => Err(PopError::Timeout),
    }
}
