//! The detection report: the matrix printed by `racelab`, and `report.json` / `report.md`.
//!
//! # The JSON contract
//!
//! `{ "racelab": VERSION, "partition", "elapsed_ms", "failures": [line, …], "results": [ … ] }`
//! (`partition`: `{scheme, shard, total, text, cells}` for a shard, `null` otherwise; see
//! [`crate::shard`]), one result
//! per entry, engine and scenario. Each field means one thing on every engine:
//!
//! | field | meaning |
//! |---|---|
//! | `family`, `variant`, `expected` (`racy`/`correct`), `bug_class` | the catalogue entry |
//! | `engine`, `scenario`, `scenario_index` | which run |
//! | `expectation` | `must`, `may`, `blind` or `skip` for this engine |
//! | `verdict` | `caught`, `passed`, `blind_spot`, `not_run`, `error` (never about a limit: see below) |
//! | `summary` | the verdict line, as printed |
//! | `bound` | for `passed`: what ended the run: `{kind, complete, limit, text}`; `kind` is `exhausted` (every schedule within the bound, `complete: true`), `runs` (the budget of sampled runs), `confidence` (the adaptive target), or the cap that stopped it early: `executions`, `time`, `cell_time`, `operations`, `steps`, `shrink_budget`. `null` otherwise |
//! | `guarantee` | for a pass of sampled runs: `{runs, rule_of_three, pct}`; `rule_of_three` is the per-run failure probability the runs rule out at 95% (≈ 3/runs), `pct` is PCT's `{depth, threads, steps, per_run, confidence}` |
//! | `executions` | executions of the scenario the engine ran in total (proptest: search and shrinking; stress: rounds) |
//! | `first_failure_at` | the 1-based execution (round) of the first failure |
//! | `millis`, `time_to_failure_ms` | wall time of the run, and until the first failure |
//! | `class`, `message`, `thread`, `location` | the counterexample's bug class, message, failing thread (as the trace names it) and panic location |
//! | `replay` | `family/variant/scenario-index/payload` for `racelab replay` |
//! | `trace`, `story` | the failing interleaving: every recorded event, or the structure's own events only |
//! | `preemptions` | switches away from a thread that could have gone on, in the failing schedule (`null` for stress) |
//! | `histogram`, `stress`, `note` | outcome counts; stress's rounds/overlap/forbidden; the reason of a `not_run` or `error` |
//!
//! `verdict` is `not_run` when an engine could not run a scenario (loom's thread limit, a skip),
//! with the number in `note`; a pass that a budget or a cap ended says so in `bound`.

use crate::catalogue::{Entry, Expect};
use crate::engine::{EngineKind, EngineResult, Replay, Verdict};
use crate::scenario::BugClass;
#[cfg(feature = "cli")]
use comfy_table::{Cell, Table, presets::UTF8_FULL_CONDENSED};
use serde_json::{Value, json};
use std::time::Duration;

/// One cell of the matrix: an entry under an engine, with a result per scenario.
#[derive(Debug)]
pub struct Row {
    /// The catalogue entry.
    pub entry: Entry,
    /// The engine.
    pub engine: EngineKind,
    /// One result per scenario.
    pub results: Vec<EngineResult>,
    /// The cell's verdict.
    pub cell: Verdict,
}

impl Row {
    /// Runs `entry` under `engine` and builds the row.
    pub fn run(entry: &Entry, engine: &crate::engine::Engine) -> Row {
        Row::run_in(entry, engine, &crate::engine::Check::new())
    }
    /// [`Row::run`] with the options and cell time limit of `check`.
    pub fn run_in(
        entry: &Entry,
        engine: &crate::engine::Engine,
        check: &crate::engine::Check,
    ) -> Row {
        let results = entry.run_in(engine, check);
        let cell = entry.cell(&results);
        Row {
            entry: entry.clone(),
            engine: engine.kind(),
            results,
            cell,
        }
    }
    /// Whether this cell fails the run (false positive or unexpected escape).
    pub fn is_failure(&self) -> bool {
        self.entry.is_failure(self.engine, self.cell)
    }
    /// The result that caught the bug first (fewest executions), if any.
    pub fn best_catch(&self) -> Option<&EngineResult> {
        self.results
            .iter()
            .filter(|r| r.verdict == Verdict::Caught)
            .min_by_key(|r| r.first_failure_at.unwrap_or(u64::MAX))
    }
    /// The short text of the matrix cell: `caught @N`, `seen k in N` (stress), `deadlock @N`
    /// (a stress hang), `passed ×N` (every scenario exhaustive within its bound), `passed ×N
    /// (budget)` (some scenario ran a budget of sampled schedules, or a cap stopped it),
    /// `blind spot`, `not run`, `error`.
    pub fn cell_text(&self) -> String {
        let mark = if self.is_failure() { "✗ " } else { "" };
        let text = match self.cell {
            Verdict::Caught => {
                let r = self.best_catch().expect("a catching result");
                let class = r.counterexample.as_ref().map(|c| c.class);
                match (r.stress, class) {
                    (Some(_), Some(c @ (BugClass::Deadlock | BugClass::Hang))) => {
                        format!("{c} @{}", r.first_failure_at.unwrap_or(0))
                    }
                    (Some(s), _) => format!("seen {}", s.frequency()),
                    _ => format!("caught @{}", r.first_failure_at.unwrap_or(0)),
                }
            }
            Verdict::Passed => {
                let ran: Vec<&EngineResult> = self
                    .results
                    .iter()
                    .filter(|r| r.verdict == Verdict::Passed)
                    .collect();
                let n: u64 = ran.iter().map(|r| r.executions).sum();
                let capped = ran
                    .iter()
                    .any(|r| matches!(r.bound, Some(crate::engine::Bound::Cap(_))));
                let complete = ran.iter().all(|r| r.passed_exhaustively());
                let suffix = if capped {
                    " (capped)"
                } else if complete {
                    ""
                } else {
                    " (budget)"
                };
                format!("passed ×{}{suffix}", crate::engine::stress::group(n))
            }
            Verdict::BlindSpot => "blind spot".to_string(),
            Verdict::NotRun => "not run".to_string(),
            Verdict::Error => "error".to_string(),
        };
        format!("{mark}{text}")
    }
}

