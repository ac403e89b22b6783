//! What can be wrong with a request: one value ([`FieldError`], naming the field and where it
//! came from) or the request as a whole ([`RequestError`]). Every message says what to change.

use std::fmt;

use serde_json::Value;
use thiserror::Error;

use super::{
    filter_values::FilterError, format::FormatError, query_type::QueryType, time::TimeError,
    window::WindowError,
};
use crate::{
    catalog::{CatalogError, UserCheckError},
    methods::MethodError,
    promql::SelectorError,
};

/// Where a value came from: it decides how a message names it.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Origin {
    /// A field of a panel query's JSON.
    #[default]
    QueryField,
    /// A query-string parameter of a resource.
    Parameter,
}

impl fmt::Display for Origin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Origin::QueryField => "query field",
            Origin::Parameter => "parameter",
        })
    }
}

/// The kind of a JSON value, for "got …" in messages.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    /// `null`.
    Null,
    /// `true` or `false`.
    Boolean,
    /// A number.
    Number,
    /// A string.
    String,
    /// An array.
    Array,
    /// An object.
    Object,
}

impl Kind {
    /// The kind of `value`.
    pub fn of(value: &Value) -> Kind {
        match value {
            Value::Null => Kind::Null,
            Value::Bool(_) => Kind::Boolean,
            Value::Number(_) => Kind::Number,
            Value::String(_) => Kind::String,
            Value::Array(_) => Kind::Array,
            Value::Object(_) => Kind::Object,
        }
    }
}

impl fmt::Display for Kind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Kind::Null => "null",
            Kind::Boolean => "a boolean",
            Kind::Number => "a number",
            Kind::String => "a string",
            Kind::Array => "an array",
            Kind::Object => "an object",
        })
    }
}

/// What a field's value must be.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Expected {
    /// A JSON object (the query itself).
    Object,
    /// A string.
    String,
    /// A duration string.
    Duration,
    /// A number (or a string holding one).
    Number,
    /// A list of strings (or one comma-separated string).
    Strings,
    /// A list of panel ids.
    PanelIds,
    /// An object of variable values.
    Variables,
}

impl fmt::Display for Expected {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Expected::Object => "a JSON object",
            Expected::String => "a string",
            Expected::Duration => "a duration string like \"5m\"",
            Expected::Number => "a number",
            Expected::Strings => "a list of strings",
            Expected::PanelIds => "a list of panel ids (whole numbers), e.g. [2, 5]",
            Expected::Variables => "an object of variable values, e.g. {\"node\": \"a:9100\"}",
        })
    }
}

