//! The seed article's experiment: 6 threads × 10^6 increments of one shared counter, racy
//! (`LoadStoreCounter`, the article's unlocked `counter += 1`) against locked (`MutexCounter`),
//! with `AtomicCounter` for reference. The article, in Python with the GIL, measured the locked
//! run at 2.2× the racy one, and its racy run happened to lose nothing.
//!
//! One criterion iteration is one whole experiment (ids `seeds/<variant>/6`, throughput
//! 6 × 10^6 elements). Prints, and records in `racelab-runs.json`, the fraction of updates the
//! racy counter lost and the locked/racy time ratio.
//!
//! Then article 002's CPU-bound experiment per variant (`seeds-cpu/…`, see [`cpu_bound`]).
//!
//! ```sh
//! cargo bench --bench seeds
//! RACELAB_SEEDS_OPS=10000 RACELAB_BENCH_MEASURE_MS=200 cargo bench --bench seeds   # smoke
//! ```

use criterion::{BenchmarkId, SamplingMode, Throughput};
use racelab::benchsum::runs::{BenchConfig, RunRecorder, RunsLog, SeedsSummary};
use racelab::benchsum::{
    ATOMIC_BASELINE, MUTEX_COUNTER, PYTHON_LOCKED_OVER_RACY, RACY_BASELINE, SEEDS,
};
use racelab::catalogue;

#[path = "common/mod.rs"]
#[allow(dead_code)] // seeds uses `criterion` only
mod common;

const GROUP: &str = SEEDS;
const THREADS: usize = 6;

fn main() {
    let ops: u64 = std::env::var("RACELAB_SEEDS_OPS")
        .ok()
        .and_then(|v| v.trim().parse().ok())
        .filter(|n| *n > 0)
        .unwrap_or(1_000_000);
    let cfg = BenchConfig::from_env(3000, 500, 10);
    let mut c = common::criterion(&cfg);
    let mut log = RunsLog::new();
    let mut group = c.benchmark_group(GROUP);
    group.sampling_mode(SamplingMode::Flat);
    group.throughput(Throughput::Elements(THREADS as u64 * ops));
    for name in [RACY_BASELINE, MUTEX_COUNTER, ATOMIC_BASELINE] {
        let entry = catalogue::find(name).unwrap_or_else(|e| panic!("{e}"));
        let bench = entry
            .bench
            .and_then(racelab::bench::Timed::increments)
            .unwrap_or_else(|| panic!("{name} has no timed run"));
        let mut recorder = RunRecorder::new(GROUP, &entry, THREADS);
        group.bench_function(BenchmarkId::new(entry.variant, THREADS), |b| {
            b.iter_custom(|iters| recorder.run_repeated(bench, iters, ops))
        });
        log.push(&recorder);
    }
    group.finish();
    cpu_bound(&mut c);
    c.final_summary();

    let find = |v: &str| log.stats().iter().find(|s| s.variant == v).cloned();
    if let (Some(racy), Some(locked)) = (find(RACY_BASELINE), find(MUTEX_COUNTER)) {
        let atomic = find(ATOMIC_BASELINE);
        let summary = SeedsSummary {
            threads: THREADS,
            ops,
            racy_lost_fraction: racy.lost_fraction(),
            locked_over_racy: locked.ns_per_op_median / racy.ns_per_op_median,
            atomic_over_racy: atomic
                .map_or(f64::NAN, |a| a.ns_per_op_median / racy.ns_per_op_median),
        };
        println!(
            "\nseed experiment, {THREADS} threads × {ops} increments (medians over measured runs: \
             {} racy, {} locked):",
            racy.runs, locked.runs
        );
        println!(
            "  {RACY_BASELINE} lost {:.1}% of its updates ({} of {} runs lost some; threads in \
             parallel in {} of them)",
            100.0 * summary.racy_lost_fraction,
            racy.lossy_runs,
            racy.runs,
            racy.parallel_runs
        );
        println!(
            "  locked/racy time: {:.2}× ({MUTEX_COUNTER} over {RACY_BASELINE}); the Python \
             article measured {PYTHON_LOCKED_OVER_RACY}× with the GIL",
            summary.locked_over_racy
        );
        if summary.atomic_over_racy.is_finite() {
            println!(
                "  atomic/racy time: {:.2}× ({ATOMIC_BASELINE} over {RACY_BASELINE})",
                summary.atomic_over_racy
            );
        }
        log.set_seeds(summary);
    }
    log.write();
}

/// Article 002's CPU-bound experiment, one variant per benchmark, at `racelab seeds --quick`'s
/// sizes (20 sums of squares; ids `seeds-cpu/<variant>/<threads>`): sequential, 2 threads, and
/// 2 threads under one global lock handed over every 5 ms (a GIL). The ratio to read is
/// `gil/2` over `sequential/1` (flat, ≈ 1) against `threads/2` over it (≈ 1 / cores). `racelab
/// seeds` prints the same with the in-run parallelism; these are criterion's figures for
/// comparing builds (`--save-baseline`).
fn cpu_bound(c: &mut criterion::Criterion) {
    use racelab::seeds::{Scale, cpu_work, sum_squares_on};
    let work = cpu_work(Scale::Quick);
    let expected = sum_squares_on(&work, 0, false);
    let mut group = c.benchmark_group("seeds-cpu");
    group.sampling_mode(SamplingMode::Flat);
    for (name, threads, gil) in [
        ("sequential", 0, false),
        ("threads", 2, false),
        ("gil", 2, true),
    ] {
        group.bench_function(BenchmarkId::new(name, threads.max(1)), |b| {
            b.iter(|| assert_eq!(sum_squares_on(&work, threads, gil), expected))
        });
    }
    group.finish();
}
