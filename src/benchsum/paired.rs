//! Benchmark comparisons that hold on a noisy machine: two builds timed in **interleaved,
//! paired rounds**, judged by a **signed-rank test** with a **minimum effect size**
//! (`racelab bench --baseline A --compare B` when A and B are saved builds).
//!
//! Why not criterion's saved baselines: they are taken minutes apart, and on a shared 2-core VM
//! the machine itself drifts by more than the changes worth finding between two such runs (the
//! same code was seen to move by up to 25%). Here both builds run in the same minutes: each
//! round runs build A in a fresh process and then build B (or B then A: the order alternates
//! ABBA, so a warm-cache or frequency bias of going second cancels), and each benchmark's
//! figure is the ratio *within a round*. Drift slower than a round (about a second) divides
//! out. The ratios of the rounds are judged with Wilcoxon's exact signed-rank test, Holm's
//! correction over all the benchmarks of one comparison (the family-wise false-alarm rate is
//! [`ALPHA`]), and a change is flagged only when it is also at least [`MIN_EFFECT`] (the
//! Hodges–Lehmann estimate of the median ratio).
//!
//! Why not instruction counts (callgrind): they are exact and repeatable, but valgrind runs
//! one thread at a time and counts a `lock xadd` as one instruction whatever the contention,
//! so the figures this crate exists for (a lock under contention, a queue between two cores)
//! would vanish. Time, paired, is what is compared.
//!
//! What is timed: every catalogue entry with a timed run (counters and locks at 1 and 2
//! threads, queues with one producer/consumer pair), through [`crate::bench`], in a hidden
//! `racelab bench-probe` process of each build. A contended sample whose threads did not run in
//! parallel is dropped; a benchmark with fewer than [`MIN_PAIRS`] paired rounds is not judged.

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
/// Timed runs per benchmark per process (after one warm-up); the sample is their median.
pub const RUNS_PER_SAMPLE: usize = 3;
/// Where saved builds go, under criterion's directory.
pub const BUILDS_DIR: &str = "racelab-builds";
/// The name that means "this executable" instead of a saved build.
pub const CURRENT: &str = "current";
/// The probe protocol; a saved build that speaks another one is refused.
pub const PROTOCOL: u32 = 1;
/// The test-only knob: `ID=FRACTION` makes the probe of that benchmark do `1 + FRACTION` times
/// the work while reporting the time per nominal operation, a real slowdown for checking that
/// the comparison finds one (`--test-slowdown` sets it on the `--compare` side only).
pub const SLOWDOWN_ENV: &str = "RACELAB_TEST_SLOWDOWN";

/// Operations per thread of a timed increment run (a few milliseconds).
const INCREMENT_OPS: u64 = 40_000;
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

/// The benchmarks of the catalogue, optionally of one family.
///
/// # Errors
/// One line when `family` names no timed family.
pub fn benchmarks(family: Option<&str>) -> Result<Vec<Probe>, String> {
    let mut out = Vec::new();
    for e in crate::catalogue::catalogue() {
        if family.is_some_and(|f| f != e.family) {
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
            "no timed benchmarks{}",
            family.map_or(String::new(), |f| format!(" in family `{f}`"))
        ));
    }
    Ok(out)
}

/// A slowdown request: `ID=FRACTION`, FRACTION in (0, 1].
#[derive(Debug, Clone, PartialEq)]
pub struct Slowdown {
    /// The benchmark id.
    pub id: String,
    /// The extra work, as a fraction.
    pub fraction: f64,
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
        if !(fraction > 0.0 && fraction <= 1.0) {
            return Err(format!(
                "bad slowdown `{s}`: the fraction must be in (0, 1]"
            ));
        }
        Ok(Slowdown {
            id: id.to_string(),
            fraction,
        })
    }
}

/// One benchmark's sample from one probe process.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Sample {
    /// The benchmark id.
    pub id: String,
    /// Median ns per nominal operation of the valid runs; `None` when no run was valid.
    pub ns_per_op: Option<f64>,
    /// Timed runs.
    pub runs: usize,
    /// Of them, the runs whose threads ran in parallel (all of them for one thread).
    pub valid_runs: usize,
}

