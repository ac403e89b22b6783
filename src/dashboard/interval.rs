//! Grafana's interval arithmetic, so `$__interval`, `$__rate_interval` and `auto` interval
//! variables take the values Grafana gives them (a query written for `[$__interval]` then
//! covers the same window here as on screen).
//!
//! Grafana computes `$__interval` as range ÷ max data points, rounds it to a "nice" interval
//! from a fixed table (10 ms … 1 y) and raises it to the lower limit (the panel's min interval,
//! else the data source's scrape interval). Durations are then printed in their largest whole
//! unit (`90s` → `1m`), as Grafana's `secondsToHms` does.

use std::time::Duration;

/// The upper bounds (exclusive, ms) of Grafana's interval rounding table and the nice
/// interval each rounds to.
const ROUNDING: &[(u64, u64)] = &[
    (15, 10),
    (35, 20),
    (75, 50),
    (150, 100),
    (350, 200),
    (750, 500),
    (1_500, 1_000),
    (3_500, 2_000),
    (7_500, 5_000),
    (12_500, 10_000),
    (17_500, 15_000),
    (25_000, 20_000),
    (45_000, 30_000),
    (90_000, 60_000),
    (210_000, 120_000),
    (450_000, 300_000),
    (1_050_000, 600_000),
    (1_800_000, 900_000),
    (3_600_000, 1_200_000),
    (7_200_000, 1_800_000),
    (10_800_000, 3_600_000),
    (21_600_000, 7_200_000),
    (43_200_000, 10_800_000),
    (86_400_000, 21_600_000),
    (604_800_000, 43_200_000),
    (1_814_400_000, 86_400_000),
    (3_628_800_000, 604_800_000),
    (31_536_000_000, 2_592_000_000),
];

/// The "nice" interval `raw` rounds to.
pub fn round(raw: Duration) -> Duration {
    let ms = raw.as_millis() as u64;
    let nice = ROUNDING
        .iter()
        .find(|(below, _)| ms < *below)
        .map(|(_, nice)| *nice)
        .unwrap_or(31_536_000_000);
    Duration::from_millis(nice)
}

/// `$__interval` for a range shown with `resolution` points: the rounded interval, no finer
/// than `low_limit`.
pub fn calculate(range: Duration, resolution: u32, low_limit: Duration) -> Duration {
    let raw = range / resolution.max(1);
    round(raw).max(low_limit)
}

/// The value of an `auto` interval variable: the range split in `count` steps (30 by default),
/// rounded, no finer than its `auto_min` (10s by default).
pub fn auto(range: Duration, count: u32, min: Duration) -> Duration {
    calculate(range, count, min)
}

/// Grafana's `secondsToHms`: the largest whole unit (`y`, `d`, `h`, `m`, `s`, `ms`).
pub fn hms(d: Duration) -> String {
    let secs = d.as_secs();
    let units = [
        (31_536_000, "y"),
        (86_400, "d"),
        (3_600, "h"),
        (60, "m"),
        (1, "s"),
    ];
    let mut rest = secs;
    for (size, unit) in units {
        let n = rest / size;
        if n > 0 {
            return format!("{n}{unit}");
        }
        rest %= size;
    }
    let ms = d.subsec_millis();
    if ms > 0 {
        format!("{ms}ms")
    } else {
        "0s".to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn intervals_round_like_grafana() {
        let s = Duration::from_secs;
        // One hour on 200 points: 18s rounds to 20s.
        assert_eq!(calculate(s(3600), 200, s(15)), s(20));
        // Six hours on 200 points: 108s → 2m.
        assert_eq!(calculate(s(6 * 3600), 200, s(15)), s(120));
        // Five minutes on 200 points: 1.5s → 2s, raised to the 15s scrape interval.
        assert_eq!(calculate(s(300), 200, s(15)), s(15));
        // Auto interval: 24h / 30 = 48m → 20m (Grafana's table rounds below 1h to 20m).
        assert_eq!(auto(s(86_400), 30, s(10)), s(1200));
        assert_eq!(hms(s(90)), "1m");
        assert_eq!(hms(s(20)), "20s");
        assert_eq!(hms(s(7200)), "2h");
        assert_eq!(hms(Duration::from_millis(500)), "500ms");
    }
}
