//! `dashboard`: a dashboard's reading as two frames: `insights` (the insight table, the panel
//! queries as its executed query, what was skipped as notices) and `dashboard_queries` (one
//! row per panel query that ran: `panel_id`, `panel_title`, `ref_id`, `promql`, `series`).

use grafana_plugin_sdk::data::{Notice, Severity as NoticeSeverity};

use super::model::{Frame, IntoField};

use crate::{analysis::dashboard::DashboardAnalysis, insight::Insight};

/// Both frames of a `dashboard` query, `insights` holding the rows that passed its filters.
pub fn dashboard(result: &DashboardAnalysis, insights: &[&Insight]) -> Vec<Frame> {
    vec![insights_table(result, insights), dashboard_queries(result)]
}

/// The insight table, described by the dashboard's queries and notes.
fn insights_table(result: &DashboardAnalysis, insights: &[&Insight]) -> Frame {
    let mut table = super::insights::table("insights", insights);
    let mut meta = table.meta.take().unwrap_or_default();
    meta.executed_query_string = Some(
        result
            .targets
            .iter()
            .map(|t| t.promql.as_str())
            .collect::<Vec<_>>()
            .join("\n"),
    );
    if !result.notes.is_empty() {
        meta.notices = Some(
            result
                .notes
                .iter()
                .map(|n| {
                    let mut notice = Notice::new(format!("Dashboard: {n}"));
                    notice.severity = Some(NoticeSeverity::Warning);
                    notice
                })
                .collect(),
        );
    }
    table.meta = Some(meta);
    table
}

/// `dashboard_queries`: every panel query that ran, with the series it returned.
pub fn dashboard_queries(result: &DashboardAnalysis) -> Frame {
    let t = &result.targets;
    Frame::new("dashboard_queries").with_fields([
        t.iter()
            .map(|t| t.panel_id.unwrap_or_default())
            .collect::<Vec<i64>>()
            .into_field("panel_id"),
        t.iter()
            .map(|t| t.panel_title.clone())
            .collect::<Vec<String>>()
            .into_field("panel_title"),
        t.iter()
            .map(|t| t.ref_id.clone())
            .collect::<Vec<String>>()
            .into_field("ref_id"),
        t.iter()
            .map(|t| t.promql.clone())
            .collect::<Vec<String>>()
            .into_field("promql"),
        result
            .series
            .iter()
            .map(|n| *n as i64)
            .collect::<Vec<i64>>()
            .into_field("series"),
    ])
}
