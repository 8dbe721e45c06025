//! The linearizability checker on long real-thread histories: 10^4 and 10^5 operations recorded
//! from 2 and 4 OS threads (4 is oversubscribed on a 2-core machine) hammering crossbeam's
//! `ArrayQueue<u64>` (capacity 16), with `ThreadLog`s and one `Clock`. Ids are
//! `lincheck/<workload>/<threads>t/<ops>`; one iteration is one `check` of the same history.
//!
//! Workloads: `prodcons` (even threads `TryPush` unique values, odd threads `TryPop`), `mixed`
//! (each operation a coin flip; a `Full` or `Empty` result yields the core), and `violation` (a prodcons history in which one late pop is
//! made to return the first value popped again: the time to refute it).
//!
//! Before each criterion loop one line goes to stderr: the time of one check, the peak heap it
//! allocated (a counting global allocator), the explored states and memo entries.
//!
//! ```sh
//! cargo bench --bench lincheck
//! RACELAB_BENCH_MEASURE_MS=500 RACELAB_BENCH_WARMUP_MS=100 cargo bench --bench lincheck  # smoke
//! ```

use std::alloc::{GlobalAlloc, Layout, System};
use std::hint::black_box;
use std::sync::atomic::{AtomicUsize, Ordering::Relaxed};
use std::time::{Duration, Instant};

use criterion::{BenchmarkId, Criterion};
use crossbeam_queue::ArrayQueue;
use racelab::lincheck::{
    Clock, Consistency, History, QueueModel, QueueOp, QueueRet, ThreadLog, check,
};

/// The system allocator, counting live bytes and their high-water mark.
struct Counting;

/// Bytes currently allocated.
static LIVE: AtomicUsize = AtomicUsize::new(0);
/// Highest `LIVE` since the last [`reset_peak`].
static PEAK: AtomicUsize = AtomicUsize::new(0);

fn grew(by: usize) {
    let now = LIVE.fetch_add(by, Relaxed) + by;
    PEAK.fetch_max(now, Relaxed);
}

// SAFETY: every method forwards to `System` with the caller's arguments unchanged; the counters
// are only bookkeeping.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        // SAFETY: forwarded contract.
        let p = unsafe { System.alloc(layout) };
        if !p.is_null() {
            grew(layout.size());
        }
        p
    }
    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        // SAFETY: forwarded contract.
        let p = unsafe { System.alloc_zeroed(layout) };
        if !p.is_null() {
            grew(layout.size());
        }
        p
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: forwarded contract.
        unsafe { System.dealloc(ptr, layout) };
        LIVE.fetch_sub(layout.size(), Relaxed);
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        // SAFETY: forwarded contract.
        let p = unsafe { System.realloc(ptr, layout, new_size) };
        if !p.is_null() {
            if new_size >= layout.size() {
                grew(new_size - layout.size());
            } else {
                LIVE.fetch_sub(layout.size() - new_size, Relaxed);
            }
        }
        p
    }
}

#[global_allocator]
static ALLOCATOR: Counting = Counting;

/// Starts a peak measurement; returns the baseline.
fn reset_peak() -> usize {
    let base = LIVE.load(Relaxed);
    PEAK.store(base, Relaxed);
    base
}

fn xorshift(s: &mut u64) -> u64 {
    *s ^= *s << 13;
    *s ^= *s >> 7;
    *s ^= *s << 17;
    *s
}

