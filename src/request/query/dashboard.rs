//! A `dashboard` query: which dashboard, which panels, which variable values.

use std::collections::BTreeMap;

use serde_json::Value;

use crate::request::{
    error::{Expected, FieldError, Problem},
    fields::{Fields, JsonFields},
};

/// Which dashboard to read: `dashboardUid`, optional `panelIds` and `variables`
/// (`{"name": "value"}` or `{"name": ["a", "b"]}`).
#[derive(Clone, Debug, PartialEq)]
pub struct DashboardQuery {
    /// The dashboard's uid.
    pub uid: String,
    /// Only these panels.
    pub panel_ids: Option<Vec<i64>>,
    /// Variable values over the dashboard's current ones.
    pub variables: BTreeMap<String, Vec<String>>,
}

pub(super) fn parse(fields: &JsonFields<'_>) -> Result<DashboardQuery, FieldError> {
    let uid = fields
        .non_blank("dashboardUid")?
        .map(|u| u.trim().to_string())
        .ok_or_else(|| {
            fields.error(
                "dashboardUid",
                Problem::Missing {
                    query_type: "dashboard",
                    what: "the dashboard's uid",
                },
            )
        })?;
    Ok(DashboardQuery {
        uid,
        panel_ids: panel_ids(fields)?,
        variables: variables(fields)?,
    })
}

fn panel_ids(fields: &JsonFields<'_>) -> Result<Option<Vec<i64>>, FieldError> {
    const FIELD: &str = "panelIds";
    match fields.get(FIELD) {
        None => Ok(None),
        Some(Value::Array(items)) if items.is_empty() => Ok(None),
        Some(Value::Array(items)) => items
            .iter()
            .map(|v| {
                let id = match v {
                    Value::Number(n) => n.as_i64(),
                    Value::String(s) => s.trim().parse::<i64>().ok(),
                    _ => None,
                };
                id.ok_or_else(|| fields.wrong_type(FIELD, Expected::PanelIds, v))
            })
            .collect::<Result<Vec<i64>, _>>()
            .map(Some),
        Some(other) => Err(fields.wrong_type(FIELD, Expected::PanelIds, other)),
    }
}

fn variables(fields: &JsonFields<'_>) -> Result<BTreeMap<String, Vec<String>>, FieldError> {
    const FIELD: &str = "variables";
    let map = match fields.get(FIELD) {
        None => return Ok(BTreeMap::new()),
        Some(Value::Object(map)) => map,
        Some(other) => return Err(fields.wrong_type(FIELD, Expected::Variables, other)),
    };
    let text = |v: &Value| match v {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    };
    map.iter()
        .map(|(name, value)| {
            let values = match value {
                Value::Array(items) => items.iter().map(text).collect::<Option<Vec<String>>>(),
                single => text(single).map(|v| vec![v]),
            };
            values
                .map(|v| (name.clone(), v))
                .ok_or_else(|| fields.error(FIELD, Problem::VariableValue { name: name.clone() }))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use crate::request::query::parse;

    #[test]
    fn dashboard_queries() {
        let q = parse(
            "dashboard",
            &json!({"dashboardUid": "abc", "panelIds": [2, "3"], "variables": {"node": "a:9100", "dev": ["sda", "sdb"], "n": 3}}),
        )
        .unwrap();
        let d = q.dashboard.unwrap();
        assert_eq!(d.uid, "abc");
        assert_eq!(d.panel_ids, Some(vec![2, 3]));
        assert_eq!(d.variables["dev"], ["sda", "sdb"]);
        assert_eq!(d.variables["n"], ["3"]);
        for (bad, field) in [
            (json!({}), "dashboardUid"),
            (json!({"dashboardUid": "a", "panelIds": ["x"]}), "panelIds"),
            (json!({"dashboardUid": "a", "panelIds": 3}), "panelIds"),
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
