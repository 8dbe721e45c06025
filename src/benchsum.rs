//! Reads criterion's saved estimates and prints ratio tables (`racelab bench`).
//!
//! The benchmarks (`benches/counter.rs`, `benches/lock.rs`, `benches/seeds.rs`) time every
//! catalogue entry that carries a [`BenchFn`] with criterion, which saves, per benchmark,
//! `<criterion dir>/<group>/<function>/<value>/<baseline>/{benchmark.json, estimates.json}`.
//! `new` is always the latest run; `base` the default saved baseline; any other name one saved
//! with `cargo bench -- --save-baseline NAME`. Next to them the benchmarks write a side file,
//! `racelab-runs.json` (`racelab-runs.NAME.json` for a saved baseline, see [`runs`]), saying for
//! every benchmark how many timed runs really had their threads in parallel and how many
//! updates the racy variants lost: a contention figure from threads that took turns is not a
//! contention figure, and the tables say so.
//!
//! Units: one criterion iteration of a counter or lock benchmark is *every thread doing one
//! increment* (`Throughput::Elements(threads)`), so criterion's time per iteration is the
//! per-thread time of one increment, and the aggregate ns/op is that over the thread count.
//!
//! [`BenchFn`]: crate::bench::BenchFn

use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

/// The racy baseline: a plain load and store, no synchronisation cost at all.
pub const RACY_BASELINE: &str = "LoadStoreCounter";
/// The atomic baseline: one `lock xadd` per increment, the physical floor of a correct counter.
pub const ATOMIC_BASELINE: &str = "AtomicCounter";
/// std's Mutex around the counter.
pub const MUTEX_COUNTER: &str = "MutexCounter";
/// Per-thread cache-padded slots.
pub const SHARDED_COUNTER: &str = "ShardedCounter";
/// Target: ShardedCounter at 2 threads gives at least this multiple of AtomicCounter's aggregate
/// throughput.
pub const SHARDED_TARGET: f64 = 5.0;
/// Target: the spin lock uncontended costs at most this multiple of std's Mutex.
pub const SPIN_TARGET: f64 = 1.5;
/// A change between baselines is flagged when the confidence intervals do not overlap *and* it
/// is larger than this fraction.
pub const NOISE_THRESHOLD: f64 = 0.05;
/// The seed article's figure: locked over racy time, in Python with the GIL.
pub const PYTHON_LOCKED_OVER_RACY: f64 = 2.2;

// ---------------------------------------------------------------------------------------------
// criterion's files
// ---------------------------------------------------------------------------------------------

/// A confidence interval as criterion saves it.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct ConfidenceInterval {
    /// E.g. 0.95.
    pub confidence_level: f64,
    /// Lower bound, in the estimate's unit (ns per iteration for times).
    pub lower_bound: f64,
    /// Upper bound.
    pub upper_bound: f64,
}

/// One estimate (a point and its bootstrap confidence interval).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Estimate {
    /// The interval.
    pub confidence_interval: ConfidenceInterval,
    /// The point estimate.
    pub point_estimate: f64,
    /// The bootstrap standard error.
    pub standard_error: f64,
}

impl Estimate {
    /// The same estimate divided by `d` (e.g. per iteration → per element).
    pub fn scaled(&self, d: f64) -> Estimate {
        Estimate {
            confidence_interval: ConfidenceInterval {
                confidence_level: self.confidence_interval.confidence_level,
                lower_bound: self.confidence_interval.lower_bound / d,
                upper_bound: self.confidence_interval.upper_bound / d,
            },
            point_estimate: self.point_estimate / d,
            standard_error: self.standard_error / d,
        }
    }
    /// Half the interval's width relative to the point, e.g. 0.015 for ±1.5 %.
    pub fn relative_half_width(&self) -> f64 {
        let ci = &self.confidence_interval;
        (ci.upper_bound - ci.lower_bound) / 2.0 / self.point_estimate
    }
}

/// `estimates.json`: nanoseconds per iteration.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Estimates {
    /// Mean time per iteration.
    pub mean: Estimate,
    /// Median time per iteration.
    pub median: Estimate,
    /// Median absolute deviation.
    pub median_abs_dev: Estimate,
    /// The linear-regression slope (present in linear sampling mode).
    pub slope: Option<Estimate>,
    /// Standard deviation.
    pub std_dev: Estimate,
}

impl Estimates {
    /// What criterion prints as the time: the slope when it has one, else the mean.
    pub fn typical(&self) -> &Estimate {
        self.slope.as_ref().unwrap_or(&self.mean)
    }
}

/// `benchmark.json`: the benchmark's id and throughput (the directory name may be mangled: `<`
/// becomes `_`, so names are read from here).
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct BenchmarkRecord {
    /// The group, i.e. the family (`counter`, `lock`, `seeds`).
    pub group_id: String,
    /// The function, i.e. the variant.
    pub function_id: Option<String>,
    /// The value, i.e. the thread count.
    pub value_str: Option<String>,
    /// `{"Elements": n}` and friends.
    pub throughput: Option<serde_json::Value>,
    /// `group/function/value`.
    pub full_id: String,
}

impl BenchmarkRecord {
    /// Elements per iteration, when the throughput is given in elements.
    pub fn elements(&self) -> Option<u64> {
        let t = self.throughput.as_ref()?;
        t.get("Elements")
            .and_then(|v| v.as_u64())
            .or_else(|| t.get("ElementsAndBytes")?.get("elements")?.as_u64())
    }
}

/// Parses `estimates.json`.
///
/// # Errors
/// The JSON error, as text.
pub fn parse_estimates(text: &str) -> Result<Estimates, String> {
    serde_json::from_str(text).map_err(|e| format!("bad estimates.json: {e}"))
}

/// Parses `benchmark.json`.
///
/// # Errors
/// The JSON error, as text.
pub fn parse_benchmark(text: &str) -> Result<BenchmarkRecord, String> {
    serde_json::from_str(text).map_err(|e| format!("bad benchmark.json: {e}"))
}

/// One benchmark of one baseline, as read back.
#[derive(Debug, Clone, PartialEq)]
pub struct Bench {
    /// `family/variant/threads`.
    pub id: String,
    /// The criterion group: the catalogue family (or `seeds`).
    pub family: String,
    /// The catalogue variant.
    pub variant: String,
    /// Threads of the run.
    pub threads: usize,
    /// Increments per criterion iteration (all threads together).
    pub elements: u64,
    /// criterion's estimates, ns per iteration.
    pub estimates: Estimates,
}

impl Bench {
    /// Builds one from the two files' contents. `None` if it is not one of racelab's
    /// (no function id, or a value that is not a thread count).
    ///
    /// # Errors
    /// Unparsable JSON.
    pub fn from_json(benchmark: &str, estimates: &str) -> Result<Option<Bench>, String> {
        let record = parse_benchmark(benchmark)?;
        let estimates = parse_estimates(estimates)?;
        let (Some(variant), Some(threads)) = (
            record.function_id.clone(),
            record
                .value_str
                .as_deref()
                .and_then(|v| v.parse::<usize>().ok()),
        ) else {
            return Ok(None);
        };
        if threads == 0 {
            return Ok(None);
        }
        Ok(Some(Bench {
            elements: record.elements().unwrap_or(threads as u64).max(1),
            id: record.full_id,
            family: record.group_id,
            variant,
            threads,
            estimates,
        }))
    }
    /// Aggregate ns per increment (wall time over all threads' increments), with its interval.
    pub fn ns_per_op(&self) -> Estimate {
        self.estimates.typical().scaled(self.elements as f64)
    }
    /// ns per increment as one thread sees it: the aggregate × threads.
    pub fn ns_per_thread_op(&self) -> f64 {
        self.ns_per_op().point_estimate * self.threads as f64
    }
    /// Millions of increments per second, all threads together.
    pub fn mops(&self) -> f64 {
        1e3 / self.ns_per_op().point_estimate
    }
}

/// Where criterion writes, as criterion decides it: `$CRITERION_HOME`, else
/// `$CARGO_TARGET_DIR/criterion`, else `target/criterion` under the current directory if it
/// exists, else under this crate's manifest directory.
pub fn default_criterion_dir() -> PathBuf {
    if let Some(home) = std::env::var_os("CRITERION_HOME") {
        return PathBuf::from(home);
    }
    if let Some(target) = std::env::var_os("CARGO_TARGET_DIR") {
        return PathBuf::from(target).join("criterion");
    }
    let local = PathBuf::from("target/criterion");
    if local.is_dir() {
        return local;
    }
    let manifest = Path::new(env!("CARGO_MANIFEST_DIR")).join("target/criterion");
    if manifest.is_dir() { manifest } else { local }
}

