//! Classic Prometheus histograms: cumulative bucket counts → percentiles with the error bound
//! their bucket widths imply, the share of observations within a bound, and what is wrong with
//! the buckets (non-monotonic counts, no `+Inf`, too few observations), each lowering
//! confidence with its reason instead of passing a wrong number off as sure.
//!
//! Interpolation is linear inside a bucket, as `histogram_quantile` does; the true value can be
//! anywhere in the bucket, so `lower..upper` is reported with every estimate.

/// Fewer observations than this in a window make p99 rest on a handful of requests.
pub const FEW_OBSERVATIONS: f64 = 100.0;

/// Cumulative buckets, validated.
#[derive(Clone, Debug, PartialEq)]
pub struct Buckets {
    /// `(upper bound, cumulative count)`, ascending, monotonic (repaired if needed).
    pub buckets: Vec<(f64, f64)>,
    /// Observations: the `+Inf` count, or the largest count without one.
    pub total: f64,
    /// Whether an `+Inf` bucket was present.
    pub has_inf: bool,
    /// What is wrong with the data, one sentence each.
    pub problems: Vec<String>,
}

/// A percentile (or share) estimate and the interval the truth is in.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Estimate {
    /// The interpolated value.
    pub value: f64,
    /// The truth is at least this.
    pub lower: f64,
    /// The truth is at most this (`inf` when it fell in the `+Inf` bucket).
    pub upper: f64,
}

impl Estimate {
    /// Half the interval's width relative to the value: the error bound as a fraction.
    pub fn relative_error(&self) -> f64 {
        if !self.upper.is_finite() {
            return f64::INFINITY;
        }
        let half = (self.upper - self.lower) / 2.0;
        if self.value > 0.0 {
            half / self.value
        } else {
            0.0
        }
    }
}

impl Buckets {
    /// Validate raw `(le, cumulative count)` pairs.
    pub fn new(raw: &[(f64, f64)]) -> Buckets {
        let mut buckets: Vec<(f64, f64)> = raw
            .iter()
            .copied()
            .filter(|(le, c)| !le.is_nan() && c.is_finite())
            .collect();
        buckets.sort_by(|a, b| a.0.total_cmp(&b.0));
        buckets.dedup_by(|b, a| a.0 == b.0);
        let mut problems = Vec::new();
        let has_inf = buckets.last().is_some_and(|(le, _)| *le == f64::INFINITY);
        if !has_inf {
            let largest = buckets.last().map(|(le, _)| *le).unwrap_or(0.0);
            problems.push(format!(
                "no +Inf bucket: observations above {} are not counted, so high percentiles may be underestimated",
                fmt_seconds(largest)
            ));
        }
        let mut max_so_far = 0.0f64;
        let mut decreasing = None;
        for (le, count) in &mut buckets {
            if *count + 1e-9 * max_so_far.max(1.0) < max_so_far {
                decreasing.get_or_insert(*le);
                *count = max_so_far;
            }
            max_so_far = max_so_far.max(*count);
        }
        if let Some(le) = decreasing {
            problems.push(format!(
                "bucket counts decrease at le={} (buckets must be cumulative; usually series from different targets or resets mixed): repaired by carrying the larger count",
                fmt_seconds(le)
            ));
        }
        let total = buckets.last().map(|(_, c)| *c).unwrap_or(0.0);
        if total < FEW_OBSERVATIONS {
            problems.push(format!(
                "only {total:.0} observations in the window: high percentiles rest on a handful of requests"
            ));
        }
        Buckets {
            buckets,
            total,
            has_inf,
            problems,
        }
    }

    /// The `q` quantile (0–1), `None` without observations.
    pub fn quantile(&self, q: f64) -> Option<Estimate> {
        if self.total <= 0.0 || !(0.0..=1.0).contains(&q) {
            return None;
        }
        let rank = q * self.total;
        let mut lower_le = 0.0f64;
        let mut lower_count = 0.0;
        for &(le, count) in &self.buckets {
            if count >= rank && count > lower_count {
                if le == f64::INFINITY {
                    // Prometheus returns the largest finite bound here; the truth is above it.
                    return Some(Estimate {
                        value: lower_le,
                        lower: lower_le,
                        upper: f64::INFINITY,
                    });
                }
                let start = if lower_le == 0.0 && le < 0.0 {
                    le
                } else {
                    lower_le
                };
                let value = start + (le - start) * (rank - lower_count) / (count - lower_count);
                return Some(Estimate {
                    value,
                    lower: start,
                    upper: le,
                });
            }
            lower_le = le;
            lower_count = count;
        }
        // Without +Inf, ranks above the largest count cannot be placed.
        let last = self.buckets.last()?.0;
        Some(Estimate {
            value: last,
            lower: last,
            upper: f64::INFINITY,
        })
    }

    /// The share (0–1) of observations at or below `bound`, interpolated inside its bucket.
    pub fn share_within(&self, bound: f64) -> Option<Estimate> {
        if self.total <= 0.0 {
            return None;
        }
        let mut lower_le = 0.0f64;
        let mut lower_count = 0.0;
        for &(le, count) in &self.buckets {
            if bound <= le {
                if bound == le {
                    let share = count / self.total;
                    return Some(Estimate {
                        value: share,
                        lower: share,
                        upper: share,
                    });
                }
                if le == f64::INFINITY {
                    let share = lower_count / self.total;
                    return Some(Estimate {
                        value: share,
                        lower: share,
                        upper: 1.0,
                    });
                }
                let fraction = (bound - lower_le) / (le - lower_le);
                let value = (lower_count + (count - lower_count) * fraction) / self.total;
                return Some(Estimate {
                    value,
                    lower: lower_count / self.total,
                    upper: count / self.total,
                });
            }
            lower_le = le;
            lower_count = count;
        }
        Some(Estimate {
            value: 1.0,
            lower: 1.0,
            upper: 1.0,
        })
    }

