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

// One file per job:
// - criterion.rs: criterion's `estimates.json` and `benchmark.json`, and one benchmark read back;
// - walk.rs: where criterion writes, the walk that loads one baseline, and that baseline as shown;
// - runs.rs: the side file the benchmarks write (`runs`), and criterion's command line as they see it;
// - noise.rs: changes between baselines beyond noise, and verdicts on the targets;
// - tables.rs: the terminal and Markdown tables;
// - chart.rs: the SVG chart;
// - paired.rs: builds timed in interleaved rounds and judged by a rank test (`--baseline A
//   --compare B` on saved builds), and the probe each build runs.
// This file holds the constants, `Options` and `run`, and re-exports the public items.

mod chart;
mod criterion;
mod noise;
pub mod paired;
pub mod runs;
mod tables;
mod walk;

pub use criterion::{
    Bench, BenchmarkRecord, ConfidenceInterval, Estimate, Estimates, parse_benchmark,
    parse_estimates,
};
pub use noise::{
    Change, TargetVerdict, classify_change, comparable, judge_target, ratio_range, relative_change,
};
pub use tables::fmt_ns;
pub use walk::{default_criterion_dir, load_baseline};

use chart::write_svg;
use std::path::PathBuf;
use tables::{Out, comparison, executor, family_tables, seeds, targets, uncontended};
use walk::Data;

// The variants the tables compare against, named by their types' own constants.
use crate::counter::{AtomicCounter, Counter, LoadStoreCounter, MutexCounter, ShardedCounter};
use crate::lock::{RawLock, SpinLock};

/// The racy baseline: a plain load and store, no synchronisation cost at all.
pub const RACY_BASELINE: &str = <LoadStoreCounter as Counter>::NAME;
/// The atomic baseline: one `lock xadd` per increment, the physical floor of a correct counter.
pub const ATOMIC_BASELINE: &str = <AtomicCounter as Counter>::NAME;
/// std's Mutex around the counter.
pub const MUTEX_COUNTER: &str = <MutexCounter as Counter>::NAME;
/// Per-thread cache-padded slots.
pub const SHARDED_COUNTER: &str = <ShardedCounter as Counter>::NAME;
/// The spin lock whose uncontended cost is a target.
pub const SPIN_LOCK: &str = <SpinLock as RawLock>::NAME;
/// The criterion group of the seed experiment (`benches/seeds.rs`): not a catalogue family.
pub const SEEDS: &str = "seeds";
/// The criterion groups of the executor benchmark (`benches/executor.rs`) start with this:
/// `executor/roundtrip` and `executor/map`. Their "threads" are the pool's workers.
pub const EXECUTOR_GROUPS: &str = "executor/";
/// The executor benchmark's round-trip group.
pub const EXECUTOR_ROUNDTRIP: &str = "executor/roundtrip";
/// The executor benchmark's `map` group.
pub const EXECUTOR_MAP: &str = "executor/map";
/// racelab's executor, as its benchmark names it.
pub const EXECUTOR_NAME: &str = "ThreadPoolExecutor";
/// Target: racelab's executor round trip costs at most this multiple of rayon's spawn + channel.
pub const EXECUTOR_RAYON_TARGET: f64 = 2.0;
/// Target: a thread per task costs at least this multiple of racelab's executor round trip.
pub const EXECUTOR_SPAWN_TARGET: f64 = 15.0;
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
        executor(&mut out, &data);
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

/// Runs a paired comparison of two builds and renders it (terminal or Markdown).
///
/// # Errors
/// As [`paired::run_paired`].
pub fn run_paired(
    opts: &paired::PairedOptions,
    markdown: bool,
    progress: &mut dyn FnMut(usize, usize),
) -> Result<(paired::PairedReport, String), String> {
    let report = paired::run_paired(opts, progress)?;
    Ok((report.clone(), render_paired(&report, markdown)))
}

/// A paired report as tables (terminal or Markdown).
pub fn render_paired(report: &paired::PairedReport, markdown: bool) -> String {
    let mut out = Out {
        markdown,
        text: String::new(),
    };
    paired::render(&mut out, report);
    out.text
}
