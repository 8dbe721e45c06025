//! The articles' experiments, redone in Rust (`racelab seeds`, issue 12).
//!
//! Three of the five articles (000, 001 and 004; `../shared/docs/seed-notes.md` §1 and §4) time a program with
//! and without threads, processes or async and draw rules of thumb from it. Each experiment
//! here is one function that runs every variant of one of them on this machine and returns one
//! [`Row`] per variant: its wall time, the article's figure beside it, its ratio to the
//! experiment's baseline, and, where threads or processes compete for cores, the cores they
//! really kept busy (CPU time over wall time), so a speed-up that could not happen is not
//! reported as one.
//!
//! | experiment | article | what it shows |
//! |---|---|---|
//! | `lost-update` | 001 | 6 threads × 10⁶ increments: racy vs locked vs atomic, and how many updates the racy one lost |
//! | `select` | 001 | five 0.1 s blocking waits on loopback sockets: one after another, on 5 threads, on the executor, as async tasks |
//! | `subprocess` | 001 | ten `sleep` children one after another, then all at once |
//! | `cpu-bound` | 000, 004 | sum of squares over 20 large `n`: sequential, 1/2/4 threads, threads under one global lock ("the GIL"), child processes |
//! | `factorise` | 001 | two large numbers, sequentially and on two threads |
//! | `downloads` | 000, 004 | 160 requests to a loopback HTTP server that waits per request: sequential, a pool of 5, async |
//! | `slow-connections` | 004 | 1,000 connections each waiting 100 ms: 1,000 threads vs 1,000 async tasks, with peak memory from the OS |
//! | `pipeline`, `executor` | 001, 003 | the 3-stage pipeline at 1 and 4 workers per stage; `map` on a pool of 5 vs a thread per task |
//!
//! Every socket binds to loopback, every server stops by itself, every wait has a timeout.
//! Experiments that start child processes re-execute a program the caller names ([`Child`]):
//! the `racelab` binary, which runs [`child_main`] for `racelab seeds-child …`.

#[cfg(feature = "cli")]
mod chart;
mod cpu;
mod io;
mod net;
mod systems;

#[cfg(feature = "cli")]
pub use chart::write_svg;
pub use cpu::{cpu_work, factors, sum_squares, sum_squares_on};

use serde::{Deserialize, Serialize};
use std::path::PathBuf;
use std::time::{Duration, Instant};

/// How big the experiments run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Scale {
    /// Sizes that take seconds per experiment (the article's shapes, scaled to this machine).
    Full,
    /// Every size shrunk, for CI: the whole set in well under 2 minutes.
    Quick,
}

impl Scale {
    /// `full` at [`Scale::Full`], `quick` at [`Scale::Quick`].
    pub fn pick<T>(self, full: T, quick: T) -> T {
        match self {
            Scale::Full => full,
            Scale::Quick => quick,
        }
    }
}

/// How to start a child process that runs [`child_main`]: `program` with `args` before the
/// child's own arguments (`racelab` and `["seeds-child"]`).
#[derive(Debug, Clone)]
pub struct Child {
    /// The program: the `racelab` binary.
    pub program: PathBuf,
    /// The arguments before the child's own.
    pub args: Vec<String>,
}

impl Child {
    /// The running `racelab` binary (`std::env::current_exe`) with `seeds-child`.
    ///
    /// # Errors
    /// One line, if the running program cannot be found.
    pub fn this_racelab() -> Result<Child, String> {
        let program = std::env::current_exe()
            .map_err(|e| format!("cannot find the running racelab binary: {e}"))?;
        Ok(Child {
            program,
            args: vec!["seeds-child".into()],
        })
    }

    /// A command that runs the child work `work` with `args`.
    pub fn command(&self, work: &str, args: &[String]) -> std::process::Command {
        let mut c = std::process::Command::new(&self.program);
        c.args(&self.args).arg(work).args(args);
        c
    }
}

/// What an experiment runs with.
#[derive(Debug, Clone)]
pub struct Context {
    /// The sizes.
    pub scale: Scale,
    /// How to start child processes; `None`: the experiments that need them report their
    /// process rows as not run.
    pub child: Option<Child>,
    /// The cores this process may use (`available_parallelism`).
    pub cores: usize,
}

impl Context {
    /// A context at `scale` with the cores of this machine.
    pub fn new(scale: Scale, child: Option<Child>) -> Context {
        Context {
            scale,
            child,
            cores: std::thread::available_parallelism().map_or(1, |n| n.get()),
        }
    }
}

