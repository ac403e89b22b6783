//! Classic Prometheus histograms (`_bucket{le}`, `_sum`, `_count`) served by application
//! targets, as OpenMetrics.
//!
//! Latencies are point masses: a share of the observations takes exactly one value, which
//! counts in every bucket whose upper bound is at least that value (cumulative buckets, as
//! Prometheus' clients write them) and in `+Inf`. Counters start at 0 at the first sample and
//! integrate the observation rate. Everything is deterministic; there is no jitter.

use std::io::{self, Write};

use crate::host::{escape, Shape, Written};

/// The bucket bounds of Prometheus' client libraries (`prometheus.DefBuckets`), in seconds.
pub const DEFAULT_BUCKETS: [f64; 11] = [
    0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
];

/// `(value, share)` point masses: `share` of the observations take exactly `value`.
pub type Masses = Vec<(f64, f64)>;

/// A classic histogram (`_bucket{le}`, `_sum`, `_count`) served by one application target.
#[derive(Clone, Debug)]
pub struct Histogram {
    /// Base name, e.g. `http_request_duration_seconds`.
    pub metric: String,
    /// `instance` label, e.g. `api-1:8080`.
    pub instance: String,
    /// `job` label, e.g. `api`.
    pub job: String,
    /// Finite upper bounds, ascending; `+Inf` is added unless `omit_inf`.
    pub buckets: Vec<f64>,
    /// Observations per second.
    pub rate: Shape,
    /// `(value, share)` point masses (value in the metric's unit); shares sum to 1.
    pub normal: Masses,
    /// `(from, to, masses)`: observations made between offsets `from` and `to` follow
    /// `masses` instead of `normal` (the last matching window wins).
    pub during: Vec<(i64, i64, Masses)>,
    /// Leave out the `+Inf` bucket (bad input).
    pub omit_inf: bool,
    /// Write the second-lowest bucket's counter smaller than the lowest (bad input): the lowest
    /// bucket gets the second-lowest's count, the second-lowest half the lowest's, so it is
    /// strictly smaller once any observation is at or below the second-lowest bound.
    pub non_monotonic: bool,
}

/// One sample time of a histogram, as written.
#[derive(Clone, Debug, PartialEq)]
pub struct Point {
    /// Seconds relative to the end (≤ 0).
    pub offset: f64,
    /// Unix seconds of the sample.
    pub time: f64,
    /// `(le, cumulative count)` in bucket order, `+Inf` last unless omitted.
    pub buckets: Vec<(String, f64)>,
    /// `_sum`.
    pub sum: f64,
    /// `_count`.
    pub count: f64,
}

impl Histogram {
    /// A well-formed histogram: `normal` at all times, `+Inf` included, buckets monotonic.
    pub fn new(
        metric: &str,
        instance: &str,
        job: &str,
        buckets: &[f64],
        rate: Shape,
        normal: Masses,
    ) -> Histogram {
        Histogram {
            metric: metric.to_string(),
            instance: instance.to_string(),
            job: job.to_string(),
            buckets: buckets.to_vec(),
            rate,
            normal,
            during: Vec::new(),
            omit_inf: false,
            non_monotonic: false,
        }
    }

    /// The point masses of observations made at `offset` seconds relative to the end.
    pub fn masses_at(&self, offset: f64) -> &[(f64, f64)] {
        self.during
            .iter()
            .rev()
            .find(|(from, to, _)| offset >= *from as f64 && offset < *to as f64)
            .map_or(self.normal.as_slice(), |(_, _, m)| m.as_slice())
    }

