//! The loop shared by the family benchmarks (`benches/counter.rs`, `benches/lock.rs`) and the
//! criterion setup shared with `benches/seeds.rs`.

use criterion::{BenchmarkId, Criterion, Throughput};
use racelab::benchsum::runs::{BenchConfig, RunRecorder, RunsLog};
use racelab::catalogue;

/// Thread counts: 4 is oversubscribed on a 2-core machine.
const THREADS: [usize; 3] = [1, 2, 4];

/// A criterion configured from `cfg` (environment overrides) and the command line.
pub fn criterion(cfg: &BenchConfig) -> Criterion {
    Criterion::default()
        .measurement_time(cfg.measurement)
        .warm_up_time(cfg.warm_up)
        .sample_size(cfg.samples)
        .configure_from_args()
}

/// Every catalogue entry of `family` with a timed run, at 1, 2 and 4 threads. Ids are
/// `<family>/<variant>/<threads>`; one iteration is every thread doing one increment, so
/// throughput is `threads` elements. Correct variants must count exactly (a run that does not
/// panics); parallelism and the racy variants' losses go to `racelab-runs.json`.
pub fn bench_family(family: &str) {
    let cfg = BenchConfig::from_env(2000, 500, 20);
    let mut c = criterion(&cfg);
    let mut log = RunsLog::new();
    let mut group = c.benchmark_group(family);
    for entry in catalogue::catalogue()
        .into_iter()
        .filter(|e| e.family == family)
    {
        let Some(bench) = entry.bench.and_then(racelab::bench::Timed::increments) else {
            continue;
        };
        for threads in THREADS {
            // An entry may support fewer threads (Peterson's lock: 2); its bench fn panics beyond.
            if threads > entry.max_threads {
                continue;
            }
            group.throughput(Throughput::Elements(threads as u64));
            let mut recorder = RunRecorder::new(family, &entry, threads);
            group.bench_function(BenchmarkId::new(entry.variant, threads), |b| {
                b.iter_custom(|iters| recorder.run(bench, iters))
            });
            log.push(&recorder);
        }
    }
    group.finish();
    c.final_summary();
    if log.benchmarking() && log.stats().is_empty() {
        println!(
            "racelab: no `{family}` entry with a timed run in the catalogue (or none selected)"
        );
    }
    log.write();
}

/// The median of `xs` (NaN for none): the figure the benches' own tables print.
#[allow(dead_code)] // the queue and pipeline benches use it; the family benches do not
pub fn median(mut xs: Vec<f64>) -> f64 {
    if xs.is_empty() {
        return f64::NAN;
    }
    xs.sort_by(f64::total_cmp);
    let m = xs.len() / 2;
    if xs.len() % 2 == 1 {
        xs[m]
    } else {
        (xs[m - 1] + xs[m]) / 2.0
    }
}

/// User plus system CPU time of this process so far (every thread's): over a run's wall time,
/// how many cores it kept busy.
#[allow(dead_code)] // the pipeline and executor benches use it; the family benches do not
pub fn cpu_time() -> std::time::Duration {
    // SAFETY: `getrusage` writes one `rusage` into the zeroed struct it is given and reads
    // nothing else; RUSAGE_SELF is always a valid `who`.
    let usage = unsafe {
        let mut u: libc::rusage = std::mem::zeroed();
        libc::getrusage(libc::RUSAGE_SELF, &mut u);
        u
    };
    let tv = |t: libc::timeval| std::time::Duration::new(t.tv_sec as u64, t.tv_usec as u32 * 1000);
    tv(usage.ru_utime) + tv(usage.ru_stime)
}
