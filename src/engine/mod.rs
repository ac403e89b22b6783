//! The analysis: render the catalog's queries, fetch them, judge the samples, tell the story.
//!
//! `analyze` is the single entry point shared by the plugin and the CLI. It is pure apart from
//! the Prometheus client it is handed: same data in, same insights out.

mod narrative;
mod run;

use std::time::Duration;

use chrono::{DateTime, Utc};
use serde::Serialize;
use thiserror::Error;

pub use run::analyze;

use crate::{
    catalog::ThresholdOverrides, insight::Insight, inventory::Inventory,
    prometheus::PrometheusError, promql::Selector,
};

/// What to analyse.
#[derive(Clone, Debug)]
pub struct AnalysisRequest {
    /// Evaluation time (the end of the dashboard's range, or now).
    pub at: DateTime<Utc>,
    /// Rate window and look-back for every check.
    pub window: Duration,
    /// Which targets (data source selector plus query filters).
    pub selector: Selector,
    /// Threshold overrides (already validated against the catalog).
    pub thresholds: ThresholdOverrides,
    /// Run only these check ids; all checks when `None`.
    pub checks: Option<Vec<String>>,
    /// Also take the inventory (versions, scrape interval, collector coverage).
    pub with_inventory: bool,
}

impl AnalysisRequest {
    /// Every check, with inventory, at `at` over `window`.
    pub fn new(at: DateTime<Utc>, window: Duration, selector: Selector) -> Self {
        Self {
            at,
            window,
            selector,
            thresholds: ThresholdOverrides::new(),
            checks: None,
            with_inventory: true,
        }
    }
}

/// Where a value stands against its check's thresholds.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Level {
    /// Below the warning threshold.
    Ok,
    /// Past the warning threshold.
    Warning,
    /// Past the critical threshold.
    Critical,
}

impl Level {
    /// Lowercase name.
    pub fn as_str(self) -> &'static str {
        match self {
            Level::Ok => "ok",
            Level::Warning => "warning",
            Level::Critical => "critical",
        }
    }
}

/// One measured value of one check on one target.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Observation {
    /// The target's `instance` label.
    pub instance: String,
    /// Device, mount point or interface, for per-device checks.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub device: Option<String>,
    /// The value, in the check's unit.
    pub value: f64,
    /// Its level.
    pub level: Level,
}

/// Everything one check produced.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct CheckOutcome {
    /// Check id.
    pub check: String,
    /// The PromQL that ran.
    pub query: String,
    /// One value per target (and device), sorted worst first.
    pub observations: Vec<Observation>,
    /// Why the check could not run, when it could not.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

/// A query that was sent, for the query inspector and for benchmarks.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct ExecutedQuery {
    /// What it was for: a check id, or `check id/evidence name`.
    pub purpose: String,
    /// The PromQL.
    pub promql: String,
    /// Series returned.
    pub series: usize,
    /// Wall time.
    #[serde(serialize_with = "serialize_secs")]
    pub duration: Duration,
}

fn serialize_secs<S: serde::Serializer>(d: &Duration, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_f64(d.as_secs_f64())
}

/// The result of one analysis.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Analysis {
    /// Evaluation time.
    pub at: DateTime<Utc>,
    /// Window used.
    #[serde(serialize_with = "serialize_secs")]
    pub window: Duration,
    /// Prometheus URL (no credentials).
    pub prometheus_url: String,
    /// Target selector used.
    pub selector: String,
    /// What Prometheus offers, when requested.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub inventory: Option<Inventory>,
    /// Per-check results, in catalog order.
    pub outcomes: Vec<CheckOutcome>,
    /// Findings, most urgent first.
    pub insights: Vec<Insight>,
    /// Every query sent.
    pub queries: Vec<ExecutedQuery>,
    /// Prometheus warnings (partial data and the like).
    pub warnings: Vec<String>,
}

impl Analysis {
    /// The outcome of `check`, if it ran.
    pub fn outcome(&self, check: &str) -> Option<&CheckOutcome> {
        self.outcomes.iter().find(|o| o.check == check)
    }
}

/// Why an analysis could not run at all (single check failures are reported per check).
#[derive(Debug, Error)]
pub enum AnalysisError {
    /// Prometheus could not be used.
    #[error(transparent)]
    Prometheus(#[from] PrometheusError),
    /// A check id that the catalog does not have.
    #[error("unknown check `{0}`")]
    UnknownCheck(String),
}
