//! QueryData: every query of a request answered on its own, concurrently.
//!
//! Queries reach this `DataService` through `lenient::LenientData`, which has already answered
//! those the SDK could not even convert. Here each query's JSON is parsed into a typed query,
//! the analysis runs, and the SDK encodes the frames.

use std::time::Instant;

use futures_util::stream::FuturesOrdered;
use grafana_plugin_sdk::backend::{self, DataQueryError, DataQueryStatus};

use std::sync::Arc;

use grafana_plugin_sdk::{data::Frame, prelude::*};

use super::{
    cache,
    instances::Instance,
    query::{self, QueryType},
    GreggPlugin,
};
use crate::{
    analysis::{self, Analysis, AnalysisError, AnalysisRequest},
    catalog, frames,
    insight::Insight,
    prometheus::{ApiErrorKind, PrometheusError},
    promql::{MatchOp, Matcher},
};

/// A query that failed: its refId, a message for the panel and an HTTP-like status.
#[derive(Debug, thiserror::Error)]
#[error("{message}")]
pub struct QueryFailure {
    ref_id: String,
    message: String,
    status: Status,
}

/// Why a shared analysis failed, kept by the cache for the queries waiting on it.
#[derive(Debug, Clone)]
pub struct Failure {
    status: Status,
    message: String,
}

#[derive(Debug, Clone, Copy)]
enum Status {
    BadRequest,
    BadGateway,
    Timeout,
    Internal,
}

impl QueryFailure {
    fn new(ref_id: &str, status: Status, message: impl Into<String>) -> Self {
        Self {
            ref_id: ref_id.to_string(),
            message: message.into(),
            status,
        }
    }

    fn from_analysis(ref_id: &str, err: AnalysisError) -> Self {
        let f = Failure::from(err);
        Self::new(ref_id, f.status, f.message)
    }

    fn from_failure(ref_id: &str, f: &Failure) -> Self {
        Self::new(ref_id, f.status, f.message.clone())
    }
}

impl From<AnalysisError> for Failure {
    fn from(err: AnalysisError) -> Self {
        let status = match &err {
            AnalysisError::UnknownCheck(_) => Status::BadRequest,
            AnalysisError::Prometheus(p) => prometheus_status(p),
        };
        Failure {
            status,
            message: err.to_string(),
        }
    }
}

fn prometheus_status(err: &PrometheusError) -> Status {
    match err {
        PrometheusError::Timeout { .. }
        | PrometheusError::Api {
            kind: ApiErrorKind::Timeout,
            ..
        } => Status::Timeout,
        PrometheusError::Api {
            kind: ApiErrorKind::BadData | ApiErrorKind::Execution,
            ..
        }
        | PrometheusError::TooLarge { .. }
        | PrometheusError::Config(_) => Status::BadRequest,
        _ => Status::BadGateway,
    }
}

impl DataQueryError for QueryFailure {
    fn ref_id(self) -> String {
        self.ref_id
    }

    fn status(&self) -> DataQueryStatus {
        match self.status {
            Status::BadRequest => DataQueryStatus::BadRequest,
            Status::BadGateway => DataQueryStatus::BadGateway,
            Status::Timeout => DataQueryStatus::Timeout,
            Status::Internal => DataQueryStatus::Internal,
        }
    }
}

#[backend::async_trait]
impl backend::DataService for GreggPlugin {
    type Query = serde_json::Value;
    type QueryError = QueryFailure;
    type Stream = backend::BoxDataResponseStream<Self::QueryError>;

