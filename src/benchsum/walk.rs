//! The directory walk: where criterion writes, every benchmark it saved for one baseline, and
//! that baseline with its side file as `racelab bench` shows it ([`Data`]).

use super::criterion::Bench;
use super::runs::{self, RunStats, RunsFile};
use super::{EXECUTOR_GROUPS, Options, SEEDS};
use std::path::{Path, PathBuf};

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
    // The ratio tables are about the catalogue families timed as increments (counters and
    // locks), the seed experiment and the executor's round trips and maps; the queue, pipeline
    // and checker benchmarks print their own summaries (`benches/queue.rs`,
    // `benches/pipeline.rs`, `benches/lincheck.rs`).
    let timed = timed_families();
    out.retain(|b| b.family == SEEDS || is_executor(b) || timed.contains(&b.family.as_str()));
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

/// Whether `b` is one of the executor benchmark's (`executor/roundtrip`, `executor/map`).
pub(super) fn is_executor(b: &Bench) -> bool {
    b.family.starts_with(EXECUTOR_GROUPS)
}

/// Whether `b` is a catalogue entry timed as increments: what the family tables, the
/// uncontended table and the chart are about (not the seed experiment, not the executor).
pub(super) fn is_increments(b: &Bench) -> bool {
    b.family != SEEDS && !is_executor(b)
}

/// Whether `b` belongs to `family` as `--family` names it: the group itself, or, for
/// `executor`, either of its groups.
fn in_family(b: &Bench, family: &str) -> bool {
    b.family.eq_ignore_ascii_case(family)
        || b.family
            .strip_prefix(family)
            .is_some_and(|rest| rest.starts_with('/'))
}

/// One baseline's figures and its side file.
pub(super) struct Data {
    pub(super) benches: Vec<Bench>,
    pub(super) runs: Option<RunsFile>,
    family: Option<String>,
}

