//! The executor under criterion (issue 11): what one task costs through racelab's
//! [`ThreadPoolExecutor`], against rayon, a hand-made crossbeam-channel pool and a thread per
//! task, and how its `map` fares with more workers.
//!
//! - **`executor/roundtrip/<impl>/<workers>`**: one iteration is **one submit → result round
//!   trip of an empty task** that returns a `u64`: submit it, block on this thread until its
//!   value is back, then submit the next. One task in flight at a time, so ns/task is the
//!   latency of handing a task to a worker and its value back, not a throughput. The pools are
//!   built once, outside the clock. Impls:
//!   - `ThreadPoolExecutor` (2 workers): `submit`, then `result(None)` on the handle.
//!   - `rayon-spawn` (a `rayon::ThreadPool` of 2 threads): `spawn` of a closure that sends
//!     the value over a per-task `crossbeam_channel::bounded(1)`, then `recv`.
//!   - `crossbeam-pool` (2 threads, hand-made): jobs as `Box<dyn FnOnce() + Send>` over one
//!     unbounded crossbeam channel, the value back over a per-task `bounded(1)`, then `recv`.
//!   - `spawn-per-task`: `std::thread::spawn` of the task, then `join` for its value.
//!
//!   The yardsticks carry each value back through a channel of its own, as the executor's
//!   handle is a slot of its own per task.
//! - **`executor/map/<impl>/<workers>`**: one iteration is one whole `map` of a trivial
//!   function over [`ITEMS`] `u64`s, every result consumed in input order:
//!   `ThreadPoolExecutor::map(f, 0..ITEMS, None)` at 1, 2 and 4 workers (4 is oversubscribed on
//!   2 cores), `rayon` (`(0..ITEMS).into_par_iter().map(f).collect::<Vec<_>>()` in a pool of 1,
//!   2 or 4 threads), and `sequential` (the same map in a plain loop on this thread). ns/item
//!   is a whole map divided by [`ITEMS`].
//!
//! Every run checks its values (the sum of what came back against the sum sent) and panics
//! otherwise. Parallelism is checked in the run, as `benches/pipeline.rs` does: the process's
//! CPU time over wall time (`getrusage`) in each measured sample. A round trip is a serial
//! chain (one side waits while the other works), so there a cpu/wall above 1 is a thread
//! spinning while it waits, not parallel work; a map with 2 or more workers below 1.3 did not
//! run on both cores.
//!
//! After criterion, a table goes to stderr: the median ns per task (or item) over the measured
//! samples, the ratio against the yardstick, the median cpu/wall, and the issue's two targets
//! judged from this run: the executor's round trip within 2× of rayon's, and at least 15×
//! cheaper than a thread per task; then `map` at 2 and 4 workers against 1.
//!
//! ```sh
//! cargo bench --bench executor
//! RACELAB_BENCH_MEASURE_MS=300 RACELAB_BENCH_WARMUP_MS=100 cargo bench --bench executor  # smoke
//! ```

#[path = "common/mod.rs"]
#[allow(dead_code)]
// `bench_family` is for the catalogue-driven benches; this one uses `criterion`.
mod common;

use criterion::{BenchmarkGroup, BenchmarkId, Throughput, measurement::WallTime};
use crossbeam_channel::Sender;
use racelab::benchsum::runs::BenchConfig;
use racelab::benchsum::{EXECUTOR_MAP, EXECUTOR_ROUNDTRIP};
use racelab::executor::ThreadPoolExecutor;
use rayon::prelude::*;
use std::hint::black_box;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

/// Items per `map`.
const ITEMS: u64 = 10_000;
/// Workers of the round-trip pools: the machine's 2 cores.
const POOL_WORKERS: usize = 2;
/// Workers (or rayon threads) of the `map` rows.
const MAP_WORKERS: [usize; 3] = [1, 2, 4];

/// The `map` rows' function: a multiply and a shift.
fn trivial(x: u64) -> u64 {
    x.wrapping_mul(0x9E37_79B9_7F4A_7C15) >> 7
}

/// The sum of `trivial` over `0..ITEMS`: what every map must give back.
fn expected_map_sum() -> u64 {
    (0..black_box(ITEMS))
        .map(trivial)
        .fold(0, u64::wrapping_add)
}

