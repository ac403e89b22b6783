//! Latency analysis of a histogram chosen in the query, classic (`_bucket{le}`) or native (Systems Performance 2nd ed. §2.5.11,
//! §2.6 on percentiles and distributions): p50 / p95 / p99 over the window with the interval
//! the bucket widths leave them in, the same against the window before, the p99 trend point by
//! point, the distribution by bucket, the mean from `_sum` / `_count`, and an SLO check.
//!
//! Percentiles are computed here from the bucket counts (a native histogram's buckets come back
//! with the answer to `sum(increase(h[window]))`) (the same interpolation as
//! `histogram_quantile`), so the error bound, non-monotonic buckets, a missing `+Inf` and thin
//! data can be reported with the number instead of hiding behind it.

use std::collections::BTreeMap;

use super::{
    histogram::{fmt_seconds, Buckets, Estimate},
    time_of, Context, HistogramRequest, Output,
};
use crate::{
    insight::{Component, Evidence, Insight, IssueType, Methodology, Severity},
    prometheus::{QueryRange, Sample, Series},
    promql::format_duration,
    samples::QueryLog,
};

/// The insight `check` of an SLO breach.
pub const SLO_CHECK: &str = "latency.slo";
/// The insight `check` of a histogram summary.
pub const HISTOGRAM_CHECK: &str = "latency.histogram";

const BOOK: &str = "Systems Performance 2nd ed., Ch. 2 Methodologies: 2.5.11 Latency Analysis; 2.8.6 Percentiles; 2.8.7 Distributions (multimodal, outliers)";

/// What the analysis found in one histogram, for the report.
#[derive(Clone, Debug, PartialEq)]
pub struct HistogramSummary {
    /// The histogram and its matchers.
    pub name: String,
    /// Observations in the window.
    pub observations: f64,
    /// p50, p95, p99 in the window.
    pub percentiles: Vec<(f64, Estimate)>,
    /// p99 in the window before.
    pub baseline_p99: Option<Estimate>,
    /// Mean from `_sum` / `_count`.
    pub mean: Option<f64>,
    /// `(lower, upper, share)` of the observations per bucket.
    pub distribution: Vec<(f64, f64, f64)>,
    /// Share within the SLO's threshold.
    pub slo_attainment: Option<Estimate>,
    /// What is wrong with the data.
    pub problems: Vec<String>,
    /// 0–100.
    pub confidence: f64,
}

