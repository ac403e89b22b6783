//! The tools' work: arguments parsed by the request module (the same names and messages as a
//! panel query), the same analysis, health and inventory calls the CLI makes, answers shaped
//! by [`super::answer`]. The last report is kept as Markdown for the `report` resource.

use std::sync::{Arc, Mutex};

use chrono::{DateTime, Duration as ChronoDuration, Utc};
use serde_json::{json, Map, Value};

use super::{
    answer::{self, Detail, DEFAULT_LIMIT, MAX_LIMIT},
    error::ToolError,
    explain,
};
use crate::{
    analysis::{self, Analysis, AnalysisRequest},
    catalog, grafana, health,
    insight::Methodology,
    methods::{Method, MethodsRequest},
    prometheus,
    promql::{MatchOp, Matcher, Selector},
    report,
    request::{
        self,
        fields::{Fields, JsonFields},
        filters, query, Format,
    },
};

/// What every call shares: the clients, the targets, the last report.
pub struct State {
    /// Prometheus.
    pub prometheus: prometheus::Client,
    /// Grafana, for `analyze_dashboard`.
    pub grafana: Option<grafana::Client>,
    /// The targets analysed (`--selector`).
    pub selector: Selector,
    /// The last analysis, rendered as Markdown only when the `report` resource is read (so a
    /// call does not pay for a report nobody may ask for: on 1,000 hosts that render is a
    /// visible share of the call).
    pub last_report: Mutex<Option<Arc<Analysis>>>,
}

/// Run tool `name` with `arguments`; the answer is the structured result.
pub async fn call(
    state: &Arc<State>,
    name: &str,
    arguments: &Map<String, Value>,
) -> Result<Value, ToolError> {
    let spec = super::tools::find(name).ok_or_else(|| ToolError::UnknownTool {
        name: name.to_string(),
        known: super::tools::NAMES.to_vec(),
    })?;
    let known = spec.arguments();
    if let Some(unknown) = arguments.keys().find(|k| !known.contains(k)) {
        return Err(ToolError::UnknownArgument {
            tool: spec.name,
            name: unknown.clone(),
            known,
        });
    }
    let fields = JsonFields(arguments);
    match spec.name {
        "analyze" => analyze(state, &fields, arguments).await,
        "drill_down" => drill_down(state, &fields, arguments).await,
        "analyze_dashboard" => dashboard(state, &fields, arguments).await,
        "explain_check" => explain::check(&required(&fields, "check")?),
        "list_checks" => explain::list(fields.non_blank("component")?.as_deref()),
        "list_instances" => instances(state, &fields).await,
        _ => Ok(serde_json::to_value(
            health::check(&state.prometheus, catalog::builtin(), &state.selector).await,
        )
        .unwrap_or(Value::Null)),
    }
}

/// A required non-blank string argument.
fn required(fields: &JsonFields<'_>, name: &str) -> Result<String, ToolError> {
    fields
        .non_blank(name)?
        .ok_or_else(|| ToolError::argument(name, "is required"))
}

/// `at`: the evaluation time, now when absent.
fn at(fields: &JsonFields<'_>, name: &str) -> Result<DateTime<Utc>, ToolError> {
    match fields.non_blank(name)? {
        None => Ok(Utc::now()),
        Some(text) => request::parse_time(&text).map_err(|e| ToolError::argument(name, e)),
    }
}

/// `limit`: a whole number within 1…`max`, `default` when absent.
fn limit(fields: &JsonFields<'_>, default: usize, max: usize) -> Result<usize, ToolError> {
    match fields.number("limit")? {
        None => Ok(default),
        Some(n) if n.fract() == 0.0 && n >= 1.0 && n <= max as f64 => Ok(n as usize),
        Some(n) => Err(ToolError::argument(
            "limit",
            format!("must be a whole number from 1 to {max}, got {n}"),
        )),
    }
}

/// `detail`: summary or full.
fn detail(fields: &JsonFields<'_>) -> Result<Detail, ToolError> {
    match fields.non_blank("detail")?.as_deref() {
        None | Some("summary") => Ok(Detail::Summary),
        Some("full") => Ok(Detail::Full),
        Some(other) => Err(ToolError::argument(
            "detail",
            format!("`{other}` is not one of summary, full"),
        )),
    }
}

/// The analysis a query's arguments describe (what the CLI's `analyze` builds from its flags).
fn analysis_request(
    state: &State,
    q: &request::Query,
    at: DateTime<Utc>,
) -> Result<AnalysisRequest, ToolError> {
    let mut selector = state.selector.clone();
    if let Some(regex) = &q.filters.instances {
        let matcher = Matcher::new("instance", MatchOp::Regex, regex.clone())
            .map_err(|e| q.error("instances", e))?;
        selector = selector.with(matcher);
    }
    let mut request = AnalysisRequest::new(at, q.window, selector);
    request.thresholds = q.thresholds.clone();
    catalog::builtin()
        .validate_overrides(&request.thresholds)
        .map_err(|e| q.error("thresholds", e))?;
    request.components = q.filters.components.clone();
    request.methods = q.methods.clone();
    Ok(request)
}

