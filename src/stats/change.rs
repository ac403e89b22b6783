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

/// Whether [`late_step`] could find a material step in `points` (same arguments): a necessary
/// condition checked in O(n), so that the many series of a large fleet that cannot have one do
/// not pay for the exhaustive search (O(n² log n) per series). It never rejects a series the
/// search would flag, because each test below follows from what `material` requires of a rise:
/// - the new level holds (`held` ≥ 0.75 of at least [`super::step::MIN_SEGMENT`] points), so at
///   least three window points lie beyond the midpoint between the two levels;
/// - the level is new (fewer than three baseline points reach the midpoint), so the midpoint
///   lies beyond the baseline's third most extreme value, and so do those three window points;
/// - the rise is at least `factor` (`after ≥ factor · before`), so the midpoint is at most
///   `after · (1 + 1/factor) / 2`, and `after`, a median of window points, is at most their
///   maximum: the window's maximum must reach past that value of the baseline by as much;
/// - the level is big enough: the window's maximum reaches `floor`.
///
/// A fall (for [`Change::Both`]) is tested by the first two only.
pub fn may_step(
    points: &[(f64, f64)],
    split: f64,
    factor: f64,
    floor: f64,
    change: Change,
) -> bool {
    let finite = || points.iter().filter(|(_, v)| v.is_finite());
    let baseline = Extremes::of(finite().filter(|(t, _)| *t <= split).map(|(_, v)| *v));
    let window = || finite().filter(|(t, _)| *t > split).map(|(_, v)| *v);
    let needed = super::step::MIN_SEGMENT;
    let (highest, lowest) = match (baseline.third_highest(), baseline.third_lowest()) {
        (Some(h), Some(l)) => (h, l),
        // Under three baseline points every level is new: only the search can tell.
        _ => return true,
    };
    let window_max = window().fold(f64::NEG_INFINITY, f64::max);
    let rise = window().filter(|v| *v > highest).count() >= needed
        && window_max >= floor
        && window_max > 0.0
        && window_max * (1.0 + 1.0 / factor) / 2.0 > highest;
    let fall = change == Change::Both && window().filter(|v| *v < lowest).count() >= needed;
    rise || fall
}

/// The three highest and three lowest of some values, in one pass.
#[derive(Default)]
struct Extremes {
    high: Vec<f64>,
    low: Vec<f64>,
}

impl Extremes {
    fn of(values: impl Iterator<Item = f64>) -> Extremes {
        let mut e = Extremes::default();
        for v in values {
            keep_three(&mut e.high, v, |a, b| b.total_cmp(a));
            keep_three(&mut e.low, v, f64::total_cmp);
        }
        e
    }

    fn third_highest(&self) -> Option<f64> {
        self.high.get(2).copied()
    }

    fn third_lowest(&self) -> Option<f64> {
        self.low.get(2).copied()
    }
}

/// Insert `v` into `kept` (sorted by `order`) and keep its first three.
fn keep_three(kept: &mut Vec<f64>, v: f64, order: impl Fn(&f64, &f64) -> std::cmp::Ordering) {
    let at = kept.partition_point(|k| order(k, &v) != std::cmp::Ordering::Greater);
    if at < 3 {
        kept.insert(at, v);
        kept.truncate(3);
    }
}

/// The level to compare a change with yesterday: the median of `yesterday`'s points over the
/// span the change covers, a `day` earlier. For a change of the whole window that is
/// yesterday's whole window; for a late step it is yesterday's last points only, from the time
/// of the step a day earlier: a step that happens every day at that time then matches
/// yesterday's level (the daily pattern), and one that did not happen yesterday does not,
/// where yesterday's whole-window median would call both news. `None` with fewer points there
/// than a level needs: [`MIN_POINTS`] for a whole window, [`super::step::MIN_SEGMENT`] for a
/// late step's span (one point, a lone scrape, is no level to call a step the daily pattern).
pub fn yesterday_level(yesterday: &[(f64, f64)], change: &Comparison, day: f64) -> Option<f64> {
    // A whole window needs as many points as [`compare`] does; a late step's span as many as
    // a step's segment does ([`late_step`] asks as much of today's new level).
    let (from, needed) = match (change.step, change.since) {
        (true, Some(since)) => (since - day, super::step::MIN_SEGMENT),
        _ => (f64::NEG_INFINITY, MIN_POINTS),
    };
    let values: Vec<f64> = yesterday
        .iter()
        .filter(|(t, v)| *t >= from && v.is_finite())
        .map(|(_, v)| *v)
        .collect();
    if values.len() < needed {
        return None;
    }
    super::robust::median(&values)
}

#[cfg(test)]
mod tests {
    use super::*;

    use crate::stats::minute_series as series;
    use crate::stats::robust::median;

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

