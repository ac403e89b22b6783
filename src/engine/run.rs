//! Running the checks: fetch every query concurrently, judge each sample, gather evidence for
//! the targets that breached, and turn breaches into insights.

use std::{collections::BTreeMap, time::Instant};

use futures_util::future::join_all;

use super::{
    narrative, Analysis, AnalysisError, AnalysisRequest, CheckOutcome, ExecutedQuery, Level,
    Observation,
};
use crate::{
    catalog::{Catalog, Check, Thresholds},
    insight::sort_insights,
    inventory,
    prometheus::{Client, PrometheusError, Sample},
    promql::{format_duration, template, Matcher, Selector},
};

/// Labels that name the device a per-device check's series is about, in order of preference.
const DEVICE_LABELS: &[&str] = &["device", "mountpoint", "cpu"];

/// Run the analysis described by `request`.
pub async fn analyze(
    client: &Client,
    catalog: &Catalog,
    request: &AnalysisRequest,
) -> Result<Analysis, AnalysisError> {
    let checks: Vec<&Check> = match &request.checks {
        None => catalog.checks().iter().collect(),
        Some(ids) => ids
            .iter()
            .map(|id| {
                catalog
                    .check(id)
                    .ok_or_else(|| AnalysisError::UnknownCheck(id.clone()))
            })
            .collect::<Result<_, _>>()?,
    };
    let window = format_duration(request.window);

    let inventory_future = async {
        if request.with_inventory {
            inventory::take(client, catalog, &request.selector, request.at)
                .await
                .map(Some)
        } else {
            Ok(None)
        }
    };
    let checks_future = join_all(
        checks
            .iter()
            .map(|check| run_check(client, catalog, check, request, &window)),
    );
    let (inventory, results) = tokio::join!(inventory_future, checks_future);

    let mut outcomes = Vec::new();
    let mut insights = Vec::new();
    let mut queries = Vec::new();
    let mut warnings = Vec::new();
    let mut transport_error: Option<PrometheusError> = None;
    for result in results {
        queries.extend(result.queries);
        warnings.extend(result.warnings);
        insights.extend(result.insights);
        if let Some(err) = result.transport_error {
            transport_error.get_or_insert(err);
        }
        outcomes.push(result.outcome);
    }
    // When Prometheus itself is unusable every check failed the same way: one clear error
    // beats a list of identical failures.
    if let Some(err) = transport_error {
        if outcomes.iter().all(|o| o.error.is_some()) {
            return Err(err.into());
        }
    }
    let inventory = inventory?;
    sort_insights(&mut insights);
    warnings.sort();
    warnings.dedup();
    Ok(Analysis {
        at: request.at,
        window: request.window,
        prometheus_url: client.url().to_string(),
        selector: request.selector.to_string(),
        inventory,
        outcomes,
        insights,
        queries,
        warnings,
    })
}

struct CheckRun {
    outcome: CheckOutcome,
    insights: Vec<crate::insight::Insight>,
    queries: Vec<ExecutedQuery>,
    warnings: Vec<String>,
    transport_error: Option<PrometheusError>,
}

async fn run_check(
    client: &Client,
    catalog: &Catalog,
    check: &Check,
    request: &AnalysisRequest,
    window: &str,
) -> CheckRun {
    let thresholds = catalog
        .thresholds(&check.id, &request.thresholds)
        .unwrap_or(Thresholds {
            warning: check.warning,
            critical: check.critical,
        });
    let selector = request.selector.to_string();
    let promql = match render_query(&check.query, &selector, window) {
        Ok(q) => q,
        Err(e) => return failed(check, String::new(), e.to_string(), None),
    };
    let started = Instant::now();
    let answer = match client.query(&promql, request.at).await {
        Ok(a) => a,
        Err(e) => {
            let transport = (!e.is_query_error()).then_some(());
            let message = e.to_string();
            return failed(check, promql, message, transport.map(|_| e));
        }
    };
    let samples = answer.data.into_vector();
    let mut queries = vec![ExecutedQuery {
        purpose: check.id.clone(),
        promql: promql.clone(),
        series: samples.len(),
        duration: started.elapsed(),
    }];
    let mut warnings = answer.warnings;

    let mut observations: Vec<Observation> = samples
        .iter()
        .filter(|s| s.value.is_finite())
        .filter_map(|s| observe(check, &thresholds, s))
        .collect();
    observations.sort_by(|a, b| {
        b.level.cmp(&a.level).then_with(|| match check.direction {
            crate::catalog::Direction::Above => b.value.total_cmp(&a.value),
            crate::catalog::Direction::Below => a.value.total_cmp(&b.value),
        })
    });

    let flagged: Vec<&Observation> = observations
        .iter()
        .filter(|o| o.level > Level::Ok)
        .collect();
    let mut evidence = BTreeMap::new();
    if !flagged.is_empty() && !check.evidence.is_empty() {
        let (values, evidence_queries, evidence_warnings) =
            fetch_evidence(client, check, request, window, &flagged).await;
        evidence = values;
        queries.extend(evidence_queries);
        warnings.extend(evidence_warnings);
    }
    let insights = flagged
        .iter()
        .map(|o| {
            narrative::insight(
                check,
                &thresholds,
                o,
                &request.selector,
                window,
                &promql,
                evidence.get(&o.instance).map(Vec::as_slice).unwrap_or(&[]),
                request.at,
            )
        })
        .collect();
    CheckRun {
        outcome: CheckOutcome {
            check: check.id.clone(),
            query: promql,
            observations,
            error: None,
        },
        insights,
        queries,
        warnings,
        transport_error: None,
    }
}

