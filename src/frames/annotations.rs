//! `annotations`: one region per period a check's condition held within the dashboard's
//! range, for Grafana's annotation queries (which arrive as data queries with refId `Anno`).
//!
//! Fields follow Grafana's annotation frame rules: `time` and `timeEnd` (times), `title`,
//! `text`, and `tags` (comma-joined: component, severity, check, instance). Event checks (OOM
//! kills, ECC errors…) have no time within their window and appear as insights, not regions.

use super::model::{Frame, IntoField};

use crate::{
    analysis::Analysis,
    catalog::Catalog,
    engine::{Episode, Level},
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

/// One region: overlapping periods of the checks of one resource on one target, merged.
struct Region<'a> {
    instance: &'a str,
    device: Option<&'a str>,
    component: crate::insight::Component,
    start: chrono::DateTime<chrono::Utc>,
    end: chrono::DateTime<chrono::Utc>,
    severity: Severity,
    /// Check, level and worst value, in the order they joined.
    checks: Vec<(&'a str, Level, f64)>,
}

/// The annotation frame for the episodes whose severity is at least `min`: the checks of one
/// resource that held over overlapping periods on one target (a bottleneck's utilization and
/// saturation, say) make one region, not one each.
pub fn annotations(analysis: &Analysis, catalog: &Catalog, min: Severity) -> Frame {
    let step = analysis.timing.step;
    let mut episodes: Vec<(&Episode, Severity)> = analysis
        .episodes
        .iter()
        .map(|e| (e, severity(catalog, &analysis.insights, e)))
        .filter(|(_, s)| *s >= min)
        .collect();
    episodes.sort_by(|(a, _), (b, _)| {
        (&a.instance, a.component, &a.device, a.start).cmp(&(
            &b.instance,
            b.component,
            &b.device,
            b.start,
        ))
    });
    let mut regions: Vec<Region> = Vec::new();
    for (e, severity) in episodes {
        let joins = regions.last().is_some_and(|r| {
            r.instance == e.instance
                && r.component == e.component
                && r.device == e.device.as_deref()
                && e.start <= crate::samples::after(r.end, step)
        });
        if joins {
            if let Some(r) = regions.last_mut() {
                r.end = r.end.max(e.end);
                r.severity = r.severity.max(severity);
                if !r.checks.iter().any(|(c, _, _)| *c == e.check) {
                    r.checks.push((&e.check, e.level, e.peak));
                }
            }
        } else {
            regions.push(Region {
                instance: &e.instance,
                device: e.device.as_deref(),
                component: e.component,
                start: e.start,
                end: e.end,
                severity,
                checks: vec![(&e.check, e.level, e.peak)],
            });
        }
    }
    regions.sort_by_key(|r| r.start);
    let mut times = Vec::new();
    let mut ends = Vec::new();
    let mut titles = Vec::new();
    let mut texts = Vec::new();
    let mut tags = Vec::new();
    for r in regions {
        let target = match r.device {
            Some(d) => format!("{} {d}", r.instance),
            None => r.instance.to_string(),
        };
        // A point stands for the step before it: the region starts one step earlier.
        let start = crate::samples::before(r.start, step);
        let described: Vec<String> = r
            .checks
            .iter()
            .filter_map(|(id, level, peak)| {
                let c = catalog.check(id)?;
                let level = if *level == Level::Critical {
                    "critical"
                } else {
                    "warning"
                };
                Some(format!(
                    "{} past {level} (worst {})",
                    c.label,
                    c.unit.format(*peak)
                ))
            })
            .collect();
        let bottleneck = format!("{}.bottleneck", r.component);
        let diagnosed = analysis
            .insights
            .iter()
            .find(|i| i.instance.as_deref() == Some(r.instance) && i.check == bottleneck);
        let check = match diagnosed {
            Some(i) => i.check.clone(),
            None => r.checks[0].0.to_string(),
        };
        let headline = match diagnosed {
            Some(_) => format!("{} bottleneck", r.component),
            None => catalog
                .check(r.checks[0].0)
                .map(|c| c.label.clone())
                .unwrap_or_else(|| check.clone()),
        };
        times.push(start);
        ends.push(r.end);
        titles.push(format!("{}: {headline} on {target}", r.severity));
        texts.push(format!(
            "{} on {target} from {} to {} UTC (about {}): {}.",
            headline,
            start.format("%H:%M"),
            r.end.format("%H:%M"),
            format_duration((r.end - start).to_std().unwrap_or_default()),
            described.join("; "),
        ));
        tags.push(
            [
                r.component.as_str(),
                r.severity.as_str(),
                check.as_str(),
                r.instance,
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
