//! The analysis, stage by stage: inventory, timing, checks (concurrently, under the client's
//! bound), diagnosis, narrative, coverage.

use std::time::Instant;

use futures_util::future::join_all;

use super::{
    coverage, diagnose,
    fetch::{self, CheckRun, Feed, GuardCache, GuardInput, Inputs},
    narrative,
    plan::{self, Board, Published},
    quality,
    timing::Timing,
    Analysis, AnalysisError, AnalysisRequest,
};
use crate::{
    catalog::{Catalog, Check, Thresholds},
    insight::{sort_insights, Insight, Methodology, Severity},
    inventory::{self, Inventory},
    methods::{self, drilldown, latency, outliers, workload, Method},
    prometheus::{Client, Priority},
};

/// Run the analysis described by `request`.
pub async fn analyze(
    client: &Client,
    catalog: &Catalog,
    request: &AnalysisRequest,
) -> Result<Analysis, AnalysisError> {
    let selected = select_checks(catalog, request)?;

    let started = Instant::now();
    // The checks need only the instances and the scrape interval (for the rate window); the
    // rest of the inventory (collectors, versions) is asked for beside them, in the background.
    let basics = inventory::basics(client, &request.selector, request.at).await?;
    let timing = match request.range_step {
        Some(step) => Timing::over_range(request.at, request.window, step, basics.scrape_interval),
        None => Timing::new(request.at, request.window, basics.scrape_interval),
    };

    let board = Board::new(catalog, &selected);
    let guards = GuardCache::default();
    // Every levels column is indexed like these (the inventory's sorted instances).
    let indexed_instances: std::sync::Arc<[String]> = basics.instances.clone().into();
    let checks = selected.iter().map(|&index| {
        let check = &catalog.checks()[index];
        let thresholds = catalog
            .thresholds(&check.id, &request.thresholds)
            .unwrap_or(Thresholds {
                warning: check.warning,
                critical: check.critical,
            });
        let (board, instances, timing, guards) = (&board, &basics.instances, &timing, &guards);
        let indexed = request.keep_levels.then(|| indexed_instances.clone());
        let peer_values = (request.methods.runs(Method::Outliers)
            && catalog.peers().iter().any(|p| p.check == check.id))
        .then(|| indexed_instances.clone());
        async move {
            // Checks waiting on this one get its results as soon as it is judged (before its
            // evidence queries), or, if it stopped early, when it returns.
            let sent = std::sync::atomic::AtomicBool::new(false);
            let publish = |run: &mut CheckRun| {
                if board.awaited(&check.id)
                    && !sent.swap(true, std::sync::atomic::Ordering::Relaxed)
                {
                    board.publish(&check.id, published(check, run));
                }
            };
            let mut run = fetch::run(
                client,
                index,
                check,
                thresholds,
                &request.selector,
                timing,
                Inputs {
                    on_judged: Some(&publish),
                    levels: indexed,
                    peer_values,
                    ..inputs(catalog, check, board, instances, request, guards).await
                },
            )
            .await;
            publish(&mut run);
            run
        }
    });
    let m = &request.methods;
    let ctx = methods::Context {
        client,
        catalog,
        timing: &timing,
        selector: &request.selector,
        instances: &basics.instances,
    };
    let measures: Vec<_> = catalog
        .measures()
        .iter()
        .filter(|x| match x.methodology {
            Methodology::WorkloadCharacterization => m.runs(Method::Workload),
            Methodology::LatencyAnalysis => m.runs(Method::Latency),
            _ => false,
        })
        .collect();

    // The USE checks, and beside them the queries that do not depend on their results: the
    // workload measures (which need the USE findings only to judge severity, at the very end)
    // and the latency histogram. They keep Prometheus' concurrency bound busy while the checks'
    // chains (guards, fallbacks, evidence) wait on each other, so the analysis costs little more
    // than its queries sent all at once.
    let background_client = client.with_priority(Priority::Background);
    let background = methods::Context {
        client: &background_client,
        ..ctx
    };
    let (findings_tx, findings_rx) = tokio::sync::oneshot::channel::<Vec<Insight>>();
    let use_method = async {
        let ((quality, quality_queries), runs, details): (_, Vec<CheckRun>, _) = tokio::join!(
            quality::take(client, &request.selector, &timing),
            join_all(checks),
            inventory::details(
                &background_client,
                catalog,
                &request.selector,
                request.at,
                &basics.instances
            ),
        );
        let details = match details {
            Ok(d) => d,
            Err(e) => return Err(AnalysisError::Prometheus(e)),
        };
        let mut quality_queries = quality_queries;
        quality_queries.extend(details.queries.iter().cloned());
        let inventory = Inventory::of(&basics, details);
        let drafts = diagnose::diagnose(catalog, &runs, &quality, &timing);
        let mut insights: Vec<_> = drafts
            .iter()
            .map(|d| narrative::insight(catalog, &runs, d, &request.selector, &timing))
            .collect();
        insights.extend(coverage::per_instance(
            catalog,
            &runs,
            &inventory,
            &request.selector,
            &timing,
        ));
        insights.extend(coverage::failed_checks(catalog, &runs, &timing));
        sort_insights(&mut insights);
        let findings: Vec<Insight> = insights
            .iter()
            .filter(|i| i.methodology == Methodology::UseMethod && i.severity >= Severity::Medium)
            .cloned()
            .collect();
        // The workload method may have stopped listening (nothing to compare): that is fine.
        let _ = findings_tx.send(findings);

        // Prometheus unusable: every check failed the same way, and one clear error beats a list.
        let mut runs = runs;
        if !runs.is_empty() && runs.iter().all(|r| r.outcome.error.is_some()) {
            if let Some(err) = runs.iter_mut().find_map(|r| r.transport_error.take()) {
                return Err(AnalysisError::Prometheus(err));
            }
        }
        let episodes = if request.range_step.is_some() {
            episodes(catalog, &runs)
        } else {
            Vec::new()
        };
        let mut queries = quality_queries;
        let mut warnings = Vec::new();
        let mut outcomes = Vec::with_capacity(runs.len());
        let mut columns = Vec::new();
        let mut peer_values = super::Levels::new(indexed_instances.clone());
        for mut run in runs {
            if let Some(column) = run.levels.take() {
                columns.push((run.outcome.check.clone(), column));
            }
            if let Some(column) = run.peer_values.take() {
                peer_values.insert(run.outcome.check.clone(), column);
            }
            queries.extend(run.queries);
            warnings.extend(run.warnings);
            outcomes.push(run.outcome);
        }

        // What needs only the USE results, started as soon as they are in (the workload
        // queries may still run): drill-down enriches the findings in place; outliers compare
        // each check's observations across peers.
        let (drilled, peers) = tokio::join!(
            async {
                if m.runs(Method::Drilldown) {
                    drilldown::attach(&ctx, &mut insights).await
                } else {
                    methods::Output::default()
                }
            },
            async {
                if m.runs(Method::Outliers) {
                    outliers::run(&ctx, &outcomes, &peer_values, &m.group_by).await
                } else {
                    methods::Output::default()
                }
            },
        );
        drop(peer_values);
        if !m.runs(Method::Use) && !m.runs(Method::Drilldown) {
            insights.clear();
        }
        let mut peers = peers;
        peers.insights = outliers::merge(&mut insights, std::mem::take(&mut peers.insights));
        for output in [drilled, peers] {
            insights.extend(output.insights);
            queries.extend(output.queries);
            warnings.extend(output.notes);
        }
        Ok(UseMethod {
            queries,
            warnings,
            outcomes,
            columns,
            insights,
            inventory,
            episodes,
        })
    };
    let (use_result, (measured, workload), (histogram, latency)) = tokio::join!(
        use_method,
        async {
            if measures.is_empty() {
                (methods::Output::default(), Vec::new())
            } else {
                let findings = async { findings_rx.await.unwrap_or_default() };
                workload::run(&background, &measures, findings).await
            }
        },
        async {
            match (&m.histogram, m.runs(Method::Latency)) {
                (Some(h), true) => latency::run(&background, h).await,
                _ => (methods::Output::default(), None),
            }
        },
    );
    let UseMethod {
        queries: use_queries,
        mut warnings,
        mut outcomes,
        columns,
        mut insights,
        inventory,
        episodes,
    } = use_result?;
    let mut levels = super::Levels::new(indexed_instances);
    for (check, column) in columns {
        levels.insert(check, column);
    }
    let mut queries = basics.queries.clone();
    queries.extend(use_queries);
    for output in [measured, histogram] {
        insights.extend(output.insights);
        queries.extend(output.queries);
        warnings.extend(output.notes);
    }
    sort_insights(&mut insights);
    if !m.runs(Method::Use) && !m.runs(Method::Drilldown) {
        outcomes.clear();
    }
    for q in &mut queries {
        q.offset = q.sent.saturating_duration_since(started);
    }
    warnings.sort();
    warnings.dedup();
    Ok(Analysis {
        timing,
        prometheus_url: client.url().to_string(),
        selector: request.selector.to_string(),
        concurrency: client.concurrency(),
        inventory,
        outcomes,
        insights,
        queries,
        warnings,
        workload,
        latency,
        episodes,
        levels,
    })
}

