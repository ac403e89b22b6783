//! The plain-text report, in the shape of the original persona's: SUMMARY, then findings by
//! severity with OBSERVATION, EVIDENCE, ROOT CAUSE, IMMEDIATE ACTION, INVESTIGATION STEPS,
//! LONG-TERM FIX and the book reference; then coverage and what node_exporter cannot see.

use std::fmt::Write as _;

use super::{
    check_lines, coverage_lines, format_evidence, group_heading, grouped, latency_lines,
    workload_lines, Summary,
};
use crate::{analysis::Analysis, catalog::Catalog, insight::Insight, promql::format_duration};

const WIDTH: usize = 80;

/// Render the text report.
pub fn render(analysis: &Analysis, catalog: &Catalog) -> String {
    let mut out = String::new();
    write_header(&mut out, analysis);
    if let Some(partial) = &analysis.partial_data {
        wrap_into(&mut out, &format!("WARNING: {partial}"), "", "  ");
        let _ = writeln!(out);
    }
    write_summary(&mut out, analysis);
    write_findings(&mut out, analysis);
    write_checks(&mut out, analysis, catalog);
    write_workload(&mut out, analysis);
    write_latency(&mut out, analysis);
    write_coverage(&mut out, analysis);
    write_unobservable(&mut out, catalog);
    write_notes(&mut out, analysis);
    super::without_controls(out)
}

/// The banner, then what was analysed: when, which Prometheus, the targets (how many, which
/// selector, which node_exporter versions, how often scraped) and the window.
fn write_header(out: &mut String, analysis: &Analysis) {
    let rule = "=".repeat(WIDTH);
    let t = &analysis.timing;
    let inv = &analysis.inventory;
    let _ = writeln!(out, "{rule}");
    if let Some(h) = &analysis.dashboard {
        write_dashboard_header(out, analysis, h, &rule);
        return;
    }
    let _ = writeln!(out, "SYSTEMS PERFORMANCE ANALYSIS REPORT");
    let _ = writeln!(out, "Based on Brendan Gregg's Methodologies");
    let _ = writeln!(out, "{rule}");
    let _ = writeln!(out);
    let _ = writeln!(out, "Generated:  {}", t.at.format("%Y-%m-%d %H:%M:%S UTC"));
    let version = format!(" ({})", inv.server.name());
    let _ = writeln!(out, "Prometheus: {}{version}", analysis.prometheus_url);
    let versions: Vec<String> = inv
        .exporter_versions
        .iter()
        .map(|(v, n)| format!("node_exporter {v} on {n}"))
        .collect();
    let targets = if analysis.selector.is_empty() {
        String::new()
    } else {
        format!(" matching {{{}}}", analysis.selector)
    };
    wrap_into(
        out,
        &format!(
            "Targets:    {} instance(s){targets}{}, scraped every ~{}",
            inv.instances.len(),
            if versions.is_empty() {
                String::new()
            } else {
                format!(" ({})", versions.join(", "))
            },
            format_duration(std::time::Duration::from_secs(
                t.scrape_interval.as_secs_f64().round().max(1.0) as u64
            )),
        ),
        "",
        "            ",
    );
    let _ = writeln!(
        out,
        "Window:     {} (conditions must be sustained; rate() over {}, a point every {})",
        format_duration(t.window),
        format_duration(t.rate),
        format_duration(t.step)
    );
    let _ = writeln!(out);
}

/// A dashboard report's head: the dashboard rather than a fleet selection.
fn write_dashboard_header(
    out: &mut String,
    analysis: &Analysis,
    h: &crate::analysis::DashboardHeader,
    rule: &str,
) {
    let t = &analysis.timing;
    let _ = writeln!(out, "DASHBOARD ANALYSIS REPORT");
    let _ = writeln!(out, "Panels judged, tied to Brendan Gregg's USE Method");
    let _ = writeln!(out, "{rule}");
    let _ = writeln!(out);
    let _ = writeln!(out, "Generated:  {}", t.at.format("%Y-%m-%d %H:%M:%S UTC"));
    let _ = writeln!(out, "Prometheus: {}", analysis.prometheus_url);
    for (label, text) in super::dashboard_lines(h) {
        wrap_into(
            out,
            &format!("{:<11} {text}", format!("{label}:")),
            "",
            "            ",
        );
    }
    let _ = writeln!(
        out,
        "Grid:       a point every {}, $__rate_interval {}, scraped every ~{}",
        format_duration(t.step),
        format_duration(t.rate),
        format_duration(std::time::Duration::from_secs(
            t.scrape_interval.as_secs_f64().round().max(1.0) as u64
        )),
    );
    let _ = writeln!(out);
}

