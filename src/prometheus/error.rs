//! Everything that can go wrong talking to Prometheus, each with a message a user can act on.

use std::time::Duration;

use thiserror::Error;

/// Prometheus' own `errorType` values (see its HTTP API documentation).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ApiErrorKind {
    /// `bad_data`: the query or a parameter is invalid (HTTP 400).
    BadData,
    /// `execution`: the query failed while running (HTTP 422).
    Execution,
    /// `timeout`: Prometheus gave up evaluating the query (HTTP 503).
    Timeout,
    /// `canceled`: the query was cancelled (HTTP 503).
    Canceled,
    /// `internal`: a Prometheus bug or storage problem (HTTP 500).
    Internal,
    /// `unavailable`: Prometheus is starting or shutting down (HTTP 503).
    Unavailable,
    /// `not_found`.
    NotFound,
    /// Anything newer.
    Other(String),
}

impl ApiErrorKind {
    /// Map Prometheus' `errorType` string.
    pub fn from_error_type(error_type: &str) -> Self {
        match error_type {
            "bad_data" => Self::BadData,
            "execution" => Self::Execution,
            "timeout" => Self::Timeout,
            "canceled" => Self::Canceled,
            "internal" => Self::Internal,
            "unavailable" => Self::Unavailable,
            "not_found" => Self::NotFound,
            other => Self::Other(other.to_string()),
        }
    }

    /// The `errorType` string.
    pub fn as_str(&self) -> &str {
        match self {
            Self::BadData => "bad_data",
            Self::Execution => "execution",
            Self::Timeout => "timeout",
            Self::Canceled => "canceled",
            Self::Internal => "internal",
            Self::Unavailable => "unavailable",
            Self::NotFound => "not_found",
            Self::Other(s) => s,
        }
    }
}

/// Why a Prometheus request failed. Messages never contain credentials or header values.
#[derive(Debug, Error)]
#[non_exhaustive]
pub enum PrometheusError {
    /// The host name does not resolve.
    #[error("cannot resolve the Prometheus host in {url}: {reason}. Check the URL's host name and the DNS of the machine running Grafana.")]
    UnknownHost {
        /// Prometheus URL (credentials removed).
        url: String,
        /// Resolver's message.
        reason: String,
    },
    /// Nothing answered: connection refused, reset, unreachable network.
    #[error("cannot reach Prometheus at {url}: {reason}. Check the URL and port, and that Prometheus is running and reachable from the machine running Grafana.")]
    Unreachable {
        /// Prometheus URL (credentials removed).
        url: String,
        /// What the network stack said.
        reason: String,
    },
    /// No complete answer within the configured timeout.
    #[error("Prometheus at {url} did not answer {endpoint} within {timeout:?}. Prometheus may be overloaded or the network slow; raise the data source timeout or narrow the query.")]
    Timeout {
        /// Prometheus URL (credentials removed).
        url: String,
        /// API endpoint, e.g. `/api/v1/query`.
        endpoint: String,
        /// The deadline that passed.
        timeout: Duration,
    },
    /// The TLS handshake failed (unknown CA, wrong host name, plain HTTP on an https URL…).
    #[error("TLS connection to {url} failed: {reason}. {hint}")]
    Tls {
        /// Prometheus URL (credentials removed).
        url: String,
        /// rustls' description of the failure.
        reason: String,
        /// What to change.
        hint: &'static str,
    },
    /// 401 or 403.
    #[error("Prometheus at {url} refused the request with HTTP {status}{message}. Check the basic auth user and password, the bearer token or the custom headers.")]
    Auth {
        /// Prometheus URL (credentials removed).
        url: String,
        /// 401 or 403.
        status: u16,
        /// `": <server message>"` or empty.
        message: String,
    },
    /// 404 from the API root: probably not a Prometheus URL.
    #[error("{url} has no Prometheus API at {endpoint} (HTTP 404). Check the URL, including any path prefix such as /prometheus.")]
    NotFound {
        /// Prometheus URL (credentials removed).
        url: String,
        /// The endpoint requested.
        endpoint: String,
    },
    /// Any other non-success HTTP status.
    #[error("Prometheus at {url} answered {endpoint} with HTTP {status}: {message}")]
    Status {
        /// Prometheus URL (credentials removed).
        url: String,
        /// The endpoint requested.
        endpoint: String,
        /// HTTP status.
        status: u16,
        /// Prometheus' error message, or the start of the body.
        message: String,
    },
    /// Prometheus rejected or failed the query and said why.
    #[error("Prometheus rejected the query ({}): {message}", kind.as_str())]
    Api {
        /// Prometheus' `errorType`.
        kind: ApiErrorKind,
        /// Prometheus' `error`.
        message: String,
    },
    /// The body was not the JSON Prometheus sends.
    #[error("Prometheus at {url} sent a response to {endpoint} that is not a valid Prometheus API answer: {reason}")]
    Malformed {
        /// Prometheus URL (credentials removed).
        url: String,
        /// The endpoint requested.
        endpoint: String,
        /// What was wrong with it.
        reason: String,
    },
    /// The body exceeded the configured limit and was abandoned.
    #[error("Prometheus' answer to {endpoint} exceeded the {limit_mib} MiB response limit and was abandoned. Narrow the query (a selector or fewer instances) or raise the limit.")]
    TooLarge {
        /// The endpoint requested.
        endpoint: String,
        /// The limit in MiB.
        limit_mib: usize,
    },
    /// The client could not be built from its configuration.
    #[error("invalid Prometheus connection settings: {0}")]
    Config(String),
}

impl PrometheusError {
    /// A short, stable name for the error class (metrics labels, JSON details).
    pub fn kind(&self) -> &'static str {
        match self {
            Self::UnknownHost { .. } => "unknown_host",
            Self::Unreachable { .. } => "unreachable",
            Self::Timeout { .. } => "timeout",
            Self::Tls { .. } => "tls",
            Self::Auth { .. } => "auth",
            Self::NotFound { .. } => "not_found",
            Self::Status { .. } => "http_status",
            Self::Api { .. } => "api",
            Self::Malformed { .. } => "malformed",
            Self::TooLarge { .. } => "too_large",
            Self::Config(_) => "config",
        }
    }

    /// True when the problem is the query itself rather than Prometheus or the connection.
    pub fn is_query_error(&self) -> bool {
        matches!(
            self,
            Self::Api {
                kind: ApiErrorKind::BadData | ApiErrorKind::Execution,
                ..
            }
        )
    }
}
