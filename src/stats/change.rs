//! Has a measure changed? One series over two windows, the baseline then the analysis window,
//! compared by their medians (a spike moves neither), with the time the change began; or, when
//! the new level holds only for the window's last minutes, a late step (see [`super::step`]).

use crate::catalog::Change;

/// Fewest points a window needs to be compared.
pub const MIN_POINTS: usize = 3;

/// Share of the window's points that must sit on the new side of the midpoint for a change to
/// count as held rather than a spike.
pub const MIN_HELD: f64 = 0.6;

/// The comparison of one series.
#[derive(Clone, Debug, PartialEq)]
pub struct Comparison {
    /// Median of the baseline window.
    pub baseline: f64,
    /// Median of the analysis window.
    pub window: f64,
    /// `window / baseline` (the baseline is floored at a tenth of the measure's floor, so a
    /// rise from nothing has a finite ratio).
    pub ratio: f64,
    /// Share of the window's points on the new side of the midpoint.
    pub held: f64,
    /// Time (Unix seconds) of the first point of the run that reaches the end on the new side.
    pub since: Option<f64>,
    /// Whether the change is material for the measure.
    pub material: bool,
    /// Whether the value went up.
    pub up: bool,
    /// Whether the change is a late step found by [`late_step`] (the window's median did not
    /// move yet), rather than by the medians of the two windows.
    pub step: bool,
}

/// Compare the points before `split` (baseline) with those after it (window). `None` when
/// either side has fewer than [`MIN_POINTS`] points.
pub fn compare(
    points: &[(f64, f64)],
    split: f64,
    factor: f64,
    floor: f64,
    change: Change,
) -> Option<Comparison> {
    let finite = |(_, v): &&(f64, f64)| v.is_finite();
    let before: Vec<f64> = points
        .iter()
        .filter(finite)
        .filter(|(t, _)| *t <= split)
        .map(|(_, v)| *v)
        .collect();
    let after: Vec<&(f64, f64)> = points
        .iter()
        .filter(finite)
        .filter(|(t, _)| *t > split)
        .collect();
    if before.len() < MIN_POINTS || after.len() < MIN_POINTS {
        return None;
    }
    let values: Vec<f64> = after.iter().map(|(_, v)| *v).collect();
    let baseline = super::robust::median(&before)?;
    let window = super::robust::median(&values)?;
    let tiny = (floor / 10.0).max(1e-9);
    let ratio = window.max(0.0) / baseline.max(tiny);
    let up = window >= baseline;
    let midpoint = if baseline > 0.0 && window > 0.0 {
        (baseline * window).sqrt()
    } else {
        (baseline + window) / 2.0
    };
    let beyond = |v: f64| if up { v > midpoint } else { v < midpoint };
    let held = values.iter().filter(|v| beyond(**v)).count() as f64 / values.len() as f64;
    // The run on the new side that reaches the last point, forgiving one stray point.
    let all: Vec<&(f64, f64)> = points.iter().filter(finite).collect();
    let mut since = None;
    let mut strays = 0;
    for (t, v) in all.iter().rev() {
        if beyond(*v) {
            since = Some(*t);
            strays = 0;
        } else {
            strays += 1;
            if strays > 1 {
                break;
            }
        }
    }
    let big_enough = baseline.max(window) >= floor;
    Some(Comparison {
        baseline,
        window,
        ratio,
        held,
        since,
        material: big_enough && far_enough(ratio, factor, change) && held >= MIN_HELD,
        up,
        step: false,
    })
}

/// Whether `ratio` is a change of at least `factor` in the direction that counts.
fn far_enough(ratio: f64, factor: f64, change: Change) -> bool {
    match change {
        Change::Both => ratio >= factor || ratio <= 1.0 / factor,
        Change::Up => ratio >= factor,
    }
}

