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

/// An entry's timed run, with its shape: what its two numbers mean, and so which benchmark
/// and which tables it belongs in. A family owns its shape.
#[derive(Debug, Clone, Copy)]
pub enum Timed {
    /// `threads` threads each incrementing one shared counter `ops` times: the counters, and
    /// the locks around a counter ([`counter_run`]). `racelab bench` tabulates these.
    Increments(BenchFn),
    /// `threads` producer+consumer pairs, each producer pushing `ops` items through the
    /// structure's own blocking API: the queues ([`queue_run`]). `benches/queue.rs` prints
    /// their table.
    Transfer(BenchFn),
}

impl Timed {
    /// The run, if it is [`Timed::Increments`].
    pub fn increments(self) -> Option<BenchFn> {
        match self {
            Timed::Increments(f) => Some(f),
            Timed::Transfer(_) => None,
        }
    }
    /// The run, if it is [`Timed::Transfer`].
    pub fn transfer(self) -> Option<BenchFn> {
        match self {
            Timed::Transfer(f) => Some(f),
            Timed::Increments(_) => None,
        }
    }
}

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

/// What the queue runner needs of a queue: build one, push (waiting while full), pop (waiting
/// while empty), and emptiness for the final accounting. Every racelab [`Queue`] is one through
/// [`Blocking`]; the benchmarks implement it for their yardsticks (crossbeam's queues and
/// channels).
///
/// [`Queue`]: crate::queue::Queue
pub trait Transfer: Send + Sync + 'static {
    /// A fresh, empty queue.
    fn make() -> Self;
    /// Pushes `v`, waiting while the queue is full.
    fn put(&self, v: u64);
    /// Pops an item, waiting while the queue is empty.
    fn take(&self) -> u64;
    /// Whether the queue is empty.
    fn drained(&self) -> bool;
}

/// The bound of the bounded queues in the queue benchmarks.
pub const QUEUE_CAPACITY: usize = 1024;

/// A racelab queue driven through its own blocking `push` and `pop`, bounded at
/// [`QUEUE_CAPACITY`] when it can be, unbounded otherwise (or when `UNBOUNDED`).
#[derive(Debug)]
pub struct Blocking<Q, const UNBOUNDED: bool = false>(pub Q);

impl<Q: crate::queue::Queue<u64>, const UNBOUNDED: bool> Transfer for Blocking<Q, UNBOUNDED> {
    fn make() -> Self {
        let bounded = Q::with_capacity(Some(QUEUE_CAPACITY));
        let q = match bounded {
            Ok(q) if !UNBOUNDED => q,
            _ => Q::with_capacity(None).expect("an unbounded queue"),
        };
        Blocking(q)
    }
    fn put(&self, v: u64) {
        if let Err(e) = self.0.push(v) {
            panic!("{}: {e}", Q::NAME);
        }
    }
    fn take(&self) -> u64 {
        self.0.pop().unwrap_or_else(|e| panic!("{}: {e}", Q::NAME))
    }
    fn drained(&self) -> bool {
        self.0.is_empty()
    }
}

/// Times `pairs` producers each pushing `per_producer` distinct items and `pairs` consumers
/// each popping as many, on a fresh `Q`. Every item is accounted for: the run panics unless the
/// consumers received each pushed item exactly once (count and sum) and the queue is empty
/// afterwards. `count` and `expected` of the result are items received and pushed.
///
/// # Panics
/// If `pairs` is 0, a thread panics, or an item is lost or duplicated.
pub fn transfer_run<Q: Transfer>(pairs: usize, per_producer: u64) -> Measured {
    assert!(
        pairs > 0,
        "a benchmark needs at least one producer and one consumer"
    );
    let threads = 2 * pairs;
    let q = Arc::new(Q::make());
    let ready = Arc::new(Barrier::new(threads + 1));
    let go = Arc::new(AtomicUsize::new(0));
    let handles: Vec<_> = (0..threads)
        .map(|i| {
            let (q, ready, go) = (q.clone(), ready.clone(), go.clone());
            std::thread::spawn(move || {
                ready.wait();
                while go.load(Ordering::Acquire) == 0 {
                    std::hint::spin_loop();
                }
                let start = Instant::now();
                let (mut count, mut sum) = (0u64, 0u128);
                if i < pairs {
                    // Producer `i` pushes i·n .. (i+1)·n: every item distinct.
                    let base = i as u64 * per_producer;
                    for v in base..base + per_producer {
                        q.put(v);
                    }
                } else {
                    // Consumers pop as many as a producer pushes: demand equals supply, so
                    // every blocking pop is eventually served.
                    for _ in 0..per_producer {
                        sum += u128::from(q.take());
                        count += 1;
                    }
                }
                (start, Instant::now(), count, sum)
            })
        })
        .collect();
    ready.wait();
    let t0 = Instant::now();
    go.store(1, Ordering::Release);
    let spans: Vec<_> = handles
        .into_iter()
        .map(|h| h.join().expect("benchmark thread panicked"))
        .collect();
    let elapsed = t0.elapsed();

    let total = pairs as u64 * per_producer;
    let count: u64 = spans.iter().map(|s| s.2).sum();
    let sum: u128 = spans.iter().map(|s| s.3).sum();
    let want = u128::from(total) * u128::from(total.saturating_sub(1)) / 2;
    assert_eq!(count, total, "items received ≠ items pushed");
    assert_eq!(
        sum, want,
        "sum of items received ≠ sum pushed (lost or duplicated items)"
    );
    assert!(q.drained(), "queue not empty after every item was received");
    let times: Vec<_> = spans.iter().map(|s| (s.0, s.1)).collect();
    Measured {
        elapsed,
        overlap: overlap(t0, &times),
        count: count as usize,
        expected: total as usize,
    }
}

/// [`transfer_run`] of a racelab queue through its blocking API: the queue family's
/// [`Timed::Transfer`] (`threads` = producer+consumer pairs, `ops` = items per producer).
pub fn queue_run<Q: crate::queue::Queue<u64>>(pairs: usize, per_producer: u64) -> Measured {
    transfer_run::<Blocking<Q::On<Std>>>(pairs, per_producer)
}
