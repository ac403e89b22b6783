//! Query models: the JSON a panel sends → a typed query, or an error naming the bad field.
//!
//! Each query is parsed on its own from a `serde_json::Value` (never by the SDK), so one bad
//! query fails only its own refId. Grafana adds its own keys (`refId`, `datasource`, `hide`,
//! `intervalMs`, `maxDataPoints`…) to every query; unknown keys are ignored.

use std::time::Duration;

use serde_json::Value;
use thiserror::Error;

use crate::{
    catalog::ThresholdOverrides,
    promql::{parse_duration, DurationError},
};

/// The default look-back and rate window.
pub const DEFAULT_WINDOW: Duration = Duration::from_secs(300);

/// Shortest window accepted: `rate()` needs at least two samples, so at least twice the
/// scrape interval; 30s covers the usual 15s.
const MIN_WINDOW: Duration = Duration::from_secs(30);

/// The query types this data source answers.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum QueryType {
    /// CPU utilization per instance as a table.
    UseSummary,
}

impl QueryType {
    /// Every query type, with its name.
    pub const ALL: &'static [(QueryType, &'static str)] = &[(QueryType::UseSummary, "use_summary")];

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
    Ok(Query {
        query_type,
        window,
        thresholds,
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
}
