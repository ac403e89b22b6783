//! The USE method: for every resource of every target, utilization, saturation and errors,
//! from the catalog's checks to insights.
//!
//! ```text
//!  UsePlan ─► judge: checks executed concurrently (guard → query streamed and judged per
//!             series → evidence for flagged targets → coverage rule), data quality beside them
//!        ─► diagnose: fallback chains, bottleneck = U + S on time-shared resources, capacity
//!             and errors alone, weak evidence caps severity ─► narrative ─► insights
//!             (+ coverage insights per instance, failed checks)
//! ```
//!
//! The analysis layer ([`crate::analysis`]) drives these two stages; this module knows nothing
//! of the other methods. The number of queries is set by the catalog, not by the number of
//! hosts; memory per check is bounded by the findings, not by the answer's size.

mod classes;
mod containers;
mod coverage;
mod diagnose;
mod evaluate;
mod evidence;
mod execute;
mod finding;
#[cfg(test)]
mod fixtures;
mod guard;
mod insight_series;
mod judge;
pub mod levels;
mod masks;
mod narrative;
mod outcome;
mod peaks;
#[cfg(test)]
mod peaks_tests;
mod plan;
mod quality;
mod schedule;
mod span;
mod stacked;
#[cfg(test)]
mod stacked_tests;

use std::{collections::HashMap, sync::Arc};

use thiserror::Error;

pub use crate::samples::DEFAULT_SAMPLE_BUDGET;
pub use evaluate::{Level, Period};
pub use insight_series::insight_series;
pub use levels::Levels;
pub use outcome::{CheckOutcome, Episode, Observation, TargetSeries, SERIES_POINTS};

use crate::{
    catalog::{Catalog, ThresholdOverrides},
    insight::{sort_insights, Component, Insight},
    inventory::Inventory,
    prometheus::PrometheusError,
    promql::Selector,
    samples::{PeerValues, QueryLog, Recorder, Timing},
};

/// Which checks run, and over what: the USE method's part of the analysis plan.
#[derive(Clone, Debug)]
pub struct UsePlan {
    /// Catalog indices of the checks, in catalog order.
    pub checks: Vec<usize>,
    /// Threshold overrides (validated against the catalog by the caller).
    pub thresholds: ThresholdOverrides,
    /// Which targets.
    pub selector: Selector,
    /// The time grid.
    pub timing: Timing,
    /// The selection's instances, sorted: every levels and peer-values column is indexed so.
    pub instances: Arc<[String]>,
    /// Keep per-target observations of these checks.
    pub observe: Vec<String>,
    /// Keep every check's worst target per instance ([`Levels`]).
    pub keep_levels: bool,
    /// Keep each host's value of these checks for the outlier method ([`PeerValues`]).
    pub peer_checks: Vec<String>,
    /// Keep every period each condition held ([`Episode`]), for range analyses.
    pub keep_episodes: bool,
    /// Samples one query may load: larger check queries are sent in instance groups.
    pub sample_budget: u64,
    /// Checks whose series the engine records (`gregg-insights rules`) for this grid: they
    /// read the recorded series instead of evaluating their raw expressions.
    pub recorded: std::collections::HashSet<String>,
}

/// Which checks to run.
#[derive(Clone, Debug, Default)]
pub struct CheckSelection<'a> {
    /// Only these check ids; all when `None`.
    pub ids: Option<&'a [String]>,
    /// Only checks of these components; all when `None`.
    pub components: Option<&'a [Component]>,
    /// The USE checks are wanted (USE or drill-down asked for).
    pub use_checks: bool,
    /// The checks the outlier method compares are wanted.
    pub peer_checks: bool,
}

/// A check id the catalog does not have.
#[derive(Debug, Error)]
#[error("unknown check `{0}`")]
pub struct UnknownCheck(pub String);

/// Catalog indices of the checks `selection` asks for, in catalog order.
pub fn select_checks(
    catalog: &Catalog,
    selection: &CheckSelection<'_>,
) -> Result<Vec<usize>, UnknownCheck> {
    if let Some(ids) = selection.ids {
        if let Some(unknown) = ids.iter().find(|id| catalog.check(id).is_none()) {
            return Err(UnknownCheck(unknown.clone()));
        }
    }
    let is_peer = |id: &str| catalog.peers().iter().any(|p| p.check == id);
    Ok(catalog
        .checks()
        .iter()
        .enumerate()
        .filter(|(_, c)| selection.use_checks || (selection.peer_checks && is_peer(&c.id)))
        .filter(|(_, c)| selection.ids.is_none_or(|ids| ids.contains(&c.id)))
        .filter(|(_, c)| {
            selection
                .components
                .is_none_or(|cs| cs.contains(&c.component))
        })
        .map(|(i, _)| i)
        .collect())
}

/// The checks executed and judged, with the data quality of each instance.
pub struct Judged {
    executions: Vec<execute::CheckExecution>,
    quality: HashMap<String, quality::Quality>,
    log: QueryLog,
}

impl Judged {
    /// Queries sent beside the checks (the inventory's details): listed after the quality
    /// queries and before the checks', as they were sent.
    pub fn record_beside(&mut self, log: QueryLog) {
        self.log.extend(log);
    }
}

/// Stage one: execute every check of `plan` (concurrently, under the client's bound) and take
/// the data quality beside them.
pub async fn judge(recorder: &Recorder<'_>, catalog: &Catalog, plan: &UsePlan) -> Judged {
    let ((quality, log), executions) = tokio::join!(
        quality::take(recorder, &plan.selector, &plan.timing),
        schedule::execute_all(recorder, catalog, plan),
    );
    Judged {
        executions,
        quality,
        log,
    }
}

