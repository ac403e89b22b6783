use super::*;

use std::collections::BTreeMap;

/// End of the test windows, Unix seconds.
const END: i64 = 1_748_865_600;

/// Points every `step` seconds from `start` to `end` (Unix seconds).
fn range(start: i64, end: i64, step: i64) -> Span {
    Span::new(start * 1000, end * 1000, step * 1000)
}

/// The range of a `minutes` window ending at `END` with a 60 s step (as `Timing::range`).
fn window(minutes: i64) -> Span {
    range(END - (minutes - 1) * 60, END, 60)
}

/// A series with a point every 60 s over `span`, valued by its time.
fn series(instance: &str, span: &Span) -> Series {
    let mut labels = BTreeMap::new();
    labels.insert("instance".to_string(), instance.to_string());
    let (start, end) = (span.start_ms / 1000, span.end_ms / 1000);
    Series {
        labels,
        points: (start..=end)
            .step_by(60)
            .map(|t| (t as f64, (t % 7919) as f64))
            .collect(),
    }
}

fn source(name: &str) -> Arc<str> {
    Arc::from(name)
}

#[test]
fn a_shorter_window_on_the_same_grid_is_the_slice_prometheus_would_answer() {
    let cache = RangeCache::new(BUDGET, TTL, None);
    let hour = window(60);
    let half = window(30);
    // One series has points only in the first half hour: Prometheus omits it from the 30 m answer.
    let early = series("early:9100", &range(END - 59 * 60, END - 40 * 60, 60));
    cache.store(
        &source("a"),
        "up",
        hour,
        vec![series("host:9100", &hour), early],
    );
    let cached = cache
        .lookup(&source("a"), "up", half)
        .expect("the 30 m window lies within the 1 h answer, on its grid");
    let sliced = slice(&cached, half);
    assert_eq!(sliced, vec![series("host:9100", &half)]);
    assert_eq!(sliced[0].points.len(), 30);
}

#[test]
fn only_the_same_source_query_step_and_grid_are_answered() {
    let cache = RangeCache::new(BUDGET, TTL, None);
    let hour = window(60);
    cache.store(&source("a"), "up", hour, vec![series("h", &hour)]);
    let half = window(30);
    assert!(cache.lookup(&source("b"), "up", half).is_none());
    assert!(cache.lookup(&source("a"), "up == 1", half).is_none());
    let other_step = range(END - 29 * 60, END, 30);
    assert!(cache.lookup(&source("a"), "up", other_step).is_none());
    // Off the grid by 15 s: Prometheus would evaluate other times.
    let off_grid = range(END - 29 * 60 - 15, END - 15, 60);
    assert!(cache.lookup(&source("a"), "up", off_grid).is_none());
    // Past the cached end (a later refresh): not all points are held.
    let later = range(END - 28 * 60, END + 60, 60);
    assert!(cache.lookup(&source("a"), "up", later).is_none());
    // The same window, and one inside it ending earlier on the grid, are held.
    assert!(cache.lookup(&source("a"), "up", hour).is_some());
    let earlier = range(END - 50 * 60, END - 20 * 60, 60);
    assert!(cache.lookup(&source("a"), "up", earlier).is_some());
}

#[test]
fn queries_that_depend_on_the_range_are_never_shared() {
    assert!(cacheable("rate(node_cpu_seconds_total[1m])"));
    assert!(!cacheable("max_over_time(up[1h] @ end())"));
    assert!(!cacheable("up @ start ( )"));
}

#[test]
fn the_least_recently_used_answers_go_first_when_the_budget_is_full() {
    let hour = window(60);
    let one = weigh(&[series("h", &hour)]);
    // Room for eight answers of one series each; one answer may hold two (a quarter).
    let cache = RangeCache::new(one * 8 + one / 2, TTL, None);
    // An answer larger than a quarter of the budget is never kept.
    let three = ["h1", "h2", "h3"].map(|h| series(h, &hour)).to_vec();
    cache.store(&source("a"), "big", hour, three);
    assert_eq!(cache.held(), 0);
    let queries: Vec<String> = (1..=9).map(|i| format!("q{i}")).collect();
    for query in &queries[..8] {
        cache.store(&source("a"), query, hour, vec![series("h", &hour)]);
    }
    assert_eq!(cache.held(), one * 8);
    // q1 is used again, so q2 is now the least recently used.
    assert!(cache.lookup(&source("a"), "q1", hour).is_some());
    cache.store(&source("a"), &queries[8], hour, vec![series("h", &hour)]);
    assert_eq!(cache.held(), one * 8);
    let held = |q: &str| cache.lookup(&source("a"), q, hour).is_some();
    assert!(!held("q2"), "the least recently used went first");
    assert!(queries.iter().filter(|q| *q != "q2").all(|q| held(q)));
}

