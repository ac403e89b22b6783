//! CheckHealth ("Save & test") and CollectMetrics.

use grafana_plugin_sdk::backend;

use super::GreggPlugin;
use crate::{catalog, health, prometheus::Priority};

#[backend::async_trait]
impl backend::DiagnosticsService for GreggPlugin {
    type CheckHealthError = std::convert::Infallible;
    type CollectMetricsError = std::convert::Infallible;

    async fn check_health(
        &self,
        request: backend::CheckHealthRequest<Self>,
    ) -> Result<backend::CheckHealthResponse, Self::CheckHealthError> {
        let instance = self.state.instances.get(
            request.plugin_context.org_id,
            request.plugin_context.instance_settings.as_ref(),
        );
        let report = match instance {
            Ok(instance) => {
                // Health never waits behind analyses (see `Priority::Control`).
                health::check(
                    &instance.client.with_priority(Priority::Control),
                    catalog::builtin(),
                    &instance.settings.selector,
                )
                .await
            }
            Err(e) => health::HealthReport {
                status: health::Status::Error,
                message: e.to_string(),
                details: serde_json::json!({ "error": "settings", "message": e.to_string() }),
            },
        };
        self.state.telemetry.health_checked(match report.status {
            health::Status::Ok => "ok",
            health::Status::Error => "error",
        });
        tracing::info!(status = ?report.status, message = %report.message, "Health check finished.");
        let response = match report.status {
            health::Status::Ok => backend::CheckHealthResponse::ok(report.message),
            health::Status::Error => backend::CheckHealthResponse::error(report.message),
        };
        Ok(response.with_json_details(report.details))
    }

    async fn collect_metrics(
        &self,
        _request: backend::CollectMetricsRequest<Self>,
    ) -> Result<backend::CollectMetricsResponse, Self::CollectMetricsError> {
        Ok(backend::CollectMetricsResponse::new(Some(
            backend::MetricsPayload::prometheus(self.state.telemetry.encode()),
        )))
    }
}
