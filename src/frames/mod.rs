//! Analyses → Grafana data frames, one module per query type's frame contract.
//!
//! Rules every frame here follows (see docs/frames.md): errors never go in frames (they are
//! the refId's error); notices never set `inspect` (Grafana's Go decoder rejects the Rust SDK's
//! encoding of it); a field never carries both labels and a config (SDK 0.5 drops the labels).

pub mod use_summary;

use grafana_plugin_sdk::data::{Notice, Severity as NoticeSeverity};

pub use use_summary::use_summary;

use crate::engine::Analysis;

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
