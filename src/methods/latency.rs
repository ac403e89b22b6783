//! Latency analysis of a histogram chosen in the query, classic (`_bucket{le}`) or native ("Systems Performance 2nd ed.,
//! Ch. 2 Methodologies: 2.5.13 Latency Analysis; 2.8.3 Standard Deviation, Percentiles, Median"): p50 / p95 / p99 over the window with the interval
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
    time_of, Context, HistogramRequest, Output, Slo,
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

const BOOK: &str = "Systems Performance 2nd ed., Ch. 2 Methodologies: 2.5.13 Latency Analysis; 2.8.3 Standard Deviation, Percentiles, Median; 2.8.5 Multimodal Distributions; 2.8.6 Outliers";

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

/// Analyse `request`'s histogram: fetch it (classic or native), summarise it for the report,
/// and write one insight about it, unless it had no observations in the window.
pub async fn run(
    ctx: &Context<'_>,
    request: &HistogramRequest,
) -> (Output, Option<HistogramSummary>) {
    let mut output = Output::default();
    let name = histogram_name(request);
    let Some(data) = fetch(ctx, request, &mut output, &name).await else {
        return (output, None);
    };
    let summary = summarise(&name, request, &data);
    let Some(&(_, p99)) = summary.percentiles.iter().find(|(q, _)| *q == 0.99) else {
        output
            .log
            .warn(format!("latency: {name} had no observations in the window"));
        return (output, Some(summary));
    };
    output
        .insights
        .push(insight(ctx, request, &summary, p99, data));
    (output, Some(summary))
}

/// The histogram as the report names it: `metric{matchers}`, or the bare metric when there are
/// no matchers (`name{}` is valid PromQL but reads like a mistake in a report).
fn histogram_name(request: &HistogramRequest) -> String {
    let sel = request.matchers.to_string();
    if sel.is_empty() {
        request.metric.clone()
    } else {
        format!("{}{{{sel}}}", request.metric)
    }
}

/// The numbers of the report's latency table, computed from the bucket counts so that each
/// carries the interval its bucket leaves it in: p50 / p95 / p99, the p99 before (only if the
/// window before saw observations), the SLO's attainment and the share per bucket.
fn summarise(name: &str, request: &HistogramRequest, data: &Fetched) -> HistogramSummary {
    let b = &data.now;
    let percentiles: Vec<(f64, Estimate)> = [0.5, 0.95, 0.99]
        .into_iter()
        .filter_map(|q| b.quantile(q).map(|e| (q, e)))
        .collect();
    let baseline_p99 = data
        .baseline
        .as_ref()
        .filter(|b| b.total > 0.0)
        .and_then(|b| b.quantile(0.99));
    let distribution: Vec<(f64, f64, f64)> = b
        .distribution()
        .into_iter()
        .map(|(lo, hi, c)| (lo, hi, if b.total > 0.0 { c / b.total } else { 0.0 }))
        .collect();
    HistogramSummary {
        name: name.to_string(),
        observations: b.total,
        percentiles,
        baseline_p99,
        mean: data.mean,
        distribution,
        slo_attainment: request
            .slo
            .and_then(|slo| b.share_within(slo.threshold_seconds)),
        problems: b.problems.clone(),
        confidence: b.confidence(),
    }
}

/// The insight about a histogram with observations: the numbers and their sentences, then the
/// judgement (a grown tail, the SLO), capped by how much the data can be trusted.
fn insight(
    ctx: &Context<'_>,
    request: &HistogramRequest,
    summary: &HistogramSummary,
    p99: Estimate,
    data: Fetched,
) -> Insight {
    let window = format_duration(ctx.timing.window);
    let mut draft = Draft::describe(summary, &p99, &window, &data.trend);
    draft.note_tail_growth(summary, &p99);
    if let (Some(slo), Some(attainment)) = (request.slo, summary.slo_attainment) {
        draft.judge_slo(ctx, slo, attainment, summary, &p99, &data.trend);
    }
    draft.cap_by_confidence(summary.confidence);
    draft.into_insight(ctx, request, summary, data)
}

