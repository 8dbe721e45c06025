//! What the harness costs over the checkers it drives: executions per second of one scenario
//! body through racelab's engines against the bare checker, with automatic traces off and on.
//!
//! The body: two threads each take a mutex to increment a counter under it, then `fetch_add`
//! an atomic; the check classifies the end state (both must read 2) with the same function in
//! every version, so what is compared is only what racelab does around the body and the check. The bare versions are the same body written
//! against loom's and shuttle's own types (`loom::model::Builder::check`,
//! `shuttle::check_random`); racelab's run it through `Check`-style engine runs over
//! `R::Mutex`/`R::AtomicUsize`, which adds the wrappers (registry, origin marks, traces), the
//! scenario driver (setup, spawn, join, check through `run_user`) and the per-execution
//! bookkeeping (histogram, budget checks).
//!
//! Ids: `harness/<checker>/<bare|traces-off|traces-full>`. One iteration is one whole engine run
//! (loom: every execution within preemption bound 2; shuttle: 500 random executions), and the
//! number of executions is the same for all three, so the time ratio is the inverse ratio of
//! executions per second. The ratios are printed at the end.
//!
//! ```sh
//! cargo bench --bench harness
//! ```

use criterion::Criterion;
use racelab::Runtime;
use racelab::engine::{self, LoomConfig, RunOptions, ShuttleConfig, Traces};
use racelab::runtime::prelude::*;
use racelab::{Outcome, Scenario};
use std::sync::atomic::Ordering::SeqCst;
use std::time::Duration;

const SHUTTLE_RUNS: usize = 500;

fn scenario<R: Runtime>() -> Scenario<R> {
    Scenario::<R>::builder("2 × (lock, increment, fetch_add)", || {
        (R::Mutex::new(0usize), R::AtomicUsize::new(0))
    })
    .threads(2, |(m, a)| {
        *m.lock() += 1;
        a.fetch_add(1, SeqCst);
    })
    .check(|(m, a), _| judge(*m.lock(), a.load(SeqCst)))
}

/// The check, shared by every version: the bare ones classify the end state the same way, so
/// what differs is only what racelab does around the body and the check.
fn judge(m: usize, a: usize) -> Outcome {
    if m == 2 && a == 2 {
        Outcome::ok("2, 2")
    } else {
        Outcome::forbidden(racelab::BugClass::LostUpdate, "lost")
    }
}

fn bare_loom() -> usize {
    use loom::sync::atomic::AtomicUsize;
    use loom::sync::{Arc, Mutex};
    let runs = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let r = runs.clone();
    let mut b = loom::model::Builder::new();
    b.preemption_bound = Some(2);
    b.check(move || {
        r.fetch_add(1, SeqCst);
        let s = Arc::new((Mutex::new(0usize), AtomicUsize::new(0)));
        let hs: Vec<_> = (0..2)
            .map(|_| {
                let s = s.clone();
                loom::thread::spawn(move || {
                    *s.0.lock().unwrap() += 1;
                    s.1.fetch_add(1, SeqCst);
                })
            })
            .collect();
        for h in hs {
            h.join().unwrap();
        }
        let outcome = judge(*s.0.lock().unwrap(), s.1.load(SeqCst));
        assert!(!outcome.is_forbidden());
    });
    runs.load(SeqCst)
}

fn bare_shuttle() {
    use shuttle::sync::Mutex;
    use shuttle::sync::atomic::AtomicUsize;
    use std::sync::Arc;
    shuttle::check_random(
        || {
            let s = Arc::new((Mutex::new(0usize), AtomicUsize::new(0)));
            let hs: Vec<_> = (0..2)
                .map(|_| {
                    let s = s.clone();
                    shuttle::thread::spawn(move || {
                        *s.0.lock().unwrap() += 1;
                        s.1.fetch_add(1, SeqCst);
                    })
                })
                .collect();
            for h in hs {
                h.join().unwrap();
            }
            let outcome = judge(*s.0.lock().unwrap(), s.1.load(SeqCst));
            assert!(!outcome.is_forbidden());
        },
        SHUTTLE_RUNS,
    );
}

