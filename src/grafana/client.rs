//! The HTTP client: GET with a bearer token, a deadline and a bounded body.

use std::time::Duration;

use reqwest::header;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use url::Url;

use super::GrafanaError;
use crate::{
    secret::Secret,
    transport::{display_url, innermost},
};

/// Largest answer read (Node Exporter Full is ~0.5 MB; generated dashboards can be far larger).
pub const DEFAULT_MAX_BODY_BYTES: usize = 32 * 1024 * 1024;

/// How to reach Grafana.
#[derive(Clone, Debug)]
pub struct GrafanaConfig {
    /// Grafana's root URL (sub-path included).
    pub url: Url,
    /// The service account token; requests go unauthenticated without one.
    pub token: Option<Secret>,
    /// Per-request deadline.
    pub timeout: Duration,
    /// Largest answer read.
    pub max_body_bytes: usize,
}

impl GrafanaConfig {
    /// Defaults: 30s deadline, 32 MiB answers.
    pub fn new(url: Url, token: Option<Secret>) -> Self {
        Self {
            url,
            token,
            timeout: Duration::from_secs(30),
            max_body_bytes: DEFAULT_MAX_BODY_BYTES,
        }
    }
}

/// What to list.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct SearchQuery {
    /// Title substring.
    pub query: Option<String>,
    /// Dashboards carrying all of these tags.
    pub tags: Vec<String>,
    /// Only these folders (uids).
    pub folder_uids: Vec<String>,
    /// Most hits (Grafana caps at 5000).
    pub limit: Option<u32>,
}

/// One dashboard of a search.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DashboardHit {
    /// Its uid.
    #[serde(default)]
    pub uid: String,
    /// Its title.
    #[serde(default)]
    pub title: String,
    /// Grafana's path to it.
    #[serde(default)]
    pub url: String,
    /// Tags.
    #[serde(default)]
    pub tags: Vec<String>,
    /// Folder uid (absent in the General folder).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub folder_uid: Option<String>,
    /// Folder title.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub folder_title: Option<String>,
}

/// A configured data source, as `/api/datasources` lists it.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DataSourceRef {
    /// Uid.
    #[serde(default)]
    pub uid: String,
    /// Name.
    #[serde(default)]
    pub name: String,
    /// Plugin type (`prometheus`, `loki`…).
    #[serde(default, rename = "type")]
    pub kind: String,
    /// The org's default data source.
    #[serde(default)]
    pub is_default: bool,
    /// The URL Grafana reaches it at (empty when not listed).
    #[serde(default)]
    pub url: String,
}

/// A Grafana API client. Cheap to clone.
#[derive(Clone)]
pub struct Client {
    http: reqwest::Client,
    base: Url,
    shown_url: String,
    timeout: Duration,
    max_body_bytes: usize,
    token: Option<Secret>,
}

impl std::fmt::Debug for Client {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("GrafanaClient")
            .field("url", &self.shown_url)
            .finish_non_exhaustive()
    }
}

impl Client {
    /// Build a client; fails on a token that cannot be a header value.
    pub fn new(config: &GrafanaConfig) -> Result<Self, GrafanaError> {
        let mut base = config.url.clone();
        if !matches!(base.scheme(), "http" | "https") {
            return Err(GrafanaError::Config(
                "the Grafana URL must start with http:// or https://".to_string(),
            ));
        }
        let _ = base.set_username("");
        let _ = base.set_password(None);
        if !base.path().ends_with('/') {
            let path = format!("{}/", base.path());
            base.set_path(&path);
        }
        let shown_url = display_url(&base);
        let mut headers = header::HeaderMap::new();
        if let Some(token) = config.token.as_ref().filter(|t| !t.is_empty()) {
            let mut value =
                header::HeaderValue::from_str(&format!("Bearer {}", token.expose().trim()))
                    .map_err(|_| {
                        GrafanaError::Config(
                            "the Grafana token contains characters not allowed in HTTP headers"
                                .to_string(),
                        )
                    })?;
            value.set_sensitive(true);
            headers.insert(header::AUTHORIZATION, value);
        }
        headers.insert(
            header::USER_AGENT,
            header::HeaderValue::from_static(concat!("gregg-insights/", env!("CARGO_PKG_VERSION"))),
        );
        headers.insert(
            header::ACCEPT,
            header::HeaderValue::from_static("application/json"),
        );
        let http = reqwest::Client::builder()
            .default_headers(headers)
            .timeout(config.timeout)
            .connect_timeout(config.timeout.min(Duration::from_secs(10)))
            // Redirects could carry the token elsewhere; Grafana's API does not redirect.
            .redirect(reqwest::redirect::Policy::none())
            .use_rustls_tls()
            .build()
            .map_err(|e| GrafanaError::Config(e.to_string()))?;
        Ok(Self {
            http,
            base,
            shown_url,
            timeout: config.timeout,
            max_body_bytes: config.max_body_bytes.max(1024),
            token: config.token.clone().filter(|t| !t.is_empty()),
        })
    }

