//! The pipeline and the worker pool under criterion (issue "pipelines"): the article's
//! 1000-item, 3-stage download → resize → upload, and the pool's dispatch.
//!
//! - **`pipeline/<stage kind>/<impl>/<workers>`**: [`ITEMS`] items through 3 stages of
//!   `workers` threads each, over racelab's [`Pipeline`] (bounded `ClosableQueue`s of
//!   [`DEFAULT_CAPACITY`], item accounting, ordered off) against the same shape built bare on
//!   crossbeam's bounded channels (`cb-channel`: the same capacity, one thread per worker, a
//!   stage's output closed when its last worker drops its sender). One iteration builds the
//!   pipeline, feeds every item, and waits for every output: thread spawns are inside the
//!   clock for both, so ns/item is the whole cost of a 1000-item run, divided by 1000. Stage
//!   kinds: `empty` (the identity: the plumbing alone), `cpu` (a fixed arithmetic loop per
//!   stage, [`CPU_ROUNDS`] rounds) and `sleep` (a sleeping "IO" stage, [`SLEEP`] per item, as
//!   the article's downloads wait). `sequential/cpu` is the three cpu functions in a plain loop
//!   on one thread: the floor for fan-out to beat.
//! - **`pool/<impl>/<workers>`**: [`JOBS`] empty jobs on a [`WorkerPool`] of `workers`
//!   (built once, outside the clock: `execute` each, then `wait_idle`), against a thread spawned
//!   per job and joined (`spawn-per-job`).
//!
//! Every run accounts for its items (a pipeline's outputs are counted and summed; a pool's
//! jobs count themselves) and panics otherwise. Parallelism is checked in the run: the
//! process's CPU time over wall time (`getrusage`), so a `cpu` row with fan-out near 1.0 ran
//! on one core, whatever its figure says.
//!
//! After criterion, a table goes to stderr: the median ns/item and items/s of the measured
//! samples, the ratio against the yardstick, the median CPU/wall, and the two targets of the
//! issue judged: the empty-stage pipeline within 3× of crossbeam-channel's, and the pool's
//! dispatch at least 15× cheaper than spawn-per-job.
//!
//! ```sh
//! cargo bench --bench pipeline
//! RACELAB_BENCH_MEASURE_MS=300 RACELAB_BENCH_WARMUP_MS=100 cargo bench --bench pipeline  # smoke
//! ```

#[path = "common/mod.rs"]
#[allow(dead_code)]
// `bench_family` is for the catalogue-driven benches; this one uses `criterion`.
mod common;

use criterion::{BenchmarkGroup, BenchmarkId, Throughput, measurement::WallTime};
use racelab::benchsum::runs::BenchConfig;
use racelab::pipeline::{DEFAULT_CAPACITY, Pipeline};
use racelab::pool::WorkerPool;
use std::hint::black_box;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::time::{Duration, Instant};

/// Items per pipeline run: the article's 1000.
const ITEMS: u64 = 1000;
/// Jobs per pool run.
const JOBS: u64 = 1000;
/// Workers per stage (4 is oversubscribed on a 2-core machine: 12 stage threads).
const WORKERS: [usize; 3] = [1, 2, 4];
/// Rounds of the `cpu` stage's loop.
const CPU_ROUNDS: u64 = 8_000;
/// The `sleep` stage's wait per item.
const SLEEP: Duration = Duration::from_micros(50);

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Kind {
    Empty,
    Cpu,
    Sleep,
}

impl Kind {
    fn name(self) -> &'static str {
        match self {
            Kind::Empty => "empty",
            Kind::Cpu => "cpu",
            Kind::Sleep => "sleep",
        }
    }

    /// One stage's work on `x`: the identity, a fixed loop, or a sleep. Every kind returns
    /// `x + 1`, so a run's output sum checks that each item passed every stage once.
    fn apply(self, x: u64) -> u64 {
        match self {
            Kind::Empty => {}
            Kind::Cpu => {
                let mut h = x | 1;
                for _ in 0..CPU_ROUNDS {
                    // black_box each round: the optimiser may neither fold the loop nor skip it.
                    h = black_box(h)
                        .wrapping_mul(6364136223846793005)
                        .wrapping_add(1442695040888963407);
                }
                black_box(h);
            }
            Kind::Sleep => std::thread::sleep(SLEEP),
        }
        x + 1
    }
}

/// The sum of the outputs of a correct run: each of `0..ITEMS` plus 3.
fn expected_sum() -> u64 {
    (0..ITEMS).map(|x| x + 3).sum()
}

/// A timed run: wall time, and CPU time over wall time.
struct Timed {
    elapsed: Duration,
    cpu_ratio: f64,
}

fn timed(f: impl FnOnce()) -> Timed {
    let (c0, t0) = (common::cpu_time(), Instant::now());
    f();
    let elapsed = t0.elapsed();
    let cpu = common::cpu_time() - c0;
    Timed {
        elapsed,
        cpu_ratio: cpu.as_secs_f64() / elapsed.as_secs_f64().max(1e-9),
    }
}

