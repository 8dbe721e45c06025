//! criterion's files: `estimates.json` and `benchmark.json` as criterion saves them, and one
//! benchmark of one baseline as read back from the two.

use serde::{Deserialize, Serialize};

/// A confidence interval as criterion saves it.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct ConfidenceInterval {
    /// E.g. 0.95.
    pub confidence_level: f64,
    /// Lower bound, in the estimate's unit (ns per iteration for times).
    pub lower_bound: f64,
    /// Upper bound.
    pub upper_bound: f64,
}

/// One estimate (a point and its bootstrap confidence interval).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Estimate {
    /// The interval.
    pub confidence_interval: ConfidenceInterval,
    /// The point estimate.
    pub point_estimate: f64,
    /// The bootstrap standard error.
    pub standard_error: f64,
}

impl Estimate {
    /// The same estimate divided by `d` (e.g. per iteration → per element).
    pub fn scaled(&self, d: f64) -> Estimate {
        Estimate {
            confidence_interval: ConfidenceInterval {
                confidence_level: self.confidence_interval.confidence_level,
                lower_bound: self.confidence_interval.lower_bound / d,
                upper_bound: self.confidence_interval.upper_bound / d,
            },
            point_estimate: self.point_estimate / d,
            standard_error: self.standard_error / d,
        }
    }
    /// Half the interval's width relative to the point, e.g. 0.015 for ±1.5 %.
    pub fn relative_half_width(&self) -> f64 {
        let ci = &self.confidence_interval;
        (ci.upper_bound - ci.lower_bound) / 2.0 / self.point_estimate
    }
}

/// `estimates.json`: nanoseconds per iteration.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Estimates {
    /// Mean time per iteration.
    pub mean: Estimate,
    /// Median time per iteration.
    pub median: Estimate,
    /// Median absolute deviation.
    pub median_abs_dev: Estimate,
    /// The linear-regression slope (present in linear sampling mode).
    pub slope: Option<Estimate>,
    /// Standard deviation.
    pub std_dev: Estimate,
}

impl Estimates {
    /// What criterion prints as the time: the slope when it has one, else the mean.
    pub fn typical(&self) -> &Estimate {
        self.slope.as_ref().unwrap_or(&self.mean)
    }
}

/// `benchmark.json`: the benchmark's id and throughput (the directory name may be mangled: `<`
/// becomes `_`, so names are read from here).
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct BenchmarkRecord {
    /// The group, i.e. the family (`counter`, `lock`, `seeds`).
    pub group_id: String,
    /// The function, i.e. the variant.
    pub function_id: Option<String>,
    /// The value, i.e. the thread count.
    pub value_str: Option<String>,
    /// `{"Elements": n}` and friends.
    pub throughput: Option<serde_json::Value>,
    /// `group/function/value`.
    pub full_id: String,
}

impl BenchmarkRecord {
    /// Elements per iteration, when the throughput is given in elements.
    pub fn elements(&self) -> Option<u64> {
        let t = self.throughput.as_ref()?;
        t.get("Elements")
            .and_then(|v| v.as_u64())
            .or_else(|| t.get("ElementsAndBytes")?.get("elements")?.as_u64())
    }
}

/// Parses `estimates.json`.
///
/// # Errors
/// The JSON error, as text.
pub fn parse_estimates(text: &str) -> Result<Estimates, String> {
    serde_json::from_str(text).map_err(|e| format!("bad estimates.json: {e}"))
}

/// Parses `benchmark.json`.
///
/// # Errors
/// The JSON error, as text.
pub fn parse_benchmark(text: &str) -> Result<BenchmarkRecord, String> {
    serde_json::from_str(text).map_err(|e| format!("bad benchmark.json: {e}"))
}

/// One benchmark of one baseline, as read back.
#[derive(Debug, Clone, PartialEq)]
pub struct Bench {
    /// `family/variant/threads`.
    pub id: String,
    /// The criterion group: the catalogue family (or `seeds`).
    pub family: String,
    /// The catalogue variant.
    pub variant: String,
    /// Threads of the run.
    pub threads: usize,
    /// Increments per criterion iteration (all threads together).
    pub elements: u64,
    /// criterion's estimates, ns per iteration.
    pub estimates: Estimates,
}