    async fn query_data(
        &self,
        request: backend::QueryDataRequest<Self::Query, Self>,
    ) -> Self::Stream {
        let instance = self
            .state
            .instances
            .get(request.plugin_context.instance_settings.as_ref());
        let queries = request.queries;
        let plugin = self.clone();
        let responses = queries
            .into_iter()
            .map(|q| {
                let plugin = plugin.clone();
                let instance = instance
                    .as_ref()
                    .map(std::sync::Arc::clone)
                    .map_err(|e| e.to_string());
                let ref_id = q.ref_id.clone();
                let answered = async move {
                    let started = Instant::now();
                    let parsed = query::parse(&q.query_type, &q.query);
                    let type_name = parsed
                        .as_ref()
                        .map(|p| p.query_type.as_str())
                        .unwrap_or("invalid");
                    let result = match (instance, parsed) {
                        (Err(message), _) => {
                            Err(QueryFailure::new(&q.ref_id, Status::BadRequest, message))
                        }
                        (_, Err(e)) => Err(QueryFailure::new(&q.ref_id, Status::BadRequest, e.to_string())),
                        (Ok(instance), Ok(parsed)) => {
                            let range = Range {
                                from: q.time_range.from,
                                to: q.time_range.to,
                                interval: q.interval,
                                max_points: q.max_data_points,
                            };
                            answer(&plugin, &instance, &q.ref_id, &parsed, &range).await
                        }
                    };
                    let status = if result.is_ok() { "ok" } else { "error" };
                    plugin
                        .state
                        .telemetry
                        .query_done(type_name, status, started.elapsed());
                    if let Err(e) = &result {
                        tracing::warn!(ref_id = %q.ref_id, query_type = type_name, error = %e, "Query failed.");
                    }
                    result
                };
                // A panic in this query's analysis fails this refId only.
                super::isolate::isolated(answered, move |panic| {
                    tracing::error!(ref_id = %ref_id, panic = %panic, "A query's analysis panicked; only this query fails.");
                    QueryFailure::new(
                        &ref_id,
                        Status::Internal,
                        format!("internal error in query {ref_id}: its analysis failed unexpectedly (a bug in Gregg Insights, logged by the plugin); the other queries are unaffected"),
                    )
                })
            })
            .collect::<FuturesOrdered<_>>();
        Box::pin(responses)
    }
}

/// The dashboard's time range and resolution.
struct Range {
    from: chrono::DateTime<chrono::Utc>,
    to: chrono::DateTime<chrono::Utc>,
    interval: std::time::Duration,
    max_points: i64,
}

/// Longest range judged point by point; longer dashboards see its last part.
const MAX_RANGE: std::time::Duration = std::time::Duration::from_secs(7 * 24 * 3600);

/// Run one parsed query and encode its frames.
async fn answer(
    plugin: &GreggPlugin,
    instance: &Arc<Instance>,
    ref_id: &str,
    query: &query::Query,
    range: &Range,
) -> Result<backend::DataResponse, QueryFailure> {
    let catalog = catalog::builtin();
    let frames = match query.query_type {
        QueryType::UseSummary => vec![use_summary(instance, ref_id, query, range.to).await?],
        QueryType::Instances => vec![instances(instance, ref_id, query, range).await?],
        QueryType::Insights | QueryType::Report | QueryType::Alert | QueryType::UseMatrix => {
            let analysis = shared_analysis(plugin, instance, ref_id, query, range.to).await?;
            let insights = filtered(&analysis.insights, &query.filters);
            let mut frames = match query.query_type {
                QueryType::Insights => vec![frames::insights::table("insights", &insights)],
                QueryType::Report => frames::report(&analysis, catalog, &insights),
                QueryType::Alert => vec![frames::alert(&analysis, catalog, &insights)],
                _ => vec![frames::use_matrix(&analysis, catalog, &insights)],
            };
            for frame in &mut frames {
                frames::describe(frame, &analysis);
            }
            frames
        }
        QueryType::Annotations | QueryType::SeverityTimeline => {
            let analysis = shared_range_analysis(plugin, instance, ref_id, query, range).await?;
            let mut frame = match query.query_type {
                QueryType::Annotations => {
                    frames::annotations(&analysis, catalog, query.filters.min_severity)
                }
                _ => frames::severity_timeline(
                    &analysis,
                    catalog,
                    match query.timeline_by {
                        query::TimelineBy::Component => frames::severity_timeline::By::Component,
                        query::TimelineBy::Instance => frames::severity_timeline::By::Instance,
                    },
                    query.filters.components.as_deref(),
                    query.filters.min_severity,
                ),
            };
            frames::describe(&mut frame, &analysis);
            vec![frame]
        }
        QueryType::PromqlCheck => vec![promql_check(instance, ref_id, query, range.to).await?],
        QueryType::Dashboard => dashboard(instance, ref_id, query, range).await?,
    };
    #[cfg(feature = "fault-hooks")]
    super::fault_hooks::after_analysis(ref_id);
    let mut checked = Vec::with_capacity(frames.len());
    for frame in &frames {
        checked.push(frame.check().map_err(|e| {
            QueryFailure::new(
                ref_id,
                Status::Internal,
                format!("could not build the frame: {e}"),
            )
        })?);
    }
    Ok(backend::DataResponse::new(ref_id.to_string(), checked))
}

