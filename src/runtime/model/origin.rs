//! Where a panic started: the marks on racelab's, the checker's and the user's frames, the
//! panic record the hook keeps, and the boundary (`run_user`) between an engine and the
//! structure under test.

use super::*;

/// Whose code a panic started in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Origin {
    /// The structure under test, its scenario or its check.
    User,
    /// The model checker's own code (its verdicts, its limits, its machinery).
    Checker,
    /// racelab's own code: a bug of racelab's.
    Harness,
}

/// The last panic that started on this OS thread, as the panic hook saw it.
#[derive(Debug, Clone, Default)]
pub(crate) struct PanicRecord {
    /// How many panics have started on this OS thread.
    pub seq: u64,
    /// Set by the first marked frame the unwinding passed.
    pub origin: Option<Origin>,
    /// The payload's text.
    pub message: String,
    /// Where it was raised.
    pub location: Option<String>,
}

std::thread_local! {
    static PANIC: RefCell<PanicRecord> = RefCell::new(PanicRecord::default());
}

/// Called by racelab's panic hook at the start of every panic.
pub(crate) fn on_panic(info: &std::panic::PanicHookInfo<'_>) {
    let message = crate::engine::payload_text(info.payload());
    let location = info
        .location()
        .map(|l| format!("{}:{}", l.file(), l.line()));
    let _ = PANIC.try_with(|p| {
        if let Ok(mut p) = p.try_borrow_mut() {
            p.seq += 1;
            p.origin = None;
            p.message = message;
            p.location = location;
        }
    });
}

/// The number of panics started on this OS thread so far.
pub(crate) fn panic_seq() -> u64 {
    PANIC.with(|p| p.borrow().seq)
}

/// The last panic's record.
pub(crate) fn last_panic() -> PanicRecord {
    PANIC.with(|p| p.borrow().clone())
}

/// A frame marker: dropped only when unwinding passes its frame (it is forgotten on a normal
/// return), it sets the panic's origin if no inner frame did.
pub(crate) struct Mark(Origin);

impl Drop for Mark {
    fn drop(&mut self) {
        let _ = PANIC.try_with(|p| {
            if let Ok(mut p) = p.try_borrow_mut()
                && p.origin.is_none()
            {
                p.origin = Some(self.0);
            }
        });
    }
}

#[inline(always)]
pub(crate) fn marked<T>(origin: Origin, f: impl FnOnce() -> T) -> T {
    let m = Mark(origin);
    let v = f();
    std::mem::forget(m);
    v
}

/// Runs checker code: a panic that starts inside is the checker's.
#[inline(always)]
pub(crate) fn checker<T>(f: impl FnOnce() -> T) -> T {
    marked(Origin::Checker, f)
}

/// Runs racelab code: a panic that starts inside is racelab's.
#[inline(always)]
pub(crate) fn harness<T>(f: impl FnOnce() -> T) -> T {
    marked(Origin::Harness, f)
}

/// Runs user code called back from checker or racelab code.
#[inline(always)]
pub(crate) fn user<T>(f: impl FnOnce() -> T) -> T {
    marked(Origin::User, f)
}

// ------------------------------------------------------------------------------------------
// The boundary between an engine and the structure under test.

/// `catch_unwind` for user code that a structure supervises itself (a thread body, a pool's
/// job): catches the panics that started in that code, as std does, and lets every other
/// unwinding go on. Under a checker that is its verdicts and limits, racelab's stop signals and
/// a panic that started in the checker's or racelab's code; on real threads, a stress run's
/// release of a stuck waiter ([`Abandoned`](crate::runtime::std_rt_watch::Abandoned)).
pub(crate) fn catch_user<T>(f: impl FnOnce() -> T) -> std::thread::Result<T> {
    let seq = panic_seq();
    let payload = match std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| user(f))) {
        Ok(v) => return Ok(v),
        Err(p) => p,
    };
    let theirs = if active() {
        let rec = last_panic();
        rec.seq == seq || stopping() || rec.origin != Some(Origin::User)
    } else {
        payload.is::<crate::runtime::std_rt_watch::Abandoned>()
    };
    if theirs {
        std::panic::resume_unwind(payload)
    }
    Err(payload)
}

/// Runs user code (a scenario's setup, a thread body, the check, the state's drop) inside a
/// model execution. A panic that started in the user's code is the structure's failure: it is
/// recorded (its class from a [`crate::scenario::Failure`] payload, else `panic`) and the
/// execution ends. A panic that started in the checker or in racelab, or an unwinding that no
/// panic hook saw (a teardown, a re-raise), goes on to the checker untouched.
pub(crate) fn run_user<T>(f: impl FnOnce() -> T) -> Option<T> {
    if !active() {
        return Some(f());
    }
    let seq = panic_seq();
    match std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| user(f))) {
        Ok(v) => Some(v),
        Err(payload) => {
            let rec = last_panic();
            if rec.seq == seq || stopping() || rec.origin != Some(Origin::User) {
                std::panic::resume_unwind(payload)
            }
            let (class, message) = match payload.downcast_ref::<crate::scenario::Failure>() {
                Some(f) => (f.class, f.message.clone()),
                None => (
                    BugClass::Panic,
                    crate::engine::payload_text(payload.as_ref()),
                ),
            };
            drop(payload);
            fail_and_stop(class, message, rec.location)
        }
    }
}
