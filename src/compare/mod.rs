//! Comparing two detection reports verdict for verdict: "the matrix of the last landed commit
//! and this one agree on every existing cell".
//!
//! [`compare`] takes two `report.json` values (the [JSON contract](crate::report)) and keys
//! every result by `(family, variant, engine, scenario_index, scenario)`. It sorts them into:
//!
//! - **removed**: only in `before`. A lost result breaks agreement.
//! - **added**: only in `after`. New results are fine and only reported.
//! - **disagreements**: a common result whose `verdict` differs. Verdicts are compared as plain
//!   strings, so an older report's `hang` or a future verdict name still compares.
//! - **sampled changes**: a `stress` verdict that changed. Stress runs are samples of what the
//!   hardware happened to do, so this is not a disagreement, unless the `expectation` (on either
//!   side) is `must`, as it is for a correct twin that must keep passing.
//! - **softer changes**: on the deterministic engines (every engine but `stress`), a result
//!   caught both times whose `first_failure_at` or counterexample `class` changed. These are
//!   listed but do not break agreement.
//!
//! The report has no cell-level outcome field: it holds one result per scenario plus the run's
//! `failures` lines. So nothing is compared per cell. A difference in `failures` is only
//! noted.
//!
//! Older reports may lack fields. If no result of a report has a `scenario_index`, it is taken
//! from each result's position among the results of its entry and engine. If either report has
//! no `class` field at all, classes are not compared. A note in the summary says so in both
//! cases.

use serde_json::Value;
use std::collections::{HashMap, HashSet};
use std::fmt;

/// The engine whose verdicts are sampled rather than determined by the schedule search.
const SAMPLED_ENGINE: &str = "stress";

/// How many lines of a soft class (added, sampled, softer changes) the summary prints.
const LIST_LIMIT: usize = 20;

/// Which of the two reports.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Side {
    /// The first report (the reference, e.g. the last landed commit).
    Before,
    /// The second report (the one under test).
    After,
}

impl fmt::Display for Side {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Side::Before => "before",
            Side::After => "after",
        })
    }
}

/// Why two reports could not be compared.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CompareError {
    /// The value is not a racelab report: `racelab` or `results` is missing or of the wrong
    /// type.
    NotAReport {
        /// Which report.
        side: Side,
        /// What is wrong, e.g. "no `racelab` field".
        reason: String,
    },
    /// The reports come from racelab versions of different major versions.
    VersionMismatch {
        /// The `racelab` field of `before`.
        before: String,
        /// The `racelab` field of `after`.
        after: String,
    },
    /// A result lacks a key field, or two results share a key.
    Malformed {
        /// Which report.
        side: Side,
        /// What is wrong.
        reason: String,
    },
}

impl CompareError {
    /// The report at fault, if it is one report (a version mismatch is both).
    pub fn side(&self) -> Option<Side> {
        match self {
            CompareError::NotAReport { side, .. } | CompareError::Malformed { side, .. } => {
                Some(*side)
            }
            CompareError::VersionMismatch { .. } => None,
        }
    }
}

impl fmt::Display for CompareError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            CompareError::NotAReport { side, reason } => {
                write!(f, "the {side} report is not a racelab report: {reason}")
            }
            CompareError::VersionMismatch { before, after } => write!(
                f,
                "racelab major versions differ: {before} before, {after} after"
            ),
            CompareError::Malformed { side, reason } => {
                write!(f, "the {side} report is malformed: {reason}")
            }
        }
    }
}

impl std::error::Error for CompareError {}

/// The identity of one result: an entry's scenario under an engine.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Key {
    /// The catalogue family, e.g. `counter`.
    pub family: String,
    /// The variant, e.g. `LoadStoreCounter`.
    pub variant: String,
    /// The engine, e.g. `loom`.
    pub engine: String,
    /// The scenario's index within the entry.
    pub scenario_index: u64,
    /// The scenario's name.
    pub scenario: String,
}

impl Key {
    /// Whether the engine's verdicts are sampled (`stress`) rather than deterministic.
    pub fn is_sampled(&self) -> bool {
        self.engine == SAMPLED_ENGINE
    }
}

impl fmt::Display for Key {
    /// `family/variant engine #index`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}/{} {} #{}",
            self.family, self.variant, self.engine, self.scenario_index
        )
    }
}

/// A result present in only one of the reports.
#[derive(Debug, Clone, PartialEq)]
pub struct Only {
    /// Its key.
    pub key: Key,
    /// Its verdict.
    pub verdict: String,
}

