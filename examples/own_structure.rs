//! Check a structure of your own under every engine.
//!
//! A ticket dispenser hands out numbers; no two customers may get the same one. The racy
//! version reads the next number and writes it back incremented (two loads of the same value →
//! a duplicated ticket); the correct one uses `fetch_add`. Both are generic over racelab's
//! `Runtime`, so the same code runs on real threads, under loom and under shuttle. The subject
//! is a value with parameters (how many customers, which dispenser), so one type sweeps sizes.
//!
//! Run it: `cargo run --release --example own_structure`.

use racelab::engine::{Check, EngineKind};
use racelab::runtime::prelude::*;
use racelab::{BugClass, Outcome, Scenario, Subject};
use std::sync::atomic::Ordering::SeqCst;
use std::time::Duration;

/// **Intentionally racy:** load, then store the next number.
struct RacyDispenser<R: Runtime> {
    next: R::AtomicUsize,
}

impl<R: Runtime> RacyDispenser<R> {
    fn take(&self) -> usize {
        let t = self.next.load(SeqCst);
        racelab::trace::event(|| format!("read next = {t}"));
        self.next.store(t + 1, SeqCst);
        t
    }
}

/// `fetch_add`: one indivisible step.
struct Dispenser<R: Runtime> {
    next: R::AtomicUsize,
}

impl<R: Runtime> Dispenser<R> {
    fn take(&self) -> usize {
        self.next.fetch_add(1, SeqCst)
    }
}

/// `customers` threads take a ticket each; the tickets must all differ.
struct Customers {
    customers: usize,
    racy: bool,
}

fn queue_up<R: Runtime, D: Send + Sync + 'static>(
    n: usize,
    new: fn() -> D,
    take: fn(&D) -> usize,
) -> Scenario<R> {
    Scenario::<R>::builder(format!("{n} customers"), new)
        .observing::<usize>()
        .threads(n, take)
        .check(|_, tickets| {
            let mut sorted = tickets.to_vec();
            sorted.sort_unstable();
            match sorted.windows(2).find(|w| w[0] == w[1]) {
                Some(w) => Outcome::forbidden(
                    BugClass::DuplicatedItem,
                    format!("two customers got ticket {}", w[0]),
                ),
                None => Outcome::ok("every ticket differs"),
            }
        })
}

impl Subject for Customers {
    fn scenarios<R: Runtime>(&self) -> Vec<Scenario<R>> {
        let n = self.customers;
        vec![if self.racy {
            queue_up::<R, _>(
                n,
                || RacyDispenser::<R> {
                    next: R::AtomicUsize::new(0),
                },
                RacyDispenser::take,
            )
        } else {
            queue_up::<R, _>(
                n,
                || Dispenser::<R> {
                    next: R::AtomicUsize::new(0),
                },
                Dispenser::take,
            )
        }]
    }
}

fn main() {
    // Every engine, a 5 s limit per run, a fixed seed, and 300 ms of real threads.
    let check = Check::new()
        .seed(7)
        .time_limit(Duration::from_secs(5))
        .engine(racelab::engine::Engine::Stress(
            racelab::engine::StressConfig {
                time_budget: Duration::from_millis(300),
                ..Default::default()
            },
        ));
    for customers in [2, 5] {
        let racy = Customers {
            customers,
            racy: true,
        };
        let results = check.run(&racy);
        println!("racy dispenser, {customers} customers:\n{results}");
        // The model engines must catch it; loom only while it fits in loom's 4 threads (with 5
        // customers its verdict is `not run`, with the number); stress may or may not.
        let mut must = vec![
            EngineKind::ShuttleRandom,
            EngineKind::ShuttlePct,
            EngineKind::Proptest,
        ];
        if customers <= 4 {
            must.push(EngineKind::Loom);
        }
        results.assert_caught_by(&must, BugClass::DuplicatedItem);

        // Replay the shrunk counterexample from its token, as a user would from a report.
        let shrunk = results
            .of(EngineKind::Proptest)
            .next()
            .expect("proptest ran");
        let token = shrunk.replay_token().expect("a replayable failure");
        let again = check.replay(&racy, &token).expect("a well-formed token");
        println!("replay {token}: {}\n", again.summary());
        assert_eq!(again.message(), shrunk.message());

        let correct = Customers {
            customers,
            racy: false,
        };
        let results = check.run(&correct);
        println!("correct dispenser, {customers} customers:\n{results}");
        results.assert_passed();
    }
}