/// Every benchmark saved under `dir` for `baseline` (`new`, `base`, or a saved name), sorted
/// by id.
///
/// # Errors
/// Unreadable or corrupt files (a missing directory is an empty result).
pub fn load_baseline(dir: &Path, baseline: &str) -> Result<Vec<Bench>, String> {
    let mut out = Vec::new();
    walk(dir, baseline, 0, &mut out)?;
    // The ratio tables are about counters and locks; the queue and checker benchmarks print
    // their own summaries (`benches/queue.rs`, `benches/lincheck.rs`).
    out.retain(|b| matches!(b.family.as_str(), "counter" | "lock" | "seeds"));
    out.sort_by(|a, b| a.id.cmp(&b.id));
    Ok(out)
}

fn walk(dir: &Path, baseline: &str, depth: usize, out: &mut Vec<Bench>) -> Result<(), String> {
    if depth > 6 {
        return Ok(());
    }
    let Ok(read) = std::fs::read_dir(dir) else {
        return Ok(());
    };
    let mut subdirs: Vec<PathBuf> = read
        .filter_map(|e| e.ok())
        .filter(|e| e.file_type().is_ok_and(|t| t.is_dir()))
        .map(|e| e.path())
        .collect();
    subdirs.sort();
    for sub in subdirs {
        let name = sub.file_name().and_then(|n| n.to_str()).unwrap_or("");
        if name == "report" {
            continue;
        }
        let (bj, ej) = (sub.join("benchmark.json"), sub.join("estimates.json"));
        if name == baseline && bj.is_file() && ej.is_file() {
            let read = |p: &Path| {
                std::fs::read_to_string(p).map_err(|e| format!("cannot read {}: {e}", p.display()))
            };
            let bench = Bench::from_json(&read(&bj)?, &read(&ej)?)
                .map_err(|e| format!("{}: {e}", sub.display()))?;
            out.extend(bench);
        } else if !bj.is_file() {
            walk(&sub, baseline, depth + 1, out)?;
        }
    }
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// The side file: parallelism and losses per benchmark
// ---------------------------------------------------------------------------------------------

pub mod runs {
    //! What criterion cannot record: for every benchmark, how many timed runs had their threads
    //! really in parallel ([`Measured::parallel`]), the overlap, and the updates the racy
    //! variants lost. The benchmarks collect it with a [`RunRecorder`] per benchmark and
    //! merge it into `racelab-runs.json` (and `racelab-runs.NAME.json` when criterion saves
    //! baseline `NAME`) in criterion's directory; [`super`] reads it back.
    //!
    //! Warm-up runs are told apart from measured ones the way criterion makes them: its warm-up
    //! calls the routine with 1, 2, 4, 8, … iterations; the first call that breaks the doubling
    //! starts the measurement. Overlap figures are over measured runs (over all runs when none
    //! were told apart, e.g. with `--quick`).

    use crate::bench::{BenchFn, Measured};
    use crate::catalogue::Entry;
    use serde::{Deserialize, Serialize};
    use std::collections::BTreeMap;
    use std::path::{Path, PathBuf};
    use std::time::Duration;

    /// Version of the side file's layout.
    pub const SCHEMA: u32 = 1;

    /// What one benchmark's runs looked like.
    #[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
    pub struct RunStats {
        /// Criterion group (the family, or `seeds`).
        pub family: String,
        /// The variant.
        pub variant: String,
        /// Threads per run.
        pub threads: usize,
        /// Whether the variant is intentionally racy.
        pub racy: bool,
        /// Runs counted below (measured runs, or all runs if none were told apart).
        pub runs: usize,
        /// Of those, runs whose threads overlapped for at least half the run.
        pub parallel_runs: usize,
        /// Smallest overlap among counted runs.
        pub overlap_min: f64,
        /// Median overlap among counted runs.
        pub overlap_median: f64,
        /// Warm-up runs (not counted).
        pub warmup_runs: usize,
        /// Increments made in counted runs.
        pub increments: u64,
        /// Increments lost in counted runs.
        pub lost: u64,
        /// Counted runs that lost at least one increment.
        pub lossy_runs: usize,
        /// Median over counted runs of wall time / increments, in ns.
        pub ns_per_op_median: f64,
        /// CPUs available to the benchmark process.
        pub cpus: usize,
        /// When it was written (seconds since the Unix epoch).
        pub unix_time: u64,
    }

    /// How parallel a benchmark's runs were.
    #[derive(Debug, Clone, Copy, PartialEq, Eq)]
    pub enum Parallelism {
        /// One thread: nothing to overlap.
        Single,
        /// Every counted run was parallel.
        Yes,
        /// At least half were.
        Partly,
        /// Fewer than half: the figure is not a contention figure.
        No,
    }

    impl RunStats {
        /// Lost increments over increments made.
        pub fn lost_fraction(&self) -> f64 {
            if self.increments == 0 {
                0.0
            } else {
                self.lost as f64 / self.increments as f64
            }
        }
        /// The verdict on parallelism.
        pub fn parallelism(&self) -> Parallelism {
            if self.threads <= 1 {
                Parallelism::Single
            } else if self.parallel_runs == self.runs {
                Parallelism::Yes
            } else if self.parallel_runs * 2 >= self.runs {
                Parallelism::Partly
            } else {
                Parallelism::No
            }
        }
        /// `family/variant/threads`, criterion's id.
        pub fn id(&self) -> String {
            format!("{}/{}/{}", self.family, self.variant, self.threads)
        }
    }

    /// The seed article's experiment, as the seeds benchmark saw it.
    #[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
    pub struct SeedsSummary {
        /// Threads.
        pub threads: usize,
        /// Increments per thread.
        pub ops: u64,
        /// The racy counter's lost fraction over its measured runs.
        pub racy_lost_fraction: f64,
        /// Median time of the locked run over median time of the racy run.
        pub locked_over_racy: f64,
        /// Same for the atomic counter.
        pub atomic_over_racy: f64,
    }

    /// `racelab-runs*.json`.
    #[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
    pub struct RunsFile {
        /// [`SCHEMA`].
        pub schema: u32,
        /// Keyed by criterion id (`family/variant/threads`).
        pub entries: BTreeMap<String, RunStats>,
        /// The seed experiment, once run.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        pub seeds: Option<SeedsSummary>,
    }

    /// The side file for a baseline: `racelab-runs.json` for `new`, else
    /// `racelab-runs.NAME.json`.
    pub fn path_for(criterion_dir: &Path, baseline: &str) -> PathBuf {
        if baseline == "new" {
            criterion_dir.join("racelab-runs.json")
        } else {
            criterion_dir.join(format!("racelab-runs.{baseline}.json"))
        }
    }

    /// Reads a side file; `None` if absent or unreadable.
    pub fn read(path: &Path) -> Option<RunsFile> {
        serde_json::from_str(&std::fs::read_to_string(path).ok()?).ok()
    }

    /// Merges `stats` (and `seeds`) into the file at `path`, replacing entries with the same id.
    ///
    /// # Errors
    /// An I/O error, as text.
    pub fn merge_into(
        path: &Path,
        stats: &[RunStats],
        seeds: Option<&SeedsSummary>,
    ) -> Result<(), String> {
        let mut file = read(path).unwrap_or_default();
        file.schema = SCHEMA;
        for s in stats {
            file.entries.insert(s.id(), s.clone());
        }
        if let Some(s) = seeds {
            file.seeds = Some(s.clone());
        }
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent)
                .map_err(|e| format!("cannot create {}: {e}", parent.display()))?;
        }
        let tmp = path.with_extension("json.tmp");
        let text = serde_json::to_string_pretty(&file).expect("serialisable");
        std::fs::write(&tmp, text).map_err(|e| format!("cannot write {}: {e}", tmp.display()))?;
        std::fs::rename(&tmp, path).map_err(|e| format!("cannot write {}: {e}", path.display()))
    }

    /// Measurement settings for the benchmarks, overridable from the environment for smoke runs:
    /// `RACELAB_BENCH_MEASURE_MS`, `RACELAB_BENCH_WARMUP_MS`, `RACELAB_BENCH_SAMPLES` (criterion's
    /// own `--measurement-time`, `--warm-up-time`, `--sample-size` override these in turn).
    #[derive(Debug, Clone, Copy, PartialEq, Eq)]
    pub struct BenchConfig {
        /// criterion's measurement time.
        pub measurement: Duration,
        /// criterion's warm-up time.
        pub warm_up: Duration,
        /// criterion's sample size (at least 10, criterion's minimum).
        pub samples: usize,
    }

    impl BenchConfig {
        /// The defaults given, overridden by the environment.
        pub fn from_env(measurement_ms: u64, warm_up_ms: u64, samples: usize) -> BenchConfig {
            let var = |name: &str| -> Option<u64> { std::env::var(name).ok()?.trim().parse().ok() };
            BenchConfig {
                measurement: Duration::from_millis(
                    var("RACELAB_BENCH_MEASURE_MS")
                        .unwrap_or(measurement_ms)
                        .max(1),
                ),
                warm_up: Duration::from_millis(
                    var("RACELAB_BENCH_WARMUP_MS").unwrap_or(warm_up_ms).max(1),
                ),
                samples: var("RACELAB_BENCH_SAMPLES")
                    .map_or(samples, |s| s as usize)
                    .max(10),
            }
        }
    }

    /// What the bench binary's command line tells criterion to do, as far as the side file is
    /// concerned.
    #[derive(Debug, Clone, PartialEq, Eq)]
    pub struct CriterionArgs {
        /// A real measurement (`cargo bench`), not `--test`, `--list` or `--profile-time`:
        /// only then is the side file written.
        pub benchmarking: bool,
        /// criterion writes `new` (all modes but `--discard-baseline`).
        pub writes_new: bool,
        /// The baseline criterion saves into (`base` unless told otherwise; none when comparing
        /// or discarding).
        pub saves: Option<String>,
    }

    impl CriterionArgs {
        /// Reads them from `args` (without the program name).
        pub fn parse<S: AsRef<str>>(args: &[S]) -> CriterionArgs {
            let args: Vec<&str> = args.iter().map(|s| s.as_ref()).collect();
            let has = |flag: &str| {
                args.iter()
                    .any(|a| *a == flag || a.starts_with(&format!("{flag}=")))
            };
            let value = |long: &str, short: Option<&str>| -> Option<String> {
                args.iter().enumerate().find_map(|(i, a)| {
                    if let Some(v) = a.strip_prefix(&format!("{long}=")) {
                        Some(v.to_string())
                    } else if *a == long || Some(*a) == short {
                        args.get(i + 1).map(|v| v.to_string())
                    } else {
                        None
                    }
                })
            };
            let benchmarking = has("--bench")
                && !has("--test")
                && !has("--list")
                && !has("--profile-time")
                && !has("--load-baseline");
            let discard = has("--discard-baseline");
            let comparing = has("--baseline") || has("-b") || has("--baseline-lenient");
            let saves = if discard || comparing {
                None
            } else {
                Some(value("--save-baseline", Some("-s")).unwrap_or_else(|| "base".into()))
            };
            CriterionArgs {
                benchmarking,
                writes_new: !discard,
                saves,
            }
        }
        /// From this process's command line.
        pub fn from_env() -> CriterionArgs {
            let args: Vec<String> = std::env::args().skip(1).collect();
            CriterionArgs::parse(&args)
        }
    }

    /// The criterion directory as seen from a bench binary: `$CRITERION_HOME`, else
    /// `$CARGO_TARGET_DIR/criterion`, else the target directory the binary was built in
    /// (`<target>/<profile>/deps/<bench>`), else `target/criterion`.
    pub fn bench_criterion_dir() -> PathBuf {
        if let Some(home) = std::env::var_os("CRITERION_HOME") {
            return PathBuf::from(home);
        }
        if let Some(target) = std::env::var_os("CARGO_TARGET_DIR") {
            return PathBuf::from(target).join("criterion");
        }
        std::env::current_exe()
            .ok()
            .and_then(|exe| {
                let deps = exe.parent()?;
                (deps.file_name()? == "deps").then_some(())?;
                Some(deps.parent()?.parent()?.join("criterion"))
            })
            .unwrap_or_else(|| PathBuf::from("target/criterion"))
    }

    /// Collects one benchmark's runs.
    #[derive(Debug, Clone)]
    pub struct RunRecorder {
        family: String,
        variant: String,
        threads: usize,
        racy: bool,
        calls: u32,
        warming: bool,
        warm: Vec<Measured>,
        measured: Vec<Measured>,
    }

    impl RunRecorder {
        /// For `entry` at `threads` threads, in criterion group `family` (normally
        /// `entry.family`).
        pub fn new(family: &str, entry: &Entry, threads: usize) -> RunRecorder {
            RunRecorder {
                family: family.to_string(),
                variant: entry.variant.to_string(),
                threads,
                racy: entry.racy(),
                calls: 0,
                warming: true,
                warm: Vec::new(),
                measured: Vec::new(),
            }
        }

        /// One call of criterion's `iter_custom` routine with `iters` iterations: are we still
        /// in the warm-up (1, 2, 4, … iterations)?
        pub(crate) fn begin_call(&mut self, iters: u64) -> bool {
            let doubling = self.calls < 64 && iters == 1u64 << self.calls;
            self.warming &= doubling;
            self.calls += 1;
            self.warming
        }

        pub(crate) fn add(&mut self, warm: bool, m: Measured) {
            if !self.racy && m.count != m.expected {
                panic!(
                    "{}/{} is a correct variant but counted {} of {} increments at {} threads: \
                     the twin is broken",
                    self.family, self.variant, m.count, m.expected, self.threads
                );
            }
            if warm {
                self.warm.push(m);
            } else {
                self.measured.push(m);
            }
        }

        /// The routine for `iter_custom`: one run of `threads` threads × `iters` increments;
        /// records it, asserts an exact count for a correct variant, returns the timed span.
        ///
        /// # Panics
        /// If a correct variant's count is not exact.
        pub fn run(&mut self, bench: BenchFn, iters: u64) -> Duration {
            let warm = self.begin_call(iters);
            let m = bench(self.threads, iters);
            self.add(warm, m);
            m.elapsed
        }

        /// The routine for `iter_custom` when one iteration is a whole experiment of `ops`
        /// increments per thread: `iters` runs, each recorded and checked; returns their total.
        ///
        /// # Panics
        /// If a correct variant's count is not exact.
        pub fn run_repeated(&mut self, bench: BenchFn, iters: u64, ops: u64) -> Duration {
            let warm = self.begin_call(iters);
            (0..iters)
                .map(|_| {
                    let m = bench(self.threads, ops);
                    self.add(warm, m);
                    m.elapsed
                })
                .sum()
        }

        /// Whether anything was run (criterion's filter may skip a benchmark).
        pub fn is_empty(&self) -> bool {
            self.warm.is_empty() && self.measured.is_empty()
        }

        /// The summary.
        pub fn finish(&self) -> RunStats {
            let counted: Vec<&Measured> = if self.measured.is_empty() {
                self.warm.iter().collect()
            } else {
                self.measured.iter().collect()
            };
            let mut overlaps: Vec<f64> = counted.iter().map(|m| m.overlap).collect();
            overlaps.sort_by(f64::total_cmp);
            let mut ns: Vec<f64> = counted
                .iter()
                .map(|m| m.elapsed.as_nanos() as f64 / m.expected.max(1) as f64)
                .collect();
            ns.sort_by(f64::total_cmp);
            RunStats {
                family: self.family.clone(),
                variant: self.variant.clone(),
                threads: self.threads,
                racy: self.racy,
                runs: counted.len(),
                parallel_runs: counted.iter().filter(|m| m.parallel()).count(),
                overlap_min: overlaps.first().copied().unwrap_or(0.0),
                overlap_median: median(&overlaps),
                warmup_runs: if self.measured.is_empty() {
                    0
                } else {
                    self.warm.len()
                },
                increments: counted.iter().map(|m| m.expected as u64).sum(),
                lost: counted.iter().map(|m| m.lost() as u64).sum(),
                lossy_runs: counted.iter().filter(|m| m.lost() > 0).count(),
                ns_per_op_median: median(&ns),
                cpus: std::thread::available_parallelism().map_or(1, |n| n.get()),
                unix_time: std::time::SystemTime::now()
                    .duration_since(std::time::UNIX_EPOCH)
                    .map_or(0, |d| d.as_secs()),
            }
        }
    }

    /// The median of sorted values (0 for none).
    pub(crate) fn median(sorted: &[f64]) -> f64 {
        match sorted.len() {
            0 => 0.0,
            n if n % 2 == 1 => sorted[n / 2],
            n => (sorted[n / 2 - 1] + sorted[n / 2]) / 2.0,
        }
    }

    /// Every benchmark's stats of one bench binary, written at its end.
    #[derive(Debug, Clone)]
    pub struct RunsLog {
        args: CriterionArgs,
        dir: PathBuf,
        stats: Vec<RunStats>,
        seeds: Option<SeedsSummary>,
    }

    impl Default for RunsLog {
        fn default() -> Self {
            RunsLog::new()
        }
    }

    impl RunsLog {
        /// For this process's command line and criterion directory.
        pub fn new() -> RunsLog {
            RunsLog {
                args: CriterionArgs::from_env(),
                dir: bench_criterion_dir(),
                stats: Vec::new(),
                seeds: None,
            }
        }
        /// Adds a recorder's summary, if it ran.
        pub fn push(&mut self, recorder: &RunRecorder) {
            if !recorder.is_empty() {
                self.stats.push(recorder.finish());
            }
        }
        /// The summaries so far.
        pub fn stats(&self) -> &[RunStats] {
            &self.stats
        }
        /// Records the seed experiment's summary.
        pub fn set_seeds(&mut self, seeds: SeedsSummary) {
            self.seeds = Some(seeds);
        }
        /// Whether this is a real measurement (the side file will be written).
        pub fn benchmarking(&self) -> bool {
            self.args.benchmarking
        }
        /// Merges into `racelab-runs.json` and the saved baseline's side file, when this is a
        /// real measurement; prints where. Errors are printed, not fatal: the figures are in
        /// criterion's files already.
        pub fn write(&self) {
            if !self.args.benchmarking || (self.stats.is_empty() && self.seeds.is_none()) {
                return;
            }
            let mut names: Vec<&str> = Vec::new();
            if self.args.writes_new {
                names.push("new");
            }
            if let Some(s) = &self.args.saves {
                names.push(s);
            }
            for name in names {
                let path = path_for(&self.dir, name);
                match merge_into(&path, &self.stats, self.seeds.as_ref()) {
                    Ok(()) => println!(
                        "racelab: parallelism and losses of {} benchmark(s) merged into {}",
                        self.stats.len(),
                        path.display()
                    ),
                    Err(e) => eprintln!("racelab: {e}"),
                }
            }
        }
    }
}