/// What one probe process prints.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ProbeOutput {
    /// [`PROTOCOL`].
    pub protocol: u32,
    /// racelab's version.
    pub version: String,
    /// One sample per benchmark.
    pub samples: Vec<Sample>,
}

/// Times every benchmark once (a warm-up, then [`RUNS_PER_SAMPLE`] runs), in this process.
pub fn probe(benches: &[Probe], slowdown: Option<&Slowdown>) -> ProbeOutput {
    let samples = benches
        .iter()
        .map(|b| {
            let extra = slowdown
                .filter(|s| s.id == b.id)
                .map_or(0.0, |s| s.fraction);
            let ops = b.ops + (b.ops as f64 * extra).round() as u64;
            let one = || -> Measured { (b.run)(b.threads, ops) };
            let _warm = one();
            let mut valid: Vec<f64> = (0..RUNS_PER_SAMPLE)
                .map(|_| one())
                .filter(|m| !b.contended || m.parallel())
                .map(|m| m.elapsed.as_nanos() as f64 / (b.threads as u64 * b.ops) as f64)
                .collect();
            valid.sort_by(f64::total_cmp);
            Sample {
                id: b.id.clone(),
                ns_per_op: (!valid.is_empty()).then(|| valid[valid.len() / 2]),
                runs: RUNS_PER_SAMPLE,
                valid_runs: valid.len(),
            }
        })
        .collect();
    ProbeOutput {
        protocol: PROTOCOL,
        version: env!("CARGO_PKG_VERSION").to_string(),
        samples,
    }
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
    /// Rounds (each: one process of each build).
    pub rounds: usize,
    /// [`MIN_EFFECT`] unless changed.
    pub min_effect: f64,
    /// [`ALPHA`] unless changed.
    pub alpha: f64,
    /// Only this family's benchmarks.
    pub family: Option<String>,
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
    /// Wilcoxon's exact two-sided p-value.
    pub p: Option<f64>,
    /// Holm-adjusted p-value over the comparison's judged benchmarks.
    pub p_holm: Option<f64>,
    /// The verdict.
    pub verdict: PairedVerdict,
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

fn run_probe(
    build: &Build,
    family: Option<&str>,
    slowdown: Option<&Slowdown>,
) -> Result<ProbeOutput, String> {
    let mut cmd = Command::new(&build.exe);
    cmd.arg("bench-probe");
    if let Some(f) = family {
        cmd.args(["--family", f]);
    }
    cmd.env_remove(SLOWDOWN_ENV);
    if let Some(s) = slowdown {
        cmd.env(SLOWDOWN_ENV, format!("{}={}", s.id, s.fraction));
    }
    let out = cmd.output().map_err(|e| {
        format!(
            "cannot run build `{}` ({}): {e}",
            build.name,
            build.exe.display()
        )
    })?;
    if !out.status.success() {
        let err = String::from_utf8_lossy(&out.stderr);
        let last = err
            .lines()
            .rev()
            .find(|l| !l.trim().is_empty())
            .unwrap_or("");
        return Err(format!(
            "build `{}` failed its probe ({}): {last}",
            build.name, out.status
        ));
    }
    let parsed: ProbeOutput = serde_json::from_slice(&out.stdout).map_err(|e| {
        format!(
            "build `{}` printed no probe output racelab {} can read ({e}): is it an older racelab?",
            build.name,
            env!("CARGO_PKG_VERSION")
        )
    })?;
    if parsed.protocol != PROTOCOL {
        return Err(format!(
            "build `{}` speaks probe protocol {} (racelab {}); this racelab speaks {PROTOCOL}",
            build.name, parsed.protocol, parsed.version
        ));
    }
    Ok(parsed)
}

/// Runs a paired comparison: `rounds` rounds, ABBA, one fresh process of each build a round.
/// `progress(done, total)` is called after each process.
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
    if let Some(s) = &opts.slowdown {
        let known = benchmarks(opts.family.as_deref())?;
        if !known.iter().any(|b| b.id == s.id) {
            return Err(format!("unknown benchmark `{}` for --test-slowdown", s.id));
        }
    }
    let family = opts.family.as_deref();
    let mut before: Vec<ProbeOutput> = Vec::with_capacity(opts.rounds);
    let mut after: Vec<ProbeOutput> = Vec::with_capacity(opts.rounds);
    let total = 2 * opts.rounds;
    for r in 0..opts.rounds {
        // ABBA: even rounds A then B, odd rounds B then A.
        if r % 2 == 0 {
            before.push(run_probe(&opts.before, family, None)?);
            progress(2 * r + 1, total);
            after.push(run_probe(&opts.after, family, opts.slowdown.as_ref())?);
        } else {
            after.push(run_probe(&opts.after, family, opts.slowdown.as_ref())?);
            progress(2 * r + 1, total);
            before.push(run_probe(&opts.before, family, None)?);
        }
        progress(2 * r + 2, total);
    }
    Ok(judge(opts, &before, &after))
}