/// What the USE method concluded.
#[derive(Debug, Default)]
pub struct Diagnosis {
    /// Findings, most urgent first, coverage insights included.
    pub insights: Vec<Insight>,
    /// Per-check results, in catalog order.
    pub outcomes: Vec<CheckOutcome>,
    /// Each check's worst target per instance, when the plan kept them.
    pub levels: Levels,
    /// Each peer check's value per host, when the plan kept them.
    pub peer_values: PeerValues,
    /// Every period a condition held, when the plan kept them.
    pub episodes: Vec<Episode>,
    /// The queries sent (quality first, then each check's in catalog order) and notices.
    pub log: QueryLog,
    /// Ids of the checks some of whose answers the server marked as possibly partial, in
    /// catalog order: a store that did not answer leaves no finding to lower, so the report
    /// says so in its header.
    pub doubted_checks: Vec<String>,
}

impl Diagnosis {
    /// Keep the findings and per-check results out of the report (the checks ran for
    /// another method's sake).
    pub fn withhold_findings(&mut self) {
        self.insights.clear();
        self.outcomes.clear();
    }
}

/// Stage two: diagnose the judged checks (fallback chains, bottlenecks, severity), write the
/// insights and the coverage gaps. Fails only when every check failed because Prometheus could
/// not be used: one clear error beats a list.
pub fn diagnose(
    catalog: &Catalog,
    judged: Judged,
    inventory: &Inventory,
    plan: &UsePlan,
) -> Result<Diagnosis, PrometheusError> {
    let Judged {
        mut executions,
        quality,
        log,
    } = judged;
    let (selector, timing) = (&plan.selector, &plan.timing);
    let drafts = diagnose::diagnose(catalog, &executions, &quality, timing);
    let mut insights: Vec<Insight> = drafts
        .iter()
        .map(|d| narrative::insight(catalog, &executions, d, selector, timing))
        .collect();
    containers::place_on_nodes(&mut insights);
    say_why_doubted(&mut insights, catalog, &executions);
    let doubted_checks = executions
        .iter()
        .filter(|r| r.log.doubtful_answers > 0)
        .map(|r| catalog.checks()[r.index].id.clone())
        .collect();
    insights.extend(coverage::per_instance(
        catalog,
        &executions,
        inventory,
        selector,
        timing,
    ));
    insights.extend(coverage::failed_checks(catalog, &executions, timing));
    sort_insights(&mut insights);
    if !executions.is_empty() && executions.iter().all(|r| r.outcome.error.is_some()) {
        if let Some(err) = executions.iter_mut().find_map(|r| r.transport_error.take()) {
            return Err(err);
        }
    }
    let episodes = if plan.keep_episodes {
        episodes(catalog, &executions)
    } else {
        Vec::new()
    };
    let mut diagnosis = Diagnosis {
        insights,
        episodes,
        log,
        levels: Levels::new(plan.instances.clone()),
        peer_values: PeerValues::new(plan.instances.clone()),
        outcomes: Vec::with_capacity(executions.len()),
        doubted_checks,
    };
    for run in executions {
        keep_execution(&mut diagnosis, plan, run);
    }
    Ok(diagnosis)
}

/// The first step of an insight whose check had answers the server marked as possibly partial
/// (its confidence was lowered for them, `diagnose::doubted`).
pub const DOUBTED_STEP: &str = "Prometheus (or the engine in front of it, e.g. Thanos Query) answered some of this check's queries with warnings: the data may be partial (see the notices), so confidence is lower. Rerun once every store answers.";

/// Put [`DOUBTED_STEP`] first on each insight built on doubtful answers.
fn say_why_doubted(
    insights: &mut [Insight],
    catalog: &Catalog,
    executions: &[execute::CheckExecution],
) {
    let doubted: std::collections::HashSet<&str> = executions
        .iter()
        .filter(|r| r.log.doubtful_answers > 0)
        .map(|r| catalog.checks()[r.index].id.as_str())
        .collect();
    for insight in insights
        .iter_mut()
        .filter(|i| doubted.contains(i.check.as_str()))
    {
        insight
            .investigation_steps
            .insert(0, DOUBTED_STEP.to_string());
    }
}

/// Keep what the report needs of one execution: its outcome, log, columns.
fn keep_execution(diagnosis: &mut Diagnosis, plan: &UsePlan, mut run: execute::CheckExecution) {
    let check = run.outcome.check.clone();
    if let Some(column) = run.levels.take() {
        diagnosis.levels.insert(check.clone(), column);
    }
    if plan.peer_checks.contains(&check) {
        let query = run.outcome.query.clone();
        diagnosis
            .peer_values
            .insert(check, query, run.peer_values.take());
    }
    diagnosis.log.extend(run.log);
    diagnosis.outcomes.push(run.outcome);
}

/// Every period each flagged target's condition held, earliest first.
fn episodes(catalog: &Catalog, executions: &[execute::CheckExecution]) -> Vec<Episode> {
    let mut out: Vec<Episode> = executions
        .iter()
        .flat_map(|run| {
            let check = &catalog.checks()[run.index];
            run.findings.iter().flat_map(move |f| {
                f.assessment.periods.iter().map(move |p| Episode {
                    check: check.id.clone(),
                    component: check.component,
                    instance: f.instance.clone(),
                    device: f.device.clone(),
                    start: p.start,
                    end: p.end,
                    level: p.level,
                    peak: p.peak,
                })
            })
        })
        .collect();
    out.sort_by(|a, b| a.start.cmp(&b.start).then_with(|| a.check.cmp(&b.check)));
    out
}
