//! Windows and durations: Prometheus' duration syntax (`5m`, `1h30m`), an analysis window's
//! lower bound, and the time range a window describes.

use std::time::Duration;

use chrono::{DateTime, Utc};
use thiserror::Error;

use crate::promql::{self, DurationError};

/// The default look-back and rate window of a query.
pub const DEFAULT_WINDOW: Duration = Duration::from_secs(300);

/// The default window of the `report` and `coverage` resources.
pub const DEFAULT_REPORT_WINDOW: Duration = Duration::from_secs(600);

/// The default range of a dashboard analysis (resource and CLI).
pub const DEFAULT_DASHBOARD_WINDOW: Duration = Duration::from_secs(3600);

/// Shortest analysis window: `rate()` needs at least two samples, so at least twice the
/// scrape interval; 30s covers the usual 15s.
pub const MIN_WINDOW: Duration = Duration::from_secs(30);

/// Longest analysis window: a year (a leap year included). Ten points per window whatever its
/// length, so longer windows cost Prometheus raw samples, not points, and nothing a USE analysis
/// asks for needs more; the bound also keeps every date computed from a window well inside
/// what a timestamp can hold.
pub const MAX_WINDOW: Duration = Duration::from_secs(366 * 24 * 3600);

/// Longest duration of any kind (timeouts, dashboard ranges): ten years, for the same reason.
pub const MAX_DURATION: Duration = Duration::from_secs(10 * 366 * 24 * 3600);

/// A window or duration that cannot be used.
#[derive(Debug, Error, PartialEq, Eq)]
pub enum WindowError {
    /// Not Prometheus' duration syntax.
    #[error(transparent)]
    NotADuration(#[from] DurationError),
    /// An analysis window too short for rates.
    #[error("`{text}` is too short: a window must be at least {}s so that rates see two scrapes", MIN_WINDOW.as_secs())]
    TooShort {
        /// The text given.
        text: String,
    },
    /// A window or duration past what the analysis accepts.
    #[error("`{text}` is too long: at most {}d", max.as_secs() / 86_400)]
    TooLong {
        /// The text given (its first characters).
        text: String,
        /// The longest accepted.
        max: Duration,
    },
}

/// Any positive duration: `30s`, `5m`, `1h30m` (timeouts, dashboard ranges).
pub fn parse_duration(text: &str) -> Result<Duration, WindowError> {
    at_most(text, promql::parse_duration(text)?, MAX_DURATION)
}

/// `duration` if it is no longer than `max`.
fn at_most(text: &str, duration: Duration, max: Duration) -> Result<Duration, WindowError> {
    if duration > max {
        return Err(WindowError::TooLong {
            text: crate::echo::short(text.trim()).into_owned(),
            max,
        });
    }
    Ok(duration)
}

/// An analysis window: a duration of at least [`MIN_WINDOW`] and at most [`MAX_WINDOW`].
pub fn parse_window(text: &str) -> Result<Duration, WindowError> {
    let window = promql::parse_duration(text)?;
    if window < MIN_WINDOW {
        return Err(WindowError::TooShort {
            text: crate::echo::short(text.trim()).into_owned(),
        });
    }
    at_most(text, window, MAX_WINDOW)
}

/// The range ending at `to` (default `now`) that starts at `from`, or `window` before its end
/// (never before the Unix epoch).
pub fn range(
    from: Option<DateTime<Utc>>,
    to: Option<DateTime<Utc>>,
    window: Duration,
    now: DateTime<Utc>,
) -> (DateTime<Utc>, DateTime<Utc>) {
    let to = to.unwrap_or(now);
    let from = from.unwrap_or_else(|| {
        chrono::Duration::from_std(window)
            .ok()
            .and_then(|w| to.checked_sub_signed(w))
            .filter(|f| f.timestamp() >= 0)
            .unwrap_or(DateTime::UNIX_EPOCH)
    });
    (from, to)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn windows_have_a_floor_and_durations_do_not() {
        assert_eq!(parse_window("5m"), Ok(Duration::from_secs(300)));
        assert_eq!(parse_window("30s"), Ok(MIN_WINDOW));
        let short = parse_window("10s").unwrap_err().to_string();
        assert!(short.contains("at least 30s"), "{short}");
        assert_eq!(parse_duration("10s"), Ok(Duration::from_secs(10)));
        assert_eq!(parse_window("366d"), Ok(MAX_WINDOW));
        for long in ["367d", "99999999999d", "2y"] {
            let err = parse_window(long).unwrap_err().to_string();
            assert!(err.contains("too long: at most 366d"), "{long}: {err}");
        }
        let err = parse_duration("99999999999d").unwrap_err().to_string();
        assert!(err.contains("too long: at most 3660d"), "{err}");
        for bad in ["5 minutes", "5x", "", "0s"] {
            let err = parse_duration(bad).unwrap_err().to_string();
            assert!(err.contains("not a duration"), "{bad}: {err}");
        }
    }

    #[test]
    fn a_range_ends_at_to_and_starts_at_from_or_a_window_before() {
        let t = |s: i64| DateTime::from_timestamp(s, 0).unwrap();
        let hour = Duration::from_secs(3600);
        assert_eq!(range(None, None, hour, t(10_000)), (t(6_400), t(10_000)));
        assert_eq!(
            range(None, Some(t(8_000)), hour, t(10_000)),
            (t(4_400), t(8_000))
        );
        assert_eq!(
            range(Some(t(1)), Some(t(8_000)), hour, t(10_000)),
            (t(1), t(8_000))
        );
        // A window longer than time itself starts at the epoch instead of overflowing.
        let forever = Duration::from_secs(u64::MAX / 1000);
        assert_eq!(range(None, None, forever, t(10_000)).0, t(0));
        assert_eq!(range(None, None, hour, t(100)).0, t(0));
    }
}