/// Analyse `request`'s histogram.
pub async fn run(
    ctx: &Context<'_>,
    request: &HistogramRequest,
) -> (Output, Option<HistogramSummary>) {
    let mut output = Output::default();
    let t = ctx.timing;
    let window = format_duration(t.window);
    let sel = request.matchers.to_string();
    let name = if sel.is_empty() {
        request.metric.clone()
    } else {
        format!("{}{{{sel}}}", request.metric)
    };
    let Some(data) = fetch(ctx, request, &mut output, &name).await else {
        return (output, None);
    };
    let Fetched {
        instances,
        now: b,
        baseline,
        mean,
        trend,
        related,
        steps,
    } = data;
    let percentiles: Vec<(f64, Estimate)> = [0.5, 0.95, 0.99]
        .into_iter()
        .filter_map(|q| b.quantile(q).map(|e| (q, e)))
        .collect();
    let baseline_p99 = baseline
        .as_ref()
        .filter(|b| b.total > 0.0)
        .and_then(|b| b.quantile(0.99));
    let attainment = request
        .slo
        .and_then(|slo| b.share_within(slo.threshold_seconds));
    let confidence = b.confidence();
    let distribution: Vec<(f64, f64, f64)> = b
        .distribution()
        .into_iter()
        .map(|(lo, hi, c)| (lo, hi, if b.total > 0.0 { c / b.total } else { 0.0 }))
        .collect();
    let summary = HistogramSummary {
        name: name.clone(),
        observations: b.total,
        percentiles: percentiles.clone(),
        baseline_p99,
        mean,
        distribution: distribution.clone(),
        slo_attainment: attainment,
        problems: b.problems.clone(),
        confidence,
    };
    let Some(&(_, p99)) = percentiles.iter().find(|(q, _)| *q == 0.99) else {
        output
            .log
            .warn(format!("latency: {name} had no observations in the window"));
        return (output, Some(summary));
    };

    let mut evidence = Evidence::new();
    for (q, e) in &percentiles {
        let p = (q * 100.0).round();
        evidence.set(format!("p{p}_seconds"), e.value);
    }
    evidence.set("p99_lower_seconds", p99.lower);
    evidence.set("p99_upper_seconds", p99.upper);
    if let Some(bp) = baseline_p99 {
        evidence.set("baseline_p99_seconds", bp.value);
    }
    if let Some(m) = mean {
        evidence.set("mean_seconds", m);
    }
    evidence.set("observations_count", b.total);
    let listed: Vec<String> = percentiles
        .iter()
        .map(|(q, e)| format!("p{:.0} {}", q * 100.0, estimate_text(e)))
        .collect();
    let mut observation = format!(
        "{name} over the last {window}: {} observations; {}",
        b.total.round(),
        listed.join(", ")
    );
    if let Some(m) = mean {
        observation.push_str(&format!("; mean {}", fmt_seconds(m)));
    }
    observation.push('.');
    if let Some(bp) = baseline_p99 {
        observation.push_str(&format!(
            " p99 in the {window} before: {}.",
            estimate_text(&bp)
        ));
    }
    let trend_values: Vec<f64> = trend.iter().filter_map(|p| p.p99).collect();
    if trend_values.len() >= 3 {
        let third = (trend_values.len() / 3).max(1);
        let first = crate::stats::robust::median(&trend_values[..third]).unwrap_or(0.0);
        let last = crate::stats::robust::median(&trend_values[trend_values.len() - third..])
            .unwrap_or(0.0);
        let direction = if last >= 1.5 * first {
            "rising"
        } else if first >= 1.5 * last {
            "falling"
        } else {
            "steady"
        };
        observation.push_str(&format!(
            " p99 point by point is {direction}: {} at the start of the window, {} at the end.",
            fmt_seconds(first),
            fmt_seconds(last)
        ));
    }
    let mut shares: Vec<&(f64, f64, f64)> =
        distribution.iter().filter(|(_, _, s)| *s > 0.0).collect();
    shares.sort_by(|a, b| b.2.total_cmp(&a.2));
    let modes: Vec<String> = shares
        .iter()
        .take(4)
        .map(|(lo, hi, s)| {
            format!(
                "{:.1}% in {}–{}",
                s * 100.0,
                fmt_seconds(*lo),
                fmt_seconds(*hi)
            )
        })
        .collect();
    observation.push_str(&format!(" Distribution: {}.", modes.join(", ")));
    let error = p99.relative_error();
    if error.is_finite() {
        evidence.set("p99_error_percent", 100.0 * error);
        if error > 0.25 {
            observation.push_str(&format!(
                " The p99 bucket spans {}–{}: the true p99 is anywhere in it (±{:.0}%); finer buckets there would sharpen it.",
                fmt_seconds(p99.lower),
                fmt_seconds(p99.upper),
                100.0 * error
            ));
        }
    } else {
        observation.push_str(&format!(
            " p99 falls in the +Inf bucket: it is only known to be above {}.",
            fmt_seconds(p99.lower)
        ));
    }
    for p in &b.problems {
        observation.push_str(&format!(" Caution: {p}."));
    }

    let mut check = HISTOGRAM_CHECK;
    let mut severity = if b.problems.is_empty() {
        Severity::Info
    } else {
        Severity::Low
    };
    let mut title = format!("{name}: p99 {}", estimate_text(&p99));
    let mut started_at = None;
    let mut ended_at = None;
    let mut tail_grew = false;
    if let Some(bp) = baseline_p99.filter(|bp| bp.value > 0.0 && p99.value >= 2.0 * bp.value) {
        tail_grew = true;
        severity = severity.max(Severity::Low);
        title.push_str(&format!(", up from {}", fmt_seconds(bp.value)));
    }
    if let (Some(slo), Some(att)) = (request.slo, attainment) {
        let target = slo.target_percent / 100.0;
        evidence.set("slo_threshold_seconds", slo.threshold_seconds);
        evidence.set("slo_target_percent", slo.target_percent);
        evidence.set("slo_attainment_percent", 100.0 * att.value);
        let budget = 1.0 - target;
        let burn = (1.0 - att.value) / budget;
        evidence.set("error_budget_burn_ratio", burn);
        if att.value < target {
            tail_grew = true;
            check = SLO_CHECK;
            let surely = att.upper < target;
            severity = if burn >= 10.0 && surely {
                Severity::Critical
            } else if surely {
                Severity::High
            } else {
                Severity::Medium
            };
            title = format!(
                "p99 latency of {name} is {}: {:.2}% within {}, below the {}% objective",
                estimate_text(&p99),
                100.0 * att.value,
                fmt_seconds(slo.threshold_seconds),
                slo.target_percent
            );
            observation.push_str(&format!(
                " SLO: {:.2}% of observations within {} against a target of {}% — the error budget burns {burn:.1}× as fast as allowed.",
                100.0 * att.value,
                fmt_seconds(slo.threshold_seconds),
                slo.target_percent
            ));
            // When the objective was missed, point by point.
            let missed: Vec<f64> = trend
                .iter()
                .filter(|p| p.within.is_some_and(|w| w < target))
                .map(|p| p.at)
                .collect();
            started_at = missed
                .first()
                .map(|t| t - ctx.timing.rate.as_secs_f64())
                .and_then(time_of);
            ended_at = missed.last().copied().and_then(time_of);
        } else {
            observation.push_str(&format!(
                " SLO met: {:.2}% within {} (target {}%).",
                100.0 * att.value,
                fmt_seconds(slo.threshold_seconds),
                slo.target_percent
            ));
        }
    }
    // Weak data caps how sure a finding can sound, as for USE findings.
    if confidence < 50.0 {
        severity = severity.min(Severity::Low);
    } else if confidence < 70.0 {
        severity = severity.min(Severity::Medium);
    }
    let m = &request.metric;
    output.insights.push(Insight {
        id: format!("{check}:{name}"),
        timestamp: ctx.timing.at,
        methodology: Methodology::LatencyAnalysis,
        component: Component::System,
        issue_type: IssueType::Latency,
        use_signal: None,
        severity,
        title,
        observation,
        evidence,
        root_cause: if tail_grew {
            "Tail latency that grows while the median holds is usually a second mode: a slow dependency, lock or GC pauses, retries, or requests queueing behind a saturated resource; it affects few requests but most users, who make many requests.".into()
        } else {
            "No objective is missed and the tail did not grow against the window before: this is the latency profile to compare with when something changes.".into()
        },
        immediate_action: if tail_grew {
            format!("Split {m} by instance, route and status to see where the slow mode lives, and check the USE findings of the hosts serving it.")
        } else {
            "Nothing to do now; keep this profile (percentiles and distribution) as the reference for the next change.".into()
        },
        investigation_steps: steps
            .into_iter()
            .chain([
            "offcputime-bpfcc -p <pid> 30   # what the slow requests wait on (Ch. 5.5.x off-CPU analysis)".into(),
            "Trace a slow request end to end (distributed tracing) and compare with a fast one".into(),
        ])
            .collect(),
        long_term_fix: "Remove the cause of the slow mode (timeouts and hedged requests for slow dependencies, bounded queues, GC tuning), alert on the SLO's burn rate rather than on averages, and place histogram buckets around the objective so its attainment is exact.".into(),
        related_metrics: related,
        confidence,
        book_reference: Some(BOOK.into()),
        instance: (instances.len() == 1).then(|| instances[0].clone()),
        device: Some(request.metric.clone()),
        check: check.into(),
        started_at,
        ended_at,
    });
    (output, Some(summary))
}

