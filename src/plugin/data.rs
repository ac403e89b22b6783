//! QueryData: every query of a request answered on its own, concurrently.
//!
//! Queries reach this `DataService` through `lenient::LenientData`, which has already answered
//! those the SDK could not even convert. Here each query's JSON is parsed into a typed query,
//! the analysis runs, and the SDK encodes the frames.

use std::time::Instant;

use futures_util::stream::FuturesOrdered;
use grafana_plugin_sdk::backend::{self, DataQueryError, DataQueryStatus};

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
            request.components = Some(vec![crate::insight::Component::Cpu]);
            request.observe = vec![frames::use_summary::CHECK.to_string()];
            request.methods = crate::methods::MethodsRequest::use_only();
            let analysis = engine::analyze(&instance.client, catalog, &request)
                .await
                .map_err(|e| QueryFailure::from_analysis(ref_id, e))?;
            frames::use_summary(&analysis)
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
