//! Panel queries: the JSON a panel sends → a typed [`Query`], or an error naming the bad field.
//!
//! Each query is parsed on its own from a `serde_json::Value` (never by the SDK), so one bad
//! query fails only its own refId. Grafana adds its own keys (`refId`, `datasource`, `hide`,
//! `intervalMs`, `maxDataPoints`…) to every query; unknown keys are ignored.

mod dashboard;
mod promql_check;

use std::time::Duration;

use serde_json::Value;

pub use self::dashboard::DashboardQuery;
pub use super::query_type::QueryType;
use super::{
    error::{Expected, FieldError, Origin, Problem, RequestError},
    fields::{Fields, JsonFields},
    filters::Filters,
    methods,
    window::{self, DEFAULT_WINDOW},
};
use crate::{
    catalog::{Check, ThresholdOverrides},
    methods::MethodsRequest,
};

/// A parsed query (or a resource's parameters read as one).
#[derive(Clone, Debug, PartialEq)]
pub struct Query {
    /// Where it came from: how messages about it name its fields.
    pub origin: Origin,
    /// What to compute.
    pub query_type: QueryType,
    /// Rate window / look-back.
    pub window: Duration,
    /// Threshold overrides for this query, over the data source's (validated once merged).
    pub thresholds: ThresholdOverrides,
    /// Which insights and targets.
    pub filters: Filters,
    /// The methods to run and their options.
    pub methods: MethodsRequest,
    /// What a severity timeline has one series per.
    pub timeline_by: TimelineBy,
    /// A `promql_check`'s check, built and validated by the catalog.
    pub promql_check: Option<Check>,
    /// A `dashboard` query's dashboard, panels and variable values.
    pub dashboard: Option<DashboardQuery>,
}

impl Query {
    /// A query of `query_type` with every option at its default.
    pub fn new(origin: Origin, query_type: QueryType, window: Duration) -> Query {
        Query {
            origin,
            query_type,
            window,
            thresholds: ThresholdOverrides::new(),
            filters: Filters::default(),
            methods: MethodsRequest::default(),
            timeline_by: TimelineBy::default(),
            promql_check: None,
            dashboard: None,
        }
    }

    /// The error `problem` of this query's field `field`.
    pub fn error(&self, field: &str, problem: impl Into<Problem>) -> FieldError {
        FieldError::new(self.origin, field, problem)
    }
}

/// One series per component or per instance.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[cfg_attr(test, derive(ts_rs::TS), ts(rename_all = "lowercase"))]
pub enum TimelineBy {
    /// The worst severity of each resource, across instances.
    #[default]
    Component,
    /// The worst severity of each instance, across resources.
    Instance,
}

/// Parse one query. `proto_query_type` is the query type Grafana sent beside the JSON.
pub fn parse(proto_query_type: &str, json: &Value) -> Result<Query, RequestError> {
    let empty = serde_json::Map::new();
    let object = match json {
        Value::Object(map) => map,
        Value::Null => &empty,
        other => {
            return Err(JsonFields(&empty)
                .wrong_type("(query)", Expected::Object, other)
                .into())
        }
    };
    super::limits::check_json(object)?;
    let fields = JsonFields(object);
    let query_type = query_type(proto_query_type, &fields)?;
    let mut query = Query::new(
        Origin::QueryField,
        query_type,
        window(&fields, DEFAULT_WINDOW)?,
    );
    query.thresholds = thresholds(&fields)?;
    query.filters = Filters::parse(&fields)?;
    query.methods = methods::options(&fields, &query.filters)?;
    query.timeline_by = timeline_by(&fields)?;
    if query_type == QueryType::PromqlCheck {
        query.promql_check = Some(promql_check::parse(&fields, query.window)?);
    }
    if query_type == QueryType::Dashboard {
        query.dashboard = Some(dashboard::parse(&fields)?);
    }
    Ok(query)
}

/// The type Grafana sent beside the query, else its `queryType`, else the default.
fn query_type(proto: &str, fields: &JsonFields<'_>) -> Result<QueryType, RequestError> {
    let name = if proto.is_empty() {
        fields.string("queryType")?.unwrap_or_default()
    } else {
        proto.to_string()
    };
    if name.trim().is_empty() {
        return Ok(QueryType::DEFAULT);
    }
    QueryType::parse(name.trim()).ok_or(RequestError::UnknownQueryType { name })
}

