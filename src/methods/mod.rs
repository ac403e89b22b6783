//! The methodologies beyond USE ("Systems Performance 2nd ed., Ch. 2 Methodologies: 2.5 Methodology"): they turn "the disk is
//! saturated" into "since 14:05 writes tripled, 80 % of them from `postgres`, p99 write latency
//! went from 2 ms to 40 ms, and host-17 is the only one of 50 like this".
//!
//! | Module | Method | Reads |
//! |---|---|---|
//! | [`workload`] | workload characterization and the built-in latencies: each measure of `workload.toml` in the window against the window before it (and yesterday's) | one range query per measure |
//! | [`drilldown`] | the level below every USE finding: per CPU, per interface, top processes and containers | one query per level of `drilldown.toml`, for the flagged hosts only |
//! | [`latency`] | a histogram chosen in the query: percentiles with their error bounds, trend, distribution, mean, SLO | a handful of queries per histogram |
//! | [`outliers`] | hosts that deviate robustly from their peers (median / MAD) | the USE run's own values, no query |
//!
//! [`histogram`] and [`crate::stats`] are the pure arithmetic underneath, tested alone.
//! Every method returns insights in the same model as the USE method; the engine merges them.

pub mod drilldown;
pub mod histogram;
pub mod latency;
pub mod outliers;
pub mod workload;

use std::fmt;

use thiserror::Error;

use crate::{
    promql::{is_label_name, Selector, SelectorError},
    samples::{QueryLog, Recorder, Timing},
};

/// One of Gregg's methodologies the analysis can run.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Method {
    /// Utilization, saturation and errors of every resource.
    Use,
    /// What the load is and how it changed against a baseline.
    Workload,
    /// The level below each USE finding.
    Drilldown,
    /// Latency distributions: a chosen histogram and the built-in latencies.
    Latency,
    /// Hosts unlike their peers.
    Outliers,
}

impl Method {
    /// Every method, in report order.
    pub const ALL: [Method; 5] = [
        Method::Use,
        Method::Workload,
        Method::Drilldown,
        Method::Latency,
        Method::Outliers,
    ];

    /// The name used on the command line and in queries.
    pub fn as_str(self) -> &'static str {
        match self {
            Method::Use => "use",
            Method::Workload => "workload",
            Method::Drilldown => "drilldown",
            Method::Latency => "latency",
            Method::Outliers => "outliers",
        }
    }

    /// Parse a comma-separated list (`use,workload`); `all` means every method.
    pub fn parse_list(text: &str) -> Result<Vec<Method>, MethodError> {
        let mut methods = Vec::new();
        for name in text.split(',').map(str::trim).filter(|n| !n.is_empty()) {
            if name.eq_ignore_ascii_case("all") {
                return Ok(Method::ALL.to_vec());
            }
            let method = Method::ALL
                .into_iter()
                .find(|m| m.as_str().eq_ignore_ascii_case(name))
                .ok_or_else(|| MethodError::UnknownMethod(name.to_string()))?;
            if !methods.contains(&method) {
                methods.push(method);
            }
        }
        if methods.is_empty() {
            return Err(MethodError::UnknownMethod(text.to_string()));
        }
        methods.sort();
        Ok(methods)
    }
}

impl fmt::Display for Method {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A latency objective: `target_percent` of observations within `threshold_seconds`.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Slo {
    /// The latency bound, seconds.
    pub threshold_seconds: f64,
    /// The share of observations that must be within it, percent (e.g. 99.9).
    pub target_percent: f64,
}

impl Slo {
    /// Parse `THRESHOLD@TARGET`: `0.25@99`, `250ms@99.9` (a bare number is seconds).
    pub fn parse(text: &str) -> Result<Slo, MethodError> {
        let bad = || MethodError::BadSlo(text.to_string());
        let (threshold, target) = text.split_once('@').ok_or_else(bad)?;
        let threshold = threshold.trim();
        let threshold_seconds = match threshold.parse::<f64>() {
            Ok(v) => v,
            Err(_) => crate::promql::parse_duration(threshold)
                .map_err(|_| bad())?
                .as_secs_f64(),
        };
        let target_percent: f64 = target
            .trim()
            .trim_end_matches('%')
            .parse()
            .map_err(|_| bad())?;
        let valid = threshold_seconds > 0.0
            && threshold_seconds.is_finite()
            && target_percent > 0.0
            && target_percent < 100.0;
        if !valid {
            return Err(bad());
        }
        Ok(Slo {
            threshold_seconds,
            target_percent,
        })
    }
}

impl fmt::Display for Slo {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}@{}", self.threshold_seconds, self.target_percent)
    }
}

