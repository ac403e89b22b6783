//! Streamable HTTP: the MCP endpoint at `/mcp`. Loopback by default; any other address needs a
//! bearer token (read from a file, never from the command line), checked on every request
//! before the MCP service sees it. The token is never logged nor echoed in an answer.

use std::{net::SocketAddr, sync::Arc};

use axum::{
    extract::{Request, State},
    http::{header, StatusCode},
    middleware::{self, Next},
    response::{IntoResponse, Response},
    Router,
};
use rmcp::transport::streamable_http_server::{
    session::local::LocalSessionManager, StreamableHttpServerConfig, StreamableHttpService,
};
use thiserror::Error;

use super::server::GreggServer;
use crate::secret::Secret;

/// Why the HTTP server could not start or stopped.
#[derive(Debug, Error)]
pub enum HttpError {
    /// A non-loopback address without a token.
    #[error("--listen {0} is not a loopback address: give --listen-token-file FILE (a bearer token clients must send)")]
    TokenRequired(SocketAddr),
    /// The address could not be bound.
    #[error("cannot listen on {addr}")]
    Bind {
        /// The address.
        addr: SocketAddr,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// The server stopped with an error.
    #[error("the HTTP server stopped")]
    Serve(#[source] std::io::Error),
}

/// Serve `server` on `addr` until the process ends.
pub async fn serve(
    server: GreggServer,
    addr: SocketAddr,
    token: Option<Secret>,
) -> Result<(), HttpError> {
    if !addr.ip().is_loopback() && token.is_none() {
        return Err(HttpError::TokenRequired(addr));
    }
    let mut config = StreamableHttpServerConfig::default().with_sse_keep_alive(None);
    if !addr.ip().is_loopback() {
        // rmcp accepts loopback Host headers only (DNS rebinding); elsewhere the token guards.
        config = config.disable_allowed_hosts();
    }
    let service = StreamableHttpService::new(
        move || Ok(server.clone()),
        Arc::new(LocalSessionManager::default()),
        config,
    );
    let mut router = Router::new().nest_service("/mcp", service);
    if let Some(token) = token {
        router = router.layer(middleware::from_fn_with_state(Arc::new(token), bearer));
    }
    let listener = tokio::net::TcpListener::bind(addr)
        .await
        .map_err(|source| HttpError::Bind { addr, source })?;
    let bound = listener.local_addr().unwrap_or(addr);
    eprintln!("gregg-insights mcp: listening on http://{bound}/mcp");
    axum::serve(listener, router)
        .await
        .map_err(HttpError::Serve)
}

/// Let a request through only with `Authorization: Bearer <token>`.
async fn bearer(State(token): State<Arc<Secret>>, request: Request, next: Next) -> Response {
    let given = request
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "));
    match given {
        Some(given) if constant_time_eq(given.as_bytes(), token.expose().as_bytes()) => {
            next.run(request).await
        }
        _ => (
            StatusCode::UNAUTHORIZED,
            [(header::WWW_AUTHENTICATE, "Bearer")],
            "a bearer token is required\n",
        )
            .into_response(),
    }
}

/// Compare without returning early, so the time taken does not tell how much matched.
fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_compare_whole() {
        assert!(constant_time_eq(b"abc", b"abc"));
        assert!(!constant_time_eq(b"abc", b"abd"));
        assert!(!constant_time_eq(b"abc", b"abcd"));
    }
}