/// One variant of one experiment, as measured.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Row {
    /// The experiment's name (`cpu-bound`).
    pub experiment: String,
    /// The variant (`4 threads`).
    pub variant: String,
    /// The article's figure for this variant as it reported it (`1.07 s`), if it has one.
    pub article: Option<String>,
    /// Wall time, seconds; `None` when the variant did not run (see `note`).
    pub seconds: Option<f64>,
    /// Whether this row is the experiment's baseline (the ratios divide by its time).
    pub baseline: bool,
    /// This row's time over the baseline's (filled in by [`run`]).
    pub ratio: Option<f64>,
    /// Threads or processes competing for cores in this variant (`None`: not a parallel run).
    pub workers: Option<usize>,
    /// CPU time over wall time during the run: the cores it really kept busy. For child
    /// processes, theirs.
    pub cpu_per_wall: Option<f64>,
    /// Other figures of the variant, named (`lost updates`, `peak RSS MiB`).
    pub extra: Vec<(String, String)>,
    /// What to know beside the figure (fewer cores than workers, why it did not run).
    pub note: Option<String>,
}

impl Row {
    /// A row of `experiment`/`variant` with nothing measured yet.
    pub fn new(experiment: &str, variant: impl Into<String>) -> Row {
        Row {
            experiment: experiment.to_string(),
            variant: variant.into(),
            article: None,
            seconds: None,
            baseline: false,
            ratio: None,
            workers: None,
            cpu_per_wall: None,
            extra: Vec::new(),
            note: None,
        }
    }
    /// The article's figure.
    pub fn article(mut self, figure: &str) -> Row {
        self.article = Some(figure.to_string());
        self
    }
    /// Marks the baseline.
    pub fn baseline(mut self) -> Row {
        self.baseline = true;
        self
    }
    /// A timed run's figures, with `workers` competing for `cores`.
    pub fn timed(mut self, t: &Timed, workers: Option<usize>, cores: usize) -> Row {
        self.seconds = Some(t.wall.as_secs_f64());
        self.workers = workers;
        if workers.is_some() {
            self.cpu_per_wall = Some(t.cpu_per_wall());
        }
        if let Some(w) = workers
            && w > cores
        {
            self.note = Some(format!(
                "{w} workers on {cores} cores: at most {cores}× from parallelism"
            ));
        }
        self
    }
    /// A timed run of `workers` that mostly wait (sockets, sleeps, children asleep): their
    /// figures, without the fewer-cores-than-workers note, since a waiting worker needs no core.
    pub fn timed_io(mut self, t: &Timed, workers: Option<usize>) -> Row {
        self.seconds = Some(t.wall.as_secs_f64());
        self.workers = workers;
        if workers.is_some() {
            self.cpu_per_wall = Some(t.cpu_per_wall());
        }
        self
    }
    /// Adds a named figure.
    pub fn extra(mut self, name: &str, value: impl ToString) -> Row {
        self.extra.push((name.to_string(), value.to_string()));
        self
    }
    /// Adds (or extends) the note.
    pub fn note(mut self, note: impl Into<String>) -> Row {
        let note = note.into();
        self.note = Some(match self.note.take() {
            Some(old) => format!("{old}; {note}"),
            None => note,
        });
        self
    }
}

/// A timed run: wall time, and the CPU time of this process and of its waited-for children.
#[derive(Debug, Clone, Copy)]
pub struct Timed {
    /// Wall time.
    pub wall: Duration,
    /// User + system CPU time of this process (every thread) during the run.
    pub cpu: Duration,
    /// User + system CPU time of the child processes waited for during the run.
    pub children_cpu: Duration,
}

impl Timed {
    /// Cores kept busy: this process's CPU time and its children's, over wall time.
    pub fn cpu_per_wall(&self) -> f64 {
        (self.cpu + self.children_cpu).as_secs_f64() / self.wall.as_secs_f64().max(1e-9)
    }
}

/// Runs `f` and times it (wall, CPU of this process and of the children it waited for).
pub fn timed<T>(f: impl FnOnce() -> T) -> (T, Timed) {
    let (c0, k0, t0) = (cpu_time(Who::Me), cpu_time(Who::Children), Instant::now());
    let out = f();
    let wall = t0.elapsed();
    let t = Timed {
        wall,
        cpu: cpu_time(Who::Me).saturating_sub(c0),
        children_cpu: cpu_time(Who::Children).saturating_sub(k0),
    };
    (out, t)
}

enum Who {
    Me,
    Children,
}