/// A histogram to analyse: its name and the series to include.
#[derive(Clone, Debug, PartialEq)]
pub struct HistogramRequest {
    /// The metric's base name (without `_bucket`).
    pub metric: String,
    /// Label matchers restricting its series (the target selector does not apply: the
    /// histogram comes from applications, not from node_exporter).
    pub matchers: Selector,
    /// The objective to check, if any.
    pub slo: Option<Slo>,
}

impl HistogramRequest {
    /// Parse `metric` or `metric{matchers}`; a trailing `_bucket` is dropped.
    pub fn parse(text: &str, slo: Option<Slo>) -> Result<HistogramRequest, MethodError> {
        let text = text.trim();
        let (name, matchers) = match text.split_once('{') {
            Some((name, rest)) => {
                let inner = rest
                    .strip_suffix('}')
                    .ok_or_else(|| MethodError::BadHistogram(text.to_string()))?;
                (name.trim(), Selector::parse(inner)?)
            }
            None => (text, Selector::empty()),
        };
        let name = name.strip_suffix("_bucket").unwrap_or(name);
        let valid =
            !name.is_empty() && is_label_name(&name.replace(':', "_")) && !name.starts_with("__");
        if !valid {
            return Err(MethodError::BadHistogram(text.to_string()));
        }
        Ok(HistogramRequest {
            metric: name.to_string(),
            matchers,
            slo,
        })
    }
}

/// What the methods beyond USE are asked to do.
#[derive(Clone, Debug, PartialEq)]
pub struct MethodsRequest {
    /// The methods to run.
    pub methods: Vec<Method>,
    /// A histogram for latency analysis.
    pub histogram: Option<HistogramRequest>,
    /// The label grouping hosts into peers for outliers.
    pub group_by: String,
}

impl Default for MethodsRequest {
    fn default() -> Self {
        MethodsRequest {
            methods: Method::ALL.to_vec(),
            histogram: None,
            group_by: "job".into(),
        }
    }
}

impl MethodsRequest {
    /// Only the USE method (the plugin's USE summary needs no more).
    pub fn use_only() -> Self {
        MethodsRequest {
            methods: vec![Method::Use],
            ..Default::default()
        }
    }

    /// Is `method` requested?
    pub fn runs(&self, method: Method) -> bool {
        self.methods.contains(&method)
    }
}

