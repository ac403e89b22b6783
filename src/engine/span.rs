//! Evidence over a finding's own span: a container throttled for fifteen minutes of a day is
//! placed against what its node did in those fifteen minutes. The node's utilization over the
//! whole window would average a saturated quarter hour into a quiet day ("the node has
//! headroom") or a busy day into a quiet episode ("a noisy neighbour"), and Gregg's question,
//! was it the container's own limit or its neighbours, is about the same moments.
//!
//! An evidence entry with a `span_query` (one series per `device_from` value, e.g. per node,
//! with `${window}` for its range) is evaluated once per distinct span, at the span's end with
//! `${window}` the span's length: an exact mean over those minutes, whatever the grid's step,
//! and one small query per span however many findings share it.

use std::collections::{BTreeMap, HashMap};

use chrono::{DateTime, Utc};

use crate::{
    catalog::{Check, EvidenceQuery},
    prometheus::Series,
    promql::Selector,
    samples::{Over, QueryLog, Recorder, Timing},
};

use super::{evidence::Missing, finding::Finding};

/// The evidence that says over how long a finding's `span_query` evidence was judged (its own
/// span, margin included, ending at the finding's `ended_at`). Without it the evidence is the
/// window's (see `containers`).
pub(crate) const SPAN_SECONDS: &str = "node_span_seconds";

/// Distinct spans judged per evidence: findings past them keep the window's value (and the log
/// says so), so a fleet of findings never becomes a flood of queries.
pub(super) const MAX_SPANS: usize = 32;

/// A span: its first and last instant.
type Span = (DateTime<Utc>, DateTime<Utc>);

/// The span a finding is judged over: from one step before its first point past the threshold
/// (each point is a rate over the step before it, so the condition began up to a step
/// earlier) to its last one. `None` for a finding without a span (an event check).
pub(super) fn judged_span(
    started_at: Option<DateTime<Utc>>,
    ended_at: Option<DateTime<Utc>>,
    step: std::time::Duration,
) -> Option<Span> {
    let (start, end) = (started_at?, ended_at?);
    let step = chrono::Duration::from_std(step).unwrap_or_default();
    let start = start - step;
    (start < end).then_some((start, end))
}

/// The grid that renders `${window}` as `span`'s length, evaluated at its end.
pub(super) fn timing_of(span: Span, timing: &Timing) -> Timing {
    let length = (span.1 - span.0).to_std().unwrap_or(timing.step);
    Timing {
        at: span.1,
        window: length,
        ..*timing
    }
}

/// Findings (by index) grouped by the span they are judged over, earliest first.
fn by_span(evidence: &str, findings: &[Finding], timing: &Timing) -> BTreeMap<Span, Vec<usize>> {
    let mut spans: BTreeMap<Span, Vec<usize>> = BTreeMap::new();
    for (i, f) in findings.iter().enumerate() {
        if f.evidence.get(evidence).is_none() || f.device.is_none() {
            continue;
        }
        let a = &f.assessment;
        if let Some(span) = judged_span(a.started_at, a.ended_at, timing.step) {
            spans.entry(span).or_default().push(i);
        }
    }
    spans
}

/// Replace every `span_query` evidence of `findings` by its value over each finding's own
/// span. A finding without a span, or whose device has no value there, keeps the window's
/// value; a query that fails is said in the log and changes nothing.
pub(super) async fn refine(
    recorder: &Recorder<'_>,
    log: &mut QueryLog,
    check: &Check,
    selector: &Selector,
    timing: &Timing,
    findings: &mut [Finding],
) {
    for evidence in check.evidence.iter().filter(|e| e.span_query.is_some()) {
        let spans = by_span(&evidence.name, findings, timing);
        if spans.len() > MAX_SPANS {
            log.warn(format!(
                "{}: evidence `{}` is judged over each finding's own span for the first {MAX_SPANS} spans only; the other {} keep the whole window's value",
                check.id,
                evidence.name,
                spans.len() - MAX_SPANS
            ));
        }
        let fetches = spans
            .iter()
            .take(MAX_SPANS)
            .map(|(span, members)| async move {
                let mut fetched_log = QueryLog::new();
                let values = fetch(
                    recorder,
                    &mut fetched_log,
                    check,
                    evidence,
                    selector,
                    timing_of(*span, timing),
                )
                .await;
                (*span, members, values, fetched_log)
            });
        for (span, members, values, fetched_log) in futures_util::future::join_all(fetches).await {
            log.extend(fetched_log);
            match values {
                Ok(values) => apply(&evidence.name, span, members, findings, &values),
                Err(why) => log.warn(format!(
                    "{}: evidence `{}` is judged over the whole window, not over the span ending {}: {why}",
                    check.id, evidence.name, span.1
                )),
            }
        }
    }
}

/// Set the evidence of the findings judged over `span` to their device's value there.
fn apply(
    name: &str,
    span: Span,
    members: &[usize],
    findings: &mut [Finding],
    values: &HashMap<String, f64>,
) {
    for i in members {
        let Some(f) = findings.get_mut(*i) else {
            continue;
        };
        let value = f.device.as_ref().and_then(|d| values.get(d));
        if let Some(value) = value.filter(|v| v.is_finite()) {
            f.evidence.set(name, *value);
            f.evidence
                .set(SPAN_SECONDS, (span.1 - span.0).num_seconds() as f64);
        }
    }
}

