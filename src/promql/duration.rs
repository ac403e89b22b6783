//! Prometheus-style durations (`90s`, `5m`, `1h30m`): parsed from users, rendered into PromQL.

use std::time::Duration;

use thiserror::Error;

/// A duration string that is not in Prometheus' format.
#[derive(Debug, Error, PartialEq, Eq)]
#[error("`{text}` is not a duration: use a number with a unit, e.g. 30s, 5m, 1h30m (units ms, s, m, h, d, w, y)")]
pub struct DurationError {
    /// The rejected text.
    pub text: String,
}

const UNITS: [(&str, u64); 7] = [
    ("y", 365 * 24 * 3600 * 1000),
    ("w", 7 * 24 * 3600 * 1000),
    ("d", 24 * 3600 * 1000),
    ("h", 3600 * 1000),
    ("m", 60 * 1000),
    ("s", 1000),
    ("ms", 1),
];

/// Parse `1h30m`, `5m`, `250ms`… Units must not repeat and must go from largest to smallest,
/// exactly as Prometheus requires, so anything accepted here is also valid PromQL.
pub fn parse_duration(text: &str) -> Result<Duration, DurationError> {
    let err = || DurationError {
        text: crate::echo::short(text).into_owned(),
    };
    let bytes = text.trim().as_bytes();
    if bytes.is_empty() {
        return Err(err());
    }
    let mut total_ms: u64 = 0;
    let mut i = 0;
    let mut last_unit_rank = usize::MAX;
    while i < bytes.len() {
        let start = i;
        while i < bytes.len() && bytes[i].is_ascii_digit() {
            i += 1;
        }
        if start == i {
            return Err(err());
        }
        let number: u64 = std::str::from_utf8(&bytes[start..i])
            .ok()
            .and_then(|s| s.parse().ok())
            .ok_or_else(err)?;
        let unit_start = i;
        while i < bytes.len() && bytes[i].is_ascii_alphabetic() {
            i += 1;
        }
        let unit = std::str::from_utf8(&bytes[unit_start..i]).map_err(|_| err())?;
        let rank = UNITS.iter().position(|(u, _)| *u == unit).ok_or_else(err)?;
        if last_unit_rank != usize::MAX && rank <= last_unit_rank {
            return Err(err());
        }
        last_unit_rank = rank;
        total_ms = number
            .checked_mul(UNITS[rank].1)
            .and_then(|ms| total_ms.checked_add(ms))
            .ok_or_else(err)?;
    }
    if total_ms == 0 {
        return Err(err());
    }
    Ok(Duration::from_millis(total_ms))
}

/// Render a duration the way Prometheus prints it (`1h30m`, `15s`, `500ms`).
pub fn format_duration(duration: Duration) -> String {
    let mut ms = duration.as_millis() as u64;
    if ms == 0 {
        return "0s".to_string();
    }
    let mut out = String::new();
    for (unit, size) in UNITS {
        if ms >= size {
            out.push_str(&format!("{}{}", ms / size, unit));
            ms %= size;
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_prometheus_durations() {
        assert_eq!(parse_duration("5m").unwrap(), Duration::from_secs(300));
        assert_eq!(parse_duration("1h30m").unwrap(), Duration::from_secs(5400));
        assert_eq!(parse_duration("250ms").unwrap(), Duration::from_millis(250));
        assert_eq!(parse_duration("1d").unwrap(), Duration::from_secs(86400));
    }

    #[test]
    fn rejects_what_prometheus_rejects() {
        for bad in [
            "", "5", "m", "5 m", "30m1h", "5mm", "0s", "1.5h", "-5m", "5x",
        ] {
            assert!(parse_duration(bad).is_err(), "{bad} should be rejected");
        }
    }

    #[test]
    fn formats_round_trip() {
        for text in ["5m", "1h30m", "15s", "500ms", "2w3d"] {
            assert_eq!(format_duration(parse_duration(text).unwrap()), text);
        }
    }
}
