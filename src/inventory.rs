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
    engine::ExecutedQuery,
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

/// What the checks need before they can start: the selection's instances and how often they
/// are scraped (the rate window follows from it). Three small queries, two of them in sequence.
#[derive(Clone, Debug, PartialEq)]
pub struct Basics {
    /// Instances exposing node_exporter metrics that match the target selector, sorted.
    pub instances: Vec<String>,
    /// Typical time between two scrapes of node_exporter, when at least two were seen.
    pub scrape_interval: Option<Duration>,
    /// The queries sent, for the report.
    pub queries: Vec<ExecutedQuery>,
}

/// The rest of the inventory, which only the report's coverage needs: Prometheus' build, the
/// exporters' versions and which collectors work where. The analysis asks for it beside the
/// checks rather than before them.
#[derive(Clone, Debug, PartialEq)]
pub struct Details {
    prometheus: Option<BuildInfo>,
    exporter_versions: BTreeMap<String, usize>,
    collectors: Vec<CollectorCoverage>,
    missing: BTreeMap<String, Vec<MissingCollector>>,
    /// The queries sent, for the report.
    pub queries: Vec<ExecutedQuery>,
}

impl Inventory {
    /// The inventory made of its two parts (their queries are left to the caller).
    pub fn of(basics: &Basics, details: Details) -> Self {
        Inventory {
            prometheus: details.prometheus,
            instances: basics.instances.clone(),
            exporter_versions: details.exporter_versions,
            scrape_interval: basics.scrape_interval,
            collectors: details.collectors,
            missing: details.missing,
        }
    }
}

/// Query Prometheus for the inventory at `at`.
pub async fn take(
    client: &Client,
    catalog: &Catalog,
    selector: &Selector,
    at: DateTime<Utc>,
) -> Result<Inventory, PrometheusError> {
    let basics = self::basics(client, selector, at).await?;
    let details = self::details(client, catalog, selector, at, &basics.instances).await?;
    Ok(Inventory::of(&basics, details))
}

/// The instances of the selection at `at` and their scrape interval.
pub async fn basics(
    client: &Client,
    selector: &Selector,
    at: DateTime<Utc>,
) -> Result<Basics, PrometheusError> {
    let presence = presence(selector);
    // The scrape interval needs two round trips (a few instances, then their raw samples); the
    // instance list is asked for meanwhile.
    let interval = async {
        let sample_query = format!("topk(3, group by (instance) ({presence}))");
        let (sampled, record) =
            ExecutedQuery::instant(client, "inventory/sample", &sample_query, at).await;
        let mut queries = vec![record];
        let sampled = label_values(sampled?, "instance");
        if sampled.is_empty() {
            return Ok((None, queries));
        }
        let (interval, record) = scrape_interval(client, selector, &sampled, at).await;
        queries.extend(record);
        Ok::<_, PrometheusError>((interval?, queries))
    };
    let instances_query = format!("group by (instance) ({presence})");
    let (instances, interval, ()) = tokio::join!(
        ExecutedQuery::instant(client, "inventory", &instances_query, at),
        interval,
        client.fit_bound_to_server(),
    );
    let (instances, record) = instances;
    let mut instances: Vec<String> = label_values(instances?, "instance");
    instances.sort();
    instances.dedup();
    let (scrape_interval, mut queries) = interval?;
    queries.insert(0, record);
    Ok(Basics {
        instances,
        scrape_interval,
        queries,
    })
}

