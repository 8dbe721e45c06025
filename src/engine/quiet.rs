//! The panic hook: it records where each panic started, and is silent while an engine runs
//! (the engines catch panics on purpose).

use super::*;

/// The text of a panic payload: a string, a racelab [`crate::scenario::Failure`], or a
/// description of the payload's type.
pub fn payload_text(payload: &(dyn std::any::Any + Send)) -> String {
    if let Some(s) = payload.downcast_ref::<&str>() {
        s.to_string()
    } else if let Some(s) = payload.downcast_ref::<String>() {
        s.clone()
    } else if let Some(f) = payload.downcast_ref::<crate::scenario::Failure>() {
        f.message.clone()
    } else if payload.downcast_ref::<Signal>().is_some() {
        "racelab stopped the execution".to_string()
    } else {
        "panic with a non-string payload".to_string()
    }
}

/// The text of a panic payload (kept for callers of earlier versions).
pub fn panic_message(payload: &(dyn std::any::Any + Send)) -> String {
    payload_text(payload)
}

std::thread_local! {
    static QUIET: Cell<usize> = const { Cell::new(0) };
}

/// While alive, panics on this OS thread print nothing: the engines catch them on purpose.
pub(crate) struct Quiet(());

impl Quiet {
    pub fn new() -> Quiet {
        install_hook();
        QUIET.with(|q| q.set(q.get() + 1));
        Quiet(())
    }
    /// Whether panics on this OS thread are quiet now (threads it spawns inherit that).
    pub fn is_on() -> bool {
        QUIET.with(Cell::get) > 0
    }
}

impl Drop for Quiet {
    fn drop(&mut self) {
        QUIET.with(|q| q.set(q.get() - 1));
    }
}

/// Installs (once) racelab's panic hook: it records where every panic started (for the origin
/// attribution), is silent on threads inside an engine run, and delegates to the previous hook
/// elsewhere. Shuttle installs a process-wide hook on its first run that prints "Task failed,
/// serializing schedule" for *every* panic, shuttle's or not; racelab runs shuttle once here so
/// that hook is installed, then drops it (racelab records schedules itself).
pub(crate) fn install_hook() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        let previous = std::panic::take_hook();
        ::shuttle::check_random(|| {}, 1);
        drop(std::panic::take_hook());
        // RACELAB_PANICS=1 shows every caught panic, for debugging racelab itself.
        let loud = std::env::var_os("RACELAB_PANICS").is_some();
        std::panic::set_hook(Box::new(move |info| {
            model::on_panic(info);
            if loud || QUIET.with(Cell::get) == 0 {
                previous(info);
            }
        }));
    });
}