    /// Observations per bucket (not cumulative): `(lower, upper, count)`.
    pub fn distribution(&self) -> Vec<(f64, f64, f64)> {
        let mut out = Vec::with_capacity(self.buckets.len());
        let (mut lower_le, mut lower_count) = (0.0, 0.0);
        for &(le, count) in &self.buckets {
            out.push((lower_le, le, count - lower_count));
            lower_le = le;
            lower_count = count;
        }
        out
    }

    /// Confidence (0–100) in percentiles from these buckets: lowered by every problem and by
    /// coarse buckets around p99.
    pub fn confidence(&self) -> f64 {
        let mut confidence: f64 = 90.0;
        if !self.has_inf {
            confidence -= 30.0;
        }
        if self
            .problems
            .iter()
            .any(|p| p.starts_with("bucket counts decrease"))
        {
            confidence -= 30.0;
        }
        if self.total < FEW_OBSERVATIONS {
            confidence -= if self.total < FEW_OBSERVATIONS / 5.0 {
                45.0
            } else {
                30.0
            };
        }
        if let Some(p99) = self.quantile(0.99) {
            let error = p99.relative_error();
            if error > 0.5 {
                confidence -= 20.0;
            } else if error > 0.25 {
                confidence -= 10.0;
            }
        }
        confidence.clamp(10.0, 95.0)
    }
}

/// Seconds for sentences: `250ms`, `1.5s`, `+Inf`.
pub fn fmt_seconds(seconds: f64) -> String {
    if seconds == f64::INFINITY {
        "+Inf".into()
    } else if seconds < 1.0 {
        format!("{}ms", trim(seconds * 1000.0))
    } else {
        format!("{}s", trim(seconds))
    }
}

fn trim(v: f64) -> String {
    let s = if v >= 100.0 {
        format!("{v:.0}")
    } else if v >= 10.0 {
        format!("{v:.1}")
    } else {
        format!("{v:.2}")
    };
    if s.contains('.') {
        s.trim_end_matches('0').trim_end_matches('.').to_string()
    } else {
        s
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const INF: f64 = f64::INFINITY;

    #[test]
    fn quantiles_interpolate_inside_their_bucket() {
        // 1000 observations: 600 ≤ 10 ms, 970 ≤ 25 ms, 1000 ≤ 50 ms.
        let b = Buckets::new(&[(0.01, 600.0), (0.025, 970.0), (0.05, 1000.0), (INF, 1000.0)]);
        assert!(b.problems.is_empty(), "{:?}", b.problems);
        let p50 = b.quantile(0.5).unwrap();
        assert!((p50.value - 0.008333).abs() < 1e-5 && p50.upper == 0.01);
        let p99 = b.quantile(0.99).unwrap();
        assert!(
            (p99.value - 0.025 - 0.025 * 20.0 / 30.0).abs() < 1e-9,
            "{p99:?}"
        );
        assert_eq!((p99.lower, p99.upper), (0.025, 0.05));
        assert!((p99.relative_error() - 0.3).abs() < 1e-9);
        let within = b.share_within(0.025).unwrap();
        assert_eq!(within.value, 0.97);
        let within = b.share_within(0.03).unwrap();
        assert!((within.value - 0.976).abs() < 1e-9 && within.lower == 0.97 && within.upper == 1.0);
        assert_eq!(b.distribution()[1], (0.01, 0.025, 370.0));
        assert!(b.confidence() >= 70.0);
    }

    #[test]
    fn the_inf_bucket_gives_a_lower_bound_only() {
        let b = Buckets::new(&[(0.1, 90.0), (1.0, 95.0), (INF, 200.0)]);
        let p99 = b.quantile(0.99).unwrap();
        assert_eq!((p99.value, p99.upper), (1.0, INF));
        assert!(p99.relative_error().is_infinite());
    }

    #[test]
    fn bad_buckets_lower_confidence_with_reasons() {
        // No +Inf, too few observations.
        let b = Buckets::new(&[(0.1, 3.0), (0.5, 5.0), (1.0, 6.0)]);
        assert!(!b.has_inf && b.problems.len() == 2, "{:?}", b.problems);
        assert!(b.problems[0].contains("no +Inf") && b.problems[1].contains("only 6"));
        assert!(b.confidence() <= 30.0);
        // Non-monotonic: repaired, never a negative bucket.
        let b = Buckets::new(&[(0.1, 500.0), (0.2, 400.0), (INF, 1000.0)]);
        assert!(b
            .problems
            .iter()
            .any(|p| p.contains("decrease at le=200ms")));
        assert!(b.distribution().iter().all(|(_, _, c)| *c >= 0.0));
        assert!(b.confidence() <= 60.0);
        // Nothing observed: no percentile at all.
        let b = Buckets::new(&[(0.1, 0.0), (INF, 0.0)]);
        assert!(b.quantile(0.99).is_none() && b.share_within(0.1).is_none());
        // Garbage values are dropped, not propagated.
        let b = Buckets::new(&[(f64::NAN, 3.0), (0.1, f64::NAN), (INF, 200.0)]);
        assert_eq!(b.buckets, vec![(INF, 200.0)]);
    }

    #[test]
    fn seconds_read_naturally() {
        assert_eq!(fmt_seconds(0.25), "250ms");
        assert_eq!(fmt_seconds(0.0085), "8.5ms");
        assert_eq!(fmt_seconds(2.5), "2.5s");
        assert_eq!(fmt_seconds(INF), "+Inf");
    }
}
