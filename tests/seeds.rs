//! The articles' experiments (`racelab seeds`, `racelab::seeds`): every experiment runs at its
//! quick sizes and gives the rows it promises, checked for correctness (the sums, the
//! factors, the counts), never for speed; bad input is one line and exit code 2.
//!
//! The network experiments (`downloads`, `slow-connections`) have their own file,
//! `tests/seeds_net.rs`.

use racelab::seeds::{self, Child, Context, Row, Scale};
use std::process::Command;

fn racelab(args: &[&str], dir: &std::path::Path) -> (i32, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_racelab"))
        .args(args)
        .current_dir(dir)
        .output()
        .expect("runs");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

fn ctx() -> Context {
    Context::new(
        Scale::Quick,
        Some(Child {
            program: env!("CARGO_BIN_EXE_racelab").into(),
            args: vec!["seeds-child".into()],
        }),
    )
}

fn rows_of(name: &str) -> Vec<Row> {
    let report = seeds::run(&ctx(), &seeds::select(&[name.into()]).unwrap(), |_| {});
    assert!(report.ok(), "{name}: {:?}", report.experiments);
    assert!(report.rows.iter().all(|r| r.experiment == name));
    report.rows
}

fn variants(rows: &[Row]) -> Vec<&str> {
    rows.iter().map(|r| r.variant.as_str()).collect()
}

/// Every row measured, exactly one baseline, whose ratio is 1.
fn assert_measured(rows: &[Row]) {
    assert!(rows.iter().all(|r| r.seconds.is_some()), "{rows:#?}");
    let base: Vec<&Row> = rows.iter().filter(|r| r.baseline).collect();
    assert_eq!(base.len(), 1, "{rows:#?}");
    assert_eq!(base[0].ratio, Some(1.0));
    assert!(rows.iter().all(|r| r.ratio.is_some()));
}

#[test]
fn lost_update_counts_the_losses_and_the_correct_counters_lose_none() {
    let rows = rows_of("lost-update");
    assert_measured(&rows);
    assert_eq!(
        variants(&rows),
        ["LoadStoreCounter", "MutexCounter", "AtomicCounter"]
    );
    for r in &rows[1..] {
        assert!(
            r.extra
                .iter()
                .any(|(k, v)| k == "lost updates" && v.starts_with("0 of 600000")),
            "{r:?}"
        );
    }
    // The racy one's loss is measured, not asserted: it may lose nothing in a run.
    assert!(rows[0].extra.iter().any(|(k, _)| k == "lost updates"));
    assert_eq!(rows[0].article.as_deref(), Some("1.07 s, 0 lost"));
}

#[test]
fn cpu_bound_runs_threads_a_gil_and_processes_with_the_same_sum() {
    let rows = rows_of("cpu-bound");
    assert_measured(&rows);
    assert_eq!(
        variants(&rows),
        [
            "sequential",
            "1 thread",
            "2 threads",
            "4 threads",
            "2 threads, one global lock (a GIL)",
            "4 threads, one global lock (a GIL)",
            "2 child processes",
            "4 child processes",
        ]
    );
    // Parallel rows say how many cores they kept busy; 4 on fewer cores says so.
    for r in &rows[1..] {
        assert!(r.cpu_per_wall.is_some() && r.workers.is_some(), "{r:?}");
    }
    let cores = ctx().cores;
    let four = rows.iter().find(|r| r.variant == "4 threads").unwrap();
    assert_eq!(
        four.note
            .as_deref()
            .is_some_and(|n| n.contains(&format!("on {cores} cores"))),
        cores < 4,
        "{four:?}"
    );
}

#[test]
fn without_the_binary_the_process_rows_are_not_run_and_say_why() {
    let ctx = Context::new(Scale::Quick, None);
    let report = seeds::run(&ctx, &seeds::select(&["cpu-bound".into()]).unwrap(), |_| {});
    let procs: Vec<&Row> = report
        .rows
        .iter()
        .filter(|r| r.variant.contains("process"))
        .collect();
    assert_eq!(procs.len(), 2);
    for r in procs {
        assert!(r.seconds.is_none() && r.ratio.is_none(), "{r:?}");
        assert!(
            r.note.as_deref().unwrap().contains("racelab binary"),
            "{r:?}"
        );
        assert_eq!(r.cells()[3], "not run");
    }
}

#[test]
fn factorise_select_subprocess_pipeline_executor_run() {
    for (name, want) in [
        ("factorise", &["sequential", "2 threads"][..]),
        (
            "select",
            &[
                "one after another",
                "5 threads",
                "ThreadPoolExecutor(5)",
                "5 async tasks on one thread",
            ],
        ),
        (
            "subprocess",
            &["one after another", "all at once, then waited for"],
        ),
        ("pipeline", &["1 worker per stage", "4 workers per stage"]),
        (
            "executor",
            &["map on ThreadPoolExecutor(5)", "a thread per task"],
        ),
    ] {
        let rows = rows_of(name);
        assert_measured(&rows);
        assert_eq!(variants(&rows), want, "{name}");
    }
}

#[test]
fn the_factors_and_sums_are_right() {
    assert_eq!(seeds::sum_squares(5), 1 + 4 + 9 + 16);
    assert_eq!(seeds::factors(600_851_475_143), [71, 839, 1471, 6857]);
    assert_eq!(
        seeds::child_main(&["sum-squares".into(), "5".into(), "3".into()]),
        Ok((30 + 5).to_string())
    );
}

#[test]
fn the_command_writes_its_files_and_bad_input_is_one_line() {
    let dir = std::env::temp_dir().join(format!("racelab-seeds-test-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let out = dir.join("out");
    let (code, stdout, stderr) = racelab(
        &[
            "seeds",
            "--quick",
            "--only",
            "factorise,lost-update",
            "--no-progress",
            "--out-dir",
            out.to_str().unwrap(),
        ],
        &dir,
    );
    assert_eq!(code, 0, "{stdout}\n{stderr}");
    assert!(
        stdout.contains("factorise") && stdout.contains("1.718 s"),
        "{stdout}"
    );
    let json = std::fs::read_to_string(out.join("racelab-seeds.json")).unwrap();
    let report: seeds::SeedsReport = serde_json::from_str(&json).unwrap();
    assert_eq!(report.rows.len(), 5);
    assert_eq!(report.scale, Scale::Quick);
    let md = std::fs::read_to_string(out.join("racelab-seeds.md")).unwrap();
    assert!(md.contains("| factorise | 2 threads | 1.691 s |"), "{md}");
    let svg = std::fs::read_to_string(out.join("racelab-seeds.svg")).unwrap();
    assert!(
        svg.starts_with("<svg") && svg.contains("factorise"),
        "{}",
        &svg[..200]
    );

    for (args, expected) in [
        (&["seeds", "--only", "nope"][..], "unknown experiment nope"),
        (&["seeds", "--bogus"], "unexpected argument '--bogus'"),
        (&["seeds-child"], "which work?"),
        (&["seeds-child", "sum-squares", "x"], "`x` is not a number"),
        (&["seeds-child", "juggle"], "unknown work `juggle`"),
    ] {
        let (code, stdout, stderr) = racelab(args, &dir);
        assert_eq!(code, 2, "{args:?}: {stdout}{stderr}");
        assert_eq!(stderr.lines().count(), 1, "{args:?}: {stderr}");
        assert!(stderr.contains(expected), "{args:?}: {stderr}");
    }
    let _ = std::fs::remove_dir_all(&dir);
}
