//! What a Prometheus has to offer the analyzer: its version, the node_exporter instances it
//! scrapes, how often, and which of the collectors the checks need are working on them.
//!
//! Health checks are built from this, and every analysis carries it: a check that cannot run
//! because a collector is missing is reported as a coverage gap, never as "healthy". The number
//! of queries does not depend on the number of instances.

use std::{collections::BTreeMap, time::Duration};

use chrono::{DateTime, Utc};
use serde::Serialize;

use crate::{
    catalog::Catalog,
    prometheus::{BuildInfo, Client, InstantValue, PrometheusError},
    promql::{MatchOp, Matcher, Selector},
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

/// A collector one instance lacks.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct MissingCollector {
    /// Collector name.
    pub name: String,
    /// Enabled but failing (true) or not enabled (false).
    pub failing: bool,
}

/// A snapshot of what the analyzer can see.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Inventory {
    /// Prometheus' build info; `None` when the server does not offer the endpoint.
    pub prometheus: Option<BuildInfo>,
    /// Instances exposing node_exporter metrics that match the target selector, sorted.
    pub instances: Vec<String>,
    /// node_exporter versions and how many instances run each.
    pub exporter_versions: BTreeMap<String, usize>,
    /// Typical time between two scrapes of node_exporter, when at least two were seen.
    #[serde(serialize_with = "serialize_opt_secs")]
    pub scrape_interval: Option<Duration>,
    /// Coverage of every collector the catalog relies on, in catalog order. Empty when the
    /// exporters do not report `node_scrape_collector_success` (some node_exporter
    /// re-implementations don't): coverage is then unknown rather than "all missing".
    pub collectors: Vec<CollectorCoverage>,
    /// The collectors each instance lacks (instances lacking none are absent).
    pub missing: BTreeMap<String, Vec<MissingCollector>>,
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

    /// The collectors `instance` lacks.
    pub fn missing_on(&self, instance: &str) -> &[MissingCollector] {
        self.missing.get(instance).map(Vec::as_slice).unwrap_or(&[])
    }
}

fn serialize_opt_secs<S: serde::Serializer>(d: &Option<Duration>, s: S) -> Result<S::Ok, S::Error> {
    match d {
        Some(d) => s.serialize_f64(d.as_secs_f64()),
        None => s.serialize_none(),
    }
}

/// The series whose presence defines "an instance exposing node_exporter data": one per
/// instance, present on every Linux node_exporter since 0.16.
pub fn presence(selector: &Selector) -> String {
    let sel = selector
        .clone()
        .with(Matcher {
            name: "cpu".into(),
            op: MatchOp::Equal,
            value: "0".into(),
        })
        .with(Matcher {
            name: "mode".into(),
            op: MatchOp::Equal,
            value: "idle".into(),
        });
    format!("node_cpu_seconds_total{{{sel}}}")
}

/// The series whose `instance` values name the selection's instances (see [`instance_names`]).
pub fn instance_names_query(selector: &Selector) -> String {
    presence(selector)
}

/// The instances of the selection seen between `from` and `to`, sorted: values for template
/// variables. One label-values call, cheap on any fleet.
pub async fn instance_names(
    client: &Client,
    selector: &Selector,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
) -> Result<Vec<String>, PrometheusError> {
    let answer = client
        .label_values("instance", &[presence(selector)], from, to)
        .await?;
    let mut values = answer.data;
    values.sort();
    values.dedup();
    Ok(values)
}

