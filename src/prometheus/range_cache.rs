//! Range answers shared across overlapping windows.
//!
//! During an incident people open the same dashboards over different windows: a 1 h analysis
//! and a 30 m one that end at the same time send the same range queries at the same step, and
//! the 30 m answer is exactly the last half of the 1 h one. Prometheus evaluates every point of
//! a range query at `start + k × step` independently of the others, so a cached answer over
//! `[s₀, e₀]` answers any request for the same query and step whose points lie on the same grid
//! (`start ≡ s₀ mod step`) inside `[s₀, e₀]`: its points between the new start and end are the
//! samples Prometheus would return (queries using `start()` or `end()`, whose values depend on
//! the range, are never cached).
//!
//! Bounds: entries live [`TTL`] (the newest points of a window that ends now are still
//! settling, late scrapes and rule evaluations land after them, so no answer is reused past
//! the TTL, the same freshness as the analysis cache); all entries together hold at most
//! [`BUDGET`] sample-equivalents (16 bytes each: a point is one, a series' labels and vectors
//! count the bytes the allocator hands out for them / 16), 4 MiB, least recently used dropped
//! first, and one answer over a quarter of the budget (1 MiB) is never kept. The bound is
//! tight because what the cache holds is not all it costs: an answer is copied as it streams
//! in until it outgrows an entry, and the allocator's overhead comes on top. With the former
//! 8 MiB (as then weighed, B-tree nodes left out) the plugin's peak RSS over one analysis of
//! 10,000 hosts was 62 MiB; 50 MiB without the cache (docs/performance.md). A 1 h answer of
//! a 100-host fleet (a series per host, 60 points) weighs about 170 KiB. Answers with
//! warnings or infos (partial data, samples outside the range, PromQL's notes) are not kept.
//! Keys carry the data source's identity and settings revision: a data source whose settings
//! changed never reuses an answer from before.

use std::{
    collections::HashMap,
    sync::{Arc, Mutex},
    time::Duration,
};

use tokio::time::Instant;

use super::response::{Answer, Series};

/// Receives the cache's lookups and size, for the plugin's own metrics.
pub trait RangeCacheObserver: Send + Sync {
    /// A range query was looked up: `hit` when a cached answer served it.
    fn range_cache_lookup(&self, hit: bool);

    /// The cache now holds `samples` sample-equivalents.
    fn range_cache_held(&self, samples: u64);
}

/// How long an answer is reused.
pub const TTL: Duration = Duration::from_secs(30);

/// Sample-equivalents held at most over every data source: 4 MiB.
pub const BUDGET: u64 = (4 << 20) / 16;

/// Which answer: a data source (with its settings revision), a query and a step.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
struct Key {
    source: Arc<str>,
    query: String,
    step_ms: i64,
}

/// One cached answer over `[start_ms, end_ms]`.
struct Entry {
    start_ms: i64,
    end_ms: i64,
    series: Arc<Vec<Series>>,
    weight: u64,
    created: Instant,
    last_used: u64,
}

impl Entry {
    /// True when the points of `[start_ms, end_ms]` on this step's grid are all held here.
    fn covers(&self, start_ms: i64, end_ms: i64, step_ms: i64) -> bool {
        self.start_ms <= start_ms
            && end_ms <= self.end_ms
            && (start_ms - self.start_ms).rem_euclid(step_ms) == 0
    }
}

#[derive(Default)]
struct State {
    entries: HashMap<Key, Vec<Entry>>,
    held: u64,
    tick: u64,
}

/// The cache: one per plugin process, shared by every data source's client.
pub struct RangeCache {
    state: Mutex<State>,
    budget: u64,
    ttl: Duration,
    observer: Option<Arc<dyn RangeCacheObserver>>,
}

/// A client's handle on the cache: the cache and the identity of its data source.
#[derive(Clone)]
pub struct Shared {
    pub(super) cache: Arc<RangeCache>,
    pub(super) source: Arc<str>,
}

/// Millisecond bounds and step of a range, as Prometheus reads them.
#[derive(Clone, Copy, Debug)]
pub(super) struct Span {
    start_ms: i64,
    end_ms: i64,
    step_ms: i64,
}

