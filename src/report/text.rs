//! The plain-text report, in the shape of the original persona's: summary, then findings by
//! severity with observation, evidence, root cause, actions and the book reference.

use std::fmt::Write as _;

use super::{check_lines, format_evidence, group_heading, grouped, Summary};
use crate::{catalog::Catalog, engine::Analysis, insight::Insight, promql::format_duration};

const WIDTH: usize = 80;

/// Render the text report.
pub fn render(analysis: &Analysis, catalog: &Catalog) -> String {
    let mut out = String::new();
    let rule = "=".repeat(WIDTH);
    let thin = "-".repeat(WIDTH);
    let _ = writeln!(out, "{rule}");
    let _ = writeln!(out, "SYSTEMS PERFORMANCE ANALYSIS REPORT");
    let _ = writeln!(out, "Based on Brendan Gregg's Methodologies");
    let _ = writeln!(out, "{rule}");
    let _ = writeln!(out);
    let _ = writeln!(
        out,
        "Evaluated at: {}",
        analysis.at.format("%Y-%m-%d %H:%M:%S UTC")
    );
    let version = super::prometheus_version_suffix(analysis);
    let _ = writeln!(out, "Prometheus:   {}{version}", analysis.prometheus_url);
    if let Some(inv) = &analysis.inventory {
        let versions: Vec<String> = inv
            .exporter_versions
            .iter()
            .map(|(v, n)| format!("node_exporter {v} x{n}"))
            .collect();
        let interval = inv
            .scrape_interval
            .map(|d| format!(", scraped every ~{}", format_duration(round_secs(d))))
            .unwrap_or_default();
        let _ = writeln!(
            out,
            "Targets:      {} instance(s) with node_exporter data{}{interval}",
            inv.instances,
            if versions.is_empty() {
                String::new()
            } else {
                format!(" ({})", versions.join(", "))
            }
        );
    }
    let selector = if analysis.selector.is_empty() {
        "every node_exporter target".to_string()
    } else {
        format!("{{{}}}", analysis.selector)
    };
    let _ = writeln!(
        out,
        "Window:       {} (rates and averages over the last {}); targets: {selector}",
        format_duration(analysis.window),
        format_duration(analysis.window)
    );
    let _ = writeln!(out);

    let s = Summary::of(analysis);
    let _ = writeln!(out, "SUMMARY:");
    let _ = writeln!(out, "  Critical Issues: {}", s.critical);
    let _ = writeln!(out, "  High Priority:   {}", s.high);
    let _ = writeln!(out, "  Medium Priority: {}", s.medium);
    let _ = writeln!(out, "  Low Priority:    {}", s.low);
    let _ = writeln!(out, "  Total Findings:  {}", s.total);
    let _ = writeln!(out);

    let _ = writeln!(out, "CHECKS:");
    for line in check_lines(analysis, catalog) {
        match (&line.error, &line.worst) {
            (Some(err), _) => {
                let _ = writeln!(out, "  {:<22} FAILED: {}", line.id, err);
            }
            (None, Some(worst)) => {
                let _ = writeln!(
                    out,
                    "  {:<22} {} target(s), {} over threshold; worst {}",
                    line.id, line.targets, line.breaches, worst
                );
            }
            (None, None) => {
                let _ = writeln!(out, "  {:<22} no data for these targets", line.id);
            }
        }
    }
    let _ = writeln!(out);

    if analysis.insights.is_empty() {
        let _ = writeln!(
            out,
            "No findings: every check is within its thresholds for every target."
        );
        let _ = writeln!(out);
    }
    let mut n = 0;
    for (severity, insights) in grouped(&analysis.insights) {
        let _ = writeln!(out, "{}", group_heading(severity.0));
        let _ = writeln!(out, "{thin}");
        for insight in insights {
            n += 1;
            write_insight(&mut out, n, insight);
        }
    }

    if let Some(inv) = &analysis.inventory {
        let missing: Vec<_> = inv.missing_collectors().collect();
        if !missing.is_empty() {
            let _ = writeln!(out, "COVERAGE GAPS (signals these targets do not expose):");
            for c in missing {
                let text = format!(
                    "{}: missing on {} of {} instance(s): {}",
                    c.name,
                    c.missing(),
                    inv.instances,
                    c.lost
                );
                wrap_into(&mut out, &text, "  - ", "    ");
            }
            let _ = writeln!(out);
        }
    }
    for w in &analysis.warnings {
        wrap_into(&mut out, &format!("Prometheus warning: {w}"), "", "  ");
    }
    out
}

fn write_insight(out: &mut String, n: usize, i: &Insight) {
    let _ = writeln!(out);
    let _ = writeln!(out, "[{n}] {}", i.title);
    let mut meta = format!("    Component: {}", i.component);
    if let Some(instance) = &i.instance {
        let _ = write!(meta, "   Instance: {instance}");
    }
    if let Some(device) = &i.device {
        let _ = write!(meta, "   Device: {device}");
    }
    let _ = writeln!(out, "{meta}");
    let _ = writeln!(
        out,
        "    Methodology: {}   Severity: {}   Confidence: {:.0}%",
        i.methodology.as_str(),
        i.severity,
        i.confidence
    );
    section(out, "OBSERVATION", &i.observation);
    let _ = writeln!(out, "\n    EVIDENCE:");
    for e in &i.evidence {
        let line = format!(
            "{}: {}",
            e.name,
            format_evidence(e.value, e.unit.as_deref())
        );
        wrap_into(out, &line, "      * ", "        ");
        if let Some(q) = &e.query {
            wrap_into(out, &format!("PromQL: {q}"), "        ", "          ");
        }
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

fn round_secs(d: std::time::Duration) -> std::time::Duration {
    std::time::Duration::from_secs(d.as_secs_f64().round().max(1.0) as u64)
}
