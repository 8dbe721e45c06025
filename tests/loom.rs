//! The deep, exhaustive loom suite. Run it with
//!
//! ```text
//! RUSTFLAGS="--cfg loom" LOOM_MAX_PREEMPTIONS=3 cargo test --release --test loom
//! ```
//!
//! Under `--cfg loom`, `DefaultRuntime` is `Loom`, as the ecosystem's convention expects. Every
//! catalogue entry runs under loom with the preemption bound from `LOOM_MAX_PREEMPTIONS`
//! (3 here, 2 in the everyday `cargo test`), including the 3-thread scenarios. A correct entry
//! runs every scenario exhaustively; a racy one stops at its first catch. Split by family so CI
//! can shard it by name.
#![cfg(loom)]

use racelab::catalogue::{Entry, Expect, catalogue};
use racelab::engine::{Check, Engine, EngineKind, LoomConfig, Verdict};

fn deep() -> Engine {
    Engine::Loom(LoomConfig::default())
}

fn check_family(family: &str) {
    let entries: Vec<Entry> = catalogue()
        .into_iter()
        .filter(|e| e.family == family)
        .collect();
    assert!(!entries.is_empty());
    for entry in entries {
        if let Expect::Skip(why) = entry.expectation(EngineKind::Loom) {
            println!("{:<20} not run under loom: {why}", entry.variant);
            continue;
        }
        // A racy entry only has to be caught: its cell ends at the first scenario that
        // catches it, and the later ones are not run (the everyday run shows them all).
        let check = if entry.racy() {
            Check::new().first_catch()
        } else {
            Check::new()
        };
        let results = entry.run_in(&deep(), &check);
        for r in &results {
            println!(
                "{:<20} {:<26} {:>8.1} ms  {}",
                entry.variant,
                r.scenario,
                r.elapsed.as_secs_f64() * 1e3,
                r.summary().lines().next().unwrap_or("")
            );
        }
        if entry.racy() && entry.expectation(EngineKind::Loom) == Expect::Must {
            assert!(
                results.iter().any(|r| r.verdict == Verdict::Caught
                    && entry
                        .symptoms
                        .iter()
                        .any(|s| r.message().unwrap().contains(s))),
                "loom missed {}",
                entry.variant
            );
        } else if !entry.racy() {
            for r in results.iter().filter(|r| r.verdict != Verdict::NotRun) {
                r.unwrap_passed();
            }
            assert_eq!(entry.cell(&results), Verdict::Passed);
        }
    }
}

mod counter {
    #[test]
    fn every_counter_under_deep_loom() {
        super::check_family("counter");
    }
}

mod lock {
    #[test]
    fn every_lock_under_deep_loom() {
        super::check_family("lock");
    }
}

mod ordering {
    #[test]
    fn every_ordering_variant_under_deep_loom() {
        super::check_family("ordering");
    }
}

mod queue {
    #[test]
    fn every_queue_under_deep_loom() {
        super::check_family("queue");
    }
}

mod pool {
    #[test]
    fn every_pool_under_deep_loom() {
        super::check_family("pool");
    }
}

mod pipeline {
    #[test]
    fn every_pipeline_under_deep_loom() {
        super::check_family("pipeline");
    }
}

mod executor {
    #[test]
    fn every_executor_under_deep_loom() {
        super::check_family("executor");
    }
}

/// `--cfg loom` makes the un-annotated type loom's.
#[test]
fn cfg_loom_makes_loom_the_default_runtime() {
    use racelab::counter::{AtomicCounter, Counter};
    assert_eq!(<racelab::DefaultRuntime as racelab::Runtime>::NAME, "loom");
    loom::model(|| {
        let c: std::sync::Arc<AtomicCounter> = std::sync::Arc::new(AtomicCounter::new());
        let c2 = c.clone();
        let t = loom::thread::spawn(move || c2.increment());
        c.increment();
        t.join().unwrap();
        assert_eq!(c.get(), 2);
    });
}

/// loom's leak check on the rings: items are loom `Arc`s, which loom tracks; a ring that forgot
/// to drop its leftovers (or dropped one twice) fails the model.
mod drops {
    use loom::sync::Arc;
    use racelab::Loom;
    use racelab::queue::{MpmcRing, Queue, SpscRing};

    fn leftovers<Q: Queue<Arc<u64>> + 'static>() {
        loom::model(|| {
            let q = std::sync::Arc::new(Q::with_capacity(Some(2)).unwrap());
            let q2 = q.clone();
            let t = loom::thread::spawn(move || {
                q2.try_push(Arc::new(1)).unwrap();
                q2.try_push(Arc::new(2)).unwrap();
            });
            t.join().unwrap();
            let first = q.try_pop().unwrap();
            assert_eq!(*first, 1);
            // One item is left in the ring when it is dropped.
        });
    }

    #[test]
    fn mpmc_ring_drops_its_leftovers_once() {
        leftovers::<MpmcRing<Arc<u64>, Loom>>();
    }

    #[test]
    fn spsc_ring_drops_its_leftovers_once() {
        leftovers::<SpscRing<Arc<u64>, Loom>>();
    }
}
