//! Generated programs, Lincheck-style: proptest writes small concurrent programs of queue
//! operations (per thread: push, pop, close, all non-blocking), shuttle runs each under many
//! schedules, the linearizability checker judges every history, and a failure is shrunk by
//! proptest to the smallest program that still fails: fewer threads, fewer operations, simpler
//! ones.
//!
//! Operations are the non-blocking ones (`try_push`, `try_pop`, `close`): a generated blocking
//! `pop` with no matching push would wait forever, which is the program's fault, not the
//! queue's. SPSC rings are not explored (a generated program would break their contract).

use super::Queue;
use super::scenarios::{Log, QueueUnderTest, classify, close, pop, setup, try_push};
use crate::engine::{EngineResult, ShuttleConfig, Verdict, shuttle};
use crate::runtime::{Runtime, Shuttle};
use crate::scenario::Scenario;
use proptest::prelude::*;
use proptest::test_runner::{Config, RngAlgorithm, TestCaseError, TestError, TestRng, TestRunner};
use std::fmt;

/// One step of a generated thread.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Step {
    /// `try_push` of a value unique to this program (thread `t`'s `k`-th push is `100·(t+1) + k`).
    Push,
    /// `try_pop`.
    Pop,
    /// `close`.
    Close,
}

/// A generated concurrent program: a capacity and the steps of each thread.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Program {
    /// The queue's capacity (ignored by unbounded queues).
    pub capacity: usize,
    /// Each thread's steps, in program order.
    pub threads: Vec<Vec<Step>>,
}

impl Program {
    /// The number of operations over all threads.
    pub fn ops(&self) -> usize {
        self.threads.iter().map(Vec::len).sum()
    }
}

impl fmt::Display for Program {
    /// `capacity 1; T1: push push; T2: pop`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "capacity {}", self.capacity)?;
        for (t, steps) in self.threads.iter().enumerate() {
            write!(f, "; T{}:", t + 1)?;
            for s in steps {
                f.write_str(match s {
                    Step::Push => " push",
                    Step::Pop => " pop",
                    Step::Close => " close",
                })?;
            }
        }
        Ok(())
    }
}

/// Programs of 2..=`max_threads` threads with 1..=`max_ops` steps each, capacity 1..=3.
/// Shrinking goes towards fewer threads and steps, capacity 1, and `Push` (the first
/// alternative).
pub fn programs(max_threads: usize, max_ops: usize) -> impl Strategy<Value = Program> {
    let step = prop_oneof![3 => Just(Step::Push), 3 => Just(Step::Pop), 1 => Just(Step::Close)];
    (
        1usize..=3,
        prop::collection::vec(
            prop::collection::vec(step, 1..=max_ops.max(1)),
            2..=max_threads.max(2),
        ),
    )
        .prop_map(|(capacity, threads)| Program { capacity, threads })
}

/// The scenario that runs `program` on queue `Q` (on runtime `R`).
pub fn scenario<R: Runtime, Q: Queue<u64>>(program: &Program) -> Scenario<R> {
    let mut b = Scenario::<R>::builder(program.to_string(), setup::<Q::On<R>>(program.capacity))
        .observing::<Log>();
    for (t, steps) in program.threads.iter().enumerate() {
        let steps = steps.clone();
        b = b.thread(move |l: &QueueUnderTest<Q::On<R>>| {
            let mut log = Log::new(t);
            let mut k = 0;
            for s in &steps {
                match s {
                    Step::Push => {
                        k += 1;
                        try_push(l, &mut log, 100 * (t as u64 + 1) + k);
                    }
                    Step::Pop => {
                        let _ = pop(l, &mut log, false);
                    }
                    Step::Close => close(l, &mut log),
                }
            }
            log
        });
    }
    b.check(|state, logs| classify::<R, Q::On<R>>(state, logs, true))
}

/// How hard to look.
#[derive(Debug, Clone)]
pub struct ExploreConfig {
    /// Programs to generate (proptest cases).
    pub programs: u32,
    /// shuttle random schedules per program.
    pub schedules: usize,
    /// The seed of both proptest's and shuttle's generators (fixed: a run is reproducible).
    pub seed: u64,
    /// At most this many threads per program (at least 2).
    pub max_threads: usize,
    /// At most this many steps per thread.
    pub max_ops: usize,
}

impl Default for ExploreConfig {
    fn default() -> Self {
        ExploreConfig {
            programs: 64,
            schedules: 200,
            seed: 0x5eed,
            max_threads: 3,
            max_ops: 3,
        }
    }
}

/// [`explore`] for one queue type, as a catalogue entry carries it.
pub type ExploreFn = fn(&ExploreConfig) -> Result<u32, Box<Found>>;

/// A failing program, shrunk.
#[derive(Debug)]
pub struct Found {
    /// The smallest failing program proptest reached.
    pub program: Program,
    /// shuttle's result on it (the message and the counterexample).
    pub result: EngineResult,
}

/// Generates programs for queue `Q` and runs each under shuttle. `Ok(n)`: `n` programs passed;
/// `Err`: the smallest failing program found.
///
/// # Errors
/// The failing program and its result.
///
/// # Panics
/// If `Q` is an SPSC queue (its contract forbids most generated programs).
pub fn explore<Q: Queue<u64>>(cfg: &ExploreConfig) -> Result<u32, Box<Found>> {
    assert!(
        !Q::SPSC,
        "{}: generated programs would break the SPSC contract",
        Q::NAME
    );
    let shuttle_cfg = ShuttleConfig {
        iterations: cfg.schedules,
        seed: cfg.seed,
        max_time: Some(std::time::Duration::from_secs(2)),
        ..ShuttleConfig::default()
    };
    let run = |p: &Program| {
        shuttle::check(
            &scenario::<Shuttle, Q>(p),
            shuttle::Mode::Random,
            &shuttle_cfg,
        )
    };
    let mut seed = [0u8; 32];
    seed[..8].copy_from_slice(&cfg.seed.to_le_bytes());
    let mut runner = TestRunner::new_with_rng(
        Config {
            cases: cfg.programs,
            failure_persistence: None,
            ..Config::default()
        },
        TestRng::from_seed(RngAlgorithm::ChaCha, &seed),
    );
    let outcome = runner.run(&programs(cfg.max_threads, cfg.max_ops), |p| {
        let r = run(&p);
        match r.verdict {
            Verdict::Caught => Err(TestCaseError::fail(
                r.message()
                    .unwrap_or("failed")
                    .lines()
                    .next()
                    .unwrap_or("")
                    .to_string(),
            )),
            _ => Ok(()),
        }
    });
    match outcome {
        Ok(()) => Ok(cfg.programs),
        Err(TestError::Fail(_, program)) => {
            let result = run(&program);
            Err(Box::new(Found { program, result }))
        }
        Err(TestError::Abort(why)) => panic!("proptest aborted: {why}"),
    }
}
