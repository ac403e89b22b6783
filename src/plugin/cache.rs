//! A short-lived analysis cache with single flight.
//!
//! A dashboard asks for the report, the annotations, the USE matrix and the alert frame of the
//! same analysis at once, in separate queries (often separate requests). Each asks this cache
//! for the analysis its filters and time describe; the first runs it, the others wait for that
//! run and share its result, so Prometheus sees one analysis, not four. Entries live
//! [`TTL`] from the moment they are ready; failures are not kept beyond the waiters of the run
//! that failed. Finished results are kept within [`BUDGET`] bytes in all (as [`Weigh`]
//! estimates them), the oldest dropped first. A run for a key drops at once the finished
//! results its key [`Supersedes`]: the same question at an earlier time. A live dashboard over
//! 10,000 hosts asks for a new analysis every refresh (some 11 MiB each), and the one it has
//! moved past would otherwise stay resident through the next run, lifting the plugin's peak
//! by its size.
//!
//! A run belongs to the call that started it: nothing is spawned. When that call is dropped
//! (Grafana's deadline passed or it cancelled the request, see [`super::deadline`]) the run
//! stops with it, its Prometheus requests included, and one of the calls waiting for the same
//! key takes over and runs it again (tokio's `OnceCell` hands the initialisation to the next
//! waiter). Keeping the run going while anyone still waits would mean spawning it and
//! reference-counting its waiters to abort it when the last one leaves; a run is rarely
//! cancelled while others wait for it (the panels of one refresh share one deadline), so
//! running it again costs little, whereas work that no request is waiting for is what an
//! incident can least afford.

use std::{
    collections::HashMap,
    future::Future,
    hash::Hash,
    sync::{Arc, Mutex},
    time::{Duration, Instant},
};

use chrono::{DateTime, Utc};

use tokio::sync::OnceCell;

/// How long a result is served again, counted from the moment it was ready: an analysis of a
/// 10,000-host fleet on a loaded engine can itself take longer than this, and counted from its
/// start it would be stale the moment it finished and never shared with the next refresh.
pub const TTL: Duration = Duration::from_secs(30);

/// How long a run still in progress stays in the cache for later callers to join. A run is
/// ended long before this by Grafana's deadline or the Prometheus timeouts; an entry older than
/// this whose run never finished belongs to a run cancelled with nobody waiting, and goes.
const IN_FLIGHT_LIMIT: Duration = Duration::from_secs(600);

pub use crate::request::key::TIME_BUCKET_SECONDS;

/// `at` rounded up to the time bucket: the panels of one refresh share one analysis, and
/// rounding up (not down) never hides the newest samples (an instant query sees the last
/// sample within Prometheus' lookback).
pub fn bucketed(at: DateTime<Utc>) -> DateTime<Utc> {
    let bucket = TIME_BUCKET_SECONDS;
    let seconds = at.timestamp() + i64::from(at.timestamp_subsec_nanos() > 0);
    DateTime::from_timestamp(
        seconds.div_euclid(bucket) * bucket
            + if seconds.rem_euclid(bucket) == 0 {
                0
            } else {
                bucket
            },
        0,
    )
    .unwrap_or(at)
}

/// More distinct analyses than this at once are unusual; the oldest are dropped first.
const MAX_ENTRIES: usize = 256;

/// Bytes of finished results kept at most (the newest result is always kept).
pub const BUDGET: usize = 8 << 20;

/// Keys that make others unlikely to be asked for again.
pub trait Supersedes {
    /// Whether a run for `self` makes the finished result of `other` unlikely to be asked for
    /// again within its TTL: the same question asked of an earlier time, as when a dashboard
    /// is refreshed (its time moved into a new bucket). Such a result is dropped when the run
    /// starts, not when it expires: the run's own peak is what the memory target is about.
    /// Only earlier times: a viewer whose clock runs behind, or a panel panned back, must not
    /// drop the result everyone else is about to ask for. What this costs is one run again
    /// when the earlier time is asked for within the TTL, as by a dashboard fixed in the past
    /// beside a live one asking the same question.
    fn supersedes(&self, other: &Self) -> bool;
}

/// An estimate of the memory a cached result holds.
pub trait Weigh {
    /// Approximate bytes, heap included.
    fn weight(&self) -> usize;
}

type Shared<T, E> = Arc<OnceCell<Result<Arc<T>, E>>>;

struct Entry<T, E> {
    /// When the run started, replaced by when its result was ready.
    created: Instant,
    cell: Shared<T, E>,
}

