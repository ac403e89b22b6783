//! Answers sized for a model's context: the summary and a one-line headline first, then the
//! most urgent insights up to a limit, each in summary form unless the caller asks for detail,
//! and a note whenever anything was left out, saying how much and how to get it.

use serde_json::{json, Map, Value};

use crate::{
    analysis::Analysis,
    insight::{Insight, Severity},
    promql::format_duration,
    report::Summary,
};

/// Insights returned when the caller gives no `limit`.
pub const DEFAULT_LIMIT: usize = 20;
/// Most insights one answer holds, whatever the caller asks.
pub const MAX_LIMIT: usize = 200;
/// Failed checks listed at most (each one's message can be long).
const MAX_FAILED: usize = 10;

/// How much of each insight an answer carries.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Detail {
    /// What a finding needs to be acted on: title, observation, evidence, immediate action,
    /// confidence, and what it is about.
    #[default]
    Summary,
    /// Everything: root cause, investigation steps, long-term fix, related PromQL, book.
    Full,
}

/// Fields an insight keeps in [`Detail::Summary`].
const SUMMARY_FIELDS: &[&str] = &[
    "id",
    "timestamp",
    "methodology",
    "component",
    "issue_type",
    "severity",
    "title",
    "observation",
    "evidence",
    "immediate_action",
    "confidence",
    "instance",
    "device",
    "check",
];

/// One insight as the answer carries it.
pub fn insight(insight: &Insight, detail: Detail) -> Value {
    let full = serde_json::to_value(insight).unwrap_or(Value::Null);
    match (detail, full) {
        (Detail::Summary, Value::Object(map)) => Value::Object(
            map.into_iter()
                .filter(|(k, v)| SUMMARY_FIELDS.contains(&k.as_str()) && !v.is_null())
                .collect::<Map<String, Value>>(),
        ),
        (_, value) => value,
    }
}

/// The answer for `analysis`, its insights already filtered.
pub fn analysis(analysis: &Analysis, detail: Detail, limit: usize) -> Value {
    let summary = Summary::of(analysis);
    let matched = analysis.insights.len();
    let shown: Vec<Value> = analysis
        .insights
        .iter()
        .take(limit)
        .map(|i| insight(i, detail))
        .collect();
    let failed: Vec<Value> = analysis
        .outcomes
        .iter()
        .filter_map(|o| {
            o.error
                .as_ref()
                .map(|e| json!({"check": o.check, "error": e}))
        })
        .collect();
    let mut notes = Vec::new();
    if matched > shown.len() {
        notes.push(format!(
            "showing the {} most urgent of {matched} insights; ask again with a higher limit (at most {MAX_LIMIT}), a higher minSeverity, or narrower instances/components for the rest",
            shown.len()
        ));
    }
    if failed.len() > MAX_FAILED {
        notes.push(format!(
            "{} checks could not run; the first {MAX_FAILED} are listed",
            failed.len()
        ));
    }
    let mut answer = json!({
        "headline": headline(analysis, &summary),
        "summary": summary,
        "evaluated_at": analysis.timing.at,
        "window": format_duration(analysis.timing.window),
        "prometheus": analysis.prometheus_url,
        "selector": analysis.selector,
        "shown": shown.len(),
        "matched": matched,
        "truncated": matched > shown.len(),
        "insights": shown,
        "failed_checks": failed.into_iter().take(MAX_FAILED).collect::<Vec<_>>(),
    });
    if !notes.is_empty() {
        answer["note"] = Value::String(notes.join("; "));
    }
    answer
}

/// One sentence: counts per severity and the most urgent finding.
fn headline(analysis: &Analysis, summary: &Summary) -> String {
    let counts: Vec<String> = [
        (Severity::Critical, summary.critical),
        (Severity::High, summary.high),
        (Severity::Medium, summary.medium),
        (Severity::Low, summary.low),
    ]
    .into_iter()
    .filter(|(_, n)| *n > 0)
    .map(|(s, n)| format!("{n} {s}"))
    .collect();
    let instances = summary.instances;
    match analysis
        .insights
        .iter()
        .find(|i| i.severity > Severity::Info)
    {
        None => format!("No findings above info across {instances} instances."),
        Some(worst) => format!(
            "{} across {instances} instances; most urgent: {}{}",
            counts.join(", "),
            worst.title,
            worst
                .instance
                .as_deref()
                .map(|i| format!(" on {i}"))
                .unwrap_or_default()
        ),
    }
}

/// A list cut to `limit`, with its total and a note when cut.
pub fn list(name: &str, items: Vec<String>, limit: usize) -> Value {
    let total = items.len();
    let shown: Vec<String> = items.into_iter().take(limit).collect();
    let mut answer = json!({ name: shown, "total": total, "truncated": total > shown.len() });
    if total > shown.len() {
        answer["note"] = Value::String(format!(
            "showing {} of {total}; narrow with `instances` (a regex) or raise `limit`",
            shown.len()
        ));
    }
    answer
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn long_lists_are_cut_with_a_note() {
        let items: Vec<String> = (0..5).map(|i| format!("h{i}")).collect();
        let a = list("instances", items.clone(), 3);
        assert_eq!(a["instances"].as_array().unwrap().len(), 3);
        assert_eq!(a["total"], 5);
        assert_eq!(a["truncated"], true);
        assert!(a["note"].as_str().unwrap().contains("showing 3 of 5"));
        let a = list("instances", items, 10);
        assert_eq!(a["truncated"], false);
        assert!(a.get("note").is_none());
    }
}
