//! The gRPC services Grafana calls, screening requests before the SDK converts them.
//!
//! grafana-plugin-sdk 0.5 converts each protobuf request into typed values before our handlers
//! run, and one conversion failure fails the whole call with a gRPC error that Grafana shows as
//! a generic plugin failure. Things that make it fail:
//!
//! - a query whose JSON does not parse, or with no or an out-of-range time range (it also
//!   *panics* on timestamps chrono cannot represent);
//! - `jsonData` that is not JSON, or an out-of-range `updated` time;
//! - a user whose role is not Admin, Editor or Viewer (Grafana also has `None`);
//! - a resource call with a header or URL that `http` rejects.
//!
//! Each wrapper here answers such input itself, per refId or with an HTTP status, removes what
//! we never use (the user, request headers), and hands the rest to the SDK's implementation;
//! QueryData's rest is converted with the SDK's request types and answered by
//! [`GreggPlugin::query_data`], which writes its frames as Arrow IPC itself (`frames::ipc`);
//! [`super::grpc_data`] sends the answer without copying the frames again.
//! QueryData also answers a refresh's repeated queries from [`super::responses`], already
//! encoded, and keeps the encoded answers of those it passed on. QueryData and CallResource
//! answer "deadline exceeded" just before Grafana's deadline, stopping the work
//! ([`super::deadline`]); in QueryData per query, so the queries that finished keep their
//! answers.

use std::collections::HashMap;

use grafana_plugin_sdk::{backend, pluginv2};

use super::{
    answer::{DataAnswer, QueryAnswer},
    deadline, responses, GreggPlugin,
};

/// QueryData: bad queries fail alone with status 400; the rest go to the SDK.
#[derive(Clone)]
pub struct LenientData(pub GreggPlugin);

impl LenientData {
    /// Every query's answer: rejected, from the response cache, or from the plugin within
    /// the call's deadline (`grpc-timeout` in `request`'s metadata).
    pub async fn query_data(
        &self,
        request: tonic::Request<pluginv2::QueryDataRequest>,
    ) -> QueryAnswer {
        let deadline = deadline::Deadline::of(&request);
        let mut request = request.into_inner();
        let mut responses = QueryAnswer::new();
        let context_problem = context_problem(request.plugin_context.as_ref());
        strip_user(request.plugin_context.as_mut());
        let mut accepted = Vec::with_capacity(request.queries.len());
        // Answers a repeated refresh can take from the response cache, by refId: their keys.
        let mut to_keep = HashMap::new();
        // Whether an answer was kept: its expiry is scheduled once for the whole call.
        let mut kept = false;
        let state = &self.0.state;
        for q in std::mem::take(&mut request.queries) {
            let started = std::time::Instant::now();
            match context_problem.clone().or_else(|| query_problem(&q)) {
                Some(message) => {
                    tracing::warn!(ref_id = %q.ref_id, error = %message, "Query rejected.");
                    responses.insert(q.ref_id.clone(), DataAnswer::failed(400, message));
                }
                None => match responses::cacheable(request.plugin_context.as_ref(), &q) {
                    Some(c) => match state.responses.get(&c.key) {
                        Some(answer) => {
                            state.telemetry.analysis("shared");
                            state.telemetry.query_done(
                                c.query_type.as_str(),
                                "ok",
                                started.elapsed(),
                            );
                            responses.insert(q.ref_id.clone(), answer);
                        }
                        None => {
                            to_keep.insert(q.ref_id.clone(), c.key);
                            accepted.push(q);
                        }
                    },
                    None => accepted.push(q),
                },
            }
        }
        // Each query runs as its own call under the deadline: one that finished keeps its
        // answer when another is still running as the deadline passes.
        let calls = accepted.into_iter().map(|q| {
            let ref_id = q.ref_id.clone();
            let one = pluginv2::QueryDataRequest {
                queries: vec![q],
                ..request.clone()
            };
            let plugin = self.0.clone();
            // The SDK converts the request (settings, time ranges) with its own types; our
            // answer writes the frames itself ([`GreggPlugin::query_data`]).
            let inner = async move {
                match backend::QueryDataRequest::<serde_json::Value, GreggPlugin>::try_from(one) {
                    Ok(typed) => Ok(plugin.query_data(typed).await),
                    Err(e) => Err(e.to_string()),
                }
            };
            async move {
                (
                    ref_id,
                    deadline::within(deadline, deadline::scoped(deadline, inner)).await,
                )
            }
        });
        for (ref_id, answered) in futures_util::future::join_all(calls).await {
            match answered {
                Ok(Ok(answers)) => {
                    for (ref_id, answer) in answers {
                        // The frames' allocations move into the answer as they are.
                        let answer = DataAnswer::from(answer);
                        if let Some(key) = to_keep.remove(&ref_id) {
                            state.responses.put(key, &answer);
                            kept = true;
                        }
                        responses.insert(ref_id, answer);
                    }
                }
                // The SDK refused the call (a conversion the screening above missed): this
                // query fails alone.
                Ok(Err(message)) => {
                    responses.insert(ref_id, DataAnswer::failed(500, message));
                }
                // Its work was dropped: it says why (504, as Grafana's own data sources answer
                // a timeout).
                Err(exceeded) => {
                    responses.insert(ref_id, DataAnswer::failed(504, exceeded.to_string()));
                }
            }
        }
        if kept {
            self.0.expire_caches_later();
        }
        responses
    }
}

/// CheckHealth and CollectMetrics: an unusable context becomes an ERROR health result.
#[derive(Clone)]
pub struct LenientDiagnostics(pub GreggPlugin);

