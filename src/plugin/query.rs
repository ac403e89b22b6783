//! Query models: the JSON a panel sends → a typed query, or an error naming the bad field.
//!
//! Each query is parsed on its own from a `serde_json::Value` (never by the SDK), so one bad
//! query fails only its own refId. Grafana adds its own keys (`refId`, `datasource`, `hide`,
//! `intervalMs`, `maxDataPoints`…) to every query; unknown keys are ignored.

use std::time::Duration;

use serde_json::Value;
use thiserror::Error;

use crate::{
    catalog::{Direction, ThresholdOverrides, Unit},
    insight::{Component, Methodology, Severity},
    methods::{group_label, HistogramRequest, Method, MethodsRequest, Slo},
    promql::{parse_duration, DurationError},
};

/// The default look-back and rate window.
pub const DEFAULT_WINDOW: Duration = Duration::from_secs(300);

/// Shortest window accepted: `rate()` needs at least two samples, so at least twice the
/// scrape interval; 30s covers the usual 15s.
const MIN_WINDOW: Duration = Duration::from_secs(30);

/// The query types this data source answers (docs/frames.md has each frame contract).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[cfg_attr(test, derive(ts_rs::TS), ts(rename_all = "snake_case"))]
pub enum QueryType {
    /// CPU utilization per instance as a table.
    UseSummary,
    /// One row per insight, every field of the model.
    Insights,
    /// What the report panel renders: summary, insights, checks, coverage, Markdown.
    Report,
    /// One region per period a condition held within the dashboard's range.
    Annotations,
    /// `severity_level` per instance × check, for Grafana Alerting.
    Alert,
    /// Instances × resources × utilization/saturation/errors.
    UseMatrix,
    /// The worst severity per component (or instance) over the range, as a wide time series.
    SeverityTimeline,
    /// A user's own PromQL check, judged like a catalog check.
    PromqlCheck,
    /// Instance names, for template variables.
    Instances,
    /// A Grafana dashboard's panels read the Gregg way (insight rows).
    Dashboard,
}

impl QueryType {
    /// Every query type, with its name.
    pub const ALL: &'static [(QueryType, &'static str)] = &[
        (QueryType::UseSummary, "use_summary"),
        (QueryType::Insights, "insights"),
        (QueryType::Report, "report"),
        (QueryType::Annotations, "annotations"),
        (QueryType::Alert, "alert"),
        (QueryType::UseMatrix, "use_matrix"),
        (QueryType::SeverityTimeline, "severity_timeline"),
        (QueryType::PromqlCheck, "promql_check"),
        (QueryType::Instances, "instances"),
        (QueryType::Dashboard, "dashboard"),
    ];

    /// The query type used when a query names none.
    pub const DEFAULT: QueryType = QueryType::UseSummary;

    /// Its name in `queryType`.
    pub fn as_str(self) -> &'static str {
        QueryType::ALL
            .iter()
            .find(|(t, _)| *t == self)
            .map(|(_, n)| *n)
            .unwrap_or("unknown")
    }

    fn parse(name: &str) -> Option<QueryType> {
        QueryType::ALL
            .iter()
            .find(|(_, n)| *n == name)
            .map(|(t, _)| *t)
    }
}

/// A parsed query.
#[derive(Clone, Debug, PartialEq)]
pub struct Query {
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
    /// A `promql_check`'s definition.
    pub promql_check: Option<PromqlCheck>,
    /// A `dashboard` query's dashboard, panels and variable values.
    pub dashboard: Option<DashboardQuery>,
}

/// Which dashboard to read: `dashboardUid`, optional `panelIds` and `variables`
/// (`{"name": "value"}` or `{"name": ["a", "b"]}`).
#[derive(Clone, Debug, PartialEq)]
pub struct DashboardQuery {
    /// The dashboard's uid.
    pub uid: String,
    /// Only these panels.
    pub panel_ids: Option<Vec<i64>>,
    /// Variable values over the dashboard's current ones.
    pub variables: std::collections::BTreeMap<String, Vec<String>>,
}

