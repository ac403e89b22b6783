//! Which checks read the series `gregg-insights rules` recorded instead of evaluating their raw
//! expressions: only those whose recorded series really cover the window.
//!
//! A recorded name existing somewhere in the window is not enough. Rules loaded ten minutes
//! ago leave the start of an hour's window empty, and rules deployed to one Thanos shard of two
//! record half the fleet: read as if complete, either would make an analysis judge part of the
//! data. So a check reads its recorded series only when, at the first point of the window's
//! grid, they exist and cover as many instances as the raw inventory (node_exporter's presence
//! series) at that same time; otherwise it evaluates its raw expression and the report's
//! notice says why.
//!
//! ```text
//!  label values of {gregg_rate="2m", selector}   ─► candidate checks (name seen in the window)
//!  one instant query at the grid's first point    ─► instances per recorded name, raw instances
//!  (names absent then) one range query            ─► when their series begin, for the notice
//! ```

use std::collections::{BTreeMap, HashMap, HashSet};

use chrono::{DateTime, Utc};

use crate::{
    catalog::Catalog,
    inventory,
    prometheus::{Client, QueryRange},
    promql::{format_duration, Selector},
    rules::{recorded_name, RATE_LABEL},
    samples::{QueryLog, Recorder, Timing},
};

/// The label that marks the raw inventory's count in the coverage query's answer.
const RAW_LABEL: &str = "gregg_raw_instances";

/// How many check ids a notice names per reason before it says "… N more".
const NAMED: usize = 4;

/// A check whose recorded series exist in the window.
#[derive(Clone, Debug, PartialEq, Eq)]
struct Candidate {
    check: String,
    name: String,
    /// Its series carry the `instance` of node_exporter hosts (not a container check's).
    per_host: bool,
}

/// What the coverage query found at the grid's first point.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
struct AtStart {
    /// Instances per recorded name.
    recorded: HashMap<String, usize>,
    /// Instances of the raw inventory.
    raw: usize,
}

/// Why a candidate evaluates its raw expression.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
enum Shortfall {
    /// No recorded series at the window's start; they begin this long into it, when known.
    Late(Option<std::time::Duration>),
    /// They cover fewer instances than the raw inventory.
    Partial { covered: usize, raw: usize },
}

impl Shortfall {
    fn describe(&self) -> String {
        match self {
            Shortfall::Late(Some(d)) => format!(
                "recorded series start {} into the window",
                format_duration(*d)
            ),
            Shortfall::Late(None) => "no recorded series at the window's start".into(),
            Shortfall::Partial { covered, raw } => {
                format!("recorded series cover {covered} of {raw} instances")
            }
        }
    }
}

/// The checks of `checks` that read their recorded series (by check id). Each query's failure
/// costs only the recorded series: every check then evaluates its raw expression, as it would
/// without rules, and the failure is a notice.
pub(super) async fn recorded(
    client: &Client,
    catalog: &Catalog,
    checks: &[usize],
    selector: &Selector,
    timing: &Timing,
    log: &mut QueryLog,
) -> HashSet<String> {
    let rate = format_duration(timing.rate);
    let range = timing.range();
    let candidates = candidates(client, catalog, checks, selector, &rate, &range).await;
    if candidates.is_empty() {
        return HashSet::new();
    }
    let recorder = Recorder::new(client);
    let names: Vec<&str> = candidates.iter().map(|c| c.name.as_str()).collect();
    let query = coverage_query(&names, &rate, selector);
    let at_start = match recorder
        .instant(log, "recorded/coverage", &query, range.start)
        .await
    {
        Ok(answer) => read_at_start(answer.into_vector()),
        Err(e) => {
            log.warn(format!(
                "recorded series: whether they cover the window is unknown ({e}); every check evaluates its raw expression"
            ));
            return HashSet::new();
        }
    };
    let late: Vec<&str> = candidates
        .iter()
        .filter(|c| !at_start.recorded.contains_key(&c.name))
        .map(|c| c.name.as_str())
        .collect();
    let starts = first_points(&recorder, log, &late, (&rate, selector), &range).await;
    let (read, raw) = decide(&candidates, &at_start, &starts, range.start);
    log.warn(notice(read.len(), checks.len(), &rate, &raw));
    read
}