/// `window`: an analysis window, `default` when absent or blank.
pub fn window(fields: &impl Fields, default: Duration) -> Result<Duration, FieldError> {
    match fields.text("window", Expected::Duration)? {
        Some(text) if !text.trim().is_empty() => {
            window::parse_window(&text).map_err(|e| fields.error("window", e))
        }
        _ => Ok(default),
    }
}

fn thresholds(fields: &JsonFields<'_>) -> Result<ThresholdOverrides, FieldError> {
    match fields.get("thresholds") {
        None => Ok(ThresholdOverrides::new()),
        Some(value) => serde_json::from_value(value.clone()).map_err(|e| {
            fields.error(
                "thresholds",
                Problem::ThresholdShape {
                    reason: e.to_string(),
                },
            )
        }),
    }
}

fn timeline_by(fields: &JsonFields<'_>) -> Result<TimelineBy, FieldError> {
    match fields.string("timelineBy")?.as_deref().map(str::trim) {
        None | Some("") | Some("component") => Ok(TimelineBy::Component),
        Some("instance") => Ok(TimelineBy::Instance),
        Some(other) => Err(fields.error(
            "timelineBy",
            Problem::Choice {
                text: other.into(),
                choices: &["component", "instance"],
            },
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn defaults_and_grafana_keys() {
        let q = parse(
            "",
            &json!({"refId": "A", "datasource": {"uid": "x"}, "intervalMs": 1000, "hide": false}),
        )
        .unwrap();
        assert_eq!(q.query_type, QueryType::UseSummary);
        assert_eq!(q.window, DEFAULT_WINDOW);
        assert_eq!(q.methods, MethodsRequest::default());
    }

    #[test]
    fn the_proto_query_type_wins_over_the_json_one() {
        assert!(matches!(
            parse("nope", &json!({"queryType": "use_summary"})),
            Err(RequestError::UnknownQueryType { name }) if name == "nope"
        ));
        assert!(parse("use_summary", &json!({"queryType": "nope"})).is_ok());
    }

    #[test]
    fn bad_fields_name_themselves() {
        let err = |proto: &str, json: Value| parse(proto, &json).unwrap_err().to_string();
        let e = err("use_summary", json!({"window": 5}));
        assert_eq!(
            e,
            "query field `window`: must be a duration string like \"5m\", got a number"
        );
        let e = err("use_summary", json!({"window": "5 minutes"}));
        assert!(e.contains("not a duration"), "{e}");
        let e = err("use_summary", json!({"window": "10s"}));
        assert!(e.contains("at least 30s"), "{e}");
        let e = err("", json!({"queryType": 3}));
        assert!(e.contains("queryType"), "{e}");
        let e = err("", json!([1, 2]));
        assert!(e.contains("JSON object"), "{e}");
        let e = err("bogus", json!({}));
        assert!(e.contains("use_summary"), "{e}");
        let e = err("", json!({"thresholds": {"cpu.utilization": {"warn": 1}}}));
        assert!(e.starts_with("query field `thresholds`"), "{e}");
        let e = err("severity_timeline", json!({"timelineBy": "host"}));
        assert_eq!(
            e,
            "query field `timelineBy`: `host` is not one of component, instance"
        );
    }

    #[test]
    fn methodologies_choose_the_methods_to_run() {
        let q = parse(
            "report",
            &json!({"methodologies": ["fleet_outliers", "use"]}),
        )
        .unwrap();
        assert_eq!(
            q.methods.methods,
            [
                crate::methods::Method::Use,
                crate::methods::Method::Outliers
            ]
        );
        let q = parse(
            "report",
            &json!({"histogram": "h", "slo": "0.25@99", "groupBy": "env"}),
        )
        .unwrap();
        assert_eq!(q.methods.group_by, "env");
        assert!(q.methods.histogram.and_then(|h| h.slo).is_some());
    }

    #[test]
    fn query_thresholds_layer_over_the_data_source() {
        let q = parse(
            "",
            &json!({"thresholds": {"cpu.utilization": {"warning": 60}}}),
        )
        .unwrap();
        let base: ThresholdOverrides = serde_json::from_value(
            json!({"cpu.utilization": {"warning": 70, "critical": 90}, "memory.utilization": {"warning": 50}}),
        )
        .unwrap();
        let merged = crate::catalog::layered(&base, &q.thresholds);
        assert_eq!(merged["cpu.utilization"].warning, Some(60.0));
        assert_eq!(merged["cpu.utilization"].critical, Some(90.0));
        assert_eq!(merged["memory.utilization"].warning, Some(50.0));
    }
}
