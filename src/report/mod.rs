//! Human and machine renderings of an analysis: text (the original persona's report), Markdown
//! and JSON. The report panel reads the same content from frames; the CLI prints these.

mod json;
mod markdown;
mod text;

use std::collections::BTreeMap;

use serde::Serialize;

use crate::{
    analysis::Analysis,
    catalog::Catalog,
    engine::Level,
    insight::{Insight, IssueType, Severity},
};

pub use crate::catalog::format_evidence;
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
        Format::Json => render_json(analysis, catalog),
    }
}

/// Write `analysis` in `format` to `out`: the same text as [`render`], with the JSON document
/// serialised straight into `out` rather than built in memory first (the CLI's report of a
/// large fleet).
pub fn write(
    analysis: &Analysis,
    catalog: &Catalog,
    format: Format,
    mut out: impl std::io::Write,
) -> std::io::Result<()> {
    match format {
        Format::Json => json::write(analysis, catalog, out),
        _ => out.write_all(render(analysis, catalog, format).as_bytes()),
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
    /// Info (coverage notes and checks that could not run).
    pub info: usize,
    /// All findings.
    pub total: usize,
    /// Instances analysed.
    pub instances: usize,
    /// Checks that could not run.
    pub failed_checks: usize,
}

impl Summary {
    /// Count the findings of an analysis.
    pub fn of(analysis: &Analysis) -> Self {
        let mut s = Summary {
            total: analysis.insights.len(),
            instances: analysis.inventory.instances.len(),
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

/// `out` without control characters other than its own line breaks: an ANSI or OSC escape in
/// a label value (which can recolour a terminal or set its title) is dropped, not printed.
pub(crate) fn without_controls(out: String) -> String {
    if !out.chars().any(|c| c.is_control() && c != '\n') {
        return out;
    }
    out.chars()
        .filter(|c| !c.is_control() || *c == '\n')
        .collect()
}

/// A value on one line: control characters (line breaks included) become spaces.
pub(crate) fn one_line(text: &str) -> String {
    text.chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect()
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

/// Findings (coverage notes excluded) grouped by severity, most urgent group first.
pub(crate) fn grouped(
    insights: &[Insight],
) -> BTreeMap<std::cmp::Reverse<Severity>, Vec<&Insight>> {
    let mut groups: BTreeMap<std::cmp::Reverse<Severity>, Vec<&Insight>> = BTreeMap::new();
    for i in insights
        .iter()
        .filter(|i| i.issue_type != IssueType::Coverage)
    {
        groups
            .entry(std::cmp::Reverse(i.severity))
            .or_default()
            .push(i);
    }
    groups
}

/// Coverage notes, with identical ones on several instances folded into one line.
pub fn coverage_lines(insights: &[Insight]) -> Vec<String> {
    let mut folded: BTreeMap<String, Vec<&str>> = BTreeMap::new();
    let mut lines = Vec::new();
    for i in insights
        .iter()
        .filter(|i| i.issue_type == IssueType::Coverage)
        // A dashboard's summary says what was read; the report's head shows it.
        .filter(|i| i.methodology != crate::insight::Methodology::DashboardAnalysis)
    {
        match &i.instance {
            Some(instance) => {
                let generic = i.observation.replacen(instance.as_str(), "{instance}", 1);
                folded.entry(generic).or_default().push(instance);
            }
            // Already folded by the engine: the observation names the instances.
            None if i.check == "coverage" => lines.push(i.observation.clone()),
            None => lines.push(format!("{} {}", i.title, i.observation)),
        }
    }
    for (generic, instances) in folded {
        let line = if instances.len() == 1 {
            generic.replacen("{instance}", instances[0], 1)
        } else {
            let shown: Vec<&str> = instances.iter().take(5).copied().collect();
            let more = if instances.len() > 5 {
                format!(" and {} more", instances.len() - 5)
            } else {
                String::new()
            };
            generic.replacen(
                "{instance}",
                &format!("{} instances ({}{more})", instances.len(), shown.join(", ")),
                1,
            )
        };
        lines.push(line);
    }
    lines
}

/// One line per check: targets, breaches, the worst value, or why it failed.
pub(crate) struct CheckLine {
    pub id: String,
    pub label: String,
    pub targets: usize,
    pub worst: Option<String>,
    pub breaches: usize,
    pub error: Option<String>,
    pub note: Option<String>,
}

pub(crate) fn check_lines(analysis: &Analysis, catalog: &Catalog) -> Vec<CheckLine> {
    analysis
        .outcomes
        .iter()
        .map(|o| {
            let check = catalog.check(&o.check);
            let worst = o.worst.as_ref().map(|w| {
                let value = check.map_or_else(|| w.value.to_string(), |c| c.unit.format(w.value));
                let level = if w.level == Level::Ok {
                    String::new()
                } else {
                    format!(", {}", w.level.as_str())
                };
                match &w.device {
                    Some(d) => format!("{value} on {} {d}{level}", w.instance),
                    None => format!("{value} on {}{level}", w.instance),
                }
            });
            CheckLine {
                id: o.check.clone(),
                label: check.map(|c| c.label.clone()).unwrap_or_default(),
                targets: o.targets,
                worst,
                breaches: o.breaches,
                error: o.error.clone(),
                note: o.note.clone(),
            }
        })
        .collect()
}

/// One line per workload or latency measure: `label: window (baseline …), targets, changes`.
pub(crate) fn workload_lines(analysis: &Analysis) -> Vec<String> {
    analysis
        .workload
        .iter()
        .map(|m| {
            let value = |v: Option<f64>| {
                v.map(|v| format_evidence(&m.metric, v))
                    .unwrap_or_else(|| "n/a".into())
            };
            if let Some(e) = &m.error {
                return format!("{}: FAILED: {e}", m.label);
            }
            if m.targets == 0 {
                return format!("{}: no data for these targets", m.label);
            }
            let median = if m.targets > 1 { "median " } else { "" };
            let mut line = format!(
                "{}: {median}{} (before: {}), {} target(s)",
                m.label,
                value(m.window),
                value(m.baseline),
                m.targets
            );
            if m.changed > 0 {
                line.push_str(&format!(", {} changed", m.changed));
            }
            if m.without_baseline > 0 {
                line.push_str(&format!(", {} without a baseline", m.without_baseline));
            }
            line
        })
        .collect()
}

/// The histogram's numbers, one line each.
pub(crate) fn latency_lines(analysis: &Analysis) -> Vec<String> {
    use crate::methods::histogram::fmt_seconds;
    let Some(h) = &analysis.latency else {
        return Vec::new();
    };
    let mut lines = vec![format!(
        "{}: {:.0} observations, confidence {:.0}%",
        h.name, h.observations, h.confidence
    )];
    for (q, e) in &h.percentiles {
        let bound = if e.upper.is_finite() {
            format!("{}–{}", fmt_seconds(e.lower), fmt_seconds(e.upper))
        } else {
            format!("above {}", fmt_seconds(e.lower))
        };
        lines.push(format!(
            "p{:.0}: {} (bucket {bound})",
            q * 100.0,
            fmt_seconds(e.value)
        ));
    }
    if let Some(b) = &h.baseline_p99 {
        lines.push(format!(
            "p99 in the window before: {}",
            fmt_seconds(b.value)
        ));
    }
    if let Some(m) = h.mean {
        lines.push(format!("mean: {}", fmt_seconds(m)));
    }
    if let Some(a) = &h.slo_attainment {
        lines.push(format!(
            "within the SLO threshold: {:.2}% ({:.2}–{:.2}%)",
            100.0 * a.value,
            100.0 * a.lower,
            100.0 * a.upper
        ));
    }
    let buckets: Vec<String> = h
        .distribution
        .iter()
        .filter(|(_, _, share)| *share > 0.0)
        .map(|(lo, hi, share)| {
            format!(
                "{}–{} {:.1}%",
                fmt_seconds(*lo),
                fmt_seconds(*hi),
                100.0 * share
            )
        })
        .collect();
    lines.push(format!("distribution: {}", buckets.join(", ")));
    lines.extend(h.problems.iter().map(|p| format!("caution: {p}")));
    lines
}

/// The head of a dashboard report as `(label, text)` lines: the dashboard, the range, the
/// variable values used, panels read / judged / skipped, queries Grafana would run against
/// those run, and the instances shown.
pub fn dashboard_lines(h: &crate::analysis::DashboardHeader) -> Vec<(&'static str, String)> {
    let variables = if h.variables.is_empty() {
        "none".to_string()
    } else {
        h.variables
            .iter()
            .map(|(n, v)| format!("${n} = {v}"))
            .collect::<Vec<_>>()
            .join("; ")
    };
    let shown: Vec<&str> = h.instances.iter().take(10).map(String::as_str).collect();
    let more = h.instances.len().saturating_sub(shown.len());
    let mut lines = vec![
        ("Dashboard", format!("\"{}\" ({})", h.title, h.uid)),
        (
            "Range",
            format!(
                "{} to {}",
                h.from.format("%Y-%m-%d %H:%M:%S"),
                h.to.format("%Y-%m-%d %H:%M:%S UTC")
            ),
        ),
        ("Variables", variables),
        (
            "Panels",
            format!(
                "{} read, {} judged, {} skipped or not judged (the notes say why)",
                h.panels_read, h.panels_judged, h.panels_skipped
            ),
        ),
        (
            "Queries",
            format!(
                "{} sent of the {} Grafana would run, {} answered",
                h.queries_sent, h.grafana_queries, h.queries_answered
            ),
        ),
        (
            "Instances",
            format!(
                "{} shown by the panels{}{}",
                h.instances.len(),
                if shown.is_empty() {
                    String::new()
                } else {
                    format!(": {}", shown.join(", "))
                },
                if more > 0 {
                    format!(" and {more} more")
                } else {
                    String::new()
                }
            ),
        ),
    ];
    if !h.data_sources.is_empty() {
        lines.push(("Sources", data_source_line(&h.data_sources)));
    }
    lines
}

/// Which data source each instance came from: `source: a, b; other source: c` (ten
/// instances per source at most, the rest counted).
fn data_source_line(sources: &[(String, Vec<String>)]) -> String {
    sources
        .iter()
        .map(|(source, instances)| {
            let shown: Vec<&str> = instances.iter().take(10).map(String::as_str).collect();
            let more = instances.len().saturating_sub(shown.len());
            let list = match (shown.is_empty(), more) {
                (true, _) => "no instance".to_string(),
                (false, 0) => shown.join(", "),
                (false, n) => format!("{} and {n} more", shown.join(", ")),
            };
            format!("{source}: {list}")
        })
        .collect::<Vec<_>>()
        .join("; ")
}
