//! The engines themselves: shrinking, replay, deadlock and hang detection, bad input.

use racelab::catalogue::find;
use racelab::engine::{
    self, Engine, EngineKind, LoomConfig, ProptestConfig, Replay, ShuttleConfig, StressConfig,
    Verdict,
};
use racelab::runtime::{MutexApi, Runtime};
use racelab::{BugClass, Outcome, Scenario, Shuttle};
use std::time::Duration;

fn load_store() -> racelab::ScenarioSet {
    find("LoadStoreCounter").unwrap().scenarios
}

/// proptest shrinks the lost update to the classic interleaving: one preemption, printed as
/// the structure's operations per thread.
#[test]
fn proptest_shrinks_lost_update_to_one_preemption() {
    let scenario = &load_store().shuttle()[0];
    let r = engine::schedule::check(scenario, &ProptestConfig::default());
    r.assert_caught("lost update: counter = 1, expected 2");
    let c = r.counterexample.as_ref().unwrap();
    assert_eq!(c.preemptions, Some(1), "shrunk trace:\n{}", c.trace);
    let trace = c.trace.story();
    assert!(
        trace.starts_with("T1: load → 0\nT2: load → 0\nT2: store 1\nT1: store 1")
            || trace.starts_with("T2: load → 0\nT1: load → 0\nT1: store 1\nT2: store 1"),
        "unexpected shrunk trace:\n{trace}"
    );
}

/// The counterexample's schedule string replays the same failure, through racelab and through
/// shuttle's own `replay`.
#[test]
fn shuttle_schedule_string_replays_the_same_failure() {
    let scenario = &load_store().shuttle()[0];
    let first = engine::shuttle::check(
        scenario,
        engine::shuttle::Mode::Random,
        &ShuttleConfig::default(),
    );
    first.assert_caught("lost update");
    let c = first.counterexample.as_ref().unwrap();
    let Some(Replay::Shuttle(schedule)) = &c.replay else {
        panic!("no shuttle replay: {:?}", c.replay)
    };
    let again = engine::shuttle::replay(scenario, EngineKind::ShuttleRandom, schedule).unwrap();
    again.assert_caught("lost update");
    assert_eq!(again.executions, 1);
    assert_eq!(again.counterexample.as_ref().unwrap().trace, c.trace);
}

#[test]
#[should_panic(expected = "lost update")]
fn shuttle_replay_reproduces_with_shuttle_itself() {
    let scenario = load_store().shuttle().remove(0);
    let r = engine::shuttle::check(
        &scenario,
        engine::shuttle::Mode::Pct,
        &ShuttleConfig::default(),
    );
    let Some(Replay::Shuttle(schedule)) = r.counterexample.and_then(|c| c.replay) else {
        panic!("PCT did not catch the lost update")
    };
    shuttle::replay(
        move || {
            if let Outcome::Forbidden { message, .. } = scenario.execute() {
                panic!("{message}");
            }
        },
        &schedule,
    );
}

#[test]
fn loom_replay_fails_at_the_same_iteration() {
    let set = find("SplitLockCounter").unwrap().scenarios;
    let scenario = &set.loom()[0];
    let first = engine::loom::check(scenario, &LoomConfig::default());
    first.assert_caught("lost update");
    let Some(Replay::Loom {
        preemption_bound,
        iteration,
    }) = first.counterexample.as_ref().unwrap().replay
    else {
        panic!("no loom replay")
    };
    let again = engine::loom::replay(scenario, preemption_bound);
    again.assert_caught("lost update");
    assert_eq!(again.first_failure_at, Some(iteration));
}

/// Every prefix and every single-byte corruption of a real schedule is either accepted as a
/// schedule or rejected with an error: never a panic.
#[test]
fn corrupt_schedules_never_panic() {
    let good = "91020c000024920200";
    for cut in 0..good.len() {
        let _ = format!("shuttle:{}", &good[..cut]).parse::<Replay>();
    }
    for i in 0..good.len() {
        for c in ['0', '7', 'f', 'x'] {
            let mut s: Vec<char> = good.chars().collect();
            s[i] = c;
            let s: String = s.into_iter().collect();
            let _ = format!("shuttle:{s}").parse::<Replay>();
        }
    }
}

#[test]
fn replay_strings_round_trip_and_reject_corruption() {
    for s in [
        "loom:pb2:17",
        "loom:unbounded:3",
        "shuttle:91020c000024920200",
    ] {
        assert_eq!(s.parse::<Replay>().unwrap().to_string(), s);
    }
    for bad in [
        "",
        "shuttle:zz",
        "shuttle:",
        "shuttle:91",
        "shuttle:9102",
        "shuttle:91020c00",
        "shuttle:9102ffffffffffffffffffff7f00",
        "shuttle:91ff7f0c0000",
        "shuttle:81020c000024920200",
        "shuttle:91020c00002492020",
        "loom:pbx:1",
        "loom:pb2",
        "loom:pb2:x",
        "dfs:1",
    ] {
        assert!(bad.parse::<Replay>().is_err(), "{bad:?} was accepted");
    }
}

