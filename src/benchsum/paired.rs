//! Benchmark comparisons that hold on a noisy machine: two builds timed in **interleaved,
//! paired runs**, judged by an exact **sign test** with a **minimum effect size**
//! (`racelab bench --baseline A --compare B` when A and B are saved builds).
//!
//! Why not criterion's saved baselines: they are taken minutes apart, and on a shared 2-core VM
//! the machine itself drifts by more than the changes worth finding between two such runs (the
//! same code was seen to move by up to 25%). Here both builds run in the same milliseconds.
//! Each **round** starts a fresh probe process of each build (`racelab bench-probe`, which
//! times one run per request) and, benchmark by benchmark, asks them in turn: A, B, B, A, A, B,
//! … (the order alternates ABBA, so the bias of going first or second cancels). Each pair of
//! adjacent runs gives a ratio; the round's figure for a benchmark is the median of its
//! [`RUNS_PER_SAMPLE`] ratios. Drift slower than a few milliseconds divides out, and what is
//! left is a per-process effect (where the allocator put the counter, which core the threads
//! got), which is why the unit of the test is the round, not the run. The rounds' ratios are
//! judged with an exact sign test (how many rounds went each way), Holm's correction over all
//! the benchmarks of one comparison (the family-wise false-alarm rate is [`ALPHA`]), and a
//! change is flagged only when it is also at least [`MIN_EFFECT`] (the Hodges–Lehmann estimate
//! of the median ratio).
//!
//! Why a sign test and not Wilcoxon's signed-rank test (the first choice): the rounds' noise has
//! heavy tails. Over 20 same-code comparisons (14,168 rounds), 16% of the rounds lay beyond 3
//! median absolute deviations of their benchmark's median and 7.9% beyond 5, where a normal
//! distribution puts 4.3% and 0.075%: now and then one process of a round is slow or fast as a
//! whole. Wilcoxon gives such an outlier one of the largest ranks, so a single round against a
//! real 10% slowdown (ratio 0.857 among nineteen of about 1.10) moved p from 1.9e-6 to 5.9e-4,
//! past Holm's threshold over 36 benchmarks: it found the slowdown in 18 of 20 runs. The sign
//! test counts that round as one round, whatever its size, and found it in 20 of 20 (see
//! docs/benchmarks.md). Its price: it needs at least [`rounds_to_flag`] rounds to flag anything.
//!
//! A first version ran each build's whole catalogue as one process after the other, a second
//! apart: its per-round spread was ±8–60% and a 10% slowdown of `counter/AtomicCounter/1`
//! (spread ±8%) went unflagged. Interleaving run by run is what made the test usable.
//!
//! Why not instruction counts (callgrind): they are exact and repeatable, but valgrind runs
//! one thread at a time and counts a `lock xadd` as one instruction whatever the contention,
//! so the figures this crate exists for (a lock under contention, a queue between two cores)
//! would vanish. Time, paired, is what is compared.
//!
//! What is timed: every catalogue entry with a timed run (counters and locks at 1 and 2
//! threads, queues with one producer/consumer pair), through [`crate::bench`]. A contended run
//! whose threads did not run in parallel does not count, nor does its pair; a benchmark with
//! fewer than [`MIN_PAIRS`] rounds with a counting pair is not judged.

use super::Out;
use crate::bench::{BenchFn, Measured, Timed};
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};
use std::process::Command;

/// A change must be at least this large (a fraction of the before time) to be flagged.
pub const MIN_EFFECT: f64 = 0.05;
/// The family-wise false-alarm rate of one comparison (Holm over its benchmarks).
pub const ALPHA: f64 = 0.01;
/// Rounds of a comparison by default: each one process of each build.
pub const ROUNDS: usize = 20;
/// A benchmark needs this many rounds with a valid sample on both sides to be judged.
pub const MIN_PAIRS: usize = 10;
/// Timed runs per benchmark per build per round (after one warm-up of each).
pub const RUNS_PER_SAMPLE: usize = 5;
/// Where saved builds go, under criterion's directory.
pub const BUILDS_DIR: &str = "racelab-builds";
/// The name that means "this executable" instead of a saved build.
pub const CURRENT: &str = "current";
/// The probe protocol; a saved build that speaks another one is refused.
pub const PROTOCOL: u32 = 2;
/// The test-only knob: `ID=FRACTION` makes the probe of that benchmark do `1 + FRACTION` times
/// the work while reporting the time per nominal operation, a real slowdown for checking that
/// the comparison finds one (`--test-slowdown` sets it on the `--compare` side only).
pub const SLOWDOWN_ENV: &str = "RACELAB_TEST_SLOWDOWN";

/// Operations per thread of a timed increment run (one to a few milliseconds: at 40_000 the
/// round-to-round spread of the uncontended counters was ±10–55%, at 400_000 ±5–9%).
const INCREMENT_OPS: u64 = 400_000;
/// Items per producer of a timed transfer run.
const TRANSFER_OPS: u64 = 20_000;

/// One benchmark the probe times.
#[derive(Debug, Clone)]
pub struct Probe {
    /// `family/variant/threads` (for a queue: producer+consumer pairs).
    pub id: String,
    /// The run.
    pub run: BenchFn,
    /// Threads (or pairs).
    pub threads: usize,
    /// Operations per thread (or items per producer).
    pub ops: u64,
    /// Whether the run's threads must overlap for a sample to count.
    pub contended: bool,
}

