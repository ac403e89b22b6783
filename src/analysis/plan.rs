//! Stage one: the plan. Which checks run, for which instances, on which time grid. The checks
//! need only the instances and the scrape interval (for the rate window); the rest of the
//! inventory is asked for beside them.

use std::sync::Arc;

use crate::{
    catalog::Catalog,
    engine::{select_checks, CheckSelection, UsePlan},
    inventory::{self, Basics},
    methods::Method,
    prometheus::Client,
    samples::Timing,
};

use super::{AnalysisError, AnalysisRequest};

/// What the analysis will do.
pub(super) struct Plan {
    /// The USE method's part: checks, selection, grid.
    pub use_plan: UsePlan,
    /// The selection's instances and scrape interval, with their queries.
    pub basics: Basics,
    /// Instances whose data stopped before the end of the window, said in the report's notes.
    pub stopped: Option<String>,
}

/// Work out the plan of `request`.
pub(super) async fn plan(
    client: &Client,
    catalog: &Catalog,
    request: &AnalysisRequest,
) -> Result<Plan, AnalysisError> {
    let m = &request.methods;
    let selection = CheckSelection {
        ids: request.checks.as_deref(),
        components: request.components.as_deref(),
        use_checks: m.runs(Method::Use) || m.runs(Method::Drilldown),
        peer_checks: m.runs(Method::Outliers),
    };
    let checks = select_checks(catalog, &selection)?;
    let mut basics = inventory::basics(client, &request.selector, request.at).await?;
    let stopped = stopped(client, request, &mut basics).await;
    let timing = match request.range_step {
        Some(step) => Timing::over_range(request.at, request.window, step, basics.scrape_interval),
        None => Timing::new(request.at, request.window, basics.scrape_interval),
    };
    let peer_checks = if m.runs(Method::Outliers) {
        catalog.peers().iter().map(|p| p.check.clone()).collect()
    } else {
        Vec::new()
    };
    let recorded = super::recorded::recorded(
        client,
        catalog,
        &checks,
        &request.selector,
        &timing,
        &mut basics.log,
    )
    .await;
    let use_plan = UsePlan {
        checks,
        thresholds: request.thresholds.clone(),
        selector: request.selector.clone(),
        timing,
        instances: Arc::from(basics.instances.clone()),
        observe: request.observe.clone(),
        keep_levels: request.keep_levels,
        peer_checks,
        keep_episodes: request.range_step.is_some(),
        sample_budget: request.query_sample_budget,
        recorded,
    };
    Ok(Plan {
        use_plan,
        basics,
        stopped,
    })
}

/// What to say about instances that stopped reporting: inside the window, or (when nothing
/// reports now) within the last week, so that stale data is not called "no data". The query's
/// failure costs only the note (it is logged as a notice).
async fn stopped(
    client: &Client,
    request: &AnalysisRequest,
    basics: &mut Basics,
) -> Option<String> {
    let lookback = if basics.instances.is_empty() {
        inventory::STOPPED_LOOKBACK.max(request.window)
    } else {
        request.window
    };
    // To the scrape interval, with at most about 2000 points per instance.
    let resolution = basics
        .scrape_interval
        .unwrap_or(std::time::Duration::from_secs(60))
        .max(lookback / 2000);
    let reach = inventory::Reach {
        instances: &basics.instances,
        budget: request.query_sample_budget,
    };
    let (stopped, log) = inventory::stopped(
        client,
        &request.selector,
        request.at,
        (lookback, resolution),
        reach,
    )
    .await;
    basics.log.extend(log);
    inventory::describe_stopped(&stopped.ok()?, request.at)
}
