//! The stages after the plan: the USE method (judged → diagnosis) followed by the methods that
//! need its findings (drill-down, outliers), and beside it the methods that do not (workload,
//! latency), which keep Prometheus' concurrency bound busy while the checks' chains (guards,
//! fallbacks, evidence) wait on each other.

use tokio::sync::oneshot;

use crate::{
    catalog::Catalog,
    engine::{self, Diagnosis},
    insight::{Insight, Methodology, Severity},
    inventory::{self, Inventory},
    methods::{self, drilldown, latency, outliers, workload, Method},
    prometheus::{Client, Priority},
    samples::Recorder,
};

use super::{plan::Plan, AnalysisError, AnalysisRequest};

/// What the USE method and the methods that follow it (drill-down, outliers) produced.
pub(super) struct AfterUse {
    /// What Prometheus offers.
    pub inventory: Inventory,
    /// The USE diagnosis, its insights enriched by drill-down and outliers; its log holds
    /// the queries of quality, inventory details, checks, drill-down and outliers, in order.
    pub diagnosis: Diagnosis,
}

/// What the methods beside USE produced.
#[derive(Default)]
pub(super) struct BesideUse {
    /// Workload measures, window against baseline.
    pub workload: Vec<workload::MeasureSummary>,
    /// The histogram analysed, when one was asked for.
    pub latency: Option<latency::HistogramSummary>,
    /// Their insights and queries: workload's first, then latency's.
    pub outputs: Vec<methods::Output>,
}

/// Run the USE chain and the methods beside it together.
pub(super) async fn use_and_methods(
    client: &Client,
    catalog: &Catalog,
    request: &AnalysisRequest,
    plan: &Plan,
) -> (Result<AfterUse, AnalysisError>, BesideUse) {
    let background = client.with_priority(Priority::Background);
    let (findings_tx, findings_rx) = oneshot::channel::<Vec<Insight>>();
    tokio::join!(
        use_method(client, &background, catalog, request, plan, findings_tx),
        beside_use(&background, catalog, request, plan, findings_rx),
    )
}

/// Judged → diagnosis → drill-down and outliers.
async fn use_method(
    client: &Client,
    background: &Client,
    catalog: &Catalog,
    request: &AnalysisRequest,
    plan: &Plan,
    findings_tx: oneshot::Sender<Vec<Insight>>,
) -> Result<AfterUse, AnalysisError> {
    let recorder = Recorder::new(client);
    let use_plan = &plan.use_plan;
    let instances = &plan.basics.instances;
    let (judged, details) = tokio::join!(
        engine::judge(&recorder, catalog, use_plan),
        inventory::details(
            background,
            catalog,
            &request.selector,
            request.at,
            inventory::Reach {
                instances,
                budget: request.query_sample_budget,
            },
        ),
    );
    let mut details = details?;
    let mut judged = judged;
    judged.record_beside(std::mem::take(&mut details.log));
    let inventory = Inventory::of(&plan.basics, details);
    let mut diagnosis = engine::diagnose(catalog, judged, &inventory, use_plan)?;
    // The workload method may have stopped listening (nothing to compare): that is fine.
    let _ = findings_tx.send(use_findings(&diagnosis.insights));
    after_use(&recorder, catalog, request, plan, &mut diagnosis).await;
    Ok(AfterUse {
        inventory,
        diagnosis,
    })
}

/// The USE findings the workload method judges its changes against.
fn use_findings(insights: &[Insight]) -> Vec<Insight> {
    insights
        .iter()
        .filter(|i| i.methodology == Methodology::UseMethod && i.severity >= Severity::Medium)
        .cloned()
        .collect()
}

/// What needs only the USE results: drill-down enriches the findings in place; outliers
/// compare each peer check's values across peers and join the finding of their host.
async fn after_use(
    recorder: &Recorder<'_>,
    catalog: &Catalog,
    request: &AnalysisRequest,
    plan: &Plan,
    diagnosis: &mut Diagnosis,
) {
    let m = &request.methods;
    let ctx = context(recorder, catalog, request, plan);
    let insights = &mut diagnosis.insights;
    let peer_values = &diagnosis.peer_values;
    let (drilled, peers) = tokio::join!(
        async {
            match m.runs(Method::Drilldown) {
                true => drilldown::attach(&ctx, insights).await,
                false => methods::Output::default(),
            }
        },
        async {
            match m.runs(Method::Outliers) {
                true => outliers::run(&ctx, peer_values, &m.group_by).await,
                false => methods::Output::default(),
            }
        },
    );
    diagnosis.peer_values = Default::default();
    if !m.runs(Method::Use) && !m.runs(Method::Drilldown) {
        // The checks ran only as the outlier method's peers: their findings informed the
        // workload method's severity, but USE was not asked for, so they are not reported.
        diagnosis.withhold_findings();
    }
    let mut peers = peers;
    peers.insights = outliers::merge(&mut diagnosis.insights, std::mem::take(&mut peers.insights));
    for output in [drilled, peers] {
        diagnosis.insights.extend(output.insights);
        diagnosis.log.extend(output.log);
    }
}

/// Workload and latency, at background priority.
async fn beside_use(
    background: &Client,
    catalog: &Catalog,
    request: &AnalysisRequest,
    plan: &Plan,
    findings_rx: oneshot::Receiver<Vec<Insight>>,
) -> BesideUse {
    let m = &request.methods;
    let recorder = Recorder::new(background);
    let ctx = context(&recorder, catalog, request, plan);
    let measures: Vec<_> = catalog
        .measures()
        .iter()
        .filter(|x| match x.methodology {
            Methodology::WorkloadCharacterization => m.runs(Method::Workload),
            Methodology::LatencyAnalysis => m.runs(Method::Latency),
            _ => false,
        })
        .collect();
    let ((measured, workload), (histogram, latency)) = tokio::join!(
        async {
            if measures.is_empty() {
                return (methods::Output::default(), Vec::new());
            }
            let findings = async { findings_rx.await.unwrap_or_default() };
            workload::run(&ctx, &measures, findings).await
        },
        async {
            match (&m.histogram, m.runs(Method::Latency)) {
                (Some(h), true) => latency::run(&ctx, h).await,
                _ => (methods::Output::default(), None),
            }
        },
    );
    BesideUse {
        workload,
        latency,
        outputs: vec![measured, histogram],
    }
}

/// What every method reads.
fn context<'a>(
    recorder: &'a Recorder<'a>,
    catalog: &'a Catalog,
    request: &'a AnalysisRequest,
    plan: &'a Plan,
) -> methods::Context<'a> {
    methods::Context {
        recorder: *recorder,
        catalog,
        timing: &plan.use_plan.timing,
        selector: &request.selector,
        instances: &plan.basics.instances,
        sample_budget: request.query_sample_budget,
    }
}
