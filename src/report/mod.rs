//! Human and machine renderings of an analysis: text (the original persona's report), Markdown
//! and JSON. The report panel reads the same content from frames; the CLI prints these.

mod json;
mod markdown;
mod text;

use std::collections::BTreeMap;

use serde::Serialize;

use crate::{
    catalog::Catalog,
    engine::Analysis,
    insight::{Insight, Severity},
};

pub use json::render as render_json;
pub use markdown::render as render_markdown;
pub use text::render as render_text;

/// Output formats of the CLI.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Format {
    /// Plain text, 80 columns.
    Text,
    /// GitHub-flavoured Markdown.
    Markdown,
    /// One JSON document.
    Json,
}

/// Render `analysis` in `format`.
pub fn render(analysis: &Analysis, catalog: &Catalog, format: Format) -> String {
    match format {
        Format::Text => render_text(analysis, catalog),
        Format::Markdown => render_markdown(analysis, catalog),
        Format::Json => render_json(analysis),
    }
}

/// Counts of findings by severity: the report's SUMMARY.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct Summary {
    /// Critical findings.
    pub critical: usize,
    /// High.
    pub high: usize,
    /// Medium.
    pub medium: usize,
    /// Low.
    pub low: usize,
    /// Info.
    pub info: usize,
    /// All findings.
    pub total: usize,
    /// Instances analysed (with node_exporter data), when known.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub instances: Option<usize>,
    /// Checks that could not run.
    pub failed_checks: usize,
}

impl Summary {
    /// Count the findings of an analysis.
    pub fn of(analysis: &Analysis) -> Self {
        let mut s = Summary {
            total: analysis.insights.len(),
            instances: analysis.inventory.as_ref().map(|i| i.instances),
            failed_checks: analysis
                .outcomes
                .iter()
                .filter(|o| o.error.is_some())
                .count(),
            ..Summary::default()
        };
        for insight in &analysis.insights {
            match insight.severity {
                Severity::Critical => s.critical += 1,
                Severity::High => s.high += 1,
                Severity::Medium => s.medium += 1,
                Severity::Low => s.low += 1,
                Severity::Info => s.info += 1,
            }
        }
        s
    }
}

/// ` (Prometheus 2.42.0)`, or nothing when the version is unknown.
pub(crate) fn prometheus_version_suffix(analysis: &Analysis) -> String {
    analysis
        .inventory
        .as_ref()
        .and_then(|i| i.prometheus.as_ref())
        .map(|b| format!(" (Prometheus {})", b.version))
        .unwrap_or_default()
}

/// Heading of each severity group, as in the original persona's report.
pub(crate) fn group_heading(severity: Severity) -> &'static str {
    match severity {
        Severity::Critical => "CRITICAL ISSUES - IMMEDIATE ACTION REQUIRED",
        Severity::High => "HIGH PRIORITY",
        Severity::Medium => "MEDIUM PRIORITY",
        Severity::Low => "LOW PRIORITY",
        Severity::Info => "INFORMATIONAL",
    }
}

/// Insights grouped by severity, most urgent group first, each group in analysis order.
pub(crate) fn grouped(
    insights: &[Insight],
) -> BTreeMap<std::cmp::Reverse<Severity>, Vec<&Insight>> {
    let mut groups: BTreeMap<std::cmp::Reverse<Severity>, Vec<&Insight>> = BTreeMap::new();
    for i in insights {
        groups
            .entry(std::cmp::Reverse(i.severity))
            .or_default()
            .push(i);
    }
    groups
}

/// Format an evidence value with its unit for people.
pub(crate) fn format_evidence(value: f64, unit: Option<&str>) -> String {
    use crate::catalog::Unit;
    let unit = match unit {
        Some("percent") => Some(Unit::Percent),
        Some("percentunit") => Some(Unit::Ratio),
        Some("s") => Some(Unit::Seconds),
        Some("bytes") => Some(Unit::Bytes),
        Some("ops") => Some(Unit::PerSecond),
        Some("none") => Some(Unit::Count),
        _ => None,
    };
    match unit {
        Some(u) => u.format(value),
        None => format!("{value}"),
    }
}

/// One line per check: how many targets, the worst value, and errors.
pub(crate) struct CheckLine {
    pub id: String,
    pub targets: usize,
    pub worst: Option<String>,
    pub breaches: usize,
    pub error: Option<String>,
}

pub(crate) fn check_lines(analysis: &Analysis, catalog: &Catalog) -> Vec<CheckLine> {
    analysis
        .outcomes
        .iter()
        .map(|o| {
            let unit = catalog.check(&o.check).map(|c| c.unit);
            let worst = o.observations.first().map(|w| {
                let value = unit.map_or_else(|| w.value.to_string(), |u| u.format(w.value));
                match &w.device {
                    Some(d) => format!("{value} on {} {d} ({})", w.instance, w.level.as_str()),
                    None => format!("{value} on {} ({})", w.instance, w.level.as_str()),
                }
            });
            CheckLine {
                id: o.check.clone(),
                targets: o.observations.len(),
                worst,
                breaches: o
                    .observations
                    .iter()
                    .filter(|x| x.level > crate::engine::Level::Ok)
                    .count(),
                error: o.error.clone(),
            }
        })
        .collect()
}