/// Filters every query type honours.
#[derive(Clone, Debug, PartialEq)]
pub struct Filters {
    /// An `instance` regex (anchored, RE2), added to the data source's target selector.
    pub instances: Option<String>,
    /// Only these components (all when `None`).
    pub components: Option<Vec<Component>>,
    /// Insights below this severity are left out.
    pub min_severity: Severity,
    /// Only insights of these methodologies (all when `None`).
    pub methodologies: Option<Vec<Methodology>>,
}

impl Default for Filters {
    fn default() -> Self {
        Filters {
            instances: None,
            components: None,
            min_severity: Severity::Info,
            methodologies: None,
        }
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

/// A user's check: PromQL aggregated `by (instance[, device])`, thresholds and narrative.
#[derive(Clone, Debug, PartialEq)]
pub struct PromqlCheck {
    /// The PromQL; `${selector}`, `${rate}` and `${window}` may be used.
    pub expr: String,
    /// Warning threshold.
    pub warning: f64,
    /// Critical threshold.
    pub critical: f64,
    /// `above` (default) or `below`: which side is bad.
    pub direction: Direction,
    /// `percent`, `ratio`, `seconds`, `ms`, `bytes`, `per_second`, `count` (default ratio).
    pub unit: Unit,
    /// The resource it concerns (default system).
    pub component: Component,
    /// The label naming a device, for per-device checks.
    pub device_label: Option<String>,
    /// Narrative fields, with the catalog's `${…}` placeholders.
    pub title: Option<String>,
    /// What the data shows.
    pub observation: Option<String>,
    /// The likely cause.
    pub root_cause: Option<String>,
    /// What to do now.
    pub immediate_action: Option<String>,
    /// The next commands.
    pub investigation_steps: Vec<String>,
    /// The sustainable fix.
    pub long_term_fix: Option<String>,
}

/// A query that cannot be run, and why.
#[derive(Debug, Error, PartialEq, Eq)]
pub enum QueryError {
    /// A query type this plugin does not know.
    #[error("unknown query type `{name}`; this data source answers: {}", QueryType::ALL.iter().map(|(_, n)| *n).collect::<Vec<_>>().join(", "))]
    UnknownType {
        /// The name given.
        name: String,
    },
    /// A field of the wrong type or value.
    #[error("query field `{field}`: {reason}")]
    InvalidField {
        /// Field name.
        field: String,
        /// What is expected.
        reason: String,
    },
}

/// Parse one query. `proto_query_type` is the query type Grafana sent beside the JSON.
pub fn parse(proto_query_type: &str, json: &Value) -> Result<Query, QueryError> {
    let empty = serde_json::Map::new();
    let object = match json {
        Value::Object(map) => map,
        Value::Null => &empty,
        other => {
            return Err(QueryError::InvalidField {
                field: "(query)".to_string(),
                reason: format!("a query must be a JSON object, got {}", kind(other)),
            })
        }
    };
    let type_name = if proto_query_type.is_empty() {
        match object.get("queryType") {
            None | Some(Value::Null) => String::new(),
            Some(Value::String(s)) => s.clone(),
            Some(other) => {
                return Err(QueryError::InvalidField {
                    field: "queryType".to_string(),
                    reason: format!("must be a string, got {}", kind(other)),
                })
            }
        }
    } else {
        proto_query_type.to_string()
    };
    let query_type = if type_name.trim().is_empty() {
        QueryType::DEFAULT
    } else {
        QueryType::parse(type_name.trim()).ok_or(QueryError::UnknownType { name: type_name })?
    };
    let window = match object.get("window") {
        None | Some(Value::Null) => DEFAULT_WINDOW,
        Some(Value::String(s)) if s.trim().is_empty() => DEFAULT_WINDOW,
        Some(Value::String(s)) => {
            let d =
                parse_duration(s).map_err(|DurationError { text }| QueryError::InvalidField {
                    field: "window".to_string(),
                    reason: format!("`{text}` is not a duration like 5m or 1h"),
                })?;
            if d < MIN_WINDOW {
                return Err(QueryError::InvalidField {
                    field: "window".to_string(),
                    reason: format!(
                        "must be at least {}s so that rates see two scrapes",
                        MIN_WINDOW.as_secs()
                    ),
                });
            }
            d
        }
        Some(other) => {
            return Err(QueryError::InvalidField {
                field: "window".to_string(),
                reason: format!("must be a duration string like \"5m\", got {}", kind(other)),
            })
        }
    };
    let thresholds = match object.get("thresholds") {
        None | Some(Value::Null) => ThresholdOverrides::new(),
        Some(value) => serde_json::from_value(value.clone()).map_err(|e| {
            QueryError::InvalidField {
                field: "thresholds".to_string(),
                reason: format!(
                    "expected {{\"<check id>\": {{\"warning\": <number>, \"critical\": <number>}}}} ({e})"
                ),
            }
        })?,
    };
    let filters = Filters {
        instances: match string(object, "instances")? {
            Some(regex) if !regex.trim().is_empty() => {
                regex_syntax::Parser::new()
                    .parse(&regex)
                    .map_err(|e| invalid("instances", format!("not a valid regular expression: {e}")))?;
                Some(regex)
            }
            _ => None,
        },
        components: names(object, "components")?
            .map(|list| {
                list.iter()
                    .map(|c| {
                        Component::parse(c).ok_or_else(|| {
                            invalid("components", format!("unknown component `{c}`; use cpu, memory, disk, filesystem, network, system"))
                        })
                    })
                    .collect::<Result<Vec<_>, _>>()
            })
            .transpose()?,
        min_severity: match string(object, "minSeverity")? {
            None => Severity::Info,
            Some(s) if s.trim().is_empty() => Severity::Info,
            Some(s) => Severity::parse(&s).ok_or_else(|| {
                invalid("minSeverity", format!("`{s}` is not one of info, low, medium, high, critical"))
            })?,
        },
        methodologies: names(object, "methodologies")?
            .map(|list| list.iter().map(|m| methodology(m)).collect::<Result<Vec<_>, _>>())
            .transpose()?,
    };
    let mut methods = MethodsRequest::default();
    if let Some(list) = &filters.methodologies {
        methods.methods = list.iter().filter_map(|m| method_of(*m)).collect();
        methods.methods.sort();
        methods.methods.dedup();
        if methods.methods.is_empty() {
            methods.methods.push(Method::Use);
        }
    }
    let slo = string(object, "slo")?
        .filter(|s| !s.trim().is_empty())
        .map(|s| Slo::parse(&s).map_err(|e| invalid("slo", e.to_string())))
        .transpose()?;
    methods.histogram = string(object, "histogram")?
        .filter(|s| !s.trim().is_empty())
        .map(|h| HistogramRequest::parse(&h, slo).map_err(|e| invalid("histogram", e.to_string())))
        .transpose()?;
    if let Some(label) = string(object, "groupBy")?.filter(|s| !s.trim().is_empty()) {
        methods.group_by = group_label(&label).map_err(|e| invalid("groupBy", e.to_string()))?;
    }
    let timeline_by = match string(object, "timelineBy")?.as_deref().map(str::trim) {
        None | Some("") | Some("component") => TimelineBy::Component,
        Some("instance") => TimelineBy::Instance,
        Some(other) => {
            return Err(invalid(
                "timelineBy",
                format!("`{other}` is not component or instance"),
            ))
        }
    };
    let promql_check = if query_type == QueryType::PromqlCheck {
        Some(promql_check(object)?)
    } else {
        None
    };
    let dashboard = if query_type == QueryType::Dashboard {
        Some(dashboard_query(object)?)
    } else {
        None
    };
    Ok(Query {
        query_type,
        window,
        thresholds,
        filters,
        methods,
        timeline_by,
        promql_check,
        dashboard,
    })
}

fn invalid(field: &str, reason: impl Into<String>) -> QueryError {
    QueryError::InvalidField {
        field: field.to_string(),
        reason: reason.into(),
    }
}

/// An optional string field.
fn string(
    object: &serde_json::Map<String, Value>,
    field: &str,
) -> Result<Option<String>, QueryError> {
    match object.get(field) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Ok(Some(s.clone())),
        Some(other) => Err(invalid(
            field,
            format!("must be a string, got {}", kind(other)),
        )),
    }
}

/// An optional number field.
fn number(object: &serde_json::Map<String, Value>, field: &str) -> Result<Option<f64>, QueryError> {
    match object.get(field) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Number(n)) => n
            .as_f64()
            .filter(|v| v.is_finite())
            .map(Some)
            .ok_or_else(|| invalid(field, "must be a finite number")),
        // Template variables arrive as strings.
        Some(Value::String(s)) => s
            .trim()
            .parse::<f64>()
            .ok()
            .filter(|v| v.is_finite())
            .map(Some)
            .ok_or_else(|| invalid(field, format!("must be a number, got \"{s}\""))),
        Some(other) => Err(invalid(
            field,
            format!("must be a number, got {}", kind(other)),
        )),
    }
}