/// An insight being written: the parts the judgements below add to or change. Evidence keeps
/// the order its values are set in, which is the order the report lists them in, so the steps
/// run in a fixed order: describe, tail growth, SLO, confidence cap.
struct Draft {
    check: &'static str,
    severity: Severity,
    title: String,
    observation: String,
    evidence: Evidence,
    /// Whether the tail grew or the SLO was missed: it picks the root cause and the action.
    tail_grew: bool,
    /// When the SLO was missed, point by point.
    started_at: Option<chrono::DateTime<chrono::Utc>>,
    ended_at: Option<chrono::DateTime<chrono::Utc>>,
}

impl Draft {
    /// The histogram summary as evidence and sentences; a plain summary (`latency.histogram`),
    /// informational unless the data has problems.
    fn describe(
        summary: &HistogramSummary,
        p99: &Estimate,
        window: &str,
        trend: &[TrendPoint],
    ) -> Draft {
        let mut observation = percentiles_sentence(summary, window);
        observation.push_str(&trend_sentence(trend));
        observation.push_str(&distribution_sentence(&summary.distribution));
        observation.push_str(&p99_bounds_sentence(p99));
        for p in &summary.problems {
            observation.push_str(&format!(" Caution: {p}."));
        }
        Draft {
            check: HISTOGRAM_CHECK,
            severity: if summary.problems.is_empty() {
                Severity::Info
            } else {
                Severity::Low
            },
            title: format!("{}: p99 {}", summary.name, estimate_text(p99)),
            observation,
            evidence: evidence_of(summary, p99),
            tail_grew: false,
            started_at: None,
            ended_at: None,
        }
    }

    /// A p99 at least twice the window before's is a grown tail: at least low severity.
    fn note_tail_growth(&mut self, summary: &HistogramSummary, p99: &Estimate) {
        let grown = summary
            .baseline_p99
            .filter(|bp| bp.value > 0.0 && p99.value >= 2.0 * bp.value);
        if let Some(bp) = grown {
            self.tail_grew = true;
            self.severity = self.severity.max(Severity::Low);
            self.title
                .push_str(&format!(", up from {}", fmt_seconds(bp.value)));
        }
    }

    /// The SLO's numbers as evidence (attainment, error-budget burn), then a missed objective
    /// (which becomes the insight, `latency.slo`) or a sentence that it was met.
    fn judge_slo(
        &mut self,
        ctx: &Context<'_>,
        slo: Slo,
        attainment: Estimate,
        summary: &HistogramSummary,
        p99: &Estimate,
        trend: &[TrendPoint],
    ) {
        let target = slo.target_percent / 100.0;
        self.evidence
            .set("slo_threshold_seconds", slo.threshold_seconds);
        self.evidence.set("slo_target_percent", slo.target_percent);
        self.evidence
            .set("slo_attainment_percent", 100.0 * attainment.value);
        let budget = 1.0 - target;
        let burn = (1.0 - attainment.value) / budget;
        self.evidence.set("error_budget_burn_ratio", burn);
        if attainment.value < target {
            self.slo_missed(slo, attainment, burn, &summary.name, p99);
            (self.started_at, self.ended_at) = missed_period(trend, target, ctx.timing.rate);
        } else {
            self.observation.push_str(&format!(
                " SLO met: {:.2}% within {} (target {}%).",
                100.0 * attainment.value,
                fmt_seconds(slo.threshold_seconds),
                slo.target_percent
            ));
        }
    }

    /// A missed objective: critical when the budget burns ten times too fast and even the
    /// attainment's upper bound misses, high when it surely misses, else medium.
    fn slo_missed(
        &mut self,
        slo: Slo,
        attainment: Estimate,
        burn: f64,
        name: &str,
        p99: &Estimate,
    ) {
        let target = slo.target_percent / 100.0;
        self.tail_grew = true;
        self.check = SLO_CHECK;
        let surely = attainment.upper < target;
        self.severity = if burn >= 10.0 && surely {
            Severity::Critical
        } else if surely {
            Severity::High
        } else {
            Severity::Medium
        };
        self.title = format!(
            "p99 latency of {name} is {}: {:.2}% within {}, below the {}% objective",
            estimate_text(p99),
            100.0 * attainment.value,
            fmt_seconds(slo.threshold_seconds),
            slo.target_percent
        );
        self.observation.push_str(&format!(
            " SLO: {:.2}% of observations within {} against a target of {}% — the error budget burns {burn:.1}× as fast as allowed.",
            100.0 * attainment.value,
            fmt_seconds(slo.threshold_seconds),
            slo.target_percent
        ));
    }

