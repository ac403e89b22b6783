//! QueryData: every query of a request answered on its own, concurrently.
//!
//! Queries reach [`GreggPlugin::query_data`] through `lenient::LenientData`, which has already
//! answered those the SDK could not even convert and converted the rest with the SDK's own
//! request types. Here each query's JSON is parsed into a typed query
//! ([`crate::request::query`]), the analysis it describes ([`crate::request::analysis`]) runs,
//! and its frames ([`crate::frames`]) are written as Arrow IPC by [`crate::frames::ipc`]
//! straight into the protobuf answer: the SDK's `DataResponse` (and its arrow2 writer) is not
//! on this path, so a frame of 10,000 insights is encoded in a fraction of the time.

use std::{sync::Arc, time::Instant};

use futures_util::{stream::FuturesOrdered, StreamExt};
use grafana_plugin_sdk::{backend, pluginv2};

use super::{cache, instances::Instance, memory::Unfinished, GreggPlugin};
use crate::{
    analysis::{self, Analysis, AnalysisRequest},
    catalog,
    frames::{
        self,
        model::{Frame, IntoField},
    },
    insight::{Insight, Methodology},
    prometheus::Priority,
    request::{
        analysis::{self as requests, Range},
        error::Problem,
        filters::Filters,
        key::AnalysisKey,
        query::{self, Query, QueryType, TimelineBy},
        Failure, Status,
    },
};

/// A query that failed: its refId, and the failure (message and class).
#[derive(Debug, thiserror::Error)]
#[error("{failure}")]
pub struct QueryFailure {
    ref_id: String,
    failure: Failure,
}

impl QueryFailure {
    fn new(ref_id: &str, failure: impl Into<Failure>) -> Self {
        Self {
            ref_id: ref_id.to_string(),
            failure: failure.into(),
        }
    }
}