/// The benchmarks of the catalogue, optionally of one family and one variant.
///
/// # Errors
/// One line when the filters leave no timed benchmark.
pub fn benchmarks(family: Option<&str>, variant: Option<&str>) -> Result<Vec<Probe>, String> {
    let mut out = Vec::new();
    for e in crate::catalogue::catalogue() {
        if family.is_some_and(|f| f != e.family) || variant.is_some_and(|v| v != e.variant) {
            continue;
        }
        let Some(timed) = e.bench else { continue };
        let (run, shapes, ops): (BenchFn, &[usize], u64) = match timed {
            Timed::Increments(f) => (f, &[1, 2], INCREMENT_OPS),
            Timed::Transfer(f) => (f, &[1], TRANSFER_OPS),
        };
        for &threads in shapes.iter().filter(|&&t| t <= e.max_threads) {
            let contended = matches!(timed, Timed::Transfer(_)) || threads > 1;
            out.push(Probe {
                id: format!("{}/{}/{threads}", e.family, e.variant),
                run,
                threads,
                ops,
                contended,
            });
        }
    }
    if out.is_empty() {
        return Err(format!(
            "no timed benchmarks{}{}",
            family.map_or(String::new(), |f| format!(" in family `{f}`")),
            variant.map_or(String::new(), |v| format!(" of variant `{v}`"))
        ));
    }
    Ok(out)
}

/// A slowdown request: `ID=FRACTION`, FRACTION in [0, 1] (0: no extra work; the `before` side
/// of a knob comparison gets it, see [`Slowdown::env_value`]).
#[derive(Debug, Clone, PartialEq)]
pub struct Slowdown {
    /// The benchmark id.
    pub id: String,
    /// The extra work, as a fraction.
    pub fraction: f64,
}

impl Slowdown {
    /// The value of [`SLOWDOWN_ENV`] for this knob, at a fixed width: both probes of a knob
    /// comparison get the variable (the `before` one with fraction 0), so their environments have
    /// the same size. They did not at first, and `lock/TestThenSetLock/2` ran 5–8% faster on the
    /// knob's side in 6 of 20 comparisons, once flagged: a difference of processes, not of code
    /// (a process's stack starts at an offset that depends on the size of its environment).
    pub fn env_value(&self) -> String {
        format!("{}={:.6}", self.id, self.fraction)
    }

    /// The same knob with no extra work, for the `before` side.
    pub fn neutral(&self) -> Slowdown {
        Slowdown {
            id: self.id.clone(),
            fraction: 0.0,
        }
    }
}

impl std::str::FromStr for Slowdown {
    type Err = String;
    fn from_str(s: &str) -> Result<Slowdown, String> {
        let (id, f) = s.rsplit_once('=').ok_or_else(|| {
            format!("bad slowdown `{s}`: expected ID=FRACTION, e.g. lock/SpinLock/1=0.10")
        })?;
        let fraction: f64 = f
            .parse()
            .map_err(|_| format!("bad slowdown `{s}`: `{f}` is not a number"))?;
        if !(0.0..=1.0).contains(&fraction) {
            return Err(format!(
                "bad slowdown `{s}`: the fraction must be in [0, 1]"
            ));
        }
        Ok(Slowdown {
            id: id.to_string(),
            fraction,
        })
    }
}

/// The first line a probe prints: who it is and what it can time.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Hello {
    /// [`PROTOCOL`].
    pub protocol: u32,
    /// racelab's version.
    pub version: String,
    /// The benchmarks it has, in order.
    pub ids: Vec<String>,
    /// The core its one-thread runs are pinned to, if any.
    pub pinned: Option<usize>,
}

/// What a probe answers to `run ID`: one timed run of that benchmark.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct RunReply {
    /// ns per nominal operation; `None` when the request could not be served (see `error`).
    pub ns_per_op: Option<f64>,
    /// Whether the run's threads ran in parallel (always for one thread).
    pub parallel: bool,
    /// Why the request failed (an unknown id).
    pub error: Option<String>,
}

/// The core one-thread runs are pinned to: the first this process may use, the same in both
/// builds' probes. `None` where pinning is not supported.
pub fn pin_core() -> Option<core_affinity::CoreId> {
    core_affinity::get_core_ids()?
        .into_iter()
        .min_by_key(|c| c.id)
}

/// Times one run of `b`, with the test knob's extra work if it names `b`.
///
/// A one-thread run is made from a thread pinned to `pin` ([`pin_core`]; its worker inherits the
/// mask): on a shared VM the cores are not equal (the same uncontended counter took 4.5 ns/op on
/// one vCPU and 7.5 on the other, and a process tended to stay on one), so both builds must be
/// timed on the same one. A contended run is left to the scheduler: it needs every core.
pub fn time_once(
    b: &Probe,
    slowdown: Option<&Slowdown>,
    pin: Option<core_affinity::CoreId>,
) -> RunReply {
    let extra = slowdown
        .filter(|s| s.id == b.id)
        .map_or(0.0, |s| s.fraction);
    let ops = b.ops + (b.ops as f64 * extra).round() as u64;
    let run = b.run;
    let threads = b.threads;
    let m: Measured = match pin.filter(|_| threads == 1) {
        Some(core) => std::thread::scope(|s| {
            s.spawn(move || {
                core_affinity::set_for_current(core);
                run(threads, ops)
            })
            .join()
            .expect("a timed run does not panic")
        }),
        None => run(threads, ops),
    };
    RunReply {
        ns_per_op: Some(m.elapsed.as_nanos() as f64 / (b.threads as u64 * b.ops) as f64),
        parallel: !b.contended || m.parallel(),
        error: None,
    }
}

