//! A `promql_check` query: the user's PromQL, thresholds and narrative → the catalog's check.

use std::time::Duration;

use serde_json::Value;

use crate::{
    catalog::{Check, Direction, Unit, UserCheck, UserCheckError, UserCheckPart},
    insight::Component,
    request::{
        error::{Expected, FieldError, Problem},
        fields::{Fields, JsonFields},
        filters,
    },
};

/// The query type, in messages.
const QUERY_TYPE: &str = "promql_check";

/// Units a check may be in, by the names a query gives.
const UNITS: &[&str] = &[
    "percent",
    "ratio",
    "seconds",
    "ms",
    "hours",
    "bytes",
    "per_second",
    "bytes_per_second",
    "count",
];

/// The check a `promql_check` query describes, judged over half of `window` like the catalog's
/// sustained checks.
pub(super) fn parse(fields: &JsonFields<'_>, window: Duration) -> Result<Check, FieldError> {
    let user = user_check(fields)?;
    Check::from_user(&user, window / 2).map_err(|e| fields.error(field_of(&e), e))
}

/// The query field holding the part of the check `error` is about.
fn field_of(error: &UserCheckError) -> &'static str {
    match error.part() {
        UserCheckPart::Query => "expr",
        UserCheckPart::Thresholds => "critical",
        UserCheckPart::Title => "title",
        UserCheckPart::Observation => "observation",
        UserCheckPart::RootCause => "rootCause",
        UserCheckPart::ImmediateAction => "immediateAction",
        UserCheckPart::InvestigationSteps => "investigationSteps",
        UserCheckPart::LongTermFix => "longTermFix",
    }
}

fn user_check(fields: &JsonFields<'_>) -> Result<UserCheck, FieldError> {
    let missing = |field: &str, what| {
        fields.error(
            field,
            Problem::Missing {
                query_type: QUERY_TYPE,
                what,
            },
        )
    };
    let expr = fields
        .non_blank("expr")?
        .ok_or_else(|| missing("expr", "the PromQL to judge"))?;
    let warning = fields
        .number("warning")?
        .ok_or_else(|| missing("warning", "a warning threshold"))?;
    Ok(UserCheck {
        expr,
        warning,
        critical: fields.number("critical")?.unwrap_or(warning),
        direction: direction(fields)?,
        unit: unit(fields)?,
        component: match fields.non_blank("component")? {
            None => Component::System,
            Some(c) => filters::component(&c).map_err(|e| fields.error("component", e))?,
        },
        device_label: fields.non_blank("deviceLabel")?,
        title: fields.string("title")?,
        observation: fields.string("observation")?,
        root_cause: fields.string("rootCause")?,
        immediate_action: fields.string("immediateAction")?,
        investigation_steps: steps(fields)?,
        long_term_fix: fields.string("longTermFix")?,
    })
}

fn choice(
    fields: &JsonFields<'_>,
    field: &str,
    text: &str,
    choices: &'static [&'static str],
) -> FieldError {
    fields.error(
        field,
        Problem::Choice {
            text: text.into(),
            choices,
        },
    )
}

fn direction(fields: &JsonFields<'_>) -> Result<Direction, FieldError> {
    match fields.string("direction")?.as_deref().map(str::trim) {
        None | Some("") | Some("above") => Ok(Direction::Above),
        Some("below") => Ok(Direction::Below),
        Some(other) => Err(choice(fields, "direction", other, &["above", "below"])),
    }
}

fn unit(fields: &JsonFields<'_>) -> Result<Unit, FieldError> {
    match fields.string("unit")?.as_deref().map(str::trim) {
        None | Some("") => Ok(Unit::Ratio),
        Some(u) => UNITS
            .contains(&u)
            .then(|| Unit::from_evidence_name(&format!("x_{u}")))
            .flatten()
            .ok_or_else(|| choice(fields, "unit", u, UNITS)),
    }
}

fn steps(fields: &JsonFields<'_>) -> Result<Vec<String>, FieldError> {
    const FIELD: &str = "investigationSteps";
    match fields.get(FIELD) {
        None => Ok(Vec::new()),
        Some(Value::String(s)) => Ok(vec![s.clone()]),
        Some(Value::Array(items)) => items
            .iter()
            .map(|v| match v {
                Value::String(s) => Ok(s.clone()),
                other => Err(fields.wrong_type(FIELD, Expected::Strings, other)),
            })
            .collect(),
        Some(other) => Err(fields.wrong_type(FIELD, Expected::Strings, other)),
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use crate::{
        catalog::{Unit, USER_CHECK_ID},
        request::query::{parse, QueryType},
    };

    #[test]
    fn a_promql_check_becomes_the_catalogs_check() {
        let q = parse(
            "promql_check",
            &json!({"expr": "up{${selector}}", "warning": "1", "critical": 2, "unit": "ms", "window": "10m", "title": "Slow", "investigationSteps": "look"}),
        )
        .unwrap();
        assert_eq!(q.query_type, QueryType::PromqlCheck);
        let check = q.promql_check.unwrap();
        assert_eq!(check.id, USER_CHECK_ID);
        assert_eq!((check.warning, check.critical), (1.0, 2.0));
        assert_eq!(check.unit, Unit::Milliseconds);
        assert_eq!(check.min_duration, std::time::Duration::from_secs(300));
        assert_eq!(check.title, "Slow on ${instance}");
        assert_eq!(check.investigation_steps, ["look"]);
    }

    #[test]
    fn a_bad_promql_check_names_the_field_to_fix() {
        for (json, field, want) in [
            (
                json!({"warning": 1}),
                "expr",
                "a promql_check query needs the PromQL to judge",
            ),
            (json!({"expr": "x"}), "warning", "needs a warning threshold"),
            (
                json!({"expr": "x", "warning": 2, "critical": 1}),
                "critical",
                "must be past warning",
            ),
            (
                json!({"expr": "x", "warning": 1, "direction": "up"}),
                "direction",
                "`up` is not one of above, below",
            ),
            (
                json!({"expr": "x", "warning": 1, "unit": "furlongs"}),
                "unit",
                "`furlongs` is not one of percent",
            ),
            (
                json!({"expr": "x", "warning": 1, "component": "gpu"}),
                "component",
                "unknown component `gpu`",
            ),
            (
                json!({"expr": "x{${instance}}", "warning": 1}),
                "expr",
                "unknown placeholder `${instance}`",
            ),
            (
                json!({"expr": "x", "warning": 1, "rootCause": "${selector}"}),
                "rootCause",
                "unknown placeholder",
            ),
            (
                json!({"expr": "x", "warning": 1, "investigationSteps": ["${nope}"]}),
                "investigationSteps",
                "unknown placeholder",
            ),
            (
                json!({"expr": "x", "warning": 1, "investigationSteps": [1]}),
                "investigationSteps",
                "must be a list of strings",
            ),
        ] {
            let err = parse("promql_check", &json).unwrap_err().to_string();
            assert!(
                err.starts_with(&format!("query field `{field}`: ")),
                "{err}"
            );
            assert!(err.contains(want), "{err}");
        }
    }
}