/// racelab's pipeline: 3 stages of `workers`, run on `0..ITEMS`.
fn racelab_run(kind: Kind, workers: usize) -> Timed {
    timed(|| {
        let report = Pipeline::<u64>::builder()
            .stage("download", workers, move |x| Ok::<_, String>(kind.apply(x)))
            .stage("resize", workers, move |x| Ok::<_, String>(kind.apply(x)))
            .stage("upload", workers, move |x| Ok::<_, String>(kind.apply(x)))
            .run(0..ITEMS)
            .expect("a valid pipeline");
        assert!(report.is_accounted() && report.failed.is_empty() && report.cancelled.is_empty());
        assert_eq!(report.outputs.len() as u64, ITEMS, "{report:?}");
        assert_eq!(report.outputs.iter().sum::<u64>(), expected_sum());
    })
}

/// The same shape on crossbeam's bounded channels, with nothing else: no sequence numbers,
/// no accounting, no error path.
fn channel_run(kind: Kind, workers: usize) -> Timed {
    timed(|| {
        let (feed, mut rx) = crossbeam_channel::bounded::<u64>(DEFAULT_CAPACITY);
        let mut threads = Vec::new();
        for _ in 0..3 {
            let (tx, next) = crossbeam_channel::bounded::<u64>(DEFAULT_CAPACITY);
            for _ in 0..workers {
                let (rx, tx) = (rx.clone(), tx.clone());
                threads.push(std::thread::spawn(move || {
                    for x in rx {
                        tx.send(kind.apply(x)).expect("the next stage is connected");
                    }
                }));
            }
            rx = next;
        }
        let feeder = std::thread::spawn(move || {
            for x in 0..ITEMS {
                feed.send(x).expect("the first stage is connected");
            }
        });
        let (mut count, mut sum) = (0, 0);
        for y in rx {
            count += 1;
            sum += y;
        }
        feeder.join().expect("the feeder");
        for t in threads {
            t.join().expect("a stage worker");
        }
        assert_eq!((count, sum), (ITEMS, expected_sum()));
    })
}

/// The three cpu functions in a loop on this thread.
fn sequential_run() -> Timed {
    timed(|| {
        let sum: u64 = (0..ITEMS)
            .map(|x| Kind::Cpu.apply(Kind::Cpu.apply(Kind::Cpu.apply(x))))
            .sum();
        assert_eq!(sum, expected_sum());
    })
}

/// `JOBS` empty jobs on `pool`, then `wait_idle`.
fn pool_run(pool: &WorkerPool) -> Timed {
    let done = Arc::new(AtomicU64::new(0));
    let t = timed(|| {
        for _ in 0..JOBS {
            let done = done.clone();
            if pool
                .execute(move || {
                    done.fetch_add(1, Relaxed);
                })
                .is_err()
            {
                panic!("the pool refused a job before shutdown");
            }
        }
        pool.wait_idle();
    });
    assert_eq!(done.load(Relaxed), JOBS);
    t
}

/// `JOBS` empty jobs, each on a thread of its own, every one joined.
fn spawn_run() -> Timed {
    let done = Arc::new(AtomicU64::new(0));
    let t = timed(|| {
        let handles: Vec<_> = (0..JOBS)
            .map(|_| {
                let done = done.clone();
                std::thread::spawn(move || {
                    done.fetch_add(1, Relaxed);
                })
            })
            .collect();
        for h in handles {
            h.join().expect("a job thread");
        }
    });
    assert_eq!(done.load(Relaxed), JOBS);
    t
}

/// The runs of one benchmark id; criterion's measured samples are the last `samples` calls.
struct Record {
    group: &'static str,
    kind: &'static str,
    name: &'static str,
    workers: usize,
    /// (ns per item, CPU/wall), one per call.
    runs: Vec<(f64, f64)>,
}

impl Record {
    /// (median ns/item, median CPU/wall) of the last `samples` calls.
    fn summary(&self, samples: usize) -> (f64, f64) {
        let tail = &self.runs[self.runs.len().saturating_sub(samples)..];
        (
            common::median(tail.iter().map(|r| r.0).collect()),
            common::median(tail.iter().map(|r| r.1).collect()),
        )
    }
}

/// Times `run` (one call: one whole run of `items` items) under `<kind>/<name>/<workers>`.
#[allow(clippy::too_many_arguments)]
fn bench(
    group: &mut BenchmarkGroup<'_, WallTime>,
    records: &mut Vec<Record>,
    (group_name, kind): (&'static str, &'static str),
    name: &'static str,
    workers: usize,
    items: u64,
    mut run: impl FnMut() -> Timed,
) {
    let mut rec = Record {
        group: group_name,
        kind,
        name,
        workers,
        runs: Vec::new(),
    };
    group.throughput(Throughput::Elements(items));
    let id = if kind.is_empty() {
        BenchmarkId::new(name, workers)
    } else {
        BenchmarkId::new(format!("{kind}/{name}"), workers)
    };
    group.bench_function(id, |b| {
        b.iter_custom(|iters| {
            let mut total = Duration::ZERO;
            for _ in 0..iters {
                let t = run();
                rec.runs
                    .push((t.elapsed.as_nanos() as f64 / items as f64, t.cpu_ratio));
                total += t.elapsed;
            }
            total
        })
    });
    if !rec.runs.is_empty() {
        records.push(rec);
    }
}

