//! The JSON report: the whole analysis plus its summary, for scripts and CI.

use serde::Serialize;

use super::Summary;
use crate::engine::Analysis;

#[derive(Serialize)]
struct Report<'a> {
    summary: Summary,
    #[serde(flatten)]
    analysis: &'a Analysis,
}

/// Render the analysis as one pretty-printed JSON document.
pub fn render(analysis: &Analysis) -> String {
    let report = Report {
        summary: Summary::of(analysis),
        analysis,
    };
    // Serialising plain data structures (strings, numbers, maps) cannot fail; non-finite
    // numbers become null.
    serde_json::to_string_pretty(&report).unwrap_or_else(|e| format!("{{\"error\": \"{e}\"}}"))
}
