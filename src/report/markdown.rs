//! The Markdown report: the same content as the text report, for tickets and chat.
//!
//! [`render`] writes the sections in order, one function each. Everything that can carry a
//! label value or another value from Prometheus (titles and narratives name instances and
//! devices) is escaped as it is written: [`inline`] for text (no HTML, no links, no headings,
//! no table breaks, one line), [`code`] inside code spans; control characters never reach the
//! output. A label value is data, never markup.

use std::fmt::Write as _;

use super::{check_lines, coverage_lines, format_evidence, group_heading, grouped, Summary};
use crate::{analysis::Analysis, catalog::Catalog, insight::Insight, promql::format_duration};

/// Render the Markdown report.
pub fn render(analysis: &Analysis, catalog: &Catalog) -> String {
    let mut out = String::new();
    write_header(&mut out, analysis);
    if let Some(partial) = &analysis.partial_data {
        let _ = writeln!(out, "\n> **Warning:** {}", inline(partial));
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

/// Title, then what was analysed: when, which Prometheus, how many instances, the window and
/// the target selector.
fn write_header(out: &mut String, analysis: &Analysis) {
    let t = &analysis.timing;
    let inv = &analysis.inventory;
    if let Some(h) = &analysis.dashboard {
        let _ = writeln!(out, "# Dashboard analysis report\n");
        for (label, text) in super::dashboard_lines(h) {
            let _ = writeln!(out, "- **{label}:** {text}");
        }
        let _ = writeln!(
            out,
            "- **Grid:** a point every {}, `$__rate_interval` {}",
            format_duration(t.step),
            format_duration(t.rate)
        );
        return;
    }
    let _ = writeln!(out, "# Systems performance analysis report\n");
    let _ = writeln!(out, "_Based on Brendan Gregg's methodologies._\n");
    let version = format!(" ({})", inv.server.name());
    let _ = writeln!(
        out,
        "- **Generated:** {}",
        t.at.format("%Y-%m-%d %H:%M:%S UTC")
    );
    let _ = writeln!(
        out,
        "- **Prometheus:** {}{}",
        inline(&analysis.prometheus_url),
        inline(&version)
    );
    let _ = writeln!(out, "- **Instances:** {}", inv.instances.len());
    let _ = writeln!(
        out,
        "- **Window:** {} (rate over {}, step {})",
        format_duration(t.window),
        format_duration(t.rate),
        format_duration(t.step)
    );
    if !analysis.selector.is_empty() {
        let _ = writeln!(
            out,
            "- **Targets:** `{{{}}}`",
            code(&analysis.selector.to_string())
        );
    }
}

/// The count of findings per severity, as a one-row table.
fn write_summary(out: &mut String, analysis: &Analysis) {
    let s = Summary::of(analysis);
    let _ = writeln!(out, "\n## Summary\n");
    let _ = writeln!(out, "| Critical | High | Medium | Low | Info | Total |");
    let _ = writeln!(out, "|---:|---:|---:|---:|---:|---:|");
    let _ = writeln!(
        out,
        "| {} | {} | {} | {} | {} | {} |",
        s.critical, s.high, s.medium, s.low, s.info, s.total
    );
}

/// The findings, one section per severity (worst first), or a sentence saying there are none.
fn write_findings(out: &mut String, analysis: &Analysis) {
    let groups = grouped(&analysis.insights);
    if groups.is_empty() {
        let _ = writeln!(
            out,
            "\nNo findings: every resource is within its thresholds on every target for the window."
        );
    }
    for (severity, insights) in groups {
        let _ = writeln!(out, "\n## {}", group_heading(severity.0));
        for i in insights {
            write_insight(out, i);
        }
    }
}

/// One finding: title, a metadata line, the observation, an evidence table, the advice, the
/// PromQL that found it and the book reference.
fn write_insight(out: &mut String, i: &Insight) {
    let _ = writeln!(out, "\n### {}\n", inline(&i.title));
    let mut meta = format!("**{}** · `{}`", i.severity, i.component);
    if let Some(instance) = &i.instance {
        let _ = write!(meta, " · `{}`", code(instance));
    }
    if let Some(node) = i.container_labels().and_then(|k| k.node) {
        let _ = write!(meta, " · node `{}`", code(node));
    } else if let Some(device) = &i.device {
        let _ = write!(meta, " · `{}`", code(device));
    }
    let _ = write!(
        meta,
        " · {} · {} · confidence {:.0}%",
        i.methodology.as_str(),
        i.issue_type.as_str(),
        i.confidence
    );
    let _ = writeln!(out, "{meta}\n");
    let _ = writeln!(out, "{}\n", inline(&i.observation));
    let _ = writeln!(out, "| Evidence | Value |");
    let _ = writeln!(out, "|---|---:|");
    for (name, value) in i.evidence.iter() {
        let _ = writeln!(
            out,
            "| {} | {} |",
            inline(name),
            inline(&format_evidence(name, value))
        );
    }
    let _ = writeln!(out, "\n**Root cause.** {}\n", inline(&i.root_cause));
    let _ = writeln!(
        out,
        "**Immediate action.** {}\n",
        inline(&i.immediate_action)
    );
    let _ = writeln!(out, "**Investigation steps.**\n");
    for (k, step) in i.investigation_steps.iter().enumerate() {
        let _ = writeln!(out, "{}. {}", k + 1, inline(step));
    }
    let _ = writeln!(out, "\n**Long-term fix.** {}\n", inline(&i.long_term_fix));
    if !i.related_metrics.is_empty() {
        let _ = writeln!(out, "**PromQL.**\n");
        for q in &i.related_metrics {
            let _ = writeln!(out, "- `{}`", code(q));
        }
        let _ = writeln!(out);
    }
    if let Some(book) = &i.book_reference {
        let _ = writeln!(out, "_Reference: {book}_");
    }
}

/// The USE checks that ran, one table row each: targets, breaches and the worst value (or the
/// failure, or why there is no data).
fn write_checks(out: &mut String, analysis: &Analysis, catalog: &Catalog) {
    if !analysis.outcomes.is_empty() {
        let _ = writeln!(out, "\n## USE checks\n");
        let _ = writeln!(out, "| Check | Targets | Past threshold | Worst |");
        let _ = writeln!(out, "|---|---:|---:|---|");
    }
    for line in check_lines(analysis, catalog) {
        let mut worst = match (&line.error, &line.worst) {
            (Some(e), _) => format!("failed: {}", escape(e)),
            (None, Some(w)) => escape(w),
            (None, None) if line.note.is_some() => String::new(),
            (None, None) => "no data".to_string(),
        };
        if let (None, Some(note)) = (&line.error, &line.note) {
            if !worst.is_empty() {
                worst.push(' ');
            }
            worst.push_str(&format!("({})", escape(note)));
        }
        let _ = writeln!(
            out,
            "| `{}` ({}) | {} | {} | {} |",
            line.id, line.label, line.targets, line.breaches, worst
        );
    }
}

/// The workload and latency method's lines, when it ran.
fn write_workload(out: &mut String, analysis: &Analysis) {
    let workload = super::workload_lines(analysis);
    if !workload.is_empty() {
        let _ = writeln!(
            out,
            "\n## Workload and latency\n\nMedian of the last {w} against the {w} before.\n",
            w = crate::promql::format_duration(analysis.timing.window)
        );
        for line in workload {
            let _ = writeln!(out, "- {}", escape(&line));
        }
    }
}

/// The histogram latency method's lines, when it ran.
fn write_latency(out: &mut String, analysis: &Analysis) {
    let latency = super::latency_lines(analysis);
    if !latency.is_empty() {
        let _ = writeln!(out, "\n## Histogram latency\n");
        for line in latency {
            let _ = writeln!(out, "- {}", escape(&line));
        }
    }
}

/// What was not assessed, so is not known to be healthy.
fn write_coverage(out: &mut String, analysis: &Analysis) {
    let coverage = coverage_lines(&analysis.insights);
    if !coverage.is_empty() {
        let _ = writeln!(out, "\n## Coverage gaps\n");
        for line in coverage {
            let _ = writeln!(out, "- {}", inline(&line));
        }
    }
}

/// What node_exporter cannot show, and the tool to use instead: always printed, so a clean
/// report is not read as "nothing wrong anywhere".
fn write_unobservable(out: &mut String, catalog: &Catalog) {
    let _ = writeln!(out, "\n## Not observable with node_exporter\n");
    for u in catalog.unobservable() {
        let _ = writeln!(
            out,
            "- **{}**: {}. Use {}.",
            u.component, u.what, u.use_instead
        );
    }
}

/// The analysis' warnings, when there are any.
fn write_notes(out: &mut String, analysis: &Analysis) {
    if !analysis.warnings.is_empty() {
        let _ = writeln!(out, "\n## Notes\n");
        for w in &analysis.warnings {
            let _ = writeln!(out, "- {}", escape(w));
        }
    }
}

/// Keep table cells in one cell (and any text inert): see [`inline`].
fn escape(text: &str) -> String {
    inline(text)
}

/// `text` as inert Markdown on one line: characters that start HTML, links, images, headings,
/// code spans, strong emphasis or table cells are backslash-escaped (`<` and `>` as entities,
/// which every renderer shows literally), control characters and line breaks become spaces.
pub(crate) fn inline(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '\\' | '`' | '*' | '[' | ']' | '#' | '|' => {
                out.push('\\');
                out.push(c);
            }
            c if c.is_control() => out.push(' '),
            c => out.push(c),
        }
    }
    out
}

/// `text` for the inside of a code span: shown literally by Markdown, so only what would end
/// the span (a backtick) or the line is replaced.
pub(crate) fn code(text: &str) -> String {
    text.chars()
        .map(|c| match c {
            '`' => '\'',
            c if c.is_control() => ' ',
            c => c,
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn label_values_are_inert_markdown() {
        let hostile = "evil\u{1b}]0;pwned\u{7}<img src=x onerror=alert(1)>[click](javascript:alert(1))\n# HEADING `tick` | cell";
        let text = inline(hostile);
        for bad in ["\u{1b}", "\u{7}", "<img", "[click](javascript:", "\n"] {
            assert!(!text.contains(bad), "{bad:?} in {text}");
        }
        assert!(
            text.contains("&lt;img") && text.contains("\\# HEADING") && text.contains("\\| cell")
        );
        let span = code(hostile);
        assert!(!span.contains('`') && !span.contains('\n') && !span.contains('\u{1b}'));
        assert_eq!(inline("busy-1:9100 at 97%"), "busy-1:9100 at 97%");
        assert_eq!(
            super::super::without_controls("a\u{1b}[31mb\u{9b}c\n".to_string()),
            "a[31mbc\n"
        );
    }
}
