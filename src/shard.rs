//! Shards of the matrix and their merge: `racelab --partition hash:K/N` runs a deterministic
//! share of the cells, and `racelab merge` rebuilds one report and one exit status from the
//! shards' JSON.
//!
//! # Partitions
//!
//! The syntax and meaning are cargo-nextest's (`--partition hash:K/N` or `count:K/N`, K from 1
//! to N):
//! - `hash:K/N` takes the cells whose name hashes to K (FNV-1a, 64 bits, of
//!   `family/variant/engine`, modulo N, plus 1). A cell's shard depends on its name only, so
//!   adding an entry moves no other cell, and every machine agrees without talking.
//! - `count:K/N` takes every Nth cell of the selection, starting at the Kth: even shares, but a
//!   cell's shard moves when the selection changes.
//!
//! The unit is the cell, an entry under one engine, not the scenario. A cell's verdict needs all
//! of its scenarios (a racy variant is caught when any scenario catches it), and a cell time
//! limit is shared by its scenarios, so a cell split across shards would judge differently from
//! one run whole. With whole cells, each shard's own exit status is already true for its cells.
//!
//! # Merging
//!
//! [`merge`] reads the shards back ([`Report::from_json`]), checks that they fit together, and
//! puts the cells in catalogue order. Every check failure is one line, naming the file:
//! - a file that is not JSON or not a racelab report, or a result it cannot read;
//! - a report written by another racelab version (the catalogue and the verdicts' meaning
//!   belong to a version);
//! - shards of different partitions (`hash:1/4` beside `count:2/4`, or `/4` beside `/3`), the
//!   same shard twice, or a shard missing;
//! - a cell present in two files.
//!
//! Reports without a partition (runs of different engines, say) merge too, under the last rule.

use crate::catalogue::{Entry, catalogue};
use crate::engine::{EngineKind, EngineResult};
use crate::report::{Report, Row, trace_key};
use serde_json::{Value, json};
use std::fmt;
use std::str::FromStr;
use std::time::Duration;

/// How a partition picks its share.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scheme {
    /// By a hash of the cell's name.
    Hash,
    /// Every Nth cell of the selection.
    Count,
}

/// A share of the cells: shard `shard` of `total` (1-based), by `scheme`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Partition {
    /// How the share is picked.
    pub scheme: Scheme,
    /// Which shard, from 1 to `total`.
    pub shard: u32,
    /// How many shards.
    pub total: u32,
}

impl fmt::Display for Partition {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let scheme = match self.scheme {
            Scheme::Hash => "hash",
            Scheme::Count => "count",
        };
        write!(f, "{scheme}:{}/{}", self.shard, self.total)
    }
}

impl FromStr for Partition {
    type Err = String;
    /// `hash:K/N` or `count:K/N`, 1 ≤ K ≤ N.
    fn from_str(s: &str) -> Result<Partition, String> {
        let bad = |why: &str| {
            format!("bad partition `{s}`: {why} (expected hash:K/N or count:K/N, 1 <= K <= N)")
        };
        let (scheme, share) = s.split_once(':').ok_or_else(|| bad("no scheme"))?;
        let scheme = match scheme {
            "hash" => Scheme::Hash,
            "count" => Scheme::Count,
            _ => return Err(bad("unknown scheme")),
        };
        let (k, n) = share.split_once('/').ok_or_else(|| bad("no K/N"))?;
        let k: u32 = k.parse().map_err(|_| bad("K is not a number"))?;
        let n: u32 = n.parse().map_err(|_| bad("N is not a number"))?;
        if n == 0 || k == 0 || k > n {
            return Err(bad("K out of range"));
        }
        Ok(Partition {
            scheme,
            shard: k,
            total: n,
        })
    }
}

/// FNV-1a, 64 bits: small, stable across platforms and releases (std's hasher is neither).
fn fnv1a(s: &str) -> u64 {
    s.bytes().fold(0xcbf2_9ce4_8422_2325, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x0000_0100_0000_01b3)
    })
}

/// A cell's name, as partitions hash it: `family/variant/engine`.
pub fn cell_name(entry: &Entry, engine: EngineKind) -> String {
    format!("{}/{}/{engine}", entry.family, entry.variant)
}

