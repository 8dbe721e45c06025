//! Helpers shared by the test files (`mod support;` in each).

#![allow(dead_code)]

use racelab::engine::{Check, Engine, EngineKind, ShuttleConfig, StressConfig};
use std::time::Duration;

/// `kind` with the test budgets, which keep the catalogue's 347 cases at about 40 s of a warm
/// `cargo test --release` on 2 cores (the matrix, `cargo run --release`, runs the defaults):
/// - stress: 100 ms a scenario (default 1 s) and a 300 ms watchdog (default 5 s): a correct
///   twin's round still finishes in microseconds to a millisecond, and a racy deadlock costs
///   at most 0.6 s (the watchdog, then as long again for the released to return), not 6;
/// - DFS: 2,000 schedules a scenario (default 20,000);
/// - every shuttle run capped at 500 ms (it only bites bounded DFS over spinning locks, whose
///   racy variant is a "may" for DFS);
/// - loom, random, PCT and proptest: their defaults, which are seeded and deterministic.
///
/// A pass that a budget ended says so in its bound; the tests accept it as a pass, as the
/// matrix does. The catalogue's "must" cells are all caught within these budgets
/// (tests/catalogue.rs shows it).
pub fn test_engine(kind: EngineKind) -> Engine {
    let cap = |c: ShuttleConfig| ShuttleConfig {
        max_time: Some(Duration::from_millis(500)),
        ..c
    };
    match Engine::default_for(kind) {
        Engine::Stress(_) => Engine::Stress(StressConfig {
            time_budget: Duration::from_millis(100),
            watchdog: Duration::from_millis(300),
            ..StressConfig::default()
        }),
        Engine::ShuttleDfs(c) => Engine::ShuttleDfs(cap(ShuttleConfig {
            iterations: 2_000,
            ..c
        })),
        Engine::ShuttleRandom(c) => Engine::ShuttleRandom(cap(c)),
        Engine::ShuttlePct(c) => Engine::ShuttlePct(cap(c)),
        e => e,
    }
}

/// Every engine, with the [test budgets](test_engine).
pub fn every_engine() -> Check {
    EngineKind::ALL
        .into_iter()
        .fold(Check::new(), |c, k| c.engine(test_engine(k)))
}
