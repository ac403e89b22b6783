//! `report`: what the report panel renders, in five frames:
//!
//! - `summary`: one row of counts by severity, instances, failed checks, the evaluation time
//!   and window;
//! - `insights`: the insight table (see [`super::insights`]);
//! - `checks`: one row per check that ran: targets, breaches, the worst target, error or note;
//! - `report`: one row, the Markdown report (the same text `gregg-insights --format markdown`
//!   prints), for panels that only render;
//! - `series`: the judged series of each flagged insight's target over the window, with the
//!   thresholds in force, for the panel's sparklines (see [`series`]).

use grafana_plugin_sdk::data::VisType;

use super::model::{Frame, IntoField, Metadata};

use chrono::{DateTime, Utc};

use crate::{
    analysis::Analysis,
    catalog::Catalog,
    engine::{insight_series, CheckOutcome},
    insight::{Insight, Severity},
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
                series: Vec::new(),
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
        partial_data: analysis.partial_data.clone(),
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
        series(catalog, &analysis.outcomes, insights),
    ]
}

/// Insights at most that get a series in the `series` frame (the most urgent first, as the
/// insights come): with at most [`crate::engine::SERIES_POINTS`] points each, the frame stays
/// under 12,000 rows.
pub const SERIES_INSIGHTS: usize = 200;

/// The `series` frame: for each insight of severity low or more drawn from a judged series
/// for its instance and device (its check's, or for a diagnosis such as a CPU bottleneck the
/// series of the utilization or saturation check it is built on: [`insight_series`]), that
/// series' points (`insight_id`, `time`, `value`) with the thresholds in force repeated on
/// every row (`warning`, `critical`). Insights without a series (instant checks, coverage,
/// other methods) have no rows.
pub fn series(catalog: &Catalog, outcomes: &[CheckOutcome], insights: &[&Insight]) -> Frame {
    let mut ids: Vec<String> = Vec::new();
    let mut times: Vec<DateTime<Utc>> = Vec::new();
    let mut values: Vec<f64> = Vec::new();
    let mut warnings: Vec<f64> = Vec::new();
    let mut criticals: Vec<f64> = Vec::new();
    // The first SERIES_INSIGHTS flagged insights that have a series (most urgent first):
    // insights without one do not use up the bound.
    let drawn = insights
        .iter()
        .filter(|i| i.severity >= Severity::Low)
        .filter_map(|i| insight_series(catalog, outcomes, i).map(|found| (i, found)))
        .take(SERIES_INSIGHTS);
    for (insight, found) in drawn {
        for &(ts, value) in &found.points {
            let Some(time) = DateTime::from_timestamp_millis((ts * 1000.0).round() as i64) else {
                continue;
            };
            ids.push(insight.id.clone());
            times.push(time);
            values.push(value);
            warnings.push(found.warning);
            criticals.push(found.critical);
        }
    }
    let mut frame = Frame::new("series").with_fields([
        ids.into_field("insight_id"),
        times.into_field("time"),
        values.into_field("value"),
        warnings.into_field("warning"),
        criticals.into_field("critical"),
    ]);
    frame.meta = Some(table_meta());
    frame
}

