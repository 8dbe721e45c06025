//! `check_all` prints nothing the user did not ask for: no shuttle "Test deadlocked…" line, no
//! "failing seed" or schedule-replay advice, no panic messages, whatever the structure does.
//! Before: one deadlocking program printed shuttle's deadlock line 123 times.
//!
//! One test in its own binary, so nothing else writes to stderr while fd 2 is captured.
#![cfg(unix)]

use racelab::engine::{Check, Engine, StressConfig};
use racelab::runtime::prelude::*;
use racelab::{BugClass, Outcome, Scenario, Subject, fail};
use std::io::Read;
use std::sync::atomic::Ordering::SeqCst;
use std::time::Duration;

/// A structure that deadlocks, one that panics, one with a typed failure, one racy counter and
/// one five-thread scenario (not run under loom).
struct Noisy;

impl Subject for Noisy {
    fn scenarios<R: Runtime>(&self) -> Vec<Scenario<R>> {
        vec![
            Scenario::<R>::builder("deadlock", || (R::Mutex::new(false), R::Condvar::new()))
                .threads(2, |(m, cv)| {
                    let mut g = m.lock();
                    while !*g {
                        g = cv.wait(g);
                    }
                })
                .check(|_, _| Outcome::ok("woken")),
            Scenario::<R>::builder("panic", || ())
                .thread(|_| panic!("a structure's own assertion"))
                .check(|_, _| Outcome::ok("unreachable")),
            Scenario::<R>::builder("typed", || ())
                .thread(|_| fail(BugClass::LostItem, "gone"))
                .check(|_, _| Outcome::ok("unreachable")),
            Scenario::<R>::builder("lost update", || R::AtomicUsize::new(0))
                .threads(5, |a| {
                    let v = a.load(SeqCst);
                    a.store(v + 1, SeqCst);
                })
                .check(|a, _| match a.load(SeqCst) {
                    5 => Outcome::ok("5"),
                    n => Outcome::forbidden(BugClass::LostUpdate, n),
                }),
        ]
    }
}

#[test]
fn check_all_prints_nothing_on_stderr() {
    let path = std::env::temp_dir().join(format!("racelab-quiet-{}.txt", std::process::id()));
    let file = std::fs::File::create(&path).unwrap();
    use std::os::fd::AsRawFd;
    // SAFETY: plain POSIX calls on descriptors this test owns; fd 2 is restored below.
    let saved = unsafe { libc::dup(2) };
    assert!(saved >= 0);
    // SAFETY: as above.
    assert!(unsafe { libc::dup2(file.as_raw_fd(), 2) } >= 0);
    // `check_all(&s)` is `Check::new().run(&s)`; only stress's budget and watchdog are shortened.
    let results = Check::new()
        .engine(Engine::Stress(StressConfig {
            time_budget: Duration::from_millis(200),
            watchdog: Duration::from_millis(300),
            ..StressConfig::default()
        }))
        .run(&Noisy);
    // SAFETY: `saved` is the duplicate of the original fd 2.
    unsafe {
        libc::dup2(saved, 2);
        libc::close(saved);
    }
    let mut printed = String::new();
    std::fs::File::open(&path)
        .unwrap()
        .read_to_string(&mut printed)
        .unwrap();
    let _ = std::fs::remove_file(&path);
    assert!(results.caught(), "{results}");
    assert_eq!(printed, "", "stderr was not empty");
}