/// What the USE method and the methods that follow it (drill-down, outliers) produced.
struct UseMethod {
    queries: Vec<super::ExecutedQuery>,
    warnings: Vec<String>,
    outcomes: Vec<super::CheckOutcome>,
    columns: Vec<(String, super::levels::Column)>,
    insights: Vec<Insight>,
    inventory: Inventory,
    episodes: Vec<super::Episode>,
}

/// Every period each flagged target's condition held, earliest first.
fn episodes(catalog: &Catalog, runs: &[CheckRun]) -> Vec<super::Episode> {
    let mut out: Vec<super::Episode> = runs
        .iter()
        .flat_map(|run| {
            let check = &catalog.checks()[run.index];
            run.findings.iter().flat_map(move |f| {
                f.assessment.runs.iter().map(move |r| super::Episode {
                    check: check.id.clone(),
                    component: check.component,
                    instance: f.instance.clone(),
                    device: f.device.clone(),
                    start: r.start,
                    end: r.end,
                    level: r.level,
                    peak: r.peak,
                })
            })
        })
        .collect();
    out.sort_by(|a, b| a.start.cmp(&b.start).then_with(|| a.check.cmp(&b.check)));
    out
}

/// Resolve what `check` needs from the checks it waits for (see [`plan`]).
async fn inputs<'a>(
    catalog: &Catalog,
    check: &Check,
    board: &Board,
    instances: &[String],
    request: &AnalysisRequest,
    guards: &'a GuardCache,
) -> Inputs<'a> {
    let needs = board.needs(&check.id);
    let guard = match &check.when {
        None => GuardInput::None,
        Some(g) => match (&needs.guard_from, &g.query, &g.check) {
            (Some(source), _, _) => match board.wait(source).await {
                Some(p) => match (&p.error, p.guards.get(&check.id)) {
                    (Some(e), _) => GuardInput::Failed(e.clone()),
                    (None, Some(masks)) => GuardInput::Masks(masks.clone(), p.query.clone()),
                    // It ran but judged no series: the guard holds nowhere.
                    (None, None) => GuardInput::Masks(Default::default(), p.query.clone()),
                },
                None => GuardInput::Failed("it did not run".into()),
            },
            (None, Some(query), _) => GuardInput::Query(query.clone()),
            // The referenced check is not part of this analysis: query its series directly.
            (None, None, Some(source)) => match catalog.check(source) {
                Some(c) => GuardInput::Query(c.query.clone()),
                None => GuardInput::Failed(format!("unknown check {source}")),
            },
            (None, None, None) => GuardInput::None,
        },
    };
    let only = match &needs.leader {
        None => None,
        Some(leader) => match board.wait(leader).await {
            Some(p) if p.error.is_none() => Some(plan::fallback_instances(&p, instances.iter())),
            // The preferred signal failed: this one must cover every instance.
            _ => None,
        },
    };
    Inputs {
        guard,
        guards,
        only,
        leader: needs.leader,
        feeds: needs
            .feeds
            .iter()
            .filter_map(|id| {
                let guarded = catalog.check(id)?;
                let guard = guarded.when.as_ref()?;
                Some(Feed {
                    check: id.clone(),
                    op: guard.op,
                    value: guard.value,
                    evaluation: guarded.evaluation,
                })
            })
            .collect(),
        keep_observations: request.observe.contains(&check.id),
        levels: None,
        peer_values: None,
        on_judged: None,
    }
}

