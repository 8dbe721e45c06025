//! The parallel matrix: the model checkers' cells run on several threads at once
//! (`racelab --jobs N`), and their results are those of a one-job run, cell by cell. Shards
//! (`--partition`) merged back (`racelab merge`) equal one unpartitioned run.

use racelab::catalogue::{Entry, catalogue};
use racelab::engine::{Check, EngineKind};
use racelab::report::Report;

/// The engines whose results a schedule search determines (every engine but stress).
const DETERMINISTIC: [EngineKind; 5] = [
    EngineKind::Loom,
    EngineKind::ShuttleRandom,
    EngineKind::ShuttlePct,
    EngineKind::ShuttleDfs,
    EngineKind::Proptest,
];

/// What a deterministic engine's result is made of: everything but its timings.
fn key(r: &Report) -> Vec<String> {
    r.rows
        .iter()
        .flat_map(|row| {
            row.results.iter().map(move |x| {
                format!(
                    "{} × {} `{}`: {:?} {:?} {} @{:?} {:?} {:?} {:?}",
                    row.entry.variant,
                    row.engine,
                    x.scenario,
                    row.cell,
                    x.verdict,
                    x.executions,
                    x.first_failure_at,
                    x.bound,
                    x.histogram,
                    x.counterexample.as_ref().map(|c| (&c.message, c.class)),
                )
            })
        })
        .collect()
}

#[test]
fn two_jobs_give_the_deterministic_engines_results_of_one() {
    let entries: Vec<Entry> = catalogue()
        .into_iter()
        .filter(|e| matches!(e.family, "counter" | "lock" | "ordering"))
        .collect();
    let engines = DETERMINISTIC;
    // Small budgets keep it quick; no time cap is near, so load cannot end a run early.
    let check = Check::new().engines(engines).runs(200);
    let started = std::sync::atomic::AtomicUsize::new(0);
    let one = Report::run(&entries, &engines, &check, 1, |_, _| {});
    let two = Report::run(&entries, &engines, &check, 2, |_, _| {
        started.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    });
    assert_eq!(started.into_inner(), entries.len() * engines.len());
    assert_eq!(one.rows.len(), two.rows.len());
    let (a, b) = (key(&one), key(&two));
    assert!(!a.is_empty());
    for (x, y) in a.iter().zip(&b) {
        assert_eq!(x, y);
    }
    assert_eq!(a.len(), b.len());
    assert!(
        one.rows
            .iter()
            .any(|r| r.cell == racelab::engine::Verdict::Caught),
        "the families have racy entries, caught"
    );
}

#[test]
fn stress_cells_run_after_every_model_cell_one_at_a_time() {
    let entries: Vec<Entry> = catalogue()
        .into_iter()
        .filter(|e| e.family == "counter")
        .take(2)
        .collect();
    let engines = [EngineKind::ShuttleRandom, EngineKind::Stress];
    let check = Check::new()
        .engines(engines)
        .runs(20)
        .engine(racelab::engine::Engine::Stress(
            racelab::engine::StressConfig {
                time_budget: std::time::Duration::from_millis(50),
                ..Default::default()
            },
        ));
    let order = std::sync::Mutex::new(Vec::new());
    let report = Report::run(&entries, &engines, &check, 2, |e, k| {
        order.lock().unwrap().push((e.variant, k));
    });
    let order = order.into_inner().unwrap();
    let first_stress = order.iter().position(|(_, k)| *k == EngineKind::Stress);
    assert_eq!(first_stress, Some(entries.len()), "{order:?}");
    // The report keeps entry-by-entry order, whatever order the cells ran in.
    let kinds: Vec<_> = report.rows.iter().map(|r| r.engine).collect();
    assert_eq!(kinds, [engines, engines].concat());
}

/// A result as JSON without its timings (`millis`, `time_to_failure_ms`, and the `summary`
/// line of a stress result, which counts rounds), keyed for comparison.
fn untimed(report: &serde_json::Value) -> Vec<String> {
    let mut out: Vec<String> = report["results"]
        .as_array()
        .expect("results")
        .iter()
        .map(|r| {
            let mut r = r.clone();
            let o = r.as_object_mut().unwrap();
            o.remove("millis");
            o.remove("time_to_failure_ms");
            r.to_string()
        })
        .collect();
    out.sort();
    out
}

#[test]
fn four_shards_merged_equal_one_unpartitioned_run() {
    use racelab::shard::{Partition, merge};
    let entries: Vec<Entry> = catalogue()
        .into_iter()
        .filter(|e| {
            matches!(e.family, "counter" | "ordering")
                || matches!(e.variant, "ClosableQueue" | "CloseRacesPushQueue")
        })
        .collect();
    let engines = DETERMINISTIC;
    let check = Check::new().engines(engines).runs(100);
    let whole = Report::run(&entries, &engines, &check, 2, |_, _| {});
    for scheme in ["hash", "count"] {
        let shards: Vec<(String, serde_json::Value)> = (1..=4)
            .map(|k| {
                let p: Partition = format!("{scheme}:{k}/4").parse().unwrap();
                let mut r = Report::run_cells(&p.cells(&entries, &engines), &check, 2, |_, _| {});
                r.partition = Some(p);
                (format!("{p}.json"), r.to_json())
            })
            .collect();
        let merged = merge(&shards).unwrap();
        // Cell by cell, in catalogue order, with the same verdicts, texts and failures.
        let cells = |r: &Report| -> Vec<String> {
            r.rows
                .iter()
                .map(|row| format!("{} {} {}", row.entry.key(), row.engine, row.cell_text()))
                .collect()
        };
        assert_eq!(cells(&merged), cells(&whole), "{scheme}");
        assert_eq!(merged.failures(), whole.failures());
        assert!(
            whole
                .rows
                .iter()
                .any(|r| r.cell == racelab::engine::Verdict::Caught)
        );
        // And the JSON: every field of every result but its timings, traces included.
        let (m, w) = (merged.to_json(), whole.to_json());
        assert_eq!(untimed(&m), untimed(&w), "{scheme}");
        assert!(m["partition"].is_null());
        // The Markdown report, past its timing lines, is the same too.
        let strip = |md: String| -> Vec<String> {
            md.lines()
                .filter(|l| !l.contains(" s.") && !l.starts_with("| "))
                .map(String::from)
                .collect()
        };
        assert_eq!(strip(merged.to_markdown()), strip(whole.to_markdown()));
    }
}
