//! Gregg Insights: Brendan Gregg's performance methodologies over Prometheus metrics.
//!
//! ```text
//!  Prometheus ─► prometheus (HTTP client) ─► samples (time grid, recording client)
//!                                              │
//!  catalog (declarative checks) ─► engine (USE) · methods (workload, drill-down, latency,
//!                                  outliers) · dashboard (panels)   — siblings
//!                                              │
//!                        analysis (the pipeline: plan → judged → diagnosis → methods)
//!                                              │
//!                                  Analysis, the report model
//!                                              │
//!          report (text, Markdown, JSON) · frames (Grafana) · plugin · MCP server · CLI
//! ```
//!
//! Data flows one way, and the layers are a rule, not a wish: `docs/ARCHITECTURE.md` lists
//! them (`## Layers`) and the `architecture` integration test fails on any import that points
//! up that order, on imports between siblings, and on cycles between a module's submodules.
//! The plugin (`plugin`, binary `gpx_gregg_insights`) and the CLI (binary `gregg-insights`)
//! are thin shells over the same [`analysis`] and [`health`] code.

pub mod analysis;
pub mod catalog;
pub mod dashboard;
pub mod echo;
pub mod engine;
pub mod frames;
pub mod grafana;
pub mod health;
pub mod insight;
pub mod inventory;
pub mod mcp;
pub mod methods;
pub mod plugin;
pub mod prometheus;
pub mod promql;
pub mod report;
pub mod request;
pub mod rules;
pub mod samples;
pub mod secret;
pub mod settings;
pub mod stats;
pub mod transport;