    /// Grafana's data source proxy for data source `uid`
    /// (`{grafana}/api/datasources/proxy/uid/{uid}/`) and the token to reach it with: the
    /// way Grafana itself runs a query on a data source it knows.
    pub fn data_source_proxy(&self, uid: &str) -> (Url, Option<Secret>) {
        let mut url = self.base.clone();
        if let Ok(mut segments) = url.path_segments_mut() {
            segments
                .pop_if_empty()
                .extend(["api", "datasources", "proxy", "uid", uid, ""]);
        }
        (url, self.token.clone())
    }

    /// Grafana's URL without credentials.
    pub fn url(&self) -> &str {
        &self.shown_url
    }

    /// `GET /api/search`: dashboards only, filtered by title, tags and folders.
    pub async fn search(&self, query: &SearchQuery) -> Result<Vec<DashboardHit>, GrafanaError> {
        let mut params: Vec<(&str, String)> = vec![("type", "dash-db".to_string())];
        if let Some(q) = query.query.as_ref().filter(|q| !q.trim().is_empty()) {
            params.push(("query", q.clone()));
        }
        for tag in &query.tags {
            params.push(("tag", tag.clone()));
        }
        for folder in &query.folder_uids {
            params.push(("folderUIDs", folder.clone()));
        }
        params.push(("limit", query.limit.unwrap_or(1000).min(5000).to_string()));
        let value = self
            .get("api/search", &params, "the dashboard search")
            .await?;
        serde_json::from_value(value).map_err(|e| GrafanaError::Decode {
            path: "/api/search".to_string(),
            reason: e.to_string(),
        })
    }

    /// `GET /api/dashboards/uid/<uid>`: the dashboard model (`dashboard`) of the answer.
    pub async fn dashboard(&self, uid: &str) -> Result<Value, GrafanaError> {
        let uid = checked_uid(uid)?;
        let mut value = self
            .get(
                &format!("api/dashboards/uid/{uid}"),
                &[],
                &format!("dashboard `{uid}`"),
            )
            .await?;
        match value.get_mut("dashboard").map(Value::take) {
            Some(d @ Value::Object(_)) => Ok(d),
            _ => Err(GrafanaError::Decode {
                path: format!("/api/dashboards/uid/{uid}"),
                reason: "no `dashboard` object in the answer".to_string(),
            }),
        }
    }

    /// `GET /api/library-elements/<uid>`: a library panel's model.
    pub async fn library_panel(&self, uid: &str) -> Result<Value, GrafanaError> {
        let uid = checked_uid(uid)?;
        let mut value = self
            .get(
                &format!("api/library-elements/{uid}"),
                &[],
                &format!("library panel `{uid}`"),
            )
            .await?;
        match value
            .get_mut("result")
            .and_then(|r| r.get_mut("model"))
            .map(Value::take)
        {
            Some(m @ Value::Object(_)) => Ok(m),
            _ => Err(GrafanaError::Decode {
                path: format!("/api/library-elements/{uid}"),
                reason: "no `result.model` object in the answer".to_string(),
            }),
        }
    }

