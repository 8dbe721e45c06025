//! The tables `racelab bench` prints, as terminal tables or Markdown: one per family and thread
//! count, the uncontended costs, the targets, the seed experiment, the executor's round trips
//! and maps, and a comparison of two baselines.

use super::criterion::{Bench, Estimate};
use super::noise::{
    Change, classify_change, comparable, judge_target, ratio_range, relative_change,
};
use super::runs::{Parallelism, RunStats};
use super::walk::{Data, is_executor, is_increments, order_key};
use super::{
    ATOMIC_BASELINE, EXECUTOR_MAP, EXECUTOR_NAME, EXECUTOR_RAYON_TARGET, EXECUTOR_ROUNDTRIP,
    EXECUTOR_SPAWN_TARGET, MUTEX_COUNTER, NOISE_THRESHOLD, PYTHON_LOCKED_OVER_RACY, RACY_BASELINE,
    SEEDS, SHARDED_COUNTER, SHARDED_TARGET, SPIN_LOCK, SPIN_TARGET,
};
use std::collections::BTreeMap;
use std::fmt::Write as _;

pub(super) struct Out {
    pub(super) markdown: bool,
    pub(super) text: String,
}

impl Out {
    pub(super) fn table(&self, header: &[&str]) -> comfy_table::Table {
        let mut t = comfy_table::Table::new();
        t.load_preset(if self.markdown {
            comfy_table::presets::ASCII_MARKDOWN
        } else {
            comfy_table::presets::UTF8_FULL_CONDENSED
        });
        t.set_header(header.to_vec());
        t
    }
    pub(super) fn heading(&mut self, title: &str) {
        if self.markdown {
            let _ = writeln!(self.text, "\n### {title}\n");
        } else {
            let _ = writeln!(self.text, "\n{title}");
        }
    }
    pub(super) fn push_table(&mut self, t: &comfy_table::Table) {
        let _ = writeln!(self.text, "{t}");
    }
    pub(super) fn note(&mut self, line: &str) {
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

pub(super) fn family_tables(out: &mut Out, data: &Data) {
    let mut benches: Vec<&Bench> = data.shown().filter(|b| is_increments(b)).collect();
    if benches.is_empty() {
        return;
    }
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

pub(super) fn uncontended(out: &mut Out, data: &Data) {
    let mut rows: Vec<&Bench> = data
        .shown()
        .filter(|b| b.threads == 1 && is_increments(b))
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

pub(super) fn targets(out: &mut Out, data: &Data) {
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
            let mut verdict = judge_target(lo, hi, SHARDED_TARGET, true).to_string();
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
    let spin = data.find_wrapping(crate::catalogue::LOCK, SPIN_LOCK, 1);
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
                judge_target(lo, hi, SPIN_TARGET, false).to_string(),
            ]);
        }
        _ => {
            t.add_row(vec![
                format!("{SPIN_LOCK} uncontended ≤ {SPIN_TARGET}× {MUTEX_COUNTER} (std Mutex)"),
                "no data".into(),
                "—".into(),
                "not measured (run `cargo bench --bench lock`)".into(),
            ]);
        }
    }
    executor_targets(&mut t, data);
    out.push_table(&t);
}

/// The executor benchmark's `name` in `group` (at `workers`, or at any if `None`).
fn executor_bench<'a>(
    data: &'a Data,
    group: &str,
    name: &str,
    workers: Option<usize>,
) -> Option<&'a Bench> {
    data.benches
        .iter()
        .find(|b| b.family == group && b.variant == name && workers.is_none_or(|w| b.threads == w))
}