impl<T, E> Entry<T, E> {
    /// Whether later callers may still share this entry: a finished result within [`TTL`] of
    /// being ready, or a run still in progress.
    fn is_live(&self, ttl: Duration) -> bool {
        let age = self.created.elapsed();
        if self.cell.initialized() {
            age < ttl
        } else {
            age < IN_FLIGHT_LIMIT
        }
    }
}

/// Results of type `T` (or errors `E`) by key `K`.
pub struct Cache<K, T, E> {
    entries: Mutex<HashMap<K, Entry<T, E>>>,
    ttl: Duration,
}

/// Whether a result was computed by this call or shared.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Outcome {
    /// This call ran the computation.
    Computed,
    /// Another call's result (finished or in flight) was shared.
    Shared,
}

impl<K: Hash + Eq + Clone + Supersedes, T: Weigh, E: Clone> Cache<K, T, E> {
    /// An empty cache.
    pub fn new() -> Self {
        Self::with_ttl(TTL)
    }

    /// Drop the finished results past their TTL now rather than at the next lookup: the
    /// analysis a dashboard has moved past (or stopped asking for) is not kept until the next
    /// analysis is asked for, and at 10,000 hosts that next one may run for a minute.
    pub fn expire(&self) {
        let mut entries = self.entries.lock().unwrap_or_else(|p| p.into_inner());
        entries.retain(|_, e| e.is_live(self.ttl));
    }

    /// An empty cache serving results for `ttl` after they are ready (tests use a short one).
    fn with_ttl(ttl: Duration) -> Self {
        Self {
            entries: Mutex::new(HashMap::new()),
            ttl,
        }
    }

    /// The result for `key`: shared if one is fresh or in flight, otherwise computed by `run`.
    pub async fn get_or_run<F, Fut>(&self, key: K, run: F) -> (Result<Arc<T>, E>, Outcome)
    where
        F: FnOnce() -> Fut,
        Fut: Future<Output = Result<T, E>>,
    {
        let cell = {
            let mut entries = self.entries.lock().unwrap_or_else(|p| p.into_inner());
            entries.retain(|_, e| e.is_live(self.ttl));
            if entries.len() >= MAX_ENTRIES {
                if let Some(oldest) = entries
                    .iter()
                    .min_by_key(|(_, e)| e.created)
                    .map(|(k, _)| k.clone())
                {
                    entries.remove(&oldest);
                }
            }
            entries
                .entry(key.clone())
                .or_insert_with(|| Entry {
                    created: Instant::now(),
                    cell: Arc::new(OnceCell::new()),
                })
                .cell
                .clone()
        };
        let mut ran = false;
        let result = cell
            .get_or_init(|| {
                ran = true;
                // A waiter taking over a cancelled run starts its in-flight clock afresh.
                self.stamp(&key, &cell);
                self.drop_superseded_by(&key);
                async move { run().await.map(Arc::new) }
            })
            .await
            .clone();
        if result.is_ok() && ran {
            self.stamp(&key, &cell);
            self.keep_within_budget(&key);
        }
        if result.is_err() && ran {
            // Do not serve a failure to later requests: Prometheus may be back.
            let mut entries = self.entries.lock().unwrap_or_else(|p| p.into_inner());
            if entries
                .get(&key)
                .is_some_and(|e| Arc::ptr_eq(&e.cell, &cell))
            {
                entries.remove(&key);
            }
        }
        (
            result,
            if ran {
                Outcome::Computed
            } else {
                Outcome::Shared
            },
        )
    }
}

impl<K, T, E> Cache<K, T, E>
where
    K: Hash + Eq + Clone + Supersedes,
    T: Weigh,
{
    /// Restart `key`'s clock (if it still holds this run's cell): when a run starts, and when
    /// its result is ready, so that the [`TTL`] counts from then.
    fn stamp(&self, key: &K, cell: &Shared<T, E>) {
        let mut entries = self.entries.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(entry) = entries.get_mut(key).filter(|e| Arc::ptr_eq(&e.cell, cell)) {
            entry.created = Instant::now();
        }
    }

    /// Drop the finished results `key` supersedes, as its run starts (or is taken over after
    /// a cancellation). Runs in flight stay: their callers are waiting for them. The results
    /// are freed after the lock is released (one is some 11 MiB at 10,000 hosts).
    fn drop_superseded_by(&self, key: &K) {
        let superseded: Vec<(K, Entry<T, E>)> = self
            .entries
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .extract_if(|k, e| e.cell.initialized() && key.supersedes(k))
            .collect();
        drop(superseded);
    }

    /// Drop the oldest finished results (never `newest`) while they weigh more than [`BUDGET`].
    fn keep_within_budget(&self, newest: &K) {
        let mut entries = self.entries.lock().unwrap_or_else(|p| p.into_inner());
        let weight = |e: &Entry<T, E>| match e.cell.get() {
            Some(Ok(v)) => v.weight(),
            _ => 0,
        };
        let mut total: usize = entries.values().map(weight).sum();
        while total > BUDGET {
            let Some((oldest, w)) = entries
                .iter()
                .filter(|(k, e)| *k != newest && weight(e) > 0)
                .min_by_key(|(_, e)| e.created)
                .map(|(k, e)| (k.clone(), weight(e)))
            else {
                break;
            };
            entries.remove(&oldest);
            total -= w;
        }
    }
}

