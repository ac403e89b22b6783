//! CallResource: small JSON endpoints for the editors and template variables.
//!
//! Routes are matched exactly on normalised path segments, so `..`, `%2e%2e`, empty segments or
//! anything unknown gets a 404 that lists the routes, never another route's data.
//!
//! - `GET checks`: the check catalog with this data source's effective thresholds.
//! - `GET instances`: instances exposing node_exporter metrics that match the target selector.
//! - `GET report?format=json|markdown|text`: the analysis report (the CLI's), for other tools
//!   and agents; `window`, `instances`, `minSeverity`, `components`, `methodologies`,
//!   `histogram`, `slo`, `groupBy` as in queries, and `at` (RFC 3339 or Unix seconds).
//! - `GET coverage`: what the analysis can and cannot see: collectors per instance, gaps, and
//!   what node_exporter never observes.
//! - `GET dashboards?query=&tag=&folderUIDs=&limit=`: Grafana's dashboards (search API), `tag`
//!   and `folderUIDs` repeated or comma-separated.
//! - `GET dashboards/<uid>/analysis?format=json|markdown|text`: the dashboard analysis as the
//!   report; `window` (default 1h) or `from`/`to` (RFC 3339 or Unix seconds), `panels=1,2`,
//!   `var-<name>=<value>` (repeat for several values, as in Grafana URLs), and the insight
//!   filters `minSeverity`, `components`, `methodologies`.
//!
//! Parameters are read by [`crate::request::resource`]. Failures answer with their class
//! ([`crate::request::Failure`]): 400 for bad input, 404 for a dashboard that does not exist,
//! 502 when Prometheus or Grafana failed, 504 when they did not answer in time.

use std::sync::Arc;

use bytes::Bytes;
use chrono::{Duration as ChronoDuration, Utc};
use grafana_plugin_sdk::backend::{self, ErrIntoHttpResponse};
use serde_json::{json, Value};

use super::{instances::Instance, GreggPlugin};
use crate::{
    analysis::Analysis,
    catalog,
    prometheus::Priority,
    report,
    request::{
        resource::{self as requests, DashboardAnalysisRequest, ReportRequest},
        Failure, Format, Params, Query, Status,
    },
};

/// The routes, for 404 messages.
const ROUTES: &[&str] = &[
    "GET checks",
    "GET instances",
    "GET report?format=json|markdown|text",
    "GET coverage",
    "GET dashboards",
    "GET dashboards/<uid>/analysis?format=json|markdown|text",
];

/// A resource request that failed, rendered as JSON with a status code.
#[derive(Debug, thiserror::Error)]
#[error("{message}")]
pub struct ResourceError {
    status: http::StatusCode,
    message: String,
}

impl ResourceError {
    fn new(status: http::StatusCode, message: impl Into<String>) -> Self {
        Self {
            status,
            message: message.into(),
        }
    }

    fn route(error: RouteError) -> Self {
        let status = match error {
            RouteError::NotFound => http::StatusCode::NOT_FOUND,
            RouteError::MethodNotAllowed => http::StatusCode::METHOD_NOT_ALLOWED,
        };
        Self::new(status, error.to_string())
    }

    fn internal(error: http::Error) -> Self {
        Self::new(http::StatusCode::INTERNAL_SERVER_ERROR, error.to_string())
    }
}

/// A call that matches no route.
#[derive(Debug, thiserror::Error)]
enum RouteError {
    /// No such path.
    #[error("no such resource; available: {}", ROUTES.join(", "))]
    NotFound,
    /// A method other than GET.
    #[error("only GET is supported")]
    MethodNotAllowed,
}

/// A failure answers with its class: 400 for bad input, 404 for what does not exist, 502 when
/// Prometheus or Grafana failed, 504 when they did not answer in time.
impl From<Failure> for ResourceError {
    fn from(failure: Failure) -> Self {
        ResourceError {
            status: http_status(failure.status),
            message: failure.message,
        }
    }
}

