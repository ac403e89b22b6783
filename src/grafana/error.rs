//! What can go wrong talking to Grafana, each with the fix in its message. No variant holds the
//! token: messages are built from the status, the path and Grafana's own `message` field.

use thiserror::Error;

/// A Grafana API call that failed.
#[derive(Debug, Error)]
pub enum GrafanaError {
    /// No Grafana URL configured and none handed over by Grafana.
    #[error("no Grafana URL: set jsonData.grafanaUrl (or --grafana) to Grafana's root URL")]
    NoUrl,
    /// A URL or client setting that cannot work.
    #[error("Grafana client: {0}")]
    Config(String),
    /// 401: no token, or a wrong or expired one.
    #[error("Grafana answered 401 Unauthorized for {path}: the service account token is missing, wrong or expired (set secureJsonData.grafanaToken)")]
    Unauthorized {
        /// The API path.
        path: String,
    },
    /// 403: the token's role may not read this.
    #[error("Grafana answered 403 Forbidden for {path}: the service account needs the Viewer role (dashboards:read) on this dashboard or folder")]
    Forbidden {
        /// The API path.
        path: String,
    },
    /// 404: no such dashboard or library panel.
    #[error("Grafana answered 404 Not Found for {path}: {what} does not exist or is not visible to the service account")]
    NotFound {
        /// The API path.
        path: String,
        /// What was looked up ("dashboard abc").
        what: String,
    },
    /// Any other non-2xx status.
    #[error("Grafana answered {status} for {path}{}", message.as_deref().map(|m| format!(": {m}")).unwrap_or_default())]
    Status {
        /// HTTP status.
        status: u16,
        /// The API path.
        path: String,
        /// Grafana's `message`, if it sent one.
        message: Option<String>,
    },
    /// No answer within the deadline.
    #[error("Grafana did not answer {path} within {seconds}s")]
    Timeout {
        /// The API path.
        path: String,
        /// The deadline.
        seconds: u64,
    },
    /// Connection-level failure.
    #[error("cannot reach Grafana at {url}: {reason}")]
    Unreachable {
        /// Grafana's URL (no credentials).
        url: String,
        /// The innermost cause.
        reason: String,
    },
    /// An answer larger than the bound.
    #[error("Grafana's answer for {path} is larger than {limit} bytes")]
    TooLarge {
        /// The API path.
        path: String,
        /// The bound.
        limit: usize,
    },
    /// An answer that is not the expected JSON.
    #[error("Grafana's answer for {path} is not the expected JSON: {reason}")]
    Decode {
        /// The API path.
        path: String,
        /// The decoder's message.
        reason: String,
    },
}

impl GrafanaError {
    /// An HTTP status close to the failure, for resource responses.
    pub fn http_status(&self) -> u16 {
        match self {
            GrafanaError::NoUrl | GrafanaError::Config(_) => 400,
            GrafanaError::NotFound { .. } => 404,
            GrafanaError::Timeout { .. } => 504,
            _ => 502,
        }
    }
}