/// The checks among `checks` whose recorded name has series with this grid's rate interval for
/// the selection within the window: one label-values call, answered from the index.
async fn candidates(
    client: &Client,
    catalog: &Catalog,
    checks: &[usize],
    selector: &Selector,
    rate: &str,
    range: &QueryRange,
) -> Vec<Candidate> {
    let series = format!("{{{}}}", series_matchers(rate, selector));
    let Ok(names) = client
        .label_values("__name__", &[series], range.start, range.end)
        .await
    else {
        return Vec::new();
    };
    let names: HashSet<String> = names.data.into_iter().collect();
    checks
        .iter()
        .filter_map(|&i| catalog.checks().get(i))
        .map(|c| Candidate {
            check: c.id.clone(),
            name: recorded_name(&c.id),
            per_host: c.component.instance_is_target(),
        })
        .filter(|c| names.contains(&c.name))
        .collect()
}

/// `gregg_rate="2m"` and the selection's matchers.
fn series_matchers(rate: &str, selector: &Selector) -> String {
    let matcher = selector.to_string();
    let sep = if matcher.is_empty() { "" } else { ", " };
    format!("{RATE_LABEL}=\"{rate}\"{sep}{matcher}")
}

/// One query for every candidate: the instances each recorded name covers, and (marked with
/// [`RAW_LABEL`]) the raw inventory's instances, at the same time. Only the index and one
/// sample per series at that time are read.
fn coverage_query(names: &[&str], rate: &str, selector: &Selector) -> String {
    let matchers = series_matchers(rate, selector);
    let presence = inventory::presence(selector);
    format!(
        "count by (__name__) (group by (__name__, instance) ({{__name__=~\"{}\", {matchers}}})) or label_replace(count(group by (instance) ({presence})), \"{RAW_LABEL}\", \"1\", \"\", \"\")",
        names.join("|")
    )
}

fn read_at_start(samples: Vec<crate::prometheus::Sample>) -> AtStart {
    let mut at_start = AtStart::default();
    for s in samples {
        let count = if s.value.is_finite() && s.value > 0.0 {
            s.value as usize
        } else {
            0
        };
        if s.labels.contains_key(RAW_LABEL) {
            at_start.raw = count;
        } else if let Some(name) = s.labels.get("__name__") {
            at_start.recorded.insert(name.clone(), count);
        }
    }
    at_start
}

/// When the series of `names` (absent at the window's start) begin: the first point of the
/// window's grid where each has any. Sent only when some are late; its failure leaves the
/// notice without the time.
async fn first_points(
    recorder: &Recorder<'_>,
    log: &mut QueryLog,
    names: &[&str],
    (rate, selector): (&str, &Selector),
    range: &QueryRange,
) -> HashMap<String, DateTime<Utc>> {
    if names.is_empty() {
        return HashMap::new();
    }
    let query = format!(
        "count by (__name__) ({{__name__=~\"{}\", {}}})",
        names.join("|"),
        series_matchers(rate, selector)
    );
    let Ok(series) = recorder.range(log, "recorded/start", &query, range).await else {
        return HashMap::new();
    };
    series
        .into_iter()
        .filter_map(|s| {
            let name = s.labels.get("__name__")?.clone();
            let (t, _) = s.points.first()?;
            let at = DateTime::from_timestamp_millis((t * 1000.0).round() as i64)?;
            Some((name, at))
        })
        .collect()
}

/// Split the candidates into those that read their recorded series and those that do not,
/// with why.
fn decide(
    candidates: &[Candidate],
    at_start: &AtStart,
    starts: &HashMap<String, DateTime<Utc>>,
    window_start: DateTime<Utc>,
) -> (HashSet<String>, Vec<(String, Shortfall)>) {
    let mut read = HashSet::new();
    let mut raw = Vec::new();
    for c in candidates {
        let shortfall = match at_start.recorded.get(&c.name) {
            None | Some(0) => Some(Shortfall::Late(
                starts
                    .get(&c.name)
                    .and_then(|t| (*t - window_start).to_std().ok()),
            )),
            // A container check's series carry cAdvisor's or kube-state-metrics' instances,
            // which the node inventory does not count: present at the start is all it asks.
            Some(_) if !c.per_host => None,
            Some(&covered) if covered < at_start.raw => Some(Shortfall::Partial {
                covered,
                raw: at_start.raw,
            }),
            Some(_) => None,
        };
        match shortfall {
            None => {
                read.insert(c.check.clone());
            }
            Some(s) => raw.push((c.check.clone(), s)),
        }
    }
    (read, raw)
}

