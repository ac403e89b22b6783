//! `alert`: what Grafana Alerting fires on.
//!
//! One frame with exactly one numeric field, `severity_level` (0 none, 1 low, 2 medium, 3 high,
//! 4 critical), and string label columns `instance`, `component`, `check`: a "number set" for
//! Grafana's server-side expressions, one series per row. Every instance × check evaluated has a
//! row, healthy ones with 0, so an alert resolves when its condition goes away instead of
//! turning into "no data". Time-shared resources also get a `<component>.bottleneck` row, the
//! diagnosis that utilization and saturation together produce.

use std::collections::{BTreeMap, BTreeSet};

use grafana_plugin_sdk::data::VisType;

use super::model::{Frame, IntoField, Metadata};

use crate::{
    analysis::Analysis,
    catalog::Catalog,
    insight::{Component, Insight, IssueType, UseSignal},
};

/// The alert frame of `analysis`, for the insights that passed the query's filters.
pub fn alert(analysis: &Analysis, catalog: &Catalog, insights: &[&Insight]) -> Frame {
    // (instance, check) → component, for every check that judged the instance.
    let mut rows: BTreeMap<(String, String), Component> = BTreeMap::new();
    let mut time_shared: BTreeSet<(String, Component)> = BTreeSet::new();
    for outcome in &analysis.outcomes {
        let Some(check) = catalog.check(&outcome.check) else {
            continue;
        };
        let shared = catalog
            .component(check.component)
            .is_some_and(|c| c.time_shared);
        for (instance, _) in analysis.levels.column(&outcome.check) {
            rows.insert((instance.to_string(), check.id.clone()), check.component);
            if shared {
                time_shared.insert((instance.to_string(), check.component));
            }
        }
    }
    for (instance, component) in time_shared {
        rows.insert((instance, format!("{component}.bottleneck")), component);
    }
    let level = |instance: &str, check_id: &str, component: Component| -> f64 {
        let from_use = catalog
            .check(check_id)
            .is_some_and(|c| matches!(c.signal, UseSignal::Utilization | UseSignal::Saturation));
        let bottleneck = format!("{component}.bottleneck");
        insights
            .iter()
            .filter(|i| i.issue_type != IssueType::Coverage)
            .filter(|i| i.instance.as_deref() == Some(instance))
            .filter(|i| i.check == check_id || (from_use && i.check == bottleneck))
            .map(|i| f64::from(i.severity.level()))
            .fold(0.0, f64::max)
    };
    let mut instances = Vec::with_capacity(rows.len());
    let mut components = Vec::with_capacity(rows.len());
    let mut checks = Vec::with_capacity(rows.len());
    let mut levels = Vec::with_capacity(rows.len());
    for ((instance, check), component) in rows {
        levels.push(level(&instance, &check, component));
        instances.push(instance);
        components.push(component.as_str().to_string());
        checks.push(check);
    }
    let kube = kubernetes_labels(&instances, &components, insights);
    let mut frame = Frame::new("alert").with_fields([
        instances.into_field("instance"),
        components.into_field("component"),
        checks.into_field("check"),
        levels.into_field("severity_level"),
    ]);
    if let Some(columns) = kube {
        // Grafana reads every string field of a number set as a label.
        let [namespace, pod, container, node] = columns;
        frame.add_field(namespace.into_field("namespace"));
        frame.add_field(pod.into_field("pod"));
        frame.add_field(container.into_field("container"));
        frame.add_field(node.into_field("node"));
    }
    let mut meta = Metadata::default();
    meta.preferred_visualisation = Some(VisType::Table);
    frame.meta = Some(meta);
    frame
}

/// Namespace, pod, container and node label columns when some rows are containers (hosts get
/// empty values there), so an alert rule can route or silence by namespace; `None` without
/// containers, leaving a hosts-only frame as it always was.
fn kubernetes_labels(
    instances: &[String],
    components: &[String],
    insights: &[&Insight],
) -> Option<[Vec<String>; 4]> {
    let container = Component::Container.as_str();
    if !components.iter().any(|c| c == container) {
        return None;
    }
    let node_of = |instance: &str| {
        insights
            .iter()
            .filter(|i| i.instance.as_deref() == Some(instance))
            .find_map(|i| i.container_labels().and_then(|c| c.node))
            .unwrap_or_default()
            .to_string()
    };
    let mut columns: [Vec<String>; 4] = Default::default();
    for (instance, component) in instances.iter().zip(components) {
        let names: Vec<&str> = if component == container {
            instance.splitn(3, '/').collect()
        } else {
            Vec::new()
        };
        let node = if names.len() == 3 {
            node_of(instance)
        } else {
            String::new()
        };
        for (k, column) in columns.iter_mut().take(3).enumerate() {
            column.push(names.get(k).copied().unwrap_or_default().to_string());
        }
        columns[3].push(node);
    }
    Some(columns)
}