impl<K: Hash + Eq + Clone + Supersedes, T: Weigh, E: Clone> Default for Cache<K, T, E> {
    fn default() -> Self {
        Self::new()
    }
}

impl Supersedes for crate::request::AnalysisKey {
    fn supersedes(&self, other: &Self) -> bool {
        self.is_same_but_earlier(other)
    }
}

impl Supersedes for crate::request::DashboardKey {
    fn supersedes(&self, other: &Self) -> bool {
        self.is_same_but_earlier(other)
    }
}

impl Weigh for crate::analysis::dashboard::DashboardAnalysis {
    fn weight(&self) -> usize {
        self.analysis.approximate_bytes()
            + self
                .targets
                .iter()
                .map(|t| t.original.len() + t.promql.len() + 256)
                .sum::<usize>()
            + self.notes.iter().map(String::len).sum::<usize>()
    }
}

impl Weigh for crate::analysis::Analysis {
    fn weight(&self) -> usize {
        self.approximate_bytes()
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicUsize, Ordering};

    use super::*;

    impl Weigh for usize {
        fn weight(&self) -> usize {
            *self
        }
    }

    impl Supersedes for String {
        fn supersedes(&self, _: &Self) -> bool {
            false
        }
    }

    /// A question and the time it is asked of.
    #[derive(Clone, Debug, PartialEq, Eq, Hash)]
    struct Asked(&'static str, i64);

    impl Supersedes for Asked {
        fn supersedes(&self, other: &Self) -> bool {
            self.0 == other.0 && self.1 > other.1
        }
    }

    #[tokio::test]
    async fn a_run_drops_the_finished_results_it_supersedes_and_only_those() {
        let cache: Cache<Asked, usize, String> = Cache::new();
        let done = || async { Ok::<usize, String>(1) };
        for key in [Asked("a", 1), Asked("b", 1)] {
            assert_eq!(cache.get_or_run(key, done).await.1, Outcome::Computed);
        }
        // "a" at time 3 runs while "a" at time 2 is still in flight.
        let (gate, opened) = tokio::sync::oneshot::channel::<()>();
        let held = async {
            cache
                .get_or_run(Asked("a", 2), || async {
                    opened.await.ok();
                    Ok::<usize, String>(2)
                })
                .await
        };
        let newer = async {
            tokio::task::yield_now().await;
            let newer = cache.get_or_run(Asked("a", 3), done).await.1;
            let keys: std::collections::HashSet<Asked> =
                cache.entries.lock().unwrap().keys().cloned().collect();
            gate.send(()).ok();
            (newer, keys)
        };
        let ((in_flight, _), (newer, keys)) = tokio::join!(held, newer);
        assert_eq!((*in_flight.unwrap(), newer), (2, Outcome::Computed));
        let expected = [Asked("a", 2), Asked("a", 3), Asked("b", 1)];
        assert_eq!(
            keys,
            expected.into_iter().collect(),
            "a@1 dropped, a@2 kept running"
        );
        // The other question was kept; a result shared drops nothing.
        for key in [Asked("b", 1), Asked("a", 3), Asked("a", 2)] {
            assert_eq!(cache.get_or_run(key, done).await.1, Outcome::Shared);
        }
        // What was dropped runs again, and drops nothing later than itself.
        let again = cache.get_or_run(Asked("a", 1), done).await.1;
        assert_eq!(again, Outcome::Computed);
        let later = cache.get_or_run(Asked("a", 3), done).await.1;
        assert_eq!(later, Outcome::Shared);
    }

    #[tokio::test]
    async fn a_run_taken_over_after_a_cancellation_drops_what_it_supersedes() {
        let cache: Cache<Asked, usize, String> = Cache::new();
        let done = || async { Ok::<usize, String>(1) };
        // A run for time 2 cancelled with nobody waiting leaves its entry in flight.
        let never = || async {
            std::future::pending::<()>().await;
            Ok::<usize, String>(2)
        };
        let run = cache.get_or_run(Asked("a", 2), never);
        assert!(tokio::time::timeout(Duration::from_millis(20), run)
            .await
            .is_err());
        // Time 1 finishes meanwhile; then the next caller takes time 2's run over.
        let first = cache.get_or_run(Asked("a", 1), done).await.1;
        assert_eq!(first, Outcome::Computed);
        let taken_over = cache.get_or_run(Asked("a", 2), done).await.1;
        assert_eq!(taken_over, Outcome::Computed);
        let keys: Vec<Asked> = cache.entries.lock().unwrap().keys().cloned().collect();
        assert_eq!(keys, vec![Asked("a", 2)]);
    }

    #[test]
    fn times_round_up_to_the_bucket() {
        let t = |s: i64| DateTime::from_timestamp(s, 0).unwrap();
        assert_eq!(bucketed(t(1_748_865_600)), t(1_748_865_600));
        assert_eq!(bucketed(t(1_748_865_601)), t(1_748_865_615));
        assert_eq!(bucketed(t(1_748_865_614)), t(1_748_865_615));
        let ms = DateTime::from_timestamp_millis(1_748_865_600_001).unwrap();
        assert_eq!(bucketed(ms), t(1_748_865_615));
    }

    #[tokio::test]
    async fn finished_results_stay_within_the_budget_oldest_dropped_first() {
        let cache: Cache<String, usize, String> = Cache::new();
        let weighing = |w: usize| move || async move { Ok::<usize, String>(w) };
        assert!(cache
            .get_or_run("old".into(), weighing(BUDGET / 2))
            .await
            .0
            .is_ok());
        assert!(cache
            .get_or_run("mid".into(), weighing(BUDGET / 2))
            .await
            .0
            .is_ok());
        // Both fit; the next one does not: the oldest goes.
        assert!(cache
            .get_or_run("new".into(), weighing(BUDGET / 4))
            .await
            .0
            .is_ok());
        let outcome = |key: &'static str| {
            let cache = &cache;
            async move { cache.get_or_run(key.into(), weighing(1)).await.1 }
        };
        assert_eq!(outcome("mid").await, Outcome::Shared);
        assert_eq!(outcome("new").await, Outcome::Shared);
        assert_eq!(outcome("old").await, Outcome::Computed);
        // A result over the budget on its own is still kept (it is the newest).
        assert!(cache
            .get_or_run("huge".into(), weighing(BUDGET * 2))
            .await
            .0
            .is_ok());
        assert_eq!(outcome("huge").await, Outcome::Shared);
    }

