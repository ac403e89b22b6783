//! Judging one series: is the condition sustained over the window, at which level, since when?
//!
//! Each point gets a state (ok, warning, critical) with hysteresis: once past a threshold, a
//! value must fall 5 % below it to leave, so a series hovering at the threshold does not flap.
//! The level reported is the highest one held for at least `min_duration`, a real duration: as
//! many points as `min_duration` spans at the grid's step, and at least two where one step is
//! longer than `min_duration` (one coarse point is an average that a short burst can push past a
//! threshold; it proves no duration). A condition that crossed a threshold and ended without
//! holding that long is a *burst*: kept as such (`Assessment::burst`), reported as one, never as
//! a sustained condition. Points that are NaN or ±Inf are skipped and counted, and lower the
//! confidence.

use std::time::Duration;

use chrono::{DateTime, Utc};
use serde::Serialize;

use crate::catalog::{Direction, Thresholds};

use crate::samples::Timing;

/// Share of a threshold a value must retreat by to leave a level.
const HYSTERESIS: f64 = 0.05;

/// Where a target stands against a check's thresholds.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Level {
    /// Below the warning threshold (or not sustained).
    Ok,
    /// Past the warning threshold, sustained.
    Warning,
    /// Past the critical threshold, sustained.
    Critical,
}

impl Level {
    /// Lowercase name.
    pub fn as_str(self) -> &'static str {
        match self {
            Level::Ok => "ok",
            Level::Warning => "warning",
            Level::Critical => "critical",
        }
    }
}

/// The verdict on one series.
#[derive(Clone, Debug, PartialEq)]
pub struct Assessment {
    /// Sustained level.
    pub level: Level,
    /// Mean over the points at or past `level` (over all points when ok).
    pub value: f64,
    /// Mean over all valid points of the window.
    pub mean: f64,
    /// The worst valid value.
    pub peak: f64,
    /// The last valid value.
    pub last: f64,
    /// How long the condition held (points at or past `level` × step).
    pub held: Duration,
    /// First point of the last run at or past `level`.
    pub started_at: Option<DateTime<Utc>>,
    /// Last point of that run.
    pub ended_at: Option<DateTime<Utc>>,
    /// Valid points.
    pub points: usize,
    /// NaN or ±Inf points skipped.
    pub skipped: usize,
    /// Every period of consecutive points at or past warning (sustained checks only).
    pub periods: Vec<Period>,
    /// When nothing was sustained: the worst period past a threshold that ended before the
    /// window did (a burst that came and went). An unfinished one is not a burst yet.
    pub burst: Option<Period>,
}

/// A period of consecutive grid points at or past the warning threshold.
#[derive(Clone, Debug, PartialEq)]
pub struct Period {
    /// Its first point.
    pub start: DateTime<Utc>,
    /// Its last point.
    pub end: DateTime<Utc>,
    /// The worst level in it.
    pub level: Level,
    /// The worst value in it.
    pub peak: f64,
}

/// The periods of `states` (`(ms, level, value)` in time order) at or past warning.
fn periods(states: &[(i64, Level, f64)], direction: Direction) -> Vec<Period> {
    let mut out: Vec<Period> = Vec::new();
    let mut open = false;
    for &(ts, level, v) in states {
        let Some(at) = DateTime::from_timestamp_millis(ts) else {
            continue;
        };
        if level == Level::Ok {
            open = false;
            continue;
        }
        match out.last_mut() {
            Some(run) if open => {
                run.end = at;
                run.level = run.level.max(level);
                run.peak = direction.worse(run.peak, v);
            }
            _ => {
                out.push(Period {
                    start: at,
                    end: at,
                    level,
                    peak: v,
                });
                open = true;
            }
        }
    }
    out
}

/// Where a guard held for one target, per level: bit `i` of `warning` when it held for a
/// warning at grid point `i` of the window's grid (bit 0 alone for instant checks), of
/// `critical` for a critical. A window has at most a dozen points, so 64 bits hold them with
/// room to spare, instead of a list of timestamps. The two are the same mask unless the guard
/// has a stricter value for the critical level (node-mixin's filesystem predictions: a warning
/// under 40 % available, a critical only under 20 %). Kept per target in
/// [`super::masks::GuardPoints`].
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Held {
    /// Where the guard held for a warning.
    pub warning: u64,
    /// Where it held for a critical.
    pub critical: u64,
}

