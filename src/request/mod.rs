//! One request model: what a panel query, a resource's parameters or the CLI's flags ask for,
//! turned into values — time, window, output format, insight filters, method options — and
//! into the analysis requests that compute them. The plugin's data path, its resource routes
//! and the CLI all parse through here, so a value means the same everywhere, and every error
//! is an enum whose message names the field and says what to change.
//!
//! | File | Job |
//! |---|---|
//! | `time` | RFC 3339 or Unix seconds (milliseconds kept) → a time |
//! | `window` | durations, analysis windows (at least 30s), the range a window describes |
//! | `format` | report formats by name |
//! | `filter_values` | one filter value by name (a regex, component, severity, methodology) |
//! | `filters` | `instances`, `components`, `minSeverity`, `methodologies` → [`Filters`] |
//! | `methods` | methodologies → methods; `histogram`, `slo`, `groupBy` |
//! | `fields` | named values of a JSON query ([`fields::JsonFields`]) … |
//! | `params` | … or of a query string ([`Params`]), read alike through [`fields::Fields`] |
//! | `query_type` | the query types and their names ([`QueryType`]) |
//! | `query` | a panel query's JSON → [`Query`] |
//! | `resource` | a resource's parameters → what to compute and render |
//! | `analysis` | a query → the [`crate::analysis::AnalysisRequest`] it describes |
//! | `key` | the identity of an analysis, for sharing runs |
//! | `error` | [`FieldError`] (one value) and [`RequestError`] (the request) |
//! | `failure` | any failure → [`Failure`]: 400 input, 404, 502 upstream, 504 timeout, 500 |

pub mod analysis;
pub mod error;
pub mod failure;
pub mod fields;
pub mod filter_values;
pub mod filters;
pub mod format;
#[cfg(test)]
mod generated_types;
pub mod key;
pub mod limits;
pub mod methods;
pub mod params;
pub mod query;
pub mod query_type;
pub mod resource;
pub mod time;
pub mod window;

pub use error::{FieldError, Origin, Problem, RequestError};
pub use failure::{Failure, Status};
pub use filters::Filters;
pub use format::{parse_format, Format};
pub use key::{AnalysisKey, DashboardKey};
pub use params::Params;
pub use query::{Query, QueryType};
pub use time::parse_time;
pub use window::{parse_duration, parse_window};
