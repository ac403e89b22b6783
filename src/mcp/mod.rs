//! `gregg-insights mcp`: the analyses as a Model Context Protocol server, for assistants and
//! agent teams (AutoGen's `McpWorkbench`, desktop assistants). Built on the official Rust SDK
//! (`rmcp`); stdio by default, streamable HTTP with `--listen`.
//!
//! It is a shell like the CLI: arguments are parsed by [`crate::request`] (same names and
//! messages as a panel query), the same [`crate::analysis`], [`crate::health`] and inventory
//! calls run, answers are the insight model cut to fit a model's context.
//!
//! | File | Job |
//! |---|---|
//! | `tools` | the tools' names, descriptions and JSON schemas (also `docs/mcp.md`) |
//! | `calls` | each tool's work: arguments → request → analysis → answer |
//! | `answer` | answers sized for a model: summary first, insights up to a limit, notes on cuts |
//! | `explain` | the catalog told: one check's rule and thresholds, the list, the resource |
//! | `prompts` | the USE sweep and "investigate this host" |
//! | `server` | the MCP handler: tools, resources, prompts |
//! | `http` | streamable HTTP with the bearer token rule |
//! | `error` | [`ToolError`]: what a call can fail with |

mod answer;
mod calls;
mod error;
mod explain;
mod http;
mod prompts;
mod server;
pub mod tools;

use std::{net::SocketAddr, sync::Arc};

pub use error::ToolError;
pub use http::HttpError;
use rmcp::ServiceExt;
pub use server::GreggServer;
use thiserror::Error;

use crate::{grafana, prometheus, promql::Selector, secret::Secret};

/// What the server connects to, from the same flags as `analyze` (and `dashboard`'s Grafana).
pub struct Config {
    /// Prometheus.
    pub prometheus: prometheus::ClientConfig,
    /// The targets analysed.
    pub selector: Selector,
    /// Grafana, for `analyze_dashboard`.
    pub grafana: Option<grafana::GrafanaConfig>,
}

/// Why the server could not run.
#[derive(Debug, Error)]
pub enum ServeError {
    /// The Prometheus client could not be built.
    #[error("the Prometheus client")]
    Prometheus(#[source] prometheus::PrometheusError),
    /// The Grafana client could not be built.
    #[error("the Grafana client")]
    Grafana(#[source] grafana::GrafanaError),
    /// The stdio session failed to start.
    #[error("the MCP session on stdio")]
    Stdio(#[source] Box<dyn std::error::Error + Send + Sync>),
    /// Streamable HTTP.
    #[error(transparent)]
    Http(#[from] HttpError),
}

impl Config {
    /// The handler this configuration describes.
    pub fn server(self) -> Result<GreggServer, ServeError> {
        let prometheus =
            prometheus::Client::new(&self.prometheus, None).map_err(ServeError::Prometheus)?;
        let grafana = self
            .grafana
            .as_ref()
            .map(grafana::Client::new)
            .transpose()
            .map_err(ServeError::Grafana)?;
        Ok(GreggServer::new(Arc::new(calls::State {
            prometheus,
            grafana,
            selector: self.selector,
            last_report: Default::default(),
        })))
    }
}

/// Serve on stdin/stdout until the client closes them.
pub async fn serve_stdio(config: Config) -> Result<(), ServeError> {
    let running = config
        .server()?
        .serve(rmcp::transport::stdio())
        .await
        .map_err(|e| ServeError::Stdio(Box::new(e)))?;
    running
        .waiting()
        .await
        .map_err(|e| ServeError::Stdio(Box::new(e)))?;
    Ok(())
}

/// Serve streamable HTTP on `addr` (`/mcp`); `token` is required off loopback.
pub async fn serve_http(
    config: Config,
    addr: SocketAddr,
    token: Option<Secret>,
) -> Result<(), ServeError> {
    Ok(http::serve(config.server()?, addr, token).await?)
}