/// The report's notice: how many checks read recorded series and, for the others that have
/// some, why not (grouped by reason).
fn notice(read: usize, checks: usize, rate: &str, raw: &[(String, Shortfall)]) -> String {
    let mut text = format!(
        "recorded series: {read} of {checks} checks read from the rules of `gregg-insights rules` (gregg_insights:*, rate {rate}) instead of their raw expressions"
    );
    let mut by_reason: BTreeMap<&Shortfall, Vec<&str>> = BTreeMap::new();
    for (check, why) in raw {
        by_reason.entry(why).or_default().push(check);
    }
    for (why, ids) in by_reason {
        let more = ids.len().saturating_sub(NAMED);
        let named = ids[..ids.len().min(NAMED)].join(", ");
        let tail = if more > 0 {
            format!(", … {more} more")
        } else {
            String::new()
        };
        text.push_str(&format!(
            "; {} check(s) evaluate their raw expressions: {} ({named}{tail})",
            ids.len(),
            why.describe()
        ));
    }
    text
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use chrono::TimeZone;

    use super::*;

    fn candidate(check: &str, per_host: bool) -> Candidate {
        Candidate {
            check: check.into(),
            name: recorded_name(check),
            per_host,
        }
    }

    fn start() -> DateTime<Utc> {
        Utc.timestamp_opt(1_700_000_000, 0).single().expect("time")
    }

    #[test]
    fn only_series_present_at_the_start_on_every_instance_are_read() {
        let candidates = [
            candidate("cpu.utilization", true),
            candidate("memory.saturation", true),
            candidate("disk.utilization", true),
            candidate("container.cpu.utilization", false),
        ];
        let at_start = AtStart {
            recorded: HashMap::from([
                (recorded_name("cpu.utilization"), 200),
                (recorded_name("memory.saturation"), 100),
                (recorded_name("container.cpu.utilization"), 3),
            ]),
            raw: 200,
        };
        let starts = HashMap::from([(
            recorded_name("disk.utilization"),
            start() + chrono::Duration::minutes(10),
        )]);
        let (read, raw) = decide(&candidates, &at_start, &starts, start());
        assert_eq!(
            read,
            HashSet::from(["cpu.utilization".into(), "container.cpu.utilization".into()])
        );
        assert_eq!(
            raw,
            [
                (
                    "memory.saturation".to_string(),
                    Shortfall::Partial {
                        covered: 100,
                        raw: 200
                    }
                ),
                (
                    "disk.utilization".to_string(),
                    Shortfall::Late(Some(Duration::from_secs(600)))
                ),
            ]
        );
        let said = notice(2, 50, "2m", &raw);
        assert!(
            said.starts_with("recorded series: 2 of 50 checks read"),
            "{said}"
        );
        assert!(
            said.contains("1 check(s) evaluate their raw expressions: recorded series start 10m into the window (disk.utilization)"),
            "{said}"
        );
        assert!(
            said.contains("recorded series cover 100 of 200 instances (memory.saturation)"),
            "{said}"
        );
    }

    #[test]
    fn a_long_list_of_checks_is_cut_short() {
        let raw: Vec<(String, Shortfall)> = (0..7)
            .map(|i| (format!("c{i}"), Shortfall::Late(None)))
            .collect();
        let said = notice(0, 7, "1m", &raw);
        assert!(
            said.ends_with("no recorded series at the window's start (c0, c1, c2, c3, … 3 more)"),
            "{said}"
        );
    }

    #[test]
    fn the_coverage_query_counts_recorded_and_raw_instances_at_once() {
        let selector = Selector::parse(r#"job="node""#).expect("selector");
        let q = coverage_query(&["gregg_insights:a", "gregg_insights:b"], "2m", &selector);
        assert_eq!(
            q,
            r#"count by (__name__) (group by (__name__, instance) ({__name__=~"gregg_insights:a|gregg_insights:b", gregg_rate="2m", job="node"})) or label_replace(count(group by (instance) (node_cpu_seconds_total{job="node",cpu="0",mode="idle"})), "gregg_raw_instances", "1", "", "")"#
        );
    }
}