    #[tokio::test]
    async fn expired_results_can_be_dropped_without_a_lookup() {
        let ttl = Duration::from_millis(200);
        let cache: Cache<String, usize, String> = Cache::with_ttl(ttl);
        let held = |cache: &Cache<String, usize, String>| cache.entries.lock().unwrap().len();
        let (result, _) = cache
            .get_or_run("k".into(), || async { Ok::<usize, String>(7) })
            .await;
        assert!(result.is_ok());
        cache.expire();
        assert_eq!(held(&cache), 1, "a fresh result stays");
        tokio::time::sleep(ttl + Duration::from_millis(50)).await;
        assert_eq!(held(&cache), 1, "nothing looked it up: still held");
        cache.expire();
        assert_eq!(held(&cache), 0);
    }

    #[tokio::test]
    async fn a_run_longer_than_the_ttl_is_shared_while_running_and_served_after() {
        // Wide margins: the wall clock (std's Instant) runs on a loaded CI machine.
        let ttl = Duration::from_millis(400);
        let cache: Cache<String, usize, String> = Cache::with_ttl(ttl);
        let runs = AtomicUsize::new(0);
        let slow = || async {
            runs.fetch_add(1, Ordering::SeqCst);
            tokio::time::sleep(Duration::from_millis(1200)).await;
            Ok::<usize, String>(7)
        };
        let late_joiner = async {
            // Joins the run after more than a TTL has passed since it started.
            tokio::time::sleep(Duration::from_millis(800)).await;
            cache.get_or_run("k".into(), slow).await
        };
        let (first, joined) = tokio::join!(cache.get_or_run("k".into(), slow), late_joiner);
        assert_eq!((first.1, joined.1), (Outcome::Computed, Outcome::Shared));
        // Ready 1.2 s after it started: served again within the TTL of that moment.
        let (_, again) = cache.get_or_run("k".into(), slow).await;
        assert_eq!((again, runs.load(Ordering::SeqCst)), (Outcome::Shared, 1));
        tokio::time::sleep(ttl + Duration::from_millis(100)).await;
        let (_, expired) = cache.get_or_run("k".into(), slow).await;
        assert_eq!(
            (expired, runs.load(Ordering::SeqCst)),
            (Outcome::Computed, 2)
        );
    }