/// The sum of the values `0..iters` the round trips send.
fn expected_roundtrip_sum(iters: u64) -> u64 {
    iters * iters.saturating_sub(1) / 2
}

/// CPU time spent by every process on the machine so far (the non-idle time of `/proc/stat`'s
/// `cpu` line), or `None` where there is no `/proc/stat`. Clock ticks: 10 ms resolution.
fn machine_cpu_time() -> Option<Duration> {
    let stat = std::fs::read_to_string("/proc/stat").ok()?;
    let fields: Vec<u64> = stat
        .lines()
        .next()?
        .strip_prefix("cpu ")?
        .split_whitespace()
        .map(|f| f.parse().ok())
        .collect::<Option<_>>()?;
    // user nice system idle iowait irq softirq steal: all but idle and iowait.
    let busy: u64 = fields
        .iter()
        .take(8)
        .enumerate()
        .filter(|(i, _)| *i != 3 && *i != 4)
        .map(|(_, v)| v)
        .sum();
    // SAFETY: `sysconf` reads a configuration value and has no other effect.
    let hz = unsafe { libc::sysconf(libc::_SC_CLK_TCK) };
    (hz > 0).then(|| Duration::from_secs_f64(busy as f64 / hz as f64))
}

/// A timed run: wall time, this process's CPU time over wall time, and the CPU time other
/// processes took meanwhile over wall time (the cores they kept busy; NaN where unknown).
struct Timed {
    elapsed: Duration,
    cpu_ratio: f64,
    others: f64,
}

fn timed(f: impl FnOnce()) -> Timed {
    let (m0, c0, t0) = (machine_cpu_time(), common::cpu_time(), Instant::now());
    f();
    let elapsed = t0.elapsed();
    let cpu = common::cpu_time() - c0;
    let wall = elapsed.as_secs_f64().max(1e-9);
    let others = match (m0, machine_cpu_time()) {
        (Some(m0), Some(m1)) => ((m1 - m0).as_secs_f64() - cpu.as_secs_f64()).max(0.0) / wall,
        _ => f64::NAN,
    };
    Timed {
        elapsed,
        cpu_ratio: cpu.as_secs_f64() / wall,
        others,
    }
}

/// A pool built by hand: `workers` threads taking boxed jobs from one crossbeam channel.
struct CrossbeamPool {
    jobs: Option<Sender<Box<dyn FnOnce() + Send>>>,
    threads: Vec<JoinHandle<()>>,
}

impl CrossbeamPool {
    fn new(workers: usize) -> Self {
        let (jobs, rx) = crossbeam_channel::unbounded::<Box<dyn FnOnce() + Send>>();
        let threads = (0..workers)
            .map(|_| {
                let rx = rx.clone();
                std::thread::spawn(move || {
                    for job in rx {
                        job();
                    }
                })
            })
            .collect();
        CrossbeamPool {
            jobs: Some(jobs),
            threads,
        }
    }

    fn execute(&self, job: impl FnOnce() + Send + 'static) {
        self.jobs
            .as_ref()
            .expect("open until dropped")
            .send(Box::new(job))
            .expect("the workers hold the receiver");
    }
}

impl Drop for CrossbeamPool {
    fn drop(&mut self) {
        drop(self.jobs.take());
        for t in self.threads.drain(..) {
            t.join().expect("a crossbeam pool worker");
        }
    }
}

/// `iters` round trips through the executor: submit, then `result(None)`.
fn executor_roundtrips(ex: &ThreadPoolExecutor, iters: u64) -> Timed {
    let mut sum = 0;
    let t = timed(|| {
        for i in 0..iters {
            let h = ex.submit(move || black_box(i)).expect("not shut down");
            sum += h.result(None).expect("an empty task returns");
        }
    });
    assert_eq!(sum, expected_roundtrip_sum(iters));
    t
}