fn failed(
    check: &Check,
    promql: String,
    message: String,
    transport_error: Option<PrometheusError>,
) -> CheckRun {
    CheckRun {
        outcome: CheckOutcome {
            check: check.id.clone(),
            query: promql,
            observations: Vec::new(),
            error: Some(message),
        },
        insights: Vec::new(),
        queries: Vec::new(),
        warnings: Vec::new(),
        transport_error,
    }
}

/// Judge one sample against the thresholds.
fn observe(check: &Check, t: &Thresholds, sample: &Sample) -> Option<Observation> {
    let instance = sample.labels.get("instance")?.clone();
    let device = DEVICE_LABELS
        .iter()
        .find_map(|l| sample.labels.get(*l).cloned());
    let level = if check.direction.breaches(sample.value, t.critical) {
        Level::Critical
    } else if check.direction.breaches(sample.value, t.warning) {
        Level::Warning
    } else {
        Level::Ok
    };
    Some(Observation {
        instance,
        device,
        value: sample.value,
        level,
    })
}

/// Supporting values for the flagged instances, by instance.
type EvidenceByInstance = BTreeMap<String, Vec<crate::insight::Evidence>>;

async fn fetch_evidence(
    client: &Client,
    check: &Check,
    request: &AnalysisRequest,
    window: &str,
    flagged: &[&Observation],
) -> (EvidenceByInstance, Vec<ExecutedQuery>, Vec<String>) {
    let mut instances: Vec<&str> = flagged.iter().map(|o| o.instance.as_str()).collect();
    instances.sort_unstable();
    instances.dedup();
    let selector = match Matcher::any_of("instance", &instances) {
        Ok(m) => request.selector.clone().with(m),
        Err(_) => return Default::default(),
    };
    let selector = selector.to_string();
    let runs = join_all(check.evidence.iter().map(|e| {
        let selector = &selector;
        async move {
            let promql = render_query(&e.query, selector, window).ok()?;
            let started = Instant::now();
            let answer = client.query(&promql, request.at).await.ok()?;
            Some((e, promql, started.elapsed(), answer))
        }
    }))
    .await;
    let mut by_instance = EvidenceByInstance::new();
    let mut queries = Vec::new();
    let mut warnings = Vec::new();
    for (e, promql, duration, answer) in runs.into_iter().flatten() {
        let samples = answer.data.into_vector();
        queries.push(ExecutedQuery {
            purpose: format!("{}/{}", check.id, e.name),
            promql: promql.clone(),
            series: samples.len(),
            duration,
        });
        warnings.extend(answer.warnings);
        for s in samples {
            if let Some(instance) = s.labels.get("instance") {
                by_instance.entry(instance.clone()).or_default().push(
                    crate::insight::Evidence::new(&e.name, s.value, Some(e.unit.as_str()))
                        .from_query(promql.clone()),
                );
            }
        }
    }
    (by_instance, queries, warnings)
}

/// Fill `${selector}` and `${window}` in a catalog query.
pub(super) fn render_query(
    template_text: &str,
    selector: &str,
    window: &str,
) -> Result<String, template::TemplateError> {
    // Whitespace is collapsed before user values go in, so their content is never touched.
    let mut text = collapse_whitespace(template_text);
    if selector.is_empty() {
        // `{mode="idle", ${selector}}` would render a valid but untidy trailing comma.
        text = text
            .replace(", ${selector}", "")
            .replace(",${selector}", "");
    }
    template::render(&text, |name| match name {
        "selector" => Some(selector),
        "window" => Some(window),
        _ => None,
    })
}

/// Catalog queries are written over several lines; send and show them on one.
fn collapse_whitespace(query: &str) -> String {
    let collapsed = query.split_whitespace().collect::<Vec<_>>().join(" ");
    collapsed.replace("( ", "(").replace(" )", ")")
}

/// The selector narrowed to one instance, for related-metric links.
pub(super) fn instance_selector(base: &Selector, instance: &str) -> String {
    match Matcher::new("instance", crate::promql::MatchOp::Equal, instance) {
        Ok(m) => base.clone().with(m).to_string(),
        Err(_) => base.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::render_query;

    #[test]
    fn queries_render_on_one_line_without_dangling_commas() {
        let t = "sum by (instance) (\n  rate(x{mode=\"idle\", ${selector}}[${window}])\n)";
        assert_eq!(
            render_query(t, "", "5m").unwrap(),
            r#"sum by (instance) (rate(x{mode="idle"}[5m]))"#
        );
        assert_eq!(
            render_query(t, r#"job="a  b""#, "5m").unwrap(),
            r#"sum by (instance) (rate(x{mode="idle", job="a  b"}[5m]))"#
        );
        assert_eq!(render_query("up{${selector}}", "", "5m").unwrap(), "up{}");
    }
}
