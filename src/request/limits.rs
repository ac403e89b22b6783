//! Limits on what one request may carry, checked before anything is parsed.
//!
//! A well-formed request can still be hostile or mistaken: a 3.5 MiB `instances` regex cost
//! 55 s and 1.4 GB of memory, because the selector is repeated in every query sent and every
//! answer's `executedQueryString`. Every string field, list and object of a query (and every
//! resource parameter) is bounded here, so the cost of a request is bounded by these numbers
//! and not by what the caller sends.

use serde_json::Value;

use super::error::{FieldError, Origin, Problem};

/// Bytes of one string value: a regex of several hundred host names fits; a pasted file does
/// not.
pub const MAX_TEXT_BYTES: usize = 16 * 1024;

/// Alternatives (`a|b|c`) in one value: the instance regex of a large dashboard variable.
pub const MAX_ALTERNATIVES: usize = 1000;

/// Items of one list or keys of one object (threshold overrides, variables, panel ids).
pub const MAX_ITEMS: usize = 1000;

/// Nesting of a query's JSON.
pub const MAX_DEPTH: usize = 16;

/// Check every value of a query's JSON object; the error names the top-level field.
pub fn check_json(object: &serde_json::Map<String, Value>) -> Result<(), FieldError> {
    if object.len() > MAX_ITEMS {
        return Err(FieldError::new(
            Origin::QueryField,
            "(query)",
            Problem::TooMany {
                count: object.len(),
                max: MAX_ITEMS,
            },
        ));
    }
    for (name, value) in object {
        let named =
            |problem| FieldError::new(Origin::QueryField, &crate::echo::short(name), problem);
        check_text(name).map_err(named)?;
        check_value(value, 1).map_err(named)?;
    }
    Ok(())
}

/// Check one parameter's value (a resource's query string).
pub fn check_parameter(name: &str, value: &str) -> Result<(), FieldError> {
    check_text(value).map_err(|problem| FieldError::new(Origin::Parameter, name, problem))
}

fn check_value(value: &Value, depth: usize) -> Result<(), Problem> {
    if depth > MAX_DEPTH {
        return Err(Problem::TooDeep { max: MAX_DEPTH });
    }
    match value {
        Value::String(s) => check_text(s),
        Value::Array(items) => {
            too_many(items.len())?;
            items.iter().try_for_each(|v| check_value(v, depth + 1))
        }
        Value::Object(map) => {
            too_many(map.len())?;
            map.iter().try_for_each(|(k, v)| {
                check_text(k)?;
                check_value(v, depth + 1)
            })
        }
        Value::Null | Value::Bool(_) | Value::Number(_) => Ok(()),
    }
}

fn too_many(count: usize) -> Result<(), Problem> {
    if count > MAX_ITEMS {
        return Err(Problem::TooMany {
            count,
            max: MAX_ITEMS,
        });
    }
    Ok(())
}

fn check_text(text: &str) -> Result<(), Problem> {
    if text.len() > MAX_TEXT_BYTES {
        return Err(Problem::TooLong {
            bytes: text.len(),
            max: MAX_TEXT_BYTES,
        });
    }
    let alternatives = text.bytes().filter(|b| *b == b'|').count() + 1;
    if alternatives > MAX_ALTERNATIVES {
        return Err(Problem::TooManyAlternatives {
            count: alternatives,
            max: MAX_ALTERNATIVES,
        });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn checked(value: Value) -> String {
        match value {
            Value::Object(map) => check_json(&map)
                .map(|_| "ok".into())
                .unwrap_or_else(|e| e.to_string()),
            _ => unreachable!(),
        }
    }

    #[test]
    fn long_values_many_alternatives_and_deep_nesting_are_refused_with_a_short_message() {
        assert_eq!(
            checked(
                json!({"instances": "a|b", "thresholds": {"cpu.utilization": {"warning": 70}}})
            ),
            "ok"
        );
        let regex = vec!["host-0001"; 400_000].join("|");
        let err = checked(json!({ "instances": regex }));
        assert_eq!(
            err,
            "query field `instances`: is 3999999 bytes long; at most 16384 are accepted"
        );
        let err = checked(json!({ "instances": vec!["h"; 1001].join("|") }));
        assert!(err.contains("1001 alternatives; at most 1000"), "{err}");
        let thresholds: serde_json::Map<String, Value> =
            (0..1001).map(|i| (format!("c{i}"), json!(1))).collect();
        let err = checked(json!({ "thresholds": thresholds }));
        assert!(
            err.starts_with("query field `thresholds`: has 1001 items"),
            "{err}"
        );
        let mut deep = json!(1);
        for _ in 0..20 {
            deep = json!([deep]);
        }
        let err = checked(json!({ "variables": deep }));
        assert!(err.contains("nested deeper than 16"), "{err}");
        let err = check_parameter("instances", &"x".repeat(MAX_TEXT_BYTES + 1))
            .unwrap_err()
            .to_string();
        assert!(
            err.starts_with("parameter `instances`: is 16385 bytes long"),
            "{err}"
        );
    }
}
