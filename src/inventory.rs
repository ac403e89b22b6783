//! What a Prometheus has to offer the analyzer: its version, the node_exporter instances it
//! scrapes, how often, and which of the collectors the checks need are working on them.
//!
//! Health checks are built from this, and every analysis carries it: a check that cannot run
//! because a collector is missing is reported as a coverage gap, never as "healthy". The number
//! of queries does not depend on the number of instances, unless a query is larger than the
//! sample budget or the engine refuses it for its size: then it is sent in instance groups
//! (`grouped`), and what is still refused in the smallest groups is left unknown with a notice.

pub mod containers;
mod grouped;

pub use grouped::Reach;

use std::{collections::BTreeMap, time::Duration};

use chrono::{DateTime, Utc};
use serde::Serialize;

use crate::{
    catalog::Catalog,
    prometheus::{Client, InstantValue, PrometheusError, Series, ServerInfo},
    promql::{MatchOp, Matcher, Selector},
    samples::{Over, QueryLog, Recorder, LOOKBACK_SAMPLES},
};

use grouped::{degraded, value, Asked};

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
    /// The engine (Prometheus, Thanos, VictoriaMetrics) and its version, when it tells.
    pub server: ServerInfo,
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

/// An instance whose node_exporter data stopped: nothing at the evaluation time, samples before.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Stopped {
    /// The instance.
    pub instance: String,
    /// Its newest sample (to within the resolution asked for).
    pub last_sample: DateTime<Utc>,
}

/// How far back "no data now" is told apart from "never any data": a week.
pub const STOPPED_LOOKBACK: Duration = Duration::from_secs(7 * 24 * 3600);

/// Instances of the selection with node_exporter samples in the `lookback` before `at` but none
/// at `at`: their scraping stopped. Without this a Prometheus whose samples stopped an hour ago
/// reads as one that never had any, and an instance that stopped inside the window silently
/// drops out of the analysis. One query (in instance groups over `reach` when it is large:
/// the ranges cover the names of instances no longer listed too): the newest sample's
/// timestamp per instance, over a subquery at `resolution` (its error bound), minus the
/// instances present at `at`.
pub async fn stopped(
    client: &Client,
    selector: &Selector,
    at: DateTime<Utc>,
    (lookback, resolution): (Duration, Duration),
    reach: Reach<'_>,
) -> (Result<Vec<Stopped>, PrometheusError>, QueryLog) {
    let resolution = resolution.max(Duration::from_secs(1));
    let build = |selector: &Selector| {
        let presence = presence(selector);
        format!(
            "max by (instance) (max_over_time(timestamp({presence})[{}:{}])) unless on (instance) {presence}",
            crate::promql::format_duration(lookback),
            crate::promql::format_duration(resolution),
        )
    };
    let points = (lookback.as_secs() / resolution.as_secs()).saturating_add(1);
    let asked = Asked {
        recorder: Recorder::new(client),
        selector,
        at,
        reach,
    };
    let mut log = QueryLog::new();
    let newest = |found: &mut Vec<(String, f64)>, mut s: Series| {
        let seconds = value(&s);
        found.extend(s.labels.remove("instance").map(|i| (i, seconds)));
    };
    let per_instance = points.saturating_add(LOOKBACK_SAMPLES);
    let answer = asked
        .fold(
            &mut log,
            ("inventory/stopped", &build),
            per_instance,
            (Vec::new(), newest, Vec::len),
        )
        .await;
    (answer.map(stopped_of), log)
}

