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

/// The data source an analysis reads: its organisation and uid (a uid is unique within one
/// Grafana organisation only: provisioning the same file into two orgs gives two data sources
/// with one uid) and the version of its settings (Grafana's `updated`), so saving the settings
/// starts fresh analyses.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Source {
    /// The Grafana organisation the data source belongs to.
    pub org_id: i64,
    /// The data source's uid.
    pub uid: String,
    /// When its settings were last saved, Unix milliseconds.
    pub updated_ms: i64,
}

impl Source {
    /// The source `uid` of organisation `org_id` with settings saved at `updated`.
    pub fn new(org_id: i64, uid: impl Into<String>, updated: DateTime<Utc>) -> Self {
        Self {
            org_id,
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

impl AnalysisKey {
    /// Whether `other` asks the same of an earlier time (only `at` differs, and is earlier):
    /// the analysis a refreshed dashboard has moved past.
    pub fn is_same_but_earlier(&self, other: &Self) -> bool {
        other.at_ms < self.at_ms
            && *self
                == Self {
                    at_ms: self.at_ms,
                    ..other.clone()
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

/// Evaluation times are rounded up to this (`plugin::cache::bucketed`), so the panels of one
/// refresh (whose `to` differ by milliseconds) share one analysis.
pub const TIME_BUCKET_SECONDS: i64 = 15;

/// [`TIME_BUCKET_SECONDS`] in ms.
const BUCKET_MS: u64 = TIME_BUCKET_SECONDS.unsigned_abs() * 1000;

impl DashboardKey {
    /// Whether `other` asks the same of an earlier range as long: the dashboard refreshed,
    /// not zoomed. Only `to` is rounded up to the analysis cache's time bucket (15 s), `from`
    /// keeps Grafana's milliseconds, so a refresh changes the range's length by up to a
    /// bucket: lengths within one bucket count as the same.
    pub fn is_same_but_earlier(&self, other: &Self) -> bool {
        other.to_ms < self.to_ms
            && (self.to_ms - self.from_ms).abs_diff(other.to_ms - other.from_ms) < BUCKET_MS
            && *self
                == Self {
                    from_ms: self.from_ms,
                    to_ms: self.to_ms,
                    ..other.clone()
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
        AnalysisKey::new(Source::new(1, "ds", DateTime::UNIX_EPOCH), r)
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

    /// One change to each field of a request (the time first).
    fn changes() -> Vec<fn(&mut AnalysisRequest)> {
        vec![
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
        ]
    }

    #[test]
    fn every_field_and_the_source_change_the_key() {
        let base = key(&request());
        for (i, change) in changes().iter().enumerate() {
            let mut r = request();
            change(&mut r);
            assert_ne!(key(&r), base, "change {i}");
        }
        let saved = AnalysisKey::new(
            Source::new(1, "ds", DateTime::from_timestamp(1, 0).unwrap()),
            &request(),
        );
        assert_ne!(saved, base);
        let other = AnalysisKey::new(Source::new(1, "other", DateTime::UNIX_EPOCH), &request());
        assert_ne!(other, base);
        let other_org = AnalysisKey::new(Source::new(2, "ds", DateTime::UNIX_EPOCH), &request());
        assert_ne!(other_org, base, "the same uid in another organisation");
    }

    #[test]
    fn only_the_same_analysis_at_an_earlier_time_is_superseded() {
        let base = key(&request());
        assert!(!base.is_same_but_earlier(&base), "the same key");
        let later = |r: &mut AnalysisRequest| r.at += chrono::Duration::seconds(15);
        let mut r = request();
        later(&mut r);
        assert!(key(&r).is_same_but_earlier(&base));
        assert!(
            !base.is_same_but_earlier(&key(&r)),
            "a later time is not superseded"
        );
        // Any other field changed as well: another question.
        for (i, change) in changes().iter().enumerate().skip(1) {
            let mut r = request();
            later(&mut r);
            change(&mut r);
            assert!(!key(&r).is_same_but_earlier(&base), "change {i}");
        }
        let elsewhere = AnalysisKey::new(Source::new(1, "other", DateTime::UNIX_EPOCH), &r);
        assert!(!elsewhere.is_same_but_earlier(&base), "another data source");
    }

    #[test]
    fn only_the_same_dashboard_over_an_earlier_range_as_long_is_superseded() {
        let at = |ms: i64| DateTime::from_timestamp_millis(1_795_788_300_000 + ms).unwrap();
        let request = |from: i64, to: i64, uid: &str| DashboardRequest {
            uid: uid.into(),
            panel_ids: None,
            variables: Default::default(),
            from: at(from),
            to: at(to),
            max_points: 1000,
            scrape_interval: None,
        };
        let key = |r: &DashboardRequest| DashboardKey::new(Source::new(1, "ds", at(0)), r);
        // `now-1h` to `now` at 12:00:03.217, `to` rounded up to the bucket (12:00:15).
        let base = key(&request(-3_600_000 + 3_217, 15_000, "node"));
        assert!(!base.is_same_but_earlier(&base));
        // Refreshed at 12:00:21.904: `to` at 12:00:30, the range 3.7 s shorter.
        let refreshed = key(&request(-3_600_000 + 21_904, 30_000, "node"));
        assert!(refreshed.is_same_but_earlier(&base));
        assert!(
            !base.is_same_but_earlier(&refreshed),
            "a later range is not superseded"
        );
        let zoomed = key(&request(-7_200_000 + 21_904, 30_000, "node"));
        assert!(!zoomed.is_same_but_earlier(&base), "zoomed out");
        let other = key(&request(-3_600_000 + 21_904, 30_000, "other"));
        assert!(!other.is_same_but_earlier(&base), "another dashboard");
    }
}