/// A bug, told to the query it failed.
#[derive(Debug, thiserror::Error)]
enum Bug {
    /// The query's analysis panicked.
    #[error("internal error in query {ref_id}: its analysis failed unexpectedly (a bug in Gregg Insights, logged by the plugin); the other queries are unaffected")]
    Panicked {
        /// The query.
        ref_id: String,
    },
    /// A frame that could not be written as Arrow IPC.
    #[error("could not build the frame: {0}")]
    Frame(#[from] frames::ipc::EncodeError),
}

impl From<Bug> for Failure {
    fn from(bug: Bug) -> Self {
        Failure::new(Status::Internal, &bug)
    }
}

impl QueryFailure {
    /// The answer's HTTP-like status, as the SDK's `DataQueryStatus` numbers them.
    fn status_code(&self) -> i32 {
        match self.failure.status {
            // A dashboard that does not exist is the query's to fix.
            Status::BadRequest | Status::NotFound => 400,
            Status::BadGateway => 502,
            Status::Timeout => 504,
            Status::Busy => 429,
            Status::Internal => 500,
        }
    }
}

/// The protobuf answer of one query: its encoded frames, or its error and status.
fn to_proto(
    result: Result<(String, Vec<Vec<u8>>), QueryFailure>,
) -> (String, pluginv2::DataResponse) {
    match result {
        Ok((ref_id, frames)) => (
            ref_id,
            pluginv2::DataResponse {
                frames,
                status: 200,
                error: String::new(),
                json_meta: Vec::new(),
            },
        ),
        Err(e) => {
            let status = e.status_code();
            let error = e.to_string();
            (
                e.ref_id,
                pluginv2::DataResponse {
                    frames: Vec::new(),
                    status,
                    error,
                    json_meta: Vec::new(),
                },
            )
        }
    }
}

impl GreggPlugin {
    /// Answer every query of `request` concurrently, each on its own: its frames encoded, or
    /// its error. A panic in one query's analysis fails that refId only.
    pub(super) async fn query_data(
        &self,
        request: backend::QueryDataRequest<serde_json::Value, GreggPlugin>,
    ) -> Vec<(String, pluginv2::DataResponse)> {
        let instance = self
            .state
            .instances
            .get(
                request.plugin_context.org_id,
                request.plugin_context.instance_settings.as_ref(),
            )
            .map_err(|e| Failure::from(&e));
        request
            .queries
            .into_iter()
            .map(|q| {
                let ref_id = q.ref_id.clone();
                let answered = self.clone().answer_timed(instance.clone(), q);
                super::isolate::isolated(answered, move |panic| {
                    tracing::error!(ref_id = %ref_id, panic = %panic, "A query's analysis panicked; only this query fails.");
                    QueryFailure::new(&ref_id, Bug::Panicked { ref_id: ref_id.clone() })
                })
            })
            .collect::<FuturesOrdered<_>>()
            .map(to_proto)
            .collect()
            .await
    }
}

impl GreggPlugin {
    /// Parse and answer one query, with its telemetry and log line.
    async fn answer_timed(
        self,
        instance: Result<Arc<Instance>, Failure>,
        q: backend::DataQuery<serde_json::Value>,
    ) -> Result<(String, Vec<Vec<u8>>), QueryFailure> {
        let started = Instant::now();
        let parsed = query::parse(&q.query_type, &q.query);
        let type_name = parsed
            .as_ref()
            .map(|p| p.query_type.as_str())
            .unwrap_or("invalid");
        let result = match (instance, parsed) {
            (Err(failure), _) => Err(QueryFailure::new(&q.ref_id, failure)),
            (_, Err(e)) => Err(QueryFailure::new(&q.ref_id, e)),
            (Ok(instance), Ok(parsed)) => {
                let range = Range {
                    from: q.time_range.from,
                    to: q.time_range.to,
                    interval: q.interval,
                    max_points: q.max_data_points,
                };
                answer(&self, &instance, &parsed, &range)
                    .await
                    .map_err(|f| QueryFailure::new(&q.ref_id, f))
                    .and_then(|answer| encoded(&q.ref_id, answer))
            }
        };
        let status = if result.is_ok() { "ok" } else { "error" };
        self.state
            .telemetry
            .query_done(type_name, status, started.elapsed());
        if let Err(e) = &result {
            tracing::warn!(ref_id = %q.ref_id, query_type = type_name, error = %e, "Query failed.");
        }
        result
    }
}

/// What a query answers, before it is written as Arrow IPC.
enum Answer {
    /// Frames on the column model, each written by `frames::ipc`.
    Frames(Vec<Frame>),
    /// An `insights` query's table, written straight into its IPC file
    /// (`frames::insights::encode`) rather than built first and copied: at 10,000 insights
    /// that is 30 MiB of memory less and most of the encoding's time (issue 19).
    Insights {
        /// The table without rows, its metadata filled in (`frames::describe`).
        head: Box<Frame>,
        /// The analysis whose insights are the rows, once `filters` chose them.
        analysis: Arc<Analysis>,
        filters: Filters,
    },
}

/// The answer written as Arrow IPC, the refId's frames (each frame's `refId` is the query's).
fn encoded(ref_id: &str, answer: Answer) -> Result<(String, Vec<Vec<u8>>), QueryFailure> {
    #[cfg(feature = "fault-hooks")]
    super::fault_hooks::after_analysis(ref_id);
    let encoded = match answer {
        Answer::Frames(frames) => frames
            .into_iter()
            .map(|frame| frames::ipc::encode(frame, ref_id))
            .collect::<Result<Vec<_>, _>>(),
        Answer::Insights {
            head,
            analysis,
            filters,
        } => frames::insights::encode(&head, &filters.apply(&analysis.insights), ref_id)
            .map(|file| vec![file]),
    };
    let encoded = encoded.map_err(|e| QueryFailure::new(ref_id, Bug::from(e)))?;
    Ok((ref_id.to_string(), encoded))
}

/// Run one parsed query: its answer.
async fn answer(
    plugin: &GreggPlugin,
    instance: &Arc<Instance>,
    query: &Query,
    range: &Range,
) -> Result<Answer, Failure> {
    let catalog = catalog::builtin();
    Ok(Answer::Frames(match query.query_type {
        QueryType::UseSummary => {
            let _admitted = plugin.admit(instance).await?;
            vec![use_summary(instance, query, range.to).await?]
        }
        QueryType::Instances => vec![instances(instance, query, range).await?],
        QueryType::Insights => {
            let analysis = shared_analysis(plugin, instance, query, range.to).await?;
            let mut head = frames::insights::table("insights", &[]);
            frames::describe(&mut head, &analysis);
            return Ok(Answer::Insights {
                head: Box::new(head),
                analysis,
                filters: query.filters.clone(),
            });
        }
        QueryType::Report | QueryType::Alert | QueryType::UseMatrix => {
            let analysis = shared_analysis(plugin, instance, query, range.to).await?;
            let insights = query.filters.apply(&analysis.insights);
            let mut frames = match query.query_type {
                QueryType::Report => frames::report(&analysis, catalog, &insights),
                QueryType::Alert => vec![frames::alert(&analysis, catalog, &insights)],
                _ => {
                    let overrides =
                        crate::catalog::layered(&instance.settings.thresholds, &query.thresholds);
                    vec![frames::use_matrix(
                        &analysis, catalog, &overrides, &insights,
                    )]
                }
            };
            for frame in &mut frames {
                frames::describe(frame, &analysis);
            }
            frames
        }
        QueryType::Annotations | QueryType::SeverityTimeline => {
            let at = cache::bucketed(range.to);
            let request = requests::range_request(&instance.settings, query, range, at)?;
            let analysis = run_shared(plugin, instance, request).await?;
            vec![range_frame(&analysis, query)]
        }
        QueryType::PromqlCheck => {
            let _admitted = plugin.admit(instance).await?;
            vec![promql_check(instance, query, range.to).await?]
        }
        QueryType::Dashboard => dashboard(plugin, instance, query, range).await?,
    }))
}

/// The frame of a range analysis: annotations or a severity timeline.
fn range_frame(analysis: &Analysis, query: &Query) -> Frame {
    let catalog = catalog::builtin();
    let filters = &query.filters;
    let mut frame = match query.query_type {
        QueryType::Annotations => frames::annotations(analysis, catalog, filters.min_severity),
        _ => frames::severity_timeline(
            analysis,
            catalog,
            match query.timeline_by {
                TimelineBy::Component => frames::severity_timeline::By::Component,
                TimelineBy::Instance => frames::severity_timeline::By::Instance,
            },
            filters.components.as_deref(),
            filters.min_severity,
        ),
    };
    frames::describe(&mut frame, analysis);
    frame
}

/// The analysis for `query` at `at` (rounded to the cache's time bucket), shared with every
/// other query that asks for the same one while it runs or is fresh.
pub(super) async fn shared_analysis(
    plugin: &GreggPlugin,
    instance: &Arc<Instance>,
    query: &Query,
    at: chrono::DateTime<chrono::Utc>,
) -> Result<Arc<Analysis>, Failure> {
    let request = requests::analysis_request(&instance.settings, query, cache::bucketed(at))?;
    run_shared(plugin, instance, request).await
}

/// Run `request` through the cache: one run per distinct analysis while fresh.
async fn run_shared(
    plugin: &GreggPlugin,
    instance: &Arc<Instance>,
    request: AnalysisRequest,
) -> Result<Arc<Analysis>, Failure> {
    let key = AnalysisKey::new(instance.source(), &request);
    let client = instance.client.clone();
    let (result, outcome) = plugin
        .state
        .analyses
        .get_or_run(key, || async move {
            let unfinished = Unfinished::watch(&plugin.state.telemetry, "cancelled");
            let result = async {
                // Admitted once per analysis computed; the queries sharing it wait for it.
                let _admitted = plugin.admit(instance).await?;
                analysis::analyze(&client, catalog::builtin(), &request)
                    .await
                    .map_err(Failure::from)
            }
            .await;
            unfinished.finished();
            result
        })
        .await;
    let label = counted(outcome, &result, ["computed", "shared"]);
    if let Some(label) = label {
        plugin.state.telemetry.analysis(label);
    }
    if label == Some("computed") {
        // What the analysis needed while it ran (response bodies, guard masks) is free now.
        super::memory::release_freed_soon();
        plugin.expire_caches_later();
    }
    result
}

/// `instances`: the instance names of the selection, for template variables.
async fn instances(instance: &Instance, query: &Query, range: &Range) -> Result<Frame, Failure> {
    let selector = requests::selector(&instance.settings, query)?;
    // An inventory call (template variables): it jumps the queue of analysis queries.
    let client = instance.client.with_priority(Priority::Control);
    let names = crate::inventory::instance_names(&client, &selector, range.from, range.to).await?;
    let mut frame = Frame::new("instances").with_fields([names.into_field("instance")]);
    let mut meta = frames::model::Metadata::default();
    meta.executed_query_string = Some(crate::inventory::instance_names_query(&selector));
    frame.meta = Some(meta);
    Ok(frame)
}

/// `promql_check`: the user's PromQL judged like a catalog check (sustained over the window,
/// with hysteresis), its findings told with the user's narrative in the insight model.
async fn promql_check(
    instance: &Instance,
    query: &Query,
    at: chrono::DateTime<chrono::Utc>,
) -> Result<Frame, Failure> {
    let (custom, request) = requests::promql_check_request(&instance.settings, query, at)?;
    let analysis = analysis::analyze(&instance.client, &custom, &request).await?;
    let check = catalog::USER_CHECK_ID;
    if let Some(reason) = analysis.outcome(check).and_then(|o| o.error.clone()) {
        return Err(query.error("expr", Problem::Refused { reason }).into());
    }
    let mut insights: Vec<Insight> = analysis
        .insights
        .iter()
        .filter(|i| i.check == check)
        .cloned()
        .collect();
    for i in &mut insights {
        i.methodology = Methodology::CustomQuery;
    }
    let mut frame = frames::insights::table("insights", &query.filters.apply(&insights));
    frames::describe(&mut frame, &analysis);
    Ok(frame)
}

/// `dashboard`: the dashboard's panels read the Gregg way ([`frames::dashboard`]).
async fn dashboard(
    plugin: &GreggPlugin,
    instance: &Arc<Instance>,
    query: &Query,
    range: &Range,
) -> Result<Vec<Frame>, Failure> {
    let Some(spec) = &query.dashboard else {
        let missing = Problem::Missing {
            query_type: "dashboard",
            what: "the dashboard's uid",
        };
        return Err(query.error("dashboardUid", missing).into());
    };
    let mut request = requests::dashboard_request(spec, range);
    request.to = cache::bucketed(request.to);
    let result = shared_dashboard(plugin, instance, request).await?;
    Ok(frames::dashboard(
        &result,
        &query.filters.apply(&result.analysis.insights),
    ))
}

/// Run a dashboard analysis through the dashboards' cache: the `dashboard` queries of one
/// refresh and the report resource asked meanwhile share one run, as analyses do.
pub(super) async fn shared_dashboard(
    plugin: &GreggPlugin,
    instance: &Arc<Instance>,
    request: crate::dashboard::DashboardRequest,
) -> Result<Arc<crate::analysis::dashboard::DashboardAnalysis>, Failure> {
    let grafana = instance.grafana.as_ref().map_err(Failure::from)?.clone();
    let key = crate::request::DashboardKey::new(instance.source(), &request);
    let client = instance.client.clone();
    let (result, outcome) = plugin
        .state
        .dashboards
        .get_or_run(key, || async move {
            let unfinished = Unfinished::watch(&plugin.state.telemetry, "dashboard_cancelled");
            let result = async {
                // Admitted once per dashboard analysis computed, as analyses are.
                let _admitted = plugin.admit(instance).await?;
                crate::analysis::dashboard::analyze(&grafana, &client, &request)
                    .await
                    .map_err(Failure::from)
            }
            .await;
            unfinished.finished();
            result
        })
        .await;
    let label = counted(outcome, &result, ["dashboard_computed", "dashboard_shared"]);
    if let Some(label) = label {
        plugin.state.telemetry.analysis(label);
    }
    if label == Some("dashboard_computed") {
        plugin.expire_caches_later();
    }
    result
}

/// The `analyses_total` label of one call through a cache (`[computed, shared]` name its
/// outcomes), or none when the admission already counted it: a run refused as busy computed
/// nothing (the refusal is `refused_busy`, counted where it was refused), and a call sharing
/// that refusal was refused too.
fn counted<T>(
    outcome: cache::Outcome,
    result: &Result<T, Failure>,
    [computed, shared]: [&'static str; 2],
) -> Option<&'static str> {
    let busy = matches!(result, Err(f) if f.status == crate::request::Status::Busy);
    match (outcome, busy) {
        (cache::Outcome::Computed, true) => None,
        (cache::Outcome::Shared, true) => Some("refused_busy"),
        (cache::Outcome::Computed, false) => Some(computed),
        (cache::Outcome::Shared, false) => Some(shared),
    }
}

/// `use_summary`: CPU only, its own small analysis.
async fn use_summary(
    instance: &Instance,
    query: &Query,
    at: chrono::DateTime<chrono::Utc>,
) -> Result<Frame, Failure> {
    let check = frames::use_summary::CHECK;
    let request = requests::use_summary_request(&instance.settings, query, at, check)?;
    let analysis = analysis::analyze(&instance.client, catalog::builtin(), &request).await?;
    Ok(frames::use_summary(&analysis))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_run_refused_as_busy_is_not_counted_as_computed() {
        let names = ["computed", "shared"];
        let busy: Result<(), Failure> = Err(Failure {
            status: crate::request::Status::Busy,
            message: "busy: 8 analyses in progress".to_string(),
        });
        let failed: Result<(), Failure> = Err(Failure {
            status: crate::request::Status::BadRequest,
            message: "bad".to_string(),
        });
        // The admission counted the refusal of the run; a call sharing it was refused too.
        assert_eq!(counted(cache::Outcome::Computed, &busy, names), None);
        assert_eq!(
            counted(cache::Outcome::Shared, &busy, names),
            Some("refused_busy")
        );
        assert_eq!(
            counted(cache::Outcome::Computed, &Ok(()), names),
            Some("computed")
        );
        assert_eq!(
            counted(cache::Outcome::Computed, &failed, names),
            Some("computed")
        );
        assert_eq!(
            counted(cache::Outcome::Shared, &Ok(()), names),
            Some("shared")
        );
    }
}
