//! Gregg Insights: Brendan Gregg's performance methodologies over Prometheus metrics.
//!
//! ```text
//!  Prometheus ──► prometheus (HTTP client) ──► samples
//!                                               │
//!  catalog (declarative checks) ──► engine ─────┘──► insights ──► frames  (Grafana plugin)
//!                                                            └──► report  (CLI, report panel)
//! ```
//!
//! Data flows one way. `prometheus` and `catalog` know nothing of each other; `engine` joins
//! them; `insight` depends on nothing; `frames` and `report` only render. The plugin
//! (`plugin`, binary `gpx_gregg_insights`) and the CLI (binary `gregg-insights`) are thin
//! shells over the same [`engine`] and [`health`] code.

pub mod catalog;
pub mod dashboard;
pub mod engine;
pub mod frames;
pub mod grafana;
pub mod health;
pub mod insight;
pub mod inventory;
pub mod methods;
pub mod plugin;
pub mod prometheus;
pub mod promql;
pub mod report;
pub mod request;
pub mod secret;
pub mod settings;