/// A step inside the window (after `split`) that holds to its end: the levels before and after
/// it compared like [`compare`]'s medians (`factor`, `floor`, `change`), and material only when
/// the step is also clear of the series' noise ([`super::step::Step::is_clear`]). `held` is the
/// share of the window's points from the step on; `since` is the step's first point.
pub fn late_step(
    points: &[(f64, f64)],
    split: f64,
    factor: f64,
    floor: f64,
    change: Change,
) -> Option<Comparison> {
    let step = super::step::last_step(points, split)?;
    let up = step.after >= step.before;
    // A level the baseline already visited (an on/off rhythm, a periodic job) is not a change:
    // the step is new only when fewer baseline points reached past the midpoint between the
    // two levels than a step needs ([`super::step::MIN_SEGMENT`]): an hourly job of a few
    // minutes seen once in the baseline is enough.
    let midpoint = (step.before + step.after) / 2.0;
    let baseline: Vec<f64> = points
        .iter()
        .filter(|(t, v)| *t <= split && v.is_finite())
        .map(|(_, v)| *v)
        .collect();
    let visited = baseline
        .iter()
        .filter(|v| if up { **v >= midpoint } else { **v <= midpoint })
        .count();
    let new_level = visited < super::step::MIN_SEGMENT.min(step.points_after);
    let in_window = points
        .iter()
        .filter(|(t, v)| *t > split && v.is_finite())
        .count()
        .max(1);
    let tiny = (floor / 10.0).max(1e-9);
    let ratio = step.after.max(0.0) / step.before.max(tiny);
    let big_enough = step.before.max(step.after) >= floor;
    Some(Comparison {
        baseline: step.before,
        window: step.after,
        ratio,
        held: step.points_after as f64 / in_window as f64,
        since: Some(step.at),
        material: big_enough && far_enough(ratio, factor, change) && step.is_clear() && new_level,
        up,
        step: true,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    use crate::stats::minute_series as series;

    #[test]
    fn a_held_rise_is_material_with_its_start() {
        // Ten baseline points at 100, then three more, then seven at 500.
        let mut v = vec![100.0; 13];
        v.extend([500.0; 7]);
        let c = compare(&series(&v), 9.0 * 60.0, 2.0, 10.0, Change::Both).unwrap();
        assert_eq!((c.baseline, c.window), (100.0, 500.0));
        assert!((c.ratio - 5.0).abs() < 1e-9 && c.up && c.material);
        assert!((c.held - 0.7).abs() < 1e-9);
        assert_eq!(c.since, Some(13.0 * 60.0));
    }

    #[test]
    fn spikes_floors_and_directions() {
        // One spike in the window: the median does not move.
        let mut v = vec![100.0; 20];
        v[15] = 5000.0;
        let c = compare(&series(&v), 9.0 * 60.0, 2.0, 10.0, Change::Both).unwrap();
        assert!(!c.material && c.ratio == 1.0);
        // Below the floor on both sides: noise.
        let mut v = vec![2.0; 10];
        v.extend([6.0; 10]);
        let c = compare(&series(&v), 9.0 * 60.0, 2.0, 20.0, Change::Both).unwrap();
        assert!(!c.material);
        // A fall counts for `both`, not for `up`.
        let mut v = vec![400.0; 10];
        v.extend([100.0; 10]);
        let both = compare(&series(&v), 9.0 * 60.0, 2.0, 10.0, Change::Both).unwrap();
        let up = compare(&series(&v), 9.0 * 60.0, 2.0, 10.0, Change::Up).unwrap();
        assert!(both.material && !both.up && !up.material);
        // No baseline.
        assert!(compare(&series(&[1.0; 5]), -1.0, 2.0, 0.0, Change::Both).is_none());
    }

    #[test]
    fn a_step_in_the_last_fifth_is_material_only_as_a_late_step() {
        // Ten baseline points and seven in the window at 9,000, then three at 45,000: the
        // window's median does not move, the late step does.
        let mut v = vec![9_000.0; 17];
        v.extend([45_000.0; 3]);
        let points = series(&v);
        let medians = compare(&points, 9.0 * 60.0, 2.0, 1_000.0, Change::Both).unwrap();
        assert!(!medians.material && !medians.step);
        let c = late_step(&points, 9.0 * 60.0, 2.0, 1_000.0, Change::Both).unwrap();
        assert!(c.material && c.step && c.up, "{c:?}");
        assert_eq!((c.baseline, c.window, c.ratio), (9_000.0, 45_000.0, 5.0));
        assert_eq!(c.since, Some(17.0 * 60.0));
        assert!((c.held - 0.3).abs() < 1e-9);
        // Under the floor, too small a factor, or the wrong direction: not material.
        assert!(
            !late_step(&points, 9.0 * 60.0, 2.0, 50_000.0, Change::Both)
                .unwrap()
                .material
        );
        assert!(
            !late_step(&points, 9.0 * 60.0, 6.0, 1_000.0, Change::Both)
                .unwrap()
                .material
        );
        let mut v = vec![400.0; 17];
        v.extend([100.0; 3]);
        let fall = late_step(&series(&v), 9.0 * 60.0, 2.0, 10.0, Change::Up).unwrap();
        assert!(!fall.material && !fall.up);
    }

    #[test]
    fn a_level_the_baseline_already_visited_is_no_late_step() {
        // An on/off rhythm: the baseline has the same busy spell the window ends with.
        let mut v = vec![0.0, 0.0, 0.0, 0.0, 50.0, 50.0, 50.0, 50.0, 50.0, 50.0];
        v.extend([0.0, 0.0, 0.0, 0.0, 50.0, 50.0, 50.0, 50.0, 50.0, 50.0]);
        let rhythm = late_step(&series(&v), 9.0 * 60.0, 2.0, 1.0, Change::Both).unwrap();
        assert!(!rhythm.material, "{rhythm:?}");
        // The same window after a quiet baseline is a new level.
        let mut v = vec![0.0; 14];
        v.extend([50.0; 6]);
        let new = late_step(&series(&v), 9.0 * 60.0, 2.0, 1.0, Change::Both).unwrap();
        assert!(new.material, "{new:?}");
        // A short job once in a long baseline (3 of 40 points) has been seen before too.
        let mut v = vec![0.0; 40];
        v[10..13].copy_from_slice(&[50.0; 3]);
        v.extend([0.0; 14]);
        v.extend([50.0; 6]);
        let again = late_step(&series(&v), 39.0 * 60.0, 2.0, 1.0, Change::Both).unwrap();
        assert!(!again.material, "{again:?}");
    }
}
