//! PromQL text: safe label selectors, durations and query templates.
//!
//! Nothing here talks to Prometheus; it only builds the strings that are sent to it.

mod duration;
mod query;
mod selector;
pub mod template;
mod value_range;

pub use duration::{format_duration, parse_duration, DurationError};
pub use query::{render_query, render_query_split};
pub use selector::{is_label_name, quote, regex_escape, MatchOp, Matcher, Selector, SelectorError};
pub use value_range::{
    at_least, between, prefixed_range, quoted_literal_len, starting_with, MAX_BOUND_CHARS,
    MAX_PREFIX_BYTES, MAX_PREFIX_CHARS,
};
