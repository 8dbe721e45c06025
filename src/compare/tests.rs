//! The comparison's tests: every kind of difference, and the errors on bad input.
use super::*;
use serde_json::json;

fn result(engine: &str, index: u64, expectation: &str, verdict: &str) -> Value {
    json!({
        "family": "counter",
        "variant": "LoadStoreCounter",
        "engine": engine,
        "scenario": format!("scenario {index}"),
        "scenario_index": index,
        "expectation": expectation,
        "verdict": verdict,
        "first_failure_at": if verdict == "caught" { json!(1) } else { Value::Null },
        "class": if verdict == "caught" { json!("lost_update") } else { Value::Null },
    })
}

fn report(results: Vec<Value>) -> Value {
    json!({ "racelab": "0.1.0", "elapsed_ms": 1.0, "failures": [], "results": results })
}

fn base() -> Vec<Value> {
    vec![
        result("loom", 0, "must", "caught"),
        result("loom", 1, "must", "caught"),
        result("shuttle-dfs", 0, "must", "passed"),
        result("stress", 0, "may", "caught"),
        result("stress", 1, "must", "passed"),
    ]
}

#[test]
fn identical_reports_agree() {
    let r = report(base());
    let c = compare(&r, &r).unwrap();
    assert!(c.agrees(), "{c}");
    assert_eq!(c.common, 5);
    assert!(c.added.is_empty() && c.removed.is_empty());
    assert!(c.disagreements.is_empty() && c.sampled.is_empty() && c.softer.is_empty());
    assert!(c.notes.is_empty(), "{:?}", c.notes);
    assert!(c.to_string().contains("agree"), "{c}");
}

#[test]
fn a_verdict_flip_is_a_disagreement() {
    let before = report(base());
    let mut results = base();
    results[2] = result("shuttle-dfs", 0, "must", "caught");
    let c = compare(&before, &report(results)).unwrap();
    assert!(!c.agrees());
    assert_eq!(c.disagreements.len(), 1);
    let d = &c.disagreements[0];
    assert_eq!((d.before.as_str(), d.after.as_str()), ("passed", "caught"));
    assert!(
        c.to_string()
            .contains("counter/LoadStoreCounter shuttle-dfs #0: passed → caught"),
        "{c}"
    );
}

#[test]
fn an_added_result_is_not_a_disagreement() {
    let before = report(base());
    let mut results = base();
    results.push(result("proptest", 0, "must", "caught"));
    let c = compare(&before, &report(results)).unwrap();
    assert!(c.agrees(), "{c}");
    assert_eq!(c.added.len(), 1);
    assert_eq!(c.added[0].key.engine, "proptest");
}

#[test]
fn a_removed_result_breaks_agreement() {
    let before = report(base());
    let mut results = base();
    results.remove(1);
    let c = compare(&before, &report(results)).unwrap();
    assert!(!c.agrees());
    assert_eq!(c.removed.len(), 1);
    assert_eq!(c.removed[0].key.scenario_index, 1);
    assert!(c.disagreements.is_empty());
}

#[test]
fn a_renamed_scenario_is_removed_and_added() {
    let before = report(base());
    let mut results = base();
    results[0]["scenario"] = json!("renamed");
    let c = compare(&before, &report(results)).unwrap();
    assert!(!c.agrees());
    assert_eq!((c.removed.len(), c.added.len()), (1, 1));
}

#[test]
fn a_stress_flip_on_may_is_sampled_not_a_disagreement() {
    let before = report(base());
    let mut results = base();
    results[3] = result("stress", 0, "may", "passed");
    let c = compare(&before, &report(results)).unwrap();
    assert!(c.agrees(), "{c}");
    assert_eq!(c.sampled.len(), 1);
    assert!(c.disagreements.is_empty());
}

#[test]
fn a_stress_flip_on_must_is_a_disagreement() {
    let before = report(base());
    let mut results = base();
    results[4] = result("stress", 1, "must", "caught");
    let c = compare(&before, &report(results)).unwrap();
    assert!(!c.agrees());
    assert_eq!(c.disagreements.len(), 1);
    assert!(c.sampled.is_empty());
}

#[test]
fn first_failure_and_class_changes_are_softer() {
    let before = report(base());
    let mut results = base();
    results[0]["first_failure_at"] = json!(7);
    results[1]["class"] = json!("data_race");
    results[3]["first_failure_at"] = json!(9); // stress: sampled, not reported
    let c = compare(&before, &report(results)).unwrap();
    assert!(c.agrees(), "{c}");
    let fields: Vec<_> = c
        .softer
        .iter()
        .map(|s| (s.key.scenario_index, s.field))
        .collect();
    assert_eq!(fields, [(0, "first_failure_at"), (1, "class")]);
}

#[test]
fn unknown_verdicts_compare_as_strings() {
    let mut results = base();
    results[2] = result("shuttle-dfs", 0, "must", "hang");
    let before = report(results);
    let c = compare(&before, &report(base())).unwrap();
    assert_eq!(c.disagreements.len(), 1);
    assert_eq!(c.disagreements[0].before, "hang");
}

#[test]
fn a_missing_scenario_index_is_derived_from_order() {
    let mut old = base();
    for r in &mut old {
        let o = r.as_object_mut().unwrap();
        o.remove("scenario_index");
        o.remove("class");
    }
    let c = compare(&report(old), &report(base())).unwrap();
    assert!(c.agrees(), "{c}");
    assert_eq!(c.common, 5);
    assert_eq!(c.notes.len(), 2, "{:?}", c.notes);
}

#[test]
fn a_non_report_is_an_error() {
    let r = report(base());
    let no_version = json!({ "results": [] });
    let e = compare(&no_version, &r).unwrap_err();
    assert_eq!(e.side(), Some(Side::Before));
    assert!(e.to_string().contains("`racelab`"), "{e}");
    let no_results = json!({ "racelab": "0.1.0" });
    let e = compare(&r, &no_results).unwrap_err();
    assert_eq!(e.side(), Some(Side::After));
    assert!(e.to_string().contains("`results`"), "{e}");
    assert!(compare(&json!([1, 2]), &r).is_err());
    assert!(
        !compare(&r, &json!("x"))
            .unwrap_err()
            .to_string()
            .contains('\n')
    );
}

#[test]
fn major_versions_must_match_minor_ones_are_noted() {
    let r = report(base());
    let mut next = r.clone();
    next["racelab"] = json!("0.2.0");
    let c = compare(&r, &next).unwrap();
    assert!(c.agrees());
    assert_eq!(c.notes.len(), 1, "{:?}", c.notes);
    next["racelab"] = json!("1.0.0");
    let e = compare(&r, &next).unwrap_err();
    assert!(matches!(e, CompareError::VersionMismatch { .. }), "{e}");
    assert_eq!(e.side(), None);
}

#[test]
fn duplicate_keys_are_malformed() {
    let mut results = base();
    results.push(result("loom", 0, "must", "caught"));
    let e = compare(&report(results), &report(base())).unwrap_err();
    assert!(
        matches!(
            e,
            CompareError::Malformed {
                side: Side::Before,
                ..
            }
        ),
        "{e}"
    );
}