    /// The samples over `history` seconds every `step`, ending at `end` (Unix seconds). The
    /// observations between two samples follow the rate and masses at the midpoint of that
    /// interval, so `during` windows on multiples of `step` cover exactly their intervals.
    pub fn points(&self, end: i64, history: i64, step: i64) -> Vec<Point> {
        let finite: Vec<f64> = self
            .buckets
            .iter()
            .copied()
            .filter(|b| b.is_finite())
            .collect();
        let mut totals = vec![0.0; finite.len()];
        let mut count = 0.0;
        let mut sum = 0.0;
        let n = history / step;
        let mut points = Vec::with_capacity(n as usize + 1);
        for k in 0..=n {
            let offset = (k * step - history) as f64;
            if k > 0 {
                let mid = offset - step as f64 / 2.0;
                let observed = self.rate.at(mid).max(0.0) * step as f64;
                let masses = self.masses_at(mid);
                for (total, le) in totals.iter_mut().zip(&finite) {
                    // Summed in the same order for every bound: monotonic in `le`.
                    let share: f64 = masses
                        .iter()
                        .filter(|(v, _)| v <= le)
                        .map(|(_, s)| s.max(0.0))
                        .sum();
                    *total += observed * share.min(1.0);
                }
                count += observed;
                sum += observed * masses.iter().map(|(v, s)| v * s).sum::<f64>();
            }
            let mut buckets: Vec<(String, f64)> = finite
                .iter()
                .zip(&totals)
                .map(|(le, total)| (format_le(*le), *total))
                .collect();
            if self.non_monotonic && buckets.len() >= 2 {
                let (lowest, second) = (buckets[0].1, buckets[1].1);
                buckets[0].1 = second;
                buckets[1].1 = lowest / 2.0;
            }
            if !self.omit_inf {
                buckets.push(("+Inf".to_string(), count));
            }
            points.push(Point {
                offset,
                time: (end as f64) + offset,
                buckets,
                sum,
                count,
            });
        }
        points
    }
}

/// An `le` label value as Prometheus' Go clients write it: `0.005`, `0.1`, `1`, `2.5`, `+Inf`.
pub fn format_le(le: f64) -> String {
    if le == f64::INFINITY {
        "+Inf".to_string()
    } else if le == f64::NEG_INFINITY {
        "-Inf".to_string()
    } else {
        format!("{le}")
    }
}