/// The probe's side (`racelab bench-probe`): prints a [`Hello`], then answers each `run ID`
/// line of `input` with one [`RunReply`] line, until `input` ends. The comparing process drives
/// two probes, one per build, and alternates between them run by run.
///
/// # Errors
/// When `input` or `output` fail.
pub fn serve(
    benches: &[Probe],
    slowdown: Option<&Slowdown>,
    input: impl std::io::BufRead,
    mut output: impl std::io::Write,
) -> std::io::Result<()> {
    let pin = pin_core();
    let hello = Hello {
        protocol: PROTOCOL,
        version: env!("CARGO_PKG_VERSION").to_string(),
        ids: benches.iter().map(|b| b.id.clone()).collect(),
        pinned: pin.map(|c| c.id),
    };
    writeln!(output, "{}", json_line(&hello))?;
    output.flush()?;
    for req in input.lines() {
        let req = req?;
        let reply = match req.trim().strip_prefix("run ") {
            Some(id) => match benches.iter().find(|b| b.id == id) {
                Some(b) => time_once(b, slowdown, pin),
                None => RunReply {
                    ns_per_op: None,
                    parallel: false,
                    error: Some(format!("unknown benchmark `{id}`")),
                },
            },
            None => RunReply {
                ns_per_op: None,
                parallel: false,
                error: Some(format!("bad request `{}`: expected `run ID`", req.trim())),
            },
        };
        writeln!(output, "{}", json_line(&reply))?;
        output.flush()?;
    }
    Ok(())
}

fn json_line<T: Serialize>(v: &T) -> String {
    serde_json::to_string(v).expect("a probe message serialises")
}

/// A build to time: a name and its executable.
#[derive(Debug, Clone)]
pub struct Build {
    /// As given on the command line.
    pub name: String,
    /// The racelab executable.
    pub exe: PathBuf,
}

/// Where build `name` is saved under criterion's directory `dir`.
pub fn build_path(dir: &Path, name: &str) -> PathBuf {
    dir.join(BUILDS_DIR).join(name).join("racelab")
}

/// The build a name means: [`CURRENT`] is this executable, else a saved build, if there is one.
pub fn resolve_build(dir: &Path, name: &str) -> Option<Build> {
    let exe = if name == CURRENT {
        std::env::current_exe().ok()?
    } else {
        let p = build_path(dir, name);
        if !p.is_file() {
            return None;
        }
        p
    };
    Some(Build {
        name: name.to_string(),
        exe,
    })
}

/// Saves this executable as build `name` (`racelab bench --save-build NAME`).
///
/// # Errors
/// One line: a bad name, or the copy failed.
pub fn save_build(dir: &Path, name: &str) -> Result<PathBuf, String> {
    if name.is_empty()
        || name == CURRENT
        || !name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "-_.".contains(c))
        || name.starts_with('.')
    {
        return Err(format!(
            "bad build name `{name}`: use letters, digits, `-`, `_` and `.` (not `{CURRENT}`)"
        ));
    }
    let exe = std::env::current_exe().map_err(|e| format!("cannot find this executable: {e}"))?;
    let to = build_path(dir, name);
    let parent = to.parent().expect("a build path has a parent");
    std::fs::create_dir_all(parent)
        .map_err(|e| format!("cannot create {}: {e}", parent.display()))?;
    std::fs::copy(&exe, &to)
        .map_err(|e| format!("cannot copy {} to {}: {e}", exe.display(), to.display()))?;
    Ok(to)
}

/// What a paired comparison was asked for.
#[derive(Debug, Clone)]
pub struct PairedOptions {
    /// The build before the change.
    pub before: Build,
    /// The build after it.
    pub after: Build,
    /// Rounds (each: one fresh probe process of each build).
    pub rounds: usize,
    /// [`MIN_EFFECT`] unless changed.
    pub min_effect: f64,
    /// [`ALPHA`] unless changed.
    pub alpha: f64,
    /// Only this family's benchmarks.
    pub family: Option<String>,
    /// Only this variant's benchmarks.
    pub variant: Option<String>,
    /// The test-only knob, applied to the `after` side.
    pub slowdown: Option<Slowdown>,
}

/// How one benchmark compared.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PairedVerdict {
    /// Significant after Holm and at least the minimum effect: slower.
    Slower,
    /// Significant after Holm and at least the minimum effect: faster.
    Faster,
    /// Not significant, or smaller than the minimum effect.
    Noise,
    /// Fewer than [`MIN_PAIRS`] rounds had a valid sample on both sides.
    NotJudged,
}

impl std::fmt::Display for PairedVerdict {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            PairedVerdict::Slower => "SLOWER",
            PairedVerdict::Faster => "FASTER",
            PairedVerdict::Noise => "noise",
            PairedVerdict::NotJudged => "not judged",
        })
    }
}

/// One benchmark's comparison.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct PairedRow {
    /// The benchmark id.
    pub id: String,
    /// Rounds with a valid sample on both sides.
    pub pairs: usize,
    /// Median ns/op before and after over those rounds.
    pub before_ns: Option<f64>,
    /// See `before_ns`.
    pub after_ns: Option<f64>,
    /// The Hodges–Lehmann estimate of the change (after/before − 1).
    pub change: Option<f64>,
    /// The round-to-round spread: the median absolute deviation of the log ratios, as a fraction.
    pub spread: Option<f64>,
    /// The exact two-sided p-value of the sign test over the rounds.
    pub p: Option<f64>,
    /// Holm-adjusted p-value over the comparison's judged benchmarks.
    pub p_holm: Option<f64>,
    /// The verdict.
    pub verdict: PairedVerdict,
    /// Each counted round's ratio (after / before), in round order: the evidence.
    pub ratios: Vec<f64>,
}

