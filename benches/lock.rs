//! The lock family (a counter behind each lock) under criterion: every entry with a timed run,
//! at 1, 2 and 4 threads (4 is oversubscribed on a 2-core machine; Peterson's locks are for 2
//! threads only). Ids are `lock/<variant>/<threads>`; one iteration is every thread doing one
//! increment, so throughput is `threads` elements.
//!
//! Correct variants must count exactly (a run that does not panics); parallelism and the racy
//! variants' losses go to `racelab-runs.json` beside criterion's output. `racelab bench`
//! prints the ratio tables.
//!
//! ```sh
//! cargo bench --bench lock
//! RACELAB_BENCH_MEASURE_MS=200 RACELAB_BENCH_WARMUP_MS=50 cargo bench --bench lock  # smoke
//! ```

use criterion::{BenchmarkId, Criterion, Throughput};
use racelab::benchsum::runs::{BenchConfig, RunRecorder, RunsLog};
use racelab::catalogue;

const FAMILY: &str = "lock";
const THREADS: [usize; 3] = [1, 2, 4];

fn main() {
    let cfg = BenchConfig::from_env(2000, 500, 20);
    let mut c = Criterion::default()
        .measurement_time(cfg.measurement)
        .warm_up_time(cfg.warm_up)
        .sample_size(cfg.samples)
        .configure_from_args();
    let mut log = RunsLog::new();
    let mut group = c.benchmark_group(FAMILY);
    for entry in catalogue::catalogue()
        .into_iter()
        .filter(|e| e.family == FAMILY)
    {
        let Some(bench) = entry.bench else { continue };
        for threads in THREADS {
            // An entry may support fewer threads (Peterson's lock: 2); its bench fn panics beyond.
            if threads > entry.max_threads {
                continue;
            }
            group.throughput(Throughput::Elements(threads as u64));
            let mut recorder = RunRecorder::new(FAMILY, &entry, threads);
            group.bench_function(BenchmarkId::new(entry.variant, threads), |b| {
                b.iter_custom(|iters| recorder.run(bench, iters))
            });
            log.push(&recorder);
        }
    }
    group.finish();
    if log.benchmarking() && log.stats().is_empty() {
        println!(
            "racelab: no `{FAMILY}` entry with a timed run in the catalogue (or none selected)"
        );
    }
    c.final_summary();
    log.write();
}