/// User + system CPU time so far, of this process or of its waited-for children.
fn cpu_time(who: Who) -> Duration {
    #[cfg(unix)]
    {
        let who = match who {
            Who::Me => libc::RUSAGE_SELF,
            Who::Children => libc::RUSAGE_CHILDREN,
        };
        // SAFETY: `getrusage` writes one `rusage` into the zeroed struct it is given and reads
        // nothing else; RUSAGE_SELF and RUSAGE_CHILDREN are valid `who`s.
        let usage = unsafe {
            let mut u: libc::rusage = std::mem::zeroed();
            libc::getrusage(who, &mut u);
            u
        };
        let tv = |t: libc::timeval| Duration::new(t.tv_sec as u64, t.tv_usec as u32 * 1000);
        tv(usage.ru_utime) + tv(usage.ru_stime)
    }
    #[cfg(not(unix))]
    {
        let _ = who;
        Duration::ZERO
    }
}

/// One experiment: what it reproduces and how to run it.
#[derive(Debug, Clone, Copy)]
pub struct Experiment {
    /// Its name, for `--only` (`cpu-bound`).
    pub name: &'static str,
    /// The article and the figure it reproduces.
    pub article: &'static str,
    /// One sentence: what carries over to Rust and what does not.
    pub lesson: &'static str,
    /// Runs every variant.
    pub run: fn(&Context) -> Result<Vec<Row>, String>,
}

/// Every experiment, in the order `racelab seeds` runs them.
pub fn experiments() -> Vec<Experiment> {
    let mut all = vec![
        cpu::LOST_UPDATE,
        io::SELECT,
        io::SUBPROCESS,
        cpu::CPU_BOUND,
        cpu::FACTORISE,
    ];
    all.extend(net::EXPERIMENTS);
    all.extend(systems::EXPERIMENTS);
    all
}

/// The experiments `only` names (all for an empty list).
///
/// # Errors
/// One line naming the unknown ones and the known ones.
pub fn select(only: &[String]) -> Result<Vec<Experiment>, String> {
    let all = experiments();
    if only.is_empty() {
        return Ok(all);
    }
    let unknown: Vec<&str> = only
        .iter()
        .map(String::as_str)
        .filter(|n| !all.iter().any(|e| e.name == *n))
        .collect();
    if !unknown.is_empty() {
        let known: Vec<&str> = all.iter().map(|e| e.name).collect();
        return Err(format!(
            "unknown experiment{} {} (known: {})",
            if unknown.len() > 1 { "s" } else { "" },
            unknown.join(", "),
            known.join(", ")
        ));
    }
    Ok(all
        .into_iter()
        .filter(|e| only.iter().any(|n| n == e.name))
        .collect())
}

/// What one `racelab seeds` run measured.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct SeedsReport {
    /// racelab's version.
    pub version: String,
    /// The sizes.
    pub scale: Scale,
    /// The cores the run had.
    pub cores: usize,
    /// Every experiment run, with its article and lesson.
    pub experiments: Vec<ExperimentInfo>,
    /// One row per variant, experiments in order.
    pub rows: Vec<Row>,
}

/// An experiment as the report names it.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ExperimentInfo {
    /// Its name.
    pub name: String,
    /// The article and its figure.
    pub article: String,
    /// What carries over.
    pub lesson: String,
    /// Wall time of the whole experiment, seconds.
    pub seconds: f64,
    /// Set if it failed: the one-line error (its rows are missing).
    pub error: Option<String>,
}

/// Runs `experiments` in order, calling `progress` before each with its name, and fills in
/// each row's ratio to its experiment's baseline. An experiment that fails is recorded with its
/// error and the run goes on.
pub fn run(
    ctx: &Context,
    experiments: &[Experiment],
    mut progress: impl FnMut(&Experiment),
) -> SeedsReport {
    let mut report = SeedsReport {
        version: env!("CARGO_PKG_VERSION").to_string(),
        scale: ctx.scale,
        cores: ctx.cores,
        experiments: Vec::new(),
        rows: Vec::new(),
    };
    for e in experiments {
        progress(e);
        let t0 = Instant::now();
        let result = (e.run)(ctx);
        let seconds = t0.elapsed().as_secs_f64();
        let error = match result {
            Ok(mut rows) => {
                fill_ratios(&mut rows);
                report.rows.extend(rows);
                None
            }
            Err(err) => Some(err),
        };
        report.experiments.push(ExperimentInfo {
            name: e.name.to_string(),
            article: e.article.to_string(),
            lesson: e.lesson.to_string(),
            seconds,
            error,
        });
    }
    report
}

/// Each row's time over its experiment's baseline's.
fn fill_ratios(rows: &mut [Row]) {
    let base = rows.iter().find(|r| r.baseline).and_then(|r| r.seconds);
    for r in rows {
        r.ratio = match (r.seconds, base) {
            (Some(s), Some(b)) if b > 0.0 => Some(s / b),
            _ => None,
        };
    }
}

impl SeedsReport {
    /// Whether every experiment ran without an error.
    pub fn ok(&self) -> bool {
        self.experiments.iter().all(|e| e.error.is_none())
    }