/// The analysis request a query describes: the data source's targets narrowed by the query's
/// `instances`, thresholds layered, components, methods; every check's worst target per
/// instance kept (the alert and matrix frames need them).
fn analysis_request(
    instance: &Instance,
    ref_id: &str,
    query: &query::Query,
    at: chrono::DateTime<chrono::Utc>,
) -> Result<AnalysisRequest, QueryFailure> {
    let catalog = catalog::builtin();
    let mut selector = instance.settings.selector.clone();
    if let Some(regex) = &query.filters.instances {
        let matcher = Matcher::new("instance", MatchOp::Regex, regex.clone()).map_err(|e| {
            QueryFailure::new(
                ref_id,
                Status::BadRequest,
                format!("query field `instances`: {e}"),
            )
        })?;
        selector = selector.with(matcher);
    }
    let mut request = AnalysisRequest::new(at, query.window, selector);
    request.thresholds = catalog::layered(&instance.settings.thresholds, &query.thresholds);
    catalog
        .validate_overrides(&request.thresholds)
        .map_err(|e| {
            QueryFailure::new(
                ref_id,
                Status::BadRequest,
                format!("query field `thresholds`: {e}"),
            )
        })?;
    request.components = query.filters.components.clone();
    request.methods = query.methods.clone();
    request.keep_levels = true;
    Ok(request)
}

/// The analysis for `query` at `at` (rounded down to the cache's time bucket), shared with
/// every other query that asks for the same one while it runs or is fresh.
pub(super) async fn shared_analysis(
    plugin: &GreggPlugin,
    instance: &Arc<Instance>,
    ref_id: &str,
    query: &query::Query,
    at: chrono::DateTime<chrono::Utc>,
) -> Result<Arc<Analysis>, QueryFailure> {
    let request = analysis_request(instance, ref_id, query, bucketed(at))?;
    run_shared(plugin, instance, ref_id, request).await
}

/// The range analysis (annotations, timelines) of `query` over the dashboard's range: the
/// USE checks judged at every point of a grid honouring the panel's interval and max data
/// points, every period each condition held kept.
async fn shared_range_analysis(
    plugin: &GreggPlugin,
    instance: &Arc<Instance>,
    ref_id: &str,
    query: &query::Query,
    range: &Range,
) -> Result<Arc<Analysis>, QueryFailure> {
    let to = bucketed(range.to);
    let span = (range.to - range.from)
        .to_std()
        .unwrap_or_default()
        .clamp(std::time::Duration::from_secs(60), MAX_RANGE);
    let by_points = span / u32::try_from(range.max_points.clamp(1, 11_000)).unwrap_or(1);
    let step = range.interval.max(by_points);
    let mut request = analysis_request(instance, ref_id, query, to)?;
    request.window = span;
    request.range_step = Some(std::time::Duration::from_secs(step.as_secs().max(1)));
    request.methods = crate::methods::MethodsRequest::use_only();
    request.keep_levels = false;
    run_shared(plugin, instance, ref_id, request).await
}

/// `at` rounded up to the cache's time bucket: the panels of one refresh share one analysis,
/// and rounding up (not down) never hides the newest samples (an instant query sees the last
/// sample within Prometheus' lookback).
pub(super) fn bucketed(at: chrono::DateTime<chrono::Utc>) -> chrono::DateTime<chrono::Utc> {
    let bucket = cache::TIME_BUCKET_SECONDS;
    let seconds = at.timestamp() + i64::from(at.timestamp_subsec_nanos() > 0);
    chrono::DateTime::from_timestamp(
        seconds.div_euclid(bucket) * bucket
            + if seconds.rem_euclid(bucket) == 0 {
                0
            } else {
                bucket
            },
        0,
    )
    .unwrap_or(at)
}