use runs::{Parallelism, RunStats, RunsFile};

// ---------------------------------------------------------------------------------------------
// Noise
// ---------------------------------------------------------------------------------------------

/// How a figure moved between two baselines.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Change {
    /// Within noise: the intervals overlap, or the change is within [`NOISE_THRESHOLD`].
    Noise,
    /// Slower, beyond noise.
    Regressed,
    /// Faster, beyond noise.
    Improved,
}

impl std::fmt::Display for Change {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Change::Noise => "noise",
            Change::Regressed => "SLOWER",
            Change::Improved => "FASTER",
        })
    }
}

/// The relative change from `before` to `after` (times: positive is slower).
pub fn relative_change(before: &Estimate, after: &Estimate) -> f64 {
    (after.point_estimate - before.point_estimate) / before.point_estimate
}

/// Flags a change beyond noise: the two confidence intervals do not overlap *and* the point
/// estimates differ by more than `threshold` (a fraction).
pub fn classify_change(before: &Estimate, after: &Estimate, threshold: f64) -> Change {
    let (a, b) = (&before.confidence_interval, &after.confidence_interval);
    let overlap = a.lower_bound <= b.upper_bound && b.lower_bound <= a.upper_bound;
    let change = relative_change(before, after);
    if overlap || change.abs() <= threshold {
        Change::Noise
    } else if change > 0.0 {
        Change::Regressed
    } else {
        Change::Improved
    }
}