/// A whole run.
#[derive(Debug, Default)]
pub struct Report {
    /// Every cell.
    pub rows: Vec<Row>,
    /// Wall time of the run (of a merged report: the shards' times added up).
    pub elapsed: Duration,
    /// The share of the cells this run was asked for (`--partition`), when it was a shard.
    pub partition: Option<crate::shard::Partition>,
    /// Traces read back from a report's JSON (see [`crate::shard::merge`]), as text, keyed by
    /// [`trace_key`]; a result run in this process keeps its `Trace` instead.
    pub restored_traces: std::collections::BTreeMap<String, String>,
}

/// The key of a result's restored trace: `family/variant/engine/scenario-index`.
pub fn trace_key(entry: &Entry, engine: EngineKind, scenario_index: usize) -> String {
    format!(
        "{}/{}/{engine}/{scenario_index}",
        entry.family, entry.variant
    )
}

/// The full replay token of a result: `family/variant/scenario-index/payload`.
pub fn replay_token(entry: &Entry, scenario_index: usize, replay: &Replay) -> String {
    format!(
        "{}/{}/{}/{}",
        entry.family, entry.variant, scenario_index, replay
    )
}

impl Report {
    /// Runs every entry under every engine of `engines` with the options of `check`, in the
    /// order given (entry by entry, engine by engine), and times the whole run.
    ///
    /// The model checkers' cells run on `jobs` threads at once: each cell is one single-threaded
    /// checker, and their results do not depend on `jobs` (a test shows it), except where a
    /// time cap ends a run. The stress cells then run one at a time, alone, since each needs
    /// every core. `on_cell` is called as each cell starts, from the thread running it.
    /// `jobs` of 0 counts as 1.
    pub fn run(
        entries: &[Entry],
        engines: &[EngineKind],
        check: &crate::engine::Check,
        jobs: usize,
        on_cell: impl Fn(&Entry, EngineKind) + Sync,
    ) -> Report {
        let cells: Vec<(Entry, EngineKind)> = entries
            .iter()
            .flat_map(|e| engines.iter().map(move |&k| (e.clone(), k)))
            .collect();
        Report::run_cells(&cells, check, jobs, on_cell)
    }

    /// [`Report::run`] over the cells given, in their order: what a shard runs
    /// ([`crate::shard::Partition::cells`]).
    pub fn run_cells(
        cells: &[(Entry, EngineKind)],
        check: &crate::engine::Check,
        jobs: usize,
        on_cell: impl Fn(&Entry, EngineKind) + Sync,
    ) -> Report {
        let start = std::time::Instant::now();
        let run = |i: usize| {
            let (entry, kind) = (&cells[i].0, cells[i].1);
            on_cell(entry, kind);
            Row::run_in(entry, &check.engine_of(kind), check)
        };
        let (stress, model): (Vec<usize>, Vec<usize>) =
            (0..cells.len()).partition(|&i| cells[i].1 == EngineKind::Stress);
        let next = std::sync::atomic::AtomicUsize::new(0);
        // Each job takes the next model cell until none is left, and hands back what it ran.
        let mut rows: Vec<(usize, Row)> = std::thread::scope(|s| {
            let jobs: Vec<_> = (0..jobs.clamp(1, model.len().max(1)))
                .map(|_| {
                    s.spawn(|| {
                        let mut ran = Vec::new();
                        while let Some(&i) =
                            model.get(next.fetch_add(1, std::sync::atomic::Ordering::Relaxed))
                        {
                            ran.push((i, run(i)));
                        }
                        ran
                    })
                })
                .collect();
            jobs.into_iter()
                .flat_map(|j| j.join().unwrap_or_else(|p| std::panic::resume_unwind(p)))
                .collect()
        });
        rows.extend(stress.into_iter().map(|i| (i, run(i))));
        rows.sort_by_key(|(i, _)| *i);
        Report {
            rows: rows.into_iter().map(|(_, row)| row).collect(),
            elapsed: start.elapsed(),
            ..Report::default()
        }
    }