/// Run `request` through the cache: one run per distinct request while fresh.
async fn run_shared(
    plugin: &GreggPlugin,
    instance: &Arc<Instance>,
    ref_id: &str,
    request: AnalysisRequest,
) -> Result<Arc<Analysis>, QueryFailure> {
    let key = format!(
        "{:p}|{}|{}|{:?}|{:?}|{:?}|{}|{}|{:?}|{:?}|{}|{}",
        Arc::as_ptr(instance),
        request.selector,
        serde_json::to_string(&request.thresholds).unwrap_or_default(),
        request.components,
        request.methods.methods,
        request.methods.histogram,
        request.methods.group_by,
        request.window.as_secs(),
        request.range_step,
        request.observe,
        request.keep_levels,
        request.at.timestamp(),
    );
    let client = instance.client.clone();
    let (result, outcome) = plugin
        .state
        .analyses
        .get_or_run(key, || async move {
            analysis::analyze(&client, catalog::builtin(), &request)
                .await
                .map_err(Failure::from)
        })
        .await;
    plugin.state.telemetry.analysis(match outcome {
        cache::Outcome::Computed => "computed",
        cache::Outcome::Shared => "shared",
    });
    if outcome == cache::Outcome::Computed {
        // What the analysis needed while it ran (response bodies, guard masks) is free now.
        tokio::task::spawn_blocking(super::memory::release_freed);
    }
    result.map_err(|f| QueryFailure::from_failure(ref_id, &f))
}

/// The insights that pass the query's filters, in the analysis' order.
fn filtered<'a>(insights: &'a [Insight], filters: &query::Filters) -> Vec<&'a Insight> {
    insights
        .iter()
        .filter(|i| i.severity >= filters.min_severity)
        .filter(|i| {
            filters
                .components
                .as_ref()
                .is_none_or(|c| c.contains(&i.component))
        })
        .filter(|i| {
            filters
                .methodologies
                .as_ref()
                .is_none_or(|m| m.contains(&i.methodology))
        })
        .collect()
}

/// `instances`: the instance names of the selection, for template variables.
async fn instances(
    instance: &Instance,
    ref_id: &str,
    query: &query::Query,
    range: &Range,
) -> Result<Frame, QueryFailure> {
    let request = analysis_request(instance, ref_id, query, range.to)?;
    let names =
        crate::inventory::instance_names(&instance.client, &request.selector, range.from, range.to)
            .await
            .map_err(|e| QueryFailure::from_analysis(ref_id, AnalysisError::Prometheus(e)))?;
    let mut frame = Frame::new("instances").with_fields([names.into_field("instance")]);
    let mut meta = grafana_plugin_sdk::data::Metadata::default();
    meta.executed_query_string = Some(crate::inventory::instance_names_query(&request.selector));
    frame.meta = Some(meta);
    Ok(frame)
}

/// The insight `check` of a `promql_check` finding.
const CUSTOM_CHECK: &str = "custom.promql";