/// A list of names: a JSON array of strings, or one comma-separated string.
fn names(
    object: &serde_json::Map<String, Value>,
    field: &str,
) -> Result<Option<Vec<String>>, QueryError> {
    let list: Vec<String> = match object.get(field) {
        None | Some(Value::Null) => return Ok(None),
        Some(Value::String(s)) => s.split(',').map(|x| x.trim().to_string()).collect(),
        Some(Value::Array(items)) => items
            .iter()
            .map(|v| match v {
                Value::String(s) => Ok(s.trim().to_string()),
                other => Err(invalid(
                    field,
                    format!("must list strings, got {}", kind(other)),
                )),
            })
            .collect::<Result<_, _>>()?,
        Some(other) => {
            return Err(invalid(
                field,
                format!("must be a list of strings, got {}", kind(other)),
            ))
        }
    };
    let list: Vec<String> = list.into_iter().filter(|s| !s.is_empty()).collect();
    Ok((!list.is_empty()).then_some(list))
}

fn methodology(name: &str) -> Result<Methodology, QueryError> {
    const ALL: [Methodology; 5] = [
        Methodology::UseMethod,
        Methodology::WorkloadCharacterization,
        Methodology::DrillDown,
        Methodology::LatencyAnalysis,
        Methodology::FleetOutliers,
    ];
    ALL.into_iter()
        .find(|m| m.as_str().eq_ignore_ascii_case(name))
        .or_else(|| {
            // The CLI's method names are accepted too.
            Method::parse_list(name).ok().and_then(|m| m.first().copied()).map(|m| match m {
                Method::Use => Methodology::UseMethod,
                Method::Workload => Methodology::WorkloadCharacterization,
                Method::Drilldown => Methodology::DrillDown,
                Method::Latency => Methodology::LatencyAnalysis,
                Method::Outliers => Methodology::FleetOutliers,
            })
        })
        .ok_or_else(|| {
            invalid(
                "methodologies",
                format!("unknown methodology `{name}`; use use_method, workload_characterization, drill_down, latency_analysis, fleet_outliers"),
            )
        })
}

