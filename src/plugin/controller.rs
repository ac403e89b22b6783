//! go-plugin's `plugin.GRPCController` service: lets Grafana stop the plugin cleanly.
//!
//! When Grafana (through hashicorp/go-plugin) kills a plugin, it first calls
//! `GRPCController.Shutdown` and waits two seconds for the process to exit, then kills it.
//! The Rust SDK does not implement the service, so every Rust plugin is force-killed and Grafana
//! logs "plugin failed to exit gracefully". This hand-written server (the service has one
//! method taking and returning an empty message, so no code generation is needed) turns the
//! call into a graceful shutdown.

use std::{
    convert::Infallible,
    sync::Arc,
    task::{Context, Poll},
};

use tokio::sync::Notify;
use tonic::{
    body::BoxBody,
    codec::ProstCodec,
    codegen::{http, Body, BoxFuture, Service, StdError},
    server::{Grpc, NamedService, UnaryService},
};

/// go-plugin's `plugin.Empty`.
#[derive(Clone, Copy, PartialEq, prost::Message)]
pub struct Empty {}

/// The `plugin.GRPCController` server; `Shutdown` notifies `shutdown`.
#[derive(Clone)]
pub struct ControllerServer {
    shutdown: Arc<Notify>,
}

impl ControllerServer {
    /// A server that signals `shutdown` when Grafana asks the plugin to stop.
    pub fn new(shutdown: Arc<Notify>) -> Self {
        Self { shutdown }
    }
}

impl NamedService for ControllerServer {
    const NAME: &'static str = "plugin.GRPCController";
}

struct ShutdownMethod(Arc<Notify>);

impl UnaryService<Empty> for ShutdownMethod {
    type Response = Empty;
    type Future = BoxFuture<tonic::Response<Empty>, tonic::Status>;

    fn call(&mut self, _request: tonic::Request<Empty>) -> Self::Future {
        let shutdown = self.0.clone();
        Box::pin(async move {
            tracing::info!("Grafana asked the plugin to shut down.");
            // A stored permit: the watcher sees it even if it is not waiting yet.
            shutdown.notify_one();
            Ok(tonic::Response::new(Empty {}))
        })
    }
}

impl<B> Service<http::Request<B>> for ControllerServer
where
    B: Body + Send + 'static,
    B::Error: Into<StdError> + Send + 'static,
{
    type Response = http::Response<BoxBody>;
    type Error = Infallible;
    type Future = BoxFuture<Self::Response, Self::Error>;

    fn poll_ready(&mut self, _cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, request: http::Request<B>) -> Self::Future {
        let shutdown = self.shutdown.clone();
        match request.uri().path() {
            "/plugin.GRPCController/Shutdown" => Box::pin(async move {
                let mut grpc = Grpc::new(ProstCodec::<Empty, Empty>::default());
                Ok(grpc.unary(ShutdownMethod(shutdown), request).await)
            }),
            _ => Box::pin(
                async move { Ok(tonic::Status::unimplemented("no such method").into_http()) },
            ),
        }
    }
}