fn main() {
    let cfg = BenchConfig::from_env(3000, 500, 10);
    let mut c = common::criterion(&cfg);
    let mut records = Vec::new();

    let mut group = c.benchmark_group("pipeline");
    for kind in [Kind::Empty, Kind::Cpu, Kind::Sleep] {
        let k = ("pipeline", kind.name());
        for workers in WORKERS {
            bench(
                &mut group,
                &mut records,
                k,
                "racelab",
                workers,
                ITEMS,
                || racelab_run(kind, workers),
            );
            bench(
                &mut group,
                &mut records,
                k,
                "cb-channel",
                workers,
                ITEMS,
                || channel_run(kind, workers),
            );
        }
    }
    let k = ("pipeline", "cpu");
    bench(
        &mut group,
        &mut records,
        k,
        "sequential",
        1,
        ITEMS,
        sequential_run,
    );
    group.finish();

    let mut group = c.benchmark_group("pool");
    for workers in [1, 2, 4] {
        let pool = WorkerPool::new(workers).expect("workers > 0");
        bench(
            &mut group,
            &mut records,
            ("pool", ""),
            "WorkerPool",
            workers,
            JOBS,
            || pool_run(&pool),
        );
        let report = pool.shutdown();
        assert!(report.accounted(), "{report:?}");
    }
    bench(
        &mut group,
        &mut records,
        ("pool", ""),
        "spawn-per-job",
        1,
        JOBS,
        spawn_run,
    );
    group.finish();

    c.final_summary();
    report(&records, cfg.samples);
}

/// The table on stderr, and the two targets.
fn report(records: &[Record], samples: usize) {
    if records.is_empty() {
        return;
    }
    let ns_of = |group: &str, kind: &str, name: &str, workers: usize| {
        records
            .iter()
            .find(|r| r.group == group && r.kind == kind && r.name == name && r.workers == workers)
            .map(|r| r.summary(samples).0)
    };
    eprintln!();
    eprintln!(
        "racelab pipeline bench: median of the measured samples ({ITEMS} items, 3 stages, \
         capacity {DEFAULT_CAPACITY}; pool: {JOBS} empty jobs)"
    );
    eprintln!(
        "{:<9} {:<6} {:<14} {:>7} {:>10} {:>12} {:>11} {:>8}",
        "group", "stage", "impl", "workers", "ns/item", "items/s", "vs yardstick", "cpu/wall"
    );
    for r in records {
        let (ns, cpu) = r.summary(samples);
        let yard = match (r.group, r.name) {
            ("pipeline", "racelab") => ns_of("pipeline", r.kind, "cb-channel", r.workers),
            ("pipeline", "sequential") => ns_of("pipeline", "cpu", "cb-channel", 1),
            ("pool", "WorkerPool") => ns_of("pool", "", "spawn-per-job", 1),
            _ => None,
        };
        let ratio = yard.map_or_else(|| "-".to_string(), |y| format!("{:.2}x", ns / y));
        eprintln!(
            "{:<9} {:<6} {:<14} {:>7} {:>10.0} {:>12.0} {:>11} {:>8.2}",
            r.group,
            r.kind,
            r.name,
            r.workers,
            ns,
            1e9 / ns,
            ratio,
            cpu
        );
    }
    eprintln!();
    for workers in WORKERS {
        if let (Some(a), Some(b)) = (
            ns_of("pipeline", "empty", "racelab", workers),
            ns_of("pipeline", "empty", "cb-channel", workers),
        ) {
            let r = a / b;
            let verdict = if r <= 3.0 { "met" } else { "MISSED" };
            eprintln!(
                "{:<52} {r:.2}x (target ≤ 3x: {verdict})",
                format!("empty stages, racelab / cb-channel, {workers} per stage")
            );
        }
    }
    if let Some(spawn) = ns_of("pool", "", "spawn-per-job", 1) {
        for workers in [1, 2, 4] {
            if let Some(pool) = ns_of("pool", "", "WorkerPool", workers) {
                let r = spawn / pool;
                let verdict = if r >= 15.0 { "met" } else { "MISSED" };
                eprintln!(
                    "{:<52} {r:.1}x cheaper (target ≥ 15x: {verdict})",
                    format!("WorkerPool({workers}) dispatch vs spawn-per-job")
                );
            }
        }
    }
    // Parallelism, checked in the run: the cpu rows with fan-out should use both cores.
    let serial: Vec<String> = records
        .iter()
        .filter(|r| r.kind == "cpu" && r.name != "sequential" && r.workers >= 2)
        .filter(|r| r.summary(samples).1 < 1.3)
        .map(|r| format!("{} {}x3", r.name, r.workers))
        .collect();
    if serial.is_empty() {
        eprintln!("parallel: every cpu run with fan-out used more than 1.3 cores (CPU/wall)");
    } else {
        eprintln!(
            "NOT parallel (CPU/wall < 1.3; their figures are not fan-out figures): {}",
            serial.join(", ")
        );
    }
}
