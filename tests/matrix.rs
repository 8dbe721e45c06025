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

/// The first `n` counter entries under each of `engines`, entry by entry.
fn counter_cells(n: usize, engines: &[EngineKind]) -> Vec<(Entry, EngineKind)> {
    catalogue()
        .into_iter()
        .filter(|e| e.family == "counter")
        .take(n)
        .flat_map(|e| engines.iter().map(move |&k| (e.clone(), k)))
        .collect()
}

/// The `racelab` binary's JSON report of a deterministic run with `--jobs N`.
fn binary_report(args: &[&str], jobs: &str, name: &str) -> serde_json::Value {
    let dir = std::env::temp_dir().join(format!("racelab-jobs-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let (json, md) = (
        dir.join(format!("{name}.json")),
        dir.join(format!("{name}.md")),
    );
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_racelab"))
        .args(args)
        .args(["--no-progress", "--jobs", jobs, "--json"])
        .arg(&json)
        .arg("--md")
        .arg(&md)
        .output()
        .expect("racelab runs");
    assert_eq!(out.status.code(), Some(0), "{out:?}");
    serde_json::from_str(&std::fs::read_to_string(&json).unwrap()).unwrap()
}

#[test]
fn worker_processes_give_the_deterministic_engines_results_of_one_job() {
    // The binary runs `--jobs 2` in two worker processes; every field of every result but its
    // timings, counterexamples and traces included, is that of `--jobs 1` in one process.
    let args = [
        "--family",
        "counter",
        "--engine",
        "loom,shuttle-random,shuttle-pct,shuttle-dfs,proptest",
        "--runs",
        "200",
    ];
    let one = binary_report(&args, "1", "one");
    let two = binary_report(&args, "2", "two");
    let (a, b) = (untimed(&one), untimed(&two));
    assert!(a.len() > 10, "{}", a.len());
    assert_eq!(a, b);
    assert!(
        a.iter()
            .any(|r| r.contains("\"verdict\":\"caught\"") && r.contains("\"trace\":\""))
    );
}

#[test]
fn a_worker_serves_the_cells_it_is_asked_for_as_one_run_would() {
    let engines = [EngineKind::ShuttleRandom, EngineKind::Loom];
    let cells = counter_cells(2, &engines);
    let check = Check::new().engines(engines).runs(50);
    let names: Vec<String> = cells
        .iter()
        .map(|(e, k)| racelab::shard::cell_name(e, *k))
        .collect();
    let input = format!("{}\n\nno/such/cell\n", names.join("\n"));
    let mut output = Vec::new();
    racelab::workers::serve(&cells, &check, input.as_bytes(), &mut output).unwrap();
    let lines: Vec<serde_json::Value> = String::from_utf8(output)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(
        lines.len(),
        cells.len() + 1,
        "one reply a name, none for a blank line"
    );
    let whole = Report::run_cells(&cells, &check, 1, |_, _| {});
    for (i, reply) in lines[..cells.len()].iter().enumerate() {
        let alone = Report {
            rows: vec![racelab::report::Row::run_in(
                &cells[i].0,
                &check.engine_of(cells[i].1),
                &check,
            )],
            ..Report::default()
        };
        assert_eq!(untimed(reply), untimed(&alone.to_json()), "{}", names[i]);
        assert_eq!(whole.rows[i].engine, cells[i].1);
    }
    let last = lines.last().unwrap()["error"].as_str().unwrap();
    assert!(last.contains("no cell `no/such/cell`"), "{last}");
}

#[cfg(unix)]
#[test]
fn a_worker_that_dies_or_talks_nonsense_costs_its_cell_an_error_not_a_verdict() {
    use racelab::engine::Verdict;
    let engines = [EngineKind::ShuttleRandom, EngineKind::ShuttleDfs];
    let cells = counter_cells(3, &engines);
    let check = Check::new().engines(engines).runs(20);
    for (script, why) in [
        (
            "read cell; kill -9 $$",
            "the worker process died (signal: 9",
        ),
        ("exit 3", "the worker process died (exit status: 3)"),
        ("while read cell; do echo nonsense; done", "not JSON"),
        (
            "while read cell; do echo '{\"error\": \"no\"}'; done",
            "the worker: no",
        ),
        (
            "while read cell; do echo '{\"racelab\": \"0.0.0\", \"results\": []}'; done",
            "written by racelab 0.0.0",
        ),
    ] {
        let started = std::sync::atomic::AtomicUsize::new(0);
        let report = racelab::workers::run_cells(
            &cells,
            &check,
            2,
            || {
                let mut c = std::process::Command::new("sh");
                c.args(["-c", script]);
                c
            },
            |_, _| {
                started.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            },
        );
        assert_eq!(started.into_inner(), cells.len(), "{script}");
        assert_eq!(report.rows.len(), cells.len(), "{script}");
        for (row, (entry, kind)) in report.rows.iter().zip(&cells) {
            assert_eq!(
                (row.entry.key(), row.engine),
                (entry.key(), *kind),
                "{script}"
            );
            assert_eq!(row.cell, Verdict::Error, "{script}");
            assert_eq!(row.results.len(), entry.scenarios.len(), "{script}");
            for r in &row.results {
                assert_eq!(r.verdict, Verdict::Error, "{script}");
                assert!(r.note.contains(why), "{script}: {}", r.note);
                assert!(r.note.contains(&racelab::shard::cell_name(entry, *kind)));
            }
        }
        // An error is the machinery's: the run fails, saying so, and no racy cell reads as
        // caught or escaped.
        let failures = report.failures();
        assert_eq!(failures.len(), cells.len(), "{script}");
        for f in failures {
            assert!(f.starts_with("error: racelab could not check "), "{f}");
            assert!(f.contains(why), "{f}");
        }
    }
}

#[test]
fn one_job_or_one_model_cell_runs_in_this_process() {
    // No worker is started: a command that cannot start would turn every cell into an error.
    let engines = [EngineKind::ShuttleRandom];
    let cells = counter_cells(2, &engines);
    let check = Check::new().engines(engines).runs(20);
    let never = || std::process::Command::new("/nonexistent/racelab-worker");
    for (jobs, cells) in [(1, &cells[..]), (4, &cells[..1])] {
        let r = racelab::workers::run_cells(cells, &check, jobs, never, |_, _| {});
        assert!(
            r.rows
                .iter()
                .all(|row| row.cell != racelab::engine::Verdict::Error),
            "{jobs}"
        );
    }
    let r = racelab::workers::run_cells(&cells, &check, 2, never, |_, _| {});
    assert!(r.rows.iter().all(|row| {
        row.cell == racelab::engine::Verdict::Error
            && row.results[0]
                .note
                .contains("cannot start a worker process")
    }));
}
