//! `annotations`: one region per period a check's condition held within the dashboard's
//! range, for Grafana's annotation queries (which arrive as data queries with refId `Anno`).
//!
//! Fields follow Grafana's annotation frame rules: `time` and `timeEnd` (times), `title`,
//! `text`, and `tags` (comma-joined: component, severity, check, instance). Event checks (OOM
//! kills, ECC errors…) have no time within their window and appear as insights, not regions.

use grafana_plugin_sdk::{data::Frame, prelude::*};

use crate::{
    catalog::Catalog,
    engine::{Analysis, Episode, Level},
    insight::{Insight, IssueType, Severity, UseSignal},
    promql::format_duration,
};

/// The severity of an episode: that of the insight it is part of (a bottleneck, a busy CPU),
/// or the check's own severity at the level reached, a busy time-shared resource capped at
/// medium as the diagnosis does.
pub fn severity(catalog: &Catalog, insights: &[Insight], e: &Episode) -> Severity {
    let check = catalog.check(&e.check);
    let from_use =
        check.is_some_and(|c| matches!(c.signal, UseSignal::Utilization | UseSignal::Saturation));
    let bottleneck = format!("{}.bottleneck", e.component);
    let insight = insights
        .iter()
        .filter(|i| i.issue_type != IssueType::Coverage)
        .filter(|i| i.instance.as_deref() == Some(e.instance.as_str()))
        .filter(|i| i.check == e.check || (from_use && i.check == bottleneck))
        .map(|i| i.severity)
        .max();
    if let Some(s) = insight {
        return s;
    }
    let Some(check) = check else {
        return Severity::Low;
    };
    let own = match e.level {
        Level::Critical => check.severity.critical,
        _ => check.severity.warning,
    };
    let time_shared = catalog
        .component(check.component)
        .is_some_and(|c| c.time_shared);
    if time_shared && check.signal == UseSignal::Utilization {
        own.min(Severity::Medium)
    } else {
        own
    }
}

/// The annotation frame for the episodes whose severity is at least `min`.
pub fn annotations(analysis: &Analysis, catalog: &Catalog, min: Severity) -> Frame {
    let mut times = Vec::new();
    let mut ends = Vec::new();
    let mut titles = Vec::new();
    let mut texts = Vec::new();
    let mut tags = Vec::new();
    let step = analysis.timing.step;
    for e in &analysis.episodes {
        let severity = severity(catalog, &analysis.insights, e);
        if severity < min {
            continue;
        }
        let Some(check) = catalog.check(&e.check) else {
            continue;
        };
        let target = match &e.device {
            Some(d) => format!("{} {d}", e.instance),
            None => e.instance.clone(),
        };
        let level = match e.level {
            Level::Critical => "critical",
            _ => "warning",
        };
        // A point stands for the step before it: the region starts one step earlier.
        let start = e.start - chrono::Duration::from_std(step).unwrap_or_default();
        times.push(start);
        ends.push(e.end);
        titles.push(format!("{severity}: {} on {target}", check.label));
        texts.push(format!(
            "{} past its {level} threshold on {target} from {} to {} UTC (about {}), worst {}. Check {}; {}",
            check.label,
            start.format("%H:%M"),
            e.end.format("%H:%M"),
            format_duration((e.end - start).to_std().unwrap_or_default()),
            check.unit.format(e.peak),
            check.id,
            check.book_reference,
        ));
        tags.push(
            [
                e.component.as_str(),
                severity.as_str(),
                check.id.as_str(),
                e.instance.as_str(),
            ]
            .join(","),
        );
    }
    Frame::new("annotations").with_fields([
        times.into_field("time"),
        ends.into_field("timeEnd"),
        titles.into_field("title"),
        texts.into_field("text"),
        tags.into_field("tags"),
    ])
}
