//! Which judged series an insight is drawn from: what the report panel's sparkline shows.
//!
//! A single check's insight is drawn from that check's series for its target. A diagnosis
//! (`cpu.bottleneck`, …) names no check of its own: it is built on a utilization finding and
//! the saturation findings measured on the same target, and its evidence carries each of those
//! checks' metric, the utilization's first ([`super::narrative`]). Its series is the
//! utilization check's, or, where that one kept none (an instant check), the first saturation
//! check's that did.

use crate::{
    catalog::{Catalog, Check},
    insight::{Insight, UseSignal},
};

use super::{CheckOutcome, TargetSeries};

/// The judged series `insight` is drawn from, if one of `outcomes` kept it for its target.
pub fn insight_series<'a>(
    catalog: &Catalog,
    outcomes: &'a [CheckOutcome],
    insight: &Insight,
) -> Option<&'a TargetSeries> {
    let instance = insight.instance.as_deref()?;
    let kept = |check: &str| {
        outcomes
            .iter()
            .filter(|o| o.check == check)
            .flat_map(|o| o.series.iter())
            .find(|s| s.instance == instance && s.device == insight.device)
    };
    if catalog.check(&insight.check).is_some() {
        return kept(insight.check.as_str());
    }
    let built_on = checks_built_on(catalog, insight);
    [UseSignal::Utilization, UseSignal::Saturation]
        .into_iter()
        .flat_map(|signal| built_on.iter().filter(move |c| c.signal == signal))
        .find_map(|c| kept(c.id.as_str()))
}

/// The utilization and saturation checks of the insight's resource whose metric its evidence
/// carries, in evidence order: the checks a diagnosis was built on.
fn checks_built_on<'c>(catalog: &'c Catalog, insight: &Insight) -> Vec<&'c Check> {
    insight
        .evidence
        .iter()
        .flat_map(|(name, _)| {
            catalog.checks().iter().filter(move |c| {
                c.metric == name
                    && c.component == insight.component
                    && matches!(c.signal, UseSignal::Utilization | UseSignal::Saturation)
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use super::*;
    use crate::{
        engine::{
            diagnose::diagnose,
            evaluate::Level,
            execute::CheckExecution,
            fixtures::{catalog, execution, timing},
            narrative,
        },
        insight::IssueType,
        promql::Selector,
    };

    const HOST: &str = "db-1:9100";

    fn series(instance: &str, device: Option<&str>, first: f64) -> TargetSeries {
        TargetSeries {
            instance: instance.into(),
            device: device.map(str::to_string),
            points: (0..5)
                .map(|k| (1_700_000_000.0 + 60.0 * f64::from(k), first + f64::from(k)))
                .collect(),
            warning: 80.0,
            critical: 95.0,
        }
    }

    /// The insights the engine writes for `runs`, and the outcomes beside them.
    fn insights(runs: &[CheckExecution]) -> (Vec<Insight>, Vec<CheckOutcome>) {
        let drafts = diagnose(catalog(), runs, &HashMap::new(), &timing());
        let insights = drafts
            .iter()
            .map(|d| narrative::insight(catalog(), runs, d, &Selector::empty(), &timing()))
            .collect();
        (insights, runs.iter().map(|r| r.outcome.clone()).collect())
    }

    #[test]
    fn a_bottleneck_is_drawn_from_its_utilization_series() {
        let mut utilization = execution("cpu.utilization", &[(HOST, None, Level::Warning, 90.0)]);
        utilization.outcome.series =
            vec![series("db-2:9100", None, 10.0), series(HOST, None, 88.0)];
        let mut pressure = execution("cpu.saturation.psi", &[(HOST, None, Level::Warning, 15.0)]);
        pressure.outcome.series = vec![series(HOST, None, 14.0)];
        let (insights, outcomes) = insights(&[utilization, pressure]);
        assert_eq!(insights.len(), 1, "{insights:?}");
        let bottleneck = &insights[0];
        assert_eq!(bottleneck.issue_type, IssueType::Bottleneck);
        assert_eq!(bottleneck.check, "cpu.bottleneck");
        let drawn = insight_series(catalog(), &outcomes, bottleneck).expect("a series");
        assert_eq!(drawn.instance, HOST);
        assert_eq!(
            drawn.points[0].1, 88.0,
            "the utilization's, not the pressure's"
        );
    }

    #[test]
    fn without_a_utilization_series_a_bottleneck_is_drawn_from_its_saturation() {
        let utilization = execution("cpu.utilization", &[(HOST, None, Level::Warning, 90.0)]);
        let mut pressure = execution("cpu.saturation.psi", &[(HOST, None, Level::Warning, 15.0)]);
        pressure.outcome.series = vec![series(HOST, None, 14.0)];
        let (insights, outcomes) = insights(&[utilization, pressure]);
        let drawn = insight_series(catalog(), &outcomes, &insights[0]).expect("a series");
        assert_eq!(drawn.points[0].1, 14.0);
    }

    #[test]
    fn a_device_bottleneck_is_drawn_from_that_device_only() {
        let mut utilization = execution(
            "disk.utilization",
            &[(HOST, Some("sda"), Level::Warning, 85.0)],
        );
        // The busy sdb has a series; sda's own utilization kept none.
        utilization.outcome.series = vec![series(HOST, Some("sdb"), 70.0)];
        let mut queue = execution(
            "disk.saturation.queue",
            &[(HOST, Some("sda"), Level::Warning, 6.0)],
        );
        queue.outcome.series = vec![series(HOST, Some("sda"), 5.0)];
        let (insights, outcomes) = insights(&[utilization, queue]);
        assert_eq!(
            insights[0].issue_type,
            IssueType::Bottleneck,
            "{insights:?}"
        );
        let drawn = insight_series(catalog(), &outcomes, &insights[0]).expect("a series");
        assert_eq!(drawn.device.as_deref(), Some("sda"));
        assert_eq!(drawn.points[0].1, 5.0);
    }

    #[test]
    fn a_single_check_insight_is_drawn_from_its_own_check_and_nothing_else() {
        let mut utilization = execution("cpu.utilization", &[(HOST, None, Level::Warning, 90.0)]);
        utilization.outcome.series = vec![series(HOST, None, 88.0)];
        let (insights, outcomes) = insights(&[utilization]);
        assert_eq!(insights[0].check, "cpu.utilization");
        assert!(insight_series(catalog(), &outcomes, &insights[0]).is_some());
        // The same insight on a host without a series: none borrowed from another host.
        let mut elsewhere = insights[0].clone();
        elsewhere.instance = Some("db-9:9100".into());
        assert!(insight_series(catalog(), &outcomes, &elsewhere).is_none());
    }
}