impl Held {
    /// The same mask for both levels.
    pub fn both(mask: u64) -> Held {
        Held {
            warning: mask,
            critical: mask,
        }
    }

    /// The highest level the guard allows at grid point `index`: `Ok` where it did not hold
    /// (or no mask or point is known), `Warning` where only the warning's condition held.
    pub fn cap(held: Option<&Held>, index: Option<u32>) -> Level {
        let Some(held) = held else {
            return Level::Ok;
        };
        if guard_holds(Some(&held.critical), index) {
            Level::Critical
        } else if guard_holds(Some(&held.warning), index) {
            Level::Warning
        } else {
            Level::Ok
        }
    }
}

/// Where the points of a sustained check's range query fall.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Grid {
    start_ms: i64,
    step_ms: i64,
}

impl Grid {
    /// The grid of `timing`'s range.
    pub fn of(timing: &Timing) -> Grid {
        let range = timing.range();
        Grid {
            start_ms: range.start.timestamp_millis(),
            step_ms: (range.step.as_millis() as i64).max(1),
        }
    }

    /// The index of the grid point at `ts_ms` (nearest), when it is one of the first 64.
    pub fn index(&self, ts_ms: i64) -> Option<u32> {
        let offset = ts_ms - self.start_ms;
        if offset < -self.step_ms / 2 {
            return None;
        }
        let i = (offset + self.step_ms / 2).max(0) / self.step_ms;
        u32::try_from(i).ok().filter(|i| *i < 64)
    }

    /// The mask of the points (ms, holds) given.
    pub fn mask(&self, points: impl Iterator<Item = (i64, bool)>) -> u64 {
        points
            .filter(|(_, holds)| *holds)
            .filter_map(|(ts, _)| self.index(ts))
            .fold(0, |mask, i| mask | (1 << i))
    }
}

/// Whether a guard held at grid point `index`. No mask or no point: it does not hold.
pub fn guard_holds(mask: Option<&u64>, index: Option<u32>) -> bool {
    matches!((mask, index), (Some(m), Some(i)) if (m >> i) & 1 == 1)
}

fn relaxed(direction: Direction, threshold: f64) -> f64 {
    let margin = (threshold.abs() * HYSTERESIS).max(1e-9);
    match direction {
        Direction::Above => threshold - margin,
        Direction::Below => threshold + margin,
    }
}

/// Judge a range-query series (`points` as `(unix seconds, value)`, in time order).
pub fn sustained(
    points: &[(f64, f64)],
    direction: Direction,
    thresholds: &Thresholds,
    min_duration: Duration,
    timing: &Timing,
    guard: Option<&dyn Fn(i64) -> Level>,
) -> Assessment {
    let warn_exit = relaxed(direction, thresholds.warning);
    let crit_exit = relaxed(direction, thresholds.critical);
    let mut states: Vec<(i64, Level, f64)> = Vec::with_capacity(points.len());
    let mut state = Level::Ok;
    let mut skipped = 0;
    let (mut sum, mut count) = (0.0, 0usize);
    let mut peak = f64::NAN;
    let mut last = f64::NAN;
    for &(ts, v) in points {
        if !v.is_finite() {
            skipped += 1;
            continue;
        }
        let ts_ms = (ts * 1000.0).round() as i64;
        // The highest level the guard allows here.
        let allowed = guard.map_or(Level::Critical, |g| g(ts_ms));
        state = if allowed == Level::Ok {
            Level::Ok
        } else {
            let past = |t: f64| direction.breaches(v, t);
            match state {
                Level::Ok if past(thresholds.critical) => Level::Critical,
                Level::Ok if past(thresholds.warning) => Level::Warning,
                Level::Ok => Level::Ok,
                Level::Warning if past(thresholds.critical) => Level::Critical,
                Level::Warning if past(warn_exit) => Level::Warning,
                Level::Warning => Level::Ok,
                Level::Critical if past(crit_exit) => Level::Critical,
                Level::Critical if past(warn_exit) => Level::Warning,
                Level::Critical => Level::Ok,
            }
            .min(allowed)
        };
        states.push((ts_ms, state, v));
        sum += v;
        count += 1;
        peak = if peak.is_nan() {
            v
        } else {
            direction.worse(peak, v)
        };
        last = v;
    }
    let mean = if count > 0 {
        sum / count as f64
    } else {
        f64::NAN
    };
    let expected = timing.expected_points.max(count).max(1);
    let needed = needed_points(min_duration, timing, expected);
    let at_least = |level: Level| states.iter().filter(|(_, s, _)| *s >= level).count();
    let level = if at_least(Level::Critical) >= needed {
        Level::Critical
    } else if at_least(Level::Warning) >= needed {
        Level::Warning
    } else {
        Level::Ok
    };
    if level == Level::Ok {
        return Assessment {
            level,
            value: mean,
            mean,
            peak,
            last,
            held: Duration::ZERO,
            started_at: None,
            ended_at: None,
            points: count,
            skipped,
            burst: burst(&periods(&states, direction), states.last(), direction),
            periods: periods(&states, direction),
        };
    }
    let held_points: Vec<&(i64, Level, f64)> =
        states.iter().filter(|(_, s, _)| *s >= level).collect();
    let value = held_points.iter().map(|(_, _, v)| v).sum::<f64>() / held_points.len() as f64;
    // The last contiguous run at or past the level.
    let mut end = None;
    let mut start = None;
    for (ts, s, _) in states.iter().rev() {
        if *s >= level {
            end.get_or_insert(*ts);
            start = Some(*ts);
        } else if end.is_some() {
            break;
        }
    }
    Assessment {
        level,
        value,
        mean,
        peak,
        last,
        held: timing.step * held_points.len() as u32,
        started_at: start.and_then(DateTime::from_timestamp_millis),
        ended_at: end.and_then(DateTime::from_timestamp_millis),
        points: count,
        skipped,
        periods: periods(&states, direction),
        burst: None,
    }
}

