//! The time grid of an analysis: window, rate interval and step.
//!
//! Sustained checks are range queries evaluated every `step` across the window, each point a
//! `rate()` over `rate`: at least four scrapes (as Prometheus advises, so a missed scrape does
//! not break it) and at least one step, so consecutive points cover the window without gaps or
//! overlap. The resolution follows the scrape interval: a step of four scrapes, the finest a
//! robust `rate()` allows, bounded at [`MAX_RANGE_POINTS`] points per window (the guards'
//! 64-bit masks, and Prometheus' cost, which grows with series × points), and never fewer than
//! ten points. A 1 h window at a 15 s interval is judged on 1-minute points, not 6-minute
//! averages, so a 3-minute burst stays a burst; a 24 h window steps 24 minutes, and a single
//! point there never proves a condition held (`engine::evaluate` needs two). Event checks look
//! at the whole window once.

use std::time::Duration;

use chrono::{DateTime, Utc};

use crate::{
    prometheus::QueryRange,
    promql::{render_query, render_query_split, template::TemplateError},
};

/// Scrape interval assumed when Prometheus does not tell (Prometheus' default is 1m; most
/// node_exporter deployments use 15s).
pub const ASSUMED_SCRAPE_INTERVAL: Duration = Duration::from_secs(15);

/// Fewest points per window of a sustained check (short windows).
const POINTS: u64 = 10;

/// Most points of a range grid: guards are 64-bit masks over the grid's points.
pub const MAX_RANGE_POINTS: u64 = 60;

/// `at` minus `span`, never before the Unix epoch: windows and spans come from users, and
/// chrono panics on a date it cannot hold. Every date computed back from an evaluation time
/// goes through here (or [`after`]).
pub fn before(at: DateTime<Utc>, span: Duration) -> DateTime<Utc> {
    chrono::Duration::from_std(span)
        .ok()
        .and_then(|d| at.checked_sub_signed(d))
        .filter(|t| t.timestamp() >= 0)
        .unwrap_or(DateTime::UNIX_EPOCH)
}

/// `at` plus `span`, at most the latest date chrono holds (see [`before`]).
pub fn after(at: DateTime<Utc>, span: Duration) -> DateTime<Utc> {
    chrono::Duration::from_std(span)
        .ok()
        .and_then(|d| at.checked_add_signed(d))
        .unwrap_or(DateTime::<Utc>::MAX_UTC)
}

/// `step` × `n`, saturating instead of panicking.
pub fn steps(step: Duration, n: u64) -> Duration {
    step.checked_mul(u32::try_from(n).unwrap_or(u32::MAX))
        .unwrap_or(Duration::MAX)
}

/// The time grid.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Timing {
    /// End of the window (evaluation time).
    pub at: DateTime<Utc>,
    /// Analysis window.
    pub window: Duration,
    /// `rate()` interval of sustained checks.
    pub rate: Duration,
    /// Distance between points.
    pub step: Duration,
    /// Points a series with no gaps has in the window.
    pub expected_points: usize,
    /// The scrape interval this grid was derived from.
    pub scrape_interval: Duration,
}

impl Timing {
    /// The grid for `window` ending at `at`, given the scrape interval seen (if any).
    pub fn new(at: DateTime<Utc>, window: Duration, scrape_interval: Option<Duration>) -> Timing {
        let scrape = scrape_interval
            .filter(|d| !d.is_zero())
            .unwrap_or(ASSUMED_SCRAPE_INTERVAL);
        let scrape_secs = scrape.as_secs_f64().round().max(1.0) as u64;
        let window_secs = window.as_secs().max(1);
        // Four scrapes a step where the window allows (at most MAX_RANGE_POINTS points), but
        // never fewer than POINTS points: short windows keep a tenth of the window.
        let fine = scrape_secs
            .saturating_mul(4)
            .max(window_secs.div_ceil(MAX_RANGE_POINTS));
        let step_secs = fine.min(window_secs / POINTS).max(scrape_secs).max(1);
        let rate_secs = scrape_secs
            .saturating_mul(4)
            .max(step_secs)
            .min(window_secs)
            .max(scrape_secs.min(window_secs));
        let expected_points = (window_secs / step_secs).max(1) as usize;
        Timing {
            at,
            window,
            rate: Duration::from_secs(rate_secs),
            step: Duration::from_secs(step_secs),
            expected_points,
            scrape_interval: scrape,
        }
    }

