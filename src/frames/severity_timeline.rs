//! `severity_timeline`: the worst severity level (0 none … 4 critical) per component, or per
//! instance, at every point of the dashboard's range, as a wide time series: one `time` field
//! and one `severity_level` field per series, told apart by a `component` or `instance` label
//! (and no field config, which grafana-plugin-sdk 0.5 would drop the labels for).

use std::collections::BTreeMap;

use grafana_plugin_sdk::data::VisType;

use super::model::{Frame, IntoField, Metadata};

use crate::{
    analysis::Analysis,
    catalog::Catalog,
    insight::{Component, Severity},
};

/// What each series is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum By {
    /// One series per resource, worst across instances.
    Component,
    /// One series per instance, worst across resources.
    Instance,
}

/// The timeline of `analysis` (a range analysis), components limited to `components`.
pub fn severity_timeline(
    analysis: &Analysis,
    catalog: &Catalog,
    by: By,
    components: Option<&[Component]>,
    min: Severity,
) -> Frame {
    let range = analysis.timing.range();
    let step = chrono::Duration::from_std(range.step.max(std::time::Duration::from_secs(1)))
        .unwrap_or(chrono::Duration::MAX);
    let mut times = Vec::new();
    let mut next = Some(range.start);
    while let Some(t) = next.filter(|t| *t <= range.end) {
        times.push(t);
        next = t.checked_add_signed(step);
    }
    let keys: Vec<String> = match by {
        By::Component => Component::ALL
            .iter()
            .filter(|c| components.is_none_or(|cs| cs.contains(c)))
            .map(|c| c.as_str().to_string())
            .collect(),
        By::Instance => analysis.inventory.instances.clone(),
    };
    let mut series: BTreeMap<&str, Vec<f64>> = keys
        .iter()
        .map(|k| (k.as_str(), vec![0.0; times.len()]))
        .collect();
    for e in &analysis.episodes {
        if components.is_some_and(|cs| !cs.contains(&e.component)) {
            continue;
        }
        let severity = super::annotations::severity(catalog, &analysis.insights, e);
        if severity < min {
            continue;
        }
        let key = match by {
            By::Component => e.component.as_str(),
            By::Instance => e.instance.as_str(),
        };
        let Some(values) = series.get_mut(key) else {
            continue;
        };
        let level = f64::from(severity.level());
        for (i, t) in times.iter().enumerate() {
            if *t >= e.start && *t <= e.end {
                values[i] = values[i].max(level);
            }
        }
    }
    let label = match by {
        By::Component => "component",
        By::Instance => "instance",
    };
    let mut fields = vec![times.into_field("time")];
    for (key, values) in series {
        let mut field = values.into_field("severity_level");
        field.labels = [(label.to_string(), key.to_string())].into_iter().collect();
        fields.push(field);
    }
    let mut frame = Frame::new("severity_timeline").with_fields(fields);
    let mut meta = Metadata::default();
    meta.preferred_visualisation = Some(VisType::Graph);
    frame.meta = Some(meta);
    frame
}
