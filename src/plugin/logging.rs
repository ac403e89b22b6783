//! Logs in Grafana's hclog JSON on stderr.
//!
//! Style: `tracing` key/value fields plus a capitalised sentence ending in a period, e.g.
//! `info!(datasource = %uid, "Data source instance ready.")`. Never log settings, headers or
//! request bodies: secrets arrive decrypted in every request.
//!
//! The level comes from `GF_PLUGIN_GREGG_INSIGHTS_LOG_LEVEL` or `RUST_LOG` (default `info`).
//! Whatever they say, the SDK's own request spans stay at `info`: at `debug` they would record
//! whole gRPC requests, decrypted secrets included.

use tracing_subscriber::{prelude::*, EnvFilter};

/// Install the hclog JSON subscriber. Call once, after the handshake line is printed.
pub fn init() {
    let directive = std::env::var("GF_PLUGIN_GREGG_INSIGHTS_LOG_LEVEL")
        .or_else(|_| std::env::var("RUST_LOG"))
        .unwrap_or_else(|_| "info".to_string());
    let mut filter = EnvFilter::try_new(&directive).unwrap_or_else(|_| EnvFilter::new("info"));
    for quiet in [
        "grafana_plugin_sdk=info",
        "tonic=info",
        "h2=warn",
        "hyper=warn",
        "hyper_util=warn",
        "reqwest=info",
        "rustls=warn",
    ] {
        if let Ok(d) = quiet.parse() {
            filter = filter.add_directive(d);
        }
    }
    let _ = tracing_subscriber::registry()
        .with(grafana_plugin_sdk::backend::layer())
        .with(filter)
        .try_init();
}
