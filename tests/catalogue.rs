//! The catalogue under every engine: each racy variant is caught, with its symptom in the
//! message, by every engine that must catch it; blind spots are reported as such; each correct
//! twin passes every engine, stress included. These tests iterate the registry, so a new entry
//! is tested without being listed here.

use racelab::catalogue::{Entry, Expect, catalogue};
use racelab::engine::{Engine, EngineKind, ShuttleConfig, StressConfig, Verdict};
use std::time::Duration;

/// Default engines, with budgets that keep `cargo test` quick: 300 ms of stress and a 500 ms
/// cap on each shuttle run (it only bites bounded DFS over spinning locks, whose racy variant
/// is a "may" for DFS).
fn engine(kind: EngineKind) -> Engine {
    let cap = |c: ShuttleConfig| ShuttleConfig {
        max_time: Some(Duration::from_millis(500)),
        ..c
    };
    match Engine::default_for(kind) {
        Engine::Stress(_) => Engine::Stress(StressConfig {
            time_budget: Duration::from_millis(300),
            ..StressConfig::default()
        }),
        Engine::ShuttleDfs(c) => Engine::ShuttleDfs(cap(c)),
        Engine::ShuttleRandom(c) => Engine::ShuttleRandom(cap(c)),
        Engine::ShuttlePct(c) => Engine::ShuttlePct(cap(c)),
        e => e,
    }
}

fn racy() -> impl Iterator<Item = Entry> {
    catalogue().into_iter().filter(Entry::racy)
}

fn correct() -> impl Iterator<Item = Entry> {
    catalogue().into_iter().filter(|e| !e.racy())
}

fn check_racy(kind: EngineKind) {
    let mut checked = 0;
    for entry in racy() {
        let results = entry.run(&engine(kind));
        let cell = entry.cell(&results);
        match entry.expectation(kind) {
            Expect::Must => {
                let caught: Vec<_> = results
                    .iter()
                    .filter(|r| r.verdict == Verdict::Caught)
                    .collect();
                assert!(
                    !caught.is_empty(),
                    "{} escaped {kind}: {results:#?}",
                    entry.variant
                );
                for r in caught {
                    let m = r.message().expect("a caught result has a message");
                    assert!(
                        entry.symptoms.iter().any(|s| m.contains(s)),
                        "{} under {kind}: message {m:?} names none of {:?}",
                        entry.variant,
                        entry.symptoms
                    );
                    assert!(r.first_failure_at.is_some());
                }
                checked += 1;
            }
            Expect::Blind(_) => assert_eq!(
                cell,
                Verdict::BlindSpot,
                "{} under {kind} should be a blind spot",
                entry.variant
            ),
            Expect::Skip(_) => assert_eq!(
                cell,
                Verdict::NotRun,
                "{} under {kind} should not be run",
                entry.variant
            ),
            // Machine-dependent: measured, never a gate. It must still not error; a stress hang
            // is caught only when hanging is its bug (a deadlock the watchdog names).
            Expect::May => {
                assert!(
                    matches!(cell, Verdict::Caught | Verdict::Passed),
                    "{} under {kind}: {cell}",
                    entry.variant
                );
                for r in results.iter().filter(|r| r.verdict == Verdict::Caught) {
                    let m = r.message().unwrap_or("");
                    assert!(
                        entry.symptoms.iter().any(|s| m.contains(s)),
                        "{} under {kind}: message {m:?} names none of {:?}",
                        entry.variant,
                        entry.symptoms
                    );
                }
            }
        }
        assert!(!entry.is_failure(kind, cell));
    }
    if kind != EngineKind::Stress {
        assert!(checked > 0, "no racy entry must be caught by {kind}");
    }
}

