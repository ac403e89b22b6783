//! CallResource: small JSON endpoints for the editors and template variables.
//!
//! Routes are matched exactly on normalised path segments, so `..`, `%2e%2e`, empty segments or
//! anything unknown gets a 404 that lists the routes, never another route's data.
//!
//! - `GET checks`: the check catalog with this data source's effective thresholds.
//! - `GET instances`: instances exposing node_exporter metrics that match the target selector.
//! - `GET report?format=json|markdown|text`: the analysis report (the CLI's), for other tools
//!   and agents; `window`, `instances`, `minSeverity`, `components`, `methodologies`,
//!   `histogram`, `slo`, `groupBy` and `at` (RFC 3339 or Unix seconds) as in queries.
//! - `GET coverage`: what the analysis can and cannot see: collectors per instance, gaps, and
//!   what node_exporter never observes.
//! - `GET dashboards?query=&tag=&folderUIDs=&limit=`: Grafana's dashboards (search API), `tag`
//!   and `folderUIDs` repeated or comma-separated.
//! - `GET dashboards/<uid>/analysis?format=json|markdown|text`: the dashboard analysis as the
//!   report; `window` (default 1h) or `from`/`to` (RFC 3339 or Unix seconds), `panels=1,2`,
//!   `var-<name>=<value>` (repeat for several values, as in Grafana URLs), `minSeverity`.

use std::sync::Arc;

use bytes::Bytes;
use chrono::{Duration as ChronoDuration, Utc};
use grafana_plugin_sdk::backend::{self, ErrIntoHttpResponse};
use serde_json::{json, Value};

use std::collections::BTreeMap;

use super::{instances::Instance, query, GreggPlugin};
use crate::{catalog, report};

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
            Some(["report"]) => Route::Report,
            Some(["coverage"]) => Route::Coverage,
            Some(["dashboards"]) => Route::Dashboards,
            Some(["dashboards", uid, "analysis"]) => Route::DashboardAnalysis(uid.to_string()),
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
        let raw_query = request.request.uri().query().unwrap_or("");
        let response = match route {
            Route::Dashboards => dashboards(&instance, &multi_params(raw_query)?).await?,
            Route::DashboardAnalysis(uid) => {
                dashboard_analysis(&instance, &uid, &multi_params(raw_query)?).await?
            }
            _ => self.analysis_route(&instance, &route, raw_query).await?,
        };
        Ok((response, Box::pin(futures_util::stream::empty())))
    }
}