    /// Weak data caps how sure a finding can sound, as for USE findings.
    fn cap_by_confidence(&mut self, confidence: f64) {
        if confidence < 50.0 {
            self.severity = self.severity.min(Severity::Low);
        } else if confidence < 70.0 {
            self.severity = self.severity.min(Severity::Medium);
        }
    }

    /// The finished insight: the narrative depends only on whether the tail grew.
    fn into_insight(
        self,
        ctx: &Context<'_>,
        request: &HistogramRequest,
        summary: &HistogramSummary,
        data: Fetched,
    ) -> Insight {
        let (check, name, m) = (self.check, &summary.name, &request.metric);
        let tail_grew = self.tail_grew;
        Insight {
            id: format!("{check}:{name}"),
            timestamp: ctx.timing.at,
            methodology: Methodology::LatencyAnalysis,
            component: Component::System,
            issue_type: IssueType::Latency,
            use_signal: None,
            severity: self.severity,
            title: self.title,
            observation: self.observation,
            evidence: self.evidence,
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
            investigation_steps: data
                .steps
                .into_iter()
                .chain([
                "offcputime-bpfcc -p <pid> 30   # what the slow requests wait on (off-CPU analysis)".into(),
                "Trace a slow request end to end (distributed tracing) and compare with a fast one".into(),
            ])
                .collect(),
            long_term_fix: "Remove the cause of the slow mode (timeouts and hedged requests for slow dependencies, bounded queues, GC tuning), alert on the SLO's burn rate rather than on averages, and place histogram buckets around the objective so its attainment is exact.".into(),
            related_metrics: data.related,
            confidence: summary.confidence,
            book_reference: Some(BOOK.into()),
            instance: (data.instances.len() == 1).then(|| data.instances[0].clone()),
            device: Some(request.metric.clone()),
            check: check.into(),
            started_at: self.started_at,
            ended_at: self.ended_at,
        }
    }
}

/// The percentiles, each as a number and the evidence of its interval (p99's bounds and, when
/// it is finite, its relative error), the p99 before, the mean and the count.
fn evidence_of(summary: &HistogramSummary, p99: &Estimate) -> Evidence {
    let mut evidence = Evidence::new();
    for (q, e) in &summary.percentiles {
        let p = (q * 100.0).round();
        evidence.set(format!("p{p}_seconds"), e.value);
    }
    evidence.set("p99_lower_seconds", p99.lower);
    evidence.set("p99_upper_seconds", p99.upper);
    if let Some(bp) = summary.baseline_p99 {
        evidence.set("baseline_p99_seconds", bp.value);
    }
    if let Some(m) = summary.mean {
        evidence.set("mean_seconds", m);
    }
    evidence.set("observations_count", summary.observations);
    let error = p99.relative_error();
    if error.is_finite() {
        evidence.set("p99_error_percent", 100.0 * error);
    }
    evidence
}

/// The observation's opening: count, percentiles, mean, then the p99 of the window before.
fn percentiles_sentence(summary: &HistogramSummary, window: &str) -> String {
    let listed: Vec<String> = summary
        .percentiles
        .iter()
        .map(|(q, e)| format!("p{:.0} {}", q * 100.0, estimate_text(e)))
        .collect();
    let mut text = format!(
        "{} over the last {window}: {} observations; {}",
        summary.name,
        summary.observations.round(),
        listed.join(", ")
    );
    if let Some(m) = summary.mean {
        text.push_str(&format!("; mean {}", fmt_seconds(m)));
    }
    text.push('.');
    if let Some(bp) = summary.baseline_p99 {
        text.push_str(&format!(
            " p99 in the {window} before: {}.",
            estimate_text(&bp)
        ));
    }
    text
}

/// Whether p99 rose or fell across the window: the median of its first third of points against
/// that of its last third (a factor of 1.5 either way), or nothing with fewer than 3 points.
fn trend_sentence(trend: &[TrendPoint]) -> String {
    let values: Vec<f64> = trend.iter().filter_map(|p| p.p99).collect();
    if values.len() < 3 {
        return String::new();
    }
    let third = (values.len() / 3).max(1);
    let first = crate::stats::robust::median(&values[..third]).unwrap_or(0.0);
    let last = crate::stats::robust::median(&values[values.len() - third..]).unwrap_or(0.0);
    let direction = if last >= 1.5 * first {
        "rising"
    } else if first >= 1.5 * last {
        "falling"
    } else {
        "steady"
    };
    format!(
        " p99 point by point is {direction}: {} at the start of the window, {} at the end.",
        fmt_seconds(first),
        fmt_seconds(last)
    )
}