/// The executor's two targets (issue 11): its round trip within 2× of rayon's, and a thread per
/// task at least 15× dearer.
fn executor_targets(t: &mut comfy_table::Table, data: &Data) {
    let ex = executor_bench(data, EXECUTOR_ROUNDTRIP, EXECUTOR_NAME, None);
    let rayon = executor_bench(data, EXECUTOR_ROUNDTRIP, "rayon-spawn", None);
    let spawn = executor_bench(data, EXECUTOR_ROUNDTRIP, "spawn-per-task", None);
    let rows = [
        (
            format!(
                "{EXECUTOR_NAME} round trip ≤ {EXECUTOR_RAYON_TARGET}× rayon's spawn + channel"
            ),
            ex.zip(rayon),
            EXECUTOR_RAYON_TARGET,
            false,
        ),
        (
            format!("a thread per task ≥ {EXECUTOR_SPAWN_TARGET}× {EXECUTOR_NAME}'s round trip"),
            spawn.zip(ex),
            EXECUTOR_SPAWN_TARGET,
            true,
        ),
    ];
    for (what, pair, target, at_least) in rows {
        match pair {
            Some((num, den)) => {
                let (p, lo, hi) = ratio_range(&num.ns_per_op(), &den.ns_per_op());
                t.add_row(vec![
                    what,
                    fmt_ratio(p),
                    format!("{}–{}", fmt_ratio(lo), fmt_ratio(hi)),
                    judge_target(lo, hi, target, at_least).to_string(),
                ]);
            }
            None => {
                t.add_row(vec![
                    what,
                    "no data".into(),
                    "—".into(),
                    "not measured (run `cargo bench --bench executor`)".into(),
                ]);
            }
        }
    }
}

/// The executor benchmark's figures: each round trip against rayon's, each `map` against
/// rayon's at the same workers (and rayon's against a plain loop).
pub(super) fn executor(out: &mut Out, data: &Data) {
    let mut rows: Vec<&Bench> = data.shown().filter(|b| is_executor(b)).collect();
    if rows.is_empty() {
        return;
    }
    rows.sort_by_key(|b| (b.family != EXECUTOR_ROUNDTRIP, b.threads, b.variant.clone()));
    out.heading(
        "the executor: one submit → result round trip of an empty task, and `map` per item",
    );
    let mut t = out.table(&[
        "benchmark",
        "workers",
        "ns per task or item",
        "vs yardstick",
    ]);
    for b in &rows {
        let yard =
            match (b.family.as_str(), b.variant.as_str()) {
                (EXECUTOR_ROUNDTRIP, "rayon-spawn") => None,
                (EXECUTOR_ROUNDTRIP, _) => {
                    executor_bench(data, EXECUTOR_ROUNDTRIP, "rayon-spawn", None)
                        .map(|y| ("rayon-spawn", y))
                }
                (EXECUTOR_MAP, "rayon") => executor_bench(data, EXECUTOR_MAP, "sequential", None)
                    .map(|y| ("sequential", y)),
                (EXECUTOR_MAP, "sequential") => None,
                (EXECUTOR_MAP, _) => executor_bench(data, EXECUTOR_MAP, "rayon", Some(b.threads))
                    .map(|y| ("rayon", y)),
                _ => None,
            };
        let ns = b.ns_per_op();
        t.add_row(vec![
            format!("{}/{}", b.family, b.variant),
            b.threads.to_string(),
            format!(
                "{} ±{:.1}%",
                fmt_ns(ns.point_estimate),
                100.0 * ns.relative_half_width()
            ),
            yard.map_or("—".into(), |(name, y)| {
                format!(
                    "{} {name}",
                    fmt_ratio(ns.point_estimate / y.ns_per_op().point_estimate)
                )
            }),
        ]);
    }
    out.push_table(&t);
    out.note(
        "criterion's figures only: whether the maps' workers ran in parallel (CPU time over wall \
         time per sample) is in the table `cargo bench --bench executor` prints on stderr. A \
         round trip is serial by construction.",
    );
}

pub(super) fn seeds(out: &mut Out, data: &Data) {
    let rows: Vec<&Bench> = data.shown().filter(|b| b.family == SEEDS).collect();
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

pub(super) fn comparison(out: &mut Out, before: &str, a: &Data, after: &str, b: &Data) {
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
