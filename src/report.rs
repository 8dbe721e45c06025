//! The detection report: the matrix printed by `racelab`, and `report.json` / `report.md`.
//!
//! The JSON follows the contract in the design: `{ "racelab": VERSION, "results": [ { "family",
//! "variant", "expected", "bug_class", "engine", "verdict", "executions", "millis", "message",
//! "replay", "trace" } ] }`, one result per entry, engine and scenario, plus extra fields
//! (`scenario`, `expectation`, `first_failure_at`, `time_to_failure_ms`, `histogram`, `stress`,
//! `preemptions`, `note`).

use crate::catalogue::{Entry, Expect};
use crate::engine::{EngineKind, EngineResult, Replay, Verdict};
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
        let results = entry.run(engine);
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
            .filter(|r| r.verdict == Verdict::Caught || r.verdict == Verdict::Hang)
            .min_by_key(|r| r.first_failure_at.unwrap_or(u64::MAX))
    }
    /// The short text of the matrix cell.
    pub fn cell_text(&self) -> String {
        let mark = if self.is_failure() { "✗ " } else { "" };
        let text = match self.cell {
            Verdict::Caught | Verdict::Hang => {
                let r = self.best_catch().expect("a catching result");
                let what = if self.cell == Verdict::Hang {
                    "hang"
                } else {
                    "caught"
                };
                match r.stress {
                    Some(s) if self.cell == Verdict::Caught => format!("seen {}", s.frequency()),
                    _ => format!("{what} @{}", r.first_failure_at.unwrap_or(0)),
                }
            }
            Verdict::Passed => {
                let n: u64 = self.results.iter().map(|r| r.executions).sum();
                format!("passed ×{}", crate::engine::stress::group(n))
            }
            Verdict::BlindSpot => match self.entry.expectation(self.engine) {
                Expect::Skip(_) => "not run".to_string(),
                _ => "blind spot".to_string(),
            },
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
    /// Wall time of the run.
    pub elapsed: Duration,
}

/// The full replay token of a result: `family/variant/scenario-index/payload`.
pub fn replay_token(entry: &Entry, scenario_index: usize, replay: &Replay) -> String {
    format!(
        "{}/{}/{}/{}",
        entry.family, entry.variant, scenario_index, replay
    )
}

impl Report {
    /// The cells that fail the run, as one line each.
    pub fn failures(&self) -> Vec<String> {
        self.rows
            .iter()
            .filter(|r| r.is_failure())
            .map(|r| {
                if r.entry.racy() {
                    format!(
                        "escape: racy {} was not caught by {}, which must catch it",
                        r.entry.variant, r.engine
                    )
                } else {
                    let why = r
                        .results
                        .iter()
                        .find(|x| x.verdict != Verdict::Passed)
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

    /// The detection matrix: variants × engines.
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
                    let Some(c) = &r.counterexample else { continue };
                    if c.trace.is_empty() && best.is_some() {
                        continue;
                    }
                    let better = match best {
                        None => true,
                        Some((b, _)) => {
                            let bt = &b.counterexample.as_ref().expect("has one").trace;
                            bt.is_empty()
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

    /// The report as JSON, in the contract's shape.
    pub fn to_json(&self) -> Value {
        let mut results = Vec::new();
        for row in &self.rows {
            for (i, r) in row.results.iter().enumerate() {
                let c = r.counterexample.as_ref();
                results.push(json!({
                    "family": row.entry.family,
                    "variant": row.entry.variant,
                    "expected": if row.entry.racy() { "racy" } else { "correct" },
                    "bug_class": row.entry.bug.map(|b| b.name()),
                    "engine": r.engine.name(),
                    "scenario": r.scenario,
                    "expectation": row.entry.expectation(r.engine).name(),
                    "verdict": r.verdict,
                    "executions": r.executions,
                    "millis": r.elapsed.as_secs_f64() * 1e3,
                    "first_failure_at": r.first_failure_at,
                    "time_to_failure_ms": r.time_to_failure.map(|d| d.as_secs_f64() * 1e3),
                    "message": c.map(|c| c.message.clone()),
                    "replay": c.and_then(|c| c.replay.as_ref()).map(|p| replay_token(&row.entry, i, p)),
                    "trace": c.map(|c| c.trace.to_string()).filter(|t| !t.is_empty()),
                    "preemptions": c.and_then(|c| c.preemptions),
                    "histogram": r.histogram,
                    "stress": r.stress,
                    "note": r.note,
                }));
            }
        }
        json!({
            "racelab": env!("CARGO_PKG_VERSION"),
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
            if !c.trace.is_empty() {
                md += &format!("\n```text\n{}\n```\n", c.trace);
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
                    r.message().unwrap_or(&r.note).replace('|', "\\|")
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