/// The four buckets holding most observations, largest first: the modes of the distribution.
fn distribution_sentence(distribution: &[(f64, f64, f64)]) -> String {
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
    format!(" Distribution: {}.", modes.join(", "))
}

/// How far the p99 can be trusted: a wide bucket (over ±25 %) or the `+Inf` bucket, which only
/// bounds it from below; nothing when the bucket is narrow.
fn p99_bounds_sentence(p99: &Estimate) -> String {
    let error = p99.relative_error();
    if !error.is_finite() {
        format!(
            " p99 falls in the +Inf bucket: it is only known to be above {}.",
            fmt_seconds(p99.lower)
        )
    } else if error > 0.25 {
        format!(
            " The p99 bucket spans {}–{}: the true p99 is anywhere in it (±{:.0}%); finer buckets there would sharpen it.",
            fmt_seconds(p99.lower),
            fmt_seconds(p99.upper),
            100.0 * error
        )
    } else {
        String::new()
    }
}

/// When the objective was missed, point by point: from one rate interval before the first point
/// below `target` (the rate looks back that far) to the last.
fn missed_period(
    trend: &[TrendPoint],
    target: f64,
    rate: std::time::Duration,
) -> (
    Option<chrono::DateTime<chrono::Utc>>,
    Option<chrono::DateTime<chrono::Utc>>,
) {
    let missed: Vec<f64> = trend
        .iter()
        .filter(|p| p.within.is_some_and(|w| w < target))
        .map(|p| p.at)
        .collect();
    let started_at = missed
        .first()
        .map(|t| t - rate.as_secs_f64())
        .and_then(time_of);
    (started_at, missed.last().copied().and_then(time_of))
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

/// What the PromQL of both kinds of histogram is made of: the metric with the request's
/// matchers, the window and rate as PromQL durations, the two times read (now and one window
/// before) and the SLO's threshold.
struct Source<'a> {
    metric: &'a str,
    matchers: String,
    window: String,
    rate: String,
    at: chrono::DateTime<chrono::Utc>,
    baseline_at: chrono::DateTime<chrono::Utc>,
    threshold: Option<f64>,
}

impl<'a> Source<'a> {
    fn new(ctx: &Context<'_>, request: &'a HistogramRequest) -> Source<'a> {
        let t = ctx.timing;
        Source {
            metric: &request.metric,
            matchers: request.matchers.to_string(),
            window: format_duration(t.window),
            rate: format_duration(t.rate),
            at: t.at,
            baseline_at: crate::samples::before(t.at, t.window),
            threshold: request.slo.map(|s| s.threshold_seconds),
        }
    }

    /// One of the histogram's series (`_bucket`, `_sum`, `_count`, or `""` for a native
    /// histogram) with the matchers; `name{}` is valid PromQL but reads like a mistake in a
    /// report.
    fn series(&self, suffix: &str) -> String {
        if self.matchers.is_empty() {
            format!("{}{suffix}", self.metric)
        } else {
            format!("{}{suffix}{{{}}}", self.metric, self.matchers)
        }
    }

    /// A query's purpose in the report: `latency/<metric><tail>`.
    fn purpose(&self, tail: &str) -> String {
        format!("latency/{}{tail}", self.metric)
    }
}

/// Read the histogram: classic `_bucket` series if there are any, else a native histogram.
async fn fetch(
    ctx: &Context<'_>,
    request: &HistogramRequest,
    output: &mut Output,
    name: &str,
) -> Option<Fetched> {
    let source = Source::new(ctx, request);
    match fetch_classic(ctx, &source, output, name).await {
        Classic::Found(data) => Some(*data),
        Classic::Failed => None,
        Classic::Absent => fetch_native(ctx, &source, output, name).await,
    }
}

/// What reading a classic histogram gave.
enum Classic {
    /// `_bucket` series in the window (boxed: the other variants are empty).
    Found(Box<Fetched>),
    /// No `_bucket` series: the histogram may be native.
    Absent,
    /// The bucket query failed (and a warning says why): nothing more is tried.
    Failed,
}

