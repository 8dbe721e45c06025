//! Noise and targets: whether a figure moved between two baselines beyond noise, and whether a
//! ratio meets a target over the whole range its confidence intervals allow.

use super::criterion::{Estimate, Estimates};

/// How a figure moved between two baselines.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Change {
    /// Within noise: the intervals overlap, or the change is within [`NOISE_THRESHOLD`](super::NOISE_THRESHOLD).
    Noise,
    /// Slower, beyond noise.
    Regressed,
    /// Faster, beyond noise.
    Improved,
}

impl std::fmt::Display for Change {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Change::Noise => "noise",
            Change::Regressed => "SLOWER",
            Change::Improved => "FASTER",
        })
    }
}

/// The relative change from `before` to `after` (times: positive is slower).
pub fn relative_change(before: &Estimate, after: &Estimate) -> f64 {
    (after.point_estimate - before.point_estimate) / before.point_estimate
}

/// Flags a change beyond noise: the two confidence intervals do not overlap *and* the point
/// estimates differ by more than `threshold` (a fraction).
pub fn classify_change(before: &Estimate, after: &Estimate, threshold: f64) -> Change {
    let (a, b) = (&before.confidence_interval, &after.confidence_interval);
    let overlap = a.lower_bound <= b.upper_bound && b.lower_bound <= a.upper_bound;
    let change = relative_change(before, after);
    if overlap || change.abs() <= threshold {
        Change::Noise
    } else if change > 0.0 {
        Change::Regressed
    } else {
        Change::Improved
    }
}

/// The estimates two runs of one benchmark should be compared on: the slope when both have
/// one, else the mean of both.
pub fn comparable<'a>(a: &'a Estimates, b: &'a Estimates) -> (&'a Estimate, &'a Estimate) {
    match (&a.slope, &b.slope) {
        (Some(x), Some(y)) => (x, y),
        _ => (&a.mean, &b.mean),
    }
}

/// A target's verdict from a point ratio and the ratio's range over the intervals.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TargetVerdict {
    /// The whole range meets it.
    Met,
    /// The whole range misses it.
    Missed,
    /// The range straddles it.
    Borderline,
}

impl std::fmt::Display for TargetVerdict {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            TargetVerdict::Met => "met",
            TargetVerdict::Missed => "MISSED",
            TargetVerdict::Borderline => "borderline (within noise)",
        })
    }
}

/// `num / den` as a point and a range from the intervals (lowest num over highest den, and the
/// reverse).
pub fn ratio_range(num: &Estimate, den: &Estimate) -> (f64, f64, f64) {
    let (n, d) = (&num.confidence_interval, &den.confidence_interval);
    (
        num.point_estimate / den.point_estimate,
        n.lower_bound / d.upper_bound,
        n.upper_bound / d.lower_bound,
    )
}

/// Whether a `(lo, hi)` range is at least `target` (`at_least`) or at most it.
pub fn judge_target(lo: f64, hi: f64, target: f64, at_least: bool) -> TargetVerdict {
    let (all, none) = if at_least {
        (lo >= target, hi < target)
    } else {
        (hi <= target, lo > target)
    };
    if all {
        TargetVerdict::Met
    } else if none {
        TargetVerdict::Missed
    } else {
        TargetVerdict::Borderline
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::benchsum::NOISE_THRESHOLD;
    use crate::benchsum::criterion::fixtures::*;
    use crate::benchsum::criterion::parse_estimates;

    #[test]
    fn flags_a_change_only_when_intervals_are_disjoint_and_large() {
        let a = est(100.0, 98.0, 102.0);
        // Disjoint and +20%: slower.
        assert_eq!(
            classify_change(&a, &est(120.0, 118.0, 122.0), NOISE_THRESHOLD),
            Change::Regressed
        );
        // Disjoint and −20%: faster.
        assert_eq!(
            classify_change(&a, &est(80.0, 79.0, 81.0), NOISE_THRESHOLD),
            Change::Improved
        );
        // +20% but the intervals overlap: noise.
        assert_eq!(
            classify_change(&a, &est(120.0, 101.0, 140.0), NOISE_THRESHOLD),
            Change::Noise
        );
        // Disjoint but only +4%: noise.
        assert_eq!(
            classify_change(&a, &est(104.0, 103.5, 104.5), NOISE_THRESHOLD),
            Change::Noise
        );
        // Touching intervals count as overlapping.
        assert_eq!(
            classify_change(&a, &est(110.0, 102.0, 118.0), NOISE_THRESHOLD),
            Change::Noise
        );
        assert!((relative_change(&a, &est(120.0, 118.0, 122.0)) - 0.2).abs() < 1e-12);
    }

    #[test]
    fn compares_slopes_only_when_both_have_one() {
        let e = parse_estimates(ESTIMATES).unwrap();
        let mut flat = e.clone();
        flat.slope = None;
        assert_eq!(comparable(&e, &e).0.point_estimate, 20.2);
        assert_eq!(comparable(&e, &flat).0.point_estimate, 20.4);
        assert_eq!(comparable(&e, &flat).1.point_estimate, 20.4);
    }

    #[test]
    fn judges_targets_over_the_whole_range() {
        let (p, lo, hi) = ratio_range(&est(60.0, 55.0, 65.0), &est(10.0, 9.0, 11.0));
        assert_eq!(p, 6.0);
        assert!((lo - 5.0).abs() < 1e-12 && (hi - 65.0 / 9.0).abs() < 1e-12);
        assert_eq!(judge_target(lo, hi, 5.0, true), TargetVerdict::Met);
        assert_eq!(judge_target(lo, hi, 6.0, true), TargetVerdict::Borderline);
        assert_eq!(judge_target(lo, hi, 8.0, true), TargetVerdict::Missed);
        assert_eq!(judge_target(1.1, 1.4, 1.5, false), TargetVerdict::Met);
        assert_eq!(
            judge_target(1.4, 1.6, 1.5, false),
            TargetVerdict::Borderline
        );
        assert_eq!(judge_target(1.6, 1.9, 1.5, false), TargetVerdict::Missed);
    }
}