    /// A grid over a dashboard's whole range (annotations, timelines): at least `step` between
    /// points and at most [`MAX_RANGE_POINTS`] points, `rate()` over a step (at least four
    /// scrapes), so every sample between two points is counted once.
    pub fn over_range(
        at: DateTime<Utc>,
        range: Duration,
        step: Duration,
        scrape_interval: Option<Duration>,
    ) -> Timing {
        let scrape = scrape_interval
            .filter(|d| !d.is_zero())
            .unwrap_or(ASSUMED_SCRAPE_INTERVAL);
        let scrape_secs = scrape.as_secs_f64().round().max(1.0) as u64;
        let range_secs = range.as_secs().max(1);
        let step_secs = step
            .as_secs()
            .max(range_secs.div_ceil(MAX_RANGE_POINTS))
            .max(scrape_secs)
            .max(1);
        let rate_secs = scrape_secs
            .saturating_mul(4)
            .max(step_secs)
            .min(range_secs.max(scrape_secs));
        Timing {
            at,
            window: range,
            rate: Duration::from_secs(rate_secs),
            step: Duration::from_secs(step_secs),
            expected_points: (range_secs / step_secs).max(1) as usize,
            scrape_interval: scrape,
        }
    }

    /// The grid a dashboard's panels ran on: every point of `grid`, `rate` as the dashboard's
    /// `$__rate_interval` resolved. A dashboard report states this grid, not one of its own.
    pub fn of_grid(
        grid: &QueryRange,
        window: Duration,
        rate: Duration,
        scrape_interval: Duration,
    ) -> Timing {
        let step_secs = grid.step.as_secs().max(1);
        let span_secs = u64::try_from((grid.end - grid.start).num_seconds()).unwrap_or(0);
        Timing {
            at: grid.end,
            window,
            rate,
            step: grid.step,
            expected_points: (span_secs / step_secs) as usize + 1,
            scrape_interval: scrape_interval.max(Duration::from_secs(1)),
        }
    }

    /// The range of a sustained check's query: `expected_points` points ending at `at`.
    pub fn range(&self) -> QueryRange {
        let span = steps(self.step, self.expected_points.saturating_sub(1) as u64);
        QueryRange {
            start: before(self.at, span),
            end: self.at,
            step: self.step,
        }
    }

    /// A catalog query template rendered for this grid: `${rate}` and `${window}` from it,
    /// `${selector}` from `selector`.
    pub fn render(&self, template: &str, selector: &str) -> Result<String, TemplateError> {
        render_query(template, selector, self.rate, self.window)
    }

    /// [`Timing::render`] with `${node_selector}` from `node_selector` (see
    /// [`render_query_split`]).
    pub fn render_split(
        &self,
        template: &str,
        selector: &str,
        node_selector: &str,
    ) -> Result<String, TemplateError> {
        render_query_split(template, selector, node_selector, self.rate, self.window)
    }

