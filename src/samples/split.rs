//! Sending a query in instance groups and folding every group into one state: the engine
//! answers each part within its limits, and the caller's memory stays bounded by what the
//! fold keeps (the series of one group are decoded at a time). The USE checks and guards, the
//! inventory and the other methods' per-instance measures all go through here.
//!
//! ```text
//!  planned groups (groups.rs) ─► part 1 … part n, one after another, folded into one state
//!        ▲                                      │ the engine refused a part for its size
//!        └──── twice as many groups, from the ◄─┘ (at most MAX_HALVINGS times; after an
//!              start state again                   engine timeout, once)
//! ```
//!
//! Each group is a range of instance names (from its first instance up to the next group's
//! first), and the ranges meet end to start: every series falls in exactly one part, the
//! instances the inventory did not list included, and folding the parts in turn gives what the
//! whole query would have given. A part's query text is as long whatever the group's size.

use crate::{
    prometheus::{ApiErrorKind, PrometheusError, Series, SizeRefusal},
    promql::{quoted_literal_len, Selector, MAX_BOUND_CHARS, MAX_PREFIX_BYTES, MAX_PREFIX_CHARS},
};

use super::{
    groups::{next_after_refusal, partition, planned_groups, retry_allowed, MAX_PARTS},
    Over, QueryLog, Recorder, Timing,
};

/// The query, as text its instance groups are rendered from.
pub struct GroupedQuery<'a> {
    /// What it is for (a check id, `inventory/collectors`), for the query record and notices.
    pub purpose: &'a str,
    /// How a part's PromQL is written from its selector.
    pub text: QueryText<'a>,
    /// Instant or range.
    pub over: Over<'a>,
}

/// How the PromQL of one part is written from the part's selector.
#[derive(Clone, Copy)]
pub enum QueryText<'a> {
    /// A catalog template (`${selector}`, `${rate}`, `${window}`) rendered on a time grid.
    Template(&'a str, &'a Timing),
    /// PromQL built in code from the selector (the inventory's and the methods' queries):
    /// every series selector of the query must take the given selector, so that the part
    /// reads only its instances.
    Built(&'a (dyn Fn(&Selector) -> String + Sync)),
}

impl QueryText<'_> {
    /// The PromQL of the part whose selector is `selector`.
    fn render(&self, selector: &Selector) -> Result<String, PrometheusError> {
        match self {
            // The template rendered once already for the whole selection (the caller's
            // check), and the same placeholders render for any selector: this is not
            // expected to fail.
            QueryText::Template(template, timing) => timing
                .render(template, &selector.to_string())
                .map_err(|e| PrometheusError::Api {
                    kind: ApiErrorKind::BadData,
                    message: e.to_string(),
                }),
            QueryText::Built(build) => Ok(build(selector)),
        }
    }
}

/// Which instances the query covers, and what one instance weighs.
pub struct Coverage<'a> {
    /// The query's selector, before it is narrowed to a group.
    pub selector: &'a Selector,
    /// The instances it covers, sorted. Empty: unknown, the query is sent whole.
    pub instances: &'a [String],
    /// The estimate of the samples the query loads per instance
    /// ([`super::groups::estimated_samples`] for a check on its grid).
    pub samples_per_instance: u64,
    /// Samples one query may load.
    pub budget: u64,
}

/// Fold the query's series into `start`, in as many instance groups as the budget needs, and
/// in twice as many each time the engine refuses a part for its size. Failures other than a
/// refusal, a refusal once the halvings are used up, and a second engine timeout (an
/// overloaded server is not sent ever more queries) are returned as they are.
pub async fn fold_in_groups<A, F>(
    recorder: &Recorder<'_>,
    log: &mut QueryLog,
    query: &GroupedQuery<'_>,
    coverage: &Coverage<'_>,
    (start, on_series, kept): (A, F, fn(&A) -> usize),
) -> Result<A, PrometheusError>
where
    A: Clone + Send + 'static,
    F: FnMut(&mut A, Series) + Clone + Send + 'static,
{
    let instances = coverage.instances.len();
    let mut groups = planned_groups(instances, coverage.samples_per_instance, coverage.budget);
    let mut refusals: Vec<SizeRefusal> = Vec::new();
    let sent_before = log.queries.len();
    loop {
        let attempt = (start.clone(), on_series.clone(), kept);
        match fold_parts(recorder, log, query, coverage, groups, attempt).await {
            Ok(acc) => {
                if let Some(first) = refusals.first() {
                    log.warn(format!(
                        "{}: the engine refused the query for its size ({}) {} time(s); it was fetched in {groups} instance groups instead",
                        query.purpose,
                        first.as_str(),
                        refusals.len()
                    ));
                }
                return Ok(acc);
            }
            Err(e) => {
                let Some(refusal) = e.size_refusal() else {
                    return Err(e);
                };
                refusals.push(refusal);
                let allowed = retry_allowed(&refusals);
                let next = allowed
                    .then(|| next_after_refusal(groups, instances, refusals.len() as u32 - 1))
                    .flatten();
                match next {
                    Some(next) => groups = next,
                    None => {
                        let sent = log.queries.len().saturating_sub(sent_before);
                        // At the cap (groups never exceed one an instance), not stopped by a
                        // second engine timeout.
                        let capped = groups == MAX_PARTS && allowed;
                        gave_up(log, query.purpose, (refusal, groups, sent), capped);
                        return Err(e);
                    }
                }
            }
        }
    }
}

