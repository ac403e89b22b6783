//! `report`: what the report panel renders, in four frames:
//!
//! - `summary`: one row of counts by severity, instances, failed checks, the evaluation time
//!   and window;
//! - `insights`: the insight table (see [`super::insights`]);
//! - `checks`: one row per check that ran: targets, breaches, the worst target, error or note;
//! - `report`: one row, the Markdown report (the same text `gregg-insights --format markdown`
//!   prints), for panels that only render.

use grafana_plugin_sdk::{
    data::{Frame, Metadata, VisType},
    prelude::*,
};

use crate::{
    analysis::Analysis,
    catalog::Catalog,
    insight::Insight,
    promql::format_duration,
    report::{self, Summary},
};

/// The report frames of `analysis` restricted to `insights` (the query's filters applied).
pub fn report(analysis: &Analysis, catalog: &Catalog, insights: &[&Insight]) -> Vec<Frame> {
    // The same analysis with the query's insights, without per-target observations (the
    // report never shows them, and a fleet has many).
    let filtered = Analysis {
        timing: analysis.timing,
        prometheus_url: analysis.prometheus_url.clone(),
        selector: analysis.selector.clone(),
        concurrency: analysis.concurrency,
        inventory: analysis.inventory.clone(),
        outcomes: analysis
            .outcomes
            .iter()
            .map(|o| crate::engine::CheckOutcome {
                observations: Vec::new(),
                ..o.clone()
            })
            .collect(),
        insights: insights.iter().map(|i| (*i).clone()).collect(),
        queries: analysis.queries.clone(),
        warnings: analysis.warnings.clone(),
        workload: analysis.workload.clone(),
        latency: analysis.latency.clone(),
        episodes: Vec::new(),
        levels: Default::default(),
        dashboard: analysis.dashboard.clone(),
    };
    let s = Summary::of(&filtered);
    let count = |n: usize| vec![n as f64];
    let mut summary = Frame::new("summary").with_fields([
        count(s.critical).into_field("critical"),
        count(s.high).into_field("high"),
        count(s.medium).into_field("medium"),
        count(s.low).into_field("low"),
        count(s.info).into_field("info"),
        count(s.total).into_field("total"),
        count(s.instances).into_field("instances"),
        count(s.failed_checks).into_field("failed_checks"),
        vec![analysis.timing.at].into_field("evaluated_at"),
        vec![format_duration(analysis.timing.window)].into_field("window"),
    ]);
    summary.meta = Some(table_meta());

    let outcomes = &filtered.outcomes;
    let label = |id: &str| {
        catalog
            .check(id)
            .map(|c| c.label.clone())
            .unwrap_or_default()
    };
    let mut checks = Frame::new("checks").with_fields([
        outcomes
            .iter()
            .map(|o| o.check.clone())
            .collect::<Vec<_>>()
            .into_field("check"),
        outcomes
            .iter()
            .map(|o| label(&o.check))
            .collect::<Vec<_>>()
            .into_field("label"),
        outcomes
            .iter()
            .map(|o| o.targets as f64)
            .collect::<Vec<_>>()
            .into_field("targets"),
        outcomes
            .iter()
            .map(|o| o.breaches as f64)
            .collect::<Vec<_>>()
            .into_field("breaches"),
        outcomes
            .iter()
            .map(|o| {
                o.worst.as_ref().map(|w| match &w.device {
                    Some(d) => format!("{} {d}", w.instance),
                    None => w.instance.clone(),
                })
            })
            .collect::<Vec<_>>()
            .into_field("worst_target"),
        outcomes
            .iter()
            .map(|o| o.worst.as_ref().map(|w| w.value))
            .collect::<Vec<_>>()
            .into_field("worst_value"),
        outcomes
            .iter()
            .map(|o| o.error.clone())
            .collect::<Vec<_>>()
            .into_field("error"),
        outcomes
            .iter()
            .map(|o| o.note.clone())
            .collect::<Vec<_>>()
            .into_field("note"),
    ]);
    checks.meta = Some(table_meta());

    let mut markdown = Frame::new("report")
        .with_fields([vec![report::render_markdown(&filtered, catalog)].into_field("markdown")]);
    markdown.meta = Some(table_meta());

    vec![
        summary,
        super::insights::table("insights", insights),
        checks,
        markdown,
    ]
}

fn table_meta() -> Metadata {
    let mut meta = Metadata::default();
    meta.preferred_visualisation = Some(VisType::Table);
    meta
}