impl Span {
    /// Points from `start_ms` to `end_ms` (Unix milliseconds), `step_ms` apart (at least 1).
    pub(super) fn new(start_ms: i64, end_ms: i64, step_ms: i64) -> Span {
        Span {
            start_ms,
            end_ms,
            step_ms: step_ms.max(1),
        }
    }
}

/// True for queries whose answer may be shared: not depending on the range itself.
pub(super) fn cacheable(promql: &str) -> bool {
    let compact: String = promql.chars().filter(|c| !c.is_whitespace()).collect();
    !compact.contains("start()") && !compact.contains("end()")
}

/// Bytes glibc's malloc takes for a block of `n` bytes: its 8-byte header, rounded up to 16,
/// at least 32 (nothing for an empty block, which Rust does not allocate).
fn chunk(n: u64) -> u64 {
    if n == 0 {
        0
    } else {
        ((n + 8).div_ceil(16) * 16).max(32)
    }
}

/// A B-tree leaf of `String` labels in its chunk: room for 11 keys and 11 values (528 bytes)
/// and its links, however few labels it holds.
const LABEL_NODE: u64 = 560;

/// Weight of `series` in sample-equivalents (16 bytes each, a point's size): the bytes the
/// allocator hands out for them. A series is 48 bytes in its vector, its label map a B-tree
/// node per 11 labels, each label's name and value a block of its own (at least 32 bytes),
/// its points one block. Labels, not points, are most of a short window's answer: a
/// node_exporter series with four labels holds some 860 bytes before its first point.
fn weigh(series: &[Series]) -> u64 {
    let text = |s: &String| chunk(s.len() as u64);
    series
        .iter()
        .map(|s| {
            let nodes = (s.labels.len() as u64).div_ceil(11).max(1);
            let labels: u64 = s.labels.iter().map(|(k, v)| text(k) + text(v)).sum();
            let points = chunk(16 * s.points.len() as u64);
            (48 + nodes * LABEL_NODE + labels + points).div_ceil(16)
        })
        .sum()
}

/// The points of `series` within `span`, series left empty dropped (Prometheus omits a series
/// with no point in the range).
pub(super) fn slice(series: &[Series], span: Span) -> Vec<Series> {
    series
        .iter()
        .filter_map(|s| {
            let points: Vec<(f64, f64)> = s
                .points
                .iter()
                .filter(|(t, _)| {
                    let ms = (t * 1000.0).round() as i64;
                    ms >= span.start_ms && ms <= span.end_ms
                })
                .copied()
                .collect();
            (!points.is_empty()).then(|| Series {
                labels: s.labels.clone(),
                points,
            })
        })
        .collect()
}

impl RangeCache {
    /// An empty cache holding at most `budget` sample-equivalents, each answer for `ttl`;
    /// lookups and the samples held are reported to `observer`.
    pub fn new(budget: u64, ttl: Duration, observer: Option<Arc<dyn RangeCacheObserver>>) -> Self {
        Self {
            state: Mutex::default(),
            budget,
            ttl,
            observer,
        }
    }

    /// The plugin's cache: [`BUDGET`] and [`TTL`].
    pub fn standard(observer: Option<Arc<dyn RangeCacheObserver>>) -> Self {
        Self::new(BUDGET, TTL, observer)
    }

    /// The largest answer kept, in sample-equivalents.
    pub(super) fn entry_budget(&self) -> u64 {
        self.budget / 4
    }

