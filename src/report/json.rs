//! The JSON report, for scripts and CI:
//! `{"evaluated_at", "window", "prometheus", "summary": {...}, "insights": [...]}` plus the
//! checks, coverage, what node_exporter cannot observe, and every query sent.

use chrono::{DateTime, Utc};
use serde::Serialize;

use super::Summary;
use crate::{
    analysis::Analysis,
    catalog::Catalog,
    engine::CheckOutcome,
    insight::{ContainerLabels, Insight},
    inventory::Inventory,
    promql::format_duration,
    samples::ExecutedQuery,
};

#[derive(Serialize)]
struct Report<'a> {
    evaluated_at: DateTime<Utc>,
    window: String,
    rate_interval: String,
    step: String,
    /// The range of every `range` query (instant queries run at `evaluated_at`).
    range: Range,
    prometheus: &'a str,
    /// Requests sent to Prometheus at once at most.
    concurrency: usize,
    selector: &'a str,
    /// "partial data: N checks' answers carried server warnings (…)", when any did.
    #[serde(skip_serializing_if = "Option::is_none")]
    partial_data: Option<&'a str>,
    summary: Summary,
    insights: Vec<ReportInsight<'a>>,
    checks: &'a [CheckOutcome],
    inventory: &'a Inventory,
    not_observable: Vec<NotObservable<'a>>,
    queries: &'a [ExecutedQuery],
    warnings: &'a [String],
}

/// An insight as the model serialises it, plus a container finding's Kubernetes names
/// (`kubernetes: {namespace, pod, container, node}`), so scripts need not split its instance.
#[derive(Serialize)]
struct ReportInsight<'a> {
    #[serde(flatten)]
    insight: &'a Insight,
    #[serde(skip_serializing_if = "Option::is_none")]
    kubernetes: Option<ContainerLabels<'a>>,
}

#[derive(Serialize)]
struct Range {
    start: DateTime<Utc>,
    end: DateTime<Utc>,
    step_seconds: f64,
}

#[derive(Serialize)]
struct NotObservable<'a> {
    component: &'a str,
    what: &'a str,
    #[serde(rename = "use")]
    use_instead: &'a str,
}

/// Render the analysis as one pretty-printed JSON document.
pub fn render(analysis: &Analysis, catalog: &Catalog) -> String {
    // Plain data (strings, numbers, maps) always serialises; non-finite numbers become null.
    serde_json::to_string_pretty(&report(analysis, catalog))
        .unwrap_or_else(|e| format!("{{\"error\": \"{e}\"}}"))
}

/// Write the same document to `out` as it is serialised. At 10,000 hosts it is about 9 MiB of
/// text; built as a `String` first it was the CLI's peak memory (the string grows by doubling,
/// to 16 MiB), written through it is a buffer's worth.
pub fn write(
    analysis: &Analysis,
    catalog: &Catalog,
    out: impl std::io::Write,
) -> std::io::Result<()> {
    serde_json::to_writer_pretty(out, &report(analysis, catalog)).map_err(std::io::Error::from)
}

/// The report's model: the analysis borrowed, nothing copied but the insights' wrappers.
fn report<'a>(analysis: &'a Analysis, catalog: &'a Catalog) -> Report<'a> {
    let t = &analysis.timing;
    Report {
        evaluated_at: t.at,
        window: format_duration(t.window),
        rate_interval: format_duration(t.rate),
        step: format_duration(t.step),
        range: {
            let r = t.range();
            Range {
                start: r.start,
                end: r.end,
                step_seconds: r.step.as_secs_f64(),
            }
        },
        prometheus: &analysis.prometheus_url,
        concurrency: analysis.concurrency,
        selector: &analysis.selector,
        partial_data: analysis.partial_data.as_deref(),
        summary: Summary::of(analysis),
        insights: analysis
            .insights
            .iter()
            .map(|insight| ReportInsight {
                insight,
                kubernetes: insight.container_labels(),
            })
            .collect(),
        checks: &analysis.outcomes,
        inventory: &analysis.inventory,
        not_observable: catalog
            .unobservable()
            .iter()
            .map(|u| NotObservable {
                component: u.component.as_str(),
                what: &u.what,
                use_instead: &u.use_instead,
            })
            .collect(),
        queries: &analysis.queries,
        warnings: &analysis.warnings,
    }
}
