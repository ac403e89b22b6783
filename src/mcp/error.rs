//! What a tool call can fail with. Every one becomes a tool error (`isError: true`) whose text
//! the model reads, so each message names the argument or says what failed, in the CLI's words.

use thiserror::Error;

use crate::request::{FieldError, RequestError};

/// Why a tool call could not be answered.
#[derive(Debug, Error)]
pub enum ToolError {
    /// A tool this server does not have.
    #[error("unknown tool `{name}`; this server has: {}", known.join(", "))]
    UnknownTool {
        /// The name asked for.
        name: String,
        /// The tools it has.
        known: Vec<&'static str>,
    },
    /// An argument the tool does not take (a misspelt one would otherwise be ignored silently).
    #[error("unknown argument `{name}`; {tool} takes: {}", known.join(", "))]
    UnknownArgument {
        /// The tool.
        tool: &'static str,
        /// The argument given.
        name: String,
        /// The arguments it takes.
        known: Vec<String>,
    },
    /// One argument that cannot be used; the message names it.
    #[error("argument `{field}`: {problem}")]
    Argument {
        /// The argument's name.
        field: String,
        /// What is wrong with it.
        problem: String,
    },
    /// The dashboard tool without Grafana.
    #[error("analyze_dashboard needs Grafana: start the server with --grafana URL (and --grafana-token-file FILE)")]
    NoGrafana,
    /// Prometheus, Grafana or the analysis failed: the message is the CLI's (`error: …` less
    /// the prefix), the error and its causes joined by `: `.
    #[error("{0}")]
    Failed(String),
}

impl ToolError {
    /// A failure with its causes, worded as the CLI's `error: {e:#}` (anyhow's alternate form).
    pub fn failed(error: &(dyn std::error::Error + 'static)) -> Self {
        let mut text = error.to_string();
        let mut source = error.source();
        while let Some(cause) = source {
            text.push_str(": ");
            text.push_str(&cause.to_string());
            source = cause.source();
        }
        ToolError::Failed(text)
    }

    /// `argument `name`: problem`.
    pub fn argument(field: &str, problem: impl std::fmt::Display) -> Self {
        ToolError::Argument {
            field: field.to_string(),
            problem: problem.to_string(),
        }
    }
}

/// A request module's field error, named as a tool argument rather than a query field.
impl From<FieldError> for ToolError {
    fn from(e: FieldError) -> Self {
        ToolError::Argument {
            field: e.field,
            problem: e.problem.to_string(),
        }
    }
}

impl From<RequestError> for ToolError {
    fn from(e: RequestError) -> Self {
        match e {
            RequestError::Field(field) => field.into(),
            other => ToolError::Failed(other.to_string()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::request::{Origin, Problem};

    #[test]
    fn field_errors_name_the_argument() {
        let e: ToolError = FieldError::new(Origin::QueryField, "window", Problem::NotFinite).into();
        assert_eq!(e.to_string(), "argument `window`: must be a finite number");
    }

    #[test]
    fn failures_carry_their_causes_like_the_cli() {
        let io = std::io::Error::other("refused");
        let e = ToolError::failed(&io);
        assert_eq!(e.to_string(), "refused");
    }
}
