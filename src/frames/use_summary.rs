//! `use_summary`: CPU utilization per instance as a table (instance, utilization %, severity).
//!
//! Utilization is the mean over the window; severity is the worst CPU finding on the instance
//! (a bottleneck, a busy CPU, saturation, steal, imbalance or errors), `ok` without one.

use grafana_plugin_sdk::data::VisType;

use super::model::{FieldConfig, Frame, IntoField, Metadata};

use crate::{
    analysis::Analysis,
    insight::{Component, IssueType},
};

/// The check this table shows.
pub const CHECK: &str = "cpu.utilization";

/// One row per instance, worst first. `severity` is the worst CPU insight on the instance
/// (after diagnosis: a busy CPU with nothing waiting is at most `medium`), `ok` without one.
pub fn use_summary(analysis: &Analysis) -> Frame {
    let outcome = analysis.outcome(CHECK);
    let observations = outcome.map(|o| o.observations.as_slice()).unwrap_or(&[]);

    let instances: Vec<String> = observations.iter().map(|o| o.instance.clone()).collect();
    let values: Vec<f64> = observations.iter().map(|o| o.value).collect();
    let severities: Vec<String> = observations
        .iter()
        .map(|o| {
            analysis
                .insights
                .iter()
                .filter(|i| i.component == Component::Cpu && i.issue_type != IssueType::Coverage)
                .filter(|i| i.instance.as_deref() == Some(o.instance.as_str()))
                .map(|i| i.severity)
                .max()
                .map_or("ok", |s| s.as_str())
                .to_string()
        })
        .collect();

    let mut utilization = values.into_field("utilization");
    let mut config = FieldConfig::default();
    config.unit = Some("percent".to_string());
    config.min = Some(0.0);
    config.max = Some(100.0);
    config.display_name = Some("CPU utilization".to_string());
    utilization.config = Some(config);

    let mut frame = Frame::new("use_summary").with_fields([
        instances.into_field("instance"),
        utilization,
        severities.into_field("severity"),
    ]);
    let mut meta = Metadata::default();
    meta.preferred_visualisation = Some(VisType::Table);
    meta.executed_query_string = outcome.map(|o| o.query.clone());
    let notices = super::notices(analysis);
    if !notices.is_empty() {
        meta.notices = Some(notices);
    }
    frame.meta = Some(meta);
    frame
}