fn table_meta() -> Metadata {
    let mut meta = Metadata::default();
    meta.preferred_visualisation = Some(VisType::Table);
    meta
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{
        engine::TargetSeries,
        insight::{Component, Evidence, IssueType, Methodology},
    };

    fn insight(id: &str, severity: Severity, instance: &str) -> Insight {
        Insight {
            id: id.into(),
            timestamp: DateTime::UNIX_EPOCH,
            methodology: Methodology::UseMethod,
            component: Component::Cpu,
            issue_type: IssueType::Capacity,
            use_signal: None,
            severity,
            title: String::new(),
            observation: String::new(),
            evidence: Evidence::new(),
            root_cause: String::new(),
            immediate_action: String::new(),
            investigation_steps: Vec::new(),
            long_term_fix: String::new(),
            related_metrics: Vec::new(),
            confidence: 50.0,
            book_reference: None,
            instance: Some(instance.into()),
            device: None,
            check: "cpu.utilization".into(),
            started_at: None,
            ended_at: None,
        }
    }

    fn target(instance: &str, points: Vec<(f64, f64)>) -> TargetSeries {
        TargetSeries {
            instance: instance.into(),
            device: None,
            points,
            warning: 80.0,
            critical: 95.0,
        }
    }

    fn column<'a>(frame: &'a Frame, name: &str) -> &'a crate::frames::model::Field {
        frame
            .field(name)
            .unwrap_or_else(|| panic!("no field {name}"))
    }

    #[test]
    fn the_series_frame_holds_the_points_of_flagged_insights_only() {
        let mut outcome = CheckOutcome::new("cpu.utilization");
        outcome.series = vec![
            target("web-1", vec![(600.0, 85.0), (660.0, 93.0), (720.0, 90.0)]),
            target("web-2", vec![(600.0, 50.0), (660.0, 82.0)]),
        ];
        let flagged = insight("a", Severity::High, "web-1");
        // An info insight on a target with a series, and a flagged one on a target without.
        let info = insight("b", Severity::Info, "web-2");
        let unjudged = insight("c", Severity::Medium, "web-3");
        let frame = series(
            crate::catalog::builtin(),
            &[outcome],
            &[&flagged, &info, &unjudged],
        );
        assert_eq!(frame.name, "series");
        assert_eq!(ids_of(&frame), vec!["a", "a", "a"]);
        let values: Vec<f64> = numbers(&frame, "value");
        assert_eq!(values, vec![85.0, 93.0, 90.0]);
        let warning = numbers(&frame, "warning");
        assert_eq!(warning, vec![80.0; 3]);
        assert_eq!(column(&frame, "time").len(), 3);
    }

    fn numbers(frame: &Frame, name: &str) -> Vec<f64> {
        let field = column(frame, name);
        (0..field.len())
            .filter_map(|r| field.values.number(r))
            .collect()
    }

    fn ids_of(frame: &Frame) -> Vec<String> {
        let field = column(frame, "insight_id");
        (0..field.len())
            .filter_map(|r| field.values.text(r).map(str::to_string))
            .collect()
    }

    #[test]
    fn a_bottleneck_gets_the_series_of_the_utilization_it_is_built_on() {
        let mut utilization = CheckOutcome::new("cpu.utilization");
        utilization.series = vec![target("web-1", vec![(600.0, 91.0), (660.0, 97.0)])];
        let mut pressure = CheckOutcome::new("cpu.saturation.psi");
        pressure.series = vec![TargetSeries {
            warning: 10.0,
            critical: 25.0,
            ..target("web-1", vec![(600.0, 12.0), (660.0, 30.0)])
        }];
        let mut bottleneck = insight("cpu.bottleneck:web-1", Severity::Critical, "web-1");
        bottleneck.check = "cpu.bottleneck".into();
        bottleneck.issue_type = IssueType::Bottleneck;
        bottleneck.evidence = Evidence::new()
            .with("cpu_utilization_percent", 94.0)
            .with("cpu_pressure_some_percent", 21.0);
        let frame = series(
            crate::catalog::builtin(),
            &[pressure, utilization],
            &[&bottleneck],
        );
        assert_eq!(ids_of(&frame), vec!["cpu.bottleneck:web-1"; 2]);
        let values = numbers(&frame, "value");
        assert_eq!(values, vec![91.0, 97.0]);
        let warning = numbers(&frame, "warning");
        assert_eq!(warning, vec![80.0; 2], "the utilization's thresholds");
    }

    #[test]
    fn at_most_series_insights_insights_get_a_series() {
        let mut outcome = CheckOutcome::new("cpu.utilization");
        let hosts: Vec<String> = (0..SERIES_INSIGHTS + 50)
            .map(|k| format!("web-{k}"))
            .collect();
        outcome.series = hosts
            .iter()
            .map(|h| target(h, (0..60).map(|k| (f64::from(k), 90.0)).collect()))
            .collect();
        // Ten flagged insights without a series come first: they do not use up the bound.
        let bare: Vec<String> = (0..10).map(|k| format!("bare-{k}")).collect();
        let insights: Vec<Insight> = bare
            .iter()
            .chain(&hosts)
            .map(|h| insight(h, Severity::High, h))
            .collect();
        let refs: Vec<&Insight> = insights.iter().collect();
        let frame = series(crate::catalog::builtin(), &[outcome], &refs);
        let ids = ids_of(&frame);
        assert_eq!(ids.len(), SERIES_INSIGHTS * 60);
        assert_eq!(ids.first().map(String::as_str), Some("web-0"));
        assert_eq!(ids.last().map(String::as_str), Some("web-199"));
    }

    #[test]
    fn long_series_are_thinned_keeping_the_last_point() {
        let points: Vec<(f64, f64)> = (0..250).map(|i| (f64::from(i), f64::from(i))).collect();
        let thin = TargetSeries::thin(&points);
        assert!(thin.len() <= crate::engine::SERIES_POINTS);
        assert_eq!(thin.last(), points.last());
        assert!(thin.windows(2).all(|w| w[0].0 < w[1].0));
    }
}