/// `iters` round trips through rayon: `spawn`, the value back over a channel of its own.
fn rayon_roundtrips(pool: &rayon::ThreadPool, iters: u64) -> Timed {
    let mut sum = 0;
    let t = timed(|| {
        for i in 0..iters {
            let (tx, rx) = crossbeam_channel::bounded(1);
            pool.spawn(move || {
                tx.send(black_box(i)).expect("the submitter waits for it");
            });
            sum += rx.recv().expect("the task sends its value");
        }
    });
    assert_eq!(sum, expected_roundtrip_sum(iters));
    t
}

/// `iters` round trips through the hand-made crossbeam pool.
fn crossbeam_roundtrips(pool: &CrossbeamPool, iters: u64) -> Timed {
    let mut sum = 0;
    let t = timed(|| {
        for i in 0..iters {
            let (tx, rx) = crossbeam_channel::bounded(1);
            pool.execute(move || {
                tx.send(black_box(i)).expect("the submitter waits for it");
            });
            sum += rx.recv().expect("the task sends its value");
        }
    });
    assert_eq!(sum, expected_roundtrip_sum(iters));
    t
}

/// `iters` round trips each on a thread of its own: spawn, then join for the value.
fn spawn_roundtrips(iters: u64) -> Timed {
    let mut sum = 0;
    let t = timed(|| {
        for i in 0..iters {
            sum += std::thread::spawn(move || black_box(i))
                .join()
                .expect("a task thread");
        }
    });
    assert_eq!(sum, expected_roundtrip_sum(iters));
    t
}

/// `iters` whole maps through the executor, every result consumed in input order.
fn executor_maps(ex: &ThreadPoolExecutor, iters: u64, expected: u64) -> Timed {
    timed(|| {
        for _ in 0..iters {
            let sum = ex
                .map(trivial, 0..ITEMS, None)
                .expect("not shut down")
                .map(|r| r.expect("a trivial task returns"))
                .fold(0, u64::wrapping_add);
            assert_eq!(sum, expected);
        }
    })
}

/// `iters` whole maps with rayon's `par_iter`, collected in input order.
fn rayon_maps(pool: &rayon::ThreadPool, iters: u64, expected: u64) -> Timed {
    timed(|| {
        for _ in 0..iters {
            let out: Vec<u64> = pool.install(|| (0..ITEMS).into_par_iter().map(trivial).collect());
            assert_eq!(out.into_iter().fold(0, u64::wrapping_add), expected);
        }
    })
}

/// `iters` whole maps in a plain loop on this thread.
fn sequential_maps(iters: u64, expected: u64) -> Timed {
    timed(|| {
        for _ in 0..iters {
            let out: Vec<u64> = (0..black_box(ITEMS)).map(trivial).collect();
            assert_eq!(out.into_iter().fold(0, u64::wrapping_add), expected);
        }
    })
}

/// The samples of one benchmark id: one entry per criterion call of the routine (one sample);
/// criterion's measured samples are the last `samples` calls, after its warm-up calls.
struct Record {
    group: &'static str,
    name: &'static str,
    workers: usize,
    /// (ns per task or item, CPU/wall, other processes' CPU/wall), one per call.
    runs: Vec<(f64, f64, f64)>,
}

impl Record {
    /// (median ns per task or item, median CPU/wall) of the last `samples` calls.
    fn summary(&self, samples: usize) -> (f64, f64) {
        let tail = self.tail(samples);
        (
            common::median(tail.iter().map(|r| r.0).collect()),
            common::median(tail.iter().map(|r| r.1).collect()),
        )
    }

    /// The most cores other processes kept busy in one of the last `samples` calls (NaN if
    /// unknown).
    fn others(&self, samples: usize) -> f64 {
        self.tail(samples)
            .iter()
            .map(|r| r.2)
            .fold(f64::NAN, f64::max)
    }

    fn tail(&self, samples: usize) -> &[(f64, f64, f64)] {
        &self.runs[self.runs.len().saturating_sub(samples)..]
    }
}