fn method_of(m: Methodology) -> Option<Method> {
    match m {
        Methodology::UseMethod => Some(Method::Use),
        Methodology::WorkloadCharacterization => Some(Method::Workload),
        Methodology::DrillDown => Some(Method::Drilldown),
        Methodology::LatencyAnalysis => Some(Method::Latency),
        Methodology::FleetOutliers => Some(Method::Outliers),
        Methodology::DashboardAnalysis | Methodology::CustomQuery => None,
    }
}

fn promql_check(object: &serde_json::Map<String, Value>) -> Result<PromqlCheck, QueryError> {
    let expr = string(object, "expr")?
        .filter(|e| !e.trim().is_empty())
        .ok_or_else(|| invalid("expr", "a promql_check needs the PromQL to judge"))?;
    let warning = number(object, "warning")?
        .ok_or_else(|| invalid("warning", "a promql_check needs a warning threshold"))?;
    let critical = number(object, "critical")?.unwrap_or(warning);
    let direction = match string(object, "direction")?.as_deref().map(str::trim) {
        None | Some("") | Some("above") => Direction::Above,
        Some("below") => Direction::Below,
        Some(other) => {
            return Err(invalid(
                "direction",
                format!("`{other}` is not above or below"),
            ))
        }
    };
    let ordered = match direction {
        Direction::Above => warning <= critical,
        Direction::Below => warning >= critical,
    };
    if !ordered {
        return Err(invalid(
            "critical",
            format!(
                "critical {critical} must be past warning {warning} in the `{}` direction",
                direction.as_str()
            ),
        ));
    }
    let unit = match string(object, "unit")?.as_deref().map(str::trim) {
        None | Some("") => Unit::Ratio,
        Some(u) => Unit::from_evidence_name(&format!("x_{u}")).ok_or_else(|| {
            invalid("unit", format!("`{u}` is not one of percent, ratio, seconds, ms, hours, bytes, per_second, count"))
        })?,
    };
    let component = match string(object, "component")? {
        None => Component::System,
        Some(c) if c.trim().is_empty() => Component::System,
        Some(c) => Component::parse(&c)
            .ok_or_else(|| invalid("component", format!("unknown component `{c}`")))?,
    };
    let steps = match object.get("investigationSteps") {
        None | Some(Value::Null) => Vec::new(),
        Some(Value::String(s)) => vec![s.clone()],
        Some(Value::Array(items)) => items
            .iter()
            .map(|v| {
                v.as_str()
                    .map(str::to_string)
                    .ok_or_else(|| invalid("investigationSteps", "must list strings"))
            })
            .collect::<Result<_, _>>()?,
        Some(other) => {
            return Err(invalid(
                "investigationSteps",
                format!("must be a list of strings, got {}", kind(other)),
            ))
        }
    };
    Ok(PromqlCheck {
        expr,
        warning,
        critical,
        direction,
        unit,
        component,
        device_label: string(object, "deviceLabel")?.filter(|l| !l.trim().is_empty()),
        title: string(object, "title")?,
        observation: string(object, "observation")?,
        root_cause: string(object, "rootCause")?,
        immediate_action: string(object, "immediateAction")?,
        investigation_steps: steps,
        long_term_fix: string(object, "longTermFix")?,
    })
}