/// The estimates two runs of one benchmark should be compared on: the slope when both have
/// one, else the mean of both.
pub fn comparable<'a>(a: &'a Estimates, b: &'a Estimates) -> (&'a Estimate, &'a Estimate) {
    match (&a.slope, &b.slope) {
        (Some(x), Some(y)) => (x, y),
        _ => (&a.mean, &b.mean),
    }
}

// ---------------------------------------------------------------------------------------------
// The summary
// ---------------------------------------------------------------------------------------------

/// What `racelab bench` was asked for.
#[derive(Debug, Clone)]
pub struct Options {
    /// criterion's directory.
    pub dir: PathBuf,
    /// The baseline to tabulate (`new` = the latest run).
    pub baseline: String,
    /// Compare `baseline` (before) with this one (after).
    pub compare: Option<String>,
    /// Write the SVG chart here.
    pub svg: Option<PathBuf>,
    /// Markdown tables instead of terminal ones.
    pub markdown: bool,
    /// Only this family.
    pub family: Option<String>,
}

impl Options {
    /// Defaults: the default criterion directory, baseline `new`, terminal tables, no chart.
    pub fn new() -> Options {
        Options {
            dir: default_criterion_dir(),
            baseline: "new".into(),
            compare: None,
            svg: None,
            markdown: false,
            family: None,
        }
    }
    /// Where the chart goes by default.
    pub fn default_svg(&self) -> PathBuf {
        self.dir.join("racelab-ns-per-op.svg")
    }
}

impl Default for Options {
    fn default() -> Self {
        Options::new()
    }
}

/// One baseline's figures and its side file.
struct Data {
    benches: Vec<Bench>,
    runs: Option<RunsFile>,
    family: Option<String>,
}

impl Data {
    fn load(opts: &Options, baseline: &str) -> Result<Data, String> {
        let benches = load_baseline(&opts.dir, baseline)?;
        if benches.is_empty() {
            return Err(if baseline == "new" {
                format!(
                    "no criterion results under {}: run `cargo bench` first",
                    opts.dir.display()
                )
            } else {
                format!(
                    "no criterion results for baseline `{baseline}` under {}: run `cargo bench -- --save-baseline {baseline}` first",
                    opts.dir.display()
                )
            });
        }
        if let Some(f) = &opts.family
            && !benches.iter().any(|b| b.family.eq_ignore_ascii_case(f))
        {
            return Err(format!(
                "no criterion results for family `{f}` under {}",
                opts.dir.display()
            ));
        }
        Ok(Data {
            benches,
            runs: runs::read(&runs::path_for(&opts.dir, baseline)),
            family: opts.family.clone(),
        })
    }
    /// The benchmarks to show (baselines are looked up among all of them).
    fn shown(&self) -> impl Iterator<Item = &Bench> {
        self.benches.iter().filter(|b| {
            self.family
                .as_ref()
                .is_none_or(|f| b.family.eq_ignore_ascii_case(f))
        })
    }
    fn stats(&self, b: &Bench) -> Option<&RunStats> {
        self.runs.as_ref()?.entries.get(&b.id)
    }
    /// A variant at a thread count, in any family but `seeds` (baselines cross families).
    fn find(&self, variant: &str, threads: usize) -> Option<&Bench> {
        self.benches
            .iter()
            .find(|b| b.family != "seeds" && b.variant == variant && b.threads == threads)
    }
    fn find_matching(&self, family: &str, needle: &str, threads: usize) -> Option<&Bench> {
        self.benches.iter().find(|b| {
            b.family == family
                && b.threads == threads
                && b.variant.to_lowercase().contains(&needle.to_lowercase())
        })
    }
    fn racy(&self, b: &Bench) -> Option<bool> {
        self.stats(b)
            .map(|s| s.racy)
            .or_else(|| catalogue_racy(&b.variant))
    }
    fn cpus(&self) -> Option<usize> {
        self.runs.as_ref()?.entries.values().map(|s| s.cpus).max()
    }
}

