//! Executing the selected checks concurrently, each waiting only for what it needs from the
//! others (see [`super::plan`]): guards by reference and fallback leaders.

use std::sync::{
    atomic::{AtomicBool, Ordering},
    Arc,
};

use futures_util::future::join_all;

use crate::{
    catalog::{Catalog, Check, Thresholds},
    samples::Recorder,
};

use super::{
    execute::{execute, CheckExecution, Inputs, Target},
    guard::{GuardCache, GuardInput},
    judge::Feed,
    plan::{self, Board, Published},
    UsePlan,
};

/// Execute every check of `plan`, each as soon as what it waits for is published.
pub(super) async fn execute_all(
    recorder: &Recorder<'_>,
    catalog: &Catalog,
    plan: &UsePlan,
) -> Vec<CheckExecution> {
    let board = Board::new(catalog, &plan.checks);
    let guards = GuardCache::new(plan.instances.clone());
    let checks = plan.checks.iter().map(|&index| {
        let check = &catalog.checks()[index];
        execute_one(recorder, catalog, plan, &board, &guards, index, check)
    });
    join_all(checks).await
}

/// One check: its inputs resolved, executed, its results published for those waiting.
async fn execute_one(
    recorder: &Recorder<'_>,
    catalog: &Catalog,
    plan: &UsePlan,
    board: &Board,
    guards: &GuardCache,
    index: usize,
    check: &Check,
) -> CheckExecution {
    let thresholds = catalog
        .thresholds(&check.id, &plan.thresholds)
        .unwrap_or(Thresholds {
            warning: check.warning,
            critical: check.critical,
        });
    // Checks waiting on this one get its results as soon as it is judged (before its evidence
    // queries), or, if it stopped early, when it returns.
    let sent = AtomicBool::new(false);
    let publish = |run: &mut CheckExecution| {
        if board.awaited(&check.id) && !sent.swap(true, Ordering::Relaxed) {
            board.publish(&check.id, published(check, run));
        }
    };
    let inputs = Inputs {
        on_judged: Some(&publish),
        levels: plan.keep_levels.then(|| plan.instances.clone()),
        peer_values: plan
            .peer_checks
            .contains(&check.id)
            .then(|| plan.instances.clone()),
        ..inputs(catalog, check, board, plan, guards).await
    };
    // A user's override of the check's thresholds holds for every device, whatever its class.
    let overridden = plan.thresholds.contains_key(&check.id);
    let selector = super::evidence::for_check(check.component.instance_is_target(), &plan.selector);
    let target = Target {
        index,
        check,
        thresholds,
        classes: (!overridden && !check.class_thresholds.is_empty())
            .then(|| catalog.device_classes()),
        stacking: check
            .fold_stacked
            .then(|| &catalog.device_classes().stacked),
        selector: &selector,
        instances: &plan.instances,
        sample_budget: plan.sample_budget,
        recorded: plan.recorded.contains(&check.id),
        timing: &plan.timing,
    };
    let mut run = execute(recorder, target, inputs).await;
    publish(&mut run);
    run
}

/// Resolve what `check` needs from the checks it waits for (see [`plan`]).
async fn inputs<'a>(
    catalog: &Catalog,
    check: &Check,
    board: &Board,
    plan: &UsePlan,
    guards: &'a GuardCache,
) -> Inputs<'a> {
    let needs = board.needs(&check.id);
    let guard = guard_input(catalog, check, board, needs.guard_from.as_deref()).await;
    let only = match &needs.leader {
        None => None,
        Some(leader) => match board.wait(leader).await {
            Some(p) if p.error.is_none() => {
                Some(plan::fallback_instances(&p, plan.instances.iter()))
            }
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
            .filter_map(|id| feed(catalog, id))
            .collect(),
        keep_observations: plan.observe.contains(&check.id),
        levels: None,
        peer_values: None,
        on_judged: None,
    }
}

/// `check`'s guard: masks published by the check it refers to, or a query of its own.
async fn guard_input(
    catalog: &Catalog,
    check: &Check,
    board: &Board,
    guard_from: Option<&str>,
) -> GuardInput {
    let Some(g) = &check.when else {
        return GuardInput::None;
    };
    match (guard_from, &g.query, &g.check) {
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
    }
}

/// The guard of check `id` that refers to another check's series.
fn feed(catalog: &Catalog, id: &str) -> Option<Feed> {
    let guarded = catalog.check(id)?;
    let guard = guarded.when.as_ref()?;
    Some(Feed {
        check: id.to_string(),
        op: guard.op,
        values: super::guard::Values::of(guard),
        evaluation: guarded.evaluation,
    })
}

/// What a finished check tells the checks waiting for it.
fn published(check: &Check, run: &mut CheckExecution) -> Published {
    Published {
        query: check.query.clone(),
        guards: std::mem::take(&mut run.fed)
            .into_iter()
            .map(|(id, masks)| (id, Arc::new(masks)))
            .collect(),
        present: run.present.keys().cloned().collect(),
        // Bursts are not breaches: weaker signals need not run for them.
        flagged: run
            .findings
            .iter()
            .filter(|f| f.assessment.level > super::evaluate::Level::Ok)
            .map(|f| f.instance.clone())
            .collect(),
        error: run.outcome.error.clone(),
    }
}
