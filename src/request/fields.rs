//! Named values of a request, whatever carries them: a panel query's JSON object or a
//! resource's query string. The parsers of windows, filters and method options read them
//! through [`Fields`], so a query and a resource parse the same field the same way.

use serde_json::{Map, Value};

use super::error::{Expected, FieldError, Kind, Origin, Problem};

/// Named values of one request.
pub trait Fields {
    /// Where the values came from (how messages name them).
    fn origin(&self) -> Origin;

    /// An optional text value; `expected` says what it must be when it is not text.
    fn text(&self, name: &str, expected: Expected) -> Result<Option<String>, FieldError>;

    /// A list of names: a JSON array of strings or one comma-separated string; a repeated or
    /// comma-separated parameter. Items are trimmed, blank ones dropped; `None` when none is
    /// left.
    fn names(&self, name: &str) -> Result<Option<Vec<String>>, FieldError>;

    /// An optional string.
    fn string(&self, name: &str) -> Result<Option<String>, FieldError> {
        self.text(name, Expected::String)
    }

    /// An optional string that is not blank.
    fn non_blank(&self, name: &str) -> Result<Option<String>, FieldError> {
        Ok(self.string(name)?.filter(|s| !s.trim().is_empty()))
    }

    /// The error `problem` of field `name`.
    fn error(&self, name: &str, problem: impl Into<Problem>) -> FieldError {
        FieldError::new(self.origin(), name, problem)
    }
}

/// The fields of a panel query's JSON object.
pub struct JsonFields<'a>(pub &'a Map<String, Value>);

impl JsonFields<'_> {
    /// The value of `name`, `None` when absent or null.
    pub fn get(&self, name: &str) -> Option<&Value> {
        self.0.get(name).filter(|v| !v.is_null())
    }

    /// The wrong-type error of `name` holding `value`.
    pub fn wrong_type(&self, name: &str, expected: Expected, value: &Value) -> FieldError {
        self.error(
            name,
            Problem::Type {
                expected,
                got: Kind::of(value),
            },
        )
    }

    /// An optional number; template variables arrive as strings holding one.
    pub fn number(&self, name: &str) -> Result<Option<f64>, FieldError> {
        match self.get(name) {
            None => Ok(None),
            Some(Value::Number(n)) => n
                .as_f64()
                .filter(|v| v.is_finite())
                .map(Some)
                .ok_or_else(|| self.error(name, Problem::NotFinite)),
            Some(Value::String(s)) => s
                .trim()
                .parse::<f64>()
                .ok()
                .filter(|v| v.is_finite())
                .map(Some)
                .ok_or_else(|| {
                    self.error(
                        name,
                        Problem::NotANumber {
                            text: crate::echo::short(s).into_owned(),
                        },
                    )
                }),
            Some(other) => Err(self.wrong_type(name, Expected::Number, other)),
        }
    }
}

impl Fields for JsonFields<'_> {
    fn origin(&self) -> Origin {
        Origin::QueryField
    }

    fn text(&self, name: &str, expected: Expected) -> Result<Option<String>, FieldError> {
        match self.get(name) {
            None => Ok(None),
            Some(Value::String(s)) => Ok(Some(s.clone())),
            Some(other) => Err(self.wrong_type(name, expected, other)),
        }
    }

    fn names(&self, name: &str) -> Result<Option<Vec<String>>, FieldError> {
        let list: Vec<String> = match self.get(name) {
            None => return Ok(None),
            Some(Value::String(s)) => s.split(',').map(|x| x.trim().to_string()).collect(),
            Some(Value::Array(items)) => items
                .iter()
                .map(|v| match v {
                    Value::String(s) => Ok(s.trim().to_string()),
                    other => Err(self.wrong_type(name, Expected::Strings, other)),
                })
                .collect::<Result<_, _>>()?,
            Some(other) => return Err(self.wrong_type(name, Expected::Strings, other)),
        };
        let list: Vec<String> = list.into_iter().filter(|s| !s.is_empty()).collect();
        Ok((!list.is_empty()).then_some(list))
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn json_fields_name_the_field_and_the_kind() {
        let value = json!({"a": "x", "n": 3, "list": ["cpu", " ", "disk "], "csv": "cpu, disk", "bad": [1]});
        let Value::Object(map) = &value else {
            unreachable!()
        };
        let f = JsonFields(map);
        assert_eq!(f.string("a").unwrap().as_deref(), Some("x"));
        assert_eq!(f.string("missing").unwrap(), None);
        let err = f.string("n").unwrap_err().to_string();
        assert_eq!(err, "query field `n`: must be a string, got a number");
        assert_eq!(
            f.names("list").unwrap(),
            Some(vec!["cpu".into(), "disk".into()])
        );
        assert_eq!(f.names("csv").unwrap(), f.names("list").unwrap());
        let err = f.names("bad").unwrap_err().to_string();
        assert_eq!(
            err,
            "query field `bad`: must be a list of strings, got a number"
        );
        assert_eq!(f.number("n").unwrap(), Some(3.0));
        assert!(f
            .number("a")
            .unwrap_err()
            .to_string()
            .contains("must be a number"));
    }
}
