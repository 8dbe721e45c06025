//! The catalogue under every engine, one test case per cell: each racy variant is caught, with
//! its bug class and its symptom in the message, by every engine that must catch it; blind spots
//! are reported as such; each correct twin passes every engine, stress included.
//!
//! The cases are generated from the registry (a new entry is tested without being listed here)
//! and run by [libtest-mimic], so they take libtest's flags and cargo-nextest can list, filter
//! and shard them: a case is named `ENGINE::FAMILY::VARIANT`, e.g.
//! `loom::counter::RacyCounter`, and `cargo nextest run --partition count:1/2` runs half.
//!
//! [libtest-mimic]: https://docs.rs/libtest-mimic

use libtest_mimic::{Arguments, Failed, Trial};
use racelab::catalogue::{Entry, Expect, catalogue};
use racelab::engine::{EngineKind, Verdict};

mod support;

use support::test_engine as engine;

fn racy() -> impl Iterator<Item = Entry> {
    catalogue().into_iter().filter(Entry::racy)
}

fn correct() -> impl Iterator<Item = Entry> {
    catalogue().into_iter().filter(|e| !e.racy())
}

/// One racy entry under one engine.
fn check_racy(entry: &Entry, kind: EngineKind) {
    let results = entry.run_in(&engine(kind), &racelab::engine::Check::new().first_catch());
    let cell = entry.cell(&results);
    let named = |r: &racelab::engine::EngineResult| {
        let m = r.message().unwrap_or("");
        assert!(
            entry.symptoms.iter().any(|s| m.contains(s)),
            "{} under {kind}: message {m:?} names none of {:?}",
            entry.variant,
            entry.symptoms
        );
    };
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
            // Its bug class: the entry's, or a class its symptoms name (a broken lock shows as
            // the data race or lost update it lets through).
            for c in caught.iter().filter_map(|r| r.counterexample.as_ref()) {
                assert!(
                    Some(c.class) == entry.bug || entry.symptoms.contains(&c.class.name()),
                    "{} under {kind}: caught as {}, which is neither {:?} nor one of {:?}: {}",
                    entry.variant,
                    c.class,
                    entry.bug,
                    entry.symptoms,
                    c.message
                );
            }
            for r in caught {
                named(r);
                assert!(r.first_failure_at.is_some());
            }
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
            results
                .iter()
                .filter(|r| r.verdict == Verdict::Caught)
                .for_each(named);
        }
    }
    assert!(!entry.is_failure(kind, cell));
}