/// The stopped instances from their newest samples' times (Unix seconds), the latest first.
fn stopped_of(newest: Vec<(String, f64)>) -> Vec<Stopped> {
    let mut stopped: Vec<Stopped> = newest
        .into_iter()
        .filter_map(|(instance, seconds)| {
            let millis = (seconds * 1000.0).round();
            // Timestamps come from Prometheus; one it cannot represent is dropped, not trusted.
            (millis.is_finite() && millis.abs() < 1e15)
                .then(|| DateTime::from_timestamp_millis(millis as i64))
                .flatten()
                .map(|last_sample| Stopped {
                    instance,
                    last_sample,
                })
        })
        .collect();
    stopped.sort_by(|a, b| {
        b.last_sample
            .cmp(&a.last_sample)
            .then(a.instance.cmp(&b.instance))
    });
    stopped
}

/// What to say about instances whose scraping stopped before `at`: when their newest samples
/// are, naming up to five of them.
pub fn describe_stopped(stopped: &[Stopped], at: DateTime<Utc>) -> Option<String> {
    let newest = stopped.iter().map(|s| s.last_sample).max()?;
    let ago = (at - newest).to_std().unwrap_or_default();
    let ago = crate::promql::format_duration(Duration::from_secs(ago.as_secs() / 60 * 60));
    let mut names: Vec<String> = stopped
        .iter()
        .take(5)
        .map(|s| {
            format!(
                "{} (last sample {})",
                s.instance,
                s.last_sample.format("%Y-%m-%d %H:%M UTC")
            )
        })
        .collect();
    if stopped.len() > 5 {
        names.push(format!("{} more", stopped.len() - 5));
    }
    Some(format!(
        "node_exporter data stopped: {} {} no sample at {} but had samples before; the newest is from {} ({ago} earlier), so scraping stopped (target down, exporter stopped, or relabelled away): {}",
        stopped.len(),
        if stopped.len() == 1 { "instance has" } else { "instances have" },
        at.format("%Y-%m-%d %H:%M UTC"),
        newest.format("%Y-%m-%d %H:%M:%S UTC"),
        names.join(", ")
    ))
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
    pub log: QueryLog,
}

/// The rest of the inventory, which only the report's coverage needs: Prometheus' build, the
/// exporters' versions and which collectors work where. The analysis asks for it beside the
/// checks rather than before them.
#[derive(Clone, Debug, PartialEq)]
pub struct Details {
    server: ServerInfo,
    exporter_versions: BTreeMap<String, usize>,
    collectors: Vec<CollectorCoverage>,
    missing: BTreeMap<String, Vec<MissingCollector>>,
    /// The queries sent, for the report.
    pub log: QueryLog,
}

impl Inventory {
    /// The inventory made of its two parts (their queries are left to the caller).
    pub fn of(basics: &Basics, details: Details) -> Self {
        Inventory {
            server: details.server,
            instances: basics.instances.clone(),
            exporter_versions: details.exporter_versions,
            scrape_interval: basics.scrape_interval,
            collectors: details.collectors,
            missing: details.missing,
        }
    }
}

