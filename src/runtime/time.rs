//! Time in the runtime: deadlines, timed waits and sleep — real on [`Std`](super::Std), modelled
//! under the checkers.
//!
//! A model checker has no clock, so a timeout cannot be a duration there. racelab models it as a
//! *choice*: a timed wait may time out wherever a real timer could end it.
//!
//! | engine | where a timer fires |
//! |---|---|
//! | `Std` (stress, benchmarks) | when the duration has passed, by the OS clock |
//! | shuttle random and PCT, proptest | where the wait would block, where it wakes (racing the notification that woke it), at each [`Deadline::passed`] check, and when nothing else can run; the scheduler draws the choice, so it is replayed, and proptest shrinks it away when the failure does not need it |
//! | loom, shuttle DFS | only when nothing else can run: a timed wait is never a deadlock, but an early timeout is not explored (loom has no data choice, and DFS enumerates schedules only) |
//!
//! The duration itself is not read under the checkers: a wait of 1 ns and of an hour are the
//! same choice.

use super::{CondvarApi, MutexGuard, Runtime};
use std::marker::PhantomData;
use std::time::{Duration, Instant};

/// What a runtime can and cannot show: structures and scenarios read these instead of naming
/// a backend.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct Capabilities {
    /// Every operation is seen by a checker that explores interleavings (loom, shuttle): each
    /// extra thread and step multiplies its work.
    pub checked: bool,
    /// It explores every interleaving within its bound (loom), so scenarios must stay tiny.
    pub exhaustive: bool,
    /// A spinning thread is eventually preempted and others make progress (real threads). The
    /// checkers are not fair: a spin loop there must yield or park.
    pub fair: bool,
    /// Time is modelled: a timed wait times out where the engine chooses (see the module).
    pub modelled_time: bool,
    /// A load may return a stale value: loom's C11 model and real hardware. False under
    /// shuttle, which is sequentially consistent.
    pub weak_memory: bool,
    /// The most threads one execution may spawn besides the driver (loom: 4).
    pub max_threads: Option<usize>,
}

/// A point in time after which a wait gives up, or never.
///
/// On real threads it is an [`Instant`]; under the checkers it is a timer the engine fires
/// (see the module). Build one per blocking call, from the caller's timeout, as std's
/// `Condvar::wait_timeout_while` does.
pub struct Deadline<R: Runtime> {
    at: Option<Instant>,
    finite: bool,
    _r: PhantomData<fn() -> R>,
}

impl<R: Runtime> Clone for Deadline<R> {
    fn clone(&self) -> Self {
        *self
    }
}

impl<R: Runtime> Copy for Deadline<R> {}

impl<R: Runtime> std::fmt::Debug for Deadline<R> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match (self.finite, self.at) {
            (false, _) => f.write_str("Deadline(never)"),
            (true, Some(at)) => write!(f, "Deadline({at:?})"),
            (true, None) => f.write_str("Deadline(modelled)"),
        }
    }
}

impl<R: Runtime> Deadline<R> {
    /// A deadline that never passes.
    pub fn never() -> Self {
        Deadline {
            at: None,
            finite: false,
            _r: PhantomData,
        }
    }
    /// `timeout` from now. A timeout too large for the clock never passes.
    pub fn after(timeout: Duration) -> Self {
        if R::CAPS.modelled_time {
            return Deadline {
                at: None,
                finite: true,
                _r: PhantomData,
            };
        }
        match Instant::now().checked_add(timeout) {
            Some(at) => Deadline {
                at: Some(at),
                finite: true,
                _r: PhantomData,
            },
            None => Self::never(),
        }
    }
    /// [`Deadline::after`] for `Some`, [`Deadline::never`] for `None`: the shape of every
    /// `*_timeout(…, Option<Duration>)` method.
    pub fn from_timeout(timeout: Option<Duration>) -> Self {
        timeout.map_or_else(Self::never, Self::after)
    }
    /// Whether it never passes.
    pub fn is_never(&self) -> bool {
        !self.finite
    }
    /// Whether the deadline has passed. Under the engines that choose time, each call is a
    /// point where the timer may fire; elsewhere under the checkers it never has.
    #[track_caller]
    pub fn passed(&self) -> bool {
        if !self.finite {
            return false;
        }
        match self.at {
            Some(at) => Instant::now() >= at,
            None => R::timer_fires(),
        }
    }
    /// Waits on `cv` until notified or until the deadline; the flag is true when it timed out.
    /// The caller re-checks its condition either way: a wakeup can be spurious, stolen, or
    /// race the timer. [`wait_while`] does that loop.
    #[track_caller]
    pub fn wait<'a, T: Send + 'static>(
        &self,
        cv: &R::Condvar,
        guard: MutexGuard<'a, R, T>,
    ) -> (MutexGuard<'a, R, T>, bool) {
        if !self.finite {
            return (cv.wait(guard), false);
        }
        match self.at {
            None => cv.wait_timeout(guard, Duration::ZERO),
            Some(at) => match at.checked_duration_since(Instant::now()) {
                Some(left) if !left.is_zero() => cv.wait_timeout(guard, left),
                _ => (guard, true),
            },
        }
    }
}

/// The one wait of the runtime: blocks on `cv` while `blocked(state)` holds, until `deadline`.
/// Returns the guard and whether it gave up with the condition still holding (a timeout).
///
/// Like std's `Condvar::wait_timeout_while`, but on any [`Runtime`] and a [`Deadline`]. The
/// condition is re-checked after every wakeup and after a timeout, so a notification that races
/// the timer is never lost.
#[track_caller]
pub fn wait_while<'a, R: Runtime, T: Send + 'static>(
    cv: &R::Condvar,
    mut guard: MutexGuard<'a, R, T>,
    deadline: &Deadline<R>,
    mut blocked: impl FnMut(&mut T) -> bool,
) -> (MutexGuard<'a, R, T>, bool) {
    loop {
        if !blocked(&mut guard) {
            return (guard, false);
        }
        let (g, timed_out) = deadline.wait(cv, guard);
        guard = g;
        if timed_out {
            let still = blocked(&mut guard);
            return (guard, still);
        }
    }
}