    /// The report as pretty JSON.
    pub fn to_json(&self) -> String {
        serde_json::to_string_pretty(self).expect("a report serialises")
    }

    /// The table as Markdown, then each experiment's lesson.
    pub fn to_markdown(&self) -> String {
        let mut s = format!(
            "racelab {} `seeds` on {} cores ({}).\n\n",
            self.version,
            self.cores,
            match self.scale {
                Scale::Full => "full sizes",
                Scale::Quick => "--quick sizes",
            }
        );
        s.push_str(
            "| experiment | variant | article | Rust | vs baseline | cores busy | notes |\n",
        );
        s.push_str("|---|---|---|---:|---:|---:|---|\n");
        for r in &self.rows {
            let cells = r.cells();
            s.push_str(&format!("| {} |\n", cells.join(" | ")));
        }
        s.push('\n');
        for e in &self.experiments {
            s.push_str(&format!("- **{}** ({}): {}", e.name, e.article, e.lesson));
            if let Some(err) = &e.error {
                s.push_str(&format!(" **Not run: {err}**"));
            }
            s.push('\n');
        }
        s
    }
}

impl Row {
    /// The table's cells: experiment, variant, article, Rust figure, ratio, cores busy, notes.
    pub fn cells(&self) -> Vec<String> {
        let mut notes: Vec<String> = self
            .extra
            .iter()
            .map(|(k, v)| format!("{k}: {v}"))
            .collect();
        if let Some(n) = &self.note {
            notes.push(n.clone());
        }
        vec![
            self.experiment.clone(),
            self.variant.clone(),
            self.article.clone().unwrap_or_else(|| "—".into()),
            self.seconds.map_or_else(|| "not run".into(), fmt_seconds),
            match (self.baseline, self.ratio) {
                (true, _) => "1 (baseline)".into(),
                (false, Some(r)) => format!("{r:.2}×"),
                (false, None) => "—".into(),
            },
            match (self.workers, self.cpu_per_wall) {
                (Some(w), Some(c)) => format!("{c:.2} of {w}"),
                _ => "—".into(),
            },
            notes.join("; "),
        ]
    }
}

/// Seconds as the articles print them: `1.07 s`, `109 ms`, `850 µs`.
pub fn fmt_seconds(s: f64) -> String {
    if s >= 1.0 {
        format!("{s:.2} s")
    } else if s >= 1e-3 {
        format!("{:.1} ms", s * 1e3)
    } else {
        format!("{:.0} µs", s * 1e6)
    }
}

/// The child side of the experiments that start processes: `args` are what followed
/// `seeds-child` (the work's name, then its arguments). Returns what the child prints on stdout.
///
/// # Errors
/// One line: an unknown work or bad arguments.
pub fn child_main(args: &[String]) -> Result<String, String> {
    let (work, rest) = args
        .split_first()
        .ok_or("seeds-child: which work? (e.g. `sum-squares N`)")?;
    match work.as_str() {
        "sum-squares" => cpu::child_sum_squares(rest),
        "slow-threads" | "slow-tasks" => net::child_slow(work, rest),
        _ => Err(format!("seeds-child: unknown work `{work}`")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unknown_names_are_one_line_errors() {
        let e = select(&["cpu-bound".into(), "nope".into()]).unwrap_err();
        assert!(
            e.contains("nope") && e.contains("cpu-bound") && !e.contains('\n'),
            "{e}"
        );
        assert_eq!(select(&["cpu-bound".into()]).unwrap().len(), 1);
        assert_eq!(select(&[]).unwrap().len(), experiments().len());
        let names: Vec<&str> = experiments().iter().map(|e| e.name).collect();
        let mut dedup = names.clone();
        dedup.sort();
        dedup.dedup();
        assert_eq!(names.len(), dedup.len(), "{names:?}");
        assert!(child_main(&[]).is_err() && child_main(&["x".into()]).is_err());
    }

    #[test]
    fn ratios_divide_by_the_baseline() {
        let t = |s: f64| Timed {
            wall: Duration::from_secs_f64(s),
            cpu: Duration::ZERO,
            children_cpu: Duration::ZERO,
        };
        let mut rows = vec![
            Row::new("x", "a").baseline().timed(&t(2.0), None, 2),
            Row::new("x", "b").timed(&t(1.0), Some(4), 2),
        ];
        fill_ratios(&mut rows);
        assert_eq!(rows[0].ratio, Some(1.0));
        assert_eq!(rows[1].ratio, Some(0.5));
        assert!(
            rows[1]
                .note
                .as_deref()
                .unwrap()
                .contains("4 workers on 2 cores")
        );
        assert_eq!(fmt_seconds(1.071), "1.07 s");
        assert_eq!(fmt_seconds(0.109), "109.0 ms");
    }
}