/// Points that must be past a threshold for the condition to count as sustained: the points
/// `min_duration` spans at the grid's step, at least two when a step is longer than it.
fn needed_points(min_duration: Duration, timing: &Timing, expected: usize) -> usize {
    let step = timing.step.as_secs_f64().max(1.0);
    let spanned = (min_duration.as_secs_f64() / step).ceil() as usize;
    let floor = if timing.step > min_duration { 2 } else { 1 };
    spanned.max(floor).clamp(1, expected)
}

/// The worst finished period of `periods`: one whose last point is not the window's last.
fn burst(
    periods: &[Period],
    last: Option<&(i64, Level, f64)>,
    direction: Direction,
) -> Option<Period> {
    let last_ms = last.map(|(ts, _, _)| *ts)?;
    periods
        .iter()
        .filter(|p| p.end.timestamp_millis() < last_ms)
        .max_by(|a, b| {
            a.level.cmp(&b.level).then(match direction {
                Direction::Above => a.peak.total_cmp(&b.peak),
                Direction::Below => b.peak.total_cmp(&a.peak),
            })
        })
        .cloned()
}

/// Judge an instant value (event checks): thresholds directly, no hysteresis, at most the
/// level the guard allows (`allowed`).
pub fn event(
    value: f64,
    direction: Direction,
    thresholds: &Thresholds,
    allowed: Level,
) -> Assessment {
    let valid = value.is_finite();
    let level = if !valid {
        Level::Ok
    } else if direction.breaches(value, thresholds.critical) {
        Level::Critical
    } else if direction.breaches(value, thresholds.warning) {
        Level::Warning
    } else {
        Level::Ok
    }
    .min(allowed);
    Assessment {
        level,
        value,
        mean: value,
        peak: value,
        last: value,
        held: Duration::ZERO,
        started_at: None,
        ended_at: None,
        points: usize::from(valid),
        skipped: usize::from(!valid),
        periods: Vec::new(),
        burst: None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn timing() -> Timing {
        let at = DateTime::from_timestamp(10_000, 0).unwrap();
        Timing::new(at, Duration::from_secs(600), Some(Duration::from_secs(15)))
    }

    fn series(values: &[f64]) -> Vec<(f64, f64)> {
        let t = timing();
        let start = t.range().start.timestamp() as f64;
        values
            .iter()
            .enumerate()
            .map(|(i, v)| (start + i as f64 * t.step.as_secs_f64(), *v))
            .collect()
    }

    const T: Thresholds = Thresholds {
        warning: 80.0,
        critical: 95.0,
    };

    fn judge(values: &[f64]) -> Assessment {
        sustained(
            &series(values),
            Direction::Above,
            &T,
            Duration::from_secs(300),
            &timing(),
            None,
        )
    }

    #[test]
    fn sustained_load_is_found_and_a_spike_is_not() {
        // 10 points of 60 s: 5 minutes is 5 points.
        let busy = judge(&[97.0; 10]);
        assert_eq!(busy.level, Level::Critical);
        assert_eq!(busy.held, Duration::from_secs(600));
        assert_eq!(busy.value, 97.0);

        let mut spike = vec![20.0; 10];
        spike[4] = 99.0;
        let s = judge(&spike);
        assert_eq!(s.level, Level::Ok, "a one-minute spike is not sustained");
        assert_eq!(s.peak, 99.0);

        let mut half = vec![20.0; 10];
        for v in half.iter_mut().skip(5) {
            *v = 85.0;
        }
        let h = judge(&half);
        assert_eq!(h.level, Level::Warning);
        assert_eq!(h.value, 85.0);
        assert!(h.started_at.unwrap() < h.ended_at.unwrap());
        assert_eq!(h.held, Duration::from_secs(300));
    }

    /// A 3-minute burst at 80 % (a CPU PSI stall), 30 minutes before the end, each point the
    /// mean over its step as `rate()` gives it, judged at a 15 s scrape interval.
    fn burst_series(t: &Timing) -> Vec<(f64, f64)> {
        let end = t.at.timestamp() as f64;
        let (from, to) = (end - 1800.0, end - 1620.0);
        let step = t.step.as_secs_f64();
        let start = t.range().start.timestamp() as f64;
        (0..t.expected_points)
            .map(|i| {
                let ts = start + i as f64 * step;
                let overlap = (ts.min(to) - (ts - step).max(from)).max(0.0);
                (ts, 1.0 + 79.0 * overlap / step)
            })
            .collect()
    }

    #[test]
    fn a_short_burst_is_a_burst_at_every_window() {
        let psi = Thresholds {
            warning: 10.0,
            critical: 25.0,
        };
        let at = DateTime::from_timestamp(1_700_000_400, 0).unwrap();
        for hours in [1, 2, 6, 24] {
            let t = Timing::new(
                at,
                Duration::from_secs(hours * 3600),
                Some(Duration::from_secs(15)),
            );
            let a = sustained(
                &burst_series(&t),
                Direction::Above,
                &psi,
                Duration::from_secs(300),
                &t,
                None,
            );
            assert_eq!(a.level, Level::Ok, "{hours} h: {a:?}");
            let Some(burst) = a.burst.clone() else {
                panic!("{hours} h: no burst {a:?}");
            };
            assert!(burst.peak >= psi.warning, "{hours} h: {burst:?}");
            assert!(burst.end < t.at);
        }
        // At 1 h the points are a minute apart: the peak is the burst's own.
        let t = Timing::new(at, Duration::from_secs(3600), Some(Duration::from_secs(15)));
        let a = sustained(
            &burst_series(&t),
            Direction::Above,
            &psi,
            Duration::from_secs(300),
            &t,
            None,
        );
        assert!(a.peak > 79.0, "{a:?}");
        // A condition still going at the end is not a burst: it has not come back.
        let mut ongoing = burst_series(&t);
        for p in ongoing.iter_mut().rev().take(1) {
            p.1 = 80.0;
        }
        let o = sustained(
            &ongoing,
            Direction::Above,
            &psi,
            Duration::from_secs(300),
            &t,
            None,
        );
        assert_eq!(o.level, Level::Ok);
        assert!(o
            .burst
            .is_some_and(|b| b.end < t.at - chrono::Duration::minutes(20)));
    }

    #[test]
    fn hysteresis_keeps_a_level_near_its_threshold() {
        // Alternating just above and just below 80: with hysteresis the state stays warning.
        let values: Vec<f64> = (0..10)
            .map(|i| if i % 2 == 0 { 81.0 } else { 78.0 })
            .collect();
        assert_eq!(judge(&values).level, Level::Warning);
        // Dropping well below leaves the level: a third of the time past it is not 5 minutes.
        let values: Vec<f64> = (0..10)
            .map(|i| if i % 3 == 0 { 81.0 } else { 60.0 })
            .collect();
        assert_eq!(judge(&values).level, Level::Ok);
        // Without hysteresis the same data would count as held on every point near 80.
        let values: Vec<f64> = (0..10)
            .map(|i| if i % 3 == 0 { 81.0 } else { 79.0 })
            .collect();
        assert_eq!(judge(&values).level, Level::Warning);
    }

    #[test]
    fn gaps_and_non_finite_points_do_not_count() {
        let mut values = vec![97.0; 4];
        values.extend([f64::NAN; 6]);
        let a = judge(&values);
        assert_eq!(
            a.level,
            Level::Ok,
            "4 of 10 expected points is not 5 minutes"
        );
        assert_eq!(a.skipped, 6);
        // A series that stops early still counts against the whole window.
        let short: Vec<f64> = vec![97.0; 4];
        assert_eq!(
            judge(&short).level,
            Level::Ok,
            "4 points of 60 s is 4 minutes"
        );
        let short: Vec<f64> = vec![97.0; 5];
        assert_eq!(
            judge(&short).level,
            Level::Critical,
            "5 points of 60 s is 5 minutes"
        );
    }

    #[test]
    fn guards_and_below_direction() {
        let pts = series(&[2.0; 10]);
        let t = Thresholds {
            warning: 24.0,
            critical: 4.0,
        };
        let yes = |_: i64| Level::Critical;
        let no = |_: i64| Level::Ok;
        let warning_only = |_: i64| Level::Warning;
        let a = sustained(
            &pts,
            Direction::Below,
            &t,
            Duration::from_secs(300),
            &timing(),
            Some(&yes),
        );
        assert_eq!(a.level, Level::Critical);
        let b = sustained(
            &pts,
            Direction::Below,
            &t,
            Duration::from_secs(300),
            &timing(),
            Some(&no),
        );
        assert_eq!(b.level, Level::Ok);
        // A guard that holds for a warning only (a stricter critical value) caps the level.
        let c = sustained(
            &pts,
            Direction::Below,
            &t,
            Duration::from_secs(300),
            &timing(),
            Some(&warning_only),
        );
        assert_eq!(c.level, Level::Warning);
        assert_eq!(
            event(2.0, Direction::Below, &t, Level::Warning).level,
            Level::Warning
        );
        assert_eq!(
            event(2.0, Direction::Below, &t, Level::Critical).level,
            Level::Critical
        );
        assert_eq!(event(2.0, Direction::Below, &t, Level::Ok).level, Level::Ok);
        let held = Held {
            warning: 0b11,
            critical: 0b01,
        };
        assert_eq!(Held::cap(Some(&held), Some(0)), Level::Critical);
        assert_eq!(Held::cap(Some(&held), Some(1)), Level::Warning);
        assert_eq!(Held::cap(Some(&held), Some(2)), Level::Ok);
        assert_eq!(Held::cap(None, Some(0)), Level::Ok);
    }

    #[test]
    fn events_and_guard_lookup() {
        assert_eq!(
            event(
                3.0,
                Direction::Above,
                &Thresholds {
                    warning: 1.0,
                    critical: 5.0
                },
                Level::Critical
            )
            .level,
            Level::Warning
        );
        assert_eq!(
            event(f64::NAN, Direction::Above, &T, Level::Critical).level,
            Level::Ok
        );
        let t = timing();
        let grid = Grid::of(&t);
        let start = t.range().start.timestamp_millis();
        let step = t.step.as_millis() as i64;
        let mask = grid.mask(
            [
                (start, true),
                (start + step, false),
                (start + 9 * step, true),
            ]
            .into_iter(),
        );
        assert_eq!(mask, 1 | (1 << 9));
        assert!(guard_holds(Some(&mask), grid.index(start)));
        // Timestamps a little off the grid (float seconds) still find their point.
        assert!(guard_holds(Some(&mask), grid.index(start + 9 * step + 3)));
        assert!(!guard_holds(Some(&mask), grid.index(start + step)));
        assert!(!guard_holds(Some(&mask), grid.index(start - step)));
        assert!(!guard_holds(None, grid.index(start)));
        assert_eq!(grid.index(start + 100 * step), None);
    }
}