fn dashboard_query(object: &serde_json::Map<String, Value>) -> Result<DashboardQuery, QueryError> {
    let uid = string(object, "dashboardUid")?
        .map(|u| u.trim().to_string())
        .filter(|u| !u.is_empty())
        .ok_or_else(|| {
            invalid(
                "dashboardUid",
                "a dashboard query needs the dashboard's uid",
            )
        })?;
    let panel_ids = match object.get("panelIds") {
        None | Some(Value::Null) => None,
        Some(Value::Array(items)) if items.is_empty() => None,
        Some(Value::Array(items)) => Some(
            items
                .iter()
                .map(|v| match v {
                    Value::Number(n) => n.as_i64(),
                    Value::String(s) => s.trim().parse::<i64>().ok(),
                    _ => None,
                })
                .collect::<Option<Vec<i64>>>()
                .ok_or_else(|| invalid("panelIds", "must list panel ids (whole numbers)"))?,
        ),
        Some(other) => {
            return Err(invalid(
                "panelIds",
                format!("must be a list of panel ids, got {}", kind(other)),
            ))
        }
    };
    let mut variables = std::collections::BTreeMap::new();
    match object.get("variables") {
        None | Some(Value::Null) => {}
        Some(Value::Object(map)) => {
            for (name, value) in map {
                let values = match value {
                    Value::String(s) => vec![s.clone()],
                    Value::Number(n) => vec![n.to_string()],
                    Value::Array(items) => items
                        .iter()
                        .map(|v| match v {
                            Value::String(s) => Some(s.clone()),
                            Value::Number(n) => Some(n.to_string()),
                            _ => None,
                        })
                        .collect::<Option<Vec<String>>>()
                        .ok_or_else(|| {
                            invalid(
                                "variables",
                                format!("`{name}` must be a string or a list of strings"),
                            )
                        })?,
                    _ => {
                        return Err(invalid(
                            "variables",
                            format!("`{name}` must be a string or a list of strings"),
                        ))
                    }
                };
                variables.insert(name.clone(), values);
            }
        }
        Some(other) => {
            return Err(invalid(
                "variables",
                format!("must be an object of variable values, got {}", kind(other)),
            ))
        }
    }
    Ok(DashboardQuery {
        uid,
        panel_ids,
        variables,
    })
}