/// Judges the rounds: pairs each benchmark's samples round by round, tests, corrects, flags.
pub fn judge(opts: &PairedOptions, before: &[ProbeOutput], after: &[ProbeOutput]) -> PairedReport {
    let ids = |outs: &[ProbeOutput]| -> Vec<String> {
        outs.first()
            .map(|o| o.samples.iter().map(|s| s.id.clone()).collect())
            .unwrap_or_default()
    };
    let (ids_a, ids_b) = (ids(before), ids(after));
    let find = |o: &ProbeOutput, id: &str| {
        o.samples
            .iter()
            .find(|s| s.id == id)
            .and_then(|s| s.ns_per_op)
    };
    let mut rows: Vec<PairedRow> = Vec::new();
    for id in ids_a.iter().filter(|i| ids_b.contains(i)) {
        let pairs: Vec<(f64, f64)> = before
            .iter()
            .zip(after)
            .filter_map(|(a, b)| Some((find(a, id)?, find(b, id)?)))
            .filter(|&(a, b)| a > 0.0 && b > 0.0)
            .collect();
        let d: Vec<f64> = pairs.iter().map(|&(a, b)| (b / a).ln()).collect();
        let med = |mut v: Vec<f64>| -> Option<f64> {
            v.sort_by(f64::total_cmp);
            (!v.is_empty()).then(|| median_sorted(&v))
        };
        let judged = d.len() >= MIN_PAIRS;
        rows.push(PairedRow {
            id: id.clone(),
            pairs: d.len(),
            before_ns: med(pairs.iter().map(|p| p.0).collect()),
            after_ns: med(pairs.iter().map(|p| p.1).collect()),
            change: judged.then(|| hodges_lehmann(&d).exp() - 1.0),
            spread: judged.then(|| mad(&d).exp() - 1.0),
            p: judged.then(|| wilcoxon_signed_rank(&d)),
            p_holm: None,
            verdict: PairedVerdict::NotJudged,
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
        rounds: before.len().min(after.len()),
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

/// Wilcoxon's signed-rank test of "`d` is centred on 0": the exact two-sided p-value, by
/// enumerating the null distribution of the positive rank sum. Zeros are dropped; tied
/// magnitudes share their mean rank (ranks are doubled so the sums stay integers; with ties the
/// exact distribution of untied ranks is used, a close approximation). 1 for no data.
pub fn wilcoxon_signed_rank(d: &[f64]) -> f64 {
    let mut nz: Vec<f64> = d.iter().copied().filter(|x| *x != 0.0).collect();
    let n = nz.len();
    if n == 0 {
        return 1.0;
    }
    nz.sort_by(|a, b| a.abs().total_cmp(&b.abs()));
    // Doubled mid-ranks: a run of ties over positions i..j (1-based i+1..=j) gets i + j + 1.
    let mut w_plus2 = 0usize;
    let mut i = 0;
    while i < n {
        let mut j = i + 1;
        while j < n && nz[j].abs() == nz[i].abs() {
            j += 1;
        }
        let rank2 = i + j + 1;
        w_plus2 += rank2 * nz[i..j].iter().filter(|x| **x > 0.0).count();
        i = j;
    }
    // Null distribution of the doubled sum of untied ranks 2, 4, …, 2n: P(sum = s).
    let max = n * (n + 1);
    let mut dist = vec![0.0f64; max + 1];
    dist[0] = 1.0;
    for k in 1..=n {
        let r = 2 * k;
        for s in (r..=max).rev() {
            dist[s] = 0.5 * dist[s] + 0.5 * dist[s - r];
        }
        for s in (0..r.min(max + 1)).rev() {
            dist[s] *= 0.5;
        }
    }
    let below: f64 = dist[..=w_plus2.min(max)].iter().sum();
    let above: f64 = dist[w_plus2.min(max)..].iter().sum();
    (2.0 * below.min(above)).min(1.0)
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
        "build `{}` → `{}`: {} interleaved rounds (ABBA); flagged: Wilcoxon signed-rank, Holm-corrected p ≤ {}, and a change of at least {:.0}%",
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
    fn wilcoxon_matches_the_exact_tables() {
        // All 10 positive: the smallest two-sided p, 2 / 2^10.
        let d: Vec<f64> = (1..=10).map(f64::from).collect();
        assert!((wilcoxon_signed_rank(&d) - 2.0 / 1024.0).abs() < 1e-12);
        // Symmetric about 0: p = 1.
        let d = [1.0, -1.5, 2.0, -2.5, 3.0, -3.5, 4.0, -4.5];
        assert!(wilcoxon_signed_rank(&d) > 0.5);
        // n = 8, W+ = 3 (ranks 1 and 2 positive): P(W <= 3) = 5/256, two-sided 10/256.
        let d = [0.1, 0.2, -0.3, -0.4, -0.5, -0.6, -0.7, -0.8];
        assert!((wilcoxon_signed_rank(&d) - 10.0 / 256.0).abs() < 1e-12);
        assert_eq!(wilcoxon_signed_rank(&[]), 1.0);
        assert_eq!(wilcoxon_signed_rank(&[0.0, 0.0]), 1.0);
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

    fn outputs(values: &[(&str, Vec<Option<f64>>)]) -> Vec<ProbeOutput> {
        let rounds = values[0].1.len();
        (0..rounds)
            .map(|r| ProbeOutput {
                protocol: PROTOCOL,
                version: "t".into(),
                samples: values
                    .iter()
                    .map(|(id, v)| Sample {
                        id: (*id).into(),
                        ns_per_op: v[r],
                        runs: 3,
                        valid_runs: usize::from(v[r].is_some()) * 3,
                    })
                    .collect(),
            })
            .collect()
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
        let before = outputs(&[
            ("x", a.clone()),
            ("tiny", a.clone()),
            ("noisy", a.clone()),
            ("gaps", gaps),
        ]);
        let after = outputs(&[("x", slower), ("tiny", tiny), ("noisy", noisy), ("gaps", a)]);
        let r = judge(&opts(), &before, &after);
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
        let r = judge(&opts(), &before, &before);
        assert_eq!(r.flagged(), 0);
    }

    #[test]
    fn slowdowns_parse_or_say_why_not() {
        let s: Slowdown = "lock/SpinLock/1=0.1".parse().unwrap();
        assert_eq!(s.id, "lock/SpinLock/1");
        assert_eq!(s.fraction, 0.1);
        for bad in ["lock/SpinLock/1", "x=abc", "x=0", "x=1.5", "x=-0.1"] {
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
        let all = benchmarks(None).unwrap();
        assert!(all.iter().any(|b| b.id == "counter/AtomicCounter/2"));
        assert!(all.iter().any(|b| b.id.starts_with("queue/")));
        assert!(
            all.iter()
                .all(|b| b.contended == (b.threads > 1 || b.id.starts_with("queue/")))
        );
        assert!(benchmarks(Some("nope")).unwrap_err().contains("nope"));
    }
}