    /// `GET /api/datasources`: every data source the token may see.
    pub async fn data_sources(&self) -> Result<Vec<DataSourceRef>, GrafanaError> {
        let value = self
            .get("api/datasources", &[], "the data source list")
            .await?;
        serde_json::from_value(value).map_err(|e| GrafanaError::Decode {
            path: "/api/datasources".to_string(),
            reason: e.to_string(),
        })
    }

    async fn get(
        &self,
        path: &str,
        params: &[(&str, String)],
        what: &str,
    ) -> Result<Value, GrafanaError> {
        let shown = format!("/{path}");
        let url = self
            .base
            .join(path)
            .map_err(|e| GrafanaError::Config(e.to_string()))?;
        let request = self.http.get(url).query(params);
        let mut response = request
            .send()
            .await
            .map_err(|e| self.transport(&shown, &e))?;
        let status = response.status();
        if !status.is_success() {
            let body = read_bounded(&mut response, 64 * 1024)
                .await
                .unwrap_or_default();
            let message = serde_json::from_slice::<Value>(&body)
                .ok()
                .and_then(|v| v.get("message").and_then(Value::as_str).map(str::to_string))
                .map(|m| m.chars().take(300).collect::<String>());
            return Err(match status.as_u16() {
                401 => GrafanaError::Unauthorized { path: shown },
                403 => GrafanaError::Forbidden { path: shown },
                404 => GrafanaError::NotFound {
                    path: shown,
                    what: what.to_string(),
                },
                code => GrafanaError::Status {
                    status: code,
                    path: shown,
                    message,
                },
            });
        }
        let body = read_bounded(&mut response, self.max_body_bytes)
            .await
            .map_err(|e| match e {
                ReadError::TooLarge => GrafanaError::TooLarge {
                    path: shown.clone(),
                    limit: self.max_body_bytes,
                },
                ReadError::Transport(e) => self.transport(&shown, &e),
            })?;
        serde_json::from_slice(&body).map_err(|e| GrafanaError::Decode {
            path: shown,
            reason: e.to_string(),
        })
    }

    fn transport(&self, path: &str, err: &reqwest::Error) -> GrafanaError {
        if err.is_timeout() {
            GrafanaError::Timeout {
                path: path.to_string(),
                seconds: self.timeout.as_secs(),
            }
        } else {
            GrafanaError::Unreachable {
                url: self.shown_url.clone(),
                reason: innermost(err),
            }
        }
    }
}

enum ReadError {
    TooLarge,
    Transport(reqwest::Error),
}

async fn read_bounded(
    response: &mut reqwest::Response,
    limit: usize,
) -> Result<Vec<u8>, ReadError> {
    let mut body = Vec::new();
    while let Some(chunk) = response.chunk().await.map_err(ReadError::Transport)? {
        if body.len() + chunk.len() > limit {
            return Err(ReadError::TooLarge);
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body)
}

/// Grafana uids are short and URL-safe; anything else would change the API path.
fn checked_uid(uid: &str) -> Result<&str, GrafanaError> {
    let ok = !uid.is_empty()
        && uid.len() <= 64
        && uid
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_' || b == b'.')
        && uid != "."
        && uid != "..";
    if ok {
        Ok(uid)
    } else {
        Err(GrafanaError::Config(format!(
            "`{}` is not a Grafana uid (letters, digits, - and _)",
            uid.chars().take(80).collect::<String>()
        )))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn uids_cannot_change_the_path() {
        assert!(checked_uid("rYdddlPWk").is_ok());
        assert!(checked_uid("a-b_c").is_ok());
        for bad in ["", "..", "a/b", "a?b", "a b", "%2e"] {
            assert!(checked_uid(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn debug_shows_no_token() {
        let client = Client::new(&GrafanaConfig::new(
            Url::parse("http://grafana:3000").unwrap(),
            Some(Secret::new("glsa_TOKEN")),
        ))
        .unwrap();
        let debug = format!("{client:?}");
        assert!(!debug.contains("glsa_TOKEN") && debug.contains("grafana:3000"));
    }
}
