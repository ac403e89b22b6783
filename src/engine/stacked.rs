//! Stacked devices reported once, at their disk.
//!
//! A device-mapper layer (LVM, dm-crypt) over a disk shows that disk's I/O: a busy sda with an
//! LVM volume on it would be found busy twice, as sda and as dm-0. For checks with
//! `fold_stacked`, once the check is judged and only if it flagged a stacked device, one
//! instant query reads what lies beneath the flagged stacked devices (the catalog's
//! `stacked.backing_query`), partitions are mapped to their disk by name, and a stacked
//! device's finding whose disk has a finding of the same check is folded into it: the disk's
//! finding names it ("also seen on dm-0"). A stacked device whose disk is fine (its own queue,
//! a slow layer) keeps its own finding, and so do md arrays, whose members node_exporter does
//! not export.

use std::collections::{HashMap, HashSet};

use regex::Regex;

use crate::{
    catalog::{whole_disk, Check, Stacking},
    prometheus::{PrometheusError, Series},
    samples::{
        fold_in_groups, Coverage, GroupedQuery, Over, QueryLog, QueryText, Recorder, Timing,
        LOOKBACK_SAMPLES,
    },
};

use super::{
    evidence::{narrowed, planned_over, Scope},
    finding::Finding,
};

/// Layers over layers (LVM over dm-crypt over a partition) are followed this deep.
const MAX_DEPTH: usize = 4;

/// (instance, stacked device) → the devices right beneath it.
pub(super) type Backing = HashMap<(String, String), Vec<String>>;

/// Fold the findings on stacked devices of `check` into their disks' findings.
pub(super) async fn fold(
    recorder: &Recorder<'_>,
    log: &mut QueryLog,
    stacking: &Stacking,
    check: &Check,
    (selector, all, budget): Scope<'_>,
    timing: &Timing,
    findings: &mut Vec<Finding>,
) {
    let Ok((stacked, partition)) = stacking.patterns() else {
        return;
    };
    let is_stacked = |f: &Finding| f.device.as_deref().is_some_and(|d| stacked.is_match(d));
    let mut instances: Vec<&str> = findings
        .iter()
        .filter(|f| is_stacked(f))
        .map(|f| f.instance.as_str())
        .collect();
    if instances.is_empty() {
        return;
    }
    instances.sort_unstable();
    instances.dedup();
    let narrowed = narrowed(selector, &instances);
    // Listed in the selector up to the regex limit, the whole selection above it.
    let grouped = planned_over(&instances, all);
    let coverage = Coverage {
        selector: &narrowed,
        instances: &grouped,
        // Set by `per_device`.
        samples_per_instance: 1,
        budget,
    };
    let backing = match backing(recorder, log, stacking, check, &coverage, timing).await {
        Ok(b) => b,
        Err(why) => {
            log.warn(format!(
                "{}: stacked devices are reported beside their disks: {why}",
                check.id
            ));
            return;
        }
    };
    fold_into_disks(findings, &backing, &stacked, &partition);
}

/// What lies beneath each stacked device, from the catalog's backing query over `coverage`.
pub(super) async fn backing(
    recorder: &Recorder<'_>,
    log: &mut QueryLog,
    stacking: &Stacking,
    check: &Check,
    coverage: &Coverage<'_>,
    timing: &Timing,
) -> Result<Backing, String> {
    // Rendered whole once: a template that does not render is said as it is.
    timing
        .render(&stacking.backing_query, &coverage.selector.to_string())
        .map_err(|e| e.to_string())?;
    let purpose = format!("{}/stacked", check.id);
    let add = |out: &mut Backing, mut s: Series| {
        let (Some(instance), Some(device), Some(beneath)) = (
            s.labels.remove("instance"),
            s.labels.remove("device"),
            s.labels.remove("backing_device"),
        ) else {
            return;
        };
        out.entry((instance, device)).or_default().push(beneath);
    };
    let query = (purpose.as_str(), stacking.backing_query.as_str());
    per_device(recorder, log, query, coverage, timing, add)
        .await
        .map_err(|e| e.to_string())
}

/// Devices one instance has, for planning the instance groups of a per-device query.
const DEVICES_PER_INSTANCE: u64 = 8;

/// An instant query per (instance, device) at the end of the window, its series folded into a
/// map: in instance groups when it is larger than `coverage`'s budget or the engine refuses it
/// for its size (each device is in one instance's group, so the maps merge exactly).
pub(super) async fn per_device<V, F>(
    recorder: &Recorder<'_>,
    log: &mut QueryLog,
    (purpose, template): (&str, &str),
    coverage: &Coverage<'_>,
    timing: &Timing,
    add: F,
) -> Result<HashMap<(String, String), V>, PrometheusError>
where
    V: Clone + Send + 'static,
    F: FnMut(&mut HashMap<(String, String), V>, Series) + Clone + Send + 'static,
{
    let coverage = Coverage {
        samples_per_instance: DEVICES_PER_INSTANCE * LOOKBACK_SAMPLES,
        ..*coverage
    };
    let query = GroupedQuery {
        purpose,
        text: QueryText::Template(template, timing),
        over: Over::Instant(timing.at),
    };
    let kept: fn(&HashMap<(String, String), V>) -> usize = HashMap::len;
    fold_in_groups(
        recorder,
        log,
        &query,
        &coverage,
        (HashMap::new(), add, kept),
    )
    .await
}

/// The disks beneath `device` on `instance`, through layers and partitions.
pub(super) fn disks_beneath(
    backing: &Backing,
    stacked: &Regex,
    partition: &Regex,
    instance: &str,
    device: &str,
) -> HashSet<String> {
    let mut disks = HashSet::new();
    let mut layer = vec![device.to_string()];
    for _ in 0..MAX_DEPTH {
        let mut next = Vec::new();
        for d in &layer {
            for beneath in backing
                .get(&(instance.to_string(), d.clone()))
                .into_iter()
                .flatten()
            {
                if stacked.is_match(beneath) {
                    next.push(beneath.clone());
                } else {
                    disks.insert(whole_disk(partition, beneath));
                }
            }
        }
        if next.is_empty() {
            break;
        }
        layer = next;
    }
    disks
}

/// Drop each stacked device's finding whose disk has a finding, naming it on the disk's.
pub(super) fn fold_into_disks(
    findings: &mut Vec<Finding>,
    backing: &Backing,
    stacked: &Regex,
    partition: &Regex,
) {
    let mut folded = vec![false; findings.len()];
    for i in 0..findings.len() {
        let Some(device) = findings[i].device.clone().filter(|d| stacked.is_match(d)) else {
            continue;
        };
        let instance = findings[i].instance.clone();
        let disks = disks_beneath(backing, stacked, partition, &instance, &device);
        // Folded only into a disk finding at least as severe: a layer worse than its disk
        // (dm-crypt at 60 ms over an NVMe disk at 3 ms) is a problem of its own and stays.
        let level = findings[i].assessment.level;
        let disk = findings.iter().position(|f| {
            f.instance == instance
                && f.device.as_ref().is_some_and(|d| disks.contains(d))
                && f.assessment.level >= level
        });
        if let Some(j) = disk {
            findings[j].also_on.push(device);
            folded[i] = true;
        }
    }
    let mut index = 0;
    findings.retain(|_| {
        let keep = !folded[index];
        index += 1;
        keep
    });
}