impl Partition {
    /// Whether the cell at `index` of the selection, named `name`, is in this share.
    pub fn selects(&self, index: usize, name: &str) -> bool {
        let slot = match self.scheme {
            Scheme::Hash => fnv1a(name) % u64::from(self.total),
            Scheme::Count => index as u64 % u64::from(self.total),
        };
        slot + 1 == u64::from(self.shard)
    }
    /// This share of the cells of `entries` × `engines`, in their order (entry by entry, engine
    /// by engine).
    pub fn cells(&self, entries: &[Entry], engines: &[EngineKind]) -> Vec<(Entry, EngineKind)> {
        entries
            .iter()
            .flat_map(|e| engines.iter().map(move |&k| (e, k)))
            .enumerate()
            .filter(|(i, (e, k))| self.selects(*i, &cell_name(e, *k)))
            .map(|(_, (e, k))| (e.clone(), k))
            .collect()
    }
    /// The report's `partition` field: `{scheme, shard, total, text, cells}`.
    pub fn to_json(&self, cells: usize) -> Value {
        json!({
            "scheme": match self.scheme { Scheme::Hash => "hash", Scheme::Count => "count" },
            "shard": self.shard,
            "total": self.total,
            "text": self.to_string(),
            "cells": cells,
        })
    }
}

impl Report {
    /// Reads a report back from its JSON ([the contract](crate::report)). Entries are looked up
    /// in this version's catalogue by `family/variant`; traces come back as text
    /// ([`Report::restored_traces`]).
    ///
    /// # Errors
    /// A one-line description: not a report, another racelab version, an unknown entry, a
    /// result it cannot read.
    pub fn from_json(v: &Value) -> Result<Report, String> {
        let version = v
            .get("racelab")
            .and_then(Value::as_str)
            .ok_or("not a racelab report (no `racelab` version field)")?;
        if version != env!("CARGO_PKG_VERSION") {
            return Err(format!(
                "written by racelab {version}, and this is racelab {}",
                env!("CARGO_PKG_VERSION")
            ));
        }
        let results = v
            .get("results")
            .and_then(Value::as_array)
            .ok_or("not a racelab report (no `results` list)")?;
        let partition = match v.get("partition").filter(|p| !p.is_null()) {
            None => None,
            Some(p) => Some(
                p.get("text")
                    .and_then(Value::as_str)
                    .ok_or("bad `partition`: no `text`")?
                    .parse::<Partition>()?,
            ),
        };
        let entries = catalogue();
        let mut report = Report {
            elapsed: Duration::from_secs_f64(
                v.get("elapsed_ms")
                    .and_then(Value::as_f64)
                    .unwrap_or(0.0)
                    .max(0.0)
                    / 1e3,
            ),
            partition,
            ..Report::default()
        };
        for (n, r) in results.iter().enumerate() {
            let at = |e: String| format!("result {}: {e}", n + 1);
            let name = |k: &str| {
                r.get(k)
                    .and_then(Value::as_str)
                    .ok_or_else(|| at(format!("no `{k}`")))
            };
            let (family, variant) = (name("family")?, name("variant")?);
            let entry = entries
                .iter()
                .find(|e| e.family == family && e.variant == variant)
                .ok_or_else(|| at(format!("`{family}/{variant}` is not in this catalogue")))?;
            let result = EngineResult::from_json(r).map_err(at)?;
            for (key, field) in [("", "trace"), ("#story", "story")] {
                if let Some(t) = r.get(field).and_then(Value::as_str) {
                    let k = trace_key(entry, result.engine, result.scenario_index) + key;
                    report.restored_traces.insert(k, t.to_string());
                }
            }
            match report
                .rows
                .iter_mut()
                .find(|row| row.engine == result.engine && row.entry.key() == entry.key())
            {
                Some(row) => {
                    if row
                        .results
                        .iter()
                        .any(|x| x.scenario_index == result.scenario_index)
                    {
                        return Err(at(format!(
                            "`{}` scenario {} appears twice",
                            cell_name(entry, result.engine),
                            result.scenario_index
                        )));
                    }
                    row.results.push(result);
                }
                None => report.rows.push(Row {
                    entry: entry.clone(),
                    engine: result.engine,
                    results: vec![result],
                    cell: crate::engine::Verdict::NotRun,
                }),
            }
        }
        for row in &mut report.rows {
            row.results.sort_by_key(|r| r.scenario_index);
            row.cell = row.entry.cell(&row.results);
        }
        Ok(report)
    }
}