/// What a finished check tells the checks waiting for it.
fn published(check: &Check, run: &mut CheckRun) -> Published {
    Published {
        query: check.query.clone(),
        guards: std::mem::take(&mut run.fed)
            .into_iter()
            .map(|(id, masks)| (id, std::sync::Arc::new(masks)))
            .collect(),
        present: run.present.keys().cloned().collect(),
        flagged: run.findings.iter().map(|f| f.instance.clone()).collect(),
        error: run.outcome.error.clone(),
    }
}

/// Catalog indices of the checks to run, in catalog order.
fn select_checks(
    catalog: &Catalog,
    request: &AnalysisRequest,
) -> Result<Vec<usize>, AnalysisError> {
    if let Some(ids) = &request.checks {
        if let Some(unknown) = ids.iter().find(|id| catalog.check(id).is_none()) {
            return Err(AnalysisError::UnknownCheck(unknown.clone()));
        }
    }
    let m = &request.methods;
    let use_checks = m.runs(Method::Use) || m.runs(Method::Drilldown);
    let peer_checks = m.runs(Method::Outliers);
    Ok(catalog
        .checks()
        .iter()
        .enumerate()
        .filter(|(_, c)| {
            use_checks || (peer_checks && catalog.peers().iter().any(|p| p.check == c.id))
        })
        .filter(|(_, c)| {
            request
                .checks
                .as_ref()
                .is_none_or(|ids| ids.contains(&c.id))
        })
        .filter(|(_, c)| {
            request
                .components
                .as_ref()
                .is_none_or(|cs| cs.contains(&c.component))
        })
        .map(|(i, _)| i)
        .collect())
}