/// Times `run(iters)` (`iters` iterations of `items` tasks or items each) under
/// `<name>/<workers>`.
fn bench(
    group: &mut BenchmarkGroup<'_, WallTime>,
    records: &mut Vec<Record>,
    (group_name, name, workers): (&'static str, &'static str, usize),
    items: u64,
    mut run: impl FnMut(u64) -> Timed,
) {
    let mut rec = Record {
        group: group_name,
        name,
        workers,
        runs: Vec::new(),
    };
    group.throughput(Throughput::Elements(items));
    group.bench_function(BenchmarkId::new(name, workers), |b| {
        b.iter_custom(|iters| {
            let t = run(iters);
            let n = (iters * items).max(1) as f64;
            rec.runs
                .push((t.elapsed.as_nanos() as f64 / n, t.cpu_ratio, t.others));
            t.elapsed
        })
    });
    if !rec.runs.is_empty() {
        records.push(rec);
    }
}

fn rayon_pool(threads: usize) -> rayon::ThreadPool {
    rayon::ThreadPoolBuilder::new()
        .num_threads(threads)
        .build()
        .expect("a rayon pool")
}

fn main() {
    let cfg = BenchConfig::from_env(3000, 500, 20);
    let mut c = common::criterion(&cfg);
    let mut records = Vec::new();

    // Each pool lives for its own benchmark only, so no idle pool's threads spin beside another's
    // measurement.
    let mut group = c.benchmark_group(EXECUTOR_ROUNDTRIP);
    let rt = |name| ("roundtrip", name, POOL_WORKERS);
    {
        let ex: ThreadPoolExecutor = ThreadPoolExecutor::new(POOL_WORKERS).expect("workers > 0");
        bench(&mut group, &mut records, rt("ThreadPoolExecutor"), 1, |n| {
            executor_roundtrips(&ex, n)
        });
        assert!(ex.shutdown(true, false).waited);
    }
    {
        let pool = rayon_pool(POOL_WORKERS);
        bench(&mut group, &mut records, rt("rayon-spawn"), 1, |n| {
            rayon_roundtrips(&pool, n)
        });
    }
    {
        let pool = CrossbeamPool::new(POOL_WORKERS);
        bench(&mut group, &mut records, rt("crossbeam-pool"), 1, |n| {
            crossbeam_roundtrips(&pool, n)
        });
    }
    bench(
        &mut group,
        &mut records,
        ("roundtrip", "spawn-per-task", 1),
        1,
        spawn_roundtrips,
    );
    group.finish();

    let expected = expected_map_sum();
    let mut group = c.benchmark_group(EXECUTOR_MAP);
    for workers in MAP_WORKERS {
        let ex: ThreadPoolExecutor = ThreadPoolExecutor::new(workers).expect("workers > 0");
        bench(
            &mut group,
            &mut records,
            ("map", "ThreadPoolExecutor", workers),
            ITEMS,
            |n| executor_maps(&ex, n, expected),
        );
        assert!(ex.shutdown(true, false).waited);
    }
    for threads in MAP_WORKERS {
        let pool = rayon_pool(threads);
        bench(
            &mut group,
            &mut records,
            ("map", "rayon", threads),
            ITEMS,
            |n| rayon_maps(&pool, n, expected),
        );
    }
    bench(
        &mut group,
        &mut records,
        ("map", "sequential", 1),
        ITEMS,
        |n| sequential_maps(n, expected),
    );
    group.finish();

    c.final_summary();
    report(&records, cfg.samples);
}