/// A method option that cannot be used.
#[derive(Debug, Error)]
pub enum MethodError {
    /// Not one of the method names.
    #[error("unknown method `{0}`; use a comma-separated list of use, workload, drilldown, latency, outliers (or all)")]
    UnknownMethod(String),
    /// An SLO that does not parse.
    #[error("SLO `{0}` is not THRESHOLD@TARGET with a threshold above 0 and a target between 0 and 100, e.g. 0.25@99 or 250ms@99.9")]
    BadSlo(String),
    /// A histogram name that is not a metric name.
    #[error("histogram `{0}` is not a metric name with optional matchers, e.g. http_request_duration_seconds{{job=\"api\"}}")]
    BadHistogram(String),
    /// Matchers that do not parse.
    #[error("histogram matchers: {0}")]
    Matchers(#[from] SelectorError),
    /// A grouping label that is not a label name.
    #[error("group-by `{0}` is not a label name")]
    BadGroupLabel(String),
}

/// Check a grouping label.
pub fn group_label(text: &str) -> Result<String, MethodError> {
    let text = text.trim();
    if is_label_name(text) {
        Ok(text.to_string())
    } else {
        Err(MethodError::BadGroupLabel(text.to_string()))
    }
}

/// The host part of an instance (`db-1:9100` → `db-1`, `[::1]:9100` → `[::1]`): exporters on
/// the same host share it.
pub fn host_of(instance: &str) -> &str {
    match instance.rsplit_once(':') {
        Some((host, port)) if !port.is_empty() && port.bytes().all(|b| b.is_ascii_digit()) => host,
        _ => instance,
    }
}

/// An `instance` matcher for these hosts on any port.
pub fn hosts_matcher<'a>(hosts: impl IntoIterator<Item = &'a str>) -> String {
    let mut alternatives: Vec<String> =
        hosts.into_iter().map(crate::promql::regex_escape).collect();
    alternatives.sort();
    alternatives.dedup();
    format!(
        "instance=~{}",
        crate::promql::quote(&format!("({})(:[0-9]+)?", alternatives.join("|")))
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn methods_parse_in_report_order() {
        assert_eq!(
            Method::parse_list("outliers, use").unwrap(),
            [Method::Use, Method::Outliers]
        );
        assert_eq!(Method::parse_list("all").unwrap(), Method::ALL);
        assert!(Method::parse_list("use,magic").is_err());
        assert!(Method::parse_list("").is_err());
    }

    #[test]
    fn slo_and_histogram_options() {
        let slo = Slo::parse("250ms@99.9").unwrap();
        assert_eq!((slo.threshold_seconds, slo.target_percent), (0.25, 99.9));
        assert_eq!(Slo::parse("0.3@99%").unwrap().threshold_seconds, 0.3);
        for bad in ["0.25", "0@99", "1@100", "x@99", "1@"] {
            assert!(Slo::parse(bad).is_err(), "{bad}");
        }
        let h = HistogramRequest::parse(r#"http_request_duration_seconds_bucket{job="api"}"#, None)
            .unwrap();
        assert_eq!(h.metric, "http_request_duration_seconds");
        assert_eq!(h.matchers.to_string(), r#"job="api""#);
        for bad in ["", "9lives", "x{job=}", "x{job=\"a\"", "a b"] {
            assert!(HistogramRequest::parse(bad, None).is_err(), "{bad}");
        }
    }

    #[test]
    fn hosts_match_any_port() {
        assert_eq!(host_of("db-1:9100"), "db-1");
        assert_eq!(host_of("[::1]:9100"), "[::1]");
        assert_eq!(host_of("db-1"), "db-1");
        assert_eq!(
            hosts_matcher(["b.x", "a", "a"]),
            r#"instance=~"(a|b\\.x)(:[0-9]+)?""#
        );
    }
}

/// What every method reads: the recording client, the catalog, the time grid and the targets.
pub struct Context<'a> {
    /// Prometheus, every query recorded.
    pub recorder: Recorder<'a>,
    /// Measures, drill-down levels, peers and checks.
    pub catalog: &'a crate::catalog::Catalog,
    /// The analysis' time grid.
    pub timing: &'a Timing,
    /// The target selector.
    pub selector: &'a Selector,
    /// node_exporter instances in the selection.
    pub instances: &'a [String],
    /// Samples one query may load: a larger per-instance measure is sent in instance groups.
    pub sample_budget: u64,
}

/// What a method adds to the analysis.
#[derive(Debug, Default)]
pub struct Output {
    /// Its findings.
    pub insights: Vec<crate::insight::Insight>,
    /// The queries it sent, and what it skipped and why (no baseline, no histogram data…),
    /// for notices.
    pub log: QueryLog,
}

impl Output {
    /// Merge another method's output.
    pub fn extend(&mut self, other: Output) {
        self.insights.extend(other.insights);
        self.log.extend(other.log);
    }
}

/// An instant query, recorded in `log`: its samples.
async fn instant(
    ctx: &Context<'_>,
    log: &mut QueryLog,
    purpose: String,
    promql: &str,
    at: chrono::DateTime<chrono::Utc>,
) -> Result<Vec<crate::prometheus::Sample>, crate::prometheus::PrometheusError> {
    let answer = ctx.recorder.instant(log, purpose, promql, at).await?;
    Ok(answer.into_vector())
}

/// Unix seconds of a time.
fn unix(t: chrono::DateTime<chrono::Utc>) -> f64 {
    t.timestamp() as f64 + f64::from(t.timestamp_subsec_millis()) / 1000.0
}

/// A Unix time for sentences (`14:05 UTC`) and insights.
fn time_of(seconds: f64) -> Option<chrono::DateTime<chrono::Utc>> {
    chrono::DateTime::from_timestamp(seconds.floor() as i64, 0)
}