/// A whole comparison.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct PairedReport {
    /// Build names.
    pub before: String,
    /// See `before`.
    pub after: String,
    /// Rounds run.
    pub rounds: usize,
    /// The thresholds.
    pub min_effect: f64,
    /// See `min_effect`.
    pub alpha: f64,
    /// The knob, if it was on (never in a real comparison).
    pub slowdown: Option<String>,
    /// One row per benchmark both builds have.
    pub rows: Vec<PairedRow>,
    /// Benchmarks only one build has.
    pub only_before: Vec<String>,
    /// See `only_before`.
    pub only_after: Vec<String>,
}

impl PairedReport {
    /// The rows flagged slower or faster.
    pub fn flagged(&self) -> usize {
        self.rows
            .iter()
            .filter(|r| matches!(r.verdict, PairedVerdict::Slower | PairedVerdict::Faster))
            .count()
    }
}

/// One benchmark in one round: both builds' runs, interleaved.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct RoundSample {
    /// The benchmark id.
    pub id: String,
    /// Median ns/op of the before build's valid runs this round.
    pub before_ns: Option<f64>,
    /// See `before_ns`.
    pub after_ns: Option<f64>,
    /// The median, over this round's pairs of adjacent runs that were both valid, of
    /// `ln(after / before)`; `None` when no pair was.
    pub log_ratio: Option<f64>,
}

/// A running probe of one build.
struct Running {
    name: String,
    child: std::process::Child,
    stdin: Option<std::process::ChildStdin>,
    stdout: std::io::BufReader<std::process::ChildStdout>,
    ids: Vec<String>,
}

impl Running {
    fn start(
        build: &Build,
        family: Option<&str>,
        variant: Option<&str>,
        slowdown: Option<&Slowdown>,
    ) -> Result<Running, String> {
        use std::process::Stdio;
        let mut cmd = Command::new(&build.exe);
        cmd.arg("bench-probe");
        if let Some(f) = family {
            cmd.args(["--family", f]);
        }
        if let Some(v) = variant {
            cmd.args(["--variant", v]);
        }
        cmd.env_remove(SLOWDOWN_ENV);
        if let Some(s) = slowdown {
            cmd.env(SLOWDOWN_ENV, s.env_value());
        }
        cmd.stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        let mut child = cmd.spawn().map_err(|e| {
            format!(
                "cannot run build `{}` ({}): {e}",
                build.name,
                build.exe.display()
            )
        })?;
        let stdin = child.stdin.take();
        let stdout = std::io::BufReader::new(child.stdout.take().expect("stdout is piped"));
        let mut p = Running {
            name: build.name.clone(),
            child,
            stdin,
            stdout,
            ids: Vec::new(),
        };
        let hello: Hello = match p.read_line().and_then(|l| {
            serde_json::from_str(&l).map_err(|e| {
                format!(
                    "build `{}` printed no probe greeting racelab {} can read ({e}): is it an older racelab?",
                    p.name,
                    env!("CARGO_PKG_VERSION")
                )
            })
        }) {
            Ok(h) => h,
            Err(e) => return Err(p.fail(e)),
        };
        if hello.protocol != PROTOCOL {
            return Err(p.fail(format!(
                "build `{}` speaks probe protocol {} (racelab {}); this racelab speaks {PROTOCOL}",
                p.name, hello.protocol, hello.version
            )));
        }
        p.ids = hello.ids;
        Ok(p)
    }

    fn read_line(&mut self) -> Result<String, String> {
        use std::io::BufRead;
        let mut line = String::new();
        match self.stdout.read_line(&mut line) {
            Ok(0) => Err(format!("build `{}` stopped answering its probe", self.name)),
            Ok(_) => Ok(line),
            Err(e) => Err(format!("cannot read build `{}`'s probe: {e}", self.name)),
        }
    }

    /// One timed run: its ns/op when it counts (its threads ran in parallel when they must).
    fn run(&mut self, id: &str) -> Result<Option<f64>, String> {
        use std::io::Write;
        let sent = self
            .stdin
            .as_mut()
            .expect("stdin is open until finish")
            .write_all(format!("run {id}\n").as_bytes())
            .and_then(|()| self.stdin.as_mut().expect("open").flush());
        if let Err(e) = sent {
            return Err(self.fail(format!(
                "cannot write to build `{}`'s probe: {e}",
                self.name
            )));
        }
        let reply: RunReply = match self.read_line().and_then(|l| {
            serde_json::from_str(&l).map_err(|e| {
                format!(
                    "build `{}` answered its probe with `{}` ({e})",
                    self.name,
                    l.trim()
                )
            })
        }) {
            Ok(r) => r,
            Err(e) => return Err(self.fail(e)),
        };
        if let Some(e) = reply.error {
            return Err(self.fail(format!("build `{}`'s probe: {e}", self.name)));
        }
        Ok(reply.ns_per_op.filter(|_| reply.parallel))
    }

    /// Closes the probe's input and waits for it.
    fn finish(mut self) -> Result<(), String> {
        drop(self.stdin.take());
        let status = self
            .child
            .wait()
            .map_err(|e| format!("cannot wait for build `{}`'s probe: {e}", self.name))?;
        if status.success() {
            Ok(())
        } else {
            let e = format!("build `{}` failed its probe ({status})", self.name);
            Err(self.fail(e))
        }
    }
}