    /// The cells that fail the run, as one line each.
    pub fn failures(&self) -> Vec<String> {
        self.rows
            .iter()
            .filter(|r| r.is_failure())
            .map(|r| {
                if r.cell == Verdict::Error {
                    let why = r
                        .results
                        .iter()
                        .find(|x| x.verdict == Verdict::Error)
                        .map(|x| x.note.as_str())
                        .unwrap_or_default();
                    format!(
                        "error: racelab could not check {} under {}: {why}",
                        r.entry.variant, r.engine
                    )
                } else if r.entry.racy() {
                    format!(
                        "escape: racy {} was not caught by {}, which must catch it",
                        r.entry.variant, r.engine
                    )
                } else {
                    // The scenario whose verdict is the cell's (not a scenario the engine
                    // could not run, which neither passes nor fails the cell).
                    let why = r
                        .results
                        .iter()
                        .find(|x| x.verdict == r.cell)
                        .or_else(|| r.results.iter().find(|x| x.verdict != Verdict::Passed))
                        .map(|x| x.message().unwrap_or(&x.note).to_string())
                        .unwrap_or_default();
                    format!(
                        "false positive: correct {} was {} by {}: {why}",
                        r.entry.variant, r.cell, r.engine
                    )
                }
            })
            .collect()
    }

    fn entries(&self) -> Vec<&Entry> {
        let mut seen: Vec<&Entry> = Vec::new();
        for r in &self.rows {
            if !seen.iter().any(|e| e.key() == r.entry.key()) {
                seen.push(&r.entry);
            }
        }
        seen
    }

    fn engines(&self) -> Vec<EngineKind> {
        EngineKind::ALL
            .into_iter()
            .filter(|k| self.rows.iter().any(|r| r.engine == *k))
            .collect()
    }

    fn row(&self, entry: &Entry, engine: EngineKind) -> Option<&Row> {
        self.rows
            .iter()
            .find(|r| r.engine == engine && r.entry.key() == entry.key())
    }

    /// The detection matrix: variants × engines (feature `cli`).
    #[cfg(feature = "cli")]
    pub fn matrix(&self) -> Table {
        let mut t = Table::new();
        t.load_preset(UTF8_FULL_CONDENSED);
        let engines = self.engines();
        let mut header = vec![Cell::new("variant"), Cell::new("expected")];
        header.extend(engines.iter().map(|e| Cell::new(e.name())));
        t.set_header(header);
        for entry in self.entries() {
            let mut cells = vec![
                Cell::new(entry.variant),
                Cell::new(match entry.bug {
                    Some(b) => format!("racy: {b}"),
                    None => "correct".to_string(),
                }),
            ];
            for &e in &engines {
                cells.push(Cell::new(
                    self.row(entry, e).map(Row::cell_text).unwrap_or_default(),
                ));
            }
            t.add_row(cells);
        }
        t
    }

    /// For each racy entry, its best counterexample: the proptest-shrunk one when there is one
    /// (smallest interleaving), else the first engine's that has a trace.
    pub fn counterexamples(&self) -> Vec<(&Entry, &EngineResult, usize)> {
        let mut out = Vec::new();
        for entry in self.entries().into_iter().filter(|e| e.racy()) {
            let mut best: Option<(&EngineResult, usize)> = None;
            for row in self.rows.iter().filter(|r| r.entry.key() == entry.key()) {
                for (i, r) in row.results.iter().enumerate() {
                    if r.counterexample.is_none() {
                        continue;
                    }
                    let traced = |r: &EngineResult| self.trace_text(&row.entry, r).is_some();
                    if !traced(r) && best.is_some() {
                        continue;
                    }
                    let better = match best {
                        None => true,
                        Some((b, _)) => {
                            !traced(b)
                                || (r.engine == EngineKind::Proptest
                                    && b.engine != EngineKind::Proptest)
                        }
                    };
                    if better {
                        best = Some((r, i));
                    }
                }
            }
            if let Some((r, i)) = best {
                out.push((entry, r, i));
            }
        }
        out
    }