impl GreggPlugin {
    async fn analysis_route(
        &self,
        instance: &Arc<Instance>,
        route: &Route,
        raw_query: &str,
    ) -> Result<http::Response<Bytes>, ResourceError> {
        let instance = instance.clone();
        let params = params(raw_query)?;
        let response = match route {
            Route::Checks => json_response(http::StatusCode::OK, &checks(&instance)),
            Route::Instances => json_response(http::StatusCode::OK, &instances(&instance).await?),
            Route::Report | Route::Coverage => {
                let (format, query, at) = report_query(&params, matches!(route, Route::Coverage))?;
                let analysis =
                    super::data::shared_analysis(self, &instance, "resource", &query, at)
                        .await
                        .map_err(|e| {
                            ResourceError::new(http::StatusCode::BAD_GATEWAY, e.to_string())
                        })?;
                match route {
                    Route::Coverage => json_response(http::StatusCode::OK, &coverage(&analysis)),
                    _ => report(&analysis, &query, format),
                }
            }
            Route::Dashboards | Route::DashboardAnalysis(_) => {
                return Err(ResourceError::new(
                    http::StatusCode::NOT_FOUND,
                    format!("no such resource; available: {}", ROUTES.join(", ")),
                ))
            }
        }
        .map_err(|e| ResourceError::new(http::StatusCode::INTERNAL_SERVER_ERROR, e.to_string()))?;
        Ok(response)
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

/// Query-string parameters, percent-decoded. Repeated keys: the last wins.
fn params(query: &str) -> Result<BTreeMap<String, String>, ResourceError> {
    Ok(multi_params(query)?.into_iter().collect())
}

/// Query-string parameters, percent-decoded, in order, repeated keys kept.
fn multi_params(query: &str) -> Result<Vec<(String, String)>, ResourceError> {
    let mut out = Vec::new();
    for pair in query.split('&').filter(|p| !p.is_empty()) {
        let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
        let decode = |s: &str| {
            percent_encoding::percent_decode_str(&s.replace('+', " "))
                .decode_utf8()
                .map(|c| c.into_owned())
                .map_err(|_| {
                    ResourceError::new(
                        http::StatusCode::BAD_REQUEST,
                        format!("parameter `{k}` is not UTF-8"),
                    )
                })
        };
        out.push((decode(k)?, decode(v)?));
    }
    Ok(out)
}

/// Every value of `key`, repeated or comma-separated.
fn all_values(params: &[(String, String)], key: &str) -> Vec<String> {
    params
        .iter()
        .filter(|(k, _)| k == key)
        .flat_map(|(_, v)| v.split(','))
        .map(|v| v.trim().to_string())
        .filter(|v| !v.is_empty())
        .collect()
}

fn last_value<'a>(params: &'a [(String, String)], key: &str) -> Option<&'a str> {
    params
        .iter()
        .rev()
        .find(|(k, _)| k == key)
        .map(|(_, v)| v.trim())
        .filter(|v| !v.is_empty())
}

fn grafana_client(instance: &Instance) -> Result<&crate::grafana::Client, ResourceError> {
    instance
        .grafana
        .as_ref()
        .map_err(|e| ResourceError::new(http::StatusCode::BAD_REQUEST, e.clone()))
}

fn grafana_error(e: crate::grafana::GrafanaError) -> ResourceError {
    ResourceError::new(
        http::StatusCode::from_u16(e.http_status()).unwrap_or(http::StatusCode::BAD_GATEWAY),
        e.to_string(),
    )
}

/// `dashboards`: Grafana's dashboard search, with folder and tags.
async fn dashboards(
    instance: &Instance,
    params: &[(String, String)],
) -> Result<http::Response<Bytes>, ResourceError> {
    let known = ["query", "tag", "tags", "folderUIDs", "folderUid", "limit"];
    if let Some((unknown, _)) = params.iter().find(|(k, _)| !known.contains(&k.as_str())) {
        return Err(ResourceError::new(
            http::StatusCode::BAD_REQUEST,
            format!("unknown parameter `{unknown}`; known: {}", known.join(", ")),
        ));
    }
    let mut tags = all_values(params, "tag");
    tags.extend(all_values(params, "tags"));
    let mut folders = all_values(params, "folderUIDs");
    folders.extend(all_values(params, "folderUid"));
    let limit = match last_value(params, "limit") {
        None => None,
        Some(l) => Some(l.parse::<u32>().ok().filter(|n| *n >= 1).ok_or_else(|| {
            ResourceError::new(
                http::StatusCode::BAD_REQUEST,
                format!("parameter `limit`: `{l}` is not a positive whole number"),
            )
        })?),
    };
    let search = crate::grafana::SearchQuery {
        query: last_value(params, "query").map(str::to_string),
        tags,
        folder_uids: folders,
        limit,
    };
    let hits = grafana_client(instance)?
        .search(&search)
        .await
        .map_err(grafana_error)?;
    json_response(http::StatusCode::OK, &json!({ "dashboards": hits }))
        .map_err(|e| ResourceError::new(http::StatusCode::INTERNAL_SERVER_ERROR, e.to_string()))
}