/// The count of findings per severity.
fn write_summary(out: &mut String, analysis: &Analysis) {
    let s = Summary::of(analysis);
    let _ = writeln!(out, "SUMMARY:");
    let _ = writeln!(out, "  Critical Issues: {}", s.critical);
    let _ = writeln!(out, "  High Priority:   {}", s.high);
    let _ = writeln!(out, "  Medium Priority: {}", s.medium);
    let _ = writeln!(out, "  Low Priority:    {}", s.low);
    let _ = writeln!(out, "  Informational:   {}", s.info);
    let _ = writeln!(out, "  Total Findings:  {}", s.total);
    let _ = writeln!(out);
}

/// The findings under one heading per severity (worst first), numbered across the whole
/// report, or a sentence saying there are none.
fn write_findings(out: &mut String, analysis: &Analysis) {
    let thin = "-".repeat(WIDTH);
    let groups = grouped(&analysis.insights);
    if groups.is_empty() {
        let _ = writeln!(
            out,
            "No findings: every resource is within its thresholds on every target for the window."
        );
        let _ = writeln!(out);
    }
    let mut n = 0;
    for (severity, insights) in groups {
        let _ = writeln!(out, "{}", group_heading(severity.0));
        let _ = writeln!(out, "{thin}");
        for insight in insights {
            n += 1;
            write_insight(out, n, insight);
        }
    }
}

/// The USE checks that ran, one line each: targets, breaches and the worst value (or the
/// failure, or why there is no data).
fn write_checks(out: &mut String, analysis: &Analysis, catalog: &Catalog) {
    if !analysis.outcomes.is_empty() {
        let _ = writeln!(out, "USE CHECKS ({} run):", analysis.outcomes.len());
    }
    for line in check_lines(analysis, catalog) {
        let mut text = match (&line.error, &line.worst, &line.note) {
            (Some(err), _, _) => format!("{:<38} FAILED: {err}", line.id),
            (None, Some(worst), _) => format!(
                "{:<38} {} target(s), {} past threshold; worst {worst}",
                line.id, line.targets, line.breaches
            ),
            (None, None, Some(note)) if line.targets == 0 => format!("{:<38} {note}", line.id),
            (None, None, _) => format!("{:<38} no data for these targets", line.id),
        };
        if let (None, Some(note)) = (&line.error, &line.note) {
            if line.targets > 0 {
                text.push_str(&format!(" ({note})"));
            }
        }
        wrap_into(out, &text, "  ", "      ");
    }
    let _ = writeln!(out);
}

/// The workload and latency method's lines, when it ran.
fn write_workload(out: &mut String, analysis: &Analysis) {
    let workload = workload_lines(analysis);
    if !workload.is_empty() {
        let _ = writeln!(
            out,
            "WORKLOAD AND LATENCY (median of the last {w} against the {w} before):",
            w = format_duration(analysis.timing.window)
        );
        for line in workload {
            wrap_into(out, &line, "  ", "      ");
        }
        let _ = writeln!(out);
    }
}

/// The histogram latency method's lines, when it ran.
fn write_latency(out: &mut String, analysis: &Analysis) {
    let latency = latency_lines(analysis);
    if !latency.is_empty() {
        let _ = writeln!(out, "HISTOGRAM LATENCY:");
        for line in latency {
            wrap_into(out, &line, "  ", "      ");
        }
        let _ = writeln!(out);
    }
}

/// What was not assessed, so is not known to be healthy.
fn write_coverage(out: &mut String, analysis: &Analysis) {
    let coverage = coverage_lines(&analysis.insights);
    if !coverage.is_empty() {
        let _ = writeln!(
            out,
            "COVERAGE GAPS (not assessed, so not known to be healthy):"
        );
        for line in coverage {
            wrap_into(out, &line, "  - ", "    ");
        }
        let _ = writeln!(out);
    }
}