/// The table on stderr, and the targets.
fn report(records: &[Record], samples: usize) {
    if records.is_empty() {
        return;
    }
    let of = |group: &str, name: &str, workers: usize| {
        records
            .iter()
            .find(|r| r.group == group && r.name == name && r.workers == workers)
            .map(|r| r.summary(samples))
    };
    eprintln!();
    eprintln!(
        "racelab executor bench: median of the {samples} measured samples (roundtrip: one empty \
         task submitted and its u64 waited for, one at a time; map: {ITEMS} items)"
    );
    eprintln!(
        "{:<10} {:<19} {:>7} {:>10} {:>11} {:>12} {:>8} {:>7}",
        "group", "impl", "workers", "ns/task", "tasks/s", "vs yardstick", "cpu/wall", "others"
    );
    let mut busy = Vec::new();
    for r in records {
        let (ns, cpu) = r.summary(samples);
        let others = r.others(samples);
        if others >= 0.2 {
            busy.push(format!("{} {} {}", r.group, r.name, r.workers));
        }
        let yard = match (r.group, r.name) {
            ("roundtrip", "rayon-spawn") => None,
            ("roundtrip", _) => of("roundtrip", "rayon-spawn", POOL_WORKERS),
            ("map", "ThreadPoolExecutor") => of("map", "rayon", r.workers),
            ("map", "rayon") => of("map", "sequential", 1),
            _ => None,
        };
        let ratio = yard.map_or_else(|| "-".to_string(), |y| format!("{:.2}x", ns / y.0));
        eprintln!(
            "{:<10} {:<19} {:>7} {:>10.1} {:>11.0} {:>12} {:>8.2} {:>7.2}",
            r.group,
            r.name,
            r.workers,
            ns,
            1e9 / ns,
            ratio,
            cpu,
            others
        );
    }
    eprintln!(
        "(ns/task: per task for roundtrip, per item for map. vs yardstick: roundtrip rows over \
         rayon-spawn's; map rows: the executor over rayon at the same workers, rayon over \
         sequential. others: the most cores other processes kept busy in a measured sample)"
    );
    if busy.is_empty() {
        eprintln!(
            "quiet: other processes kept less than 0.2 of a core busy in every measured sample"
        );
    } else {
        eprintln!(
            "BUSY machine (other processes used 0.2 of a core or more in a measured sample: \
             these figures and their ratios are not clean): {}",
            busy.join(", ")
        );
    }
    eprintln!();

    let cpu_note = |a: f64, b: f64| format!("cpu/wall {a:.2} vs {b:.2}");
    let ex = of("roundtrip", "ThreadPoolExecutor", POOL_WORKERS);
    if let (Some(ex), Some(ry)) = (ex, of("roundtrip", "rayon-spawn", POOL_WORKERS)) {
        let r = ex.0 / ry.0;
        let verdict = if r <= 2.0 { "met" } else { "MISSED" };
        eprintln!(
            "{:<46} {r:>6.2}x  (target ≤ 2x: {verdict}; {})",
            "roundtrip, executor / rayon-spawn per task",
            cpu_note(ex.1, ry.1)
        );
    }
    if let (Some(ex), Some(cb)) = (ex, of("roundtrip", "crossbeam-pool", POOL_WORKERS)) {
        eprintln!(
            "{:<46} {:>6.2}x  ({})",
            "roundtrip, executor / crossbeam-pool per task",
            ex.0 / cb.0,
            cpu_note(ex.1, cb.1)
        );
    }
    if let (Some(ex), Some(sp)) = (ex, of("roundtrip", "spawn-per-task", 1)) {
        let r = sp.0 / ex.0;
        let verdict = if r >= 15.0 { "met" } else { "MISSED" };
        eprintln!(
            "{:<46} {r:>6.1}x  (target ≥ 15x: {verdict}; {})",
            "roundtrip, spawn-per-task / executor per task",
            cpu_note(sp.1, ex.1)
        );
    }
    eprintln!(
        "  a round trip is serial by construction: cpu/wall above 1 is a side spinning while it \
         waits, not parallel work"
    );

    let mut serial = Vec::new();
    for name in ["ThreadPoolExecutor", "rayon"] {
        let Some(one) = of("map", name, 1) else {
            continue;
        };
        for workers in [2, 4] {
            let Some(many) = of("map", name, workers) else {
                continue;
            };
            let parallel = many.1 >= 1.3;
            if !parallel {
                serial.push(format!("{name} map at {workers}"));
            }
            eprintln!(
                "{:<46} {:>6.2}x  (the time at 1 / at {workers}: > 1 is faster; cpu/wall {:.2}, {})",
                format!("map, {name}, {workers} workers vs 1"),
                one.0 / many.0,
                many.1,
                if parallel { "parallel" } else { "NOT parallel" }
            );
        }
    }
    if serial.is_empty() {
        eprintln!("parallel: every map at 2 and 4 workers used more than 1.3 cores (CPU/wall)");
    } else {
        eprintln!(
            "NOT parallel (CPU/wall < 1.3; their figures are not fan-out figures): {}",
            serial.join(", ")
        );
    }
}
