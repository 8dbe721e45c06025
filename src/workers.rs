//! The model checkers' cells in worker processes: what `racelab --jobs N` runs on.
//!
//! Two threads of loom or shuttle in one process run slower than two processes: each execution
//! maps, protects and unmaps a coroutine stack, and those calls serialise on the address space
//! the threads share (see `docs/scale.md`). So [`run_cells`] starts `jobs` worker processes,
//! hands each the next model-checker cell by name as it finishes the last, and reads the cell's
//! report back; the stress cells then run in this process, one at a time, alone, as in
//! [`Report::run_cells`].
//!
//! The protocol is one line each way: the parent writes a cell's name
//! ([`crate::shard::cell_name`], `family/variant/engine`), the worker ([`serve`]) runs it and
//! answers with a one-row report in the JSON contract ([`Report::to_json`]) on one line, or
//! `{"error": "…"}` for a name it does not have. A worker is built from the same command line as
//! its parent, so its cells and [`Check`] are the parent's by construction.
//!
//! A worker that dies (a signal, an abort in the code under test, a reply that is not a
//! report) costs one cell, reported as [`Verdict::Error`](crate::engine::Verdict::Error) with
//! the reason, never as a verdict about the code; the next cell gets a new worker.

use crate::catalogue::Entry;
use crate::engine::{Check, EngineKind, EngineResult};
use crate::report::{Report, Row};
use crate::shard::cell_name;
use serde_json::Value;
use std::io::{BufRead, BufReader, Write};
use std::process::{Child, ChildStdin, ChildStdout, Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};

/// The worker's side: reads cell names from `input`, one a line, runs each of `cells` named
/// with `check`, and answers each on `output` with one line of JSON. Returns at the end of
/// `input`.
///
/// # Errors
/// Reading `input` or writing `output` failed (the parent went away).
pub fn serve(
    cells: &[(Entry, EngineKind)],
    check: &Check,
    input: impl BufRead,
    mut output: impl Write,
) -> std::io::Result<()> {
    for line in input.lines() {
        let line = line?;
        let name = line.trim();
        if name.is_empty() {
            continue;
        }
        let reply = match cells.iter().find(|(e, k)| cell_name(e, *k) == name) {
            Some((entry, kind)) => Report {
                rows: vec![Row::run_in(entry, &check.engine_of(*kind), check)],
                ..Report::default()
            }
            .to_json(),
            None => serde_json::json!({
                "error": format!("no cell `{name}` in this worker's selection"),
            }),
        };
        writeln!(output, "{reply}")?;
        output.flush()?;
    }
    Ok(())
}

/// One worker process and its pipes.
struct Worker {
    child: Child,
    stdin: Option<ChildStdin>,
    stdout: BufReader<ChildStdout>,
}

impl Worker {
    fn start(mut cmd: Command) -> Result<Worker, String> {
        let mut child = cmd
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .map_err(|e| format!("cannot start a worker process: {e}"))?;
        let (stdin, stdout) = (child.stdin.take(), child.stdout.take());
        match (stdin, stdout) {
            (Some(i), Some(o)) => Ok(Worker {
                child,
                stdin: Some(i),
                stdout: BufReader::new(o),
            }),
            _ => {
                let _ = child.kill();
                let _ = child.wait();
                Err("a worker process without pipes".into())
            }
        }
    }

    /// Asks for one cell and returns the worker's reply, or why there is none.
    fn ask(&mut self, name: &str) -> Result<Value, String> {
        let sent = match self.stdin.as_mut() {
            Some(i) => writeln!(i, "{name}").and_then(|()| i.flush()),
            None => Err(std::io::ErrorKind::BrokenPipe.into()),
        };
        let mut line = String::new();
        let read = sent.and_then(|()| self.stdout.read_line(&mut line));
        match read {
            Ok(n) if n > 0 => serde_json::from_str(&line)
                .map_err(|e| format!("the worker's reply is not JSON: {e}")),
            Ok(_) | Err(_) => Err(format!("the worker process died ({})", self.exit())),
        }
    }

    /// Waits for a worker whose pipe closed, and says how it ended.
    fn exit(&mut self) -> String {
        drop(self.stdin.take());
        match self.child.wait() {
            Ok(status) => status.to_string(),
            Err(e) => format!("cannot wait for it: {e}"),
        }
    }
}

