//! Drill-down: every USE finding (low and above) gets the level below it ("Systems Performance 2nd ed., Ch. 2 Methodologies: 2.5.12 Drill-Down Analysis").
//!
//! A finding on a host's CPUs names its busiest CPUs and, where process-exporter, cAdvisor or
//! client libraries report them, the processes, containers or applications behind the load,
//! with their shares; its investigation steps start with the exact commands for the top item
//! (`pidstat -p $(pgrep -d, -x postgres) 1`). Each level of `drilldown.toml` is one query for
//! every flagged host at once.

use std::collections::{BTreeMap, HashMap};

use futures_util::future::join_all;

use super::{host_of, hosts_matcher, instant, Context, Output};
use crate::{
    catalog::NextLevel,
    insight::{Insight, IssueType, Methodology, Severity},
    promql::{format_duration, template},
    samples::QueryLog,
};

/// Most hosts drilled into per analysis (the most urgent findings first).
pub const MAX_HOSTS: usize = 200;

/// One item of a level on one host.
#[derive(Clone, Debug, PartialEq)]
pub struct Item {
    /// The item (`postgres`, `3`, `eth0`).
    pub name: String,
    /// Its value in the level's unit.
    pub value: f64,
    /// Its share of the host's total over all items, when the level gives shares.
    pub share: Option<f64>,
}

/// The top items of one level per host (host part of the instance).
pub type TopItems = HashMap<String, Vec<Item>>;

/// The PromQL a one-query log sent (for the steps that name it).
pub(super) fn sent_query(log: &QueryLog) -> String {
    log.queries
        .last()
        .map(|q| q.promql.clone())
        .unwrap_or_default()
}

/// Run `level` for `hosts`. `Err` carries a sentence for notes.
pub async fn top_items(
    ctx: &Context<'_>,
    level: &NextLevel,
    hosts: &[&str],
) -> (Result<TopItems, String>, QueryLog) {
    let matcher = hosts_matcher(hosts.iter().copied());
    let window = format_duration(ctx.timing.window);
    let query = template::render(&level.query, |name| match name {
        "hosts" => Some(matcher.as_str()),
        "window" => Some(window.as_str()),
        _ => None,
    })
    .unwrap_or_default();
    let purpose = format!("drilldown/{}", level.label);
    let mut log = QueryLog::new();
    let result = instant(ctx, &mut log, purpose, &query, ctx.timing.at).await;
    let samples = match result {
        Ok(samples) => samples,
        Err(e) => return (Err(format!("{}: {e}", level.label)), log),
    };
    let mut per_host: BTreeMap<String, Vec<(String, f64)>> = BTreeMap::new();
    for s in samples {
        let (Some(instance), Some(item)) = (s.labels.get("instance"), s.labels.get(&level.item))
        else {
            continue;
        };
        if s.value.is_finite() && s.value >= 0.0 {
            per_host
                .entry(host_of(instance).to_string())
                .or_default()
                .push((item.clone(), s.value));
        }
    }
    let top = per_host
        .into_iter()
        .map(|(host, mut items)| {
            let total: f64 = items.iter().map(|(_, v)| v).sum();
            items.sort_by(|a, b| b.1.total_cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
            items.truncate(level.top);
            let items = items
                .into_iter()
                .map(|(name, value)| Item {
                    name,
                    value,
                    share: (level.share && total > 0.0).then(|| 100.0 * value / total),
                })
                .collect();
            (host, items)
        })
        .collect();
    (Ok(top), log)
}

/// The level's sentence for one host: `processes by CPU (process-exporter): postgres 6.4 (94%), …`.
pub fn sentence(level: &NextLevel, items: &[Item]) -> String {
    let unit = level.unit();
    let listed: Vec<String> = items
        .iter()
        .map(|i| {
            let value = unit.format(i.value);
            match i.share {
                Some(share) => format!("{} {value} ({share:.0}%)", i.name),
                None => format!("{} {value}", i.name),
            }
        })
        .collect();
    format!("{} ({}): {}", level.label, level.source, listed.join(", "))
}

/// Evidence name of an item: the level's template with the item made name-safe.
pub fn evidence_name(level: &NextLevel, item: &str) -> String {
    let safe: String = item
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() {
                c.to_ascii_lowercase()
            } else {
                '_'
            }
        })
        .collect();
    level.evidence.replace("${item}", &safe)
}

/// The commands of a level for its top item on a target.
pub fn commands(
    level: &NextLevel,
    item: &str,
    instance: Option<&str>,
    device: Option<&str>,
) -> Vec<String> {
    level
        .commands
        .iter()
        .filter_map(|c| {
            template::render(c, |name| match name {
                "item" => Some(item.to_string()),
                "instance" => instance.map(str::to_string),
                "device" => Some(device.unwrap_or_default().to_string()),
                _ => None,
            })
            .ok()
        })
        .collect()
}

