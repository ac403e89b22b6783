//! `docs/checks.md`: every check of the catalog with its rule (query, thresholds, how long the
//! condition must hold, the guard) and its reference, generated from the catalog so that the
//! page cannot drift from what runs. A unit test compares the committed page with this
//! rendering; regenerate with `GREGG_UPDATE_DOCS=1 cargo test --release --lib catalog::docs`.

use std::fmt::Write as _;

use super::{Catalog, Check, Evaluation};
use crate::promql::format_duration;

/// The page, in catalog order (component files as listed in `CHECK_FILES`).
pub fn checks_markdown(catalog: &Catalog) -> String {
    let mut out = String::new();
    out.push_str(
        "# Checks\n\n\
         <!-- Generated from src/catalog (checks/*.toml, collectors.toml) by catalog::docs; do not edit by hand. \
         Regenerate: GREGG_UPDATE_DOCS=1 cargo test --release --lib catalog::docs -->\n\n\
         Every check the USE engine runs, with its rule and its reference. `${selector}` is the \
         target selector (for container checks without its `job` and `instance` matchers, \
         which name node_exporter's scrape targets), `${rate}` the rate window of the analysis' grid (at least four scrapes \
         and one step) and `${window}` the whole analysis window. A *sustained* check must hold \
         past its threshold for its minimum duration within the window (with 5 % hysteresis); \
         an *event* check is one instant query over the window. The guard (`when`) must hold at \
         the same points. References follow one format, checked against the 2nd edition's table \
         of contents (`src/catalog/book.rs`).\n\n",
    );
    out.push_str(
        "| Check | Label | Signal | Warning | Critical | Needs |\n|---|---|---|---|---|---|\n",
    );
    for c in catalog.checks() {
        let _ = writeln!(
            out,
            "| [`{}`](#{}) | {} | {} {} | {} | {} | {} |",
            c.id,
            anchor(&c.id),
            c.label,
            c.component,
            c.signal.as_str(),
            bound(c, c.warning),
            bound(c, c.critical),
            c.requires.join(", ")
        );
    }
    for c in catalog.checks() {
        check_section(&mut out, c);
    }
    out.push_str("\n## Collectors and sources\n\n| Name | Exporter | Default | Without it |\n|---|---|---|---|\n");
    for c in catalog.collectors() {
        let _ = writeln!(
            out,
            "| `{}` | node_exporter | {} | {} |",
            c.name,
            if c.default_enabled {
                "enabled"
            } else {
                "disabled"
            },
            c.lost
        );
    }
    for s in catalog.sources() {
        let _ = writeln!(out, "| `{}` | {} | — | {} |", s.name, s.exporter, s.lost);
    }
    out
}

/// GitHub's heading anchor of a check id heading.
fn anchor(id: &str) -> String {
    id.chars().filter(|c| *c != '.').collect()
}

fn bound(c: &Check, value: f64) -> String {
    let side = if c.direction.as_str() == "below" {
        "<"
    } else {
        "≥"
    };
    format!("{side} {}", c.unit.format(value))
}

fn check_section(out: &mut String, c: &Check) {
    let _ = write!(
        out,
        "\n## {}\n\n{}: {} {}, reported as {}",
        c.id,
        c.label,
        c.component,
        c.signal.as_str(),
        c.issue_type.as_str()
    );
    let _ = writeln!(
        out,
        "; warning {} → {}, critical {} → {}.\n",
        bound(c, c.warning),
        c.severity.warning.as_str(),
        bound(c, c.critical),
        c.severity.critical.as_str()
    );
    let rule = match c.evaluation {
        Evaluation::Sustained => format!(
            "Sustained: past the threshold for at least {} of the window",
            format_duration(c.min_duration)
        ),
        Evaluation::Event => "Event: one instant query over the window".to_string(),
    };
    let _ = write!(out, "- Rule: {rule}");
    if let Some(d) = &c.device_label {
        let _ = write!(out, ", per `{d}`");
    }
    if let Some(f) = &c.fallback {
        let _ = write!(out, "; fallback chain `{}`, rank {}", f.group, f.rank);
    }
    if c.standalone {
        out.push_str("; reported on its own (never paired into a bottleneck)");
    }
    out.push_str(".\n");
    let _ = writeln!(
        out,
        "- Thresholds from: {}.",
        c.threshold_source.trim_end_matches('.')
    );
    if !c.class_thresholds.is_empty() {
        let per_class: Vec<String> = c
            .class_thresholds
            .iter()
            .map(|(class, t)| {
                format!(
                    "{class} warning {}, critical {}",
                    bound(c, t.warning),
                    bound(c, t.critical)
                )
            })
            .collect();
        let _ = writeln!(
            out,
            "- Per device class (`device_classes.toml`; devices of no class keep the thresholds above): {}.",
            per_class.join("; ")
        );
    }
    if c.fold_stacked {
        out.push_str(
            "- Stacked devices (dm layers over a disk with a finding) fold into the disk's finding (`device_classes.toml`, `[stacked]`).\n",
        );
    }
    if c.sparse {
        out.push_str(
            "- Sparse: steps with nothing to measure (no I/O) are left out and do not lower the confidence.\n",
        );
    }
    if let Some(g) = &c.when {
        let on = match (&g.query, &g.check) {
            (_, Some(check)) => format!("check `{check}`"),
            (Some(q), None) => format!("`{}`", q.trim()),
            (None, None) => "—".to_string(),
        };
        let op = if g.op.as_str() == "below" { "<" } else { "≥" };
        let critical = g
            .critical
            .map(|c| format!("; {on} {op} {c} for critical"))
            .unwrap_or_default();
        let _ = writeln!(
            out,
            "- Guard: {on} {op} {}{critical} ({}).",
            g.value,
            g.reason.trim_end_matches('.')
        );
    }
    if let Some(cov) = &c.coverage {
        let _ = writeln!(
            out,
            "- Cannot assess (coverage note): {}.",
            cov.missing.trim_end_matches('.')
        );
    }
    let _ = writeln!(out, "- Needs: {}.", c.requires.join(", "));
    let _ = writeln!(out, "- Reference: {}.", c.book_reference);
    let _ = writeln!(out, "\n```promql\n{}\n```", c.query.trim());
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The committed page is what the catalog renders (the drift test).
    #[test]
    fn docs_checks_md_is_current() {
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("docs/checks.md");
        let rendered = checks_markdown(super::super::builtin());
        if std::env::var_os("GREGG_UPDATE_DOCS").is_some() {
            std::fs::write(&path, &rendered).expect("write docs/checks.md");
        }
        let committed = std::fs::read_to_string(&path).unwrap_or_default();
        assert!(
            committed == rendered,
            "docs/checks.md is stale: regenerate with GREGG_UPDATE_DOCS=1 cargo test --release --lib catalog::docs"
        );
        for c in super::super::builtin().checks() {
            assert!(
                committed.contains(&format!("\n## {}\n", c.id)),
                "{} is not listed",
                c.id
            );
        }
    }
}