/// `ops` operations from `threads` real threads on an `ArrayQueue` of capacity 16.
fn record(threads: usize, ops: usize, mixed: bool) -> History<QueueModel> {
    let queue = ArrayQueue::new(16);
    let clock = Clock::new();
    let per_thread = ops / threads;
    let start = std::sync::Barrier::new(threads);
    let logs: Vec<ThreadLog<QueueModel>> = std::thread::scope(|s| {
        let handles: Vec<_> = (0..threads)
            .map(|t| {
                let (queue, clock, start) = (&queue, &clock, &start);
                s.spawn(move || {
                    let mut log = ThreadLog::new(t);
                    start.wait();
                    let mut rng = t as u64 * 7919 + 1;
                    for i in 0..per_thread {
                        let push = if mixed {
                            xorshift(&mut rng) % 2 == 0
                        } else {
                            t % 2 == 0
                        };
                        if push {
                            let v = ((t as u64) << 32) | i as u64;
                            let pushed =
                                log.record(clock, QueueOp::TryPush(v), || match queue.push(v) {
                                    Ok(()) => (QueueRet::Pushed, true),
                                    Err(_) => (QueueRet::Full, false),
                                });
                            if !pushed {
                                // Let a consumer run: on a loaded machine a thread may otherwise
                                // finish alone within one time slice.
                                std::thread::yield_now();
                            }
                        } else {
                            let popped = log.record(clock, QueueOp::TryPop, || {
                                let got = queue.pop();
                                (got.map_or(QueueRet::Empty, QueueRet::Popped), got.is_some())
                            });
                            if !popped {
                                std::thread::yield_now();
                            }
                        }
                    }
                    log
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    History::from_logs(logs)
}

fn successful_pops(history: &History<QueueModel>) -> usize {
    history
        .operations()
        .iter()
        .filter(|o| matches!(o.ret, Some(QueueRet::Popped(_))))
        .count()
}

/// Operations invoked before the previous one (by call tick) returned: how concurrent the
/// recording really was.
fn overlapping(history: &History<QueueModel>) -> usize {
    let ops = history.operations();
    ops.windows(2)
        .filter(|w| w[0].returned.is_none_or(|r| w[1].call < r))
        .count()
}

/// `history` with its last successful pop returning the first popped value again.
fn pop_twice(history: &History<QueueModel>) -> History<QueueModel> {
    let mut ops = history.operations().to_vec();
    let popped = |i: &usize| matches!(ops[*i].ret, Some(QueueRet::Popped(_)));
    let first = (0..ops.len()).find(popped).expect("some pop succeeded");
    let last = (0..ops.len())
        .rev()
        .find(popped)
        .expect("some pop succeeded");
    ops[last].ret = ops[first].ret;
    History::from_operations(ops)
}

fn env_ms(name: &str, default: u64) -> Duration {
    let ms = std::env::var(name)
        .ok()
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or(default);
    Duration::from_millis(ms.max(1))
}

fn main() {
    let mut c = Criterion::default()
        .sample_size(10)
        .warm_up_time(env_ms("RACELAB_BENCH_WARMUP_MS", 300))
        .measurement_time(env_ms("RACELAB_BENCH_MEASURE_MS", 2000))
        .configure_from_args();
    let init = QueueModel::new(Some(16));
    let mut group = c.benchmark_group("lincheck");
    for ops in [10_000, 100_000] {
        for threads in [2, 4] {
            for workload in ["prodcons", "mixed", "violation"] {
                if workload == "violation" && threads == 4 {
                    continue;
                }
                // A run in which the threads never met (one finished before the other got a
                // core) has no successful pops to corrupt: record again.
                let recorded = (0..20)
                    .map(|_| record(threads, ops, workload == "mixed"))
                    .find(|h| successful_pops(h) >= 2)
                    .expect("threads met within 20 recordings");
                let history = if workload == "violation" {
                    pop_twice(&recorded)
                } else {
                    recorded
                };
                let base = reset_peak();
                let start = Instant::now();
                let result = check(&history, &init, Consistency::Linearizable);
                let took = start.elapsed();
                let peak = PEAK.load(Relaxed) - base;
                let (stats, verdict) = match &result {
                    Ok(w) => (w.stats(), "linearizable".to_string()),
                    Err(v) => (v.stats(), v.summary()),
                };
                assert_eq!(
                    result.is_ok(),
                    workload != "violation",
                    "{workload}: unexpected verdict: {verdict}"
                );
                eprintln!(
                    "lincheck/{workload}/{threads}t/{ops}: {} overlapping; one check {took:.2?}, \
                     peak heap {:.2} MiB, {} states explored, {} memo entries; {}",
                    overlapping(&history),
                    peak as f64 / (1024.0 * 1024.0),
                    stats.explored,
                    stats.memo_entries,
                    clip(&verdict, 100),
                );
                drop(result);
                group.bench_with_input(
                    BenchmarkId::new(format!("{workload}/{threads}t"), ops),
                    &history,
                    |b, h| b.iter(|| black_box(check(h, &init, Consistency::Linearizable).is_ok())),
                );
            }
        }
    }
    group.finish();
    c.final_summary();
}

fn clip(s: &str, max: usize) -> String {
    if s.chars().count() <= max {
        s.to_string()
    } else {
        s.chars().take(max).chain(['…']).collect()
    }
}
