//! The Prometheus HTTP API client: the only code that talks to Prometheus.
//!
//! It knows nothing about checks, insights or Grafana: it sends PromQL and returns typed samples,
//! or a [`PrometheusError`] that says what went wrong and what to do about it.

mod client;
mod config;
pub mod decode;
mod engine;
mod error;
mod limiter;
mod range_cache;
mod response;
mod stream;

pub use client::{Client, Fetched, QueryRange, RequestObserver};
pub use config::{
    reserved_header, Auth, ClientConfig, QueryMethod, TlsOptions, DEFAULT_MAX_CONCURRENT_REQUESTS,
    DEFAULT_MAX_RESPONSE_BYTES, DEFAULT_TIMEOUT, RESERVED_HEADERS,
};
pub use engine::{Engine, ServerInfo};
pub use error::{ApiErrorKind, PrometheusError, SizeRefusal};
pub use limiter::Priority;
pub use range_cache::{RangeCache, RangeCacheObserver};
pub use response::{Answer, BuildInfo, InstantValue, Labels, RuntimeInfo, Sample, Series};