/// Merges shards, given as `(file name, JSON)`, into one report in catalogue order (entry by
/// entry, engine by engine). See the [module docs](self) for what is checked.
///
/// # Errors
/// One line naming the file and what is wrong.
pub fn merge(shards: &[(String, Value)]) -> Result<Report, String> {
    if shards.is_empty() {
        return Err("merge needs at least one report".into());
    }
    let mut read: Vec<(&str, Report)> = Vec::new();
    for (file, v) in shards {
        let r = Report::from_json(v).map_err(|e| format!("{file}: {e}"))?;
        read.push((file, r));
    }
    // Partitions: one scheme and one total, each shard once, none missing.
    let parts: Vec<(&str, Partition)> = read
        .iter()
        .filter_map(|(f, r)| r.partition.map(|p| (*f, p)))
        .collect();
    if let Some(&(first_file, first)) = parts.first() {
        if parts.len() != read.len() {
            let whole = read
                .iter()
                .find(|(_, r)| r.partition.is_none())
                .expect("one");
            return Err(format!(
                "{} is a whole run and {first_file} is shard {first}: merge the shards of one partition, or whole runs",
                whole.0
            ));
        }
        for (i, &(f, p)) in parts.iter().enumerate() {
            if (p.scheme, p.total) != (first.scheme, first.total) {
                return Err(format!(
                    "{f} is shard {p} and {first_file} is shard {first}: not one partition"
                ));
            }
            if let Some((g, _)) = parts[..i].iter().find(|(_, q)| q.shard == p.shard) {
                return Err(format!("{g} and {f} are both shard {p}"));
            }
        }
        let missing: Vec<String> = (1..=first.total)
            .filter(|k| !parts.iter().any(|(_, p)| p.shard == *k))
            .map(|k| k.to_string())
            .collect();
        if !missing.is_empty() {
            return Err(format!(
                "shard {} of {} missing (given: {})",
                missing.join(", "),
                first.total,
                parts.iter().map(|(f, _)| *f).collect::<Vec<_>>().join(", ")
            ));
        }
    }
    let mut merged = Report::default();
    let mut from: Vec<&str> = Vec::new();
    for (file, r) in read {
        merged.elapsed += r.elapsed;
        merged.restored_traces.extend(r.restored_traces);
        for row in r.rows {
            if let Some(i) = merged
                .rows
                .iter()
                .position(|x| x.engine == row.engine && x.entry.key() == row.entry.key())
            {
                return Err(format!(
                    "cell `{}` is in both {} and {file}",
                    cell_name(&row.entry, row.engine),
                    from[i]
                ));
            }
            merged.rows.push(row);
            from.push(file);
        }
    }
    let entries = catalogue();
    let order = |row: &Row| {
        let e = entries
            .iter()
            .position(|e| e.key() == row.entry.key())
            .unwrap_or(usize::MAX);
        let k = EngineKind::ALL.iter().position(|k| *k == row.engine);
        (e, k)
    };
    let keys: Vec<_> = merged.rows.iter().map(order).collect();
    let mut indexed: Vec<(usize, Row)> = merged.rows.drain(..).enumerate().collect();
    indexed.sort_by_key(|(i, _)| keys[*i]);
    merged.rows = indexed.into_iter().map(|(_, r)| r).collect();
    Ok(merged)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn partitions_parse_as_nextest_spells_them() {
        let p: Partition = "hash:2/4".parse().unwrap();
        assert_eq!((p.scheme, p.shard, p.total), (Scheme::Hash, 2, 4));
        assert_eq!(p.to_string(), "hash:2/4");
        assert_eq!(
            "count:1/1".parse::<Partition>().unwrap().scheme,
            Scheme::Count
        );
        for bad in [
            "hash:0/4",
            "hash:5/4",
            "hash:1/0",
            "hash:1",
            "slice:1/2",
            "1/2",
            "hash:a/2",
            "",
        ] {
            let e = bad.parse::<Partition>().unwrap_err();
            assert!(e.starts_with("bad partition"), "{bad}: {e}");
            assert!(!e.contains('\n'));
        }
    }

    #[test]
    fn the_shards_of_a_partition_cover_every_cell_once() {
        let entries = catalogue();
        let all = EngineKind::ALL;
        let n = entries.len() * all.len();
        for scheme in ["hash", "count"] {
            let mut seen = vec![0; n];
            for k in 1..=4 {
                let p: Partition = format!("{scheme}:{k}/4").parse().unwrap();
                let cells = p.cells(&entries, &all);
                assert!(!cells.is_empty(), "{p} is empty");
                for (e, kind) in cells {
                    let i = entries.iter().position(|x| x.key() == e.key()).unwrap() * all.len()
                        + all.iter().position(|x| *x == kind).unwrap();
                    seen[i] += 1;
                }
            }
            assert!(seen.iter().all(|c| *c == 1), "{scheme}: {seen:?}");
        }
    }

    #[test]
    fn a_hash_shard_does_not_depend_on_the_other_cells() {
        let entries = catalogue();
        let p: Partition = "hash:3/4".parse().unwrap();
        let all = p.cells(&entries, &EngineKind::ALL);
        let some = p.cells(&entries[5..], &EngineKind::ALL);
        assert!(
            some.iter()
                .all(|(e, k)| all.iter().any(|(x, j)| x.key() == e.key() && j == k))
        );
    }
}