/// Two threads taking two locks in opposite orders. Every model engine finds the deadlock;
/// stress reports a hang through its watchdog instead of hanging the suite.
fn abba<R: Runtime>() -> Scenario<R> {
    Scenario::<R>::builder("lock A then B vs B then A", || {
        (R::Mutex::new(()), R::Mutex::new(()))
    })
    .thread(|(a, b)| {
        let _a = a.lock();
        R::yield_now();
        let _b = b.lock();
    })
    .thread(|(a, b)| {
        let _b = b.lock();
        R::yield_now();
        let _a = a.lock();
    })
    .check(|_, _| Outcome::ok("no deadlock"))
}

#[derive(Default)]
struct Abba;
impl racelab::Subject for Abba {
    fn scenarios<R: Runtime>(&self) -> Vec<Scenario<R>> {
        vec![abba::<R>()]
    }
}

#[test]
fn model_engines_report_deadlock() {
    let set = racelab::ScenarioSet::of::<Abba>();
    for kind in [
        EngineKind::Loom,
        EngineKind::ShuttleRandom,
        EngineKind::ShuttlePct,
        EngineKind::ShuttleDfs,
        EngineKind::Proptest,
    ] {
        let r = Engine::default_for(kind).run(&set, 0);
        r.assert_caught("deadlock");
        assert_eq!(r.counterexample.as_ref().unwrap().class, BugClass::Deadlock);
    }
}

#[test]
fn stress_watchdog_turns_a_hang_into_a_verdict() {
    let scenario = Scenario::<racelab::Std>::builder("waits forever", || ())
        .thread(|_| {
            loop {
                <racelab::Std as Runtime>::park();
            }
        })
        .check(|_, _| Outcome::ok("unreachable"));
    let r = engine::stress::check(
        &scenario,
        &StressConfig {
            watchdog: Duration::from_millis(200),
            ..StressConfig::default()
        },
    );
    assert_eq!(r.verdict, Verdict::Caught, "{r:#?}");
    assert!(r.note.contains("watchdog"), "{}", r.note);
    let c = r.counterexample.as_ref().unwrap();
    assert_eq!(c.class, BugClass::Deadlock, "{}", c.message);
    assert!(
        c.message
            .starts_with("deadlock: every thread is blocked (round 1 made no progress"),
        "{}",
        c.message
    );
    assert!(c.message.contains("T1 is parked"), "{}", c.message);
    assert!(r.note.contains("1 released, 0 left behind"), "{}", r.note);
}

#[test]
fn stress_counts_rounds_overlap_and_forbidden_outcomes() {
    let set = load_store();
    let r = engine::stress::check(
        &set.std()[0],
        &StressConfig {
            rounds: 2_000,
            time_budget: Duration::from_secs(30),
            ..StressConfig::default()
        },
    );
    let s = r.stress.unwrap();
    assert_eq!(s.rounds, 2_000);
    assert_eq!(r.executions, 2_000);
    assert!(s.overlapped <= s.rounds);
    let total: u64 = r.histogram.values().sum();
    assert_eq!(total, 2_000, "every round lands in the histogram");
    assert_eq!(
        s.forbidden,
        r.histogram
            .iter()
            .filter(|(k, _)| k.starts_with("lost update"))
            .map(|(_, v)| v)
            .sum::<u64>()
    );
    // Whether the race showed up is the machine's business: measured, not asserted.
    println!("LoadStoreCounter stress: {} ({})", s.frequency(), r.note);
}

#[test]
fn a_panicking_body_is_reported_not_propagated() {
    let scenario = Scenario::<Shuttle>::builder("panics", || ())
        .thread(|_| panic!("boom in a body"))
        .check(|_, _| Outcome::ok("unreachable"));
    let r = engine::shuttle::check(
        &scenario,
        engine::shuttle::Mode::Random,
        &ShuttleConfig::default(),
    );
    r.assert_caught("boom in a body");
    assert_eq!(r.counterexample.unwrap().class, BugClass::Panic);
}

#[test]
#[should_panic(expected = "needs at least one thread")]
fn a_scenario_without_threads_is_rejected() {
    let _ = Scenario::<Shuttle>::builder("empty", || ())
        .threads(0, |_| ())
        .check(|_, _| Outcome::ok("x"));
}

#[test]
fn engine_names_parse_and_reject_unknown_ones() {
    for k in EngineKind::ALL {
        assert_eq!(k.name().parse::<EngineKind>().unwrap(), k);
    }
    assert!(
        "loomm"
            .parse::<EngineKind>()
            .unwrap_err()
            .contains("unknown engine `loomm`")
    );
}

/// The same structure on all three runtimes in one binary.
#[test]
fn one_structure_three_runtimes() {
    use racelab::counter::{AtomicCounter, Counter};
    let c = std::sync::Arc::new(AtomicCounter::<racelab::Std>::new());
    let hs: Vec<_> = (0..4)
        .map(|_| {
            let c = c.clone();
            std::thread::spawn(move || (0..1000).for_each(|_| c.increment()))
        })
        .collect();
    hs.into_iter().for_each(|h| h.join().unwrap());
    assert_eq!(c.get(), 4000);
    loom::model(|| {
        let c = AtomicCounter::<racelab::Loom>::new();
        c.increment();
        assert_eq!(c.get(), 1);
    });
    shuttle::check_random(
        || {
            let c = AtomicCounter::<racelab::Shuttle>::new();
            c.increment();
            assert_eq!(c.get(), 1);
        },
        1,
    );
}
