//! Modelled time: under the checkers a timed wait times out where the engine chooses (shuttle's
//! random and PCT schedulers, proptest) or when nothing else can run (every engine), so timeout
//! paths are checked and a timed wait is never reported as a deadlock.

use racelab::engine::{Check, EngineKind, Verdict};
use racelab::queue::{HandoffBuffer, Queues, TimeoutLosesHandoffBuffer};
use racelab::runtime::prelude::*;
use racelab::{BugClass, Outcome, Scenario, Subject};
use std::time::Duration;

const MODEL_ENGINES: [EngineKind; 5] = [
    EngineKind::Loom,
    EngineKind::ShuttleRandom,
    EngineKind::ShuttlePct,
    EngineKind::ShuttleDfs,
    EngineKind::Proptest,
];

/// The engines that choose when a timer fires.
const TIME_ENGINES: [EngineKind; 3] = [
    EngineKind::ShuttleRandom,
    EngineKind::ShuttlePct,
    EngineKind::Proptest,
];

/// One thread waits for a flag nobody sets: with a timeout (`timed`) or without.
struct Lonely {
    timed: bool,
}

struct Flag<R: Runtime> {
    set: R::Mutex<bool>,
    cv: R::Condvar,
}

impl Subject for Lonely {
    fn scenarios<R: Runtime>(&self) -> Vec<Scenario<R>> {
        let timed = self.timed;
        vec![
            Scenario::<R>::builder("wait for a flag nobody sets", || Flag::<R> {
                set: R::Mutex::new(false),
                cv: R::Condvar::new(),
            })
            .observing::<bool>()
            .thread(move |f| {
                let deadline = if timed {
                    Deadline::<R>::after(Duration::from_millis(1))
                } else {
                    Deadline::never()
                };
                let (_g, timed_out) = wait_while(&f.cv, f.set.lock(), &deadline, |set| !*set);
                timed_out
            })
            .check(|_, timed_out| {
                if timed_out == [true] {
                    Outcome::ok("timed out")
                } else {
                    Outcome::forbidden(BugClass::Panic, format!("returned {timed_out:?}"))
                }
            }),
        ]
    }
}

#[test]
fn a_timed_wait_nobody_ends_times_out_on_every_engine_instead_of_deadlocking() {
    let results = Check::new()
        .engines(MODEL_ENGINES)
        .run(&Lonely { timed: true });
    results.assert_passed();
    for r in &results {
        assert_eq!(r.verdict, Verdict::Passed, "{}: {}", r.engine, r.summary());
        assert_eq!(r.histogram.keys().collect::<Vec<_>>(), ["timed out"]);
    }
    // Without the timeout it is the deadlock it would be.
    Check::new()
        .engines(MODEL_ENGINES)
        .run(&Lonely { timed: false })
        .assert_caught_by(&MODEL_ENGINES, BugClass::Deadlock);
}

/// One thread waits with a timeout for a flag; the other thread does something else and exits
/// without setting it. Once it has gone, nothing can run but the timer: the wait times out, on
/// every engine and in every interleaving, including those where the other thread finishes
/// *after* the wait began (the idle timer fires when the last runnable thread exits, not only
/// when a thread blocks).
struct LeftBehind;

impl Subject for LeftBehind {
    fn scenarios<R: Runtime>(&self) -> Vec<Scenario<R>> {
        vec![
            Scenario::<R>::builder("the only other thread exits without notifying", || {
                (
                    Flag::<R> {
                        set: R::Mutex::new(false),
                        cv: R::Condvar::new(),
                    },
                    R::AtomicUsize::new(0),
                )
            })
            .observing::<&'static str>()
            .thread(|(f, _)| {
                let deadline = Deadline::<R>::after(Duration::from_millis(1));
                let (_g, timed_out) = wait_while(&f.cv, f.set.lock(), &deadline, |set| !*set);
                if timed_out { "timed out" } else { "woken" }
            })
            .thread(|(_, other)| {
                other.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                "exited"
            })
            .check(|_, seen| {
                if seen[0] == "timed out" {
                    Outcome::ok("timed out")
                } else {
                    Outcome::forbidden(BugClass::Panic, format!("the waiter {}", seen[0]))
                }
            }),
        ]
    }
}

/// On every engine. Both checkers have a scheduling point inside a condvar wait, after the
/// waiter is registered as waiting but before it is queued on the checker's condvar; the other
/// thread may exit there and fire the timer. The firing thread takes the waiter's mutex before
/// it notifies, so the notification is not lost.
#[test]
fn a_timed_wait_times_out_when_the_last_other_thread_exits() {
    let results = Check::new().engines(MODEL_ENGINES).run(&LeftBehind);
    assert_eq!(results.len(), MODEL_ENGINES.len());
    for r in &results {
        assert_eq!(r.verdict, Verdict::Passed, "{}: {}", r.engine, r.summary());
        assert_eq!(r.histogram.keys().collect::<Vec<_>>(), ["timed out"]);
    }
}

/// A timed waiter and an untimed one share a mutex and a condvar. When the untimed one goes to
/// sleep, nothing can run but the timer; it fires from inside that thread's own wait, which
/// holds the mutex in the checker (so the firing thread must not lock it again). The timed
/// waiter wakes, sets the flag and releases the other.
struct TwoWaiters;