/// One point of the window: its time, p99 and share within the SLO threshold.
struct TrendPoint {
    at: f64,
    p99: Option<f64>,
    within: Option<f64>,
}

/// A histogram's data, classic or native, in one shape.
struct Fetched {
    instances: Vec<String>,
    now: Buckets,
    baseline: Option<Buckets>,
    mean: Option<f64>,
    trend: Vec<TrendPoint>,
    related: Vec<String>,
    steps: Vec<String>,
}

/// Read the histogram: classic `_bucket` series if there are any, else a native histogram.
async fn fetch(
    ctx: &Context<'_>,
    request: &HistogramRequest,
    output: &mut Output,
    name: &str,
) -> Option<Fetched> {
    let t = ctx.timing;
    let window = format_duration(t.window);
    let rate = format_duration(t.rate);
    let sel = request.matchers.to_string();
    // `name{}` is valid PromQL but reads like a mistake in a report.
    let series = |suffix: &str| {
        if sel.is_empty() {
            format!("{}{suffix}", request.metric)
        } else {
            format!("{}{suffix}{{{sel}}}", request.metric)
        }
    };
    let metric = &request.metric;
    let baseline_at = t.at - chrono::Duration::from_std(t.window).unwrap_or_default();
    let threshold = request.slo.map(|s| s.threshold_seconds);

    // Classic.
    let bucket = series("_bucket");
    let buckets_query = format!("sum by (le, instance) (increase({bucket}[{window}]))");
    let mean_query = format!(
        "sum(increase({}[{window}])) / sum(increase({}[{window}]))",
        series("_sum"),
        series("_count")
    );
    let trend_query = format!("sum by (le) (rate({bucket}[{rate}]))");
    let ((now, q1), (before, q2), (mean, q3), (trend, q4)) = tokio::join!(
        instant(ctx, format!("latency/{metric}"), &buckets_query, t.at),
        instant(
            ctx,
            format!("latency/{metric}/baseline"),
            &buckets_query,
            baseline_at
        ),
        instant(ctx, format!("latency/{metric}/mean"), &mean_query, t.at),
        range(ctx, format!("latency/{metric}/trend"), &trend_query),
    );
    for log in [q1, q2, q3, q4] {
        output.log.extend(log);
    }
    let now = match now {
        Ok(samples) => samples,
        Err(e) => {
            output.log.warn(format!("latency: {name}: {e}"));
            return None;
        }
    };
    let first = |r: Result<Vec<Sample>, crate::prometheus::PrometheusError>| {
        r.ok()
            .and_then(|s| s.first().map(|s| s.value))
            .filter(|v| v.is_finite())
    };
    if !now.is_empty() {
        let trend = trend
            .ok()
            .map(|series| points_by_time(&series))
            .unwrap_or_default()
            .into_iter()
            .map(|(at, b)| TrendPoint {
                at,
                p99: b.quantile(0.99).map(|e| e.value),
                within: threshold.and_then(|th| b.share_within(th)).map(|e| e.value),
            })
            .collect();
        return Some(Fetched {
            instances: instances_of(&now),
            now: Buckets::new(&by_le(&now)),
            baseline: before.ok().map(|s| Buckets::new(&by_le(&s))),
            mean: first(mean),
            trend,
            related: vec![
                buckets_query,
                format!("histogram_quantile(0.99, {trend_query})"),
                mean_query,
            ],
            steps: vec![
                format!("histogram_quantile(0.99, sum by (le, instance) (rate({bucket}[{rate}])))   # which instances carry the tail"),
                format!("sum by (le) (rate({bucket}[{rate}]))   # the distribution over time (heatmap)"),
            ],
        });
    }

    // Native: Prometheus sums the histograms; the buckets come back with the answer.
    let native = series("");
    let total_query = format!("sum(increase({native}[{window}]))");
    let instances_query = format!("count by (instance) ({native})");
    let mean_query = format!(
        "histogram_sum(sum(increase({native}[{window}]))) / histogram_count(sum(increase({native}[{window}])))"
    );
    let p99_query = format!("histogram_quantile(0.99, sum(rate({native}[{rate}])))");
    let within_query =
        threshold.map(|th| format!("histogram_fraction(0, {th}, sum(rate({native}[{rate}])))"));
    let ((now, q1), (before, q2), (mean, q3), (who, q4), (p99s, q5)) = tokio::join!(
        instant(ctx, format!("latency/{metric}/native"), &total_query, t.at),
        instant(
            ctx,
            format!("latency/{metric}/native/baseline"),
            &total_query,
            baseline_at
        ),
        instant(
            ctx,
            format!("latency/{metric}/native/mean"),
            &mean_query,
            t.at
        ),
        instant(
            ctx,
            format!("latency/{metric}/native/instances"),
            &instances_query,
            t.at
        ),
        range(ctx, format!("latency/{metric}/native/trend"), &p99_query),
    );
    for log in [q1, q2, q3, q4, q5] {
        output.log.extend(log);
    }
    let within = match &within_query {
        Some(q) => {
            let (r, log) = range(ctx, format!("latency/{metric}/native/slo"), q).await;
            output.log.extend(log);
            r.ok()
        }
        None => None,
    };
    let native_buckets = |r: Result<Vec<Sample>, crate::prometheus::PrometheusError>| {
        r.ok()
            .and_then(|s| s.into_iter().find_map(|s| s.buckets.map(|b| (b, s.value))))
            .map(|(b, count)| Buckets::new(&cumulative(&b, count)))
    };
    let Some(now) = native_buckets(now) else {
        output.log.warn(format!(
            "latency: no `{metric}_bucket` series and no native histogram match {name} in the window"
        ));
        return None;
    };
    let points = |r: Option<Vec<Series>>| -> BTreeMap<i64, f64> {
        r.into_iter()
            .flatten()
            .flat_map(|s| s.points)
            .filter(|(_, v)| v.is_finite())
            .map(|(t, v)| ((t * 1000.0) as i64, v))
            .collect()
    };
    let p99s = points(p99s.ok());
    let within = points(within);
    let mut times: Vec<i64> = p99s.keys().chain(within.keys()).copied().collect();
    times.sort_unstable();
    times.dedup();
    Some(Fetched {
        instances: who.map(|s| instances_of(&s)).unwrap_or_default(),
        now,
        baseline: native_buckets(before),
        mean: first(mean),
        trend: times
            .into_iter()
            .map(|ms| TrendPoint {
                at: ms as f64 / 1000.0,
                p99: p99s.get(&ms).copied(),
                within: within.get(&ms).copied(),
            })
            .collect(),
        related: vec![total_query, p99_query, mean_query],
        steps: vec![
            format!("histogram_quantile(0.99, sum by (instance) (rate({native}[{rate}])))   # which instances carry the tail"),
            format!("sum(rate({native}[{rate}]))   # the distribution over time (heatmap)"),
        ],
    })
}