    /// Sample-equivalents held now.
    pub fn held(&self) -> u64 {
        self.lock().held
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// A cached answer holding every point of `span` for `query` from `source`, if fresh.
    pub(super) fn lookup(
        &self,
        source: &Arc<str>,
        query: &str,
        span: Span,
    ) -> Option<Arc<Vec<Series>>> {
        let key = Key {
            source: source.clone(),
            query: query.to_string(),
            step_ms: span.step_ms,
        };
        let (found, held) = {
            let mut state = self.lock();
            self.expire(&mut state);
            state.tick += 1;
            let tick = state.tick;
            let found = state.entries.get_mut(&key).and_then(|entries| {
                let entry = entries
                    .iter_mut()
                    .find(|e| e.covers(span.start_ms, span.end_ms, span.step_ms))?;
                entry.last_used = tick;
                Some(entry.series.clone())
            });
            (found, state.held)
        };
        if let Some(observer) = &self.observer {
            observer.range_cache_lookup(found.is_some());
            observer.range_cache_held(held);
        }
        found
    }

    /// Keep `series`, the answer over `span`, unless it is too large; entries it covers are
    /// dropped, then the least recently used ones until the budget holds.
    pub(super) fn store(&self, source: &Arc<str>, query: &str, span: Span, series: Vec<Series>) {
        let weight = weigh(&series);
        if weight > self.entry_budget() {
            return;
        }
        let key = Key {
            source: source.clone(),
            query: query.to_string(),
            step_ms: span.step_ms,
        };
        let held = {
            let mut state = self.lock();
            self.expire(&mut state);
            state.tick += 1;
            let tick = state.tick;
            let entries = state.entries.entry(key).or_default();
            let before: u64 = entries.iter().map(|e| e.weight).sum();
            let new = Entry {
                start_ms: span.start_ms,
                end_ms: span.end_ms,
                series: Arc::new(series),
                weight,
                created: Instant::now(),
                last_used: tick,
            };
            entries.retain(|e| !new.covers(e.start_ms, e.end_ms, span.step_ms));
            entries.push(new);
            let after: u64 = entries.iter().map(|e| e.weight).sum();
            state.held = state.held + after - before;
            while state.held > self.budget {
                if !evict_oldest(&mut state) {
                    break;
                }
            }
            state.held
        };
        if let Some(observer) = &self.observer {
            observer.range_cache_held(held);
        }
    }

    /// Drop the answers past their TTL now rather than at the next lookup (the plugin calls it
    /// once its analyses' results expire, so that an idle plugin holds no answers).
    pub fn expire_stale(&self) {
        let held = {
            let mut state = self.lock();
            self.expire(&mut state);
            state.held
        };
        if let Some(observer) = &self.observer {
            observer.range_cache_held(held);
        }
    }

    /// Drop entries older than the TTL.
    fn expire(&self, state: &mut State) {
        let ttl = self.ttl;
        let mut freed = 0;
        state.entries.retain(|_, entries| {
            entries.retain(|e| {
                let fresh = e.created.elapsed() < ttl;
                if !fresh {
                    freed += e.weight;
                }
                fresh
            });
            !entries.is_empty()
        });
        state.held -= freed;
    }
}

/// Drop the least recently used entry; false when there is none.
fn evict_oldest(state: &mut State) -> bool {
    let oldest = state
        .entries
        .iter()
        .flat_map(|(k, entries)| {
            entries
                .iter()
                .enumerate()
                .map(move |(i, e)| (k, i, e.last_used))
        })
        .min_by_key(|(_, _, used)| *used)
        .map(|(k, i, _)| (k.clone(), i));
    let Some((key, index)) = oldest else {
        return false;
    };
    if let Some(entries) = state.entries.get_mut(&key) {
        let removed = entries.swap_remove(index);
        state.held -= removed.weight;
        if entries.is_empty() {
            state.entries.remove(&key);
        }
    }
    true
}

/// The series of a folded answer, copied as they stream past while they fit in one entry.
pub(super) struct Keep {
    /// `None` once the answer outgrew an entry.
    pub(super) series: Option<Vec<Series>>,
    weight: u64,
}

impl Default for Keep {
    fn default() -> Self {
        Keep {
            series: Some(Vec::new()),
            weight: 0,
        }
    }
}

impl Keep {
    /// Copy `series` unless the answer so far outgrows `budget`.
    pub(super) fn offer(&mut self, series: &Series, budget: u64) {
        let Some(kept) = &mut self.series else {
            return;
        };
        self.weight += weigh(std::slice::from_ref(series));
        if self.weight > budget {
            self.series = None;
        } else {
            kept.push(series.clone());
        }
    }
}

/// Hand the points of `cached` within `span` to `on_series`, as a fold of a fresh answer would.
/// Entries are bounded (a quarter of the budget), so this is a few milliseconds of work at most
/// and runs in place.
pub(super) fn replay<A, F>(cached: &[Series], span: Span, mut acc: A, mut on_series: F) -> Answer<A>
where
    F: FnMut(&mut A, Series),
{
    for series in slice(cached, span) {
        on_series(&mut acc, series);
    }
    Answer {
        data: acc,
        warnings: Vec::new(),
        infos: Vec::new(),
    }
}

#[cfg(test)]
#[path = "range_cache_tests.rs"]
mod tests;