/// What is wrong with one value.
#[derive(Debug, Error)]
pub enum Problem {
    /// A value longer than [`super::limits::MAX_TEXT_BYTES`].
    #[error("is {bytes} bytes long; at most {max} are accepted")]
    TooLong {
        /// Its length.
        bytes: usize,
        /// The limit.
        max: usize,
    },
    /// A regex with more alternatives than [`super::limits::MAX_ALTERNATIVES`].
    #[error("has {count} alternatives; at most {max} are accepted")]
    TooManyAlternatives {
        /// Its alternatives.
        count: usize,
        /// The limit.
        max: usize,
    },
    /// A list or object with more items than [`super::limits::MAX_ITEMS`].
    #[error("has {count} items; at most {max} are accepted")]
    TooMany {
        /// Its items.
        count: usize,
        /// The limit.
        max: usize,
    },
    /// JSON nested deeper than [`super::limits::MAX_DEPTH`].
    #[error("is nested deeper than {max} levels")]
    TooDeep {
        /// The limit.
        max: usize,
    },
    /// A value of the wrong JSON type.
    #[error("must be {expected}, got {got}")]
    Type {
        /// What it must be.
        expected: Expected,
        /// What it is.
        got: Kind,
    },
    /// A number that is infinite or not a number.
    #[error("must be a finite number")]
    NotFinite,
    /// Text where a number belongs.
    #[error("must be a number, got \"{text}\"")]
    NotANumber {
        /// The text given.
        text: String,
    },
    /// Text where a positive whole number belongs.
    #[error("`{text}` is not a positive whole number")]
    NotPositive {
        /// The text given.
        text: String,
    },
    /// Text where a list of panel ids belongs.
    #[error("`{text}` is not a list of panel ids, e.g. 2,5")]
    NotPanelIds {
        /// The text given.
        text: String,
    },
    /// A value outside a fixed set of names.
    #[error("`{text}` is not one of {}", choices.join(", "))]
    Choice {
        /// The text given.
        text: String,
        /// The names accepted.
        choices: &'static [&'static str],
    },
    /// A field the query type cannot do without.
    #[error("a {query_type} query needs {what}")]
    Missing {
        /// The query type.
        query_type: &'static str,
        /// What it needs.
        what: &'static str,
    },
    /// A dashboard variable's value that is neither a string nor a list of strings.
    #[error("`{name}` must be a string or a list of strings")]
    VariableValue {
        /// The variable.
        name: String,
    },
    /// Threshold overrides that do not have the overrides' shape.
    #[error(
        "expected {{\"<check id>\": {{\"warning\": <number>, \"critical\": <number>}}}} ({reason})"
    )]
    ThresholdShape {
        /// The decoder's message.
        reason: String,
    },
    /// Threshold overrides or a user's check that the catalog refuses.
    #[error(transparent)]
    Catalog(#[from] CatalogError),
    /// A time.
    #[error(transparent)]
    Time(#[from] TimeError),
    /// A window or duration.
    #[error(transparent)]
    Window(#[from] WindowError),
    /// An output format.
    #[error(transparent)]
    Format(#[from] FormatError),
    /// An insight filter.
    #[error(transparent)]
    Filter(#[from] FilterError),
    /// A method option (methods, histogram, SLO, group-by label).
    #[error(transparent)]
    Method(#[from] MethodError),
    /// A user's check that cannot be judged.
    #[error(transparent)]
    Check(#[from] UserCheckError),
    /// A label matcher built from the request.
    #[error(transparent)]
    Matcher(#[from] SelectorError),
    /// A user's PromQL that Prometheus refused.
    #[error("Prometheus could not run it: {reason}")]
    Refused {
        /// Prometheus' error.
        reason: String,
    },
}

/// A value of a request that cannot be used: where it came from, which field, and why.
#[derive(Debug, Error)]
#[error("{origin} `{field}`: {problem}")]
pub struct FieldError {
    /// Query JSON or resource parameter.
    pub origin: Origin,
    /// The field's name as the caller spelt it.
    pub field: String,
    /// What is wrong.
    pub problem: Problem,
}

impl FieldError {
    /// `field` of `origin` has `problem`.
    pub fn new(origin: Origin, field: &str, problem: impl Into<Problem>) -> Self {
        Self {
            origin,
            field: field.to_string(),
            problem: problem.into(),
        }
    }
}

/// A request that cannot be answered as asked.
#[derive(Debug, Error)]
pub enum RequestError {
    /// A query type this plugin does not know.
    #[error("unknown query type `{name}`; this data source answers: {}", QueryType::names().join(", "))]
    UnknownQueryType {
        /// The name given.
        name: String,
    },
    /// One value that cannot be used.
    #[error(transparent)]
    Field(#[from] FieldError),
    /// A parameter the resource does not take.
    #[error("unknown parameter `{name}`; known: {}", known.join(", "))]
    UnknownParameter {
        /// The parameter given.
        name: String,
        /// The parameters the resource takes.
        known: Vec<&'static str>,
    },
    /// A parameter whose percent-decoded bytes are not UTF-8.
    #[error("parameter `{name}` is not UTF-8")]
    NotUtf8 {
        /// The parameter (as sent).
        name: String,
    },
}
