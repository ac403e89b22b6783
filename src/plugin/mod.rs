//! The Grafana backend plugin: the only code that uses the Grafana SDK's services.
//!
//! `GreggPlugin` implements the SDK's Data, Diagnostics and Resource services on top of the
//! same engine the CLI uses. What a query or a resource call asks for is read by
//! [`crate::request`], its frames built by [`crate::frames`]: this module is the SDK's glue.
//! `lenient` screens what Grafana sends before the SDK converts it, and `server` wires
//! everything into the gRPC server Grafana launches.

pub mod admission;
pub mod answer;
pub mod cache;
pub mod controller;
pub mod data;
pub mod deadline;
pub mod diagnostics;
#[cfg(feature = "fault-hooks")]
pub mod fault_hooks;
pub mod grpc_data;
pub mod instances;
pub mod isolate;
pub mod lenient;
pub mod logging;
pub mod memory;
pub mod resource;
pub mod responses;
pub mod server;
pub mod telemetry;

use std::sync::Arc;

use grafana_plugin_sdk::backend;

use self::{
    instances::{Instances, SecureFields},
    telemetry::Telemetry,
};

/// The plugin's services. Cheap to clone: every clone shares one state.
#[derive(Clone)]
pub struct GreggPlugin {
    state: Arc<State>,
}

struct State {
    instances: Instances,
    telemetry: Arc<Telemetry>,
    /// Analyses shared by the queries of one dashboard refresh.
    analyses: cache::Cache<
        crate::request::AnalysisKey,
        crate::analysis::Analysis,
        crate::request::Failure,
    >,
    /// Dashboard analyses shared by the `dashboard` queries of one refresh and the report
    /// resource, like analyses.
    dashboards: cache::Cache<
        crate::request::DashboardKey,
        crate::analysis::dashboard::DashboardAnalysis,
        crate::request::Failure,
    >,
    /// Encoded answers of the queries a refresh repeats.
    responses: responses::Responses,
    /// The bound on analyses in progress per data source.
    admissions: admission::Admissions,
}

impl GreggPlugin {
    /// A plugin with an empty instance cache and fresh metrics.
    pub fn new() -> Self {
        let telemetry = Arc::new(Telemetry::new());
        Self {
            state: Arc::new(State {
                instances: Instances::new(telemetry.clone()),
                admissions: admission::Admissions::new(telemetry.clone()),
                telemetry,
                analyses: cache::Cache::new(),
                dashboards: cache::Cache::new(),
                responses: responses::Responses::default(),
            }),
        }
    }
}

impl GreggPlugin {
    /// A place for one analysis on `instance`'s data source (see [`admission`]), or the busy
    /// failure (429) to answer at once.
    pub(crate) async fn admit(
        &self,
        instance: &instances::Instance,
    ) -> Result<admission::Admitted, crate::request::Failure> {
        self.state
            .admissions
            .admit(
                &instance.scoped_uid(),
                deadline::current().map(|d| d.remaining()),
            )
            .await
            .map_err(|busy| crate::request::Failure {
                status: crate::request::Status::Busy,
                message: busy.to_string(),
            })
    }
}

/// How long after an entry's TTL [`GreggPlugin::expire_caches_later`] drops it: enough for the
/// encoded answers, kept a few milliseconds after their analysis was ready.
const EXPIRY_MARGIN: std::time::Duration = std::time::Duration::from_secs(1);

impl GreggPlugin {
    /// Once the cache entries made by now are past their TTL, drop them and hand their memory
    /// back. The caches drop expired entries only when next used, so a dashboard's last
    /// analysis (its result, its encoded answers, its range answers: some 15 MiB at 10,000
    /// hosts) stayed resident through the whole next analysis, or for as long as the plugin
    /// was not asked anything. Called when an analysis was computed or an answer kept.
    pub(crate) fn expire_caches_later(&self) {
        let Ok(runtime) = tokio::runtime::Handle::try_current() else {
            return;
        };
        let plugin = self.clone();
        runtime.spawn(async move {
            tokio::time::sleep(cache::TTL + EXPIRY_MARGIN).await;
            let state = &plugin.state;
            state.analyses.expire();
            state.dashboards.expire();
            state.responses.expire();
            state.instances.expire_ranges();
            memory::release_freed_soon();
        });
    }
}

impl Default for GreggPlugin {
    fn default() -> Self {
        Self::new()
    }
}

impl backend::GrafanaPlugin for GreggPlugin {
    type PluginType = backend::DataSourcePlugin<Self::JsonData, Self::SecureJsonData>;
    // Both are parsed by `settings`, not by the SDK, so one wrong field gives a message that
    // names it instead of failing every request.
    type JsonData = serde_json::Value;
    type SecureJsonData = SecureFields;
}