impl Inventory {
    /// What is known of instances seen only in a dashboard's panels: their names and the data
    /// source's scrape interval, nothing inventoried.
    pub fn seen(instances: Vec<String>, scrape_interval: Duration) -> Self {
        Inventory {
            server: ServerInfo::default(),
            instances,
            exporter_versions: BTreeMap::new(),
            scrape_interval: Some(scrape_interval),
            collectors: Vec::new(),
            missing: BTreeMap::new(),
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
    let reach = Reach {
        instances: &basics.instances,
        budget: crate::samples::DEFAULT_SAMPLE_BUDGET,
    };
    let details = self::details(client, catalog, selector, at, reach).await?;
    Ok(Inventory::of(&basics, details))
}

/// The instances of the selection at `at` and their scrape interval.
pub async fn basics(
    client: &Client,
    selector: &Selector,
    at: DateTime<Utc>,
) -> Result<Basics, PrometheusError> {
    let presence = presence(selector);
    let recorder = Recorder::new(client);
    // The scrape interval needs two round trips (a few instances, then their raw samples); the
    // instance list is asked for meanwhile.
    let interval = async {
        let mut log = QueryLog::new();
        let sample_query = format!("topk(3, group by (instance) ({presence}))");
        let sampled = recorder
            .instant(&mut log, "inventory/sample", &sample_query, at)
            .await;
        let sampled = match sampled {
            Ok(value) => label_values(value, "instance"),
            Err(e) => return (Err(e), log),
        };
        if sampled.is_empty() {
            return (Ok(None), log);
        }
        let interval = scrape_interval(&recorder, &mut log, selector, &sampled, at).await;
        (interval, log)
    };
    // Folded as it streams in: decoded whole, 10,000 instances' label maps took several MiB.
    let instances = async {
        let mut log = QueryLog::new();
        let query = format!("group by (instance) ({presence})");
        let name =
            |names: &mut Vec<String>, mut s: Series| names.extend(s.labels.remove("instance"));
        let answer = recorder
            .fold(
                &mut log,
                "inventory",
                &query,
                Over::Instant(at),
                Vec::new(),
                name,
                Vec::len,
            )
            .await;
        (answer, log)
    };
    let ((instances, mut log), (interval, interval_log), ()) =
        tokio::join!(instances, interval, client.fit_bound_to_server());
    log.extend(interval_log);
    let mut instances = instances?;
    instances.sort();
    instances.dedup();
    Ok(Basics {
        instances,
        scrape_interval: interval?,
        log,
    })
}

/// Series of `node_scrape_collector_success` one node_exporter exposes, for planning the
/// collectors query's groups: about 40 collectors are enabled by default, a few more by flags.
const COLLECTORS_PER_INSTANCE: u64 = 48;

/// Prometheus' build, the exporters' versions and the collectors' coverage over `reach`'s
/// instances. Each query is sent in instance groups when it is larger than the budget or the
/// engine refuses it whole; one the engine refuses even in the smallest groups leaves its part
/// of the inventory unknown, with a notice, rather than failing the analysis.
pub async fn details(
    client: &Client,
    catalog: &Catalog,
    selector: &Selector,
    at: DateTime<Utc>,
    reach: Reach<'_>,
) -> Result<Details, PrometheusError> {
    let asked = Asked {
        recorder: Recorder::new(client),
        selector,
        at,
        reach,
    };
    let (mut versions_log, mut status_log, mut failing_log) =
        (QueryLog::new(), QueryLog::new(), QueryLog::new());
    let (build, versions, status, failing) = tokio::join!(
        client.server_info(),
        exporter_versions(&asked, &mut versions_log),
        CollectorStatus::fetch(&asked, &mut status_log),
        failing_collectors(&asked, catalog, &mut failing_log),
    );
    let server = build?;
    let mut log = versions_log;
    let unknown = "the node_exporter versions are unknown";
    let exporter_versions = degraded(&mut log, "inventory/versions", unknown, versions)?;
    log.extend(status_log);
    let unknown = "which collectors work where is unknown (no coverage gaps are reported)";
    let status = degraded(&mut log, "inventory/collectors", unknown, status)?.flatten();
    log.extend(failing_log);
    let unknown = "which instances' collectors fail is unknown";
    let mut missing = degraded(&mut log, "inventory/failing", unknown, failing)?;
    let missing_known = missing.get_or_insert_with(BTreeMap::new);
    let collectors = match status {
        Some(status) => {
            let lacking = Lacking { asked, catalog };
            lacking.collectors(&status, missing_known, &mut log).await?
        }
        None => Vec::new(),
    };
    let mut missing = missing.unwrap_or_default();
    for list in missing.values_mut() {
        list.sort_by(|a, b| a.name.cmp(&b.name));
        list.dedup_by(|a, b| a.name == b.name);
    }
    Ok(Details {
        server,
        exporter_versions: exporter_versions.unwrap_or_default(),
        collectors,
        missing,
        log,
    })
}

/// node_exporter versions and how many instances run each: the groups' counts add up.
async fn exporter_versions(
    asked: &Asked<'_>,
    log: &mut QueryLog,
) -> Result<BTreeMap<String, usize>, PrometheusError> {
    let build = |s: &Selector| format!("count by (version) (node_exporter_build_info{{{s}}})");
    let add = |counts: &mut BTreeMap<String, f64>, s: Series| {
        if let Some(version) = s.labels.get("version") {
            *counts.entry(version.clone()).or_insert(0.0) += value(&s).max(0.0);
        }
    };
    let start = (BTreeMap::new(), add, BTreeMap::len as fn(&_) -> usize);
    let purpose = (
        "inventory/versions",
        &build as &(dyn Fn(&Selector) -> String + Sync),
    );
    let counts = asked.fold(log, purpose, LOOKBACK_SAMPLES, start).await?;
    Ok(counts.into_iter().map(|(k, v)| (k, v as usize)).collect())
}

/// Per collector, how many instances report it working and how many report it at all.
#[derive(Clone, Default)]
struct CollectorStatus {
    working: BTreeMap<String, f64>,
    reporting: BTreeMap<String, f64>,
}

impl CollectorStatus {
    /// Both counts from one `count_values` query (success 1 and 0 per collector), the groups'
    /// counts added up; `None` when no instance reports collector status.
    async fn fetch(asked: &Asked<'_>, log: &mut QueryLog) -> Result<Option<Self>, PrometheusError> {
        let build = |s: &Selector| {
            format!(
                "count_values by (collector) (\"success\", node_scrape_collector_success{{{s}}})"
            )
        };
        let kept: fn(&Self) -> usize = |s| s.reporting.len();
        let start = (Self::default(), Self::add, kept);
        let per_instance = COLLECTORS_PER_INSTANCE * LOOKBACK_SAMPLES;
        let status = asked
            .fold(log, ("inventory/collectors", &build), per_instance, start)
            .await?;
        Ok((!status.reporting.is_empty()).then_some(status))
    }

    /// Add one `{collector, success}` count.
    fn add(&mut self, sample: Series) {
        let (Some(collector), Some(success)) =
            (sample.labels.get("collector"), sample.labels.get("success"))
        else {
            return;
        };
        let n = value(&sample).max(0.0);
        *self.reporting.entry(collector.clone()).or_insert(0.0) += n;
        if success == "1" {
            *self.working.entry(collector.clone()).or_insert(0.0) += n;
        }
    }

    fn working(&self, collector: &str) -> usize {
        self.working.get(collector).copied().unwrap_or(0.0) as usize
    }

    fn reported(&self, collector: &str) -> usize {
        self.reporting.get(collector).copied().unwrap_or(0.0) as usize
    }
}

/// Instances whose relied-on collectors report failure, by instance: the groups' lists joined.
async fn failing_collectors(
    asked: &Asked<'_>,
    catalog: &Catalog,
    log: &mut QueryLog,
) -> Result<BTreeMap<String, Vec<MissingCollector>>, PrometheusError> {
    let relied: Vec<&str> = catalog
        .collectors()
        .iter()
        .map(|c| c.name.as_str())
        .collect();
    let matcher = Matcher::any_of("collector", &relied).ok();
    let build = move |s: &Selector| {
        let only = matcher.iter().fold(s.clone(), |s, m| s.with(m.clone()));
        format!("node_scrape_collector_success{{{only}}} == 0")
    };
    let add = |missing: &mut BTreeMap<String, Vec<MissingCollector>>, mut s: Series| {
        if let (Some(instance), Some(name)) =
            (s.labels.remove("instance"), s.labels.remove("collector"))
        {
            missing.entry(instance).or_default().push(MissingCollector {
                name,
                failing: true,
            });
        }
    };
    let start = (BTreeMap::new(), add, BTreeMap::len as fn(&_) -> usize);
    let per_instance = (relied.len() as u64).max(1) * LOOKBACK_SAMPLES;
    asked
        .fold(log, ("inventory/failing", &build), per_instance, start)
        .await
}

/// Which instances lack which collector entirely.
struct Lacking<'a> {
    asked: Asked<'a>,
    catalog: &'a Catalog,
}

impl Lacking<'_> {
    /// Every relied-on collector's coverage; the instances lacking one join `missing`. One
    /// query per collector that some but not all instances report, all at once.
    async fn collectors(
        &self,
        status: &CollectorStatus,
        missing: &mut BTreeMap<String, Vec<MissingCollector>>,
        log: &mut QueryLog,
    ) -> Result<Vec<CollectorCoverage>, PrometheusError> {
        let count = self.asked.reach.instances.len();
        let asked = self.catalog.collectors().iter().map(|c| async move {
            let mut log = QueryLog::new();
            let lacking = self.instances_lacking(&c.name, status.reported(&c.name), &mut log);
            (lacking.await, log)
        });
        let answers = futures_util::future::join_all(asked).await;
        let mut collectors = Vec::new();
        for (c, (lacking, asked_log)) in self.catalog.collectors().iter().zip(answers) {
            log.extend(asked_log);
            let purpose = format!("inventory/lacking {}", c.name);
            let unknown = format!("which instances lack the {} collector is unknown", c.name);
            for instance in degraded(log, &purpose, &unknown, lacking)?.unwrap_or_default() {
                missing.entry(instance).or_default().push(MissingCollector {
                    name: c.name.clone(),
                    failing: false,
                });
            }
            let (ok, reported) = (status.working(&c.name), status.reported(&c.name));
            collectors.push(CollectorCoverage {
                name: c.name.clone(),
                lost: c.lost.clone(),
                default_enabled: c.default_enabled,
                working: ok,
                failing: reported.saturating_sub(ok),
                absent: count.saturating_sub(reported),
            });
        }
        Ok(collectors)
    }