impl Bench {
    /// Builds one from the two files' contents. `None` if it is not one of racelab's
    /// (no function id, or a value that is not a thread count).
    ///
    /// # Errors
    /// Unparsable JSON.
    pub fn from_json(benchmark: &str, estimates: &str) -> Result<Option<Bench>, String> {
        let record = parse_benchmark(benchmark)?;
        let estimates = parse_estimates(estimates)?;
        let (Some(variant), Some(threads)) = (
            record.function_id.clone(),
            record
                .value_str
                .as_deref()
                .and_then(|v| v.parse::<usize>().ok()),
        ) else {
            return Ok(None);
        };
        if threads == 0 {
            return Ok(None);
        }
        Ok(Some(Bench {
            elements: record.elements().unwrap_or(threads as u64).max(1),
            id: record.full_id,
            family: record.group_id,
            variant,
            threads,
            estimates,
        }))
    }
    /// Aggregate ns per increment (wall time over all threads' increments), with its interval.
    pub fn ns_per_op(&self) -> Estimate {
        self.estimates.typical().scaled(self.elements as f64)
    }
    /// ns per increment as one thread sees it: the aggregate × threads.
    pub fn ns_per_thread_op(&self) -> f64 {
        self.ns_per_op().point_estimate * self.threads as f64
    }
    /// Millions of increments per second, all threads together.
    pub fn mops(&self) -> f64 {
        1e3 / self.ns_per_op().point_estimate
    }
}

/// What the tests of the whole module read: criterion's files, and an estimate made by hand.
#[cfg(test)]
pub(super) mod fixtures {
    use super::*;

    /// What criterion 0.8 writes for a linear-sampling benchmark (trimmed numbers).
    pub(crate) const ESTIMATES: &str = r#"{"mean":{"confidence_interval":{"confidence_level":0.95,"lower_bound":19.5,"upper_bound":21.5},"point_estimate":20.4,"standard_error":0.5},"median":{"confidence_interval":{"confidence_level":0.95,"lower_bound":19.0,"upper_bound":21.0},"point_estimate":20.0,"standard_error":0.4},"median_abs_dev":{"confidence_interval":{"confidence_level":0.95,"lower_bound":0.1,"upper_bound":0.9},"point_estimate":0.5,"standard_error":0.2},"slope":{"confidence_interval":{"confidence_level":0.95,"lower_bound":19.8,"upper_bound":20.6},"point_estimate":20.2,"standard_error":0.2},"std_dev":{"confidence_interval":{"confidence_level":0.95,"lower_bound":0.5,"upper_bound":2.5},"point_estimate":1.5,"standard_error":0.5}}"#;

    pub(crate) const BENCHMARK: &str = r#"{"group_id":"lock","function_id":"LockCounter<SpinLock>","value_str":"2","throughput":{"Elements":2},"full_id":"lock/LockCounter<SpinLock>/2","directory_name":"lock/LockCounter_SpinLock_/2","title":"lock/LockCounter<SpinLock>/2"}"#;

    pub(crate) fn est(point: f64, lo: f64, hi: f64) -> Estimate {
        Estimate {
            confidence_interval: ConfidenceInterval {
                confidence_level: 0.95,
                lower_bound: lo,
                upper_bound: hi,
            },
            point_estimate: point,
            standard_error: (hi - lo) / 4.0,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::fixtures::*;
    use super::*;

    #[test]
    fn parses_estimates_and_prefers_the_slope() {
        let e = parse_estimates(ESTIMATES).unwrap();
        assert_eq!(e.mean.point_estimate, 20.4);
        assert_eq!(e.median.confidence_interval.lower_bound, 19.0);
        assert_eq!(e.typical().point_estimate, 20.2);
        let flat = ESTIMATES.replace(
            r#""slope":{"confidence_interval":{"confidence_level":0.95,"lower_bound":19.8,"upper_bound":20.6},"point_estimate":20.2,"standard_error":0.2}"#,
            r#""slope":null"#,
        );
        let e = parse_estimates(&flat).unwrap();
        assert!(e.slope.is_none());
        assert_eq!(e.typical().point_estimate, 20.4);
        assert!(parse_estimates("{").is_err());
    }

    #[test]
    fn reads_ids_and_per_element_figures_from_benchmark_json() {
        let b = Bench::from_json(BENCHMARK, ESTIMATES).unwrap().unwrap();
        assert_eq!(b.family, "lock");
        assert_eq!(b.variant, "LockCounter<SpinLock>");
        assert_eq!(b.threads, 2);
        assert_eq!(b.elements, 2);
        assert_eq!(b.id, "lock/LockCounter<SpinLock>/2");
        assert_eq!(b.ns_per_op().point_estimate, 10.1);
        assert_eq!(b.ns_per_op().confidence_interval.upper_bound, 10.3);
        assert_eq!(b.ns_per_thread_op(), 20.2);
        let not_ours = BENCHMARK.replace(r#""value_str":"2""#, r#""value_str":"big""#);
        assert_eq!(Bench::from_json(&not_ours, ESTIMATES).unwrap(), None);
    }
}