/// `promql_check`: the user's PromQL judged like a catalog check (sustained over the window,
/// with hysteresis), its findings told with the user's narrative in the insight model.
async fn promql_check(
    instance: &Instance,
    ref_id: &str,
    query: &query::Query,
    at: chrono::DateTime<chrono::Utc>,
) -> Result<Frame, QueryFailure> {
    let bad = |field: &str, message: String| {
        QueryFailure::new(
            ref_id,
            Status::BadRequest,
            format!("query field `{field}`: {message}"),
        )
    };
    let Some(spec) = &query.promql_check else {
        return Err(bad(
            "expr",
            "a promql_check needs the PromQL to judge".into(),
        ));
    };
    // Placeholders are checked field by field, so the message names the field to fix.
    let texts: [(&str, Option<&String>, &[&str]); 6] = [
        ("expr", Some(&spec.expr), catalog::QUERY_PLACEHOLDERS),
        (
            "title",
            spec.title.as_ref(),
            catalog::NARRATIVE_PLACEHOLDERS,
        ),
        (
            "observation",
            spec.observation.as_ref(),
            catalog::NARRATIVE_PLACEHOLDERS,
        ),
        (
            "rootCause",
            spec.root_cause.as_ref(),
            catalog::NARRATIVE_PLACEHOLDERS,
        ),
        (
            "immediateAction",
            spec.immediate_action.as_ref(),
            catalog::NARRATIVE_PLACEHOLDERS,
        ),
        (
            "longTermFix",
            spec.long_term_fix.as_ref(),
            catalog::NARRATIVE_PLACEHOLDERS,
        ),
    ];
    for (field, text, allowed) in texts {
        let Some(text) = text else { continue };
        if let Some(name) = crate::promql::template::placeholders(text)
            .into_iter()
            .find(|n| !allowed.contains(n))
        {
            return Err(bad(
                field,
                format!(
                    "unknown placeholder `${{{name}}}`; use {}",
                    allowed.join(", ")
                ),
            ));
        }
    }
    let metric = format!("value{}", spec.unit.suffix());
    let label = spec.title.clone().unwrap_or_else(|| "Custom check".into());
    let check = catalog::Check {
        id: CUSTOM_CHECK.into(),
        label: label.clone(),
        component: spec.component,
        signal: crate::insight::UseSignal::Utilization,
        issue_type: crate::insight::IssueType::Capacity,
        metric,
        unit: spec.unit,
        direction: spec.direction,
        warning: spec.warning,
        critical: spec.critical,
        threshold_source: "the query".into(),
        severity: Default::default(),
        evaluation: Default::default(),
        min_duration: query.window / 2,
        device_label: spec.device_label.clone(),
        fallback: None,
        standalone: true,
        when: None,
        coverage: None,
        requires: Vec::new(),
        confidence: 70.0,
        book_reference: "Systems Performance 2nd ed., Ch. 2 Methodologies: 2.5 (a custom check); 2.8 Statistics".into(),
        query: spec.expr.clone(),
        title: spec.title.clone().map(|t| format!("{t} on ${{instance}}")).unwrap_or_else(|| "Custom check past its ${level} threshold on ${instance}: ${value}".into()),
        observation: spec.observation.clone().unwrap_or_else(|| {
            "The custom check averaged ${value} (peak ${peak}) on ${instance} ${device}, past its ${level} threshold of ${threshold} for ${held} of the last ${window}.".into()
        }),
        root_cause: spec.root_cause.clone().unwrap_or_else(|| "Defined by the query's author.".into()),
        immediate_action: spec.immediate_action.clone().unwrap_or_else(|| "Follow the runbook of this check.".into()),
        investigation_steps: if spec.investigation_steps.is_empty() {
            vec!["Run the check's PromQL in Explore, split by instance".into()]
        } else {
            spec.investigation_steps.clone()
        },
        long_term_fix: spec.long_term_fix.clone().unwrap_or_else(|| "Defined by the query's author.".into()),
        related_metrics: Vec::new(),
        evidence: Vec::new(),
    };
    let custom = catalog::Catalog::custom(check).map_err(|e| bad("expr", e.to_string()))?;
    let mut request = analysis_request(instance, ref_id, query, at)?;
    request.checks = Some(vec![CUSTOM_CHECK.into()]);
    request.methods = crate::methods::MethodsRequest::use_only();
    request.keep_levels = false;
    request.components = None;
    let analysis = analysis::analyze(&instance.client, &custom, &request)
        .await
        .map_err(|e| QueryFailure::from_analysis(ref_id, e))?;
    if let Some(err) = analysis.outcome(CUSTOM_CHECK).and_then(|o| o.error.clone()) {
        return Err(bad("expr", format!("Prometheus could not run it: {err}")));
    }
    let mut insights: Vec<Insight> = analysis
        .insights
        .iter()
        .filter(|i| i.check == CUSTOM_CHECK)
        .cloned()
        .collect();
    for i in &mut insights {
        i.methodology = crate::insight::Methodology::CustomQuery;
    }
    let kept = filtered(&insights, &query.filters);
    let mut frame = frames::insights::table("insights", &kept);
    frames::describe(&mut frame, &analysis);
    Ok(frame)
}

/// The dashboard analysis a `dashboard` query (or the analysis resource) asks for.
async fn run_dashboard(
    instance: &Instance,
    request: &crate::dashboard::DashboardRequest,
) -> Result<crate::analysis::dashboard::DashboardAnalysis, (Status, String)> {
    let grafana = instance
        .grafana
        .as_ref()
        .map_err(|e| (Status::BadRequest, e.clone()))?;
    crate::analysis::dashboard::analyze(grafana, &instance.client, request)
        .await
        .map_err(|e| {
            let status = match &e {
                crate::dashboard::DashboardError::Grafana(g) => match g.http_status() {
                    400 | 404 => Status::BadRequest,
                    504 => Status::Timeout,
                    _ => Status::BadGateway,
                },
                crate::dashboard::DashboardError::Prometheus(p) => prometheus_status(p),
                crate::dashboard::DashboardError::Request(_) => Status::BadRequest,
            };
            (status, e.to_string())
        })
}

