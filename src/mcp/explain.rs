//! The catalog told to a model: one check explained (its rule in words, thresholds and their
//! sources, severities, collectors, book), the checks listed, and the whole catalog for the
//! `catalog` resource.

use serde_json::{json, Value};

use super::error::ToolError;
use crate::{
    catalog::{self, Check, Direction, Evaluation},
    promql::format_duration,
    request::filters,
};

/// The rule that flags `check`, in one sentence.
fn rule(check: &Check) -> String {
    let side = match check.direction {
        Direction::Above => "at or above",
        Direction::Below => "at or below",
    };
    let how = match check.evaluation {
        Evaluation::Sustained => format!(
            "flagged when {} stays {side} a threshold for at least {} of the window (5 % hysteresis)",
            check.metric,
            format_duration(check.min_duration)
        ),
        Evaluation::Event => format!(
            "flagged when {} over the window is {side} a threshold at its end",
            check.metric
        ),
    };
    let guard = check
        .when
        .as_ref()
        .map(|g| {
            let what = g.check.clone().or(g.query.clone()).unwrap_or_default();
            format!(", and only while {what} holds too")
        })
        .unwrap_or_default();
    format!(
        "{how}{guard}; warning → {}, critical → {}",
        check.severity.warning, check.severity.critical
    )
}

/// `explain_check`: everything about one check.
pub fn check(id: &str) -> Result<Value, ToolError> {
    let catalog = catalog::builtin();
    let check = catalog.check(id.trim()).ok_or_else(|| {
        ToolError::argument(
            "check",
            format!("unknown check `{id}`; list_checks lists them"),
        )
    })?;
    Ok(json!({
        "id": check.id,
        "label": check.label,
        "component": check.component,
        "signal": check.signal.as_str(),
        "metric": check.metric,
        "query": check.query,
        "rule": rule(check),
        "thresholds": {
            "warning": check.warning,
            "critical": check.critical,
            "unit": check.unit.grafana(),
            "source": check.threshold_source,
        },
        "severity": {"warning": check.severity.warning, "critical": check.severity.critical},
        "requires": check.requires,
        "immediate_action": check.immediate_action,
        "book_reference": check.book_reference,
    }))
}

/// One check in a list.
fn entry(check: &Check) -> Value {
    json!({
        "id": check.id,
        "label": check.label,
        "component": check.component,
        "signal": check.signal.as_str(),
        "warning": check.warning,
        "critical": check.critical,
        "unit": check.unit.grafana(),
    })
}

/// `list_checks`, optionally one component's.
pub fn list(component: Option<&str>) -> Result<Value, ToolError> {
    let only = component
        .map(filters::component)
        .transpose()
        .map_err(|e| ToolError::argument("component", e))?;
    let checks: Vec<Value> = catalog::builtin()
        .checks()
        .iter()
        .filter(|c| only.is_none_or(|o| c.component == o))
        .map(entry)
        .collect();
    Ok(json!({ "checks": checks }))
}

/// The `catalog` resource: every check with its rule, thresholds and book reference.
pub fn catalog() -> Value {
    let checks: Vec<Value> = catalog::builtin()
        .checks()
        .iter()
        .filter_map(|c| check(&c.id).ok())
        .collect();
    json!({ "checks": checks })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_check_is_explained_with_its_sources() {
        let v = check("cpu.utilization").unwrap();
        assert!(v["rule"].as_str().unwrap().contains("of the window"), "{v}");
        assert!(!v["thresholds"]["source"].as_str().unwrap().is_empty());
        assert!(!v["book_reference"].as_str().unwrap().is_empty());
        let e = check("cpu.nope").unwrap_err().to_string();
        assert!(
            e.starts_with("argument `check`: unknown check `cpu.nope`"),
            "{e}"
        );
        let cpu = list(Some("cpu")).unwrap();
        assert!(cpu["checks"]
            .as_array()
            .unwrap()
            .iter()
            .all(|c| c["component"] == "cpu"));
        assert!(list(Some("gpu"))
            .unwrap_err()
            .to_string()
            .starts_with("argument `component`"));
    }
}
