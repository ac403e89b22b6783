//! Queries → analysis requests: the data source's targets narrowed by the query, thresholds
//! layered over the data source's and validated, and what each query type needs kept.

use std::time::Duration;

use chrono::{DateTime, Utc};

use super::{
    error::{FieldError, Problem},
    query::{DashboardQuery, Query},
};
use crate::{
    analysis::AnalysisRequest,
    catalog::{self, Catalog, USER_CHECK_ID},
    dashboard::DashboardRequest,
    insight::Component,
    methods::MethodsRequest,
    promql::{MatchOp, Matcher, Selector},
    settings::Settings,
};

/// Longest range judged point by point; longer dashboards see its last part.
pub const MAX_RANGE: Duration = Duration::from_secs(7 * 24 * 3600);

/// A panel's time range and resolution, as Grafana sends them.
#[derive(Clone, Debug, PartialEq)]
pub struct Range {
    /// Start.
    pub from: DateTime<Utc>,
    /// End.
    pub to: DateTime<Utc>,
    /// The panel's interval.
    pub interval: Duration,
    /// The panel's max data points.
    pub max_points: i64,
}

impl Range {
    /// Its length, at most [`MAX_RANGE`] (zero when `to` is not after `from`).
    fn span(&self) -> Duration {
        (self.to - self.from)
            .to_std()
            .unwrap_or_default()
            .min(MAX_RANGE)
    }
}

/// The data source's targets narrowed by the query's `instances` regex.
pub fn selector(settings: &Settings, query: &Query) -> Result<Selector, FieldError> {
    let mut selector = settings.selector.clone();
    if let Some(regex) = &query.filters.instances {
        let matcher = Matcher::new("instance", MatchOp::Regex, regex.clone())
            .map_err(|e| query.error("instances", e))?;
        selector = selector.with(matcher);
    }
    Ok(selector)
}

/// The analysis a query describes at `at`: its targets, thresholds layered over the data
/// source's, components, methods; every check's worst target per instance kept (the alert and
/// matrix frames need them).
pub fn analysis_request(
    settings: &Settings,
    query: &Query,
    at: DateTime<Utc>,
) -> Result<AnalysisRequest, FieldError> {
    let mut request = AnalysisRequest::new(at, query.window, selector(settings, query)?);
    request.thresholds = catalog::layered(&settings.thresholds, &query.thresholds);
    catalog::builtin()
        .validate_overrides(&request.thresholds)
        .map_err(|e| query.error("thresholds", e))?;
    request.components = query.filters.components.clone();
    request.methods = query.methods.clone();
    request.keep_levels = true;
    if let Some(budget) = settings.query_sample_budget {
        request.query_sample_budget = budget;
    }
    Ok(request)
}

/// The range analysis (annotations, timelines) of a query over a panel's range ending at `at`:
/// the USE checks judged at every point of a grid honouring the panel's interval and max data
/// points (the range at least a minute, at most [`MAX_RANGE`]), every period each condition
/// held kept.
pub fn range_request(
    settings: &Settings,
    query: &Query,
    range: &Range,
    at: DateTime<Utc>,
) -> Result<AnalysisRequest, FieldError> {
    let span = range.span().max(Duration::from_secs(60));
    let by_points = span / u32::try_from(range.max_points.clamp(1, 11_000)).unwrap_or(1);
    let step = range.interval.max(by_points);
    let mut request = analysis_request(settings, query, at)?;
    request.window = span;
    request.range_step = Some(Duration::from_secs(step.as_secs().max(1)));
    request.methods = MethodsRequest::use_only();
    request.keep_levels = false;
    Ok(request)
}

/// `use_summary`: CPU only, with the per-target observations of its check.
pub fn use_summary_request(
    settings: &Settings,
    query: &Query,
    at: DateTime<Utc>,
    check: &str,
) -> Result<AnalysisRequest, FieldError> {
    let mut request = analysis_request(settings, query, at)?;
    request.components = Some(vec![Component::Cpu]);
    request.observe = vec![check.to_string()];
    request.keep_levels = false;
    request.methods = MethodsRequest::use_only();
    Ok(request)
}

