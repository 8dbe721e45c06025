//! Helpers shared by the family test files (`mod support;` in each).

use racelab::engine::{Check, Engine, EngineKind, StressConfig};
use std::time::Duration;

/// Every engine; stress with a short budget and a 1 s watchdog, so a twin's hang costs 1 s a
/// scenario.
pub fn every_engine() -> Check {
    Check::new()
        .engines(EngineKind::ALL)
        .engine(Engine::Stress(StressConfig {
            time_budget: Duration::from_millis(300),
            watchdog: Duration::from_secs(1),
            ..StressConfig::default()
        }))
}
