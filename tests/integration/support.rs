//! Helpers shared by the integration tests.

use std::future::Future;

use chrono::{DateTime, TimeZone, Utc};
use gregg_insights::prometheus::{Client, ClientConfig};
use gregg_testkit::{scenarios::Scenario, Prometheus};
use url::Url;

/// Run a future to completion on a fresh runtime (fixtures start outside async code).
pub fn block_on<F: Future>(future: F) -> F::Output {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("tokio runtime")
        .block_on(future)
}

/// A client with default settings for `url`.
pub fn client(url: &str) -> Client {
    Client::new(
        &ClientConfig::new(Url::parse(url).expect("valid URL")),
        None,
    )
    .expect("client")
}

/// A client built from a config adjusted by `f`.
pub fn client_with(url: &str, f: impl FnOnce(&mut ClientConfig)) -> Client {
    let mut config = ClientConfig::new(Url::parse(url).expect("valid URL"));
    f(&mut config);
    Client::new(&config, None).expect("client")
}

/// A Prometheus serving `scenario`.
pub fn serve(scenario: &Scenario) -> Prometheus {
    scenario.serve()
}

/// The default analysis of a scenario: 10 minutes ending at its evaluation time.
pub fn request(scenario: &Scenario) -> gregg_insights::analysis::AnalysisRequest {
    use gregg_insights::methods::{group_label, HistogramRequest, Slo};
    let mut request = gregg_insights::analysis::AnalysisRequest::new(
        at(scenario),
        std::time::Duration::from_secs(600),
        gregg_insights::promql::Selector::empty(),
    );
    let slo = scenario.slo.map(|s| Slo::parse(s).expect("scenario SLO"));
    request.methods.histogram = scenario
        .histogram
        .map(|h| HistogramRequest::parse(h, slo).expect("scenario histogram"));
    if let Some(label) = scenario.group_by {
        request.methods.group_by = group_label(label).expect("scenario group label");
    }
    request
}

/// The scenario's evaluation time.
pub fn at(scenario: &Scenario) -> DateTime<Utc> {
    Utc.timestamp_opt(scenario.at, 0)
        .single()
        .expect("valid time")
}

/// A URL where nothing listens.
pub fn dead_url() -> String {
    format!("http://{}", gregg_testkit::prometheus::free_port())
}