/// Run `request`, keep its Markdown report, filter its insights by `q`, shape the answer.
async fn run(
    state: &State,
    q: &request::Query,
    request: &AnalysisRequest,
    detail: Detail,
    limit: usize,
) -> Result<Value, ToolError> {
    let mut analysis: Analysis = analysis::analyze(&state.prometheus, catalog::builtin(), request)
        .await
        .map_err(|e| ToolError::failed(&e))?;
    q.filters.retain(&mut analysis.insights);
    let answer = answer::analysis(&analysis, detail, limit);
    remember(state, analysis);
    Ok(answer)
}

/// Keep `analysis` for the `report` resource.
fn remember(state: &State, analysis: Analysis) {
    if let Ok(mut last) = state.last_report.lock() {
        *last = Some(Arc::new(analysis));
    }
}

/// The last analysis as the Markdown report, if there was one.
pub fn last_report(state: &State) -> Option<String> {
    let last = state.last_report.lock().ok()?.clone()?;
    Some(report::render(&last, catalog::builtin(), Format::Markdown))
}

async fn analyze(
    state: &State,
    fields: &JsonFields<'_>,
    arguments: &Map<String, Value>,
) -> Result<Value, ToolError> {
    let q = query::parse("report", &Value::Object(arguments.clone()))?;
    analyze_parsed(state, fields, &q).await
}

/// An analysis for a parsed query: the request at the tool's `at`, the answer cut to `detail`
/// and `limit` (shared by `analyze` and `drill_down`).
async fn analyze_parsed(
    state: &State,
    fields: &JsonFields<'_>,
    q: &request::Query,
) -> Result<Value, ToolError> {
    let request = analysis_request(state, q, at(fields, "at")?)?;
    run(
        state,
        q,
        &request,
        detail(fields)?,
        limit(fields, DEFAULT_LIMIT, MAX_LIMIT)?,
    )
    .await
}

/// One instance, one component: USE and the drill-down below its findings, nothing else.
async fn drill_down(
    state: &State,
    fields: &JsonFields<'_>,
    arguments: &Map<String, Value>,
) -> Result<Value, ToolError> {
    let instance = required(fields, "instance")?;
    let component = filters::component(&required(fields, "component")?)
        .map_err(|e| ToolError::argument("component", e))?;
    let mut args = arguments.clone();
    args.remove("instance");
    args.remove("component");
    let mut q = query::parse("report", &Value::Object(args))?;
    q.filters.instances = Some(regex_syntax::escape(&instance));
    q.filters.components = Some(vec![component]);
    q.filters.methodologies = Some(vec![Methodology::UseMethod, Methodology::DrillDown]);
    q.methods = MethodsRequest {
        methods: vec![Method::Use, Method::Drilldown],
        ..MethodsRequest::default()
    };
    analyze_parsed(state, fields, &q).await
}

async fn dashboard(
    state: &State,
    fields: &JsonFields<'_>,
    arguments: &Map<String, Value>,
) -> Result<Value, ToolError> {
    let q = query::parse("dashboard", &Value::Object(arguments.clone()))?;
    let spec = q
        .dashboard
        .clone()
        .ok_or_else(|| ToolError::argument("dashboardUid", "is required"))?;
    let grafana = state.grafana.as_ref().ok_or(ToolError::NoGrafana)?;
    let to = at(fields, "to")?;
    let window = query::window(fields, request::window::DEFAULT_DASHBOARD_WINDOW)?;
    let from = match fields.non_blank("from")? {
        Some(text) => request::parse_time(&text).map_err(|e| ToolError::argument("from", e))?,
        None => to - ChronoDuration::from_std(window).unwrap_or_default(),
    };
    let mut dashboard = crate::dashboard::DashboardRequest::new(&spec.uid, from, to);
    dashboard.panel_ids = spec.panel_ids;
    dashboard.variables = spec.variables;
    let mut result = analysis::dashboard::analyze(grafana, &state.prometheus, &dashboard)
        .await
        .map_err(|e| ToolError::failed(&e))?;
    q.filters.retain(&mut result.analysis.insights);
    let mut answer = answer::analysis(
        &result.analysis,
        detail(fields)?,
        limit(fields, DEFAULT_LIMIT, MAX_LIMIT)?,
    );
    answer["dashboard"] =
        json!({"uid": result.uid, "title": result.title, "panels": result.panels});
    remember(state, result.analysis);
    Ok(answer)
}

async fn instances(state: &State, fields: &JsonFields<'_>) -> Result<Value, ToolError> {
    let to = at(fields, "at")?;
    let mut selector = state.selector.clone();
    if let Some(regex) = fields.non_blank("instances")? {
        filters::instances(&regex).map_err(|e| ToolError::argument("instances", e))?;
        let matcher = Matcher::new("instance", MatchOp::Regex, regex)
            .map_err(|e| ToolError::argument("instances", e))?;
        selector = selector.with(matcher);
    }
    let limit = limit(fields, 100, 1000)?;
    let names = crate::inventory::instance_names(
        &state.prometheus,
        &selector,
        to - ChronoDuration::hours(1),
        to,
    )
    .await
    .map_err(|e| ToolError::failed(&e))?;
    Ok(answer::list("instances", names, limit))
}
