//! The analysis: the USE method over every resource of every target, from PromQL to insights.
//!
//! ```text
//!  inventory ─► timing ─► checks (concurrent range/instant queries, streamed and judged
//!                          per series) ─► fallback chains ─► diagnosis (bottleneck = U + S on
//!                          time-shared resources; capacity and errors alone) ─► narrative
//!                          ─► insights (+ coverage insights per instance)
//! ```
//!
//! `analyze` is the single entry point shared by the plugin and the CLI. It is pure apart from
//! the Prometheus client it is handed. The number of queries is set by the catalog, not by the
//! number of hosts; memory per check is bounded by the findings, not by the answer's size.

mod coverage;
mod diagnose;
mod evaluate;
mod fetch;
pub mod levels;
mod narrative;
mod plan;
mod quality;
mod run;
mod timing;

use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use serde::Serialize;
use thiserror::Error;

pub use evaluate::{Level, Run};
pub use fetch::render as render_query;
pub use levels::Levels;
pub use narrative::format_evidence;
pub(crate) use narrative::narrowed_selector;
pub use run::analyze;
pub use timing::Timing;

use crate::{
    catalog::ThresholdOverrides,
    insight::{Component, Insight},
    inventory::Inventory,
    methods::{latency::HistogramSummary, workload::MeasureSummary, MethodsRequest},
    prometheus::PrometheusError,
    promql::Selector,
};

/// What to analyse.
#[derive(Clone, Debug)]
pub struct AnalysisRequest {
    /// Evaluation time: the end of the window (the end of the dashboard's range, or now).
    pub at: DateTime<Utc>,
    /// The window over which conditions must be sustained.
    pub window: Duration,
    /// Which targets (data source selector plus query filters).
    pub selector: Selector,
    /// Threshold overrides (validated against the catalog by the caller).
    pub thresholds: ThresholdOverrides,
    /// Run only these check ids; all checks when `None`.
    pub checks: Option<Vec<String>>,
    /// Run only checks of these components; all when `None`.
    pub components: Option<Vec<Component>>,
    /// Keep per-target observations of these checks (tables like `use_summary` need them);
    /// other checks only keep their findings and a summary, to bound memory on large fleets.
    pub observe: Vec<String>,
    /// Keep every check's worst target per instance, compactly ([`Levels`]): what the tables
    /// over the whole selection (`use_matrix`, `alert`) need, at 8 bytes per instance × check.
    pub keep_levels: bool,
    /// The methods to run beyond USE (all by default) and their options.
    pub methods: MethodsRequest,
    /// Judge over a grid with this step instead of ten points per window (a dashboard's whole
    /// range, for annotations and timelines), and keep every period each condition held.
    pub range_step: Option<Duration>,
}

impl AnalysisRequest {
    /// Every check at `at` over `window` for the targets of `selector`.
    pub fn new(at: DateTime<Utc>, window: Duration, selector: Selector) -> Self {
        Self {
            at,
            window,
            selector,
            thresholds: ThresholdOverrides::new(),
            checks: None,
            components: None,
            observe: Vec::new(),
            keep_levels: false,
            methods: MethodsRequest::default(),
            range_step: None,
        }
    }
}

/// One judged target of one check.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Observation {
    /// The target's `instance` label.
    pub instance: String,
    /// Device, mount point or interface, for per-device checks.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub device: Option<String>,
    /// Mean over the window, in the check's unit.
    pub value: f64,
    /// The worst value in the window.
    pub peak: f64,
    /// Sustained level.
    pub level: Level,
}

/// What one check produced.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct CheckOutcome {
    /// Check id.
    pub check: String,
    /// The PromQL that ran.
    pub query: String,
    /// Targets (instance, device) with data.
    pub targets: usize,
    /// Targets past a threshold, sustained.
    pub breaches: usize,
    /// The worst target.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub worst: Option<Observation>,
    /// Every target, worst first, when requested.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub observations: Vec<Observation>,
    /// Why the check could not run.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// Why it ran for fewer targets than the selection (a weaker fallback signal runs only
    /// where the preferred one has no data or found something).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
}

/// A query that was sent, for the query inspector and for benchmarks.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct ExecutedQuery {
    /// What it was for: a check id, `check/guard`, `check/evidence name`, or `inventory`.
    pub purpose: String,
    /// The PromQL.
    pub promql: String,
    /// `range` or `instant`.
    pub kind: &'static str,
    /// Series returned.
    pub series: usize,
    /// Wall time.
    #[serde(serialize_with = "serialize_secs")]
    pub duration: Duration,
    /// When it was sent, after the analysis started: with `duration`, a waterfall of the run.
    #[serde(rename = "sent_after", serialize_with = "serialize_secs")]
    pub offset: Duration,
    /// When it was sent (`offset` is derived from it once the analysis ends).
    #[serde(skip)]
    pub sent: Instant,
}

