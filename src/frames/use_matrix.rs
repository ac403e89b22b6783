//! `use_matrix`: the USE method's checklist as a table: one row per instance × resource ×
//! signal (utilization, saturation, errors) with the deciding check's value, its level and the
//! worst insight's severity. Pivot it in a table, or colour a heatmap by `level_value`.

use std::collections::BTreeMap;

use grafana_plugin_sdk::{
    data::{Frame, Metadata, VisType},
    prelude::*,
};

use crate::{
    analysis::Analysis,
    catalog::Catalog,
    engine::Level,
    insight::{Component, Insight, IssueType, UseSignal},
};

struct Cell {
    check: String,
    value: f64,
    unit: &'static str,
    level: Level,
    order: usize,
}

/// The matrix of `analysis`, severities from the insights that passed the query's filters.
pub fn use_matrix(analysis: &Analysis, catalog: &Catalog, insights: &[&Insight]) -> Frame {
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
        // Each instance's worst device for this check.
        for (instance, cell) in analysis.levels.column(&outcome.check) {
            let key = (instance.to_string(), check.component, check.signal);
            let candidate = Cell {
                check: check.id.clone(),
                value: cell.decimal(),
                unit: check.unit.grafana(),
                level: cell.level,
                order,
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
    ]);
    let mut meta = Metadata::default();
    meta.preferred_visualisation = Some(VisType::Table);
    frame.meta = Some(meta);
    frame
}
