//! A structure written outside racelab, checked under every engine through the public API only:
//! users can bring their own code.
//!
//! `CheckThenInit` runs an initialiser at most once... supposedly: it checks a flag, runs the
//! initialiser, then sets the flag (check-then-act). Two threads can both see the flag clear and
//! both initialise. `CasInit` claims the right to initialise with one compare-and-swap.

use racelab::engine::{Engine, EngineKind, StressConfig, Verdict, check_all};
use racelab::runtime::{AtomicBoolApi, AtomicIntApi, Runtime};
use racelab::{BugClass, Outcome, Scenario, ScenarioSet, Subject};
use std::sync::atomic::Ordering::{AcqRel, Acquire, Relaxed, Release};
use std::time::Duration;

trait Once<R: Runtime>: Send + Sync + 'static {
    fn new() -> Self;
    fn call(&self);
    fn inits(&self) -> usize;
}

/// **Intentionally racy:** check, then initialise, then set.
struct CheckThenInit<R: Runtime> {
    done: R::AtomicBool,
    inits: R::AtomicUsize,
}

impl<R: Runtime> Once<R> for CheckThenInit<R> {
    fn new() -> Self {
        CheckThenInit {
            done: R::AtomicBool::new(false),
            inits: R::AtomicUsize::new(0),
        }
    }
    fn call(&self) {
        if !self.done.load(Acquire) {
            self.inits.fetch_add(1, Relaxed);
            self.done.store(true, Release);
        }
    }
    fn inits(&self) -> usize {
        self.inits.load(Relaxed)
    }
}

/// One compare-and-swap decides who initialises.
struct CasInit<R: Runtime> {
    claimed: R::AtomicBool,
    inits: R::AtomicUsize,
}

impl<R: Runtime> Once<R> for CasInit<R> {
    fn new() -> Self {
        CasInit {
            claimed: R::AtomicBool::new(false),
            inits: R::AtomicUsize::new(0),
        }
    }
    fn call(&self) {
        if self
            .claimed
            .compare_exchange(false, true, AcqRel, Acquire)
            .is_ok()
        {
            self.inits.fetch_add(1, Relaxed);
        }
    }
    fn inits(&self) -> usize {
        self.inits.load(Relaxed)
    }
}

fn racing_calls<R: Runtime, O: Once<R>>() -> Scenario<R> {
    Scenario::<R>::builder("two racing calls", O::new)
        .threads(2, |o| o.call())
        .check(|o, _| match o.inits() {
            1 => Outcome::ok("initialised once"),
            n => Outcome::forbidden(
                BugClass::AtomicityViolation,
                format!("initialised {n} times"),
            ),
        })
}

#[derive(Default)]
struct Racy;
impl Subject for Racy {
    fn scenarios<R: Runtime>(&self) -> Vec<Scenario<R>> {
        vec![racing_calls::<R, CheckThenInit<R>>()]
    }
}

#[derive(Default)]
struct Correct;
impl Subject for Correct {
    fn scenarios<R: Runtime>(&self) -> Vec<Scenario<R>> {
        vec![racing_calls::<R, CasInit<R>>()]
    }
}

#[test]
fn racy_user_structure_is_caught_by_every_model_engine() {
    let results = check_all(&Racy);
    assert_eq!(results.len(), EngineKind::ALL.len());
    for r in results {
        match r.engine {
            // Machine-dependent: measured, not asserted.
            EngineKind::Stress => assert!(matches!(r.verdict, Verdict::Caught | Verdict::Passed)),
            _ => {
                r.assert_caught("atomicity violation: initialised 2 times");
            }
        }
    }
}

#[test]
fn correct_user_structure_passes_every_engine() {
    let set = ScenarioSet::of::<Correct>();
    for kind in EngineKind::ALL {
        let engine = match Engine::default_for(kind) {
            Engine::Stress(c) => Engine::Stress(StressConfig {
                time_budget: Duration::from_millis(300),
                ..c
            }),
            e => e,
        };
        engine.run(&set, 0).unwrap_passed();
    }
}

#[test]
#[should_panic(expected = "initialised 2 times")]
fn racy_user_structure_under_loom_should_panic() {
    Engine::default_for(EngineKind::Loom)
        .run(&ScenarioSet::of::<Racy>(), 0)
        .unwrap_passed();
}