/// The `span_query`'s value per `device_from` label over `span_timing`'s window.
async fn fetch(
    recorder: &Recorder<'_>,
    log: &mut QueryLog,
    check: &Check,
    evidence: &EvidenceQuery,
    selector: &Selector,
    span_timing: Timing,
) -> Result<HashMap<String, f64>, Missing> {
    let template = evidence.span_query.as_deref().unwrap_or_default();
    let promql = span_timing.render(template, &selector.to_string())?;
    let label = evidence
        .device_from
        .clone()
        .unwrap_or_else(|| "instance".to_string());
    let collect = move |acc: &mut HashMap<String, f64>, s: Series| {
        if let (Some(device), Some(point)) = (s.labels.get(&label), s.points.last()) {
            acc.insert(device.clone(), point.1);
        }
    };
    let purpose = format!("{}/{} (over a finding's span)", check.id, evidence.name);
    let over = Over::Instant(span_timing.at);
    Ok(recorder
        .fold(
            log,
            purpose,
            &promql,
            over,
            HashMap::new(),
            collect,
            HashMap::len,
        )
        .await?)
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use chrono::TimeZone;

    use super::*;

    fn t(seconds: i64) -> DateTime<Utc> {
        Utc.timestamp_opt(1_700_000_000 + seconds, 0).unwrap()
    }

    #[test]
    fn a_span_starts_one_step_before_its_first_point() {
        let step = Duration::from_secs(360);
        // Two 6-minute points past the threshold: the condition held over the twelve minutes
        // their rates cover, and no longer after the last one.
        assert_eq!(
            judged_span(Some(t(360)), Some(t(720)), step),
            Some((t(0), t(720)))
        );
        // One point: its own step.
        assert_eq!(
            judged_span(Some(t(720)), Some(t(720)), step),
            Some((t(360), t(720)))
        );
        assert_eq!(judged_span(None, Some(t(720)), step), None);
        assert_eq!(judged_span(Some(t(720)), None, step), None);
    }

    #[test]
    fn a_span_renders_its_own_window_at_its_end() {
        let day = Timing::new(t(86_400), Duration::from_secs(86_400), None);
        let span = (t(36_000), t(36_900));
        let timing = timing_of(span, &day);
        assert_eq!(timing.at, t(36_900));
        assert_eq!(timing.window, Duration::from_secs(900));
        assert_eq!(timing.step, day.step);
        assert_eq!(
            timing
                .render("rate(x{mode=\"idle\", ${selector}}[${window}])", "")
                .unwrap(),
            "rate(x{mode=\"idle\"}[15m])"
        );
    }

    #[test]
    fn findings_sharing_a_span_share_one_query() {
        use crate::{
            catalog::Thresholds,
            engine::evaluate::{Assessment, Level},
            insight::Evidence,
        };
        let step = Duration::from_secs(60);
        let timing = Timing::new(t(3_600), Duration::from_secs(3_600), None);
        let finding = |device: Option<&str>, start: i64, with_evidence: bool| {
            let mut evidence = Evidence::new();
            if with_evidence {
                evidence.set("node_cpu_busy_percent", 10.0);
            }
            Finding {
                instance: "shop/api-1/app".into(),
                device: device.map(str::to_string),
                assessment: Assessment {
                    level: Level::Critical,
                    value: 98.0,
                    mean: 98.0,
                    peak: 98.0,
                    last: 98.0,
                    held: Duration::from_secs(600),
                    started_at: Some(t(start)),
                    ended_at: Some(t(start + 600)),
                    points: 10,
                    skipped: 0,
                    periods: Vec::new(),
                    burst: None,
                },
                thresholds: Thresholds {
                    warning: 80.0,
                    critical: 95.0,
                },
                class: None,
                also_on: Vec::new(),
                evidence,
                queries: Vec::new(),
            }
        };
        let findings = vec![
            finding(Some("node-a"), 600, true),
            finding(Some("node-b"), 600, true),
            finding(Some("node-a"), 1_800, true),
            finding(None, 600, true),
            finding(Some("node-a"), 600, false),
        ];
        let spans = by_span("node_cpu_busy_percent", &findings, &timing);
        let first = judged_span(Some(t(600)), Some(t(1_200)), step).unwrap();
        assert_eq!(spans.len(), 2);
        assert_eq!(spans[&first], vec![0, 1]);
        let mut findings = findings;
        let values = HashMap::from([("node-a".to_string(), 95.0)]);
        apply(
            "node_cpu_busy_percent",
            first,
            &[0, 1],
            &mut findings,
            &values,
        );
        assert_eq!(
            findings[0].evidence.get("node_cpu_busy_percent"),
            Some(95.0)
        );
        assert_eq!(findings[0].evidence.get(SPAN_SECONDS), Some(660.0));
        // node-b has no value over the span: it keeps the window's, unmarked.
        assert_eq!(
            findings[1].evidence.get("node_cpu_busy_percent"),
            Some(10.0)
        );
        assert_eq!(findings[1].evidence.get(SPAN_SECONDS), None);
    }
}
