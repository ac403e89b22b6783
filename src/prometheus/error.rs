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

/// Why an engine refused a query for its size rather than for what it asks: the same query over
/// fewer instances would be answered, so it is fetched in instance groups instead of failing.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SizeRefusal {
    /// Prometheus' `--query.max-samples` (HTTP 422 "query processing would load too many
    /// samples into memory"), VictoriaMetrics' `-search.maxSamplesPerQuery`.
    TooManySamples,
    /// A series limit: Cortex/Mimir "max number of series", VictoriaMetrics
    /// `-search.maxUniqueTimeseries`, a Thanos store's series limit.
    TooManySeries,
    /// The answer passed this client's response limit, or the engine's own.
    ResponseTooLarge,
    /// The engine's query timeout (`--query.timeout`, errorType `timeout`). It may mean an
    /// overloaded server rather than a large query, so it allows one halving of the groups only
    /// (`samples::groups::MAX_TIMEOUT_HALVINGS`).
    QueryTimeout,
}

impl SizeRefusal {
    /// A short, stable name (query records, notices).
    pub fn as_str(self) -> &'static str {
        match self {
            Self::TooManySamples => "too many samples",
            Self::TooManySeries => "too many series",
            Self::ResponseTooLarge => "response too large",
            Self::QueryTimeout => "query timeout",
        }
    }

    /// Recognise a refusal from the engine's error text (Prometheus, Thanos, Cortex/Mimir and
    /// VictoriaMetrics word them differently; each phrase below is one engine's own).
    fn from_message(message: &str) -> Option<Self> {
        const SAMPLES: [&str; 2] = [
            "query processing would load too many samples into memory",
            "-search.maxsamplesperquery",
        ];
        const SERIES: [&str; 4] = [
            "max number of series",
            "maximum number of series",
            "-search.maxuniquetimeseries",
            "exceeded series limit",
        ];
        const SIZE: [&str; 2] = ["response larger than", "-search.maxresponseseries"];
        const TIMEOUT: [&str; 2] = ["query timed out", "timeout exceeded during query"];
        let text = message.to_ascii_lowercase();
        let has = |phrases: &[&str]| phrases.iter().any(|p| text.contains(p));
        if has(&SAMPLES) {
            Some(Self::TooManySamples)
        } else if has(&SERIES) {
            Some(Self::TooManySeries)
        } else if has(&SIZE) {
            Some(Self::ResponseTooLarge)
        } else if has(&TIMEOUT) {
            Some(Self::QueryTimeout)
        } else {
            None
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
    #[error("Prometheus at {url} sent an answer to {endpoint} past the {limit_mib} MiB response limit; it was abandoned. Narrow the query (a selector or fewer instances) or raise jsonData.maxResponseMiB.")]
    TooLarge {
        /// The Prometheus base URL (credentials removed).
        url: String,
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
    /// The error with every occurrence of `secrets` in its server-provided text replaced by
    /// `<redacted>`.
    ///
    /// Messages quote what the server said (Prometheus' error text, an error page), and a
    /// proxy that echoes request headers into its error page would otherwise put the password,
    /// token or header values into a panel, a log line or an alert.
    pub(crate) fn redacted(self, secrets: &[String]) -> Self {
        if secrets.is_empty() {
            return self;
        }
        let scrub = |mut text: String| {
            for secret in secrets.iter().filter(|s| !s.is_empty()) {
                if text.contains(secret.as_str()) {
                    text = text.replace(secret.as_str(), "<redacted>");
                }
            }
            text
        };
        match self {
            Self::UnknownHost { url, reason } => Self::UnknownHost {
                url,
                reason: scrub(reason),
            },
            Self::Unreachable { url, reason } => Self::Unreachable {
                url,
                reason: scrub(reason),
            },
            Self::Tls { url, reason, hint } => Self::Tls {
                url,
                reason: scrub(reason),
                hint,
            },
            Self::Auth {
                url,
                status,
                message,
            } => Self::Auth {
                url,
                status,
                message: scrub(message),
            },
            Self::Status {
                url,
                endpoint,
                status,
                message,
            } => Self::Status {
                url,
                endpoint,
                status,
                message: scrub(message),
            },
            Self::Api { kind, message } => Self::Api {
                kind,
                message: scrub(message),
            },
            Self::Malformed {
                url,
                endpoint,
                reason,
            } => Self::Malformed {
                url,
                endpoint,
                reason: scrub(reason),
            },
            Self::Config(text) => Self::Config(scrub(text)),
            other => other,
        }
    }

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

    /// The engine refused the query for its size (see [`SizeRefusal`]), `None` for any other
    /// failure. This client's own deadline is not one: the engine did not say the query was
    /// too big, and retrying it in parts would multiply the wait on a slow or dying server. The
    /// engine's own timeout is one, but is retried in more parts once only.
    pub fn size_refusal(&self) -> Option<SizeRefusal> {
        match self {
            Self::TooLarge { .. } => Some(SizeRefusal::ResponseTooLarge),
            Self::Api {
                kind: ApiErrorKind::Timeout,
                ..
            } => Some(SizeRefusal::QueryTimeout),
            Self::Api { message, .. } | Self::Status { message, .. } => {
                SizeRefusal::from_message(message)
            }
            _ => None,
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

#[cfg(test)]
mod tests {
    use super::*;

    fn api(kind: &str, message: &str) -> PrometheusError {
        PrometheusError::Api {
            kind: ApiErrorKind::from_error_type(kind),
            message: message.into(),
        }
    }

    #[test]
    fn each_engine_refusal_for_size_is_recognised() {
        let cases = [
            // Prometheus 2.x, --query.max-samples (HTTP 422).
            (
                api("execution", "query processing would load too many samples into memory in query execution"),
                Some(SizeRefusal::TooManySamples),
            ),
            // VictoriaMetrics (errorType "422").
            (
                api("422", "cannot select more than -search.maxSamplesPerQuery=1000 samples; possible solutions: ..."),
                Some(SizeRefusal::TooManySamples),
            ),
            (
                api("422", "the number of matching timeseries exceeds 300000; either narrow down the search or increase -search.maxUniqueTimeseries"),
                Some(SizeRefusal::TooManySeries),
            ),
            // Mimir / Cortex.
            (
                api("execution", "the query exceeded the maximum number of series (limit: 100000 series) (err-mimir-max-series-per-query)"),
                Some(SizeRefusal::TooManySeries),
            ),
            (
                api("timeout", "query timed out in expression evaluation"),
                Some(SizeRefusal::QueryTimeout),
            ),
            (
                PrometheusError::Status {
                    url: "http://p".into(),
                    endpoint: "/api/v1/query_range".into(),
                    status: 503,
                    message: "query timed out in query execution".into(),
                },
                Some(SizeRefusal::QueryTimeout),
            ),
            (
                PrometheusError::TooLarge {
                    url: "http://p".into(),
                    endpoint: "/api/v1/query_range".into(),
                    limit_mib: 64,
                },
                Some(SizeRefusal::ResponseTooLarge),
            ),
            // Not about size: a bad query, a query error, this client's own deadline.
            (api("bad_data", "1:5: parse error: unexpected identifier"), None),
            (api("execution", "found duplicate series for the match group"), None),
            (
                PrometheusError::Timeout {
                    url: "http://p".into(),
                    endpoint: "/api/v1/query".into(),
                    timeout: Duration::from_secs(30),
                },
                None,
            ),
        ];
        for (error, expected) in cases {
            assert_eq!(error.size_refusal(), expected, "{error}");
        }
    }

    #[test]
    fn secrets_quoted_by_the_server_are_redacted() {
        let secrets = vec!["pw-SECRET".to_string(), "YWxpY2U6cHc=".to_string()];
        let echoed = PrometheusError::Status {
            url: "http://prom".into(),
            endpoint: "/api/v1/query".into(),
            status: 500,
            message: "Authorization: Basic YWxpY2U6cHc= (pw-SECRET)".into(),
        }
        .redacted(&secrets)
        .to_string();
        assert!(
            !echoed.contains("SECRET") && !echoed.contains("YWxpY2U6cHc="),
            "{echoed}"
        );
        assert!(echoed.contains("Basic <redacted> (<redacted>)"), "{echoed}");
        let api = PrometheusError::Api {
            kind: ApiErrorKind::BadData,
            message: "bad pw-SECRET".into(),
        }
        .redacted(&secrets);
        assert_eq!(
            api.to_string(),
            "Prometheus rejected the query (bad_data): bad <redacted>"
        );
    }
}
