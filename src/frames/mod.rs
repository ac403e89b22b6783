//! Analyses → Grafana data frames, one module per query type's frame contract.
//!
//! Rules every frame here follows (see docs/frames.md): errors never go in frames (they are
//! the refId's error); notices never set `inspect` (Grafana's Go decoder rejects the Rust SDK's
//! encoding of it); a field never carries both labels and a config (SDK 0.5 dropped the labels;
//! our writer keeps both, but the contract in docs/frames.md predates it).
//!
//! Frames are built on the column model ([`model`]) and written as Arrow IPC by arrow-rs
//! ([`ipc`]); the SDK's `Frame` and its arrow2 writer are not used (issue 19).

pub mod alert;
pub mod annotations;
pub mod columns;
pub mod dashboard_queries;
pub mod inplace;
pub mod insights;
pub mod ipc;
pub mod json;
pub mod model;
pub mod report;
pub mod severity_timeline;
pub mod use_matrix;
pub mod use_summary;

use grafana_plugin_sdk::data::{Notice, Severity as NoticeSeverity};

pub use alert::alert;
pub use annotations::annotations;
pub use dashboard_queries::dashboard;
pub use model::Frame;
pub use report::report;
pub use severity_timeline::severity_timeline;
pub use use_matrix::use_matrix;
pub use use_summary::use_summary;

use crate::analysis::Analysis;

/// Fill a frame's metadata from the analysis behind it: `executedQueryString` lists the PromQL
/// that ran (one query per line, in the order sent), `notices` what is incomplete. The frame's
/// own metadata (preferred visualisation) is kept.
pub fn describe(frame: &mut Frame, analysis: &Analysis) {
    let mut meta = frame.meta.take().unwrap_or_default();
    meta.executed_query_string = Some(
        analysis
            .queries
            .iter()
            .map(|q| q.promql.as_str())
            .collect::<Vec<_>>()
            .join("\n"),
    );
    let notices = notices(analysis);
    if !notices.is_empty() {
        meta.notices = Some(notices);
    }
    frame.meta = Some(meta);
}

/// Notices for everything a user should know about how complete a frame is.
pub fn notices(analysis: &Analysis) -> Vec<Notice> {
    let mut notices = Vec::new();
    for outcome in &analysis.outcomes {
        if let Some(err) = &outcome.error {
            notices.push(notice(
                NoticeSeverity::Warning,
                format!("Check {} could not run: {err}", outcome.check),
            ));
        }
    }
    let inv = &analysis.inventory;
    for c in inv.missing_collectors() {
        notices.push(notice(
            NoticeSeverity::Info,
            format!(
                "Coverage: node_exporter collector `{}` is missing on {} of {} instance(s), so these are not analysed: {}.",
                c.name,
                c.missing(),
                inv.instances.len(),
                c.lost
            ),
        ));
    }
    for w in &analysis.warnings {
        notices.push(notice(NoticeSeverity::Warning, format!("Prometheus: {w}")));
    }
    notices
}

fn notice(severity: NoticeSeverity, text: String) -> Notice {
    let mut n = Notice::new(text);
    n.severity = Some(severity);
    n
}
