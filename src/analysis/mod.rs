//! The analysis: the stages of Gregg's methods run as values, one function each.
//!
//! ```text
//!  AnalysisRequest
//!     └─► plan      which checks, the selection's instances, the scrape interval → time grid
//!          ├─► judged     USE checks executed and judged (engine), inventory details beside
//!          │    └─► diagnosis  bottlenecks, severities, narrative, coverage (engine)
//!          │         └─► methods after USE: drill-down, outliers (methods)
//!          ├─► methods beside USE: workload and latency (methods), in the background queue
//!          └─► report model  (`Analysis`): what frames, reports and agents read
//! ```
//!
//! [`analyze`] is the single entry point shared by the plugin and the CLI; [`dashboard`] runs
//! a Grafana dashboard's panels and ties them to the USE method through the same pipeline.

pub mod dashboard;
mod model;
mod plan;
mod recorded;
mod request;
mod stages;

use std::time::Instant;

pub use model::{Analysis, AnalysisError, DashboardHeader};
pub use request::AnalysisRequest;

use crate::{catalog::Catalog, prometheus::Client};

/// Run the analysis described by `request`.
pub async fn analyze(
    client: &Client,
    catalog: &Catalog,
    request: &AnalysisRequest,
) -> Result<Analysis, AnalysisError> {
    let started = Instant::now();
    let plan = plan::plan(client, catalog, request).await?;
    let (after_use, beside_use) = stages::use_and_methods(client, catalog, request, &plan).await;
    let after_use = after_use?;
    Ok(model::assemble(
        client, request, plan, after_use, beside_use, started,
    ))
}