/// The PromQL of a classic histogram.
struct ClassicQueries {
    /// The `_bucket` series.
    bucket: String,
    /// Bucket counts over the window, per `le` and instance.
    buckets: String,
    /// `_sum` / `_count` over the window.
    mean: String,
    /// Bucket rates per `le`, point by point.
    trend: String,
}

impl ClassicQueries {
    fn new(source: &Source) -> ClassicQueries {
        let window = &source.window;
        let bucket = source.series("_bucket");
        ClassicQueries {
            buckets: format!("sum by (le, instance) (increase({bucket}[{window}]))"),
            mean: format!(
                "sum(increase({}[{window}])) / sum(increase({}[{window}]))",
                source.series("_sum"),
                source.series("_count")
            ),
            trend: format!("sum by (le) (rate({bucket}[{}]))", source.rate),
            bucket,
        }
    }

    /// The queries shown with the insight, to graph.
    fn related(self) -> Vec<String> {
        vec![
            self.buckets,
            format!("histogram_quantile(0.99, {})", self.trend),
            self.mean,
        ]
    }

    /// Where to look next: the tail per instance, the distribution over time.
    fn steps(&self, rate: &str) -> Vec<String> {
        let bucket = &self.bucket;
        vec![
            format!("histogram_quantile(0.99, sum by (le, instance) (rate({bucket}[{rate}])))   # which instances carry the tail"),
            format!("sum by (le) (rate({bucket}[{rate}]))   # the distribution over time (heatmap)"),
        ]
    }
}

/// Read a classic histogram: bucket counts over the window and the window before, the mean,
/// and the bucket rates point by point, sent together and logged in that order.
async fn fetch_classic(
    ctx: &Context<'_>,
    source: &Source<'_>,
    output: &mut Output,
    name: &str,
) -> Classic {
    let q = ClassicQueries::new(source);
    let ((now, q1), (before, q2), (mean, q3), (trend, q4)) = tokio::join!(
        instant(ctx, source.purpose(""), &q.buckets, source.at),
        instant(
            ctx,
            source.purpose("/baseline"),
            &q.buckets,
            source.baseline_at
        ),
        instant(ctx, source.purpose("/mean"), &q.mean, source.at),
        range(ctx, source.purpose("/trend"), &q.trend),
    );
    for log in [q1, q2, q3, q4] {
        output.log.extend(log);
    }
    let now = match now {
        Ok(samples) => samples,
        Err(e) => {
            output.log.warn(format!("latency: {name}: {e}"));
            return Classic::Failed;
        }
    };
    if now.is_empty() {
        return Classic::Absent;
    }
    Classic::Found(Box::new(Fetched {
        instances: instances_of(&now),
        now: Buckets::new(&by_le(&now)),
        baseline: before.ok().map(|s| Buckets::new(&by_le(&s))),
        mean: first_value(mean),
        trend: classic_trend(trend, source.threshold),
        steps: q.steps(&source.rate),
        related: q.related(),
    }))
}

/// p99 and the share within the SLO threshold at each point of the bucket rates (none if the
/// query failed).
fn classic_trend(
    answer: Result<Vec<Series>, crate::prometheus::PrometheusError>,
    threshold: Option<f64>,
) -> Vec<TrendPoint> {
    answer
        .ok()
        .map(|series| points_by_time(&series))
        .unwrap_or_default()
        .into_iter()
        .map(|(at, b)| TrendPoint {
            at,
            p99: b.quantile(0.99).map(|e| e.value),
            within: threshold.and_then(|th| b.share_within(th)).map(|e| e.value),
        })
        .collect()
}

/// The PromQL of a native histogram: Prometheus sums the histograms and the buckets come back
/// with the answer, so p99 and the SLO share point by point are asked of Prometheus itself.
struct NativeQueries {
    /// The histogram series.
    native: String,
    /// The summed histogram over the window.
    total: String,
    /// Which instances report it.
    instances: String,
    /// `histogram_sum` / `histogram_count` over the window.
    mean: String,
    /// p99 point by point.
    p99: String,
    /// The share within the SLO threshold point by point, if there is an SLO.
    within: Option<String>,
}

impl NativeQueries {
    fn new(source: &Source) -> NativeQueries {
        let (window, rate) = (&source.window, &source.rate);
        let native = source.series("");
        NativeQueries {
            total: format!("sum(increase({native}[{window}]))"),
            instances: format!("count by (instance) ({native})"),
            mean: format!(
                "histogram_sum(sum(increase({native}[{window}]))) / histogram_count(sum(increase({native}[{window}])))"
            ),
            p99: format!("histogram_quantile(0.99, sum(rate({native}[{rate}])))"),
            within: source.threshold.map(|th| {
                format!("histogram_fraction(0, {th}, sum(rate({native}[{rate}])))")
            }),
            native,
        }
    }

