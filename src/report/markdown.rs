//! The Markdown report: the same content as the text report, for tickets and chat.

use std::fmt::Write as _;

use super::{check_lines, format_evidence, group_heading, grouped, Summary};
use crate::{catalog::Catalog, engine::Analysis, promql::format_duration};

/// Render the Markdown report.
pub fn render(analysis: &Analysis, catalog: &Catalog) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "# Systems performance analysis report\n");
    let _ = writeln!(out, "_Based on Brendan Gregg's methodologies._\n");
    let version = super::prometheus_version_suffix(analysis);
    let _ = writeln!(
        out,
        "- **Evaluated at:** {}",
        analysis.at.format("%Y-%m-%d %H:%M:%S UTC")
    );
    let _ = writeln!(
        out,
        "- **Prometheus:** {}{version}",
        analysis.prometheus_url
    );
    if let Some(inv) = &analysis.inventory {
        let _ = writeln!(out, "- **Instances:** {}", inv.instances);
    }
    let _ = writeln!(out, "- **Window:** {}", format_duration(analysis.window));
    if !analysis.selector.is_empty() {
        let _ = writeln!(out, "- **Targets:** `{{{}}}`", analysis.selector);
    }
    let s = Summary::of(analysis);
    let _ = writeln!(out, "\n## Summary\n");
    let _ = writeln!(out, "| Critical | High | Medium | Low | Total |");
    let _ = writeln!(out, "|---:|---:|---:|---:|---:|");
    let _ = writeln!(
        out,
        "| {} | {} | {} | {} | {} |",
        s.critical, s.high, s.medium, s.low, s.total
    );
    let _ = writeln!(out, "\n## Checks\n");
    let _ = writeln!(out, "| Check | Targets | Over threshold | Worst |");
    let _ = writeln!(out, "|---|---:|---:|---|");
    for line in check_lines(analysis, catalog) {
        let worst = match (&line.error, &line.worst) {
            (Some(e), _) => format!("failed: {}", escape(e)),
            (None, Some(w)) => escape(w),
            (None, None) => "no data".to_string(),
        };
        let _ = writeln!(
            out,
            "| `{}` | {} | {} | {} |",
            line.id, line.targets, line.breaches, worst
        );
    }
    if analysis.insights.is_empty() {
        let _ = writeln!(
            out,
            "\nNo findings: every check is within its thresholds for every target."
        );
    }
    for (severity, insights) in grouped(&analysis.insights) {
        let _ = writeln!(out, "\n## {}", group_heading(severity.0));
        for i in insights {
            let _ = writeln!(out, "\n### {}\n", i.title);
            let mut meta = format!("**{}** · `{}`", i.severity, i.component);
            if let Some(instance) = &i.instance {
                let _ = write!(meta, " · `{instance}`");
            }
            if let Some(device) = &i.device {
                let _ = write!(meta, " · `{device}`");
            }
            let _ = write!(
                meta,
                " · {} · confidence {:.0}%",
                i.methodology.as_str(),
                i.confidence
            );
            let _ = writeln!(out, "{meta}\n");
            let _ = writeln!(out, "{}\n", i.observation);
            let _ = writeln!(out, "| Evidence | Value | PromQL |");
            let _ = writeln!(out, "|---|---:|---|");
            for e in &i.evidence {
                let _ = writeln!(
                    out,
                    "| {} | {} | {} |",
                    e.name,
                    format_evidence(e.value, e.unit.as_deref()),
                    e.query
                        .as_deref()
                        .map(|q| format!("`{}`", escape(q)))
                        .unwrap_or_default()
                );
            }
            let _ = writeln!(out, "\n**Root cause.** {}\n", i.root_cause);
            let _ = writeln!(out, "**Immediate action.** {}\n", i.immediate_action);
            let _ = writeln!(out, "**Investigation steps.**\n");
            for (k, step) in i.investigation_steps.iter().enumerate() {
                let _ = writeln!(out, "{}. {}", k + 1, step);
            }
            let _ = writeln!(out, "\n**Long-term fix.** {}\n", i.long_term_fix);
            if let Some(book) = &i.book_reference {
                let _ = writeln!(out, "_Reference: {book}_");
            }
        }
    }
    if let Some(inv) = &analysis.inventory {
        let missing: Vec<_> = inv.missing_collectors().collect();
        if !missing.is_empty() {
            let _ = writeln!(out, "\n## Coverage gaps\n");
            for c in missing {
                let _ = writeln!(
                    out,
                    "- `{}` missing on {} of {} instance(s): {}",
                    c.name,
                    c.missing(),
                    inv.instances,
                    c.lost
                );
            }
        }
    }
    out
}

/// Keep table cells in one cell.
fn escape(text: &str) -> String {
    text.replace('|', "\\|").replace('\n', " ")
}