impl Data {
    pub(super) fn load(opts: &Options, baseline: &str) -> Result<Data, String> {
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
            && !benches.iter().any(|b| in_family(b, f))
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
    pub(super) fn shown(&self) -> impl Iterator<Item = &Bench> {
        self.benches
            .iter()
            .filter(|b| self.family.as_ref().is_none_or(|f| in_family(b, f)))
    }
    pub(super) fn stats(&self, b: &Bench) -> Option<&RunStats> {
        self.runs.as_ref()?.entries.get(&b.id)
    }
    /// A variant at a thread count, in any family timed as increments (baselines cross
    /// families).
    pub(super) fn find(&self, variant: &str, threads: usize) -> Option<&Bench> {
        self.benches
            .iter()
            .find(|b| is_increments(b) && b.variant == variant && b.threads == threads)
    }
    /// A variant of `family` at a thread count that is `name` itself or wraps it
    /// (`LockCounter<SpinLock>` for `SpinLock`; not `LockCounter<RelaxedUnlockSpinLock>`).
    pub(super) fn find_wrapping(&self, family: &str, name: &str, threads: usize) -> Option<&Bench> {
        self.benches
            .iter()
            .find(|b| b.family == family && b.threads == threads && wraps(&b.variant, name))
    }
    pub(super) fn racy(&self, b: &Bench) -> Option<bool> {
        self.stats(b)
            .map(|s| s.racy)
            .or_else(|| catalogue_racy(&b.variant))
    }
    pub(super) fn cpus(&self) -> Option<usize> {
        self.runs.as_ref()?.entries.values().map(|s| s.cpus).max()
    }
}

/// Whether a bench variant is `name`, or a generic type over it (`Outer<name>`).
fn wraps(variant: &str, name: &str) -> bool {
    variant == name
        || variant
            .strip_suffix('>')
            .and_then(|v| v.rsplit_once('<'))
            .is_some_and(|(_, inner)| inner == name)
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

/// The catalogue families whose timed runs are increments ([`crate::bench::Timed::Increments`]),
/// in catalogue order: what the ratio tables are about.
fn timed_families() -> &'static [&'static str] {
    static FAMILIES: std::sync::OnceLock<Vec<&'static str>> = std::sync::OnceLock::new();
    FAMILIES.get_or_init(|| {
        let mut families: Vec<&'static str> = crate::catalogue::catalogue()
            .iter()
            .filter(|e| e.bench.and_then(crate::bench::Timed::increments).is_some())
            .map(|e| e.family)
            .collect();
        families.dedup();
        families
    })
}

/// Catalogue order of families and of variants (racy first within a family); unknown ones
/// after, by name; the seed experiment last.
pub(super) fn order_key(b: &Bench) -> (usize, usize, String) {
    let timed = timed_families();
    let fam = if b.family == SEEDS {
        timed.len() + 1
    } else {
        timed
            .iter()
            .position(|f| *f == b.family)
            .unwrap_or(timed.len())
    };
    let pos = catalogue_index()
        .iter()
        .position(|(v, _)| *v == b.variant)
        .unwrap_or(usize::MAX);
    (fam, pos, b.variant.clone())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::benchsum::criterion::fixtures::*;
    use crate::benchsum::run;

    #[test]
    fn a_wrapped_name_matches_only_itself() {
        assert!(wraps("LockCounter<SpinLock>", "SpinLock"));
        assert!(wraps("SpinLock", "SpinLock"));
        assert!(!wraps("LockCounter<RelaxedUnlockSpinLock>", "SpinLock"));
        assert!(!wraps("SpinLockCounter", "SpinLock"));
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

    /// One criterion benchmark of `benches/executor.rs`, `ns` per iteration (±1%).
    fn executor_bench(dir: &Path, group: &str, name: &str, workers: usize, items: u64, ns: f64) {
        let leaf = dir
            .join(group.replace('/', "_"))
            .join(name)
            .join(workers.to_string())
            .join("new");
        std::fs::create_dir_all(&leaf).unwrap();
        let benchmark = format!(
            r#"{{"group_id":"{group}","function_id":"{name}","value_str":"{workers}","throughput":{{"Elements":{items}}},"full_id":"{group}/{name}/{workers}"}}"#
        );
        let (lo, hi) = (ns * 0.99, ns * 1.01);
        let estimates = ESTIMATES
            .replace("19.8", &lo.to_string())
            .replace("20.6", &hi.to_string())
            .replace("20.2", &ns.to_string());
        std::fs::write(leaf.join("benchmark.json"), benchmark).unwrap();
        std::fs::write(leaf.join("estimates.json"), estimates).unwrap();
    }

    #[test]
    fn the_executor_bench_gets_its_table_and_its_two_targets() {
        let dir =
            std::env::temp_dir().join(format!("racelab-benchsum-executor-{}", std::process::id()));
        let rt = crate::benchsum::EXECUTOR_ROUNDTRIP;
        let map = crate::benchsum::EXECUTOR_MAP;
        executor_bench(&dir, rt, "ThreadPoolExecutor", 2, 1, 800.0);
        executor_bench(&dir, rt, "rayon-spawn", 2, 1, 1600.0);
        executor_bench(&dir, rt, "spawn-per-task", 1, 1, 8000.0);
        executor_bench(&dir, map, "ThreadPoolExecutor", 2, 10_000, 5_000_000.0);
        executor_bench(&dir, map, "rayon", 2, 10_000, 25_000.0);
        let benches = load_baseline(&dir, "new").unwrap();
        assert_eq!(benches.len(), 5, "{benches:?}");
        let opts = Options {
            dir: dir.clone(),
            family: Some("executor".into()),
            ..Options::new()
        };
        let text = run(&opts).unwrap();
        let _ = std::fs::remove_dir_all(&dir);
        // 800 / 1600 = 0.5: met; 8000 / 800 = 10 < 15: missed.
        let line = |needle: &str| {
            text.lines()
                .find(|l| l.contains(needle))
                .unwrap_or_else(|| panic!("no line with {needle:?} in\n{text}"))
                .to_string()
        };
        let rayon = line("round trip ≤ 2× rayon");
        assert!(rayon.contains("0.50×") && rayon.contains("met"), "{rayon}");
        let spawn = line("a thread per task ≥ 15×");
        assert!(
            spawn.contains("10.0×") && spawn.contains("MISSED"),
            "{spawn}"
        );
        // map: ns per item (5 ms / 10^4 = 500 ns), 200× rayon's at the same workers.
        let m = line("executor/map/ThreadPoolExecutor");
        assert!(m.contains("500") && m.contains("200× rayon"), "{m}");
        // Not in the increments tables: no family table, and not their legend.
        assert!(!text.contains("executor/roundtrip, 2 threads"), "{text}");
        assert!(
            !text.contains("ns/op: wall time over all threads"),
            "{text}"
        );
    }
}