/// Does this finding get a drill-down?
fn drillable(i: &Insight) -> bool {
    i.methodology == Methodology::UseMethod
        && i.component.instance_is_target()
        && i.severity >= Severity::Low
        && i.issue_type != IssueType::Coverage
        && i.instance.is_some()
}

/// Add the next level to every drillable USE finding in `insights`.
pub async fn attach(ctx: &Context<'_>, insights: &mut [Insight]) -> Output {
    let mut output = Output::default();
    let mut hosts_by_component: BTreeMap<_, Vec<String>> = BTreeMap::new();
    let mut all_hosts: Vec<String> = Vec::new();
    for i in insights.iter().filter(|i| drillable(i)) {
        let host = host_of(i.instance.as_deref().unwrap_or_default()).to_string();
        if !all_hosts.contains(&host) {
            if all_hosts.len() >= MAX_HOSTS {
                continue;
            }
            all_hosts.push(host.clone());
        }
        let hosts = hosts_by_component.entry(i.component).or_default();
        if !hosts.contains(&host) {
            hosts.push(host);
        }
    }
    if all_hosts.len() >= MAX_HOSTS {
        output.log.warn(format!(
            "drill-down: only the {MAX_HOSTS} hosts with the most urgent findings were drilled into"
        ));
    }
    let levels: Vec<&NextLevel> = ctx
        .catalog
        .next_levels()
        .iter()
        .filter(|l| hosts_by_component.contains_key(&l.component))
        .collect();
    let runs = join_all(levels.iter().map(|level| {
        let hosts: Vec<&str> = hosts_by_component[&level.component]
            .iter()
            .map(String::as_str)
            .collect();
        async move { top_items(ctx, level, &hosts).await }
    }))
    .await;
    let mut results: Vec<(&NextLevel, TopItems, String)> = Vec::new();
    for (level, (result, log)) in levels.into_iter().zip(runs) {
        let query = sent_query(&log);
        output.log.extend(log);
        match result {
            Ok(top) => results.push((level, top, query)),
            Err(note) => output.log.warn(format!("drill-down: {note}")),
        }
    }
    for insight in insights.iter_mut().filter(|i| drillable(i)) {
        let host = host_of(insight.instance.as_deref().unwrap_or_default()).to_string();
        let mut sentences = Vec::new();
        let mut steps = Vec::new();
        for (level, top, query) in &results {
            if level.component != insight.component {
                continue;
            }
            let Some(items) = top.get(&host).filter(|items| !items.is_empty()) else {
                continue;
            };
            for item in items {
                insight
                    .evidence
                    .set(evidence_name(level, &item.name), item.value);
            }
            sentences.push(sentence(level, items));
            steps.extend(commands(
                level,
                &items[0].name,
                insight.instance.as_deref(),
                insight.device.as_deref(),
            ));
            insight.related_metrics.push(query.clone());
        }
        if !sentences.is_empty() {
            insight.observation = format!(
                "{} Drill-down — {}.",
                insight.observation.trim_end(),
                sentences.join("; ")
            );
            // The catalog's steps follow, less those that run a command the drill-down already
            // names (`mpstat -P ALL 1` for the busiest CPUs and for the CPU bottleneck).
            let named: Vec<String> = steps.iter().map(|s| step_command(s)).collect();
            steps.extend(
                insight
                    .investigation_steps
                    .drain(..)
                    .filter(|s| !named.contains(&step_command(s))),
            );
            insight.investigation_steps = steps;
        }
    }
    output
}

/// The command an investigation step runs: the text before `#` or the first `: `, spaces
/// collapsed (`mpstat -P ALL 1   # why` and `mpstat -P ALL 1: why` run the same command).
fn step_command(step: &str) -> String {
    let before_hash = step.split_once('#').map_or(step, |(c, _)| c);
    let command = before_hash.split_once(": ").map_or(before_hash, |(c, _)| c);
    command.split_whitespace().collect::<Vec<_>>().join(" ")
}

#[cfg(test)]
mod step_tests {
    use super::step_command;

    #[test]
    fn a_step_is_named_by_its_command() {
        assert_eq!(
            step_command("mpstat -P ALL 1   # is the load on a few CPUs or all of them"),
            "mpstat -P ALL 1"
        );
        assert_eq!(
            step_command("mpstat -P ALL 1: are all CPUs busy, or one?"),
            "mpstat -P ALL 1"
        );
        assert_eq!(step_command("pidstat 1"), "pidstat 1");
        assert_ne!(
            step_command("perf top -C 0   # CPU 0"),
            step_command("perf top")
        );
    }
}