/// A time as RFC 3339, Unix seconds or Unix milliseconds (Grafana URLs use milliseconds).
fn parse_time(name: &str, text: &str) -> Result<chrono::DateTime<Utc>, ResourceError> {
    chrono::DateTime::parse_from_rfc3339(text)
        .map(|t| t.with_timezone(&Utc))
        .ok()
        .or_else(|| {
            text.parse::<f64>()
                .ok()
                .filter(|s| s.is_finite() && *s >= 0.0)
                .and_then(|s| {
                    let secs = if s > 1e11 { s / 1000.0 } else { s };
                    chrono::DateTime::from_timestamp(secs as i64, 0)
                })
        })
        .ok_or_else(|| {
            ResourceError::new(
                http::StatusCode::BAD_REQUEST,
                format!("parameter `{name}`: `{text}` is neither RFC 3339 nor a Unix time"),
            )
        })
}

/// `dashboards/<uid>/analysis`: the dashboard analysis as the report.
async fn dashboard_analysis(
    instance: &Instance,
    uid: &str,
    params: &[(String, String)],
) -> Result<http::Response<Bytes>, ResourceError> {
    let bad = |m: String| ResourceError::new(http::StatusCode::BAD_REQUEST, m);
    let known = ["format", "window", "from", "to", "panels", "minSeverity"];
    if let Some((unknown, _)) = params
        .iter()
        .find(|(k, _)| !known.contains(&k.as_str()) && !k.starts_with("var-"))
    {
        return Err(bad(format!(
            "unknown parameter `{unknown}`; known: {}, var-<name>",
            known.join(", ")
        )));
    }
    let format = match last_value(params, "format") {
        None | Some("json") => report::Format::Json,
        Some("markdown") | Some("md") => report::Format::Markdown,
        Some("text") => report::Format::Text,
        Some(other) => {
            return Err(bad(format!(
                "parameter `format`: `{other}` is not json, markdown or text"
            )))
        }
    };
    let to = match last_value(params, "to") {
        None => Utc::now(),
        Some(t) => parse_time("to", t)?,
    };
    let from = match (last_value(params, "from"), last_value(params, "window")) {
        (Some(f), _) => parse_time("from", f)?,
        (None, Some(w)) => {
            let d = crate::promql::parse_duration(w).map_err(|_| {
                bad(format!(
                    "parameter `window`: `{w}` is not a duration like 1h"
                ))
            })?;
            to - ChronoDuration::from_std(d).unwrap_or_else(|_| ChronoDuration::hours(1))
        }
        (None, None) => to - ChronoDuration::hours(1),
    };
    let min_severity = match last_value(params, "minSeverity") {
        None => crate::insight::Severity::Info,
        Some(s) => crate::insight::Severity::parse(s).ok_or_else(|| {
            bad(format!(
                "parameter `minSeverity`: `{s}` is not one of info, low, medium, high, critical"
            ))
        })?,
    };
    let mut request = crate::dashboard::DashboardRequest::new(uid, from, to);
    let panels = all_values(params, "panels");
    if !panels.is_empty() {
        request.panel_ids = Some(
            panels
                .iter()
                .map(|p| p.parse::<i64>())
                .collect::<Result<Vec<_>, _>>()
                .map_err(|_| bad("parameter `panels`: list panel ids, e.g. 2,5".into()))?,
        );
    }
    for (k, v) in params {
        if let Some(name) = k.strip_prefix("var-") {
            request
                .variables
                .entry(name.to_string())
                .or_default()
                .push(v.clone());
        }
    }
    let grafana = grafana_client(instance)?;
    let mut result = crate::analysis::dashboard::analyze(grafana, &instance.client, &request)
        .await
        .map_err(|e| match e {
            crate::dashboard::DashboardError::Grafana(g) => grafana_error(g),
            crate::dashboard::DashboardError::Request(m) => bad(m),
            other => ResourceError::new(http::StatusCode::BAD_GATEWAY, other.to_string()),
        })?;
    result
        .analysis
        .insights
        .retain(|i| i.severity >= min_severity);
    rendered(
        report::render(&result.analysis, catalog::builtin(), format),
        format,
    )
    .map_err(|e| ResourceError::new(http::StatusCode::INTERNAL_SERVER_ERROR, e.to_string()))
}

