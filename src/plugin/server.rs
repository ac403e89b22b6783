//! The gRPC server Grafana talks to, and a shutdown that never hangs.
//!
//! Built by hand rather than with the SDK's `Plugin::start` so that we can (1) put the lenient
//! services in front of the SDK's, (2) add go-plugin's controller service for graceful
//! shutdown, (3) mark the go-plugin `plugin` health service as serving, (4) accept request
//! bodies above tonic's 4 MiB default, and (5) send QueryData's frames without the copy
//! tonic's encoder makes ([`super::grpc_data`]).

use std::{sync::Arc, time::Duration};

use grafana_plugin_sdk::pluginv2::{
    diagnostics_server::DiagnosticsServer, resource_server::ResourceServer,
};
use tokio::{net::TcpListener, sync::Notify};
use tonic::transport::server::TcpIncoming;
use tonic_health::ServingStatus;

use super::{
    controller::ControllerServer,
    grpc_data::{DataService, MAX_REQUEST_BYTES},
    lenient::{LenientData, LenientDiagnostics, LenientResource},
    GreggPlugin,
};

/// How long in-flight requests get to finish once shutdown is requested.
const SHUTDOWN_GRACE: Duration = Duration::from_millis(1500);

/// Serve `plugin` on `listener` until Grafana, SIGTERM or Ctrl-C stops it.
pub async fn serve(listener: TcpListener, plugin: GreggPlugin) -> Result<(), ServeError> {
    let shutdown = Arc::new(Notify::new());
    let controller = shutdown.clone();
    let (mut reporter, health_service) = tonic_health::server::health_reporter();
    reporter
        .set_serving::<DiagnosticsServer<LenientDiagnostics>>()
        .await;
    reporter.set_serving::<DataService>().await;
    reporter
        .set_serving::<ResourceServer<LenientResource>>()
        .await;
    reporter
        .set_service_status("plugin", ServingStatus::Serving)
        .await;

    // One watcher turns any stop request into a flag both the server and the deadline see.
    let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
    tokio::spawn(async move {
        stop_requested(shutdown).await;
        let _ = stop_tx.send(true);
    });
    let stopped = |mut rx: tokio::sync::watch::Receiver<bool>| async move {
        let _ = rx.wait_for(|stop| *stop).await;
    };

    // TCP_NODELAY: a gRPC answer is several small writes (headers, data, trailers); with Nagle's
    // algorithm and the client's delayed ACKs, every other call would stall for 40 ms.
    let incoming = TcpIncoming::from_listener(listener, true, None)
        .map_err(|e| ServeError::Listener(e.to_string()))?;

    let server = tonic::transport::Server::builder()
        .add_service(health_service)
        .add_service(DiagnosticsServer::new(LenientDiagnostics(plugin.clone())))
        // QueryData's answer is sent without re-encoding its frames (not `DataServer`).
        .add_service(DataService(LenientData(plugin.clone())))
        .add_service(
            ResourceServer::new(LenientResource(plugin))
                .max_decoding_message_size(MAX_REQUEST_BYTES),
        )
        .add_service(ControllerServer::new(controller))
        .serve_with_incoming_shutdown(incoming, stopped(stop_rx.clone()));

    tokio::select! {
        result = server => result.map_err(ServeError::from),
        // Graceful shutdown waits for open connections; Grafana may keep one open, so give
        // in-flight work a moment and then return regardless.
        _ = async { stopped(stop_rx).await; tokio::time::sleep(SHUTDOWN_GRACE).await } => Ok(()),
    }
}

/// Why the server stopped other than by request.
#[derive(Debug, thiserror::Error)]
pub enum ServeError {
    /// The listening socket could not be configured.
    #[error("cannot use the plugin's listening socket: {0}")]
    Listener(String),
    /// The gRPC server failed.
    #[error(transparent)]
    Transport(#[from] tonic::transport::Error),
}

/// Resolves when Grafana's Shutdown call, SIGTERM or SIGINT arrives.
async fn stop_requested(shutdown: Arc<Notify>) {
    let terminate = async {
        #[cfg(unix)]
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
        #[cfg(not(unix))]
        std::future::pending::<()>().await
    };
    tokio::select! {
        _ = shutdown.notified() => {}
        _ = tokio::signal::ctrl_c() => {}
        _ = terminate => {}
    }
    tracing::info!("Shutting down.");
}