    #[tokio::test]
    async fn concurrent_callers_share_one_run_and_failures_are_not_kept() {
        let cache: Cache<String, usize, String> = Cache::new();
        let runs = AtomicUsize::new(0);
        let slow = || async {
            runs.fetch_add(1, Ordering::SeqCst);
            tokio::time::sleep(Duration::from_millis(50)).await;
            Ok::<usize, String>(7)
        };
        let (a, b, c) = tokio::join!(
            cache.get_or_run("k".into(), slow),
            cache.get_or_run("k".into(), slow),
            cache.get_or_run("other".into(), slow),
        );
        assert_eq!(runs.load(Ordering::SeqCst), 2);
        assert_eq!(*a.0.unwrap(), 7);
        assert_eq!(*b.0.unwrap(), 7);
        assert_eq!(*c.0.unwrap(), 7);
        assert_eq!(
            [a.1, b.1].iter().filter(|o| **o == Outcome::Shared).count(),
            1
        );
        // Fresh: served again without running.
        let (_, outcome) = cache.get_or_run("k".into(), slow).await;
        assert_eq!((outcome, runs.load(Ordering::SeqCst)), (Outcome::Shared, 2));

        let fail = || async { Err::<usize, String>("down".into()) };
        assert!(cache.get_or_run("f".into(), fail).await.0.is_err());
        let (again, outcome) = cache.get_or_run("f".into(), slow).await;
        assert_eq!((*again.unwrap(), outcome), (7, Outcome::Computed));
    }

    /// Counts the runs whose state was dropped.
    struct CountDrop<'a>(&'a AtomicUsize);

    impl Drop for CountDrop<'_> {
        fn drop(&mut self) {
            self.0.fetch_add(1, Ordering::SeqCst);
        }
    }

    #[tokio::test]
    async fn a_cancelled_run_stops_and_a_waiter_takes_over() {
        let cache: Cache<String, usize, String> = Cache::new();
        let started = AtomicUsize::new(0);
        let dropped = AtomicUsize::new(0);
        let finished = Mutex::new(Vec::new());
        let run = || async {
            let number = started.fetch_add(1, Ordering::SeqCst) + 1;
            let _state = CountDrop(&dropped);
            tokio::time::sleep(Duration::from_millis(200)).await;
            finished.lock().unwrap().push(number);
            Ok::<usize, String>(7)
        };
        // The first caller's deadline passes while the second waits for its run.
        let first =
            tokio::time::timeout(Duration::from_millis(50), cache.get_or_run("k".into(), run));
        let second = async {
            tokio::time::sleep(Duration::from_millis(10)).await;
            cache.get_or_run("k".into(), run).await
        };
        let (first, (second, outcome)) = tokio::join!(first, second);
        assert!(first.is_err(), "the first caller was cancelled");
        assert_eq!(*second.expect("the waiter got an answer"), 7);
        assert_eq!(outcome, Outcome::Computed, "the waiter took the run over");
        // Long after: the cancelled run never went on (only the second finished).
        tokio::time::sleep(Duration::from_millis(300)).await;
        assert_eq!(started.load(Ordering::SeqCst), 2);
        assert_eq!(dropped.load(Ordering::SeqCst), 2);
        assert_eq!(*finished.lock().unwrap(), vec![2]);
        // Its result is shared like any other.
        let (_, again) = cache.get_or_run("k".into(), run).await;
        assert_eq!(
            (again, started.load(Ordering::SeqCst)),
            (Outcome::Shared, 2)
        );
    }

    #[tokio::test]
    async fn a_run_cancelled_with_nobody_waiting_leaves_the_key_usable() {
        let cache: Cache<String, usize, String> = Cache::new();
        let dropped = AtomicUsize::new(0);
        let never = || async {
            let _state = CountDrop(&dropped);
            std::future::pending::<()>().await;
            Ok::<usize, String>(1)
        };
        let cancelled = tokio::time::timeout(
            Duration::from_millis(20),
            cache.get_or_run("k".into(), never),
        );
        assert!(cancelled.await.is_err());
        assert_eq!(dropped.load(Ordering::SeqCst), 1, "the run was dropped");
        let quick = || async { Ok::<usize, String>(3) };
        let (result, outcome) = cache.get_or_run("k".into(), quick).await;
        assert_eq!((*result.unwrap(), outcome), (3, Outcome::Computed));
    }
}
