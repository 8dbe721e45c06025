//! The network experiments of `racelab seeds` (`downloads`, `slow-connections`), through the
//! public API. Structure and correctness only: this machine's cores are few and noisy, so no
//! test asserts on a time or on which variant is faster.

#![cfg(feature = "cli")]

use racelab::seeds::{Child, Context, Row, Scale, SeedsReport, child_main, run, select};
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener};
use std::time::Duration;

fn racelab_child() -> Child {
    Child {
        program: env!("CARGO_BIN_EXE_racelab").into(),
        args: vec!["seeds-child".into()],
    }
}

fn run_one(name: &str, scale: Scale, child: Option<Child>) -> SeedsReport {
    let ctx = Context::new(scale, child);
    let experiments = select(&[name.to_string()]).expect("a known experiment");
    run(&ctx, &experiments, |_| {})
}

fn extra<'a>(row: &'a Row, name: &str) -> Option<&'a str> {
    row.extra
        .iter()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.as_str())
}

fn variants(report: &SeedsReport) -> Vec<&str> {
    report.rows.iter().map(|r| r.variant.as_str()).collect()
}

#[test]
fn downloads_every_variant_is_timed_and_verified() {
    let report = run_one("downloads", Scale::Quick, None);
    assert!(report.ok(), "{:?}", report.experiments);
    assert_eq!(
        variants(&report),
        ["sequential", "pool of 5", "async, all at once"]
    );
    let workers: Vec<_> = report.rows.iter().map(|r| r.workers).collect();
    assert_eq!(workers, [Some(1), Some(5), Some(40)]);
    for r in &report.rows {
        assert_eq!(r.experiment, "downloads");
        assert!(r.seconds.is_some_and(|s| s > 0.0), "{r:?}");
        assert!(r.ratio.is_some(), "{r:?}");
        assert_eq!(extra(r, "requests"), Some("40"), "{r:?}");
        assert!(extra(r, "server delay").is_some(), "{r:?}");
    }
    assert_eq!(report.rows.iter().filter(|r| r.baseline).count(), 1);
    assert!(report.rows[0].baseline);
    let e = &report.experiments[0];
    assert!(e.article.starts_with("004") && !e.lesson.is_empty());
}

#[test]
fn slow_connections_measure_each_childs_memory() {
    let report = run_one("slow-connections", Scale::Quick, Some(racelab_child()));
    assert!(report.ok(), "{:?}", report.experiments);
    assert_eq!(
        variants(&report),
        ["200 threads", "200 async tasks on one thread"]
    );
    for r in &report.rows {
        assert!(r.seconds.is_some_and(|s| s > 0.0), "{r:?}");
        let rss: f64 = extra(r, "peak RSS MiB")
            .and_then(|v| v.parse().ok())
            .unwrap_or_else(|| panic!("no peak RSS in {r:?}"));
        assert!(rss > 0.0, "{r:?}");
        assert_eq!(extra(r, "connections"), Some("200"), "{r:?}");
        assert!(extra(r, "per connection KiB").is_some(), "{r:?}");
        assert!(extra(r, "child's own time").is_some(), "{r:?}");
    }
    assert!(report.rows[0].baseline && !report.rows[1].baseline);
}

#[test]
fn slow_connections_without_a_child_are_not_run() {
    let report = run_one("slow-connections", Scale::Quick, None);
    assert!(report.ok(), "{:?}", report.experiments);
    assert_eq!(report.rows.len(), 2);
    for r in &report.rows {
        assert_eq!(r.seconds, None, "{r:?}");
        assert!(
            r.note
                .as_deref()
                .is_some_and(|n| n.contains("needs the racelab binary")),
            "{r:?}"
        );
    }
}

#[test]
fn a_child_that_cannot_start_is_one_line_naming_it() {
    let child = Child {
        program: "/nonexistent/racelab-not-here".into(),
        args: vec!["seeds-child".into()],
    };
    let report = run_one("slow-connections", Scale::Quick, Some(child));
    let err = report.experiments[0].error.as_deref().expect("an error");
    assert!(
        err.contains("/nonexistent/racelab-not-here") && !err.contains('\n'),
        "{err}"
    );
    assert!(report.rows.is_empty());
}

/// A loopback server for the child side alone: `n` connections, each echoing one byte.
fn echo_server(n: usize) -> (SocketAddr, std::thread::JoinHandle<()>) {
    let listener = TcpListener::bind("127.0.0.1:0").expect("binds");
    let addr = listener.local_addr().expect("an address");
    let h = std::thread::spawn(move || {
        let conns: Vec<_> = (0..n)
            .map(|_| {
                let (mut s, _) = listener.accept().expect("accepts");
                std::thread::spawn(move || {
                    s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
                    let mut b = [0u8; 1];
                    s.read_exact(&mut b).expect("a byte");
                    s.write_all(&b).expect("writes");
                })
            })
            .collect();
        for c in conns {
            c.join().expect("an echo");
        }
    });
    (addr, h)
}

#[test]
fn the_child_side_runs_in_process() {
    for work in ["slow-threads", "slow-tasks"] {
        let (addr, server) = echo_server(8);
        let line = child_main(&[work.into(), addr.to_string(), "8".into()])
            .unwrap_or_else(|e| panic!("{work}: {e}"));
        assert!(
            line.starts_with(&format!("{work}: 8/8 connections answered in ")),
            "{line}"
        );
        server.join().expect("the echo server");
    }
}

#[test]
fn bad_child_arguments_are_one_line_errors() {
    // A port that refuses: bound, then closed.
    let closed = {
        let l = TcpListener::bind("127.0.0.1:0").expect("binds");
        l.local_addr().expect("an address").to_string()
    };
    for work in ["slow-threads", "slow-tasks"] {
        for args in [
            vec![],
            vec!["127.0.0.1:1"],
            vec!["not-an-address", "3"],
            vec!["127.0.0.1:1", "many"],
            vec!["127.0.0.1:1", "3", "extra"],
            vec![closed.as_str(), "2"],
        ] {
            let mut all = vec![work.to_string()];
            all.extend(args.iter().map(|a| a.to_string()));
            let err = child_main(&all).expect_err(&format!("{all:?} should fail"));
            assert!(!err.is_empty() && !err.contains('\n'), "{all:?}: {err}");
        }
    }
}

#[test]
fn bad_child_arguments_fail_the_binary() {
    let out = racelab_child()
        .command("slow-tasks", &["nowhere".into(), "3".into()])
        .output()
        .expect("the binary runs");
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("nowhere"));
}

/// The figures at full size, printed: `cargo test --release --test seeds_net -- --ignored
/// --nocapture`.
#[test]
#[ignore = "full sizes take seconds; run by hand for the figures"]
fn full_figures() {
    let ctx = Context::new(Scale::Full, Some(racelab_child()));
    let experiments = select(&["downloads".into(), "slow-connections".into()]).unwrap();
    let report = run(&ctx, &experiments, |_| {});
    println!("{}", report.to_markdown());
    assert!(report.ok(), "{:?}", report.experiments);
}