/// A native histogram's buckets (not cumulative, any order) as cumulative `(upper, count)`
/// pairs ending with `+Inf` at the total: native histograms count every observation in some
/// bucket, so nothing lies above the last one.
fn cumulative(buckets: &[(f64, f64, f64)], total: f64) -> Vec<(f64, f64)> {
    let mut sorted: Vec<(f64, f64)> = buckets.iter().map(|(_, upper, c)| (*upper, *c)).collect();
    sorted.sort_by(|a, b| a.0.total_cmp(&b.0));
    let mut running = 0.0;
    let mut out: Vec<(f64, f64)> = sorted
        .into_iter()
        .map(|(upper, c)| {
            running += c;
            (upper, running)
        })
        .collect();
    out.push((f64::INFINITY, total.max(running)));
    out
}

fn instances_of(samples: &[Sample]) -> Vec<String> {
    let mut v: Vec<String> = samples
        .iter()
        .filter_map(|s| s.labels.get("instance").cloned())
        .collect();
    v.sort();
    v.dedup();
    v
}

/// Sum the bucket counts of every series per `le`.
fn by_le(samples: &[Sample]) -> Vec<(f64, f64)> {
    let mut sums: BTreeMap<String, f64> = BTreeMap::new();
    for s in samples {
        if let Some(le) = s.labels.get("le") {
            *sums.entry(le.clone()).or_default() += s.value;
        }
    }
    sums.into_iter()
        .filter_map(|(le, c)| parse_le(&le).map(|le| (le, c)))
        .collect()
}

