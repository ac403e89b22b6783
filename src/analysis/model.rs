//! The report model: everything one analysis found, as frames, reports and agents read it.

use std::{collections::BTreeMap, time::Instant};

use serde::Serialize;
use thiserror::Error;

use crate::{
    engine::{CheckOutcome, Episode, Levels, UnknownCheck},
    insight::{sort_insights, Insight},
    inventory::{Inventory, MissingCollector},
    methods::{latency::HistogramSummary, workload::MeasureSummary},
    prometheus::{Client, PrometheusError},
    samples::{ExecutedQuery, QueryLog, Timing},
};

use super::{
    plan::Plan,
    stages::{AfterUse, BesideUse},
    AnalysisRequest,
};

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
    /// What a dashboard analysis read, ran and skipped (`None` for other analyses).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub dashboard: Option<DashboardHeader>,
    /// "partial data: N checks' answers carried server warnings (…)" when any check had
    /// answers the server marked as possibly partial: a shard that returned nothing lowers no
    /// finding, so without this line the report would read healthy.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub partial_data: Option<String>,
}

/// The head of a dashboard report: which dashboard, over which range, with which variable
/// values, and what of it was read, run, judged and skipped.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct DashboardHeader {
    /// Uid.
    pub uid: String,
    /// Title.
    pub title: String,
    /// Start of the range.
    pub from: chrono::DateTime<chrono::Utc>,
    /// End of the range.
    pub to: chrono::DateTime<chrono::Utc>,
    /// `(variable, value used)`, in dashboard order.
    pub variables: Vec<(String, String)>,
    /// Panels read.
    pub panels_read: usize,
    /// Panels at least one of whose queries answered and were judged.
    pub panels_judged: usize,
    /// Panels that ran nothing or were not judged (the notes say why).
    pub panels_skipped: usize,
    /// Queries Grafana would send to Prometheus for these panels.
    pub grafana_queries: usize,
    /// Queries sent.
    pub queries_sent: usize,
    /// Queries that answered.
    pub queries_answered: usize,
    /// Instances the panels show.
    pub instances: Vec<String>,
    /// `(data source, instances it showed)` when some panels ran on another Prometheus data
    /// source than the plugin's own (empty otherwise): which data source each instance came
    /// from, and so where its USE context was read.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub data_sources: Vec<(String, Vec<String>)>,
}

/// Bytes of the collectors missing per instance: at 10,000 hosts lacking a few collectors
/// each, some 2.6 MiB (a flat 88 bytes an instance left most of it out).
fn missing_bytes(missing: &BTreeMap<String, Vec<MissingCollector>>) -> usize {
    /// A B-tree entry's share of its node, beside the key and value themselves.
    const NODE_SHARE: usize = 16;
    missing
        .iter()
        .map(|(instance, lacking)| {
            std::mem::size_of::<(String, Vec<MissingCollector>)>()
                + NODE_SHARE
                + instance.len()
                + lacking
                    .iter()
                    .map(|m| std::mem::size_of::<MissingCollector>() + m.name.len())
                    .sum::<usize>()
        })
        .sum()
}

impl Analysis {
    /// Approximate bytes this analysis holds (what a cache of analyses weighs): the text of
    /// its insights and queries, the inventory's instances, the kept observations and levels.
    pub fn approximate_bytes(&self) -> usize {
        const STRING: usize = std::mem::size_of::<String>();
        let texts = |v: &[String]| v.iter().map(|s| s.len() + STRING).sum::<usize>();
        let insights: usize = self.insights.iter().map(Insight::approximate_bytes).sum();
        let queries: usize = self
            .queries
            .iter()
            .map(ExecutedQuery::approximate_bytes)
            .sum();
        let outcomes: usize = self
            .outcomes
            .iter()
            .map(CheckOutcome::approximate_bytes)
            .sum();
        let inventory = texts(&self.inventory.instances)
            + missing_bytes(&self.inventory.missing)
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

impl From<UnknownCheck> for AnalysisError {
    fn from(e: UnknownCheck) -> Self {
        AnalysisError::UnknownCheck(e.0)
    }
}

/// The report model from the stages' results: queries in the order the stages sent them,
/// insights most urgent first, notices sorted once.
pub(super) fn assemble(
    client: &Client,
    request: &AnalysisRequest,
    plan: Plan,
    after_use: AfterUse,
    beside_use: BesideUse,
    started: Instant,
) -> Analysis {
    let AfterUse {
        inventory,
        diagnosis,
    } = after_use;
    let mut insights = diagnosis.insights;
    let mut log = plan.basics.log;
    log.extend(diagnosis.log);
    for output in beside_use.outputs {
        insights.extend(output.insights);
        log.extend(output.log);
    }
    sort_insights(&mut insights);
    log.stamp_offsets(started);
    let QueryLog {
        queries,
        mut warnings,
        doubtful_answers: _,
    } = log;
    warnings.extend(plan.stopped);
    warnings.extend(crate::samples::refusal_notices(&queries));
    warnings.sort();
    warnings.dedup();
    Analysis {
        timing: plan.use_plan.timing,
        prometheus_url: client.url().to_string(),
        selector: request.selector.to_string(),
        concurrency: client.concurrency(),
        inventory,
        outcomes: diagnosis.outcomes,
        insights,
        queries,
        warnings,
        workload: beside_use.workload,
        latency: beside_use.latency,
        episodes: diagnosis.episodes,
        levels: diagnosis.levels,
        dashboard: None,
        partial_data: partial_data(&diagnosis.doubted_checks),
    }
}

/// The report header's line for the checks whose answers carried server warnings (possibly
/// partial data), naming the first few.
pub(crate) fn partial_data(doubted: &[String]) -> Option<String> {
    const NAMED: usize = 6;
    let (first, rest) = doubted.split_at(doubted.len().min(NAMED));
    let more = match rest.len() {
        0 => String::new(),
        n => format!(" and {n} more"),
    };
    let checks = match doubted.len() {
        0 => return None,
        1 => "1 check's answers".to_string(),
        n => format!("{n} checks' answers"),
    };
    Some(format!(
        "partial data: {checks} carried server warnings ({}{more}); a store or shard \
         that did not answer leaves no finding, so what reads healthy here is not proven \
         healthy. Rerun once every store answers.",
        first.join(", ")
    ))
}

#[cfg(test)]
mod tests {
    use super::partial_data;

    #[test]
    fn partial_data_counts_and_names_the_doubted_checks() {
        assert_eq!(partial_data(&[]), None);
        let one = partial_data(&["cpu.utilization".to_string()]).expect("one doubted");
        assert!(
            one.starts_with(
                "partial data: 1 check's answers carried server warnings (cpu.utilization);"
            ),
            "{one}"
        );
        let ids: Vec<String> = (0..8).map(|n| format!("c{n}")).collect();
        let many = partial_data(&ids).expect("eight doubted");
        assert!(
            many.starts_with(
                "partial data: 8 checks' answers carried server warnings (c0, c1, c2, c3, c4, c5 and 2 more);"
            ),
            "{many}"
        );
    }
}