/// Every error a route meets, classified by [`Failure`].
macro_rules! classified {
    ($($error:ty),* $(,)?) => {$(
        impl From<$error> for ResourceError {
            fn from(error: $error) -> Self {
                Failure::from(error).into()
            }
        }
    )*};
}

classified!(
    crate::request::RequestError,
    crate::request::FieldError,
    crate::prometheus::PrometheusError,
    crate::dashboard::DashboardError,
    &crate::grafana::GrafanaError,
    &super::instances::InstanceError,
);

fn http_status(status: Status) -> http::StatusCode {
    http::StatusCode::from_u16(status.http()).unwrap_or(http::StatusCode::INTERNAL_SERVER_ERROR)
}

impl ErrIntoHttpResponse for ResourceError {
    fn into_http_response(self) -> Result<http::Response<Bytes>, Box<dyn std::error::Error>> {
        Ok(json_response(
            self.status,
            &json!({ "error": self.message }),
        )?)
    }
}

fn json_response(
    status: http::StatusCode,
    body: &Value,
) -> Result<http::Response<Bytes>, http::Error> {
    http::Response::builder()
        .status(status)
        .header(http::header::CONTENT_TYPE, "application/json")
        .body(Bytes::from(body.to_string()))
}

/// A 200 JSON answer.
fn ok_json(body: &Value) -> Result<http::Response<Bytes>, ResourceError> {
    json_response(http::StatusCode::OK, body).map_err(ResourceError::internal)
}

#[backend::async_trait]
impl backend::ResourceService for GreggPlugin {
    type Error = ResourceError;
    type InitialResponse = http::Response<Bytes>;
    type Stream = backend::BoxResourceStream<Self::Error>;

    async fn call_resource(
        &self,
        request: backend::CallResourceRequest<Self>,
    ) -> Result<(Self::InitialResponse, Self::Stream), Self::Error> {
        let segments = route_segments(request.request.uri().path());
        let route = match segments.as_deref() {
            Some(["checks"]) => Route::Checks,
            Some(["instances"]) => Route::Instances,
            Some(["report"]) => Route::Report,
            Some(["coverage"]) => Route::Coverage,
            Some(["dashboards"]) => Route::Dashboards,
            Some(["dashboards", uid, "analysis"]) => Route::DashboardAnalysis(uid.to_string()),
            _ => return Err(ResourceError::route(RouteError::NotFound)),
        };
        if request.request.method() != http::Method::GET {
            return Err(ResourceError::route(RouteError::MethodNotAllowed));
        }
        let instance = self
            .state
            .instances
            .get(
                request.plugin_context.org_id,
                request.plugin_context.instance_settings.as_ref(),
            )
            .map_err(|e| ResourceError::from(&e))?;
        let params = Params::parse(request.request.uri().query().unwrap_or(""))?;
        // A panic (a bug) answers 500 instead of resetting Grafana's gRPC stream.
        let response = super::isolate::isolated(self.serve(route, &instance, &params), |panic| {
            tracing::error!(panic = %panic, "A resource call panicked; only this call fails.");
            ResourceError::new(
                http::StatusCode::INTERNAL_SERVER_ERROR,
                "internal error in this resource call: a bug in Gregg Insights; please report it",
            )
        })
        .await?;
        Ok((response, Box::pin(futures_util::stream::empty())))
    }
}

impl GreggPlugin {
    /// Answer one resource route.
    async fn serve(
        &self,
        route: Route,
        instance: &Arc<Instance>,
        params: &Params,
    ) -> Result<http::Response<Bytes>, ResourceError> {
        Ok(match route {
            Route::Checks => ok_json(&checks(instance))?,
            Route::Instances => ok_json(&instances(instance).await?)?,
            Route::Report | Route::Coverage => {
                let coverage = matches!(route, Route::Coverage);
                self.report(instance, params, coverage).await?
            }
            Route::Dashboards => dashboards(instance, params).await?,
            Route::DashboardAnalysis(uid) => {
                self.dashboard_analysis(instance, &uid, params).await?
            }
        })
    }

