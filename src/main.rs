//! `gpx_gregg_insights`: the Grafana backend plugin binary.
//!
//! Grafana starts it, reads the go-plugin handshake line from stdout, and talks gRPC. Nothing
//! may be printed to stdout before that line, so the handshake comes first and logging is set
//! up after it (logs go to stderr as hclog JSON).

use std::process::ExitCode;

use gregg_insights::plugin::{logging, memory, server, GreggPlugin};

pub fn main() -> ExitCode {
    memory::keep_large_allocations_mapped();
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .thread_name("gregg-insights")
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("cannot start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    runtime.block_on(async {
        // Binds 127.0.0.1:0 and prints `1|2|tcp|127.0.0.1:<port>|grpc`.
        let listener = match grafana_plugin_sdk::backend::initialize().await {
            Ok(l) => l,
            Err(e) => {
                eprintln!("cannot open the plugin's gRPC port: {e}");
                return ExitCode::FAILURE;
            }
        };
        logging::init();
        tracing::info!(
            version = env!("CARGO_PKG_VERSION"),
            "Gregg Insights plugin started."
        );
        match server::serve(listener, GreggPlugin::new()).await {
            Ok(()) => ExitCode::SUCCESS,
            Err(e) => {
                tracing::error!(error = %e, "The plugin's gRPC server failed.");
                ExitCode::FAILURE
            }
        }
    })
}
