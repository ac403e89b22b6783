//! The layer under everything that analyses: what a query is asked over (the time grid), how
//! it is sent and recorded (the recording client), and compact per-instance values.
//!
//! ```text
//!  prometheus::Client ──► Recorder ──► samples / series, and for each query one ExecutedQuery
//!                           │           (what, kind, series, time) in the caller's QueryLog,
//!                           └─────────► failures and Prometheus warnings as notices
//! ```
//!
//! Every stage above (the USE engine, the other methods, the dashboard reader, the inventory)
//! queries Prometheus through a [`Recorder`], so every query is recorded exactly once and the
//! query inspector, benchmarks and notices see the same list.

mod groups;
mod peer_values;
mod record;
mod recorder;
mod refusals;
mod split;
mod timing;

pub use groups::{estimated_samples, DEFAULT_SAMPLE_BUDGET, LOOKBACK_SAMPLES, MAX_PARTS};
pub use peer_values::{widen, PeerColumn, PeerValues};
pub use record::{ExecutedQuery, QueryKind, QueryLog};
pub use recorder::{Over, Recorder};
pub use refusals::refusal_notices;
pub use split::{fold_in_groups, Coverage, GroupedQuery, QueryText};
pub use timing::{after, before, steps, Timing, ASSUMED_SCRAPE_INTERVAL, MAX_RANGE_POINTS};