/// Say that the query for `purpose` was refused (`why`) even in `groups` instance groups after
/// `sent` requests: the caller may drop what it was for (the stopped instances, a measure) and
/// carry on, and the refusal notices leave out purposes fetched in groups, so without this the
/// loss would go unsaid. A query refused whole and never split is left to those notices.
/// `capped`: the groups stopped at [`MAX_PARTS`], not at one instance each, and the way out
/// is the engine's limit.
fn gave_up(
    log: &mut QueryLog,
    purpose: &str,
    (why, groups, sent): (SizeRefusal, usize, usize),
    capped: bool,
) {
    if groups <= 1 {
        return;
    }
    let mut notice = format!(
        "{purpose}: refused for its size ({}) even in {groups} instance groups ({sent} requests)",
        why.as_str()
    );
    if capped {
        notice.push_str(&format!(
            "; no query is sent in more than {MAX_PARTS} parts: the engine's limit is too low for this fleet, raise it (and the data source's querySampleBudget with it)"
        ));
    }
    log.warn(notice);
}

/// One attempt: the query in `groups` parts, one after another, each folded into the state
/// the previous one left.
async fn fold_parts<A, F>(
    recorder: &Recorder<'_>,
    log: &mut QueryLog,
    query: &GroupedQuery<'_>,
    coverage: &Coverage<'_>,
    groups: usize,
    (mut acc, on_series, kept): (A, F, fn(&A) -> usize),
) -> Result<A, PrometheusError>
where
    A: Send + 'static,
    F: FnMut(&mut A, Series) + Clone + Send + 'static,
{
    let selectors = part_selectors(coverage, groups);
    let whole = selectors.len() <= 1;
    let count = selectors.len();
    for (i, selector) in selectors.into_iter().enumerate() {
        let promql = query.text.render(&selector)?;
        let before = kept(&acc);
        let counted = move |a: &A| kept(a).saturating_sub(before);
        let answer = recorder
            .fold(
                log,
                query.purpose,
                &promql,
                query.over,
                acc,
                on_series.clone(),
                counted,
            )
            .await;
        if !whole {
            // The recorder has just recorded this part (answered or refused): say which it was.
            if let Some(record) = log.queries.last_mut() {
                record.group = Some((i + 1, count));
            }
        }
        acc = answer?;
    }
    Ok(acc)
}

/// The selectors of the query's parts: the whole selector, or one per instance group, each a
/// range of instance names from its first instance up to the next group's first
/// ([`Selector::narrowed_to_range`]); the first group is open below and the last above. The
/// ranges meet end to start, so a series whose instance the inventory did not list (a host
/// that stopped reporting inside the window, often the one that crashed) still falls in
/// exactly one part, as it would have been in the whole query's answer.
fn part_selectors(coverage: &Coverage<'_>, groups: usize) -> Vec<Selector> {
    if groups <= 1 || coverage.instances.is_empty() {
        return vec![coverage.selector.clone()];
    }
    // Ranges follow the list's order: unsorted, ranges would overlap (series counted twice) or
    // be empty. Callers pass sorted lists; a copy is sorted otherwise, cheap next to the queries.
    let sorted_copy;
    let instances = if coverage.instances.is_sorted() {
        coverage.instances
    } else {
        let mut copy = coverage.instances.to_vec();
        copy.sort_unstable();
        sorted_copy = copy;
        &sorted_copy[..]
    };
    let prefix = fleet_prefix(instances);
    // Behind a prefix, one more part takes the names without it: still at most `MAX_PARTS`.
    let ranges = if prefix.is_empty() {
        groups
    } else {
        groups.min(MAX_PARTS - 1)
    };
    let parts = partition(instances, ranges);
    let firsts: Vec<Option<&str>> = parts
        .iter()
        .map(|part| part.first().and_then(|i| i.get(prefix.len()..)))
        .collect();
    // A range is empty only when two bounds are the same once cut to their first
    // `MAX_BOUND_CHARS` characters (after the prefix); its instances are then in the next range.
    let ranges = (0..parts.len()).filter_map(|i| {
        let from = if i == 0 { None } else { firsts[i] };
        let to = firsts.get(i + 1).copied().flatten();
        coverage
            .selector
            .narrowed_to_prefixed_range(prefix, from, to)
    });
    let mut selectors: Vec<Selector> = ranges.collect();
    if !prefix.is_empty() {
        // The instances without the fleet's prefix (an unlisted host): one more part.
        selectors.push(coverage.selector.outside_prefix(prefix));
    }
    selectors
}

