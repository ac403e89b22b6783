//! The identity of an analysis: everything that changes its result, so that requests asking
//! for the same analysis share one run and requests asking for different ones never do.

use std::time::Duration;

use chrono::{DateTime, Utc};

use crate::{
    analysis::AnalysisRequest,
    catalog::{ThresholdOverride, ThresholdOverrides},
    dashboard::DashboardRequest,
    insight::Component,
    methods::{HistogramRequest, Method, MethodsRequest, Slo},
};

/// The data source an analysis reads: its uid and the version of its settings (Grafana's
/// `updated`), so saving the settings starts fresh analyses.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Source {
    /// The data source's uid.
    pub uid: String,
    /// When its settings were last saved, Unix milliseconds.
    pub updated_ms: i64,
}

impl Source {
    /// The source `uid` with settings saved at `updated`.
    pub fn new(uid: impl Into<String>, updated: DateTime<Utc>) -> Self {
        Self {
            uid: uid.into(),
            updated_ms: updated.timestamp_millis(),
        }
    }
}

/// Every field of an [`AnalysisRequest`] (and of its methods request), in a form that hashes:
/// numbers by their bits, selectors by their rendered PromQL.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct AnalysisKey {
    source: Source,
    at_ms: i64,
    window: Duration,
    selector: String,
    thresholds: Vec<(String, Option<u64>, Option<u64>)>,
    checks: Option<Vec<String>>,
    components: Option<Vec<Component>>,
    observe: Vec<String>,
    keep_levels: bool,
    methods: Vec<Method>,
    histogram: Option<HistogramKey>,
    group_by: String,
    range_step: Option<Duration>,
}

#[derive(Clone, Debug, PartialEq, Eq, Hash)]
struct HistogramKey {
    metric: String,
    matchers: String,
    slo: Option<(u64, u64)>,
}

impl AnalysisKey {
    /// The key of `request` against `source`.
    ///
    /// Every field is destructured by name: a field added to the request (or to its methods
    /// request) does not compile until it is part of the key.
    pub fn new(source: Source, request: &AnalysisRequest) -> Self {
        let AnalysisRequest {
            at,
            window,
            selector,
            thresholds,
            checks,
            components,
            observe,
            keep_levels,
            methods,
            range_step,
            // How many parts a query is sent in changes no finding: not part of the key.
            query_sample_budget: _,
        } = request;
        let MethodsRequest {
            methods,
            histogram,
            group_by,
        } = methods;
        Self {
            source,
            at_ms: at.timestamp_millis(),
            window: *window,
            selector: selector.to_string(),
            thresholds: threshold_bits(thresholds),
            checks: checks.clone(),
            components: components.clone(),
            observe: observe.clone(),
            keep_levels: *keep_levels,
            methods: methods.clone(),
            histogram: histogram.as_ref().map(histogram_key),
            group_by: group_by.clone(),
            range_step: *range_step,
        }
    }
}

fn threshold_bits(thresholds: &ThresholdOverrides) -> Vec<(String, Option<u64>, Option<u64>)> {
    thresholds
        .iter()
        .map(|(check, ThresholdOverride { warning, critical })| {
            (
                check.clone(),
                warning.map(f64::to_bits),
                critical.map(f64::to_bits),
            )
        })
        .collect()
}

fn histogram_key(h: &HistogramRequest) -> HistogramKey {
    let HistogramRequest {
        metric,
        matchers,
        slo,
    } = h;
    HistogramKey {
        metric: metric.clone(),
        matchers: matchers.to_string(),
        slo: slo.map(
            |Slo {
                 threshold_seconds,
                 target_percent,
             }| (threshold_seconds.to_bits(), target_percent.to_bits()),
        ),
    }
}

/// Every field of a [`DashboardRequest`], so the queries of one dashboard refresh (and the
/// report resource asked meanwhile) share one dashboard analysis as they share analyses.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct DashboardKey {
    source: Source,
    uid: String,
    panel_ids: Option<Vec<i64>>,
    variables: Vec<(String, Vec<String>)>,
    from_ms: i64,
    to_ms: i64,
    max_points: u32,
    scrape_interval: Option<Duration>,
}

impl DashboardKey {
    /// The key of `request` against `source`; every field destructured by name, so a field
    /// added to the request does not compile until it is part of the key.
    pub fn new(source: Source, request: &DashboardRequest) -> Self {
        let DashboardRequest {
            uid,
            panel_ids,
            variables,
            from,
            to,
            max_points,
            scrape_interval,
        } = request;
        Self {
            source,
            uid: uid.clone(),
            panel_ids: panel_ids.clone(),
            variables: variables
                .iter()
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect(),
            from_ms: from.timestamp_millis(),
            to_ms: to.timestamp_millis(),
            max_points: *max_points,
            scrape_interval: *scrape_interval,
        }
    }
}

#[cfg(test)]
mod tests {
    use std::collections::HashSet;

    use super::*;
    use crate::promql::Selector;

    fn request() -> AnalysisRequest {
        AnalysisRequest::new(
            DateTime::from_timestamp(1_795_788_300, 0).unwrap(),
            Duration::from_secs(300),
            Selector::parse("job=\"node\"").unwrap(),
        )
    }

    fn key(r: &AnalysisRequest) -> AnalysisKey {
        AnalysisKey::new(Source::new("ds", DateTime::UNIX_EPOCH), r)
    }

    #[test]
    fn requests_differing_only_in_checks_get_different_keys() {
        let all = request();
        let mut one = request();
        one.checks = Some(vec!["cpu.utilization".into()]);
        let mut other = request();
        other.checks = Some(vec!["memory.utilization".into()]);
        assert_eq!(key(&all), key(&request()));
        let keys: HashSet<AnalysisKey> = [key(&all), key(&one), key(&other)].into();
        assert_eq!(keys.len(), 3);
    }

    #[test]
    fn every_field_and_the_source_change_the_key() {
        let base = key(&request());
        let changed: Vec<fn(&mut AnalysisRequest)> = vec![
            |r| r.at += chrono::Duration::seconds(15),
            |r| r.window = Duration::from_secs(600),
            |r| r.selector = Selector::empty(),
            |r| {
                r.thresholds.insert(
                    "cpu.utilization".into(),
                    ThresholdOverride {
                        warning: Some(1.0),
                        critical: None,
                    },
                );
            },
            |r| r.components = Some(vec![Component::Cpu]),
            |r| r.observe = vec!["cpu.utilization".into()],
            |r| r.keep_levels = true,
            |r| r.methods = MethodsRequest::use_only(),
            |r| r.methods.histogram = Some(HistogramRequest::parse("h", None).unwrap()),
            |r| r.methods.group_by = "env".into(),
            |r| r.range_step = Some(Duration::from_secs(60)),
        ];
        for (i, change) in changed.iter().enumerate() {
            let mut r = request();
            change(&mut r);
            assert_ne!(key(&r), base, "change {i}");
        }
        let saved = AnalysisKey::new(
            Source::new("ds", DateTime::from_timestamp(1, 0).unwrap()),
            &request(),
        );
        assert_ne!(saved, base);
        let other = AnalysisKey::new(Source::new("other", DateTime::UNIX_EPOCH), &request());
        assert_ne!(other, base);
    }
}