impl Subject for TwoWaiters {
    fn scenarios<R: Runtime>(&self) -> Vec<Scenario<R>> {
        vec![
            Scenario::<R>::builder(
                "a timed waiter times out and releases an untimed one",
                || Flag::<R> {
                    set: R::Mutex::new(false),
                    cv: R::Condvar::new(),
                },
            )
            .observing::<&'static str>()
            .thread(|f| {
                let deadline = Deadline::<R>::after(Duration::from_millis(1));
                let (mut g, timed_out) = wait_while(&f.cv, f.set.lock(), &deadline, |set| !*set);
                *g = true;
                drop(g);
                f.cv.notify_all();
                if timed_out { "timed out" } else { "woken" }
            })
            .thread(|f| {
                let never = Deadline::<R>::never();
                let (_g, _) = wait_while(&f.cv, f.set.lock(), &never, |set| !*set);
                "released"
            })
            .check(|_, seen| match seen {
                ["timed out", "released"] => Outcome::ok("timed out, released"),
                _ => Outcome::forbidden(BugClass::Panic, format!("{seen:?}")),
            }),
        ]
    }
}

#[test]
fn a_timer_fired_from_inside_another_wait_on_the_same_mutex_wakes_its_waiter() {
    let results = Check::new().engines(MODEL_ENGINES).run(&TwoWaiters);
    assert_eq!(results.len(), MODEL_ENGINES.len());
    for r in &results {
        assert_eq!(r.verdict, Verdict::Passed, "{}: {}", r.engine, r.summary());
    }
}

/// A thread polls a deadline while another sets a flag: under the engines that choose time,
/// both "saw the flag" and "deadline passed first" happen; under loom a deadline check never
/// fires (nothing is idle while the loop runs).
struct Poll;

impl Subject for Poll {
    fn scenarios<R: Runtime>(&self) -> Vec<Scenario<R>> {
        vec![
            Scenario::<R>::builder("poll a deadline while a flag is set", || {
                R::Arc::new(R::AtomicBool::new(false))
            })
            .observing::<&'static str>()
            .thread(|flag| {
                let deadline = Deadline::<R>::after(Duration::from_millis(1));
                loop {
                    if flag.load(std::sync::atomic::Ordering::SeqCst) {
                        return "saw the flag";
                    }
                    if deadline.passed() {
                        return "deadline passed";
                    }
                    R::yield_now();
                }
            })
            .thread(|flag| {
                flag.store(true, std::sync::atomic::Ordering::SeqCst);
                "set"
            })
            .check(|_, seen| Outcome::ok(seen[0])),
        ]
    }
}

#[test]
fn a_deadline_check_is_a_point_where_the_engine_may_fire_the_timer() {
    let results = Check::new()
        .engines([EngineKind::ShuttleRandom, EngineKind::Proptest])
        .run(&Poll);
    for r in &results {
        assert_eq!(r.verdict, Verdict::Passed, "{}: {}", r.engine, r.summary());
        for key in ["saw the flag", "deadline passed"] {
            assert!(
                r.histogram.contains_key(key),
                "{}: {:?}",
                r.engine,
                r.histogram
            );
        }
    }
}

/// The timeout twin: only the engines that choose when a timer fires can make it race the
/// hand-off. They catch it (as a lost item); loom and DFS pass it and say why in the note; the
/// correct twin passes every engine.
#[test]
fn the_timeout_twin_is_caught_by_the_engines_that_choose_time() {
    let results = Check::new()
        .engines(TIME_ENGINES)
        .run(&Queues::<TimeoutLosesHandoffBuffer<u64>>::default());
    results.assert_caught_by(&TIME_ENGINES, BugClass::LostItem);
    for r in results.iter().filter(|r| r.verdict == Verdict::Caught) {
        assert_eq!(r.scenario, "timed pop meets a push");
        let trace = r.counterexample.as_ref().unwrap().trace.to_string();
        assert!(
            trace.contains("timed out (the engine fired its timer)"),
            "{trace}"
        );
    }
    let blind = [EngineKind::Loom, EngineKind::ShuttleDfs];
    let results = Check::new()
        .engines(blind)
        .run(&Queues::<TimeoutLosesHandoffBuffer<u64>>::default());
    results.assert_passed();
    let timed = results
        .iter()
        .find(|r| r.scenario == "timed pop meets a push")
        .unwrap();
    assert!(
        timed.note.contains("only when nothing else could run"),
        "{}",
        timed.note
    );
}

#[test]
fn the_handoff_buffer_passes_every_engine_with_its_timeouts_explored() {
    let mut engines = MODEL_ENGINES.to_vec();
    engines.push(EngineKind::Stress);
    Check::new()
        .engines(engines)
        .runs(500)
        .run(&Queues::<HandoffBuffer<u64>>::default())
        .assert_passed();
}

/// A replay string carries the timer choices, so the counterexample replays exactly, the
/// proptest engine's (whose choices are not the schedule's seed) included.
#[test]
fn a_timeout_counterexample_replays_from_its_string() {
    let subject = Queues::<TimeoutLosesHandoffBuffer<u64>>::default();
    let results = Check::new().engines(TIME_ENGINES).run(&subject);
    for r in results.iter().filter(|r| r.verdict == Verdict::Caught) {
        let token = r.replay_token().unwrap();
        assert!(
            token.contains('~'),
            "the timer choices are in the string: {token}"
        );
        let again = Check::new().replay(&subject, &token).unwrap();
        assert_eq!(
            again.verdict,
            Verdict::Caught,
            "{token}: {}",
            again.summary()
        );
        assert_eq!(again.message(), r.message());
    }
    // A corrupt choice list is a one-line error.
    let bad = Check::new().replay(&subject, "4/shuttle:9102~zz");
    assert!(bad.unwrap_err().contains("comma-separated hex"));
}