#[tonic::async_trait]
impl pluginv2::diagnostics_server::Diagnostics for LenientDiagnostics {
    async fn check_health(
        &self,
        request: tonic::Request<pluginv2::CheckHealthRequest>,
    ) -> Result<tonic::Response<pluginv2::CheckHealthResponse>, tonic::Status> {
        let mut request = request.into_inner();
        if let Some(message) = context_problem(request.plugin_context.as_ref()) {
            return Ok(tonic::Response::new(pluginv2::CheckHealthResponse {
                status: pluginv2::check_health_response::HealthStatus::Error as i32,
                message,
                json_details: Vec::new(),
            }));
        }
        strip_user(request.plugin_context.as_mut());
        request.headers.clear();
        <GreggPlugin as pluginv2::diagnostics_server::Diagnostics>::check_health(
            &self.0,
            tonic::Request::new(request),
        )
        .await
    }

    async fn collect_metrics(
        &self,
        request: tonic::Request<pluginv2::CollectMetricsRequest>,
    ) -> Result<tonic::Response<pluginv2::CollectMetricsResponse>, tonic::Status> {
        // Plugin-level: the answer never depends on a data source, so none is passed on.
        let mut request = request.into_inner();
        if let Some(context) = request.plugin_context.as_mut() {
            context.user = None;
            context.data_source_instance_settings = None;
            context.app_instance_settings = None;
        }
        <GreggPlugin as pluginv2::diagnostics_server::Diagnostics>::collect_metrics(
            &self.0,
            tonic::Request::new(request),
        )
        .await
    }
}

/// CallResource: malformed paths get a 400, unusable contexts a 400, headers are dropped.
#[derive(Clone)]
pub struct LenientResource(pub GreggPlugin);

#[tonic::async_trait]
impl pluginv2::resource_server::Resource for LenientResource {
    type CallResourceStream =
        <GreggPlugin as pluginv2::resource_server::Resource>::CallResourceStream;

    async fn call_resource(
        &self,
        request: tonic::Request<pluginv2::CallResourceRequest>,
    ) -> Result<tonic::Response<Self::CallResourceStream>, tonic::Status> {
        let deadline = deadline::Deadline::of(&request);
        let mut request = request.into_inner();
        let problem = context_problem(request.plugin_context.as_ref()).or_else(|| {
            http::Uri::try_from(format!("/{}", request.url))
                .err()
                .map(|_| "the resource path is not a valid URL path".to_string())
        });
        if let Some(message) = problem {
            return Ok(json_error(400, message));
        }
        strip_user(request.plugin_context.as_mut());
        // Our routes read only the method and path; browser headers could fail conversion.
        request.headers.clear();
        let inner = <GreggPlugin as pluginv2::resource_server::Resource>::call_resource(
            &self.0,
            tonic::Request::new(request),
        );
        match deadline::within(deadline, deadline::scoped(deadline, inner)).await {
            Ok(answer) => answer,
            Err(exceeded) => Ok(json_error(504, exceeded.to_string())),
        }
    }
}

/// A resource answer with `code` and `{"error": message}`.
fn json_error(
    code: i32,
    message: String,
) -> tonic::Response<<LenientResource as pluginv2::resource_server::Resource>::CallResourceStream> {
    let body = serde_json::json!({ "error": message }).to_string();
    let response = pluginv2::CallResourceResponse {
        code,
        headers: HashMap::from([(
            "Content-Type".to_string(),
            pluginv2::StringList {
                values: vec!["application/json".to_string()],
            },
        )]),
        body: body.into(),
    };
    let stream = futures_util::stream::once(async move { Ok(response) });
    tonic::Response::new(Box::pin(stream))
}

/// The user is never used, and an unknown role would fail the SDK's conversion.
fn strip_user(context: Option<&mut pluginv2::PluginContext>) {
    if let Some(context) = context {
        context.user = None;
    }
}

/// Problems with the request's context that the SDK would turn into a failed call.
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

/// Problems with one raw query that the SDK would turn into a failed request (or a panic).
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

#[cfg(test)]
mod tests {
    use super::*;

    fn q(json: &str, from: i64, to: i64) -> pluginv2::DataQuery {
        pluginv2::DataQuery {
            ref_id: "A".into(),
            json: json.as_bytes().to_vec(),
            time_range: Some(pluginv2::TimeRange {
                from_epoch_ms: from,
                to_epoch_ms: to,
            }),
            ..Default::default()
        }
    }

    #[test]
    fn queries_the_sdk_would_choke_on_are_caught() {
        assert_eq!(query_problem(&q("{}", 0, 1)), None);
        assert_eq!(query_problem(&q("", 0, 1)), None);
        assert!(query_problem(&q("{", 0, 1)).is_some_and(|m| m.contains("not valid JSON")));
        assert!(query_problem(&q("{}", 2, 1)).is_some_and(|m| m.contains("ends before")));
        assert!(query_problem(&q("{}", 0, i64::MAX)).is_some_and(|m| m.contains("out of range")));
        let mut none = q("{}", 0, 1);
        none.time_range = None;
        assert!(query_problem(&none).is_some_and(|m| m.contains("no time range")));
    }

    #[test]
    fn contexts_the_sdk_would_choke_on_are_caught() {
        assert!(context_problem(None).is_some());
        let mut context = pluginv2::PluginContext {
            data_source_instance_settings: Some(pluginv2::DataSourceInstanceSettings {
                json_data: b"{not json".to_vec(),
                ..Default::default()
            }),
            ..Default::default()
        };
        assert!(context_problem(Some(&context)).is_some_and(|m| m.contains("jsonData")));
        if let Some(s) = context.data_source_instance_settings.as_mut() {
            s.json_data = b"{}".to_vec();
            s.last_updated_ms = i64::MAX;
        }
        assert!(context_problem(Some(&context)).is_some_and(|m| m.contains("out of range")));
    }
}