    #[test]
    fn a_late_step_is_compared_with_the_same_span_yesterday() {
        let day = 86_400.0;
        let mut v = vec![9_000.0; 17];
        v.extend([45_000.0; 3]);
        let today = series(&v);
        let step = late_step(&today, 9.0 * 60.0, 2.0, 1_000.0, Change::Both).unwrap();
        assert!(step.material && step.step);
        let yesterday_of = |values: &[f64]| -> Vec<(f64, f64)> {
            series(&values[10..])
                .into_iter()
                .map(|(t, v)| (t + 10.0 * 60.0 - day, v))
                .collect()
        };
        // The same step at the same time yesterday: yesterday's last points are at the new
        // level, so the step is the daily pattern (its whole-window median, 9,000, is not).
        let daily = yesterday_of(&v);
        assert_eq!(
            median(&daily.iter().map(|p| p.1).collect::<Vec<_>>()),
            Some(9_000.0)
        );
        assert_eq!(yesterday_level(&daily, &step, day), Some(45_000.0));
        // No step yesterday: yesterday's last points are at the old level, the step is news.
        let quiet = yesterday_of(&[9_000.0; 20]);
        assert_eq!(yesterday_level(&quiet, &step, day), Some(9_000.0));
        // A change of the whole window is compared with yesterday's whole window.
        let mut w = vec![100.0; 13];
        w.extend([500.0; 7]);
        let shift = compare(&series(&w), 9.0 * 60.0, 2.0, 10.0, Change::Both).unwrap();
        assert!(shift.material && !shift.step);
        let y = yesterday_of(&w);
        assert_eq!(yesterday_level(&y, &shift, day), Some(500.0));
        let y = yesterday_of(&[100.0; 20]);
        assert_eq!(yesterday_level(&y, &shift, day), Some(100.0));
        // Nothing in the span: no value.
        assert_eq!(yesterday_level(&[], &step, day), None);
        // One point of yesterday's span (a lone scrape at the new level) is no level: the
        // step is not matched to it; the segment's points are.
        let span = |n: usize| -> Vec<(f64, f64)> {
            let since = step.since.unwrap() - day;
            (0..n)
                .map(|i| (since + i as f64 * 60.0, 45_000.0))
                .collect()
        };
        assert_eq!(yesterday_level(&span(1), &step, day), None);
        assert_eq!(yesterday_level(&span(2), &step, day), None);
        assert_eq!(
            yesterday_level(&span(crate::stats::step::MIN_SEGMENT), &step, day),
            Some(45_000.0)
        );
    }

    /// Deterministic values in `[lo, hi)` (a linear congruential sequence).
    fn random(lo: f64, hi: f64, n: usize, seed: &mut u64) -> Vec<f64> {
        (0..n)
            .map(|_| {
                *seed = seed.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1);
                lo + (hi - lo) * ((*seed >> 11) as f64 / (1u64 << 53) as f64)
            })
            .collect()
    }

    /// The series of the step and change tests, and many random ones with and without steps.
    fn step_cases() -> Vec<Vec<f64>> {
        let mut cases = vec![
            [vec![9_000.0; 17], vec![45_000.0; 3]].concat(),
            [vec![400.0; 17], vec![100.0; 3]].concat(),
            [vec![500.0; 15], vec![100.0; 5]].concat(),
            [vec![0.0; 14], vec![50.0; 6]].concat(),
            [vec![100.0; 18], vec![900.0; 2]].concat(),
            [vec![100.0; 5], vec![400.0; 15]].concat(),
            [[0.0, 50.0].repeat(10), vec![0.0; 4], vec![50.0; 6]].concat(),
        ];
        let mut seed = 17;
        for i in 0..400 {
            let level = 10f64.powi(i % 5);
            let mut v = random(0.5 * level, 1.5 * level, 10 + i as usize % 7, &mut seed);
            let late = 3 + i as usize % 9;
            let jump = [0.1, 0.4, 1.0, 2.2, 3.0, 8.0][i as usize % 6];
            v.extend(random(0.9 * level, 1.1 * level, 17 - late, &mut seed));
            v.extend(random(
                0.9 * jump * level,
                1.1 * jump * level,
                late,
                &mut seed,
            ));
            cases.push(v);
        }
        cases
    }

    #[test]
    fn the_prefilter_never_rejects_a_step_the_search_flags() {
        let (mut flagged, mut rejected) = (0, 0);
        for v in step_cases() {
            let points = series(&v);
            let split = (v.len() as f64 / 2.0).floor() * 60.0 - 1.0;
            for (factor, floor, change) in [
                (2.0, 1.0, Change::Both),
                (2.0, 1.0, Change::Up),
                (1.5, 0.0, Change::Both),
                (3.0, 100.0, Change::Both),
            ] {
                let material =
                    late_step(&points, split, factor, floor, change).is_some_and(|c| c.material);
                let passes = may_step(&points, split, factor, floor, change);
                assert!(!material || passes, "{v:?} {factor} {floor} {change:?}");
                flagged += usize::from(material);
                rejected += usize::from(!passes);
            }
        }
        // Both sides are exercised: steps the search flags, and series the prefilter spares it.
        assert!(
            flagged > 100 && rejected > 400,
            "{flagged} flagged, {rejected} rejected"
        );
    }

    #[test]
    fn the_prefilter_spares_flat_and_noisy_series() {
        let mut seed = 3;
        let noisy = random(900.0, 1_100.0, 40, &mut seed);
        assert!(!may_step(
            &series(&noisy),
            19.5 * 60.0,
            2.0,
            1.0,
            Change::Up
        ));
        assert!(!may_step(
            &series(&[5.0; 40]),
            19.5 * 60.0,
            2.0,
            1.0,
            Change::Both
        ));
        // Under the floor: no rise can be material.
        let mut v = vec![2.0; 17];
        v.extend([9.0; 3]);
        assert!(!may_step(&series(&v), 9.5 * 60.0, 2.0, 20.0, Change::Up));
        assert!(may_step(&series(&v), 9.5 * 60.0, 2.0, 1.0, Change::Up));
    }
}