    /// The instances not reporting `collector` (`reported` of them do); the groups' lists
    /// joined (`unless on (instance)` keeps each instance in its own group).
    async fn instances_lacking(
        &self,
        collector: &str,
        reported: usize,
        log: &mut QueryLog,
    ) -> Result<Vec<String>, PrometheusError> {
        let instances = self.asked.reach.instances;
        if reported == 0 {
            return Ok(instances.to_vec());
        }
        if reported >= instances.len() {
            return Ok(Vec::new());
        }
        let only = Matcher {
            name: "collector".into(),
            op: MatchOp::Equal,
            value: collector.to_string(),
        };
        let build = move |s: &Selector| {
            format!(
                "group by (instance) ({}) unless on (instance) node_scrape_collector_success{{{}}}",
                presence(s),
                s.clone().with(only.clone())
            )
        };
        let name =
            |names: &mut Vec<String>, mut s: Series| names.extend(s.labels.remove("instance"));
        let start = (Vec::new(), name, Vec::len as fn(&_) -> usize);
        let purpose = format!("inventory/lacking {collector}");
        self.asked
            .fold(log, (&purpose, &build), 2 * LOOKBACK_SAMPLES, start)
            .await
    }
}

/// Median spacing of raw samples over the last 10 minutes of a few instances.
async fn scrape_interval(
    recorder: &Recorder<'_>,
    log: &mut QueryLog,
    selector: &Selector,
    instances: &[String],
    at: DateTime<Utc>,
) -> Result<Option<Duration>, PrometheusError> {
    let Ok(matcher) = Matcher::any_of("instance", instances) else {
        return Ok(None);
    };
    let query = format!("{}[10m]", presence(&selector.clone().with(matcher)));
    let answer = recorder
        .instant(log, "inventory/scrape interval", &query, at)
        .await?;
    let InstantValue::Matrix(series) = answer else {
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

fn label_values(value: InstantValue, label: &str) -> Vec<String> {
    value
        .into_vector()
        .into_iter()
        .filter_map(|s| s.labels.get(label).cloned())
        .collect()
}
