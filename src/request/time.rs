//! Times: RFC 3339, or Unix seconds with up to millisecond precision. One parser for the
//! panel queries' and resources' times and the CLI's `--at`, `--from` and `--to`.

use chrono::{DateTime, Utc};
use thiserror::Error;

/// Numbers above this are Unix milliseconds, as in Grafana URLs (`from=1764252300000`), not
/// seconds: 10^11 seconds is the year 5138, 10^11 milliseconds 1973.
pub const MILLISECONDS_ABOVE: f64 = 1e11;

/// A time that cannot be used.
#[derive(Clone, Debug, Error, PartialEq, Eq)]
pub enum TimeError {
    /// Neither form.
    #[error("`{text}` is neither RFC 3339 (2026-11-27T14:05:00Z) nor Unix seconds")]
    Unparsed {
        /// The text given.
        text: String,
    },
    /// A number that is infinite or not a number.
    #[error("`{text}` is not a finite number of seconds; give RFC 3339 (2026-11-27T14:05:00Z) or Unix seconds")]
    NotFinite {
        /// The text given.
        text: String,
    },
    /// Before 1970 (a negative Unix time).
    #[error("`{text}` is before 1970-01-01T00:00:00Z; give a time after the Unix epoch")]
    BeforeEpoch {
        /// The text given.
        text: String,
    },
    /// Past what a time can hold.
    #[error("`{text}` is out of range: give RFC 3339 (2026-11-27T14:05:00Z) or Unix seconds of a real date")]
    OutOfRange {
        /// The text given.
        text: String,
    },
}

/// Parse `text` (surrounding blanks ignored): RFC 3339 (`2026-11-27T14:05:00Z`,
/// `2026-11-27T15:05:00.250+01:00`), Unix seconds (`1795788300`, `1795788300.25`, kept to the
/// millisecond), or Unix milliseconds for numbers above [`MILLISECONDS_ABOVE`]. Times before
/// 1970 are rejected.
pub fn parse_time(text: &str) -> Result<DateTime<Utc>, TimeError> {
    let trimmed = text.trim();
    if let Ok(t) = DateTime::parse_from_rfc3339(trimmed) {
        let t = t.with_timezone(&Utc);
        if t.timestamp_millis() < 0 {
            return Err(TimeError::BeforeEpoch { text: text.into() });
        }
        return Ok(t);
    }
    let number: f64 = trimmed
        .parse()
        .map_err(|_| TimeError::Unparsed { text: text.into() })?;
    if !number.is_finite() {
        return Err(TimeError::NotFinite { text: text.into() });
    }
    if number < 0.0 {
        return Err(TimeError::BeforeEpoch { text: text.into() });
    }
    let millis = if number > MILLISECONDS_ABOVE {
        number
    } else {
        number * 1000.0
    }
    .round();
    // `as` saturates; anything at or past i64::MAX milliseconds is out of range anyway.
    let out_of_range = || TimeError::OutOfRange { text: text.into() };
    if millis >= i64::MAX as f64 {
        return Err(out_of_range());
    }
    DateTime::from_timestamp_millis(millis as i64).ok_or_else(out_of_range)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(ms: i64) -> DateTime<Utc> {
        DateTime::from_timestamp_millis(ms).unwrap()
    }

    #[test]
    fn every_form_any_caller_accepted_still_parses() {
        let t = at(1_795_788_300_000);
        for text in [
            "2026-11-27T14:05:00Z",
            "2026-11-27T15:05:00+01:00",
            "1795788300",
            " 1795788300 ",
            "1795788300.0",
            "1795788300000",
            "1.7957883e9",
        ] {
            assert_eq!(parse_time(text), Ok(t), "{text}");
        }
        assert_eq!(parse_time("0"), Ok(at(0)));
        assert_eq!(parse_time("1970-01-01T00:00:00Z"), Ok(at(0)));
    }

    #[test]
    fn milliseconds_are_kept_in_both_forms() {
        assert_eq!(parse_time("1795788300.25"), Ok(at(1_795_788_300_250)));
        assert_eq!(
            parse_time("2026-11-27T14:05:00.250Z"),
            Ok(at(1_795_788_300_250))
        );
        assert_eq!(parse_time("1795788300250"), Ok(at(1_795_788_300_250)));
    }

    #[test]
    fn negative_non_finite_and_out_of_range_are_refused_with_the_reason() {
        for (text, want) in [
            ("-1", "before 1970"),
            ("-0.5", "before 1970"),
            ("1969-12-31T23:59:59Z", "before 1970"),
            ("inf", "not a finite number"),
            ("NaN", "not a finite number"),
            ("1e300", "out of range"),
            ("9e15", "out of range"),
            ("yesterday", "neither RFC 3339"),
            ("", "neither RFC 3339"),
        ] {
            let err = parse_time(text).unwrap_err().to_string();
            assert!(err.contains(want), "{text}: {err}");
            assert!(err.contains(&format!("`{text}`")), "{text}: {err}");
        }
    }
}
