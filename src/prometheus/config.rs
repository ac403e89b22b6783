//! How to reach one Prometheus: URL, authentication, TLS, headers and limits.
//!
//! Built by the plugin from the data source settings and by the CLI from its flags, so both
//! reach Prometheus in exactly the same way.

use std::time::Duration;

use url::Url;

use crate::secret::Secret;

/// Default time to wait for one Prometheus request, body included (Grafana's data proxy default).
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(30);
/// Default number of requests in flight to one Prometheus at once.
pub const DEFAULT_MAX_CONCURRENT_REQUESTS: usize = 8;
/// Default cap on one response body. Analysis queries aggregate per instance, so even fleets of
/// 10,000 hosts answer in a few MiB; anything far larger is a mistake we refuse to buffer.
pub const DEFAULT_MAX_RESPONSE_BYTES: usize = 64 * 1024 * 1024;

/// Credentials sent with every request.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub enum Auth {
    /// No `Authorization` header.
    #[default]
    None,
    /// HTTP basic authentication.
    Basic {
        /// User name (not secret, shown in settings).
        user: String,
        /// Password.
        password: Secret,
    },
    /// `Authorization: Bearer <token>`.
    Bearer(Secret),
}

/// TLS options; verification is on unless explicitly skipped.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct TlsOptions {
    /// Accept any server certificate. For testing only.
    pub skip_verify: bool,
    /// PEM CA certificate(s). When set, only these CAs are trusted (as Grafana does).
    pub ca_cert_pem: Option<String>,
    /// PEM client certificate for mutual TLS (needs `client_key_pem`).
    pub client_cert_pem: Option<String>,
    /// PEM private key of the client certificate.
    pub client_key_pem: Option<Secret>,
}

/// Which HTTP method carries queries. POST avoids URL length limits on long PromQL.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum QueryMethod {
    /// Form-encoded POST (Grafana's default for Prometheus).
    #[default]
    Post,
    /// Query string on GET, for proxies that refuse POST.
    Get,
}

/// Everything needed to build a [`Client`](super::Client).
///
/// `Debug` is written by hand: the URL may carry credentials (`http://user:pw@host`), and
/// `Url`'s own `Debug` shows the password.
#[derive(Clone, PartialEq, Eq)]
pub struct ClientConfig {
    /// Prometheus base URL, including any path prefix (`https://host/prometheus`).
    pub url: Url,
    /// Credentials.
    pub auth: Auth,
    /// TLS options.
    pub tls: TlsOptions,
    /// Extra headers (`X-Scope-OrgID` and the like); values may be secret.
    pub headers: Vec<(String, Secret)>,
    /// Deadline for one request, body included.
    pub timeout: Duration,
    /// Requests in flight at once; more wait their turn.
    pub max_concurrent_requests: usize,
    /// Largest response body read; larger ones fail with `TooLarge` before being buffered.
    pub max_response_bytes: usize,
    /// HTTP method for queries.
    pub query_method: QueryMethod,
}

impl std::fmt::Debug for ClientConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ClientConfig")
            .field("url", &crate::transport::display_url(&self.url))
            .field("auth", &self.auth)
            .field("tls", &self.tls)
            .field("headers", &self.headers)
            .field("timeout", &self.timeout)
            .field("max_concurrent_requests", &self.max_concurrent_requests)
            .field("max_response_bytes", &self.max_response_bytes)
            .field("query_method", &self.query_method)
            .finish()
    }
}

impl ClientConfig {
    /// Defaults for everything but the URL.
    pub fn new(url: Url) -> Self {
        Self {
            url,
            auth: Auth::None,
            tls: TlsOptions::default(),
            headers: Vec::new(),
            timeout: DEFAULT_TIMEOUT,
            max_concurrent_requests: DEFAULT_MAX_CONCURRENT_REQUESTS,
            max_response_bytes: DEFAULT_MAX_RESPONSE_BYTES,
            query_method: QueryMethod::Post,
        }
    }
}

/// Headers that frame or route the HTTP exchange, refused as custom headers as Grafana's own
/// data sources refuse them: sent as given they desync the exchange (two lengths, a chunked
/// body that is not) or send it elsewhere. The client sets them itself.
pub const RESERVED_HEADERS: &[&str] = &[
    "Host",
    "Content-Length",
    "Transfer-Encoding",
    "Content-Type",
    "Content-Encoding",
    "Connection",
    "Keep-Alive",
    "Proxy-Connection",
    "Proxy-Authorization",
    "TE",
    "Trailer",
    "Upgrade",
    "Expect",
];

/// Why `name` cannot be a custom header, if it is one of [`RESERVED_HEADERS`].
pub fn reserved_header(name: &str) -> Option<String> {
    let name = name.trim();
    RESERVED_HEADERS
        .iter()
        .find(|r| r.eq_ignore_ascii_case(name))
        .map(|reserved| {
            format!(
                "`{reserved}` cannot be a custom header: it frames or routes the HTTP exchange, which the client sets itself (refused: {})",
                RESERVED_HEADERS.join(", ")
            )
        })
}