/// A common result whose verdict changed.
#[derive(Debug, Clone, PartialEq)]
pub struct VerdictChange {
    /// Its key.
    pub key: Key,
    /// The verdict before.
    pub before: String,
    /// The verdict after.
    pub after: String,
    /// The engine's expectation after (before if `after` has none): `must`, `may`, …
    pub expectation: String,
}

/// A softer change on a deterministic engine: a result caught both times whose first failure
/// or class changed.
#[derive(Debug, Clone, PartialEq)]
pub struct FieldChange {
    /// Its key.
    pub key: Key,
    /// `first_failure_at` or `class`.
    pub field: &'static str,
    /// The value before (`null` if absent).
    pub before: Value,
    /// The value after (`null` if absent).
    pub after: Value,
}

/// The comparison of two reports. [`Comparison::agrees`] is the one-bit answer; `Display`
/// prints a short summary.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Comparison {
    /// The `racelab` version of `before`.
    pub before_version: String,
    /// The `racelab` version of `after`.
    pub after_version: String,
    /// How many results `before` has.
    pub before_results: usize,
    /// How many results `after` has.
    pub after_results: usize,
    /// How many results both have.
    pub common: usize,
    /// Results only in `before`, in `before`'s order.
    pub removed: Vec<Only>,
    /// Results only in `after`, in `after`'s order.
    pub added: Vec<Only>,
    /// Common results whose verdict differs. A stress verdict counts only under `must`.
    pub disagreements: Vec<VerdictChange>,
    /// Stress verdicts that changed where stress only may catch. These are not disagreements.
    pub sampled: Vec<VerdictChange>,
    /// `first_failure_at` and `class` changes of deterministic results caught both times.
    pub softer: Vec<FieldChange>,
    /// What the comparison could not check, or noticed on the side.
    pub notes: Vec<String>,
}

impl Comparison {
    /// No disagreement and nothing removed. Added results, sampled stress changes and softer
    /// changes do not count.
    pub fn agrees(&self) -> bool {
        self.disagreements.is_empty() && self.removed.is_empty()
    }
}

impl Comparison {
    /// The deterministic results caught both times whose executions to the first failure moved
    /// by more than `factor` either way (`first_failure_at` 10 → 25 at a factor of 2), with the
    /// factor each moved by (> 1: slower to catch now).
    pub fn moved(&self, factor: f64) -> Vec<(&FieldChange, f64)> {
        self.softer
            .iter()
            .filter(|c| c.field == "first_failure_at")
            .filter_map(|c| {
                let (b, a) = (c.before.as_f64()?, c.after.as_f64()?);
                (b > 0.0 && a > 0.0).then_some((c, a / b))
            })
            .filter(|(_, r)| *r > factor || *r < 1.0 / factor)
            .collect()
    }

    /// The lines `racelab diff` prints: every verdict that changed (stress samples marked), every
    /// result only on one side, and every first failure that moved by more than `factor`. Empty
    /// when the reports say the same.
    pub fn diff_lines(&self, factor: f64) -> Vec<String> {
        let mut out = Vec::new();
        for d in &self.disagreements {
            out.push(format!("verdict  {}: {} → {}", d.key, d.before, d.after));
        }
        for d in &self.sampled {
            out.push(format!(
                "verdict  {}: {} → {} (stress, a sample: not a disagreement)",
                d.key, d.before, d.after
            ));
        }
        for r in &self.removed {
            out.push(format!(
                "removed  {} \"{}\" ({})",
                r.key, r.key.scenario, r.verdict
            ));
        }
        for r in &self.added {
            out.push(format!(
                "added    {} \"{}\" ({})",
                r.key, r.key.scenario, r.verdict
            ));
        }
        for (c, r) in self.moved(factor) {
            out.push(format!(
                "moved    {}: first failure @{} → @{} ({r:.1}×{})",
                c.key,
                show(&c.before),
                show(&c.after),
                if r > 1.0 {
                    ", slower to catch"
                } else {
                    ", faster to catch"
                }
            ));
        }
        out
    }
}

fn plural(n: usize, one: &str, many: &str) -> String {
    format!("{n} {}", if n == 1 { one } else { many })
}

fn show(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        Value::Null => "none".to_string(),
        other => other.to_string(),
    }
}

fn limited<T>(
    f: &mut fmt::Formatter<'_>,
    title: &str,
    items: &[T],
    limit: usize,
    line: impl Fn(&T) -> String,
) -> fmt::Result {
    if items.is_empty() {
        return Ok(());
    }
    writeln!(f, "{title}:")?;
    for item in items.iter().take(limit) {
        writeln!(f, "  {}", line(item))?;
    }
    if items.len() > limit {
        writeln!(f, "  … and {} more", items.len() - limit)?;
    }
    Ok(())
}