impl Drop for Worker {
    fn drop(&mut self) {
        // The end of its input tells a healthy worker to exit; one that does not answer is
        // killed (a drop after an error).
        drop(self.stdin.take());
        if !matches!(self.child.try_wait(), Ok(Some(_))) {
            let _ = self.child.kill();
        }
        let _ = self.child.wait();
    }
}

/// A cell whose worker gave no report: each scenario an error with `why`.
fn error_row(entry: &Entry, kind: EngineKind, why: &str) -> Row {
    let results: Vec<EngineResult> = entry
        .scenarios
        .names()
        .iter()
        .enumerate()
        .map(|(i, s)| EngineResult {
            scenario_index: i,
            ..EngineResult::error(kind, s, format!("{}: {why}", cell_name(entry, kind)))
        })
        .collect();
    Row {
        cell: entry.cell(&results),
        entry: entry.clone(),
        engine: kind,
        results,
    }
}

/// The row of a worker's reply, with its restored traces, or why it is not one.
fn row_of(
    reply: &Value,
    entry: &Entry,
    kind: EngineKind,
) -> Result<(Row, std::collections::BTreeMap<String, String>), String> {
    if let Some(e) = reply.get("error").and_then(Value::as_str) {
        return Err(format!("the worker: {e}"));
    }
    let mut one = Report::from_json(reply).map_err(|e| format!("the worker's reply: {e}"))?;
    match one.rows.pop() {
        Some(row)
            if one.rows.is_empty() && row.engine == kind && row.entry.key() == entry.key() =>
        {
            Ok((row, std::mem::take(&mut one.restored_traces)))
        }
        _ => Err("the worker answered with another cell".into()),
    }
}

/// [`Report::run_cells`] with the model checkers' cells in `jobs` worker processes, each
/// started by `worker` (a command that runs [`serve`] over the same cells and check). The
/// stress cells run afterwards in this process, one at a time. With `jobs` ≤ 1, or one model
/// cell, everything runs in this process. `on_cell` is called as each cell starts.
pub fn run_cells(
    cells: &[(Entry, EngineKind)],
    check: &Check,
    jobs: usize,
    worker: impl Fn() -> Command + Sync,
    on_cell: impl Fn(&Entry, EngineKind) + Sync,
) -> Report {
    let (stress, model): (Vec<usize>, Vec<usize>) =
        (0..cells.len()).partition(|&i| cells[i].1 == EngineKind::Stress);
    let jobs = jobs.min(model.len());
    if jobs <= 1 {
        return Report::run_cells(cells, check, 1, on_cell);
    }
    let start = std::time::Instant::now();
    let next = AtomicUsize::new(0);
    let mut report = Report::default();
    let mut rows: Vec<(usize, Row)> = std::thread::scope(|s| {
        let threads: Vec<_> = (0..jobs)
            .map(|_| {
                s.spawn(|| {
                    let mut ran = Vec::new();
                    let mut traces = std::collections::BTreeMap::new();
                    let mut w: Option<Worker> = None;
                    while let Some(&i) = model.get(next.fetch_add(1, Ordering::Relaxed)) {
                        let (entry, kind) = (&cells[i].0, cells[i].1);
                        on_cell(entry, kind);
                        let reply = match w.as_mut() {
                            Some(w) => Ok(w),
                            None => Worker::start(worker()).map(|x| w.insert(x)),
                        }
                        .and_then(|w| w.ask(&cell_name(entry, kind)))
                        .and_then(|v| row_of(&v, entry, kind));
                        match reply {
                            Ok((row, t)) => {
                                traces.extend(t);
                                ran.push((i, row));
                            }
                            Err(why) => {
                                // The next cell gets a fresh worker.
                                w = None;
                                ran.push((i, error_row(entry, kind, &why)));
                            }
                        }
                    }
                    (ran, traces)
                })
            })
            .collect();
        threads
            .into_iter()
            .flat_map(|t| {
                let (ran, traces) = t.join().unwrap_or_else(|p| std::panic::resume_unwind(p));
                report.restored_traces.extend(traces);
                ran
            })
            .collect()
    });
    for i in stress {
        let (entry, kind) = (&cells[i].0, cells[i].1);
        on_cell(entry, kind);
        rows.push((i, Row::run_in(entry, &check.engine_of(kind), check)));
    }
    rows.sort_by_key(|(i, _)| *i);
    report.rows = rows.into_iter().map(|(_, row)| row).collect();
    report.elapsed = start.elapsed();
    report
}
