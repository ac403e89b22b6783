//! `use_matrix`: the USE method's checklist as a table: one row per instance × resource ×
//! signal (utilization, saturation, errors) with the deciding check's value, the thresholds it
//! was judged against, its level and the worst insight's severity. Pivot it in a table, colour a
//! heatmap by `level_value`, or use the app's USE-matrix panel.

use std::collections::BTreeMap;

use grafana_plugin_sdk::data::VisType;

use super::model::{Frame, IntoField, IntoOptField, Metadata};

use crate::{
    analysis::Analysis,
    catalog::{Catalog, ThresholdOverrides},
    engine::Level,
    insight::{Component, Insight, IssueType, UseSignal},
};

struct Cell {
    check: String,
    value: f64,
    unit: &'static str,
    level: Level,
    order: usize,
    warning: Option<f64>,
    critical: Option<f64>,
}

/// The matrix of `analysis`, severities from the insights that passed the query's filters,
/// thresholds as layered for the query (`overrides` over the catalog's).
pub fn use_matrix(
    analysis: &Analysis,
    catalog: &Catalog,
    overrides: &ThresholdOverrides,
    insights: &[&Insight],
) -> Frame {
    let mut cells: BTreeMap<(String, Component, UseSignal), Cell> = BTreeMap::new();
    for outcome in &analysis.outcomes {
        let Some((order, check)) = catalog
            .checks()
            .iter()
            .enumerate()
            .find(|(_, c)| c.id == outcome.check)
        else {
            continue;
        };
        let thresholds = catalog.thresholds(&check.id, overrides);
        // Each instance's worst device for this check.
        for (instance, cell) in analysis.levels.column(&outcome.check) {
            let key = (instance.to_string(), check.component, check.signal);
            let candidate = Cell {
                check: check.id.clone(),
                value: cell.decimal(),
                unit: check.unit.grafana(),
                level: cell.level,
                order,
                warning: thresholds.map(|t| t.warning),
                critical: thresholds.map(|t| t.critical),
            };
            match cells.get(&key) {
                Some(c)
                    if (c.level, std::cmp::Reverse(c.order))
                        >= (cell.level, std::cmp::Reverse(order)) => {}
                _ => {
                    cells.insert(key, candidate);
                }
            }
        }
    }
    let severity = |instance: &str, component: Component, signal: UseSignal| {
        insights
            .iter()
            .filter(|i| i.issue_type != IssueType::Coverage)
            .filter(|i| i.instance.as_deref() == Some(instance) && i.component == component)
            .filter(|i| {
                i.use_signal == Some(signal)
                    || (i.issue_type == IssueType::Bottleneck && signal != UseSignal::Errors)
            })
            .map(|i| i.severity)
            .max()
            .map_or("ok", |s| s.as_str())
            .to_string()
    };
    let n = cells.len();
    let (mut instances, mut components, mut signals, mut checks) = (
        Vec::with_capacity(n),
        Vec::with_capacity(n),
        Vec::with_capacity(n),
        Vec::with_capacity(n),
    );
    let (mut warnings, mut criticals) = (Vec::with_capacity(n), Vec::with_capacity(n));
    let (mut values, mut units, mut levels, mut level_values, mut severities) = (
        Vec::with_capacity(n),
        Vec::with_capacity(n),
        Vec::with_capacity(n),
        Vec::with_capacity(n),
        Vec::with_capacity(n),
    );
    for ((instance, component, signal), cell) in cells {
        severities.push(severity(&instance, component, signal));
        instances.push(instance);
        components.push(component.as_str().to_string());
        signals.push(signal.as_str().to_string());
        checks.push(cell.check);
        values.push(cell.value);
        warnings.push(cell.warning);
        criticals.push(cell.critical);
        units.push(cell.unit.to_string());
        levels.push(cell.level.as_str().to_string());
        level_values.push(match cell.level {
            Level::Ok => 0.0,
            Level::Warning => 1.0,
            Level::Critical => 2.0,
        });
    }
    let mut frame = Frame::new("use_matrix").with_fields([
        instances.into_field("instance"),
        components.into_field("component"),
        signals.into_field("signal"),
        checks.into_field("check"),
        values.into_field("value"),
        units.into_field("unit"),
        levels.into_field("level"),
        level_values.into_field("level_value"),
        severities.into_field("severity"),
        warnings.into_opt_field("warning"),
        criticals.into_opt_field("critical"),
    ]);
    let mut meta = Metadata::default();
    meta.preferred_visualisation = Some(VisType::Table);
    frame.meta = Some(meta);
    frame
}
