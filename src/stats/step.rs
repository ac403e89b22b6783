//! The last step in a series: a level shift that starts late in the analysis window and holds
//! to its end, which the two-window comparison of [`super::change`] cannot see (it needs the
//! new level over most of the window, so an incident in its last minutes moves neither median).
//!
//! The model is two segments with a constant level each, fitted by least absolute deviations
//! from the segments' medians: the split with the smallest total deviation is the change point.
//! The shift is then measured against the noise, the median absolute residual of both segments
//! (a robust standard deviation), so a series that merely wanders finds no step.
//!
//! Why not `augurs-changepoint` (Grafana's time-series toolkit): version 0.10.3 wraps the
//! `changepoint` crate, and `cargo tree -e normal` resolves it to 127 crates (`rv`, `nalgebra`,
//! `ndarray`, `argmin`, `peroxide`, `rayon`, `slog`…) for a search over a few dozen points per
//! series; its Bayesian detectors report change points without the levels, the noise or a
//! minimum segment length, which are what decide here whether a step is material.
//! An exhaustive two-segment fit over this many points is a few hundred medians: exact, and
//! small enough to test alone.

use super::robust::median;

/// Fewest points each segment needs: a step needs three points at its new level to be told
/// from a spike (one or two points).
pub const MIN_SEGMENT: usize = 3;

/// The shift, in robust standard deviations of the residual noise, a step must reach.
pub const MIN_EFFECT: f64 = 5.0;

/// Scale of the median absolute deviation to a normal distribution's standard deviation.
const MAD_TO_SIGMA: f64 = 1.4826;

/// A level shift that holds to the end of a series.
#[derive(Clone, Debug, PartialEq)]
pub struct Step {
    /// Time (the series' unit, Unix seconds) of the first point at the new level.
    pub at: f64,
    /// Median before the step.
    pub before: f64,
    /// Median from the step to the end.
    pub after: f64,
    /// Points from the step to the end.
    pub points_after: usize,
    /// `|after - before|` in robust standard deviations of the residuals (infinite when both
    /// segments are flat).
    pub effect: f64,
    /// Share of the points from the step on that lie on the new side of the midpoint between
    /// the two levels.
    pub held: f64,
}

impl Step {
    /// Whether the step is clear of the noise and its new level holds: at least
    /// [`MIN_EFFECT`] robust standard deviations, and every point after it on its new side but
    /// at most one in four.
    pub fn is_clear(&self) -> bool {
        self.effect >= MIN_EFFECT && self.held >= 0.75
    }
}

/// The best two-segment fit of `points` (time, value) whose second segment starts after
/// `from`, or `None` when no split leaves [`MIN_SEGMENT`] finite points on each side.
pub fn last_step(points: &[(f64, f64)], from: f64) -> Option<Step> {
    let finite: Vec<(f64, f64)> = points
        .iter()
        .copied()
        .filter(|(_, v)| v.is_finite())
        .collect();
    let values: Vec<f64> = finite.iter().map(|(_, v)| *v).collect();
    if values.len() < 2 * MIN_SEGMENT {
        return None;
    }
    let split = (MIN_SEGMENT..=values.len() - MIN_SEGMENT)
        .filter(|k| finite[*k].0 > from)
        .map(|k| (k, deviation(&values[..k]) + deviation(&values[k..])))
        .min_by(|a, b| a.1.total_cmp(&b.1))?
        .0;
    let (head, tail) = values.split_at(split);
    let before = median(head)?;
    let after = median(tail)?;
    Some(Step {
        at: finite[split].0,
        before,
        after,
        points_after: tail.len(),
        effect: effect(head, tail, before, after)?,
        held: held(tail, before, after),
    })
}

/// Sum of absolute deviations from the median.
fn deviation(values: &[f64]) -> f64 {
    let m = median(values).unwrap_or(0.0);
    values.iter().map(|v| (v - m).abs()).sum()
}

