//! Integration tests: the library and the CLI against real Prometheus and node_exporter
//! processes started by `gregg-testkit` on loopback ports, plus a deliberately broken HTTP
//! server for faults. Nothing is mocked.

mod analysis;
mod architecture;
mod cli;
mod client;
mod containers;
mod dashboard;
mod engines;
mod limits;
mod limits_split;
mod live;
mod methods;
mod rules;
mod scenarios;
mod stale;
mod support;