    /// `dashboards/<uid>/analysis`: the dashboard analysis as the report, shared with the
    /// `dashboard` queries of the same range through the dashboards' cache.
    async fn dashboard_analysis(
        &self,
        instance: &Arc<Instance>,
        uid: &str,
        params: &Params,
    ) -> Result<http::Response<Bytes>, ResourceError> {
        let asked = DashboardAnalysisRequest::parse(params)?;
        let mut request = asked.dashboard_request(uid, Utc::now());
        request.to = super::cache::bucketed(request.to);
        let result = super::data::shared_dashboard(self, instance, request).await?;
        let mut analysis = result.analysis.clone();
        asked.filters.retain(&mut analysis.insights);
        rendered(
            report::render(&analysis, catalog::builtin(), asked.format),
            asked.format,
        )
    }

    /// `report` and `coverage`: the shared analysis their parameters describe.
    async fn report(
        &self,
        instance: &Arc<Instance>,
        params: &Params,
        coverage: bool,
    ) -> Result<http::Response<Bytes>, ResourceError> {
        let request = ReportRequest::parse(params, coverage)?;
        let at = request.at.unwrap_or_else(Utc::now);
        let analysis = super::data::shared_analysis(self, instance, &request.query, at).await?;
        if coverage {
            ok_json(&coverage_of(&analysis))
        } else {
            report(&analysis, &request.query, request.format)
        }
    }
}

enum Route {
    Checks,
    Instances,
    Report,
    Coverage,
    Dashboards,
    DashboardAnalysis(String),
}

/// `dashboards`: Grafana's dashboard search, with folder and tags.
async fn dashboards(
    instance: &Instance,
    params: &Params,
) -> Result<http::Response<Bytes>, ResourceError> {
    let search = requests::search(params)?;
    let grafana = instance.grafana.as_ref().map_err(ResourceError::from)?;
    let hits = grafana
        .search(&search)
        .await
        .map_err(|e| ResourceError::from(&e))?;
    ok_json(&json!({ "dashboards": hits }))
}

/// The report of `analysis`, its insights filtered as `query` says.
fn report(
    analysis: &Analysis,
    query: &Query,
    format: Format,
) -> Result<http::Response<Bytes>, ResourceError> {
    let mut filtered = analysis.clone();
    query.filters.retain(&mut filtered.insights);
    for o in &mut filtered.outcomes {
        o.observations = Vec::new();
    }
    rendered(
        report::render(&filtered, catalog::builtin(), format),
        format,
    )
}

/// A rendered report as a 200 answer with its format's content type.
fn rendered(body: String, format: Format) -> Result<http::Response<Bytes>, ResourceError> {
    let content_type = match format {
        Format::Json => "application/json",
        Format::Markdown => "text/markdown; charset=utf-8",
        Format::Text => "text/plain; charset=utf-8",
    };
    http::Response::builder()
        .status(http::StatusCode::OK)
        .header(http::header::CONTENT_TYPE, content_type)
        .body(Bytes::from(body))
        .map_err(ResourceError::internal)
}

fn coverage_of(analysis: &Analysis) -> Value {
    let inv = &analysis.inventory;
    let catalog = catalog::builtin();
    json!({
        "instances": inv.instances,
        "collectorStatusKnown": inv.collector_status_known(),
        "collectors": inv.collectors.iter().map(|c| json!({
            "name": c.name,
            "lost": c.lost,
            "defaultEnabled": c.default_enabled,
            "working": c.working,
            "failing": c.failing,
            "absent": c.absent,
            "enable": format!("--collector.{}", c.name),
        })).collect::<Vec<_>>(),
        "missing": inv.missing,
        "gaps": crate::report::coverage_lines(&analysis.insights),
        "failedChecks": analysis.outcomes.iter().filter_map(|o| o.error.as_ref().map(|e| json!({"check": o.check, "error": e}))).collect::<Vec<_>>(),
        "notObservable": catalog.unobservable().iter().map(|u| json!({
            "component": u.component.as_str(), "what": u.what, "use": u.use_instead,
        })).collect::<Vec<_>>(),
    })
}

