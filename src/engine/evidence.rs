//! Evidence: the supporting numbers a check names (`[[check.evidence]]`), fetched at the end of
//! the window for the targets it flagged only.

use std::{borrow::Cow, collections::HashSet};

use crate::{
    catalog::{Check, EvidenceQuery},
    prometheus::{PrometheusError, Series},
    promql::Selector,
    samples::{
        estimated_samples, fold_in_groups, Coverage, GroupedQuery, Over, QueryLog, QueryText,
        Recorder, Timing,
    },
};

use super::finding::Finding;

/// Above this many flagged instances, evidence is fetched for the whole selection rather than
/// through a regex listing every instance.
pub(super) const INSTANCE_REGEX_LIMIT: usize = 200;

/// One evidence value: instance, device, the device it names (`device_from`), value.
type Value = (String, Option<String>, Option<String>, f64);

/// The selection a flagged-instances query reads: the check's selector, the selection's
/// instances (sorted; empty when unknown) and the samples one query may load.
pub(super) type Scope<'a> = (&'a Selector, &'a [String], u64);

/// The instances a query for the `flagged` ones (sorted) is planned over: the flagged ones
/// while they are listed in its selector ([`narrowed`]); above [`INSTANCE_REGEX_LIMIT`] the
/// query reads the whole selection, so its groups are planned over `all` the selection's
/// instances (sorted), else each part would hold the hosts between two flagged ones, up to
/// the whole fleet. The flagged ones when `all` is unknown (the ranges still meet end to
/// start, only their sizes are off).
pub(super) fn planned_over<'a>(flagged: &[&str], all: &'a [String]) -> Cow<'a, [String]> {
    if flagged.len() > INSTANCE_REGEX_LIMIT && !all.is_empty() {
        return Cow::Borrowed(all);
    }
    Cow::Owned(flagged.iter().map(|s| s.to_string()).collect())
}

/// `selector` narrowed to `instances` when there are few enough to list.
pub(super) fn narrowed(selector: &Selector, instances: &[&str]) -> Selector {
    narrowed_for(true, selector, instances)
}

/// [`narrowed`], unless the check's instances are no `instance` labels (containers): their
/// series are then kept by instance after the query.
pub(super) fn narrowed_for(targets: bool, selector: &Selector, instances: &[&str]) -> Selector {
    if !targets || instances.len() > INSTANCE_REGEX_LIMIT {
        return selector.clone();
    }
    selector.narrowed_to_any(instances)
}

/// Fetch the check's evidence queries for the flagged targets, at the end of the window. A
/// piece of evidence that cannot be fetched is said in the log: the finding stands without it.
/// A query the engine refuses for its size (or larger than `budget`: over 200 flagged
/// instances it reads the whole selection) is sent in ranges of the flagged instances' names
/// ([`fold_in_groups`], planned over [`planned_over`]); every evidence query of a scraped
/// target keeps `instance`, so each value falls in one group. Container evidence (no
/// `instance` targets) is sent whole.
pub(super) async fn attach(
    recorder: &Recorder<'_>,
    log: &mut QueryLog,
    check: &Check,
    (selector, all, budget): Scope<'_>,
    timing: &Timing,
    findings: &mut [Finding],
) {
    let instances = super::finding::instances_of(findings);
    let targets = check.component.instance_is_target();
    let narrowed = narrowed_for(targets, selector, &instances);
    let wanted: HashSet<String> = instances.iter().map(|s| s.to_string()).collect();
    // Sorted, as `instances_of` gives them.
    let grouped = match targets {
        true => planned_over(&instances, all),
        false => Cow::Borrowed(&[][..]),
    };
    let coverage = Coverage {
        selector: &narrowed,
        instances: &grouped,
        samples_per_instance: estimated_samples(1, check.series_per_instance, timing),
        budget,
    };
    let fetches = check.evidence.iter().map(|e| {
        let (coverage, wanted) = (&coverage, wanted.clone());
        async move {
            let mut log = QueryLog::new();
            let values = fetch(recorder, &mut log, check, e, coverage, timing, wanted).await;
            (e, values, log)
        }
    });
    for (e, values, fetched_log) in futures_util::future::join_all(fetches).await {
        log.extend(fetched_log);
        match values {
            Ok(values) => join(e, (selector, targets), timing, findings, values),
            Err(why) => log.warn(format!(
                "{}: evidence `{}` is missing from its findings: {why}",
                check.id, e.name
            )),
        }
    }
}

