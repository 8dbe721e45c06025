//! Compare two detection reports verdict for verdict.
//!
//! `cargo run --release --example compare_reports -- BEFORE.json AFTER.json` prints the
//! comparison (`racelab::compare`). The exit status is 0 when the reports agree (no verdict
//! disagreement, no result removed), 1 when they disagree, and 2 on a bad file or bad usage. A
//! bad file gets a one-line error.

use racelab::compare::{Side, compare};
use serde_json::Value;
use std::io::Write;
use std::process::ExitCode;

fn read(path: &str) -> Result<Value, String> {
    let text = std::fs::read_to_string(path).map_err(|e| format!("cannot read {path}: {e}"))?;
    serde_json::from_str(&text).map_err(|e| format!("{path} is not JSON: {e}"))
}

fn run() -> Result<bool, String> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [before_path, after_path] = args.as_slice() else {
        return Err("usage: compare_reports BEFORE.json AFTER.json".to_string());
    };
    let before = read(before_path)?;
    let after = read(after_path)?;
    let comparison = compare(&before, &after).map_err(|e| match e.side() {
        Some(Side::Before) => format!("{before_path}: {e}"),
        Some(Side::After) => format!("{after_path}: {e}"),
        None => format!("{before_path} vs {after_path}: {e}"),
    })?;
    // A closed pipe (`| head`) is no reason to panic.
    let _ = writeln!(std::io::stdout().lock(), "{comparison}");
    Ok(comparison.agrees())
}

fn main() -> ExitCode {
    match run() {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => ExitCode::from(1),
        Err(e) => {
            eprintln!("compare_reports: {e}");
            ExitCode::from(2)
        }
    }
}