/// The report resource's parameters as a `report` query, plus the format and time.
fn report_query(
    params: &BTreeMap<String, String>,
    coverage: bool,
) -> Result<(report::Format, query::Query, chrono::DateTime<Utc>), ResourceError> {
    let bad = |m: String| ResourceError::new(http::StatusCode::BAD_REQUEST, m);
    let format = match params.get("format").map(|f| f.trim()) {
        None | Some("") | Some("json") => report::Format::Json,
        Some("markdown") | Some("md") => report::Format::Markdown,
        Some("text") => report::Format::Text,
        Some(other) => {
            return Err(bad(format!(
                "parameter `format`: `{other}` is not json, markdown or text"
            )))
        }
    };
    let known = [
        "format",
        "window",
        "instances",
        "minSeverity",
        "components",
        "methodologies",
        "histogram",
        "slo",
        "groupBy",
        "at",
    ];
    if let Some(unknown) = params.keys().find(|k| !known.contains(&k.as_str())) {
        return Err(bad(format!(
            "unknown parameter `{unknown}`; known: {}",
            known.join(", ")
        )));
    }
    let mut model = serde_json::Map::new();
    for (k, v) in params
        .iter()
        .filter(|(k, _)| !["format", "at"].contains(&k.as_str()))
    {
        model.insert(k.clone(), Value::String(v.clone()));
    }
    if !model.contains_key("window") {
        model.insert("window".into(), Value::String("10m".into()));
    }
    if coverage {
        // Coverage needs the USE checks only.
        model.insert("methodologies".into(), Value::String("use_method".into()));
    }
    let parsed = query::parse("report", &Value::Object(model))
        .map_err(|e| bad(e.to_string().replace("query field", "parameter")))?;
    let at = match params.get("at").map(|a| a.trim()).filter(|a| !a.is_empty()) {
        None => Utc::now(),
        Some(text) => chrono::DateTime::parse_from_rfc3339(text)
            .map(|t| t.with_timezone(&Utc))
            .ok()
            .or_else(|| {
                text.parse::<f64>()
                    .ok()
                    .filter(|s| s.is_finite())
                    .and_then(|s| chrono::DateTime::from_timestamp(s as i64, 0))
            })
            .ok_or_else(|| {
                bad(format!(
                    "parameter `at`: `{text}` is neither RFC 3339 nor Unix seconds"
                ))
            })?,
    };
    Ok((format, parsed, at))
}

fn report(
    analysis: &crate::analysis::Analysis,
    query: &query::Query,
    format: report::Format,
) -> Result<http::Response<Bytes>, http::Error> {
    let catalog = catalog::builtin();
    let mut filtered = analysis.clone();
    filtered
        .insights
        .retain(|i| i.severity >= query.filters.min_severity);
    if let Some(m) = &query.filters.methodologies {
        filtered.insights.retain(|i| m.contains(&i.methodology));
    }
    for o in &mut filtered.outcomes {
        o.observations = Vec::new();
    }
    rendered(report::render(&filtered, catalog, format), format)
}

/// A rendered report as a 200 answer with its format's content type.
fn rendered(body: String, format: report::Format) -> http::Result<http::Response<Bytes>> {
    let content_type = match format {
        report::Format::Json => "application/json",
        report::Format::Markdown => "text/markdown; charset=utf-8",
        report::Format::Text => "text/plain; charset=utf-8",
    };
    http::Response::builder()
        .status(http::StatusCode::OK)
        .header(http::header::CONTENT_TYPE, content_type)
        .body(Bytes::from(body))
}

fn coverage(analysis: &crate::analysis::Analysis) -> Value {
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
    let values = crate::inventory::instance_names(
        &instance.client,
        &instance.settings.selector,
        now - ChronoDuration::hours(1),
        now,
    )
    .await
    .map_err(|e| ResourceError::new(http::StatusCode::BAD_GATEWAY, e.to_string()))?;
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