fn check_correct(kind: EngineKind) {
    for entry in correct() {
        let results = entry.run(&engine(kind));
        if let Expect::Skip(why) = entry.expectation(kind) {
            // An engine that cannot run it (crossbeam's std atomics under a model checker).
            assert_eq!(
                entry.cell(&results),
                Verdict::NotRun,
                "{}: {why}",
                entry.variant
            );
            continue;
        }
        for r in &results {
            if r.verdict == Verdict::NotRun {
                // A scenario this engine does not run, with its reason (loom's fairness).
                assert!(
                    !r.note.is_empty(),
                    "{}: not run without a reason",
                    entry.variant
                );
                continue;
            }
            r.unwrap_passed();
            assert!(
                r.executions > 0,
                "{} ran nothing under {kind}",
                entry.variant
            );
            assert!(r.counterexample.is_none());
        }
        assert_eq!(entry.cell(&results), Verdict::Passed, "{}", entry.variant);
    }
}

macro_rules! per_engine {
    ($($module:ident => $kind:expr),* $(,)?) => {$(
        mod $module {
            use super::*;
            #[test]
            fn racy_variants_are_caught() {
                check_racy($kind);
            }
            #[test]
            fn correct_twins_pass() {
                check_correct($kind);
            }
        }
    )*};
}

per_engine! {
    loom => EngineKind::Loom,
    shuttle_random => EngineKind::ShuttleRandom,
    shuttle_pct => EngineKind::ShuttlePct,
    shuttle_dfs => EngineKind::ShuttleDfs,
    proptest => EngineKind::Proptest,
    stress => EngineKind::Stress,
}

#[test]
fn every_racy_entry_has_a_correct_twin_in_its_family() {
    for entry in racy() {
        assert!(
            correct().any(|c| c.family == entry.family),
            "{} has no correct twin",
            entry.key()
        );
        assert!(
            !entry.symptoms.is_empty(),
            "{} names no symptom",
            entry.key()
        );
    }
}

#[test]
fn every_racy_entry_has_an_engine_that_must_catch_it() {
    for entry in racy() {
        assert!(
            EngineKind::ALL
                .iter()
                .any(|k| entry.expectation(*k) == Expect::Must),
            "{} can only escape",
            entry.key()
        );
    }
}

#[test]
fn variant_names_are_unique_and_findable() {
    let all = catalogue();
    for e in &all {
        assert_eq!(all.iter().filter(|x| x.variant == e.variant).count(), 1);
        assert_eq!(racelab::catalogue::find(e.variant).unwrap().key(), e.key());
    }
    assert!(
        racelab::catalogue::find("NoSuchCounter")
            .unwrap_err()
            .contains("unknown variant `NoSuchCounter`")
    );
}

/// Every correct queue has a transfer run that moves and accounts for its items (the run panics
/// on a lost or duplicated one), at 1+1 and, unless it is single-producer, at 2+2; no racy
/// queue has one (a lost item would leave its consumer waiting forever); counters and locks
/// are timed as increments.
#[test]
fn each_family_has_its_own_timed_run_shape() {
    let mut queues = 0;
    for e in catalogue() {
        match (e.family, e.bench) {
            (racelab::catalogue::QUEUE, Some(t)) => {
                assert!(!e.racy(), "{}: a racy queue with a timed run", e.variant);
                let run = t.transfer().expect("a queue is timed as transfers");
                for pairs in [1, 2].into_iter().filter(|p| 2 * p <= e.max_threads) {
                    let m = run(pairs, 200);
                    assert_eq!(
                        (m.count, m.expected),
                        (200 * pairs, 200 * pairs),
                        "{}",
                        e.variant
                    );
                }
                queues += 1;
            }
            (racelab::catalogue::QUEUE, None) => assert!(e.racy(), "{}: untimed", e.variant),
            (racelab::catalogue::COUNTER | racelab::catalogue::LOCK, Some(t)) => {
                assert!(t.increments().is_some(), "{}", e.variant);
            }
            _ => {}
        }
    }
    assert!(queues >= 5, "{queues} timed queues");
}