impl fmt::Display for Comparison {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(
            f,
            "racelab {} → {}: {} before, {} after",
            self.before_version,
            self.after_version,
            plural(self.before_results, "result", "results"),
            self.after_results
        )?;
        writeln!(
            f,
            "{} common, {} added, {} removed; {}, {} (stress, not a disagreement), {} (first failure or class)",
            self.common,
            self.added.len(),
            self.removed.len(),
            plural(self.disagreements.len(), "disagreement", "disagreements"),
            plural(self.sampled.len(), "sampled change", "sampled changes"),
            plural(self.softer.len(), "softer change", "softer changes"),
        )?;
        for note in &self.notes {
            writeln!(f, "note: {note}")?;
        }
        limited(f, "disagreements", &self.disagreements, usize::MAX, |d| {
            format!("{}: {} → {}", d.key, d.before, d.after)
        })?;
        limited(f, "removed", &self.removed, usize::MAX, |r| {
            format!("{} \"{}\" ({})", r.key, r.key.scenario, r.verdict)
        })?;
        limited(
            f,
            "sampled, not a disagreement",
            &self.sampled,
            LIST_LIMIT,
            |d| format!("{}: {} → {} ({})", d.key, d.before, d.after, d.expectation),
        )?;
        limited(
            f,
            "softer changes (deterministic engines, caught both times)",
            &self.softer,
            LIST_LIMIT,
            |c| {
                format!(
                    "{} {}: {} → {}",
                    c.key,
                    c.field,
                    show(&c.before),
                    show(&c.after)
                )
            },
        )?;
        limited(f, "added", &self.added, LIST_LIMIT, |a| {
            format!("{} \"{}\" ({})", a.key, a.key.scenario, a.verdict)
        })?;
        if self.agrees() {
            write!(
                f,
                "agree: every result of before has the same verdict after"
            )
        } else {
            write!(
                f,
                "DISAGREE: {} and {}",
                plural(self.disagreements.len(), "disagreement", "disagreements"),
                plural(self.removed.len(), "removed result", "removed results")
            )
        }
    }
}

/// One report, read.
struct Parsed<'a> {
    version: String,
    order: Vec<Key>,
    by_key: HashMap<Key, &'a Value>,
    derived_index: bool,
    has_class: bool,
    failures: Option<usize>,
}

fn text<'a>(r: &'a Value, field: &str, side: Side, i: usize) -> Result<&'a str, CompareError> {
    r.get(field)
        .and_then(Value::as_str)
        .ok_or_else(|| CompareError::Malformed {
            side,
            reason: format!("result {i} has no `{field}` string"),
        })
}

fn parse(report: &Value, side: Side) -> Result<Parsed<'_>, CompareError> {
    let not = |reason: &str| CompareError::NotAReport {
        side,
        reason: reason.to_string(),
    };
    if !report.is_object() {
        return Err(not("not a JSON object"));
    }
    let version = match report.get("racelab") {
        None => return Err(not("no `racelab` field")),
        Some(Value::String(s)) => s.clone(),
        Some(_) => return Err(not("`racelab` is not a version string")),
    };
    let results = match report.get("results") {
        None => return Err(not("no `results` field")),
        Some(Value::Array(a)) => a,
        Some(_) => return Err(not("`results` is not an array")),
    };
    let derived_index = results.iter().all(|r| r.get("scenario_index").is_none());
    let has_class = results.iter().any(|r| r.get("class").is_some());
    let mut position: HashMap<(&str, &str, &str), u64> = HashMap::new();
    let mut order = Vec::with_capacity(results.len());
    let mut by_key = HashMap::with_capacity(results.len());
    for (i, r) in results.iter().enumerate() {
        if !r.is_object() {
            return Err(CompareError::Malformed {
                side,
                reason: format!("result {i} is not an object"),
            });
        }
        let family = text(r, "family", side, i)?;
        let variant = text(r, "variant", side, i)?;
        let engine = text(r, "engine", side, i)?;
        text(r, "verdict", side, i)?;
        let next = position.entry((family, variant, engine)).or_insert(0);
        let scenario_index = if derived_index {
            *next
        } else {
            r.get("scenario_index")
                .and_then(Value::as_u64)
                .ok_or_else(|| CompareError::Malformed {
                    side,
                    reason: format!("result {i} has no `scenario_index` number"),
                })?
        };
        *next += 1;
        let key = Key {
            family: family.to_string(),
            variant: variant.to_string(),
            engine: engine.to_string(),
            scenario_index,
            scenario: r
                .get("scenario")
                .and_then(Value::as_str)
                .unwrap_or("")
                .to_string(),
        };
        if by_key.insert(key.clone(), r).is_some() {
            return Err(CompareError::Malformed {
                side,
                reason: format!("two results for {key} \"{}\"", key.scenario),
            });
        }
        order.push(key);
    }
    Ok(Parsed {
        version,
        order,
        by_key,
        derived_index,
        has_class,
        failures: report
            .get("failures")
            .and_then(Value::as_array)
            .map(Vec::len),
    })
}

