//! Grafana's HTTP API, read-only: dashboard search, one dashboard by uid, library panels and
//! the data source list (to tell Prometheus targets from others).
//!
//! The token is a [`Secret`]: it is sent as a sensitive `Authorization` header and never
//! formatted into a message. Every answer is read with a size bound and a deadline, and every
//! failure is a [`GrafanaError`] that says what to fix (401: the token; 403: its role; 404: the
//! uid; 5xx: Grafana itself).

mod client;
mod error;

pub use client::{Client, DashboardHit, DataSourceRef, GrafanaConfig, SearchQuery};
pub use error::GrafanaError;

use crate::secret::Secret;

/// The environment variable through which Grafana hands plugins its own root URL.
pub const APP_URL_ENV: &str = "GF_APP_URL";

/// The Grafana URL to use: the configured one, else the URL Grafana hands its plugins.
pub fn default_url(configured: Option<&url::Url>) -> Option<url::Url> {
    configured.cloned().or_else(|| {
        std::env::var(APP_URL_ENV)
            .ok()
            .filter(|u| !u.trim().is_empty())
            .and_then(|u| url::Url::parse(u.trim()).ok())
            .filter(|u| matches!(u.scheme(), "http" | "https"))
    })
}

/// A token from the configured secret, for [`GrafanaConfig`].
pub fn token(secret: Option<&Secret>) -> Option<Secret> {
    secret.filter(|s| !s.expose().trim().is_empty()).cloned()
}