fn opts(traces: Traces) -> RunOptions {
    RunOptions {
        traces,
        ..RunOptions::default()
    }
}

fn racelab_loom(traces: Traces) -> u64 {
    let cfg = LoomConfig {
        preemption_bound: Some(2),
        ..LoomConfig::default()
    };
    let r = engine::loom::run(&scenario::<racelab::Loom>(), &cfg, &opts(traces));
    assert_eq!(r.verdict, engine::Verdict::Passed, "{}", r.summary());
    r.executions
}

fn racelab_shuttle(traces: Traces) -> u64 {
    let cfg = ShuttleConfig {
        iterations: SHUTTLE_RUNS,
        max_time: None,
        ..ShuttleConfig::default()
    };
    let r = engine::shuttle::run(
        &scenario::<racelab::Shuttle>(),
        engine::shuttle::Mode::Random,
        &cfg,
        &opts(traces),
    );
    assert_eq!(r.verdict, engine::Verdict::Passed, "{}", r.summary());
    r.executions
}

fn main() {
    let loom_runs = bare_loom();
    assert_eq!(
        racelab_loom(Traces::Off) as usize,
        loom_runs,
        "racelab must explore what loom explores"
    );
    println!("harness/loom: {loom_runs} executions per run; harness/shuttle: {SHUTTLE_RUNS}");
    let mut c = Criterion::default()
        .sample_size(20)
        .measurement_time(Duration::from_secs(4))
        .warm_up_time(Duration::from_secs(1))
        .configure_from_args();
    {
        let mut g = c.benchmark_group("harness/loom");
        g.bench_function("bare", |b| b.iter(bare_loom));
        g.bench_function("traces-off", |b| b.iter(|| racelab_loom(Traces::Off)));
        g.bench_function("traces-full", |b| b.iter(|| racelab_loom(Traces::Full)));
        g.finish();
    }
    {
        let mut g = c.benchmark_group("harness/shuttle");
        g.bench_function("bare", |b| b.iter(bare_shuttle));
        g.bench_function("traces-off", |b| b.iter(|| racelab_shuttle(Traces::Off)));
        g.bench_function("traces-full", |b| b.iter(|| racelab_shuttle(Traces::Full)));
        g.finish();
    }
    c.final_summary();
    summary();
}

/// Reads this run's estimates back from criterion's output and prints the ratios to bare.
fn summary() {
    let dir = std::env::var_os("CRITERION_HOME")
        .map(std::path::PathBuf::from)
        .unwrap_or_else(|| {
            std::env::var_os("CARGO_TARGET_DIR")
                .map_or_else(|| "target".into(), std::path::PathBuf::from)
                .join("criterion")
        });
    let mean = |group: &str, id: &str| -> Option<f64> {
        let p = dir.join(group).join(id).join("new/estimates.json");
        let v: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(p).ok()?).ok()?;
        v["mean"]["point_estimate"].as_f64()
    };
    println!(
        "\nharness cost (time per engine run, ratio to the bare checker; target: off ≤ 1.2×, full ≤ 1.5×)"
    );
    for (group, checker) in [("harness_loom", "loom"), ("harness_shuttle", "shuttle")] {
        let Some(bare) = mean(group, "bare") else {
            println!("  {checker}: no estimates (filtered out?)");
            continue;
        };
        for id in ["traces-off", "traces-full"] {
            if let Some(t) = mean(group, id) {
                println!(
                    "  {checker:<8} {id:<12} {:>9.1} µs vs bare {:>9.1} µs = {:.2}×",
                    t / 1e3,
                    bare / 1e3,
                    t / bare
                );
            }
        }
    }
}
