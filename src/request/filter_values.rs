//! One insight filter value by name: an `instances` regex, a component, a severity, a
//! methodology — or the [`FilterError`] saying what to use instead. [`super::filters`] reads
//! them from a request's fields.

use thiserror::Error;

use crate::{
    insight::{Component, Methodology, Severity},
    methods::Method,
};

/// The methodologies a filter may name.
const METHODOLOGIES: [Methodology; 5] = [
    Methodology::UseMethod,
    Methodology::WorkloadCharacterization,
    Methodology::DrillDown,
    Methodology::LatencyAnalysis,
    Methodology::FleetOutliers,
];

/// A filter value that cannot be used.
#[derive(Clone, Debug, Error, PartialEq, Eq)]
pub enum FilterError {
    /// An `instances` regex that RE2 would reject.
    #[error("not a valid regular expression: {reason}")]
    Regex {
        /// The parser's message.
        reason: String,
    },
    /// A component that does not exist.
    #[error("unknown component `{name}`; use {}", Component::ALL.map(|c| c.as_str()).join(", "))]
    Component {
        /// The name given.
        name: String,
    },
    /// A severity that does not exist.
    #[error("`{name}` is not a severity: use {}", Severity::ALL_DESCENDING.map(|s| s.as_str()).join(", "))]
    Severity {
        /// The name given.
        name: String,
    },
    /// A methodology that does not exist.
    #[error("unknown methodology `{name}`; use {}", METHODOLOGIES.map(|m| m.as_str()).join(", "))]
    Methodology {
        /// The name given.
        name: String,
    },
}

/// Check an `instances` regex as Prometheus (RE2) would parse it.
pub fn instances(regex: &str) -> Result<(), FilterError> {
    regex_syntax::Parser::new()
        .parse(regex)
        .map(|_| ())
        .map_err(|e| FilterError::Regex {
            reason: e.to_string(),
        })
}

/// A component by name.
pub fn component(name: &str) -> Result<Component, FilterError> {
    Component::parse(name).ok_or_else(|| FilterError::Component { name: name.into() })
}

/// A severity by name (any case).
pub fn severity(name: &str) -> Result<Severity, FilterError> {
    Severity::parse(name).ok_or_else(|| FilterError::Severity { name: name.into() })
}

/// A methodology by its name (`use_method`) or the CLI's method name (`use`).
pub fn methodology(name: &str) -> Result<Methodology, FilterError> {
    METHODOLOGIES
        .into_iter()
        .find(|m| m.as_str().eq_ignore_ascii_case(name))
        .or_else(|| {
            Method::parse_list(name)
                .ok()
                .and_then(|m| m.first().copied())
                .map(methodology_of)
        })
        .ok_or_else(|| FilterError::Methodology { name: name.into() })
}

/// The methodology of a method's insights.
pub fn methodology_of(method: Method) -> Methodology {
    match method {
        Method::Use => Methodology::UseMethod,
        Method::Workload => Methodology::WorkloadCharacterization,
        Method::Drilldown => Methodology::DrillDown,
        Method::Latency => Methodology::LatencyAnalysis,
        Method::Outliers => Methodology::FleetOutliers,
    }
}