/// Split a request path into segments; `None` for anything that tries to be clever.
fn route_segments(path: &str) -> Option<Vec<&str>> {
    let path = path.strip_prefix('/').unwrap_or(path);
    let path = path.strip_suffix('/').unwrap_or(path);
    let segments: Vec<&str> = path.split('/').collect();
    let suspicious = segments
        .iter()
        .any(|s| s.is_empty() || *s == "." || *s == ".." || s.contains('%') || s.contains('\\'));
    (!suspicious).then_some(segments)
}

fn checks(instance: &Arc<Instance>) -> Value {
    let catalog = catalog::builtin();
    let overrides = &instance.settings.thresholds;
    let checks: Vec<Value> = catalog
        .checks()
        .iter()
        .map(|c| {
            let effective = catalog.thresholds(&c.id, overrides);
            json!({
                "id": c.id,
                "label": c.label,
                "component": c.component,
                "signal": c.signal.as_str(),
                "issueType": c.issue_type.as_str(),
                "metric": c.metric,
                "unit": c.unit.grafana(),
                "thresholdSource": c.threshold_source,
                "direction": match c.direction { catalog::Direction::Above => "above", catalog::Direction::Below => "below" },
                "defaults": { "warning": c.warning, "critical": c.critical },
                "thresholds": effective.map(|t| json!({ "warning": t.warning, "critical": t.critical })),
                "severity": { "warning": c.severity.warning.as_str(), "critical": c.severity.critical.as_str() },
                "requires": c.requires,
                "bookReference": c.book_reference,
            })
        })
        .collect();
    json!({ "checks": checks })
}

async fn instances(instance: &Arc<Instance>) -> Result<Value, ResourceError> {
    let now = Utc::now();
    // An inventory call: it jumps the queue of analysis queries (see `Priority::Control`).
    let values = crate::inventory::instance_names(
        &instance.client.with_priority(Priority::Control),
        &instance.settings.selector,
        now - ChronoDuration::hours(1),
        now,
    )
    .await?;
    Ok(json!({ "instances": values }))
}

#[cfg(test)]
mod tests {
    use super::{route_segments, ResourceError};
    use crate::{
        analysis::AnalysisError,
        grafana::GrafanaError,
        prometheus::PrometheusError,
        request::{query, resource::ReportRequest, Failure, Params},
    };

    #[test]
    fn resources_answer_400_for_input_and_502_or_504_for_upstreams() {
        let status = |e: ResourceError| e.status.as_u16();
        let bad_param = ReportRequest::parse(&Params::parse("at=-5").unwrap(), false).unwrap_err();
        assert_eq!(status(bad_param.into()), 400);
        let bad_query =
            query::parse("report", &serde_json::json!({"components": "gpu"})).unwrap_err();
        assert_eq!(status(bad_query.into()), 400);
        let unknown_check = Failure::from(AnalysisError::UnknownCheck("cpu.nope".into()));
        assert_eq!(status(unknown_check.into()), 400);
        let down = PrometheusError::Unreachable {
            url: "http://127.0.0.1:1".into(),
            reason: "connection refused".into(),
        };
        assert_eq!(
            status(Failure::from(AnalysisError::Prometheus(down)).into()),
            502
        );
        let slow = PrometheusError::Timeout {
            url: "http://127.0.0.1:1".into(),
            endpoint: "/api/v1/series".into(),
            timeout: std::time::Duration::from_secs(2),
        };
        assert_eq!(status(slow.into()), 504);
        let missing = GrafanaError::NotFound {
            path: "/api/dashboards/uid/nope".into(),
            what: "dashboard nope".into(),
        };
        assert_eq!(status((&missing).into()), 404);
    }

    #[test]
    fn paths_cannot_escape_their_routes() {
        assert_eq!(route_segments("/checks"), Some(vec!["checks"]));
        assert_eq!(route_segments("checks/"), Some(vec!["checks"]));
        for bad in [
            "/../checks",
            "/checks/..",
            "//checks",
            "/%2e%2e/checks",
            "/a\\b",
            "/./checks",
        ] {
            assert_eq!(route_segments(bad), None, "{bad}");
        }
    }
}