    /// The text of a result's trace: its own, or the one restored from a report's JSON.
    pub fn trace_text(&self, entry: &Entry, r: &EngineResult) -> Option<String> {
        let c = r.counterexample.as_ref()?;
        if !c.trace.is_empty() {
            return Some(c.trace.to_string());
        }
        self.restored_traces
            .get(&trace_key(entry, r.engine, r.scenario_index))
            .cloned()
    }

    /// The report as JSON, in the contract's shape.
    pub fn to_json(&self) -> Value {
        let mut results = Vec::new();
        for row in &self.rows {
            for r in &row.results {
                let mut v = r.to_json();
                let o = v.as_object_mut().expect("an object");
                o.insert("family".into(), json!(row.entry.family));
                o.insert("variant".into(), json!(row.entry.variant));
                o.insert(
                    "expected".into(),
                    json!(if row.entry.racy() { "racy" } else { "correct" }),
                );
                o.insert("bug_class".into(), json!(row.entry.bug.map(|b| b.name())));
                o.insert(
                    "expectation".into(),
                    json!(row.entry.expectation(r.engine).name()),
                );
                if let Some(t) =
                    self.restored_traces
                        .get(&trace_key(&row.entry, r.engine, r.scenario_index))
                {
                    o.insert("trace".into(), json!(t));
                    if let Some(story) = self.restored_traces.get(&format!(
                        "{}#story",
                        trace_key(&row.entry, r.engine, r.scenario_index)
                    )) {
                        o.insert("story".into(), json!(story));
                    }
                }
                o.insert(
                    "replay".into(),
                    json!(
                        r.counterexample
                            .as_ref()
                            .and_then(|c| c.replay.as_ref())
                            .map(|p| replay_token(&row.entry, r.scenario_index, p))
                    ),
                );
                results.push(v);
            }
        }
        json!({
            "racelab": env!("CARGO_PKG_VERSION"),
            "partition": self.partition.map(|p| p.to_json(self.rows.len())),
            "elapsed_ms": self.elapsed.as_secs_f64() * 1e3,
            "failures": self.failures(),
            "results": results,
        })
    }

    /// The report as Markdown: the matrix, the counterexamples, and per-scenario figures.
    pub fn to_markdown(&self) -> String {
        let mut md = String::from("# racelab detection report\n\n");
        let engines = self.engines();
        md += "| variant | expected |";
        for e in &engines {
            md += &format!(" {e} |");
        }
        md += "\n|---|---|";
        md += &"---|".repeat(engines.len());
        md += "\n";
        for entry in self.entries() {
            md += &format!(
                "| {} | {} |",
                entry.variant,
                entry
                    .bug
                    .map_or("correct".to_string(), |b| format!("racy: {b}"))
            );
            for &e in &engines {
                md += &format!(
                    " {} |",
                    self.row(entry, e).map(Row::cell_text).unwrap_or_default()
                );
            }
            md += "\n";
        }
        let failures = self.failures();
        md += &format!(
            "\n{} cells, {} failures, {:.1} s.\n",
            self.rows.len(),
            failures.len(),
            self.elapsed.as_secs_f64()
        );
        for f in failures {
            md += &format!("- {f}\n");
        }
        md += "\n## Counterexamples\n";
        for (entry, r, i) in self.counterexamples() {
            let c = r.counterexample.as_ref().expect("has one");
            md += &format!(
                "\n### {} ({}, `{}`)\n\n{}\n",
                entry.variant, r.engine, r.scenario, c.message
            );
            if let Some(trace) = self.trace_text(entry, r) {
                md += &format!("\n```text\n{trace}\n```\n");
            }
            if let Some(p) = &c.replay {
                md += &format!("\nreplay: `racelab replay {}`\n", replay_token(entry, i, p));
            }
        }
        md += "\n## Per scenario\n\n| variant | engine | scenario | verdict | executions | first failure at | ms | note |\n|---|---|---|---|---|---|---|---|\n";
        for row in &self.rows {
            for r in &row.results {
                md += &format!(
                    "| {} | {} | {} | {} | {} | {} | {:.1} | {} |\n",
                    row.entry.variant,
                    r.engine,
                    r.scenario,
                    r.verdict,
                    r.executions,
                    r.first_failure_at.map_or("—".into(), |n| n.to_string()),
                    r.elapsed.as_secs_f64() * 1e3,
                    r.summary().lines().next().unwrap_or("").replace('|', "\\|")
                );
            }
        }
        md += "\n## Blind spots\n\n";
        for entry in self.entries() {
            for (k, e) in entry.expect {
                if !entry.racy() {
                    continue;
                }
                if let Expect::Blind(why) | Expect::Skip(why) = e {
                    md += &format!("- {} under {k}: {why}\n", entry.variant);
                }
            }
        }
        md
    }
}
