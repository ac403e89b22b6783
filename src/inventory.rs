//! What a Prometheus has to offer the analyzer: its version, the node_exporter instances it
//! scrapes, how often, and which of the collectors we read are working on them.
//!
//! Health checks are built from this, and every analysis carries it as its coverage: a check
//! that cannot run because a collector is missing is reported as a gap, never as "healthy".

use std::{collections::BTreeMap, time::Duration};

use chrono::{DateTime, Utc};
use serde::Serialize;

use crate::{
    catalog::Catalog,
    prometheus::{BuildInfo, Client, InstantValue, PrometheusError},
    promql::Selector,
};

/// How many instances run one collector successfully.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct CollectorCoverage {
    /// Collector name.
    pub name: String,
    /// What the analysis loses without it.
    pub lost: String,
    /// Whether node_exporter enables it by default.
    pub default_enabled: bool,
    /// Instances where it ran successfully in the last scrape.
    pub working: usize,
    /// Instances where it is enabled but failed (e.g. schedstat without /proc/schedstat).
    pub failing: usize,
    /// Instances where it is not enabled at all.
    pub absent: usize,
}

impl CollectorCoverage {
    /// Instances that lack this collector's data.
    pub fn missing(&self) -> usize {
        self.failing + self.absent
    }
}

/// A snapshot of what the analyzer can see.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Inventory {
    /// Prometheus' build info; `None` when the server does not offer the endpoint.
    pub prometheus: Option<BuildInfo>,
    /// Instances exposing node_exporter metrics that match the target selector.
    pub instances: usize,
    /// node_exporter versions and how many instances run each.
    pub exporter_versions: BTreeMap<String, usize>,
    /// Typical time between two scrapes of node_exporter, when at least two were seen.
    #[serde(serialize_with = "serialize_opt_secs")]
    pub scrape_interval: Option<Duration>,
    /// Coverage of every collector the catalog relies on, in catalog order. Empty when the
    /// exporter does not report `node_scrape_collector_success` (some node_exporter
    /// re-implementations don't), in which case coverage is unknown rather than "all missing".
    pub collectors: Vec<CollectorCoverage>,
}

impl Inventory {
    /// Collectors missing on at least one instance.
    pub fn missing_collectors(&self) -> impl Iterator<Item = &CollectorCoverage> {
        self.collectors.iter().filter(|c| c.missing() > 0)
    }

    /// Whether the exporters say which collectors work.
    pub fn collector_status_known(&self) -> bool {
        !self.collectors.is_empty()
    }
}

fn serialize_opt_secs<S: serde::Serializer>(d: &Option<Duration>, s: S) -> Result<S::Ok, S::Error> {
    match d {
        Some(d) => s.serialize_f64(d.as_secs_f64()),
        None => s.serialize_none(),
    }
}

/// The metric whose presence defines "an instance exposing node_exporter data": one series per
/// instance, present on every Linux node_exporter since 0.16.
fn presence(selector: &Selector) -> String {
    let sel = Selector::parse(r#"cpu="0", mode="idle""#)
        .map(|s| s.and(selector))
        .unwrap_or_else(|_| selector.clone());
    format!("node_cpu_seconds_total{{{sel}}}")
}

/// Query Prometheus for the inventory at `at`.
pub async fn take(
    client: &Client,
    catalog: &Catalog,
    selector: &Selector,
    at: DateTime<Utc>,
) -> Result<Inventory, PrometheusError> {
    let presence = presence(selector);
    let count_query = format!("count(group by (instance) ({presence}))");
    let versions_query = format!("count by (version) (node_exporter_build_info{{{selector}}})");
    let working_query = format!("sum by (collector) (node_scrape_collector_success{{{selector}}})");
    let reporting_query =
        format!("count by (collector) (node_scrape_collector_success{{{selector}}})");
    let sample_query = format!("topk(3, group by (instance) ({presence}))");

    let (build, count, versions, working, reporting, sampled) = tokio::join!(
        client.build_info(),
        client.query(&count_query, at),
        client.query(&versions_query, at),
        client.query(&working_query, at),
        client.query(&reporting_query, at),
        client.query(&sample_query, at),
    );
    let prometheus = match build {
        Ok(info) => Some(info),
        // Prometheus-compatible stores without the endpoint still answer queries.
        Err(PrometheusError::NotFound { .. }) => None,
        Err(e) => return Err(e),
    };
    let instances = count?
        .data
        .into_vector()
        .first()
        .map(|s| s.value as usize)
        .unwrap_or(0);
    let exporter_versions = by_label(versions?.data, "version")
        .into_iter()
        .map(|(k, v)| (k, v as usize))
        .collect();
    let working = by_label(working?.data, "collector");
    let reporting = by_label(reporting?.data, "collector");
    let status_known = !reporting.is_empty();
    let collectors = catalog
        .collectors()
        .iter()
        .map(|c| {
            let ok = working.get(&c.name).copied().unwrap_or(0.0).max(0.0) as usize;
            let reported = reporting.get(&c.name).copied().unwrap_or(0.0).max(0.0) as usize;
            let failing = reported.saturating_sub(ok);
            CollectorCoverage {
                name: c.name.clone(),
                lost: c.lost.clone(),
                default_enabled: c.default_enabled,
                working: ok,
                failing,
                absent: instances.saturating_sub(reported),
            }
        })
        .filter(|_| status_known)
        .collect();

    let sampled_instances: Vec<String> = sampled?
        .data
        .into_vector()
        .into_iter()
        .filter_map(|s| s.labels.get("instance").cloned())
        .collect();
    let scrape_interval = if sampled_instances.is_empty() {
        None
    } else {
        scrape_interval(client, selector, &sampled_instances, at).await?
    };

    Ok(Inventory {
        prometheus,
        instances,
        exporter_versions,
        scrape_interval,
        collectors,
    })
}

/// Median spacing of raw samples over the last 10 minutes of a few instances.
async fn scrape_interval(
    client: &Client,
    selector: &Selector,
    instances: &[String],
    at: DateTime<Utc>,
) -> Result<Option<Duration>, PrometheusError> {
    let Ok(matcher) = crate::promql::Matcher::any_of("instance", instances) else {
        return Ok(None);
    };
    let query = format!("{}[10m]", presence(&selector.clone().with(matcher)));
    let answer = client.query(&query, at).await?;
    let InstantValue::Matrix(series) = answer.data else {
        return Ok(None);
    };
    let mut gaps: Vec<f64> = series
        .iter()
        .flat_map(|s| s.points.windows(2).map(|w| w[1].0 - w[0].0))
        .filter(|g| *g > 0.0)
        .collect();
    if gaps.is_empty() {
        return Ok(None);
    }
    gaps.sort_by(f64::total_cmp);
    Ok(Some(Duration::from_secs_f64(gaps[gaps.len() / 2])))
}

fn by_label(value: InstantValue, label: &str) -> BTreeMap<String, f64> {
    value
        .into_vector()
        .into_iter()
        .filter_map(|s| s.labels.get(label).cloned().map(|l| (l, s.value)))
        .collect()
}