fn parse_le(le: &str) -> Option<f64> {
    match le.trim() {
        "+Inf" | "Inf" | "+inf" | "inf" => Some(f64::INFINITY),
        other => other.parse().ok(),
    }
}

/// Range-query series (one per `le`) regrouped as buckets per evaluation time.
fn points_by_time(series: &[Series]) -> Vec<(f64, Buckets)> {
    let mut at: BTreeMap<i64, Vec<(f64, f64)>> = BTreeMap::new();
    for s in series {
        let Some(le) = s.labels.get("le").and_then(|l| parse_le(l)) else {
            continue;
        };
        for (t, v) in &s.points {
            at.entry((t * 1000.0) as i64).or_default().push((le, *v));
        }
    }
    at.into_iter()
        .map(|(t, raw)| (t as f64 / 1000.0, Buckets::new(&raw)))
        .collect()
}

fn estimate_text(e: &Estimate) -> String {
    if !e.upper.is_finite() {
        format!("above {}", fmt_seconds(e.lower))
    } else if e.upper > e.lower {
        format!(
            "{} ({}–{})",
            fmt_seconds(e.value),
            fmt_seconds(e.lower),
            fmt_seconds(e.upper)
        )
    } else {
        fmt_seconds(e.value)
    }
}

/// A range query over the analysis' grid, with its own log (queries run concurrently and are
/// merged in a fixed order).
async fn range(
    ctx: &Context<'_>,
    purpose: String,
    promql: &str,
) -> (
    Result<Vec<Series>, crate::prometheus::PrometheusError>,
    QueryLog,
) {
    let mut log = QueryLog::new();
    let r: QueryRange = ctx.timing.range();
    let result = ctx.recorder.range(&mut log, purpose, promql, &r).await;
    (result, log)
}

/// An instant query with its own log.
async fn instant(
    ctx: &Context<'_>,
    purpose: String,
    promql: &str,
    at: chrono::DateTime<chrono::Utc>,
) -> (
    Result<Vec<Sample>, crate::prometheus::PrometheusError>,
    QueryLog,
) {
    let mut log = QueryLog::new();
    let result = super::instant(ctx, &mut log, purpose, promql, at).await;
    (result, log)
}