impl ExecutedQuery {
    /// The record of a query about to be sent: its duration and series are filled in when the
    /// answer is in.
    pub fn sent(purpose: impl Into<String>, promql: &str, kind: &'static str) -> Self {
        Self {
            purpose: purpose.into(),
            promql: promql.to_string(),
            kind,
            series: 0,
            duration: Duration::ZERO,
            offset: Duration::ZERO,
            sent: Instant::now(),
        }
    }

    /// Send `promql` as an instant query at `at`: the answer and its record.
    pub async fn instant(
        client: &crate::prometheus::Client,
        purpose: impl Into<String>,
        promql: &str,
        at: DateTime<Utc>,
    ) -> (
        Result<crate::prometheus::InstantValue, PrometheusError>,
        Self,
    ) {
        let mut record = Self::sent(purpose, promql, "instant");
        let answer = client.query(promql, at).await.map(|a| a.data);
        record.duration = record.sent.elapsed();
        record.series = match &answer {
            Ok(crate::prometheus::InstantValue::Vector(v)) => v.len(),
            Ok(crate::prometheus::InstantValue::Matrix(m)) => m.len(),
            _ => 0,
        };
        (answer, record)
    }
}

fn serialize_secs<S: serde::Serializer>(d: &Duration, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_f64(d.as_secs_f64())
}

/// The result of one analysis.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Analysis {
    /// The time grid used.
    #[serde(skip)]
    pub timing: Timing,
    /// Prometheus URL (no credentials).
    pub prometheus_url: String,
    /// Target selector used.
    pub selector: String,
    /// Requests in flight to Prometheus at once at most: the configured bound, lowered to
    /// Prometheus' cores plus one where it says how many it has.
    pub concurrency: usize,
    /// What Prometheus offers.
    pub inventory: Inventory,
    /// Per-check results, in catalog order.
    pub outcomes: Vec<CheckOutcome>,
    /// Findings, most urgent first (coverage insights included).
    pub insights: Vec<Insight>,
    /// Every query sent.
    pub queries: Vec<ExecutedQuery>,
    /// Prometheus warnings (partial data and the like), and what a method skipped and why.
    pub warnings: Vec<String>,
    /// Workload and latency measures across the selection, window against baseline.
    #[serde(skip)]
    pub workload: Vec<MeasureSummary>,
    /// The histogram analysed, when one was asked for.
    #[serde(skip)]
    pub latency: Option<HistogramSummary>,
    /// Every period a check's condition held, for range analyses (`range_step`).
    #[serde(skip)]
    pub episodes: Vec<Episode>,
    /// Each check's worst target per instance, when the request asked to keep them.
    #[serde(skip)]
    pub levels: Levels,
}

/// A period during which one check's condition held on one target.
#[derive(Clone, Debug, PartialEq)]
pub struct Episode {
    /// The check.
    pub check: String,
    /// Its resource.
    pub component: Component,
    /// The target.
    pub instance: String,
    /// Device, mount point or interface.
    pub device: Option<String>,
    /// First point of the period.
    pub start: DateTime<Utc>,
    /// Last point of the period.
    pub end: DateTime<Utc>,
    /// The worst level reached.
    pub level: Level,
    /// The worst value reached, in the check's unit.
    pub peak: f64,
}

impl Analysis {
    /// Approximate bytes this analysis holds (what a cache of analyses weighs): the text of
    /// its insights and queries, the inventory's instances, the kept observations and levels.
    pub fn approximate_bytes(&self) -> usize {
        const STRING: usize = std::mem::size_of::<String>();
        let texts = |v: &[String]| v.iter().map(|s| s.len() + STRING).sum::<usize>();
        let insights: usize = self
            .insights
            .iter()
            .map(|i| {
                std::mem::size_of::<Insight>()
                    + i.id.len()
                    + i.title.len()
                    + i.observation.len()
                    + i.root_cause.len()
                    + i.immediate_action.len()
                    + i.long_term_fix.len()
                    + i.check.len()
                    + texts(&i.investigation_steps)
                    + texts(&i.related_metrics)
                    + i.evidence
                        .iter()
                        .map(|(n, _)| n.len() + STRING + 8)
                        .sum::<usize>()
            })
            .sum();
        let queries: usize = self
            .queries
            .iter()
            .map(|q| std::mem::size_of::<ExecutedQuery>() + q.purpose.len() + q.promql.len())
            .sum();
        let outcomes: usize = self
            .outcomes
            .iter()
            .map(|o| {
                std::mem::size_of::<CheckOutcome>()
                    + o.query.len()
                    + o.observations.len() * (std::mem::size_of::<Observation>() + 32)
            })
            .sum();
        let inventory = texts(&self.inventory.instances)
            + self.inventory.missing.len() * (STRING + 64)
            + self.inventory.collectors.len() * 128;
        insights
            + queries
            + outcomes
            + inventory
            + self.levels.approximate_bytes()
            + self.episodes.len() * (std::mem::size_of::<Episode>() + 64)
            + texts(&self.warnings)
    }

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
