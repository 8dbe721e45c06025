//! Timed runs on real threads, for the criterion benchmarks (`benches/`) and the seed
//! experiment. Each catalogue entry that can be timed carries a [`BenchFn`], built generically
//! for its type, so the benchmarks iterate the catalogue like the tests and the report do.
//!
//! Threads are spawned *before* the clock starts and released together by a spinning start
//! line; the clock stops when the last one finishes. Each run also says whether its threads
//! really ran in parallel: on a noisy 2-core machine they sometimes do not, and a contention
//! figure from such a run would be a lie.

use crate::counter::Counter;
use crate::runtime::{Runtime, Std};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Barrier};
use std::time::{Duration, Instant};

/// One timed run.
#[derive(Debug, Clone, Copy)]
pub struct Measured {
    /// Wall time from the release of the threads to the end of the last one.
    pub elapsed: Duration,
    /// The fraction of the run during which *all* threads were running: from the last start to
    /// the first finish, over the whole span. 1.0 for one thread.
    pub overlap: f64,
    /// The counter's final value.
    pub count: usize,
    /// The number of increments made (`threads × ops`).
    pub expected: usize,
}

impl Measured {
    /// Whether the threads ran in parallel for at least half of the run: the condition for
    /// calling a figure "contended".
    pub fn parallel(&self) -> bool {
        self.overlap >= 0.5
    }
    /// Increments lost (the racy variants' damage).
    pub fn lost(&self) -> usize {
        self.expected.saturating_sub(self.count)
    }
}

/// The fraction of a run, released at `t0`, during which *all* threads were running: from the
/// last start to the first finish, over the whole span. 1.0 for one thread.
///
/// # Panics
/// If `spans` (each thread's start and end) is empty.
pub fn overlap(t0: Instant, spans: &[(Instant, Instant)]) -> f64 {
    let last_start = spans.iter().map(|s| s.0).max().expect("threads > 0");
    let first_end = spans.iter().map(|s| s.1).min().expect("threads > 0");
    let end = spans.iter().map(|s| s.1).max().expect("threads > 0");
    let span = end.saturating_duration_since(t0).as_secs_f64();
    if spans.len() == 1 || span == 0.0 {
        1.0
    } else {
        first_end
            .saturating_duration_since(last_start)
            .as_secs_f64()
            / span
    }
}

/// A timed run of `threads` threads doing `ops` operations each.
pub type BenchFn = fn(threads: usize, ops: u64) -> Measured;

/// Times `threads` threads each incrementing one shared `C<Std>` `ops` times.
///
/// # Panics
/// If `threads` is 0.
pub fn counter_run<C: Counter>(threads: usize, ops: u64) -> Measured {
    assert!(threads > 0, "a benchmark needs at least one thread");
    let counter = Arc::new(<C::On<Std> as Counter>::new());
    let ready = Arc::new(Barrier::new(threads + 1));
    let go = Arc::new(AtomicUsize::new(0));
    let handles: Vec<_> = (0..threads)
        .map(|i| {
            let (counter, ready, go) = (counter.clone(), ready.clone(), go.clone());
            std::thread::spawn(move || {
                Std::set_thread_index(Some(i));
                ready.wait();
                while go.load(Ordering::Acquire) == 0 {
                    std::hint::spin_loop();
                }
                let start = Instant::now();
                for _ in 0..ops {
                    counter.increment();
                }
                (start, Instant::now())
            })
        })
        .collect();
    ready.wait();
    let t0 = Instant::now();
    go.store(1, Ordering::Release);
    let spans: Vec<(Instant, Instant)> = handles
        .into_iter()
        .map(|h| h.join().expect("benchmark thread panicked"))
        .collect();
    let elapsed = t0.elapsed();
    Measured {
        elapsed,
        overlap: overlap(t0, &spans),
        count: counter.get(),
        expected: threads * ops as usize,
    }
}