/// `dashboard`: the dashboard's panels read the Gregg way, as two frames: `insights` (the
/// insight table, notes as notices) and `dashboard_queries` (every panel query that ran).
async fn dashboard(
    instance: &Instance,
    ref_id: &str,
    query: &query::Query,
    range: &Range,
) -> Result<Vec<Frame>, QueryFailure> {
    let Some(spec) = &query.dashboard else {
        return Err(QueryFailure::new(
            ref_id,
            Status::BadRequest,
            "query field `dashboardUid`: a dashboard query needs the dashboard's uid",
        ));
    };
    let mut request = crate::dashboard::DashboardRequest::new(&spec.uid, range.from, range.to);
    request.panel_ids = spec.panel_ids.clone();
    request.variables = spec.variables.clone();
    request.max_points = u32::try_from(range.max_points.clamp(30, 1000)).unwrap_or(200);
    let span = (range.to - range.from).to_std().unwrap_or_default();
    if span > MAX_RANGE {
        request.from = range.to - chrono::Duration::from_std(MAX_RANGE).unwrap_or_default();
    }
    let result = run_dashboard(instance, &request)
        .await
        .map_err(|(status, message)| QueryFailure::new(ref_id, status, message))?;
    let insights = filtered(&result.analysis.insights, &query.filters);
    let mut table = frames::insights::table("insights", &insights);
    let mut meta = table.meta.take().unwrap_or_default();
    meta.executed_query_string = Some(
        result
            .targets
            .iter()
            .map(|t| t.promql.as_str())
            .collect::<Vec<_>>()
            .join("\n"),
    );
    if !result.notes.is_empty() {
        meta.notices = Some(
            result
                .notes
                .iter()
                .map(|n| {
                    let mut notice =
                        grafana_plugin_sdk::data::Notice::new(format!("Dashboard: {n}"));
                    notice.severity = Some(grafana_plugin_sdk::data::Severity::Warning);
                    notice
                })
                .collect(),
        );
    }
    table.meta = Some(meta);
    let t = &result.targets;
    let queries = Frame::new("dashboard_queries").with_fields([
        t.iter()
            .map(|t| t.panel_id.unwrap_or_default())
            .collect::<Vec<i64>>()
            .into_field("panel_id"),
        t.iter()
            .map(|t| t.panel_title.clone())
            .collect::<Vec<String>>()
            .into_field("panel_title"),
        t.iter()
            .map(|t| t.ref_id.clone())
            .collect::<Vec<String>>()
            .into_field("ref_id"),
        t.iter()
            .map(|t| t.promql.clone())
            .collect::<Vec<String>>()
            .into_field("promql"),
        result
            .analysis
            .queries
            .iter()
            .take(t.len())
            .map(|q| q.series as i64)
            .collect::<Vec<i64>>()
            .into_field("series"),
    ]);
    Ok(vec![table, queries])
}

/// `use_summary`: CPU only, its own small analysis.
async fn use_summary(
    instance: &Instance,
    ref_id: &str,
    query: &query::Query,
    at: chrono::DateTime<chrono::Utc>,
) -> Result<Frame, QueryFailure> {
    let catalog = catalog::builtin();
    let mut request = analysis_request(instance, ref_id, query, at)?;
    request.components = Some(vec![crate::insight::Component::Cpu]);
    request.observe = vec![frames::use_summary::CHECK.to_string()];
    request.keep_levels = false;
    request.methods = crate::methods::MethodsRequest::use_only();
    let analysis = analysis::analyze(&instance.client, catalog, &request)
        .await
        .map_err(|e| QueryFailure::from_analysis(ref_id, e))?;
    Ok(frames::use_summary(&analysis))
}

#[cfg(test)]
mod tests {
    use super::bucketed;

    #[test]
    fn times_round_up_to_the_bucket() {
        let t = |s: i64| chrono::DateTime::from_timestamp(s, 0).unwrap();
        assert_eq!(bucketed(t(1_748_865_600)), t(1_748_865_600));
        assert_eq!(bucketed(t(1_748_865_601)), t(1_748_865_615));
        assert_eq!(bucketed(t(1_748_865_614)), t(1_748_865_615));
        let ms = chrono::DateTime::from_timestamp_millis(1_748_865_600_001).unwrap();
        assert_eq!(bucketed(ms), t(1_748_865_615));
    }
}
