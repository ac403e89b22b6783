//! Why a request failed, classified for the caller: its input (400), something it names that
//! does not exist (404), an upstream that failed (502) or did not answer in time (504), or a
//! bug (500). The data path turns the class into a refId's status, the resource routes into
//! an HTTP status. Too many analyses in progress at once is 429 (retry), never blamed on an
//! upstream.

use thiserror::Error;

use super::error::{FieldError, RequestError};
use crate::{
    analysis::AnalysisError,
    dashboard::DashboardError,
    grafana::GrafanaError,
    prometheus::{ApiErrorKind, PrometheusError},
};

/// The class of a failure.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Status {
    /// The request asks for something that cannot be done: change the request.
    BadRequest,
    /// The request names something that does not exist (a dashboard).
    NotFound,
    /// Prometheus or Grafana could not be reached or answered with an error.
    BadGateway,
    /// Prometheus or Grafana did not answer in time.
    Timeout,
    /// Gregg Insights itself has too much in progress on this data source: retry.
    Busy,
    /// A bug.
    Internal,
}

impl Status {
    /// The HTTP status code.
    pub fn http(self) -> u16 {
        match self {
            Status::BadRequest => 400,
            Status::NotFound => 404,
            Status::Internal => 500,
            Status::BadGateway => 502,
            Status::Timeout => 504,
            Status::Busy => 429,
        }
    }
}

/// A failed request: its class and the message for the user (the error's own text).
#[derive(Clone, Debug, Error, PartialEq, Eq)]
#[error("{message}")]
pub struct Failure {
    /// The class.
    pub status: Status,
    /// What went wrong and what to change.
    pub message: String,
}

impl Failure {
    /// A failure of class `status` told by `error`.
    pub fn new(status: Status, error: &dyn std::error::Error) -> Self {
        Self {
            status,
            message: error.to_string(),
        }
    }
}

/// The class of a Prometheus failure: its answer to a bad query (bad data, execution error,
/// too large) and the client's own configuration are the request's; timeouts are 504; the
/// rest (unreachable, HTTP errors, undecodable answers) 502.
pub fn prometheus_status(err: &PrometheusError) -> Status {
    match err {
        PrometheusError::Timeout { .. }
        | PrometheusError::Api {
            kind: ApiErrorKind::Timeout,
            ..
        } => Status::Timeout,
        PrometheusError::Api {
            kind: ApiErrorKind::BadData | ApiErrorKind::Execution,
            ..
        }
        | PrometheusError::TooLarge { .. }
        | PrometheusError::Config(_) => Status::BadRequest,
        _ => Status::BadGateway,
    }
}

/// The class of a Grafana failure (its own: no URL or a bad one is the request's, 404 is
/// not found, a timeout 504, the rest 502).
pub fn grafana_status(err: &GrafanaError) -> Status {
    match err.http_status() {
        400 => Status::BadRequest,
        404 => Status::NotFound,
        504 => Status::Timeout,
        _ => Status::BadGateway,
    }
}

impl From<RequestError> for Failure {
    fn from(err: RequestError) -> Self {
        Failure::new(Status::BadRequest, &err)
    }
}

impl From<FieldError> for Failure {
    fn from(err: FieldError) -> Self {
        Failure::new(Status::BadRequest, &err)
    }
}

impl From<PrometheusError> for Failure {
    fn from(err: PrometheusError) -> Self {
        Failure::new(prometheus_status(&err), &err)
    }
}

impl From<&GrafanaError> for Failure {
    fn from(err: &GrafanaError) -> Self {
        Failure::new(grafana_status(err), err)
    }
}

impl From<AnalysisError> for Failure {
    fn from(err: AnalysisError) -> Self {
        let status = match &err {
            AnalysisError::UnknownCheck(_) => Status::BadRequest,
            AnalysisError::Prometheus(p) => prometheus_status(p),
        };
        Failure::new(status, &err)
    }
}

impl From<DashboardError> for Failure {
    fn from(err: DashboardError) -> Self {
        let status = match &err {
            DashboardError::Grafana(g) => grafana_status(g),
            DashboardError::Prometheus(p) => prometheus_status(p),
            DashboardError::Request(_) => Status::BadRequest,
        };
        Failure::new(status, &err)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::request::{params::Params, query};

    fn unreachable() -> PrometheusError {
        PrometheusError::Unreachable {
            url: "http://127.0.0.1:1".into(),
            reason: "connection refused".into(),
        }
    }

    #[test]
    fn bad_input_is_400_and_upstream_failures_are_502_or_504() {
        let bad_query = query::parse("report", &serde_json::json!({"window": "5x"})).unwrap_err();
        assert_eq!(Failure::from(bad_query).status, Status::BadRequest);
        let bad_param = Params::parse("a=%ff").unwrap_err();
        assert_eq!(Failure::from(bad_param).status, Status::BadRequest);
        let unknown_check = AnalysisError::UnknownCheck("cpu.nope".into());
        assert_eq!(Failure::from(unknown_check).status, Status::BadRequest);
        let down = Failure::from(AnalysisError::Prometheus(unreachable()));
        assert_eq!(down.status, Status::BadGateway);
        assert!(
            down.message.contains("http://127.0.0.1:1"),
            "{}",
            down.message
        );
        let slow = PrometheusError::Timeout {
            url: "http://p".into(),
            endpoint: "/api/v1/query".into(),
            timeout: std::time::Duration::from_secs(30),
        };
        assert_eq!(Failure::from(slow).status, Status::Timeout);
        let refused = PrometheusError::Api {
            kind: ApiErrorKind::BadData,
            message: "parse error".into(),
        };
        assert_eq!(Failure::from(refused).status, Status::BadRequest);
    }

    #[test]
    fn dashboard_and_grafana_failures_keep_their_class() {
        let missing = GrafanaError::NotFound {
            path: "/api/dashboards/uid/x".into(),
            what: "dashboard x".into(),
        };
        assert_eq!(Failure::from(&missing).status, Status::NotFound);
        assert_eq!(
            Failure::from(&GrafanaError::NoUrl).status,
            Status::BadRequest
        );
        let locked = GrafanaError::Status {
            status: 500,
            path: "/api/dashboards/uid/x".into(),
            message: Some("database is locked".into()),
        };
        assert_eq!(
            Failure::from(DashboardError::Grafana(locked)).status,
            Status::BadGateway
        );
        let empty = DashboardError::Request("the time range is empty".into());
        assert_eq!(Failure::from(empty).status, Status::BadRequest);
        let all_failed = DashboardError::Prometheus(unreachable());
        assert_eq!(Failure::from(all_failed).status, Status::BadGateway);
        assert_eq!(Status::Timeout.http(), 504);
        assert_eq!(Status::NotFound.http(), 404);
    }
}