impl Drop for Running {
    /// A probe left behind by an error is stopped (a finished one is only reaped again).
    fn drop(&mut self) {
        drop(self.stdin.take());
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Running {
    /// `what`, with the last line the probe wrote to stderr; the probe is stopped.
    fn fail(&mut self, what: String) -> String {
        use std::io::Read;
        drop(self.stdin.take());
        let _ = self.child.kill();
        let _ = self.child.wait();
        let mut err = String::new();
        if let Some(mut e) = self.child.stderr.take() {
            let _ = e.read_to_string(&mut err);
        }
        match err.lines().rev().find(|l| !l.trim().is_empty()) {
            Some(last) => format!("{what}: {}", last.trim()),
            None => what,
        }
    }
}

fn median(mut v: Vec<f64>) -> Option<f64> {
    v.sort_by(f64::total_cmp);
    (!v.is_empty()).then(|| median_sorted(&v))
}

/// What one round gives: each build's benchmark ids, then the samples of those both have.
type Round = (Vec<String>, Vec<String>, Vec<RoundSample>);

/// One round: a fresh probe of each build; every benchmark of both is run [`RUNS_PER_SAMPLE`]
/// times on each side after a warm-up of each, the two sides alternating run by run (ABBA, from
/// `first_after` on), so each pair of runs is milliseconds apart.
fn round(opts: &PairedOptions, first_after: bool) -> Result<Round, String> {
    let (family, variant) = (opts.family.as_deref(), opts.variant.as_deref());
    let neutral = opts.slowdown.as_ref().map(Slowdown::neutral);
    let mut a = Running::start(&opts.before, family, variant, neutral.as_ref())?;
    let mut b = Running::start(&opts.after, family, variant, opts.slowdown.as_ref())?;
    let common: Vec<String> = a
        .ids
        .iter()
        .filter(|i| b.ids.contains(i))
        .cloned()
        .collect();
    let mut samples = Vec::with_capacity(common.len());
    for id in &common {
        a.run(id)?;
        b.run(id)?;
        let (mut xs, mut ys, mut ratios) = (Vec::new(), Vec::new(), Vec::new());
        for k in 0..RUNS_PER_SAMPLE {
            let after_first = first_after ^ matches!(k % 4, 1 | 2);
            let (x, y) = if after_first {
                let y = b.run(id)?;
                (a.run(id)?, y)
            } else {
                let x = a.run(id)?;
                (x, b.run(id)?)
            };
            xs.extend(x);
            ys.extend(y);
            if let (Some(x), Some(y)) = (x, y) {
                if x > 0.0 && y > 0.0 {
                    ratios.push((y / x).ln());
                }
            }
        }
        samples.push(RoundSample {
            id: id.clone(),
            before_ns: median(xs),
            after_ns: median(ys),
            log_ratio: median(ratios),
        });
    }
    let (ids_a, ids_b) = (a.ids.clone(), b.ids.clone());
    a.finish()?;
    b.finish()?;
    Ok((ids_a, ids_b, samples))
}

/// Runs a paired comparison: `rounds` rounds, each a fresh probe process of each build, their
/// runs interleaved. `progress(done, total)` is called after each round.
///
/// # Errors
/// One line: fewer than [`MIN_PAIRS`] rounds, a bad knob, or a build that cannot be run.
pub fn run_paired(
    opts: &PairedOptions,
    progress: &mut dyn FnMut(usize, usize),
) -> Result<PairedReport, String> {
    if opts.rounds < MIN_PAIRS {
        return Err(format!(
            "--rounds {}: a paired comparison needs at least {MIN_PAIRS} rounds",
            opts.rounds
        ));
    }
    // This racelab's catalogue checks the filters; a saved build may know other benchmarks.
    let known = benchmarks(opts.family.as_deref(), opts.variant.as_deref())?;
    if let Some(s) = &opts.slowdown {
        if !known.iter().any(|b| b.id == s.id) {
            return Err(format!("unknown benchmark `{}` for --test-slowdown", s.id));
        }
    }
    let mut ids = (Vec::new(), Vec::new());
    let mut rounds = Vec::with_capacity(opts.rounds);
    for r in 0..opts.rounds {
        let (a, b, samples) = round(opts, r % 2 == 1)?;
        ids = (a, b);
        rounds.push(samples);
        progress(r + 1, opts.rounds);
    }
    Ok(judge(opts, &ids.0, &ids.1, &rounds))
}

/// Judges the rounds: each benchmark's per-round log ratios are tested, corrected, flagged.
pub fn judge(
    opts: &PairedOptions,
    ids_a: &[String],
    ids_b: &[String],
    rounds: &[Vec<RoundSample>],
) -> PairedReport {
    let mut rows: Vec<PairedRow> = Vec::new();
    for id in ids_a.iter().filter(|i| ids_b.contains(i)) {
        let mine: Vec<&RoundSample> = rounds
            .iter()
            .filter_map(|r| r.iter().find(|s| &s.id == id))
            .collect();
        let d: Vec<f64> = mine.iter().filter_map(|s| s.log_ratio).collect();
        let judged = d.len() >= MIN_PAIRS;
        rows.push(PairedRow {
            id: id.clone(),
            pairs: d.len(),
            before_ns: median(mine.iter().filter_map(|s| s.before_ns).collect()),
            after_ns: median(mine.iter().filter_map(|s| s.after_ns).collect()),
            change: judged.then(|| hodges_lehmann(&d).exp() - 1.0),
            spread: judged.then(|| mad(&d).exp() - 1.0),
            p: judged.then(|| sign_test(&d)),
            p_holm: None,
            verdict: PairedVerdict::NotJudged,
            ratios: d.iter().map(|x| x.exp()).collect(),
        });
    }
    let ps: Vec<f64> = rows.iter().filter_map(|r| r.p).collect();
    let mut adjusted = holm(&ps).into_iter();
    for r in rows.iter_mut().filter(|r| r.p.is_some()) {
        let p_holm = adjusted.next().expect("one adjusted p per p");
        r.p_holm = Some(p_holm);
        let change = r.change.expect("a judged row has a change");
        r.verdict = if p_holm <= opts.alpha && change.abs() >= opts.min_effect {
            if change > 0.0 {
                PairedVerdict::Slower
            } else {
                PairedVerdict::Faster
            }
        } else {
            PairedVerdict::Noise
        };
    }
    PairedReport {
        before: opts.before.name.clone(),
        after: opts.after.name.clone(),
        rounds: rounds.len(),
        min_effect: opts.min_effect,
        alpha: opts.alpha,
        slowdown: opts
            .slowdown
            .as_ref()
            .map(|s| format!("{}={}", s.id, s.fraction)),
        rows,
        only_before: ids_a
            .iter()
            .filter(|i| !ids_b.contains(i))
            .cloned()
            .collect(),
        only_after: ids_b
            .iter()
            .filter(|i| !ids_a.contains(i))
            .cloned()
            .collect(),
    }
}

fn median_sorted(v: &[f64]) -> f64 {
    let n = v.len();
    if n % 2 == 1 {
        v[n / 2]
    } else {
        (v[n / 2 - 1] + v[n / 2]) / 2.0
    }
}

/// The Hodges–Lehmann estimate of the centre of `d`: the median of all Walsh averages
/// `(d[i] + d[j]) / 2`, `i <= j`. 0 for no data.
pub fn hodges_lehmann(d: &[f64]) -> f64 {
    let mut w = Vec::with_capacity(d.len() * (d.len() + 1) / 2);
    for i in 0..d.len() {
        for j in i..d.len() {
            w.push((d[i] + d[j]) / 2.0);
        }
    }
    if w.is_empty() {
        return 0.0;
    }
    w.sort_by(f64::total_cmp);
    median_sorted(&w)
}

/// The median absolute deviation of `d` from its median. 0 for no data.
pub fn mad(d: &[f64]) -> f64 {
    if d.is_empty() {
        return 0.0;
    }
    let mut v = d.to_vec();
    v.sort_by(f64::total_cmp);
    let m = median_sorted(&v);
    let mut dev: Vec<f64> = v.iter().map(|x| (x - m).abs()).collect();
    dev.sort_by(f64::total_cmp);
    median_sorted(&dev)
}

/// The exact two-sided sign test of "`d` is centred on 0": with `n` non-zero values of which `k`
/// are positive, `2 · P(X <= min(k, n - k))` for `X ~ Binomial(n, 1/2)`, at most 1. Zeros are
/// dropped. 1 for no data. Computed in log space, so any number of rounds is exact to rounding.
pub fn sign_test(d: &[f64]) -> f64 {
    let n = d.iter().filter(|x| **x != 0.0).count();
    if n == 0 {
        return 1.0;
    }
    let positive = d.iter().filter(|x| **x > 0.0).count();
    let k = positive.min(n - positive);
    let ln_half_n = n as f64 * std::f64::consts::LN_2;
    // ln C(n, i), built up from ln C(n, 0) = 0.
    let mut ln_c = 0.0f64;
    let mut tail = 0.0f64;
    for i in 0..=k {
        if i > 0 {
            ln_c += ((n - i + 1) as f64).ln() - (i as f64).ln();
        }
        tail += (ln_c - ln_half_n).exp();
    }
    (2.0 * tail).min(1.0)
}

/// The fewest rounds with which a comparison of `benchmarks` benchmarks can flag a change at
/// family-wise rate `alpha`: the sign test's smallest p over `n` rounds is `2 / 2^n`, and Holm
/// multiplies the smallest p by the number of benchmarks (36 benchmarks at 0.01: 13 rounds).
pub fn rounds_to_flag(benchmarks: usize, alpha: f64) -> usize {
    (1..=1074)
        .find(|&n| benchmarks.max(1) as f64 * 2f64.powi(1 - n as i32) <= alpha)
        .unwrap_or(1075)
}

/// Holm's step-down adjustment of `ps`, in their order.
pub fn holm(ps: &[f64]) -> Vec<f64> {
    let m = ps.len();
    let mut order: Vec<usize> = (0..m).collect();
    order.sort_by(|&a, &b| ps[a].total_cmp(&ps[b]));
    let mut out = vec![0.0; m];
    let mut running = 0.0f64;
    for (k, &i) in order.iter().enumerate() {
        running = running.max(((m - k) as f64 * ps[i]).min(1.0));
        out[i] = running;
    }
    out
}

/// The comparison as tables (terminal or Markdown).
pub(super) fn render(out: &mut Out, r: &PairedReport) {
    out.heading(&format!(
        "build `{}` → `{}`: {} interleaved rounds (ABBA); flagged: sign test over the rounds, Holm-corrected p ≤ {}, and a change of at least {:.0}%",
        r.before,
        r.after,
        r.rounds,
        r.alpha,
        100.0 * r.min_effect
    ));
    if let Some(s) = &r.slowdown {
        out.note(&format!(
            "test knob on: `{s}` on the `{}` side (a deliberate slowdown; not a real comparison)",
            r.after
        ));
    }
    let mut t = out.table(&[
        "benchmark",
        &format!("{} ns/op", r.before),
        &format!("{} ns/op", r.after),
        "change",
        "round spread",
        "p (Holm)",
        "rounds",
        "verdict",
    ]);
    let pct = |x: Option<f64>, sign: bool| {
        x.map_or("—".to_string(), |v| {
            if sign {
                format!("{:+.1}%", 100.0 * v)
            } else {
                format!("±{:.1}%", 100.0 * v)
            }
        })
    };
    for row in &r.rows {
        t.add_row(vec![
            row.id.clone(),
            row.before_ns.map_or("—".into(), super::fmt_ns),
            row.after_ns.map_or("—".into(), super::fmt_ns),
            pct(row.change, true),
            pct(row.spread, false),
            row.p_holm.map_or("—".into(), |p| format!("{p:.2e}")),
            format!("{}/{}", row.pairs, r.rounds),
            row.verdict.to_string(),
        ]);
    }
    out.push_table(&t);
    let judged = r.rows.iter().filter(|x| x.p.is_some()).count();
    let need = rounds_to_flag(judged, r.alpha);
    if judged > 0 && r.rounds < need {
        out.note(&format!(
            "with {} rounds nothing can be flagged: over {judged} benchmarks the sign test needs at least {need} rounds to reach p ≤ {} after Holm (--rounds {need}, or fewer benchmarks with --family/--variant)",
            r.rounds, r.alpha
        ));
    }
    let not_judged = r
        .rows
        .iter()
        .filter(|x| x.verdict == PairedVerdict::NotJudged)
        .count();
    out.note(&format!(
        "{} of {} benchmarks flagged{}",
        r.flagged(),
        r.rows.len(),
        if not_judged > 0 {
            format!(
                "; {not_judged} not judged (fewer than {MIN_PAIRS} rounds whose threads ran in parallel on both sides)"
            )
        } else {
            String::new()
        }
    ));
    for (side, ids) in [(&r.before, &r.only_before), (&r.after, &r.only_after)] {
        if !ids.is_empty() {
            out.note(&format!("only in `{side}`: {}", ids.join(", ")));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_sign_test_matches_the_binomial_tables() {
        // All 10 positive: the smallest two-sided p, 2 / 2^10.
        let d: Vec<f64> = (1..=10).map(f64::from).collect();
        assert!((sign_test(&d) - 2.0 / 1024.0).abs() < 1e-15);
        // 9 of 10 one way: 2 · (1 + 10) / 1024, whatever the size of the odd one out.
        let mut d: Vec<f64> = (1..=9).map(f64::from).collect();
        d.push(-1000.0);
        assert!((sign_test(&d) - 22.0 / 1024.0).abs() < 1e-15);
        // 19 of 20 (the round against a real slowdown): 2 · 21 / 2^20.
        let mut d = vec![0.1; 19];
        d.push(-0.15);
        assert!((sign_test(&d) - 42.0 / 1_048_576.0).abs() < 1e-15);
        // Balanced: 1, not more. Zeros are dropped; no data is no evidence.
        assert_eq!(sign_test(&[1.0, -1.0, 2.0, -2.0]), 1.0);
        assert!((sign_test(&[0.0, 1.0, 2.0, 0.0]) - 0.5).abs() < 1e-15);
        assert_eq!(sign_test(&[]), 1.0);
        assert_eq!(sign_test(&[0.0, 0.0]), 1.0);
        // 2,000 rounds, all one way: tiny but not NaN or 0 from underflow of 2^-n alone.
        let p = sign_test(&vec![1.0; 2000]);
        assert!(p.is_finite() && (0.0..1e-300).contains(&p), "{p}");
        let p = sign_test(&[vec![1.0; 1000], vec![-1.0; 1000]].concat());
        assert!((p - 1.0).abs() < 1e-9, "{p}");
    }

    #[test]
    fn rounds_to_flag_is_where_holm_can_reach_alpha() {
        // 36 benchmarks at 0.01: 36 · 2 / 2^12 = 0.0176 > 0.01, 36 · 2 / 2^13 = 0.0088.
        assert_eq!(rounds_to_flag(36, 0.01), 13);
        // One benchmark at 0.01: 2 / 2^8 = 0.0078.
        assert_eq!(rounds_to_flag(1, 0.01), 8);
        assert_eq!(rounds_to_flag(2, 0.01), 9);
    }

    #[test]
    fn holm_steps_down_and_stays_monotone() {
        let adj = holm(&[0.01, 0.04, 0.03, 0.5]);
        // Sorted: 0.01×4 = 0.04, 0.03×3 = 0.09, 0.04×2 = 0.08 → 0.09 (monotone), 0.5×1.
        assert!((adj[0] - 0.04).abs() < 1e-12);
        assert!((adj[2] - 0.09).abs() < 1e-12);
        assert!((adj[1] - 0.09).abs() < 1e-12);
        assert!((adj[3] - 0.5).abs() < 1e-12);
        assert!(holm(&[]).is_empty());
    }

    #[test]
    fn hodges_lehmann_and_mad() {
        assert_eq!(hodges_lehmann(&[1.0, 2.0, 3.0]), 2.0);
        assert_eq!(hodges_lehmann(&[]), 0.0);
        assert_eq!(mad(&[1.0, 2.0, 3.0, 4.0, 100.0]), 1.0);
    }

    type Series<'a> = (&'a str, Vec<Option<f64>>);

    /// Rounds pairing `before[i]` with `after[i]`, round by round.
    fn rounds(before: &[Series], after: &[Series]) -> (Vec<String>, Vec<Vec<RoundSample>>) {
        let ids = before.iter().map(|(id, _)| (*id).to_string()).collect();
        let n = before[0].1.len();
        let rounds = (0..n)
            .map(|r| {
                before
                    .iter()
                    .zip(after)
                    .map(|((id, x), (_, y))| RoundSample {
                        id: (*id).into(),
                        before_ns: x[r],
                        after_ns: y[r],
                        log_ratio: x[r].zip(y[r]).map(|(x, y)| (y / x).ln()),
                    })
                    .collect()
            })
            .collect();
        (ids, rounds)
    }

    fn opts() -> PairedOptions {
        let b = |n: &str| Build {
            name: n.into(),
            exe: PathBuf::from("/nonexistent"),
        };
        PairedOptions {
            before: b("a"),
            after: b("b"),
            rounds: 20,
            min_effect: MIN_EFFECT,
            alpha: ALPHA,
            family: None,
            variant: None,
            slowdown: None,
        }
    }

    #[test]
    fn flags_a_consistent_10_percent_and_not_a_small_or_noisy_one() {
        // A slow drift shared by both sides of each round: it must divide out.
        let drift = |r: usize| 1.0 + 0.3 * (r as f64 / 3.0).sin();
        let jitter = |r: usize| 1.0 + 0.02 * ((r * 7919) % 13) as f64 / 13.0;
        let n = 20;
        let a: Vec<Option<f64>> = (0..n).map(|r| Some(100.0 * drift(r))).collect();
        let slower: Vec<Option<f64>> = (0..n).map(|r| Some(110.0 * drift(r) * jitter(r))).collect();
        let tiny: Vec<Option<f64>> = (0..n).map(|r| Some(102.0 * drift(r) * jitter(r))).collect();
        // Large alternating noise, no shift.
        let noisy: Vec<Option<f64>> = (0..n)
            .map(|r| Some(100.0 * drift(r) * if r % 2 == 0 { 1.3 } else { 0.75 }))
            .collect();
        let mut gaps = a.clone();
        for g in gaps.iter_mut().take(12) {
            *g = None;
        }
        let before = [
            ("x", a.clone()),
            ("tiny", a.clone()),
            ("noisy", a.clone()),
            ("gaps", gaps),
        ];
        let after = [("x", slower), ("tiny", tiny), ("noisy", noisy), ("gaps", a)];
        let (ids, rs) = rounds(&before, &after);
        let r = judge(&opts(), &ids, &ids, &rs);
        let v = |id: &str| r.rows.iter().find(|x| x.id == id).unwrap();
        assert_eq!(v("x").verdict, PairedVerdict::Slower);
        assert!((v("x").change.unwrap() - 0.10).abs() < 0.02);
        assert_eq!(
            v("tiny").verdict,
            PairedVerdict::Noise,
            "2% is under the minimum effect"
        );
        assert_eq!(v("noisy").verdict, PairedVerdict::Noise);
        assert_eq!(v("gaps").verdict, PairedVerdict::NotJudged);
        assert_eq!(v("gaps").pairs, 8);
        assert_eq!(r.flagged(), 1);
        // Same data on both sides: nothing.
        let (ids, rs) = rounds(&before, &before);
        let r = judge(&opts(), &ids, &ids, &rs);
        assert_eq!(r.flagged(), 0);
    }

    #[test]
    fn a_probe_greets_then_answers_each_request_on_one_line() {
        let benches = benchmarks(Some("counter"), None).unwrap();
        let input = "run counter/AtomicCounter/1\nrun nope\nwalk\n";
        let mut out = Vec::new();
        serve(&benches, None, input.as_bytes(), &mut out).unwrap();
        let lines: Vec<&str> = std::str::from_utf8(&out).unwrap().lines().collect();
        assert_eq!(lines.len(), 4);
        let hello: Hello = serde_json::from_str(lines[0]).unwrap();
        assert_eq!(hello.protocol, PROTOCOL);
        assert!(hello.ids.iter().any(|i| i == "counter/AtomicCounter/1"));
        let ok: RunReply = serde_json::from_str(lines[1]).unwrap();
        assert!(ok.ns_per_op.unwrap() > 0.0 && ok.parallel && ok.error.is_none());
        for l in &lines[2..] {
            let bad: RunReply = serde_json::from_str(l).unwrap();
            assert!(bad.ns_per_op.is_none() && bad.error.is_some());
        }
    }

    #[test]
    fn slowdowns_parse_or_say_why_not() {
        let s: Slowdown = "lock/SpinLock/1=0.1".parse().unwrap();
        assert_eq!(s.id, "lock/SpinLock/1");
        assert_eq!(s.fraction, 0.1);
        let n: Slowdown = "lock/SpinLock/1=0".parse().unwrap();
        assert_eq!(n, s.neutral());
        assert_eq!(s.env_value().len(), n.env_value().len());
        assert_eq!(s.env_value().parse::<Slowdown>().unwrap(), s);
        for bad in ["lock/SpinLock/1", "x=abc", "x=1.5", "x=-0.1", "x=NaN"] {
            let e = bad.parse::<Slowdown>().unwrap_err();
            assert!(e.starts_with("bad slowdown") && !e.contains('\n'), "{e}");
        }
    }

    #[test]
    fn build_names_are_checked() {
        let dir = std::env::temp_dir();
        for bad in ["", "current", "../x", ".hidden", "a b"] {
            assert!(
                save_build(&dir, bad)
                    .unwrap_err()
                    .starts_with("bad build name")
            );
        }
        assert!(resolve_build(&dir, "no-such-build-racelab-test").is_none());
        assert!(resolve_build(&dir, CURRENT).is_some());
    }

    #[test]
    fn every_timed_entry_has_benchmarks_and_unknown_families_say_so() {
        let all = benchmarks(None, None).unwrap();
        assert!(all.iter().any(|b| b.id == "counter/AtomicCounter/2"));
        assert!(all.iter().any(|b| b.id.starts_with("queue/")));
        assert!(
            all.iter()
                .all(|b| b.contended == (b.threads > 1 || b.id.starts_with("queue/")))
        );
        assert!(benchmarks(Some("nope"), None).unwrap_err().contains("nope"));
        let one = benchmarks(None, Some("AtomicCounter")).unwrap();
        assert_eq!(one.len(), 2);
    }
}