fn major(version: &str) -> &str {
    let v = version.trim().trim_start_matches('v');
    v.split('.').next().unwrap_or(v)
}

fn field<'a>(r: &'a Value, name: &str) -> &'a str {
    r.get(name).and_then(Value::as_str).unwrap_or("")
}

/// Compares two detection reports result for result (see the [module](self) documentation).
///
/// Fails if either value is not a racelab report (no `racelab` version string, no `results`
/// array), if a result lacks `family`, `variant`, `engine` or `verdict`, if two results of one
/// report share a key, or if the `racelab` versions differ in their major version. A smaller
/// version difference is only noted.
pub fn compare(before: &Value, after: &Value) -> Result<Comparison, CompareError> {
    let b = parse(before, Side::Before)?;
    let a = parse(after, Side::After)?;
    if major(&b.version) != major(&a.version) {
        return Err(CompareError::VersionMismatch {
            before: b.version,
            after: a.version,
        });
    }
    let mut cmp = Comparison {
        before_results: b.order.len(),
        after_results: a.order.len(),
        ..Comparison::default()
    };
    if b.version != a.version {
        cmp.notes.push(format!(
            "versions differ ({} before, {} after), same major version",
            b.version, a.version
        ));
    }
    for (side, p) in [(Side::Before, &b), (Side::After, &a)] {
        if p.derived_index && !p.order.is_empty() {
            cmp.notes.push(format!(
                "{side} has no `scenario_index`; taken from each result's position within its entry and engine"
            ));
        }
    }
    let compare_class = b.has_class && a.has_class;
    if !compare_class && (b.has_class || a.has_class) {
        let missing = if b.has_class {
            Side::After
        } else {
            Side::Before
        };
        cmp.notes.push(format!(
            "{missing} has no `class` field; classes not compared"
        ));
    }
    if let (Some(fb), Some(fa)) = (b.failures, a.failures)
        && fb != fa
    {
        cmp.notes.push(format!(
            "`failures`: {fb} before, {fa} after (the run's own lines, not compared here)"
        ));
    }

    let before_keys: HashSet<&Key> = b.order.iter().collect();
    for key in &b.order {
        if !a.by_key.contains_key(key) {
            cmp.removed.push(Only {
                key: key.clone(),
                verdict: field(b.by_key[key], "verdict").to_string(),
            });
        }
    }
    for key in &a.order {
        let ra = a.by_key[key];
        let verdict_after = field(ra, "verdict");
        if !before_keys.contains(key) {
            cmp.added.push(Only {
                key: key.clone(),
                verdict: verdict_after.to_string(),
            });
            continue;
        }
        cmp.common += 1;
        let rb = b.by_key[key];
        let verdict_before = field(rb, "verdict");
        if verdict_before != verdict_after {
            let exp_before = field(rb, "expectation");
            let exp_after = field(ra, "expectation");
            let change = VerdictChange {
                key: key.clone(),
                before: verdict_before.to_string(),
                after: verdict_after.to_string(),
                expectation: if exp_after.is_empty() {
                    exp_before
                } else {
                    exp_after
                }
                .to_string(),
            };
            if key.is_sampled() && exp_before != "must" && exp_after != "must" {
                cmp.sampled.push(change);
            } else {
                cmp.disagreements.push(change);
            }
            continue;
        }
        if key.is_sampled() || verdict_after != "caught" {
            continue;
        }
        let mut fields = vec!["first_failure_at"];
        if compare_class {
            fields.push("class");
        }
        for name in fields {
            let vb = rb.get(name).cloned().unwrap_or(Value::Null);
            let va = ra.get(name).cloned().unwrap_or(Value::Null);
            if vb != va {
                cmp.softer.push(FieldChange {
                    key: key.clone(),
                    field: name,
                    before: vb,
                    after: va,
                });
            }
        }
    }
    cmp.before_version = b.version;
    cmp.after_version = a.version;
    Ok(cmp)
}

#[cfg(test)]
mod tests;
