//! CallResource: small JSON endpoints for the editors and template variables.
//!
//! Routes are matched exactly on normalised path segments, so `..`, `%2e%2e`, empty segments or
//! anything unknown gets a 404 that lists the routes, never another route's data.
//!
//! - `GET checks`: the check catalog with this data source's effective thresholds.
//! - `GET instances`: instances exposing node_exporter metrics that match the target selector.

use std::sync::Arc;

use bytes::Bytes;
use chrono::{Duration as ChronoDuration, Utc};
use grafana_plugin_sdk::backend::{self, ErrIntoHttpResponse};
use serde_json::{json, Value};

use super::{instances::Instance, GreggPlugin};
use crate::{catalog, promql::Selector};

/// The routes, for 404 messages.
const ROUTES: &[&str] = &["GET checks", "GET instances"];

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
            _ => {
                return Err(ResourceError::new(
                    http::StatusCode::NOT_FOUND,
                    format!("no such resource; available: {}", ROUTES.join(", ")),
                ))
            }
        };
        if request.request.method() != http::Method::GET {
            return Err(ResourceError::new(
                http::StatusCode::METHOD_NOT_ALLOWED,
                "only GET is supported",
            ));
        }
        let instance = self
            .state
            .instances
            .get(request.plugin_context.instance_settings.as_ref())
            .map_err(|e| ResourceError::new(http::StatusCode::BAD_REQUEST, e.to_string()))?;
        let body = match route {
            Route::Checks => checks(&instance),
            Route::Instances => instances(&instance).await?,
        };
        let response = json_response(http::StatusCode::OK, &body).map_err(|e| {
            ResourceError::new(http::StatusCode::INTERNAL_SERVER_ERROR, e.to_string())
        })?;
        Ok((response, Box::pin(futures_util::stream::empty())))
    }
}

enum Route {
    Checks,
    Instances,
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
    let selector = Selector::parse(r#"cpu="0", mode="idle""#)
        .map(|s| s.and(&instance.settings.selector))
        .map_err(|e| ResourceError::new(http::StatusCode::INTERNAL_SERVER_ERROR, e.to_string()))?;
    let now = Utc::now();
    let answer = instance
        .client
        .label_values(
            "instance",
            &[format!("node_cpu_seconds_total{{{selector}}}")],
            now - ChronoDuration::hours(1),
            now,
        )
        .await
        .map_err(|e| ResourceError::new(http::StatusCode::BAD_GATEWAY, e.to_string()))?;
    let mut values = answer.data;
    values.sort();
    Ok(json!({ "instances": values }))
}

#[cfg(test)]
mod tests {
    use super::route_segments;

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