/// Query Prometheus for the inventory at `at`.
pub async fn take(
    client: &Client,
    catalog: &Catalog,
    selector: &Selector,
    at: DateTime<Utc>,
) -> Result<Inventory, PrometheusError> {
    let presence = presence(selector);
    let relied: Vec<&str> = catalog
        .collectors()
        .iter()
        .map(|c| c.name.as_str())
        .collect();
    let relied_matcher = Matcher::any_of("collector", &relied)
        .map(|m| selector.clone().with(m).to_string())
        .unwrap_or_else(|_| selector.to_string());
    let instances_query = format!("group by (instance) ({presence})");
    let versions_query = format!("count by (version) (node_exporter_build_info{{{selector}}})");
    let working_query = format!("sum by (collector) (node_scrape_collector_success{{{selector}}})");
    let reporting_query =
        format!("count by (collector) (node_scrape_collector_success{{{selector}}})");
    let failing_query = format!("node_scrape_collector_success{{{relied_matcher}}} == 0");
    let sample_query = format!("topk(3, group by (instance) ({presence}))");

    // The scrape interval needs two round trips (a few instances, then their raw samples);
    // they overlap with everything else.
    let interval = async {
        let sampled = label_values(client.query(&sample_query, at).await?.data, "instance");
        if sampled.is_empty() {
            Ok(None)
        } else {
            scrape_interval(client, selector, &sampled, at).await
        }
    };
    let (build, instances, versions, working, reporting, failing, scrape_interval) = tokio::join!(
        client.build_info(),
        client.query(&instances_query, at),
        client.query(&versions_query, at),
        client.query(&working_query, at),
        client.query(&reporting_query, at),
        client.query(&failing_query, at),
        interval,
    );
    let prometheus = match build {
        Ok(info) => Some(info),
        // Prometheus-compatible stores without the endpoint still answer queries.
        Err(PrometheusError::NotFound { .. }) => None,
        Err(e) => return Err(e),
    };
    let mut instances: Vec<String> = label_values(instances?.data, "instance");
    instances.sort();
    instances.dedup();
    let count = instances.len();
    let exporter_versions = by_label(versions?.data, "version")
        .into_iter()
        .map(|(k, v)| (k, v as usize))
        .collect();
    let working = by_label(working?.data, "collector");
    let reporting = by_label(reporting?.data, "collector");
    let status_known = !reporting.is_empty();

    let mut missing: BTreeMap<String, Vec<MissingCollector>> = BTreeMap::new();
    for sample in failing?.data.into_vector() {
        if let (Some(instance), Some(collector)) = (
            sample.labels.get("instance"),
            sample.labels.get("collector"),
        ) {
            missing
                .entry(instance.clone())
                .or_default()
                .push(MissingCollector {
                    name: collector.clone(),
                    failing: true,
                });
        }
    }
    let mut collectors = Vec::new();
    if status_known {
        // Collectors some instances lack: which instances, asked for all collectors at once.
        let lacking = catalog.collectors().iter().map(|c| {
            let reported = reporting.get(&c.name).copied().unwrap_or(0.0).max(0.0) as usize;
            let (instances, presence) = (&instances, &presence);
            async move {
                if reported == 0 || reported >= count {
                    return Ok(if reported == 0 { instances.clone() } else { Vec::new() });
                }
                let query = format!(
                    "group by (instance) ({presence}) unless on (instance) node_scrape_collector_success{{{}}}",
                    selector.clone().with(Matcher { name: "collector".into(), op: MatchOp::Equal, value: c.name.clone() })
                );
                Ok::<_, PrometheusError>(label_values(client.query(&query, at).await?.data, "instance"))
            }
        });
        let lacking = futures_util::future::join_all(lacking).await;
        for (c, lacking) in catalog.collectors().iter().zip(lacking) {
            let ok = working.get(&c.name).copied().unwrap_or(0.0).max(0.0) as usize;
            let reported = reporting.get(&c.name).copied().unwrap_or(0.0).max(0.0) as usize;
            let absent = count.saturating_sub(reported);
            for instance in lacking? {
                missing.entry(instance).or_default().push(MissingCollector {
                    name: c.name.clone(),
                    failing: false,
                });
            }
            collectors.push(CollectorCoverage {
                name: c.name.clone(),
                lost: c.lost.clone(),
                default_enabled: c.default_enabled,
                working: ok,
                failing: reported.saturating_sub(ok),
                absent,
            });
        }
    }
    for list in missing.values_mut() {
        list.sort_by(|a, b| a.name.cmp(&b.name));
        list.dedup_by(|a, b| a.name == b.name);
    }

    let scrape_interval = scrape_interval?;

    Ok(Inventory {
        prometheus,
        instances,
        exporter_versions,
        scrape_interval,
        collectors,
        missing,
    })
}

/// Median spacing of raw samples over the last 10 minutes of a few instances.
async fn scrape_interval(
    client: &Client,
    selector: &Selector,
    instances: &[String],
    at: DateTime<Utc>,
) -> Result<Option<Duration>, PrometheusError> {
    let Ok(matcher) = Matcher::any_of("instance", instances) else {
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

fn label_values(value: InstantValue, label: &str) -> Vec<String> {
    value
        .into_vector()
        .into_iter()
        .filter_map(|s| s.labels.get(label).cloned())
        .collect()
}