/// Why a piece of evidence could not be fetched, over the window or over a finding's span.
#[derive(Debug, thiserror::Error)]
pub(super) enum Missing {
    #[error(transparent)]
    Template(#[from] crate::promql::template::TemplateError),
    #[error(transparent)]
    Prometheus(#[from] PrometheusError),
}

/// One evidence query's values for the `wanted` instances.
async fn fetch(
    recorder: &Recorder<'_>,
    log: &mut QueryLog,
    check: &Check,
    evidence: &EvidenceQuery,
    coverage: &Coverage<'_>,
    timing: &Timing,
    wanted: HashSet<String>,
) -> Result<Vec<Value>, Missing> {
    // Rendered whole once: a template that does not render is said as it is.
    timing.render(&evidence.query, &coverage.selector.to_string())?;
    let device_label = check.device_label.clone();
    let device_from = evidence.device_from.clone();
    let collect = move |acc: &mut Vec<Value>, s: Series| {
        let Some(instance) = s.labels.get("instance") else {
            return;
        };
        if !wanted.contains(instance) {
            return;
        }
        let device = device_label.as_ref().and_then(|l| s.labels.get(l)).cloned();
        let from = device_from.as_ref().and_then(|l| s.labels.get(l)).cloned();
        let value = s.points.last().map(|p| p.1).unwrap_or(f64::NAN);
        acc.push((instance.clone(), device, from, value));
    };
    let purpose = format!("{}/{}", check.id, evidence.name);
    let query = GroupedQuery {
        purpose: &purpose,
        text: QueryText::Template(&evidence.query, timing),
        over: Over::Instant(timing.at),
    };
    let kept: fn(&Vec<Value>) -> usize = Vec::len;
    fold_in_groups(recorder, log, &query, coverage, (Vec::new(), collect, kept))
        .await
        .map_err(Missing::from)
}

/// Join one evidence query's values to the findings of their instance (and device).
fn join(
    evidence: &EvidenceQuery,
    selector: (&Selector, bool),
    timing: &Timing,
    findings: &mut [Finding],
    values: Vec<Value>,
) {
    for (instance, device, from, value) in values {
        for f in findings.iter_mut().filter(|f| f.instance == instance) {
            // Per-device evidence only joins its own device; per-instance evidence joins all.
            if device.is_some() && f.device.is_some() && device != f.device {
                continue;
            }
            f.evidence.set(&evidence.name, value);
            if f.device.is_none() {
                if let Some(d) = &from {
                    f.device = Some(d.clone());
                }
            }
            for q in per_instance(&[evidence.query.as_str()], selector, &instance, timing) {
                if !f.queries.contains(&q) {
                    f.queries.push(q);
                }
            }
        }
    }
}

/// `selector` narrowed to one instance: by its `instance` label for a scraped target, by its
/// namespace, pod and container for a container (`targets` false; the selector's scrape
/// target matchers left out, see [`Selector::for_containers`]).
pub(super) fn narrowed_to_one(targets: bool, selector: &Selector, instance: &str) -> Selector {
    if targets {
        selector.narrowed_to(instance)
    } else {
        selector.for_containers().narrowed_to_container(instance)
    }
}

/// The selector a check's queries run on: the analysis' own, or for container checks (their
/// instances are no scrape targets) the same without its scrape target matchers.
pub(super) fn for_check(targets: bool, selector: &Selector) -> Selector {
    if targets {
        selector.clone()
    } else {
        selector.for_containers()
    }
}

/// Render `templates` for one instance of `selector` (see [`narrowed_to_one`]); node-side
/// series (`${node_selector}`) keep `selector` unnarrowed, as they carry no container labels.
pub(super) fn per_instance(
    templates: &[&str],
    (selector, targets): (&Selector, bool),
    instance: &str,
    timing: &Timing,
) -> Vec<String> {
    let narrowed = narrowed_to_one(targets, selector, instance).to_string();
    let node_selector = for_check(targets, selector).to_string();
    templates
        .iter()
        .filter_map(|t| timing.render_split(t, &narrowed, &node_selector).ok())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn over_the_regex_limit_groups_are_planned_over_the_whole_selection() {
        let all: Vec<String> = (0..10_000).map(|i| format!("host-{i:05}:9100")).collect();
        let flagged = |n: usize| -> Vec<&str> { all[..n].iter().map(String::as_str).collect() };
        let listed = flagged(INSTANCE_REGEX_LIMIT);
        assert_eq!(planned_over(&listed, &all).len(), INSTANCE_REGEX_LIMIT);
        assert_eq!(planned_over(&flagged(INSTANCE_REGEX_LIMIT + 1), &all), all);
        assert_eq!(
            planned_over(&flagged(INSTANCE_REGEX_LIMIT + 1), &[]).len(),
            INSTANCE_REGEX_LIMIT + 1,
            "the selection unknown"
        );
    }
}