#[test]
fn an_answer_covering_an_older_one_replaces_it() {
    let cache = RangeCache::new(BUDGET, TTL, None);
    let half = window(30);
    let hour = window(60);
    cache.store(&source("a"), "up", half, vec![series("h", &half)]);
    cache.store(&source("a"), "up", hour, vec![series("h", &hour)]);
    assert_eq!(cache.held(), weigh(&[series("h", &hour)]));
}

#[tokio::test(start_paused = true)]
async fn answers_are_not_reused_past_the_ttl() {
    let cache = RangeCache::new(BUDGET, TTL, None);
    let hour = window(60);
    cache.store(&source("a"), "up", hour, vec![series("h", &hour)]);
    tokio::time::advance(TTL - Duration::from_secs(1)).await;
    assert!(cache.lookup(&source("a"), "up", hour).is_some());
    tokio::time::advance(Duration::from_secs(1)).await;
    assert!(cache.lookup(&source("a"), "up", hour).is_none());
    assert_eq!(cache.held(), 0);
}

#[test]
fn a_series_weighs_what_the_allocator_hands_out_for_it() {
    let mut labels = BTreeMap::new();
    labels.insert("instance".to_string(), "host-00001:9100".to_string());
    labels.insert("job".to_string(), "node".to_string());
    let two_labels = |points: usize| Series {
        labels: labels.clone(),
        points: vec![(0.0, 0.0); points],
    };
    // 48 in the vector, one 560-byte node, four 32-byte texts; the points' block with its
    // header rounded up to 16 bytes (656 for 40 points).
    assert_eq!(weigh(&[two_labels(0)]) * 16, 48 + 560 + 4 * 32);
    assert_eq!(weigh(&[two_labels(40)]) * 16, 48 + 560 + 4 * 32 + 656);
    // More than 11 labels take more nodes (counted as leaves: series that wide are rare).
    let twelve: BTreeMap<String, String> = (0..12)
        .map(|i| (format!("l{i}"), "v".to_string()))
        .collect();
    let many = Series {
        labels: twelve,
        points: Vec::new(),
    };
    assert_eq!(weigh(&[many]) * 16, 48 + 2 * 560 + 24 * 32);
}

#[tokio::test(start_paused = true)]
async fn stale_answers_can_be_dropped_without_a_lookup() {
    let cache = RangeCache::new(BUDGET, TTL, None);
    let hour = window(60);
    cache.store(&source("a"), "up", hour, vec![series("h", &hour)]);
    cache.expire_stale();
    assert!(cache.held() > 0, "a fresh answer stays");
    tokio::time::advance(TTL).await;
    assert!(cache.held() > 0, "nothing looked it up: still held");
    cache.expire_stale();
    assert_eq!(cache.held(), 0);
}

#[test]
fn a_folded_answer_is_kept_only_while_it_fits_one_entry() {
    let hour = window(60);
    let one = weigh(&[series("h", &hour)]);
    let mut keep = Keep::default();
    keep.offer(&series("h1", &hour), one * 2);
    keep.offer(&series("h2", &hour), one * 2);
    assert_eq!(keep.series.as_ref().map(Vec::len), Some(2));
    keep.offer(&series("h3", &hour), one * 2);
    assert!(
        keep.series.is_none(),
        "past the entry budget nothing is kept"
    );
    keep.offer(&series("h4", &hour), one * 2);
    assert!(keep.series.is_none());
}

#[test]
fn a_replayed_fold_sees_the_sliced_series_in_order() {
    let hour = window(60);
    let half = window(30);
    let cached = vec![series("a", &hour), series("b", &hour)];
    let answer = replay(&cached, half, Vec::new(), |acc: &mut Vec<Series>, s| {
        acc.push(s)
    });
    assert_eq!(answer.data, vec![series("a", &half), series("b", &half)]);
    assert!(answer.warnings.is_empty());
}
