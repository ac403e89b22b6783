//! `use_summary`: CPU utilization per instance as a table (instance, utilization %, severity).
//!
//! The first real query type, proving the path from Prometheus to a Grafana table. The full
//! USE matrix and the insight tables come with the analyzer.

use grafana_plugin_sdk::{
    data::{FieldConfig, Frame, Metadata, VisType},
    prelude::*,
};

use crate::{
    catalog::Catalog,
    engine::{Analysis, Level},
};

/// The check this table shows.
pub const CHECK: &str = "cpu.utilization";

/// One row per instance, worst first. `severity` is `ok` below the warning threshold, otherwise
/// the severity the check assigns to the level reached.
pub fn use_summary(analysis: &Analysis, catalog: &Catalog) -> Frame {
    let outcome = analysis.outcome(CHECK);
    let check = catalog.check(CHECK);
    let observations = outcome.map(|o| o.observations.as_slice()).unwrap_or(&[]);

    let instances: Vec<String> = observations.iter().map(|o| o.instance.clone()).collect();
    let values: Vec<f64> = observations.iter().map(|o| o.value).collect();
    let severities: Vec<String> = observations
        .iter()
        .map(|o| match (o.level, check) {
            (Level::Ok, _) | (_, None) => "ok".to_string(),
            (Level::Warning, Some(c)) => c.severity.warning.as_str().to_string(),
            (Level::Critical, Some(c)) => c.severity.critical.as_str().to_string(),
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
