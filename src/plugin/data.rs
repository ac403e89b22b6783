//! QueryData: every query of a request answered on its own, concurrently.
//!
//! Two layers. [`LenientData`] is the gRPC service Grafana calls: it screens each raw query
//! (JSON that does not parse, a missing or impossible time range) and answers those refIds with
//! an error itself, because the SDK would otherwise fail the whole request for one of them.
//! The queries that pass go to [`GreggPlugin`]'s `DataService`, which parses the typed query,
//! runs the analysis and encodes frames through the SDK.

use std::{collections::HashMap, time::Instant};

use futures_util::stream::FuturesOrdered;
use grafana_plugin_sdk::{
    backend::{self, DataQueryError, DataQueryStatus},
    pluginv2,
};

use super::{
    query::{self, QueryType},
    GreggPlugin,
};
use crate::{
    catalog,
    engine::{self, AnalysisError, AnalysisRequest},
    frames,
    prometheus::{ApiErrorKind, PrometheusError},
};

/// A query that failed: its refId, a message for the panel and an HTTP-like status.
#[derive(Debug, thiserror::Error)]
#[error("{message}")]
pub struct QueryFailure {
    ref_id: String,
    message: String,
    status: Status,
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
        let status = match &err {
            AnalysisError::UnknownCheck(_) => Status::BadRequest,
            AnalysisError::Prometheus(p) => prometheus_status(p),
        };
        Self::new(ref_id, status, err.to_string())
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
                async move {
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
                            answer(&instance, &q.ref_id, &parsed, q.time_range.to).await
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
                }
            })
            .collect::<FuturesOrdered<_>>();
        Box::pin(responses)
    }
}

/// Run one parsed query and encode its frames.
async fn answer(
    instance: &super::instances::Instance,
    ref_id: &str,
    query: &query::Query,
    at: chrono::DateTime<chrono::Utc>,
) -> Result<backend::DataResponse, QueryFailure> {
    let catalog = catalog::builtin();
    let frame = match query.query_type {
        QueryType::UseSummary => {
            let mut request =
                AnalysisRequest::new(at, query.window, instance.settings.selector.clone());
            request.thresholds = instance.settings.thresholds.clone();
            request.checks = Some(vec![frames::use_summary::CHECK.to_string()]);
            request.with_inventory = false;
            let analysis = engine::analyze(&instance.client, catalog, &request)
                .await
                .map_err(|e| QueryFailure::from_analysis(ref_id, e))?;
            frames::use_summary(&analysis, catalog)
        }
    };
    let checked = frame.check().map_err(|e| {
        QueryFailure::new(
            ref_id,
            Status::Internal,
            format!("could not build the frame: {e}"),
        )
    })?;
    Ok(backend::DataResponse::new(
        ref_id.to_string(),
        vec![checked],
    ))
}

/// The gRPC Data service Grafana calls; see the module docs.
#[derive(Clone)]
pub struct LenientData(pub GreggPlugin);

#[tonic::async_trait]
impl pluginv2::data_server::Data for LenientData {
    async fn query_data(
        &self,
        request: tonic::Request<pluginv2::QueryDataRequest>,
    ) -> Result<tonic::Response<pluginv2::QueryDataResponse>, tonic::Status> {
        let mut request = request.into_inner();
        let mut responses = HashMap::new();
        let context_problem = context_problem(request.plugin_context.as_ref());
        let mut accepted = Vec::with_capacity(request.queries.len());
        for q in std::mem::take(&mut request.queries) {
            match context_problem.clone().or_else(|| query_problem(&q)) {
                Some(message) => {
                    tracing::warn!(ref_id = %q.ref_id, error = %message, "Query rejected.");
                    responses.insert(q.ref_id.clone(), error_response(400, message));
                }
                None => accepted.push(q),
            }
        }
        if !accepted.is_empty() {
            request.queries = accepted;
            let inner = <GreggPlugin as pluginv2::data_server::Data>::query_data(
                &self.0,
                tonic::Request::new(request),
            )
            .await?;
            responses.extend(inner.into_inner().responses);
        }
        Ok(tonic::Response::new(pluginv2::QueryDataResponse {
            responses,
        }))
    }
}

fn error_response(status: i32, error: String) -> pluginv2::DataResponse {
    pluginv2::DataResponse {
        frames: Vec::new(),
        status,
        error,
        json_meta: Vec::new(),
    }
}

/// Problems with the request as a whole that the SDK would turn into a failed request.
fn context_problem(context: Option<&pluginv2::PluginContext>) -> Option<String> {
    let Some(context) = context else {
        return Some("the request has no plugin context".to_string());
    };
    let settings = context.data_source_instance_settings.as_ref()?;
    if !settings.json_data.is_empty()
        && serde_json::from_slice::<serde_json::Value>(&settings.json_data).is_err()
    {
        return Some(
            "the data source's jsonData is not valid JSON; re-save the data source settings"
                .to_string(),
        );
    }
    if chrono::DateTime::from_timestamp_millis(settings.last_updated_ms).is_none() {
        return Some("the data source's last-updated time is out of range".to_string());
    }
    None
}

/// Problems with one raw query that the SDK would turn into a failed request.
fn query_problem(q: &pluginv2::DataQuery) -> Option<String> {
    if !q.json.is_empty() {
        if let Err(e) = serde_json::from_slice::<serde_json::Value>(&q.json) {
            return Some(format!("the query is not valid JSON: {e}"));
        }
    }
    let Some(range) = &q.time_range else {
        return Some("the query has no time range".to_string());
    };
    let from = chrono::DateTime::from_timestamp_millis(range.from_epoch_ms);
    let to = chrono::DateTime::from_timestamp_millis(range.to_epoch_ms);
    match (from, to) {
        (Some(from), Some(to)) if from <= to => None,
        (Some(_), Some(_)) => Some("the query's time range ends before it starts".to_string()),
        _ => Some("the query's time range is out of range".to_string()),
    }
}