    /// True when the window is too short for a solid `rate()` (under four scrapes).
    pub fn short_window(&self) -> bool {
        self.window < self.scrape_interval.saturating_mul(4)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_computed_from_user_spans_saturate_instead_of_panicking() {
        let at = DateTime::from_timestamp(1_700_000_000, 0).unwrap();
        let huge = Duration::from_secs(99_999_999_999 * 86_400);
        assert_eq!(before(at, huge), DateTime::UNIX_EPOCH);
        assert_eq!(
            before(at, Duration::from_secs(3600)).timestamp(),
            1_699_996_400
        );
        assert_eq!(after(at, huge), DateTime::<Utc>::MAX_UTC);
        assert_eq!(steps(Duration::from_secs(u64::MAX / 2), 9), Duration::MAX);
        // A grid over an absurd window still has a range (it starts at the epoch).
        let grid = Timing::new(at, huge, Some(Duration::from_secs(15)));
        assert_eq!(grid.range().start, DateTime::UNIX_EPOCH);
        let absurd_scrape = Timing::new(at, huge, Some(Duration::from_secs(u64::MAX / 3)));
        assert!(absurd_scrape.short_window());
    }

    #[test]
    fn a_dashboard_grid_is_stated_as_it_ran() {
        let end = DateTime::from_timestamp(1_700_000_000, 0).unwrap();
        let grid = QueryRange {
            start: end - chrono::Duration::hours(6),
            end,
            step: Duration::from_secs(120),
        };
        let scrape = Duration::from_secs(15);
        let t = Timing::of_grid(
            &grid,
            Duration::from_secs(6 * 3600),
            Duration::from_secs(135),
            scrape,
        );
        assert_eq!(t.range(), grid);
        assert_eq!(t.expected_points, 181);
        assert_eq!(t.rate, Duration::from_secs(135));
    }

    #[test]
    fn grids_for_common_settings() {
        let at = DateTime::from_timestamp(1_700_000_000, 0).unwrap();
        let t = Timing::new(at, Duration::from_secs(600), Some(Duration::from_secs(15)));
        assert_eq!(
            (t.rate.as_secs(), t.step.as_secs(), t.expected_points),
            (60, 60, 10)
        );
        let r = t.range();
        assert_eq!(r.end, at);
        assert_eq!((r.end - r.start).num_seconds(), 540);

        // A long window follows the scrape interval (four scrapes a step) up to 60 points;
        // each rate covers its own step, so no sample is skipped between points.
        let t = Timing::new(at, Duration::from_secs(3600), Some(Duration::from_secs(15)));
        assert_eq!(
            (t.rate.as_secs(), t.step.as_secs(), t.expected_points),
            (60, 60, 60)
        );
        let t = Timing::new(
            at,
            Duration::from_secs(6 * 3600),
            Some(Duration::from_secs(15)),
        );
        assert_eq!(
            (t.rate.as_secs(), t.step.as_secs(), t.expected_points),
            (360, 360, 60)
        );
        let t = Timing::new(
            at,
            Duration::from_secs(86_400),
            Some(Duration::from_secs(15)),
        );
        assert_eq!((t.step.as_secs(), t.expected_points), (1440, 60));
        // A 5-minute window keeps ten points.
        let t = Timing::new(at, Duration::from_secs(300), Some(Duration::from_secs(15)));
        assert_eq!(
            (t.rate.as_secs(), t.step.as_secs(), t.expected_points),
            (60, 30, 10)
        );

        // A 1 s scrape interval (the live tests) gives tight rates.
        let t = Timing::new(at, Duration::from_secs(30), Some(Duration::from_secs(1)));
        assert_eq!(
            (t.rate.as_secs(), t.step.as_secs(), t.expected_points),
            (4, 3, 10)
        );

        // A dashboard's 6 h at a 15 s interval: capped at 60 points (6 min apart).
        let t = Timing::over_range(
            at,
            Duration::from_secs(6 * 3600),
            Duration::from_secs(15),
            Some(Duration::from_secs(15)),
        );
        assert_eq!(
            (t.step.as_secs(), t.rate.as_secs(), t.expected_points),
            (360, 360, 60)
        );

        // Unknown interval: assume 15 s. Windows shorter than four scrapes are flagged.
        let t = Timing::new(at, Duration::from_secs(30), None);
        assert_eq!((t.rate.as_secs(), t.step.as_secs()), (30, 15));
        assert!(t.short_window());
    }
}