/// `promql_check`: the catalog of the user's one check, and its analysis.
pub fn promql_check_request(
    settings: &Settings,
    query: &Query,
    at: DateTime<Utc>,
) -> Result<(Catalog, AnalysisRequest), FieldError> {
    let check = query.promql_check.clone().ok_or_else(|| {
        query.error(
            "expr",
            Problem::Missing {
                query_type: "promql_check",
                what: "the PromQL to judge",
            },
        )
    })?;
    let custom = Catalog::custom(check).map_err(|e| query.error("expr", e))?;
    let mut request = analysis_request(settings, query, at)?;
    request.checks = Some(vec![USER_CHECK_ID.into()]);
    request.methods = MethodsRequest::use_only();
    request.keep_levels = false;
    request.components = None;
    Ok((custom, request))
}

/// `dashboard`: the dashboard's panels over the panel's range (its last [`MAX_RANGE`]), one
/// point per pixel within 30…1000.
pub fn dashboard_request(spec: &DashboardQuery, range: &Range) -> DashboardRequest {
    let mut request = DashboardRequest::new(&spec.uid, range.from, range.to);
    request.panel_ids = spec.panel_ids.clone();
    request.variables = spec.variables.clone();
    request.max_points = u32::try_from(range.max_points.clamp(30, 1000)).unwrap_or(200);
    let span = (range.to - range.from).to_std().unwrap_or_default();
    if span > MAX_RANGE {
        request.from = crate::samples::before(range.to, MAX_RANGE);
    }
    request
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::request::query::parse;

    fn settings() -> Settings {
        let json = json!({});
        let secure = Default::default();
        Settings::from_grafana(&crate::settings::InstanceSettings {
            uid: "u",
            name: "n",
            url: "http://127.0.0.1:9090",
            basic_auth_enabled: false,
            basic_auth_user: "",
            json_data: &json,
            secure_json_data: &secure,
        })
        .unwrap()
    }

    fn at() -> DateTime<Utc> {
        DateTime::from_timestamp(1_795_788_300, 0).unwrap()
    }

    #[test]
    fn a_query_narrows_the_targets_and_layers_its_thresholds() {
        let q = parse(
            "insights",
            &json!({"instances": "web-.*", "thresholds": {"cpu.utilization": {"warning": 60}}, "components": "cpu"}),
        )
        .unwrap();
        let r = analysis_request(&settings(), &q, at()).unwrap();
        assert!(
            r.selector.to_string().contains("instance=~\"web-.*\""),
            "{}",
            r.selector
        );
        assert_eq!(r.thresholds["cpu.utilization"].warning, Some(60.0));
        assert_eq!(r.components, Some(vec![Component::Cpu]));
        assert!(r.keep_levels);
        let q = parse(
            "insights",
            &json!({"thresholds": {"cpu.nope": {"warning": 60}}}),
        )
        .unwrap();
        let err = analysis_request(&settings(), &q, at())
            .unwrap_err()
            .to_string();
        assert!(
            err.starts_with("query field `thresholds`: unknown check `cpu.nope`"),
            "{err}"
        );
    }

    #[test]
    fn a_range_analysis_steps_by_the_panel_and_runs_use_only() {
        let q = parse("annotations", &json!({})).unwrap();
        let range = Range {
            from: at() - chrono::Duration::days(30),
            to: at(),
            interval: Duration::from_secs(15),
            max_points: 1000,
        };
        let r = range_request(&settings(), &q, &range, at()).unwrap();
        assert_eq!(r.window, MAX_RANGE);
        assert_eq!(r.range_step, Some(Duration::from_secs(604)));
        assert_eq!(r.methods, MethodsRequest::use_only());
        let d = dashboard_request(
            &crate::request::query::DashboardQuery {
                uid: "d".into(),
                panel_ids: None,
                variables: Default::default(),
            },
            &range,
        );
        assert_eq!(d.from, at() - chrono::Duration::days(7));
        assert_eq!(d.max_points, 1000);
    }
}