/// `(variant, racy)` of every catalogue entry, in catalogue order (built once).
fn catalogue_index() -> &'static [(&'static str, bool)] {
    static INDEX: std::sync::OnceLock<Vec<(&'static str, bool)>> = std::sync::OnceLock::new();
    INDEX.get_or_init(|| {
        crate::catalogue::catalogue()
            .iter()
            .map(|e| (e.variant, e.racy()))
            .collect()
    })
}

fn catalogue_racy(variant: &str) -> Option<bool> {
    catalogue_index()
        .iter()
        .find(|(v, _)| *v == variant)
        .map(|(_, racy)| *racy)
}

/// Catalogue order of variants (racy first within a family); unknown ones after, by name.
fn order_key(b: &Bench) -> (usize, usize, String) {
    let fam = match b.family.as_str() {
        "counter" => 0,
        "lock" => 1,
        "seeds" => 3,
        _ => 2,
    };
    let pos = catalogue_index()
        .iter()
        .position(|(v, _)| *v == b.variant)
        .unwrap_or(usize::MAX);
    (fam, pos, b.variant.clone())
}

struct Out {
    markdown: bool,
    text: String,
}

impl Out {
    fn table(&self, header: &[&str]) -> comfy_table::Table {
        let mut t = comfy_table::Table::new();
        t.load_preset(if self.markdown {
            comfy_table::presets::ASCII_MARKDOWN
        } else {
            comfy_table::presets::UTF8_FULL_CONDENSED
        });
        t.set_header(header.to_vec());
        t
    }
    fn heading(&mut self, title: &str) {
        if self.markdown {
            let _ = writeln!(self.text, "\n### {title}\n");
        } else {
            let _ = writeln!(self.text, "\n{title}");
        }
    }
    fn push_table(&mut self, t: &comfy_table::Table) {
        let _ = writeln!(self.text, "{t}");
    }
    fn note(&mut self, line: &str) {
        if self.markdown {
            let _ = writeln!(self.text, "\n{line}");
        } else {
            let _ = writeln!(self.text, "{line}");
        }
    }
}

/// Formats a number of nanoseconds with sensible precision.
pub fn fmt_ns(ns: f64) -> String {
    if ns >= 1e6 {
        format!("{:.2} ms", ns / 1e6)
    } else if ns >= 100.0 {
        format!("{ns:.0}")
    } else if ns >= 10.0 {
        format!("{ns:.1}")
    } else {
        format!("{ns:.2}")
    }
}

fn fmt_ratio(r: f64) -> String {
    if r >= 100.0 {
        format!("{r:.0}×")
    } else if r >= 10.0 {
        format!("{r:.1}×")
    } else {
        format!("{r:.2}×")
    }
}

fn fmt_parallel(stats: Option<&RunStats>, threads: usize) -> String {
    if threads <= 1 {
        return "n/a (1 thread)".into();
    }
    let Some(s) = stats else {
        return "? (no side file)".into();
    };
    let word = match s.parallelism() {
        Parallelism::Single => "n/a",
        Parallelism::Yes => "yes",
        Parallelism::Partly => "partly",
        Parallelism::No => "NO ⚠",
    };
    format!(
        "{word} {}/{} (overlap min {:.2}, med {:.2})",
        s.parallel_runs, s.runs, s.overlap_min, s.overlap_median
    )
}

fn fmt_lost(stats: Option<&RunStats>, racy: Option<bool>) -> String {
    match (stats, racy) {
        (Some(s), _) if s.racy => format!(
            "{:.2}% ({}/{} runs)",
            100.0 * s.lost_fraction(),
            s.lossy_runs,
            s.runs
        ),
        (Some(_), _) => "none (asserted)".into(),
        (None, Some(false)) => "none (asserted)".into(),
        (None, _) => "?".into(),
    }
}

/// The CPU clock as `/proc/cpuinfo` states it, in MHz (nominal on a VM).
fn cpu_mhz() -> Option<f64> {
    let text = std::fs::read_to_string("/proc/cpuinfo").ok()?;
    text.lines()
        .find(|l| l.starts_with("cpu MHz"))?
        .split(':')
        .nth(1)?
        .trim()
        .parse()
        .ok()
        .filter(|m: &f64| *m > 0.0)
}

/// Runs `racelab bench`: the tables as text (terminal or Markdown), and the chart if asked.
///
/// # Errors
/// One line: no criterion data for the baseline(s), or a file that cannot be read or written.
pub fn run(opts: &Options) -> Result<String, String> {
    let data = Data::load(opts, &opts.baseline)?;
    let mut out = Out {
        markdown: opts.markdown,
        text: String::new(),
    };
    if let Some(after) = &opts.compare {
        let after_data = Data::load(opts, after)?;
        comparison(&mut out, &opts.baseline, &data, after, &after_data);
    } else {
        let source = if opts.baseline == "new" {
            "latest run".to_string()
        } else {
            format!("baseline `{}`", opts.baseline)
        };
        out.note(&format!(
            "criterion results from {} ({source})",
            opts.dir.display()
        ));
        if data.runs.is_none() {
            out.note(&format!(
                "no side file {}: parallelism and losses unknown (rerun `cargo bench`)",
                runs::path_for(&opts.dir, &opts.baseline).display()
            ));
        }
        family_tables(&mut out, &data);
        uncontended(&mut out, &data);
        targets(&mut out, &data);
        seeds(&mut out, &data);
    }
    if let Some(path) = &opts.svg {
        let data = match &opts.compare {
            Some(after) => Data::load(opts, after)?,
            None => data,
        };
        write_svg(path, &data)?;
        out.note(&format!("wrote {}", path.display()));
    }
    Ok(out.text)
}

fn family_tables(out: &mut Out, data: &Data) {
    let mut benches: Vec<&Bench> = data.shown().filter(|b| b.family != "seeds").collect();
    benches.sort_by_key(|b| (order_key(b).0, b.family.clone(), b.threads, order_key(b).1));
    let cpus = data.cpus();
    let mut groups: BTreeMap<(usize, String, usize), Vec<&Bench>> = BTreeMap::new();
    for b in benches {
        groups
            .entry((order_key(b).0, b.family.clone(), b.threads))
            .or_default()
            .push(b);
    }
    let mut flagged = false;
    for ((_, family, threads), rows) in &groups {
        let over = match cpus {
            Some(c) if *threads > c => format!(" on {c} CPUs: oversubscribed"),
            Some(c) => format!(" on {c} CPUs"),
            None => String::new(),
        };
        out.heading(&format!(
            "{family}, {threads} thread{}{over}",
            if *threads == 1 { "" } else { "s" }
        ));
        let racy_h = format!("vs {RACY_BASELINE}");
        let atomic_h = format!("vs {ATOMIC_BASELINE}");
        let mut t = out.table(&[
            "variant",
            "expected",
            "ns/op (all threads)",
            "ns/op per thread",
            "Mops/s",
            &racy_h,
            &atomic_h,
            "lost updates",
            "threads in parallel",
        ]);
        let racy_base = data.find(RACY_BASELINE, *threads);
        let atomic_base = data.find(ATOMIC_BASELINE, *threads);
        for b in rows {
            let ns = b.ns_per_op();
            let stats = data.stats(b);
            let racy = data.racy(b);
            flagged |= stats.is_some_and(|s| s.parallelism() == Parallelism::No);
            let ratio = |base: Option<&Bench>| {
                base.map_or("—".to_string(), |base| {
                    fmt_ratio(ns.point_estimate / base.ns_per_op().point_estimate)
                })
            };
            t.add_row(vec![
                b.variant.clone(),
                match racy {
                    Some(true) => "racy".into(),
                    Some(false) => "correct".into(),
                    None => "?".into(),
                },
                format!(
                    "{} ±{:.1}%",
                    fmt_ns(ns.point_estimate),
                    100.0 * ns.relative_half_width()
                ),
                fmt_ns(b.ns_per_thread_op()),
                format!("{:.1}", b.mops()),
                ratio(racy_base),
                ratio(atomic_base),
                fmt_lost(stats, racy),
                fmt_parallel(stats, b.threads),
            ]);
        }
        out.push_table(&t);
    }
    out.note(
        "ns/op: wall time over all threads' increments (criterion's estimate, ± its 95% interval); \
         per thread: as one thread sees it (× threads). Ratios: ns/op over the baseline's at the \
         same thread count (> 1 = the price).",
    );
    out.note(
        "threads in parallel: timed runs in which all threads were in flight for at least half the \
         run (bench::Measured::parallel), and the overlap fraction.",
    );
    if flagged {
        out.note(
            "⚠ NO: most runs had threads taking turns, not contending: that figure is not a \
             contention figure.",
        );
    }
}

fn uncontended(out: &mut Out, data: &Data) {
    let mut rows: Vec<&Bench> = data
        .shown()
        .filter(|b| b.threads == 1 && b.family != "seeds")
        .collect();
    if rows.is_empty() {
        return;
    }
    rows.sort_by(|a, b| {
        a.ns_per_op()
            .point_estimate
            .total_cmp(&b.ns_per_op().point_estimate)
    });
    let floor = data.find(ATOMIC_BASELINE, 1);
    let mhz = cpu_mhz();
    out.heading(
        "uncontended: 1 thread, vs one uncontended `lock xadd` (AtomicCounter at 1 thread)",
    );
    let mut header = vec!["variant", "family", "ns/op"];
    if mhz.is_some() {
        header.push("≈ cycles");
    }
    header.push("vs lock xadd");
    let mut t = out.table(&header);
    for b in &rows {
        let ns = b.ns_per_op().point_estimate;
        let mut row = vec![
            b.variant.clone(),
            b.family.clone(),
            format!(
                "{} ±{:.1}%",
                fmt_ns(ns),
                100.0 * b.ns_per_op().relative_half_width()
            ),
        ];
        if let Some(m) = mhz {
            row.push(format!("{:.0}", ns * m / 1e3));
        }
        row.push(floor.map_or("—".into(), |f| {
            fmt_ratio(ns / f.ns_per_op().point_estimate)
        }));
        t.add_row(row);
    }
    out.push_table(&t);
    if let Some(m) = mhz {
        out.note(&format!(
            "cycles: ns × {m:.0} MHz (`cpu MHz` in /proc/cpuinfo: nominal, not the boosted clock). \
             An uncontended `lock xadd` is ~18–19 cycles on recent x86: the physical floor."
        ));
    }
}

/// A target's verdict from a point ratio and the ratio's range over the intervals.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TargetVerdict {
    /// The whole range meets it.
    Met,
    /// The whole range misses it.
    Missed,
    /// The range straddles it.
    Borderline,
}

impl std::fmt::Display for TargetVerdict {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            TargetVerdict::Met => "met",
            TargetVerdict::Missed => "MISSED",
            TargetVerdict::Borderline => "borderline (within noise)",
        })
    }
}

/// `num / den` as a point and a range from the intervals (lowest num over highest den, and the
/// reverse).
pub fn ratio_range(num: &Estimate, den: &Estimate) -> (f64, f64, f64) {
    let (n, d) = (&num.confidence_interval, &den.confidence_interval);
    (
        num.point_estimate / den.point_estimate,
        n.lower_bound / d.upper_bound,
        n.upper_bound / d.lower_bound,
    )
}

