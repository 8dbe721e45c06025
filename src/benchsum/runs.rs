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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::bench::Measured;
    use std::time::Duration;

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
        let mut r = RunRecorder::new(crate::catalogue::COUNTER, &entry, 2);
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
        let mut r = RunRecorder::new(crate::catalogue::COUNTER, &entry, 2);
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
        let mut r = RunRecorder::new(crate::catalogue::COUNTER, &entry, 2);
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
        let mut r = RunRecorder::new(crate::catalogue::COUNTER, &entry, 1);
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
        assert_eq!(median(&[]), 0.0);
        assert_eq!(median(&[1.0, 2.0, 9.0]), 2.0);
        assert_eq!(median(&[1.0, 2.0, 4.0, 9.0]), 3.0);
    }
}