fn kind(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
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
    }

    #[test]
    fn the_proto_query_type_wins_over_the_json_one() {
        assert_eq!(
            parse("nope", &json!({"queryType": "use_summary"})),
            Err(QueryError::UnknownType {
                name: "nope".into()
            })
        );
        assert!(parse("use_summary", &json!({"queryType": "nope"})).is_ok());
    }

    #[test]
    fn bad_fields_name_themselves() {
        let err = parse("use_summary", &json!({"window": 5}))
            .unwrap_err()
            .to_string();
        assert!(err.starts_with("query field `window`"), "{err}");
        let err = parse("use_summary", &json!({"window": "5 minutes"}))
            .unwrap_err()
            .to_string();
        assert!(err.contains("not a duration"), "{err}");
        let err = parse("use_summary", &json!({"window": "10s"}))
            .unwrap_err()
            .to_string();
        assert!(err.contains("at least 30s"), "{err}");
        let err = parse("", &json!({"queryType": 3})).unwrap_err().to_string();
        assert!(err.contains("queryType"), "{err}");
        let err = parse("", &json!([1, 2])).unwrap_err().to_string();
        assert!(err.contains("JSON object"), "{err}");
        let err = parse("bogus", &json!({})).unwrap_err().to_string();
        assert!(err.contains("use_summary"), "{err}");
        let err = parse("", &json!({"thresholds": {"cpu.utilization": {"warn": 1}}}))
            .unwrap_err()
            .to_string();
        assert!(err.starts_with("query field `thresholds`"), "{err}");
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

    #[test]
    fn dashboard_queries() {
        let q = parse(
            "dashboard",
            &json!({"dashboardUid": "abc", "panelIds": [2, "3"], "variables": {"node": "a:9100", "dev": ["sda", "sdb"]}}),
        )
        .unwrap();
        let d = q.dashboard.unwrap();
        assert_eq!(d.uid, "abc");
        assert_eq!(d.panel_ids, Some(vec![2, 3]));
        assert_eq!(d.variables["dev"], ["sda", "sdb"]);
        for (bad, field) in [
            (json!({}), "dashboardUid"),
            (json!({"dashboardUid": "a", "panelIds": ["x"]}), "panelIds"),
            (
                json!({"dashboardUid": "a", "variables": {"n": {"x": 1}}}),
                "variables",
            ),
            (json!({"dashboardUid": "a", "variables": [1]}), "variables"),
        ] {
            let err = parse("dashboard", &bad).unwrap_err().to_string();
            assert!(err.starts_with(&format!("query field `{field}`")), "{err}");
        }
    }
}