/// Whether a `(lo, hi)` range is at least `target` (`at_least`) or at most it.
pub fn judge(lo: f64, hi: f64, target: f64, at_least: bool) -> TargetVerdict {
    let (all, none) = if at_least {
        (lo >= target, hi < target)
    } else {
        (hi <= target, lo > target)
    };
    if all {
        TargetVerdict::Met
    } else if none {
        TargetVerdict::Missed
    } else {
        TargetVerdict::Borderline
    }
}

fn targets(out: &mut Out, data: &Data) {
    out.heading("targets");
    let mut t = out.table(&[
        "target",
        "measured",
        "range over the 95% intervals",
        "verdict",
    ]);
    // Sharded at 2 threads: throughput ratio = Atomic's ns/op over Sharded's.
    match (data.find(SHARDED_COUNTER, 2), data.find(ATOMIC_BASELINE, 2)) {
        (Some(s), Some(a)) => {
            let (p, lo, hi) = ratio_range(&a.ns_per_op(), &s.ns_per_op());
            let mut verdict = judge(lo, hi, SHARDED_TARGET, true).to_string();
            let serial = [s, a].iter().any(|b| {
                data.stats(b)
                    .is_some_and(|x| x.parallelism() == Parallelism::No)
            });
            if serial {
                verdict.push_str(" ⚠ threads not in parallel");
            }
            t.add_row(vec![
                format!(
                    "{SHARDED_COUNTER} at 2 threads ≥ {SHARDED_TARGET}× {ATOMIC_BASELINE}'s aggregate throughput"
                ),
                fmt_ratio(p),
                format!("{}–{}", fmt_ratio(lo), fmt_ratio(hi)),
                verdict,
            ]);
        }
        _ => {
            t.add_row(vec![
                format!("{SHARDED_COUNTER} at 2 threads ≥ {SHARDED_TARGET}× {ATOMIC_BASELINE}"),
                "no data".into(),
                "—".into(),
                "not measured".into(),
            ]);
        }
    }
    let spin = data.find_matching("lock", "SpinLock", 1);
    match (spin, data.find(MUTEX_COUNTER, 1)) {
        (Some(s), Some(m)) => {
            let (p, lo, hi) = ratio_range(&s.ns_per_op(), &m.ns_per_op());
            t.add_row(vec![
                format!(
                    "{} uncontended ≤ {SPIN_TARGET}× {MUTEX_COUNTER} (std Mutex)",
                    s.variant
                ),
                fmt_ratio(p),
                format!("{}–{}", fmt_ratio(lo), fmt_ratio(hi)),
                judge(lo, hi, SPIN_TARGET, false).to_string(),
            ]);
        }
        _ => {
            t.add_row(vec![
                format!("SpinLock uncontended ≤ {SPIN_TARGET}× {MUTEX_COUNTER} (std Mutex)"),
                "no data".into(),
                "—".into(),
                "not measured (run `cargo bench --bench lock`)".into(),
            ]);
        }
    }
    out.push_table(&t);
}

fn seeds(out: &mut Out, data: &Data) {
    let rows: Vec<&Bench> = data.shown().filter(|b| b.family == "seeds").collect();
    if rows.is_empty() {
        return;
    }
    let summary = data.runs.as_ref().and_then(|r| r.seeds.as_ref());
    let ops = summary.map(|s| s.ops);
    out.heading(&format!(
        "the seed experiment: {} threads × {} increments",
        rows[0].threads,
        ops.map_or("?".to_string(), |o| o.to_string())
    ));
    let racy = rows.iter().find(|b| b.variant == RACY_BASELINE);
    let mut t = out.table(&[
        "variant",
        "time per run",
        "ns/op (all threads)",
        "vs racy",
        "lost updates",
        "threads in parallel",
    ]);
    let mut sorted = rows.clone();
    sorted.sort_by_key(|b| order_key(b));
    for b in &sorted {
        let stats = data.stats(b);
        let per_run = b.estimates.typical().point_estimate;
        t.add_row(vec![
            b.variant.clone(),
            fmt_ns(per_run),
            fmt_ns(b.ns_per_op().point_estimate),
            racy.map_or("—".into(), |r| {
                fmt_ratio(per_run / r.estimates.typical().point_estimate)
            }),
            fmt_lost(stats, data.racy(b)),
            fmt_parallel(stats, b.threads),
        ]);
    }
    out.push_table(&t);
    if let (Some(r), Some(m)) = (racy, rows.iter().find(|b| b.variant == MUTEX_COUNTER)) {
        let ratio = m.estimates.typical().point_estimate / r.estimates.typical().point_estimate;
        let lost = data.stats(r).map_or("?".to_string(), |s| {
            format!("{:.1}%", 100.0 * s.lost_fraction())
        });
        out.note(&format!(
            "locked/racy time: {} here; the Python article measured {PYTHON_LOCKED_OVER_RACY}× with \
             the GIL. The racy counter lost {lost} of its updates.",
            fmt_ratio(ratio)
        ));
    }
}

fn comparison(out: &mut Out, before: &str, a: &Data, after: &str, b: &Data) {
    out.heading(&format!(
        "baseline `{before}` → `{after}` (flagged: 95% intervals disjoint and change > {:.0}%)",
        100.0 * NOISE_THRESHOLD
    ));
    let mut t = out.table(&[
        "benchmark",
        &format!("{before} ns/op"),
        &format!("{after} ns/op"),
        "change",
        "verdict",
        "threads in parallel",
    ]);
    let mut ids: Vec<&Bench> = a.shown().collect();
    ids.sort_by_key(|x| (order_key(x).0, x.threads, order_key(x).1));
    let mut flagged = 0;
    let mut missing = 0;
    for x in ids {
        let Some(y) = b.benches.iter().find(|y| y.id == x.id) else {
            missing += 1;
            continue;
        };
        let (ea, eb) = comparable(&x.estimates, &y.estimates);
        let (ea, eb) = (ea.scaled(x.elements as f64), eb.scaled(y.elements as f64));
        let verdict = classify_change(&ea, &eb, NOISE_THRESHOLD);
        if verdict != Change::Noise {
            flagged += 1;
        }
        let ci = |e: &Estimate| {
            format!(
                "{} [{}–{}]",
                fmt_ns(e.point_estimate),
                fmt_ns(e.confidence_interval.lower_bound),
                fmt_ns(e.confidence_interval.upper_bound)
            )
        };
        let par = |d: &Data, bench: &Bench| {
            if bench.threads <= 1 {
                "n/a".to_string()
            } else {
                d.stats(bench).map_or("?".into(), |s| {
                    format!(
                        "{}/{}{}",
                        s.parallel_runs,
                        s.runs,
                        if s.parallelism() == Parallelism::No {
                            " ⚠"
                        } else {
                            ""
                        }
                    )
                })
            }
        };
        t.add_row(vec![
            x.id.clone(),
            ci(&ea),
            ci(&eb),
            format!("{:+.1}%", 100.0 * relative_change(&ea, &eb)),
            verdict.to_string(),
            format!("{} → {}", par(a, x), par(b, y)),
        ]);
    }
    out.push_table(&t);
    out.note(&format!(
        "{flagged} change(s) beyond noise{}. The intervals describe one run's samples, not the \
         machine's mood between runs: on a shared VM, rerun both baselines before believing a flag.",
        if missing > 0 {
            format!("; {missing} benchmark(s) of `{before}` missing from `{after}`")
        } else {
            String::new()
        }
    ));
}

// ---------------------------------------------------------------------------------------------
// The chart
// ---------------------------------------------------------------------------------------------

/// A line per variant: `(family, variant, racy, [(threads, ns/op, parallel)])`.
type Series = (String, String, bool, Vec<(usize, f64, bool)>);

fn series(data: &Data) -> Vec<Series> {
    let mut benches: Vec<&Bench> = data.shown().filter(|b| b.family != "seeds").collect();
    benches.sort_by_key(|b| (order_key(b), b.threads));
    let mut out: Vec<Series> = Vec::new();
    for b in benches {
        let parallel = data
            .stats(b)
            .is_none_or(|s| s.parallelism() != Parallelism::No);
        let point = (b.threads, b.ns_per_op().point_estimate, parallel);
        match out.last_mut() {
            Some(s) if s.0 == b.family && s.1 == b.variant => s.3.push(point),
            _ => out.push((
                b.family.clone(),
                b.variant.clone(),
                data.racy(b).unwrap_or(false),
                vec![point],
            )),
        }
    }
    out
}