/// What node_exporter cannot show, and the tool to use instead: always printed, so a clean
/// report is not read as "nothing wrong anywhere".
fn write_unobservable(out: &mut String, catalog: &Catalog) {
    let _ = writeln!(
        out,
        "NOT OBSERVABLE WITH NODE_EXPORTER (use the tools named):"
    );
    for u in catalog.unobservable() {
        wrap_into(
            out,
            &format!("{}: {} - use {}", u.component, u.what, u.use_instead),
            "  - ",
            "    ",
        );
    }
}

/// The analysis' warnings, one `Note:` paragraph each.
fn write_notes(out: &mut String, analysis: &Analysis) {
    for w in &analysis.warnings {
        let _ = writeln!(out);
        wrap_into(out, &format!("Note: {w}"), "", "  ");
    }
}

/// One numbered finding: title, metadata, when it held, the observation, evidence, the
/// PromQL that found it, the advice and the book reference.
fn write_insight(out: &mut String, n: usize, i: &Insight) {
    let _ = writeln!(out);
    wrap_into(out, &format!("[{n}] {}", i.title), "", "    ");
    let mut meta = format!("    Component: {}", i.component);
    if let Some(instance) = &i.instance {
        let _ = write!(meta, "   Instance: {}", super::one_line(instance));
    }
    if let Some(k) = i.container_labels() {
        let _ = write!(
            meta,
            "   Namespace: {}   Pod: {}   Container: {}   Node: {}",
            super::one_line(k.namespace),
            super::one_line(k.pod),
            super::one_line(k.container),
            super::one_line(k.node.unwrap_or("unknown")),
        );
    } else if let Some(device) = &i.device {
        let _ = write!(meta, "   Device: {}", super::one_line(device));
    }
    let _ = writeln!(out, "{meta}");
    let _ = writeln!(
        out,
        "    Methodology: {}   Type: {}   Confidence: {:.0}%",
        i.methodology.as_str(),
        i.issue_type.as_str(),
        i.confidence
    );
    if let (Some(start), Some(end)) = (i.started_at, i.ended_at) {
        let _ = writeln!(
            out,
            "    Held: {} to {}",
            start.format("%H:%M:%S"),
            end.format("%H:%M:%S UTC")
        );
    }
    section(out, "OBSERVATION", &i.observation);
    let _ = writeln!(out, "\n    EVIDENCE:");
    for (name, value) in i.evidence.iter() {
        wrap_into(
            out,
            &format!("{name}: {}", format_evidence(name, value)),
            "      * ",
            "        ",
        );
    }
    if let Some(q) = i.related_metrics.first() {
        wrap_into(out, &format!("PromQL: {q}"), "      ", "        ");
    }
    section(out, "ROOT CAUSE", &i.root_cause);
    section(out, "IMMEDIATE ACTION", &i.immediate_action);
    let _ = writeln!(out, "\n    INVESTIGATION STEPS:");
    for (k, step) in i.investigation_steps.iter().enumerate() {
        wrap_into(out, step, &format!("      {}. ", k + 1), "         ");
    }
    section(out, "LONG-TERM FIX", &i.long_term_fix);
    if let Some(book) = &i.book_reference {
        let _ = writeln!(out);
        wrap_into(out, &format!("Reference: {book}"), "    ", "    ");
    }
    let _ = writeln!(out);
}

fn section(out: &mut String, title: &str, body: &str) {
    let _ = writeln!(out, "\n    {title}:");
    for paragraph in body.split("\n\n") {
        wrap_into(out, paragraph, "    ", "    ");
    }
}

/// Word-wrap `text` to the report width with a first-line and a continuation indent.
pub(crate) fn wrap_into(out: &mut String, text: &str, first: &str, rest: &str) {
    let mut line = first.to_string();
    let mut empty = true;
    for word in text.split_whitespace() {
        if !empty && line.chars().count() + 1 + word.chars().count() > WIDTH {
            let _ = writeln!(out, "{line}");
            line = rest.to_string();
            empty = true;
        }
        if !empty {
            line.push(' ');
        }
        line.push_str(word);
        empty = false;
    }
    let _ = writeln!(out, "{line}");
}