    /// The queries shown with the insight, to graph.
    fn related(self) -> Vec<String> {
        vec![self.total, self.p99, self.mean]
    }

    /// Where to look next: the tail per instance, the distribution over time.
    fn steps(&self, rate: &str) -> Vec<String> {
        let native = &self.native;
        vec![
            format!("histogram_quantile(0.99, sum by (instance) (rate({native}[{rate}])))   # which instances carry the tail"),
            format!("sum(rate({native}[{rate}]))   # the distribution over time (heatmap)"),
        ]
    }
}

/// Read a native histogram: the summed histogram over the window and the window before, the
/// mean, its instances and p99 point by point, sent together and logged in that order; then,
/// with an SLO, the share within its threshold point by point.
async fn fetch_native(
    ctx: &Context<'_>,
    source: &Source<'_>,
    output: &mut Output,
    name: &str,
) -> Option<Fetched> {
    let q = NativeQueries::new(source);
    let ((now, q1), (before, q2), (mean, q3), (who, q4), (p99s, q5)) = tokio::join!(
        instant(ctx, source.purpose("/native"), &q.total, source.at),
        instant(
            ctx,
            source.purpose("/native/baseline"),
            &q.total,
            source.baseline_at
        ),
        instant(ctx, source.purpose("/native/mean"), &q.mean, source.at),
        instant(
            ctx,
            source.purpose("/native/instances"),
            &q.instances,
            source.at
        ),
        range(ctx, source.purpose("/native/trend"), &q.p99),
    );
    for log in [q1, q2, q3, q4, q5] {
        output.log.extend(log);
    }
    let within = match &q.within {
        Some(query) => {
            let (r, log) = range(ctx, source.purpose("/native/slo"), query).await;
            output.log.extend(log);
            r.ok()
        }
        None => None,
    };
    let Some(now) = native_buckets(now) else {
        output.log.warn(format!(
            "latency: no `{}_bucket` series and no native histogram match {name} in the window",
            source.metric
        ));
        return None;
    };
    Some(Fetched {
        instances: who.map(|s| instances_of(&s)).unwrap_or_default(),
        now,
        baseline: native_buckets(before),
        mean: first_value(mean),
        trend: native_trend(p99s.ok(), within),
        steps: q.steps(&source.rate),
        related: q.related(),
    })
}

/// The first sample's value of an instant answer, if it is a finite number.
fn first_value(answer: Result<Vec<Sample>, crate::prometheus::PrometheusError>) -> Option<f64> {
    answer
        .ok()
        .and_then(|s| s.first().map(|s| s.value))
        .filter(|v| v.is_finite())
}

/// The buckets of the first native histogram in an instant answer, made cumulative.
fn native_buckets(
    answer: Result<Vec<Sample>, crate::prometheus::PrometheusError>,
) -> Option<Buckets> {
    answer
        .ok()
        .and_then(|s| s.into_iter().find_map(|s| s.buckets.map(|b| (b, s.value))))
        .map(|(b, count)| Buckets::new(&cumulative(&b, count)))
}

/// p99 and the SLO share, two range answers, joined on their times (a point may have only one).
fn native_trend(p99s: Option<Vec<Series>>, within: Option<Vec<Series>>) -> Vec<TrendPoint> {
    let p99s = finite_points(p99s);
    let within = finite_points(within);
    let mut times: Vec<i64> = p99s.keys().chain(within.keys()).copied().collect();
    times.sort_unstable();
    times.dedup();
    times
        .into_iter()
        .map(|ms| TrendPoint {
            at: ms as f64 / 1000.0,
            p99: p99s.get(&ms).copied(),
            within: within.get(&ms).copied(),
        })
        .collect()
}

/// The finite values of a range answer by time in milliseconds (exact keys to join on).
fn finite_points(answer: Option<Vec<Series>>) -> BTreeMap<i64, f64> {
    answer
        .into_iter()
        .flatten()
        .flat_map(|s| s.points)
        .filter(|(_, v)| v.is_finite())
        .map(|(t, v)| ((t * 1000.0) as i64, v))
        .collect()
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