/// The shift in robust standard deviations of both segments' residuals.
fn effect(head: &[f64], tail: &[f64], before: f64, after: f64) -> Option<f64> {
    let residuals: Vec<f64> = head
        .iter()
        .map(|v| (v - before).abs())
        .chain(tail.iter().map(|v| (v - after).abs()))
        .collect();
    let noise = MAD_TO_SIGMA * median(&residuals)?;
    let shift = (after - before).abs();
    Some(if noise > 0.0 {
        shift / noise
    } else if shift > 0.0 {
        f64::INFINITY
    } else {
        0.0
    })
}

/// Share of `tail` beyond the midpoint between the two levels, on the side of `after`.
fn held(tail: &[f64], before: f64, after: f64) -> f64 {
    let midpoint = (before + after) / 2.0;
    let beyond = tail
        .iter()
        .filter(|v| {
            if after >= before {
                **v > midpoint
            } else {
                **v < midpoint
            }
        })
        .count();
    beyond as f64 / tail.len() as f64
}

#[cfg(test)]
mod tests {
    use super::*;

    use crate::stats::minute_series as series;

    /// Deterministic noise in ±`amplitude` around `level` (a linear congruential sequence).
    fn noisy(level: f64, amplitude: f64, n: usize, seed: u64) -> Vec<f64> {
        let mut x = seed;
        (0..n)
            .map(|_| {
                x = x.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1);
                let unit = (x >> 11) as f64 / (1u64 << 53) as f64;
                level + amplitude * (2.0 * unit - 1.0)
            })
            .collect()
    }

    #[test]
    fn a_step_in_the_last_fifth_is_found_with_its_time_and_levels() {
        // Seventeen points of noisy 9,000, then three of noisy 45,000.
        let mut v = noisy(9_000.0, 900.0, 17, 7);
        v.extend(noisy(45_000.0, 900.0, 3, 11));
        let step = last_step(&series(&v), 9.0 * 60.0).unwrap();
        assert_eq!(step.at, 17.0 * 60.0);
        assert_eq!(step.points_after, 3);
        assert!((step.before - 9_000.0).abs() < 900.0, "{step:?}");
        assert!((step.after - 45_000.0).abs() < 900.0, "{step:?}");
        assert!(step.effect > 20.0 && step.held == 1.0 && step.is_clear());
        // A fall is a step too.
        let mut v = vec![500.0; 15];
        v.extend([100.0; 5]);
        let step = last_step(&series(&v), 0.0).unwrap();
        assert_eq!(
            (step.at, step.before, step.after),
            (15.0 * 60.0, 500.0, 100.0)
        );
        assert!(step.effect.is_infinite() && step.is_clear());
    }

    #[test]
    fn noise_spikes_and_short_series_are_not_steps() {
        for seed in 1..50 {
            let v = noisy(10_000.0, 5_000.0, 20, seed);
            let step = last_step(&series(&v), 9.0 * 60.0).unwrap();
            assert!(!step.is_clear(), "seed {seed}: {step:?}");
        }
        // Two points up at the end: a spike, too short to be a level.
        let mut v = vec![100.0; 18];
        v.extend([900.0; 2]);
        let step = last_step(&series(&v), 9.0 * 60.0).unwrap();
        assert!(!step.is_clear(), "{step:?}");
        // A spike that ended: the new level does not hold to the end.
        let mut v = vec![100.0; 20];
        for x in &mut v[12..15] {
            *x = 900.0;
        }
        assert!(!last_step(&series(&v), 9.0 * 60.0).unwrap().is_clear());
        // Too few points, or none after `from`.
        assert!(last_step(&series(&[1.0, 2.0, 3.0, 4.0, 5.0]), 0.0).is_none());
        assert!(last_step(&series(&[1.0; 20]), 20.0 * 60.0).is_none());
        // NaNs are skipped, not counted.
        let mut v = vec![f64::NAN; 10];
        v.extend([1.0; 5]);
        assert!(last_step(&series(&v), 0.0).is_none());
    }

    #[test]
    fn the_split_is_searched_only_after_from() {
        // A step early in the series, searched from the middle: the best later split sees no
        // shift.
        let mut v = vec![100.0; 5];
        v.extend([400.0; 15]);
        let step = last_step(&series(&v), 9.0 * 60.0).unwrap();
        assert!(step.at > 9.0 * 60.0);
        assert!(
            !step.is_clear() || (step.after - step.before).abs() < 1.0,
            "{step:?}"
        );
    }
}
