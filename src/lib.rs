//! # racelab
//!
//! Concurrency bugs made visible, checkable and measurable.
//!
//! racelab is a catalogue of concurrent structures in which every bug pattern comes as an
//! intentionally racy variant beside its correct twin, and a harness that runs **one scenario
//! body under several engines**: [loom](engine::loom) (exhaustive, C11 weak memory),
//! [shuttle](engine::shuttle) (random, PCT, DFS), [proptest-chosen schedules](engine::schedule)
//! shrunk to the fewest preemptions, and [real threads](engine::stress). It reports, side by
//! side, which engine catches which bug, in how many executions, with what counterexample, and
//! names each engine's blind spots.
//!
//! - [`runtime`]: the primitive family (`Std`, `Loom`, `Shuttle`) every structure is generic over.
//! - [`scenario`]: setup, per-thread bodies, a check that classifies outcomes.
//! - [`engine`]: the engines and their common result shape.
//! - [`catalogue`]: the registry of entries and expectations.
//! - [`counter`]: the counter family (the seed article's lost update).
//! - [`pool`]: the fixed worker pool and its racy twin.
//! - [`report`]: the detection matrix, `report.json` and `report.md`.
//!
//! Check a structure of your own: implement [`scenario::Subject`] and call
//! [`engine::check_all`]; the README has a worked example.

#![warn(missing_docs)]

pub mod bench;
#[cfg(feature = "cli")]
pub mod benchsum;
pub mod catalogue;
pub mod compare;
pub mod counter;
pub mod engine;
pub mod executor;
pub mod lincheck;
pub mod lock;
pub mod ordering;
pub mod pipeline;
pub mod pool;
pub mod queue;
pub mod report;
pub mod runtime;
pub mod scenario;
#[cfg(all(feature = "seeds", not(loom)))]
pub mod seeds;
pub mod shard;
pub mod trace;
pub mod workers;

pub use crate::engine::{Check, Results, check_all};
pub use crate::engine::{Engine, EngineKind, EngineResult, Verdict};
pub use crate::runtime::{DefaultRuntime, Loom, Runtime, Shuttle, Std};
pub use crate::scenario::{BugClass, Failure, Outcome, Scenario, ScenarioSet, Subject, fail};