/// Write `histograms` as OpenMetrics histogram families (one `# TYPE` per metric name, its
/// series contiguous; each sample time's buckets, `_sum` and `_count` together). No `# EOF`.
pub fn write_families<W: Write>(
    out: &mut W,
    histograms: &[Histogram],
    end: i64,
    history: i64,
    step: i64,
) -> io::Result<Written> {
    let mut written = Written::default();
    let mut metrics: Vec<&str> = Vec::new();
    for h in histograms {
        if !metrics.contains(&h.metric.as_str()) {
            metrics.push(&h.metric);
        }
    }
    for metric in metrics {
        writeln!(out, "# TYPE {metric} histogram")?;
        for h in histograms.iter().filter(|h| h.metric == metric) {
            let labels = format!(
                "instance=\"{}\",job=\"{}\"",
                escape(&h.instance),
                escape(&h.job)
            );
            let points = h.points(end, history, step);
            if let Some(p) = points.first() {
                written.series += p.buckets.len() + 2;
            }
            for p in &points {
                for (le, v) in &p.buckets {
                    writeln!(
                        out,
                        "{metric}_bucket{{{labels},le=\"{le}\"}} {v} {:.3}",
                        p.time
                    )?;
                }
                writeln!(out, "{metric}_sum{{{labels}}} {} {:.3}", p.sum, p.time)?;
                writeln!(out, "{metric}_count{{{labels}}} {} {:.3}", p.count, p.time)?;
                written.samples += p.buckets.len() + 2;
            }
        }
    }
    Ok(written)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn latency() -> Histogram {
        crate::scenarios::latency_slo().histograms.remove(0)
    }

    #[test]
    fn buckets_are_cumulative_and_inf_is_the_count() {
        let h = latency();
        let points = h.points(1_000_000, 3600, 15);
        assert_eq!(points.len(), 241);
        assert_eq!(points[0].count, 0.0);
        for p in &points {
            assert!(p.buckets.windows(2).all(|w| w[0].1 <= w[1].1), "{p:?}");
            assert_eq!(p.buckets.last().map(|b| b.0.as_str()), Some("+Inf"));
            assert_eq!(p.buckets.last().map(|b| b.1), Some(p.count));
            assert!(p.buckets.iter().all(|b| b.1 <= p.count));
        }
        let last = points.last().unwrap();
        assert_eq!(last.time, 1_000_000.0);
        assert!((last.count - 200.0 * 3600.0).abs() < 1e-6);
        let les: Vec<&str> = last.buckets.iter().map(|b| b.0.as_str()).collect();
        assert_eq!(
            les,
            [
                "0.005", "0.01", "0.025", "0.05", "0.1", "0.25", "0.5", "1", "2.5", "5", "10",
                "+Inf"
            ]
        );
        // The last 10 minutes: 3.5 % of 120 000 observations at 0.8 s, in the le=1 bucket only.
        let before = &points[points.len() - 41];
        assert_eq!(before.offset, -600.0);
        let slow = |p: &Point, le: &str| p.buckets.iter().find(|b| b.0 == le).unwrap().1;
        let le_half = slow(last, "0.5") - slow(before, "0.5");
        let le_one = slow(last, "1") - slow(before, "1");
        assert!((le_one - 120_000.0).abs() < 1e-6, "{le_one}");
        assert!((le_half - 0.965 * 120_000.0).abs() < 1e-6, "{le_half}");
        // Before the window, nothing slower than 0.05 s.
        let earlier = &points[points.len() - 81];
        assert_eq!(slow(before, "0.05") - slow(earlier, "0.05"), 120_000.0);
        let mean = (last.sum - before.sum) / (last.count - before.count);
        assert!((mean - (0.0048 + 0.0073 + 0.028)).abs() < 1e-9, "{mean}");
    }

    #[test]
    fn bad_inputs_are_written_as_asked() {
        let mut h = latency();
        h.omit_inf = true;
        h.non_monotonic = true;
        let points = h.points(1_000_000, 600, 15);
        let last = points.last().unwrap();
        assert_eq!(last.buckets.len(), DEFAULT_BUCKETS.len());
        assert!(last.buckets.iter().all(|b| b.0 != "+Inf"));
        assert!(last.buckets[1].1 < last.buckets[0].1);
        let mut out = Vec::new();
        write_families(&mut out, &[h], 1_000_000, 600, 15).unwrap();
        let text = String::from_utf8(out).unwrap();
        assert!(!text.contains("+Inf"));
        assert_eq!(text.matches("# TYPE").count(), 1);
    }

    #[test]
    fn families_group_each_point() {
        let mut other = latency();
        other.instance = "api-2:8080".into();
        let rpc = Histogram::new(
            "rpc_duration_seconds",
            "api-2:8080",
            "rpc",
            &[0.1, 1.0],
            Shape::c(1.0),
            vec![(0.05, 1.0)],
        );
        let mut out = Vec::new();
        let written =
            write_families(&mut out, &[latency(), rpc, other], 1_000_000, 30, 15).unwrap();
        assert_eq!(written.series, 14 + 5 + 14);
        assert_eq!(written.samples, 3 * (14 + 5 + 14));
        let text = String::from_utf8(out).unwrap();
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines[0], "# TYPE http_request_duration_seconds histogram");
        assert_eq!(
            lines[1],
            "http_request_duration_seconds_bucket{instance=\"api-1:8080\",job=\"api\",le=\"0.005\"} 0 999970.000"
        );
        assert!(
            lines[12].starts_with("http_request_duration_seconds_bucket{")
                && lines[12].contains("le=\"+Inf\"")
        );
        assert!(lines[13].starts_with("http_request_duration_seconds_sum{"));
        assert!(lines[14].starts_with("http_request_duration_seconds_count{"));
        assert!(lines[15].ends_with(" 999985.000") && lines[15].contains("le=\"0.005\""));
        // Both http series before the rpc family, one TYPE line per metric.
        let rpc_type = lines
            .iter()
            .position(|l| *l == "# TYPE rpc_duration_seconds histogram")
            .unwrap();
        assert_eq!(rpc_type, 1 + 2 * 3 * 14);
        assert_eq!(text.matches("# TYPE").count(), 2);
    }
}