/// One correct entry under one engine.
fn check_correct(entry: &Entry, kind: EngineKind) {
    {
        let results = entry.run(&engine(kind));
        if let Expect::Skip(why) = entry.expectation(kind) {
            // An engine that cannot run it (crossbeam's std atomics under a model checker).
            assert_eq!(
                entry.cell(&results),
                Verdict::NotRun,
                "{}: {why}",
                entry.variant
            );
            return;
        }
        let declared = entry.scenarios.skips(kind);
        for r in &results {
            if r.verdict == Verdict::NotRun {
                // Only a skip the scenario declares for this runtime (loom's fairness), with
                // its reason: a cap (threads, branches, time) leaving a correct twin unchecked
                // is a hole in the catalogue.
                assert_eq!(
                    declared.get(r.scenario_index).cloned().flatten().as_deref(),
                    Some(r.note.as_str()),
                    "{} `{}` under {kind}: not run, and not a declared skip: {}",
                    entry.variant,
                    r.scenario,
                    r.note
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

/// Every engine has a racy entry it must catch (else its column tests nothing).
fn every_engine_must_catch_something() {
    for kind in EngineKind::ALL
        .into_iter()
        .filter(|k| *k != EngineKind::Stress)
    {
        assert!(
            racy().any(|e| e.expectation(kind) == Expect::Must),
            "no racy entry must be caught by {kind}"
        );
    }
}

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

/// A libtest case that runs `f`, a panic being its failure.
fn case(name: impl Into<String>, f: impl FnOnce() + Send + 'static) -> Trial {
    Trial::test(name, move || {
        std::panic::catch_unwind(std::panic::AssertUnwindSafe(f)).map_err(|p| {
            Failed::from(
                p.downcast_ref::<String>()
                    .cloned()
                    .or_else(|| p.downcast_ref::<&str>().map(|s| s.to_string()))
                    .unwrap_or_else(|| "panicked".into()),
            )
        })
    })
}

/// Set in a worker process of the catalogue: its share of the cases, `K/N`.
const WORKER: &str = "RACELAB_CATALOGUE_WORKER";

/// Runs the cases. Left to itself (no `--test-threads`, `--list` or `--exact`), the harness
/// runs them in one process per core rather than one thread per core, as cargo-nextest does:
/// every loom or shuttle execution maps, protects and unmaps a coroutine stack, and those calls
/// serialise on a process's address space, so two threads of checker cells in one process ran
/// slower than one (the catalogue took 63 s on two threads, 40 s in two processes). Each
/// worker takes every Nth case, on one thread; the exit status fails if any worker's does.
fn main() {
    let mut args = Arguments::from_args();
    let trials = trials();
    if let Ok(share) = std::env::var(WORKER) {
        let (k, n) = share
            .split_once('/')
            .and_then(|(k, n)| Some((k.parse::<usize>().ok()?, n.parse::<usize>().ok()?)))
            .filter(|(k, n)| (1..=*n).contains(k))
            .unwrap_or_else(|| panic!("{WORKER}={share}: expected K/N"));
        args.test_threads = Some(1);
        let mine = trials
            .into_iter()
            .enumerate()
            .filter(|(i, _)| i % n == k - 1)
            .map(|(_, t)| t)
            .collect();
        libtest_mimic::run(&args, mine).exit();
    }
    let procs = std::thread::available_parallelism().map_or(1, |n| n.get());
    if args.list || args.exact || args.test_threads.is_some() || procs < 2 {
        libtest_mimic::run(&args, trials).exit();
    }
    let exe = std::env::current_exe().expect("the test binary's path");
    let workers: Vec<_> = (1..=procs)
        .map(|k| {
            std::process::Command::new(&exe)
                .args(std::env::args_os().skip(1))
                .env(WORKER, format!("{k}/{procs}"))
                .spawn()
                .expect("a worker process")
        })
        .collect();
    let failed = workers
        .into_iter()
        .map(|mut w| w.wait().map_or(true, |s| !s.success()))
        .filter(|f| *f)
        .count();
    println!("catalogue: {procs} worker processes, {failed} failed");
    std::process::exit(if failed == 0 { 0 } else { 101 });
}

/// Every case: the registry checks, then a case per cell, engine by engine.
fn trials() -> Vec<Trial> {
    let mut trials = vec![
        case(
            "registry::every_racy_entry_has_a_correct_twin_in_its_family",
            every_racy_entry_has_a_correct_twin_in_its_family,
        ),
        case(
            "registry::every_racy_entry_has_an_engine_that_must_catch_it",
            every_racy_entry_has_an_engine_that_must_catch_it,
        ),
        case(
            "registry::every_engine_must_catch_something",
            every_engine_must_catch_something,
        ),
        case(
            "registry::variant_names_are_unique_and_findable",
            variant_names_are_unique_and_findable,
        ),
        case(
            "registry::each_family_has_its_own_timed_run_shape",
            each_family_has_its_own_timed_run_shape,
        ),
    ];
    for kind in EngineKind::ALL {
        for entry in catalogue() {
            let name = format!(
                "{}::{}::{}",
                kind.name().replace('-', "_"),
                entry.family,
                entry.variant
            );
            let variant = entry.variant;
            trials.push(case(name, move || {
                let entry = racelab::catalogue::find(variant).expect("a catalogue entry");
                if entry.racy() {
                    check_racy(&entry, kind)
                } else {
                    check_correct(&entry, kind)
                }
            }));
        }
    }
    trials
}