const COLOURS: [(u8, u8, u8); 14] = [
    (31, 119, 180),
    (255, 127, 14),
    (44, 160, 44),
    (214, 39, 40),
    (148, 103, 189),
    (140, 86, 75),
    (227, 119, 194),
    (127, 127, 127),
    (188, 189, 34),
    (23, 190, 207),
    (0, 0, 128),
    (128, 0, 0),
    (0, 128, 128),
    (90, 90, 0),
];

fn write_svg(path: &Path, data: &Data) -> Result<(), String> {
    use plotters::element::DashedPathElement;
    use plotters::prelude::*;
    let all = series(data);
    if all.is_empty() {
        return Err("no counter or lock benchmarks to chart".into());
    }
    if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
        std::fs::create_dir_all(parent)
            .map_err(|e| format!("cannot create {}: {e}", parent.display()))?;
    }
    let err = |e: &dyn std::fmt::Display| format!("cannot draw {}: {e}", path.display());
    let ys = all.iter().flat_map(|s| s.3.iter().map(|p| p.1));
    let (lo, hi) = ys.fold((f64::INFINITY, 0.0f64), |(lo, hi), y| {
        (lo.min(y), hi.max(y))
    });
    let max_threads = all
        .iter()
        .flat_map(|s| s.3.iter().map(|p| p.0))
        .max()
        .unwrap_or(1);
    let (lo, hi) = (lo * 0.7, hi * 1.6);
    {
        let root = SVGBackend::new(path, (1200, 700)).into_drawing_area();
        root.fill(&WHITE).map_err(|e| err(&e))?;
        let root = root
            .titled(
                "racelab: ns per increment (wall time / all threads' increments) vs threads",
                ("sans-serif", 22),
            )
            .map_err(|e| err(&e))?;
        let (left, right) = root.split_horizontally(860);
        let mut chart = ChartBuilder::on(&left)
            .margin(18)
            .x_label_area_size(45)
            .y_label_area_size(75)
            .build_cartesian_2d(0.5f64..max_threads as f64 + 0.5, (lo..hi).log_scale())
            .map_err(|e| err(&e))?;
        chart
            .configure_mesh()
            .x_desc("threads")
            .y_desc("ns / increment (log scale)")
            .x_labels(2 * max_threads + 2)
            .x_label_formatter(&|v| {
                if (v - v.round()).abs() < 1e-6 && *v >= 1.0 {
                    format!("{}", v.round())
                } else {
                    String::new()
                }
            })
            .y_label_formatter(&|v| fmt_ns(*v))
            .draw()
            .map_err(|e| err(&e))?;
        let font = ("sans-serif", 14).into_font();
        let mut y = 30;
        for (i, (family, variant, racy, points)) in all.iter().enumerate() {
            let (r, g, b) = COLOURS[i % COLOURS.len()];
            let colour = RGBColor(r, g, b);
            let style = colour.stroke_width(2);
            let xy: Vec<(f64, f64)> = points.iter().map(|p| (p.0 as f64, p.1)).collect();
            if *racy {
                chart
                    .draw_series(DashedLineSeries::new(xy, 7, 5, style))
                    .map_err(|e| err(&e))?;
                right
                    .draw(&DashedPathElement::new(vec![(10, y), (50, y)], 7, 5, style))
                    .map_err(|e| err(&e))?;
            } else {
                chart
                    .draw_series(LineSeries::new(xy, style))
                    .map_err(|e| err(&e))?;
                right
                    .draw(&PathElement::new(vec![(10, y), (50, y)], style))
                    .map_err(|e| err(&e))?;
            }
            chart
                .draw_series(points.iter().map(|p| {
                    if p.2 {
                        Circle::new((p.0 as f64, p.1), 4, colour.filled())
                    } else {
                        Circle::new((p.0 as f64, p.1), 6, colour.stroke_width(2))
                    }
                }))
                .map_err(|e| err(&e))?;
            right
                .draw(&Circle::new((30, y), 4, colour.filled()))
                .map_err(|e| err(&e))?;
            let label = format!("{family}/{variant}{}", if *racy { " (racy)" } else { "" });
            right
                .draw(&Text::new(label, (60, y - 8), font.clone()))
                .map_err(|e| err(&e))?;
            y += 24;
        }
        y += 16;
        let grey = RGBColor(90, 90, 90);
        right
            .draw(&Circle::new((30, y), 4, grey.filled()))
            .map_err(|e| err(&e))?;
        right
            .draw(&Text::new(
                "threads ran in parallel",
                (60, y - 8),
                font.clone(),
            ))
            .map_err(|e| err(&e))?;
        y += 24;
        right
            .draw(&Circle::new((30, y), 6, grey.stroke_width(2)))
            .map_err(|e| err(&e))?;
        right
            .draw(&Text::new(
                "threads did NOT run in parallel",
                (60, y - 8),
                font.clone(),
            ))
            .map_err(|e| err(&e))?;
        y += 24;
        right
            .draw(&Text::new(
                "dashed: intentionally racy",
                (60, y - 8),
                font.clone(),
            ))
            .map_err(|e| err(&e))?;
        right
            .draw(&DashedPathElement::new(
                vec![(10, y), (50, y)],
                7,
                5,
                grey.stroke_width(2),
            ))
            .map_err(|e| err(&e))?;
        root.present().map_err(|e| err(&e))?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::runs::*;
    use super::*;
    use crate::bench::Measured;
    use std::time::Duration;

    /// What criterion 0.8 writes for a linear-sampling benchmark (trimmed numbers).
    const ESTIMATES: &str = r#"{"mean":{"confidence_interval":{"confidence_level":0.95,"lower_bound":19.5,"upper_bound":21.5},"point_estimate":20.4,"standard_error":0.5},"median":{"confidence_interval":{"confidence_level":0.95,"lower_bound":19.0,"upper_bound":21.0},"point_estimate":20.0,"standard_error":0.4},"median_abs_dev":{"confidence_interval":{"confidence_level":0.95,"lower_bound":0.1,"upper_bound":0.9},"point_estimate":0.5,"standard_error":0.2},"slope":{"confidence_interval":{"confidence_level":0.95,"lower_bound":19.8,"upper_bound":20.6},"point_estimate":20.2,"standard_error":0.2},"std_dev":{"confidence_interval":{"confidence_level":0.95,"lower_bound":0.5,"upper_bound":2.5},"point_estimate":1.5,"standard_error":0.5}}"#;

    const BENCHMARK: &str = r#"{"group_id":"lock","function_id":"LockCounter<SpinLock>","value_str":"2","throughput":{"Elements":2},"full_id":"lock/LockCounter<SpinLock>/2","directory_name":"lock/LockCounter_SpinLock_/2","title":"lock/LockCounter<SpinLock>/2"}"#;

    fn est(point: f64, lo: f64, hi: f64) -> Estimate {
        Estimate {
            confidence_interval: ConfidenceInterval {
                confidence_level: 0.95,
                lower_bound: lo,
                upper_bound: hi,
            },
            point_estimate: point,
            standard_error: (hi - lo) / 4.0,
        }
    }

    #[test]
    fn parses_estimates_and_prefers_the_slope() {
        let e = parse_estimates(ESTIMATES).unwrap();
        assert_eq!(e.mean.point_estimate, 20.4);
        assert_eq!(e.median.confidence_interval.lower_bound, 19.0);
        assert_eq!(e.typical().point_estimate, 20.2);
        let flat = ESTIMATES.replace(
            r#""slope":{"confidence_interval":{"confidence_level":0.95,"lower_bound":19.8,"upper_bound":20.6},"point_estimate":20.2,"standard_error":0.2}"#,
            r#""slope":null"#,
        );
        let e = parse_estimates(&flat).unwrap();
        assert!(e.slope.is_none());
        assert_eq!(e.typical().point_estimate, 20.4);
        assert!(parse_estimates("{").is_err());
    }

    #[test]
    fn reads_ids_and_per_element_figures_from_benchmark_json() {
        let b = Bench::from_json(BENCHMARK, ESTIMATES).unwrap().unwrap();
        assert_eq!(b.family, "lock");
        assert_eq!(b.variant, "LockCounter<SpinLock>");
        assert_eq!(b.threads, 2);
        assert_eq!(b.elements, 2);
        assert_eq!(b.id, "lock/LockCounter<SpinLock>/2");
        assert_eq!(b.ns_per_op().point_estimate, 10.1);
        assert_eq!(b.ns_per_op().confidence_interval.upper_bound, 10.3);
        assert_eq!(b.ns_per_thread_op(), 20.2);
        let not_ours = BENCHMARK.replace(r#""value_str":"2""#, r#""value_str":"big""#);
        assert_eq!(Bench::from_json(&not_ours, ESTIMATES).unwrap(), None);
    }

    #[test]
    fn loads_a_baseline_from_a_directory_tree() {
        let dir = std::env::temp_dir().join(format!("racelab-benchsum-{}", std::process::id()));
        let leaf = dir.join("lock/LockCounter_SpinLock_/2");
        for b in ["new", "A"] {
            std::fs::create_dir_all(leaf.join(b)).unwrap();
            std::fs::write(leaf.join(b).join("benchmark.json"), BENCHMARK).unwrap();
            std::fs::write(leaf.join(b).join("estimates.json"), ESTIMATES).unwrap();
        }
        std::fs::create_dir_all(dir.join("report")).unwrap();
        let new = load_baseline(&dir, "new").unwrap();
        assert_eq!(new.len(), 1);
        assert_eq!(new[0].variant, "LockCounter<SpinLock>");
        assert_eq!(load_baseline(&dir, "A").unwrap().len(), 1);
        assert!(load_baseline(&dir, "B").unwrap().is_empty());
        let opts = Options {
            dir: dir.clone(),
            baseline: "B".into(),
            ..Options::new()
        };
        let e = run(&opts).unwrap_err();
        assert!(
            e.contains("no criterion results") && !e.contains('\n'),
            "{e}"
        );
        let _ = std::fs::remove_dir_all(&dir);
        assert!(load_baseline(&dir, "new").unwrap().is_empty());
    }

    #[test]
    fn flags_a_change_only_when_intervals_are_disjoint_and_large() {
        let a = est(100.0, 98.0, 102.0);
        // Disjoint and +20%: slower.
        assert_eq!(
            classify_change(&a, &est(120.0, 118.0, 122.0), NOISE_THRESHOLD),
            Change::Regressed
        );
        // Disjoint and −20%: faster.
        assert_eq!(
            classify_change(&a, &est(80.0, 79.0, 81.0), NOISE_THRESHOLD),
            Change::Improved
        );
        // +20% but the intervals overlap: noise.
        assert_eq!(
            classify_change(&a, &est(120.0, 101.0, 140.0), NOISE_THRESHOLD),
            Change::Noise
        );
        // Disjoint but only +4%: noise.
        assert_eq!(
            classify_change(&a, &est(104.0, 103.5, 104.5), NOISE_THRESHOLD),
            Change::Noise
        );
        // Touching intervals count as overlapping.
        assert_eq!(
            classify_change(&a, &est(110.0, 102.0, 118.0), NOISE_THRESHOLD),
            Change::Noise
        );
        assert!((relative_change(&a, &est(120.0, 118.0, 122.0)) - 0.2).abs() < 1e-12);
    }

    #[test]
    fn compares_slopes_only_when_both_have_one() {
        let e = parse_estimates(ESTIMATES).unwrap();
        let mut flat = e.clone();
        flat.slope = None;
        assert_eq!(comparable(&e, &e).0.point_estimate, 20.2);
        assert_eq!(comparable(&e, &flat).0.point_estimate, 20.4);
        assert_eq!(comparable(&e, &flat).1.point_estimate, 20.4);
    }

    #[test]
    fn judges_targets_over_the_whole_range() {
        let (p, lo, hi) = ratio_range(&est(60.0, 55.0, 65.0), &est(10.0, 9.0, 11.0));
        assert_eq!(p, 6.0);
        assert!((lo - 5.0).abs() < 1e-12 && (hi - 65.0 / 9.0).abs() < 1e-12);
        assert_eq!(judge(lo, hi, 5.0, true), TargetVerdict::Met);
        assert_eq!(judge(lo, hi, 6.0, true), TargetVerdict::Borderline);
        assert_eq!(judge(lo, hi, 8.0, true), TargetVerdict::Missed);
        assert_eq!(judge(1.1, 1.4, 1.5, false), TargetVerdict::Met);
        assert_eq!(judge(1.4, 1.6, 1.5, false), TargetVerdict::Borderline);
        assert_eq!(judge(1.6, 1.9, 1.5, false), TargetVerdict::Missed);
    }

    fn measured(overlap: f64, count: usize, expected: usize) -> Measured {
        Measured {
            elapsed: Duration::from_micros(10),
            overlap,
            count,
            expected,
        }
    }

    #[test]
    fn recorder_separates_warm_up_and_counts_parallel_runs_and_losses() {
        let entry = crate::catalogue::find("LoadStoreCounter").unwrap();
        let mut r = RunRecorder::new("counter", &entry, 2);
        // criterion's warm-up: 1, 2, 4 iterations; then samples of 5, 10, 15.
        let plan = [
            (1, 0.0, 2),
            (2, 0.1, 4),
            (4, 0.2, 8),
            (5, 0.9, 10),
            (10, 0.4, 17),
            (15, 0.8, 30),
        ];
        for (iters, overlap, count) in plan {
            let warm = r.begin_call(iters);
            r.add(warm, measured(overlap, count, 2 * iters as usize));
        }
        let s = r.finish();
        assert_eq!((s.runs, s.warmup_runs, s.parallel_runs), (3, 3, 2));
        assert_eq!((s.overlap_min, s.overlap_median), (0.4, 0.8));
        assert_eq!((s.increments, s.lost, s.lossy_runs), (60, 3, 1));
        assert!((s.lost_fraction() - 0.05).abs() < 1e-12);
        assert_eq!(s.parallelism(), Parallelism::Partly);
        assert_eq!(s.id(), "counter/LoadStoreCounter/2");
    }

    #[test]
    fn recorder_counts_everything_when_no_warm_up_is_told_apart() {
        let entry = crate::catalogue::find("AtomicCounter").unwrap();
        let mut r = RunRecorder::new("counter", &entry, 2);
        for (i, overlap) in [0.1, 0.2, 0.9].into_iter().enumerate() {
            let iters = 1u64 << i;
            let warm = r.begin_call(iters);
            r.add(
                warm,
                measured(overlap, 2 * iters as usize, 2 * iters as usize),
            );
        }
        let s = r.finish();
        assert_eq!((s.runs, s.warmup_runs, s.parallel_runs), (3, 0, 1));
        assert_eq!(s.parallelism(), Parallelism::No);
    }

    #[test]
    #[should_panic(expected = "the twin is broken")]
    fn recorder_panics_on_an_inexact_correct_variant() {
        let entry = crate::catalogue::find("AtomicCounter").unwrap();
        let mut r = RunRecorder::new("counter", &entry, 2);
        r.add(false, measured(1.0, 3, 4));
    }

    #[test]
    fn parses_criterions_command_line() {
        let a = CriterionArgs::parse(&["--bench"]);
        assert!(a.benchmarking && a.writes_new);
        assert_eq!(a.saves.as_deref(), Some("base"));
        let a = CriterionArgs::parse(&["--bench", "--save-baseline", "A", "counter"]);
        assert_eq!(a.saves.as_deref(), Some("A"));
        assert_eq!(
            CriterionArgs::parse(&["--bench", "--save-baseline=B"])
                .saves
                .as_deref(),
            Some("B")
        );
        assert_eq!(
            CriterionArgs::parse(&["--bench", "-s", "C"])
                .saves
                .as_deref(),
            Some("C")
        );
        let a = CriterionArgs::parse(&["--bench", "--baseline", "A"]);
        assert!(a.benchmarking && a.writes_new && a.saves.is_none());
        let a = CriterionArgs::parse(&["--bench", "--discard-baseline"]);
        assert!(!a.writes_new && a.saves.is_none());
        assert!(!CriterionArgs::parse::<&str>(&[]).benchmarking);
        assert!(!CriterionArgs::parse(&["--bench", "--test"]).benchmarking);
        assert!(!CriterionArgs::parse(&["--bench", "--list"]).benchmarking);
    }

    #[test]
    fn side_files_merge_by_id() {
        let dir = std::env::temp_dir().join(format!("racelab-runs-{}", std::process::id()));
        let path = path_for(&dir, "A");
        assert!(path.ends_with("racelab-runs.A.json"));
        assert!(path_for(&dir, "new").ends_with("racelab-runs.json"));
        let entry = crate::catalogue::find("AtomicCounter").unwrap();
        let mut r = RunRecorder::new("counter", &entry, 1);
        r.add(false, measured(1.0, 4, 4));
        let one = r.finish();
        let mut two = one.clone();
        two.threads = 2;
        merge_into(&path, std::slice::from_ref(&one), None).unwrap();
        merge_into(&path, &[two.clone()], None).unwrap();
        let mut again = two.clone();
        again.runs = 7;
        merge_into(&path, &[again], None).unwrap();
        let file = read(&path).unwrap();
        assert_eq!(file.schema, SCHEMA);
        assert_eq!(file.entries.len(), 2);
        assert_eq!(file.entries["counter/AtomicCounter/2"].runs, 7);
        assert_eq!(file.entries["counter/AtomicCounter/1"], one);
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn median_of_even_and_odd() {
        assert_eq!(runs::median(&[]), 0.0);
        assert_eq!(runs::median(&[1.0, 2.0, 9.0]), 2.0);
        assert_eq!(runs::median(&[1.0, 2.0, 4.0, 9.0]), 3.0);
    }
}