/// The prefix the sorted `instances` all share, up to [`MAX_PREFIX_CHARS`] characters and
/// [`MAX_PREFIX_BYTES`] of query text, when it
/// is long enough that names would otherwise be alike once cut to [`MAX_BOUND_CHARS`] (half of
/// it or more); empty otherwise, and the ranges are written on the whole names. Their first
/// and last share what all of them share.
fn fleet_prefix(instances: &[String]) -> &str {
    let (Some(first), Some(last)) = (instances.first(), instances.last()) else {
        return "";
    };
    let mut text_bytes = 0;
    let shared = first
        .char_indices()
        .zip(last.chars())
        .take(MAX_PREFIX_CHARS)
        .take_while(|((_, a), b)| {
            text_bytes += quoted_literal_len(*a);
            a == b && text_bytes <= MAX_PREFIX_BYTES
        })
        .map(|((at, a), _)| at + a.len_utf8());
    let (chars, end) = shared.fold((0, 0), |(n, _), end| (n + 1, end));
    if chars < MAX_BOUND_CHARS / 2 {
        return "";
    }
    &first[..end]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn grouped_parts_are_consecutive_ranges_of_instance_names() {
        let selector = Selector::parse(r#"job="node""#).expect("selector");
        let instances = ["a:1".to_string(), "b:1".to_string(), "c:1".to_string()];
        let coverage = Coverage {
            selector: &selector,
            instances: &instances,
            samples_per_instance: 1,
            budget: 1,
        };
        assert_eq!(
            part_selectors(&coverage, 1),
            std::slice::from_ref(&selector)
        );
        assert_eq!(
            part_selectors(&coverage, 2),
            [
                selector
                    .narrowed_to_range(None, Some("c:1"))
                    .expect("a range"),
                selector
                    .narrowed_to_range(Some("c:1"), None)
                    .expect("a range"),
            ]
        );
        assert_eq!(
            part_selectors(&coverage, 3)[1],
            selector
                .narrowed_to_range(Some("b:1"), Some("c:1"))
                .expect("a range")
        );
    }

    #[test]
    fn an_unsorted_instance_list_gives_the_ranges_of_the_sorted_one() {
        let selector = Selector::parse(r#"job="node""#).expect("selector");
        let sorted: Vec<String> = ["a:1", "b:1", "c:1", "d:1"].map(String::from).to_vec();
        let unsorted: Vec<String> = ["c:1", "a:1", "d:1", "b:1"].map(String::from).to_vec();
        let parts = |instances: &[String]| {
            part_selectors(
                &Coverage {
                    selector: &selector,
                    instances,
                    samples_per_instance: 1,
                    budget: 1,
                },
                2,
            )
        };
        assert_eq!(parts(&unsorted), parts(&sorted));
        assert_eq!(
            parts(&unsorted)[1],
            selector
                .narrowed_to_range(Some("c:1"), None)
                .expect("a range")
        );
    }

    #[test]
    fn every_catalog_query_in_a_group_of_the_longest_names_fits_the_default_query_length() {
        // VictoriaMetrics' default `-search.maxQueryLen`.
        const MAX_QUERY_LEN: usize = 16_384;
        let selector = Selector::parse(r#"job="node""#).expect("selector");
        // Two bounds apart from their first character, longer than the cut, dots (escaped)
        // everywhere: the longest range there is.
        let from = "a.".repeat(40);
        let to = "b.".repeat(40);
        let part = selector
            .narrowed_to_range(Some(&from), Some(&to))
            .expect("a range")
            .to_string();
        // The same range behind the longest fleet-wide prefix kept, dots again.
        let prefix = ".".repeat(crate::promql::MAX_PREFIX_CHARS);
        let prefixed = selector
            .narrowed_to_prefixed_range(&prefix, Some(&from), Some(&to))
            .expect("a range")
            .to_string();
        let longest = [&part, &prefixed]
            .into_iter()
            .max_by_key(|p| p.len())
            .expect("parts");
        let timing = crate::samples::Timing::new(
            chrono::DateTime::from_timestamp(1_748_865_600, 0).expect("time"),
            std::time::Duration::from_secs(600),
            Some(std::time::Duration::from_secs(15)),
        );
        for check in crate::catalog::builtin().checks() {
            let query = timing.render(&check.query, longest).expect("renders");
            assert!(
                query.len() <= MAX_QUERY_LEN,
                "{}: {} bytes",
                check.id,
                query.len()
            );
        }
    }

    #[test]
    fn a_fleet_sharing_a_40_character_prefix_splits_into_the_planned_parts() {
        let selector = Selector::parse(r#"job="node""#).expect("selector");
        let prefix = "gke-production-europe-west1-default-pool-";
        assert_eq!(prefix.len(), 41);
        let mut sorted: Vec<String> = (0..1_000)
            .map(|i| format!("{prefix}{:08x}-{i:04}:9100", i * 7919))
            .collect();
        sorted.sort();
        let coverage = Coverage {
            selector: &selector,
            instances: &sorted,
            samples_per_instance: 1,
            budget: 1,
        };
        let parts = part_selectors(&coverage, 10);
        assert_eq!(
            parts.len(),
            11,
            "ten ranges and the names outside the prefix"
        );
        let matches = |part: &Selector, value: &str| {
            part.matchers()
                .iter()
                .filter(|m| m.name == "instance")
                .all(|m| {
                    let re = regex::Regex::new(&format!("^(?:{})$", m.value)).expect("valid");
                    re.is_match(value) == (m.op == crate::promql::MatchOp::Regex)
                })
        };
        let mut sizes = vec![0; parts.len()];
        let others = ["", "gke-production", "gke-staging-x:9100", "zzz", prefix];
        for value in sorted.iter().map(String::as_str).chain(others) {
            let in_parts: Vec<usize> = (0..parts.len())
                .filter(|&k| matches(&parts[k], value))
                .collect();
            assert_eq!(in_parts.len(), 1, "{value:?} in {in_parts:?}");
            if value.starts_with(prefix) && value.len() > prefix.len() {
                sizes[in_parts[0]] += 1;
            }
        }
        assert_eq!(sizes[..10], [100; 10], "{sizes:?}");
        // At the cap, the part for the names outside the prefix is one of `MAX_PARTS`.
        assert_eq!(part_selectors(&coverage, MAX_PARTS).len(), MAX_PARTS);
    }

    /// A prefix of characters written as `\x{…}` escapes is cut by the bytes it takes in the
    /// query, not only by its characters: the catalog's longest query stays under 16 KB.
    #[test]
    fn a_prefix_is_cut_by_the_query_text_it_takes() {
        let escaped = "é".repeat(MAX_PREFIX_CHARS);
        let instances = [format!("{escaped}a"), format!("{escaped}b")];
        let prefix = fleet_prefix(&instances);
        let bytes: usize = prefix.chars().map(quoted_literal_len).sum();
        assert!(bytes <= MAX_PREFIX_BYTES, "{bytes} bytes");
        assert!(prefix.chars().count() >= MAX_BOUND_CHARS / 2);
        assert!(prefix.chars().count() < MAX_PREFIX_CHARS);
        let dots = ".".repeat(MAX_PREFIX_CHARS);
        let instances = [format!("{dots}a"), format!("{dots}b")];
        assert_eq!(
            fleet_prefix(&instances),
            dots,
            "the worst case the tests hold"
        );
    }

    #[test]
    fn a_part_of_a_100000_host_fleet_is_a_short_query() {
        // VictoriaMetrics refuses query text over 16,384 bytes by default.
        let selector = Selector::parse(r#"job="node""#).expect("selector");
        let mut sorted: Vec<String> = (0..100_000)
            .map(|i| {
                format!(
                    "ip-10-{}-{}-{}.eu-west-1.compute.internal:9100",
                    i / 65536,
                    i / 256 % 256,
                    i % 256
                )
            })
            .collect();
        sorted.sort();
        let coverage = Coverage {
            selector: &selector,
            instances: &sorted,
            samples_per_instance: 176,
            budget: 1,
        };
        let longest = part_selectors(&coverage, 5_000)
            .iter()
            .map(|s| s.to_string().len())
            .max()
            .expect("parts");
        assert!(longest < 4_096, "{longest} bytes");
    }
}