/// Prometheus' build, the exporters' versions and the collectors' coverage over `instances`.
pub async fn details(
    client: &Client,
    catalog: &Catalog,
    selector: &Selector,
    at: DateTime<Utc>,
    instances: &[String],
) -> Result<Details, PrometheusError> {
    let presence = presence(selector);
    let relied: Vec<&str> = catalog
        .collectors()
        .iter()
        .map(|c| c.name.as_str())
        .collect();
    let relied_matcher = Matcher::any_of("collector", &relied)
        .map(|m| selector.clone().with(m).to_string())
        .unwrap_or_else(|_| selector.to_string());
    let versions_query = format!("count by (version) (node_exporter_build_info{{{selector}}})");
    // Per collector, how many instances report success (1) and failure (0): both the working
    // and the reporting counts from one query.
    let status_query = format!(
        "count_values by (collector) (\"success\", node_scrape_collector_success{{{selector}}})"
    );
    let failing_query = format!("node_scrape_collector_success{{{relied_matcher}}} == 0");
    let (build, versions, status, failing) = tokio::join!(
        client.build_info(),
        ExecutedQuery::instant(client, "inventory/versions", &versions_query, at),
        ExecutedQuery::instant(client, "inventory/collectors", &status_query, at),
        ExecutedQuery::instant(client, "inventory/failing", &failing_query, at),
    );
    let prometheus = match build {
        Ok(info) => Some(info),
        // Prometheus-compatible stores without the endpoint still answer queries.
        Err(PrometheusError::NotFound { .. }) => None,
        Err(e) => return Err(e),
    };
    let count = instances.len();
    let mut queries = Vec::new();
    let (versions, record) = versions;
    queries.push(record);
    let exporter_versions = by_label(versions?, "version")
        .into_iter()
        .map(|(k, v)| (k, v as usize))
        .collect();
    let (status, record) = status;
    queries.push(record);
    let (mut working, mut reporting) = (BTreeMap::new(), BTreeMap::new());
    for sample in status?.into_vector() {
        let (Some(collector), Some(success)) =
            (sample.labels.get("collector"), sample.labels.get("success"))
        else {
            continue;
        };
        let n = sample.value.max(0.0);
        *reporting.entry(collector.clone()).or_insert(0.0) += n;
        if success == "1" {
            *working.entry(collector.clone()).or_insert(0.0) += n;
        }
    }
    let status_known = !reporting.is_empty();

    let (failing, record) = failing;
    queries.push(record);
    let mut missing: BTreeMap<String, Vec<MissingCollector>> = BTreeMap::new();
    for sample in failing?.into_vector() {
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
            let reported = reporting.get(&c.name).copied().unwrap_or(0.0) as usize;
            let presence = &presence;
            async move {
                if reported == 0 || reported >= count {
                    return (
                        Ok(if reported == 0 {
                            instances.to_vec()
                        } else {
                            Vec::new()
                        }),
                        None,
                    );
                }
                let query = format!(
                    "group by (instance) ({presence}) unless on (instance) node_scrape_collector_success{{{}}}",
                    selector.clone().with(Matcher { name: "collector".into(), op: MatchOp::Equal, value: c.name.clone() })
                );
                let (answer, record) = ExecutedQuery::instant(
                    client,
                    format!("inventory/lacking {}", c.name),
                    &query,
                    at,
                )
                .await;
                (answer.map(|a| label_values(a, "instance")), Some(record))
            }
        });
        let lacking = futures_util::future::join_all(lacking).await;
        for (c, (lacking, record)) in catalog.collectors().iter().zip(lacking) {
            queries.extend(record);
            let ok = working.get(&c.name).copied().unwrap_or(0.0) as usize;
            let reported = reporting.get(&c.name).copied().unwrap_or(0.0) as usize;
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
    Ok(Details {
        prometheus,
        exporter_versions,
        collectors,
        missing,
        queries,
    })
}

/// Median spacing of raw samples over the last 10 minutes of a few instances.
async fn scrape_interval(
    client: &Client,
    selector: &Selector,
    instances: &[String],
    at: DateTime<Utc>,
) -> (
    Result<Option<Duration>, PrometheusError>,
    Option<ExecutedQuery>,
) {
    let Ok(matcher) = Matcher::any_of("instance", instances) else {
        return (Ok(None), None);
    };
    let query = format!("{}[10m]", presence(&selector.clone().with(matcher)));
    let (answer, record) =
        ExecutedQuery::instant(client, "inventory/scrape interval", &query, at).await;
    let series = match answer {
        Ok(InstantValue::Matrix(series)) => series,
        Ok(_) => return (Ok(None), Some(record)),
        Err(e) => return (Err(e), Some(record)),
    };
    let mut gaps: Vec<f64> = series
        .iter()
        .flat_map(|s| s.points.windows(2).map(|w| w[1].0 - w[0].0))
        .filter(|g| *g > 0.0)
        .collect();
    if gaps.is_empty() {
        return (Ok(None), Some(record));
    }
    gaps.sort_by(f64::total_cmp);
    (
        Ok(Some(Duration::from_secs_f64(gaps[gaps.len() / 2]))),
        Some(record),
    )
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
