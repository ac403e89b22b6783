//! Admission: a bound on analyses in progress per data source, with a short queue.
//!
//! Every analysis sends its queries through the same `maxConcurrentQueries` slots. Admitting
//! every request at once (300 panels opened during an incident) makes each analysis wait
//! behind all the others' queries: none finishes, and every one ends in a timeout. Admitting a
//! few at a time and queueing a few more keeps the slots busy with work that will finish;
//! beyond the queue a request fails at once with a "busy, retry" error that says it is ours,
//! not Prometheus'. A request is also refused at once when the queue, at the pace analyses
//! have recently run, would not reach it within [`QUEUE_WAIT`]: waiting 20 s only to be told
//! "busy" is worse than hearing it at once. Analyses shared through the cache (a dashboard's panels asking for the
//! same one) are admitted once. Health checks and inventory calls are not analyses and never
//! wait here.

use std::{
    collections::HashMap,
    sync::{
        atomic::{AtomicU64, AtomicUsize, Ordering},
        Arc, Mutex, PoisonError,
    },
    time::Duration,
};

use tokio::time::Instant;

use tokio::sync::{OwnedSemaphorePermit, Semaphore};

use super::telemetry::Telemetry;

/// Analyses in progress at once per data source. With Prometheus' cores fitted to three or
/// four slots, eight analyses keep every slot busy while each still sees a share of them.
pub const IN_PROGRESS: usize = 8;

/// Analyses waiting for one of the [`IN_PROGRESS`] places per data source; beyond it a
/// request is refused at once.
pub const QUEUE: usize = 32;

/// Longest wait in the queue before a request is refused as busy.
pub const QUEUE_WAIT: Duration = Duration::from_secs(20);

/// Data sources with a gate kept beyond which idle ones are forgotten.
const MAX_GATES: usize = 256;

/// Too many analyses at once on one data source.
#[derive(Clone, Debug, thiserror::Error, PartialEq, Eq)]
#[error("busy: {in_progress} analyses in progress on this data source and {waiting} waiting (at most {} at once, {} queued); retry in a few seconds", IN_PROGRESS, QUEUE)]
pub struct Busy {
    /// Analyses running when the request was refused.
    pub in_progress: usize,
    /// Analyses queued when the request was refused.
    pub waiting: usize,
}

/// One data source's bound.
struct Gate {
    running: Arc<Semaphore>,
    queued: AtomicUsize,
    /// How long analyses on this data source have recently taken, in milliseconds (a moving
    /// average; 0 before the first one finished).
    recent_run_ms: AtomicU64,
}

impl Gate {
    fn new() -> Self {
        Self {
            running: Arc::new(Semaphore::new(IN_PROGRESS)),
            queued: AtomicUsize::new(0),
            recent_run_ms: AtomicU64::new(0),
        }
    }

    /// Fold one finished analysis into the moving average (weight 1/4: a few runs move it).
    fn record(&self, took: Duration) {
        let took = u64::try_from(took.as_millis()).unwrap_or(u64::MAX);
        let before = self.recent_run_ms.load(Ordering::Relaxed);
        let after = if before == 0 {
            took
        } else {
            before.saturating_mul(3).saturating_add(took) / 4
        };
        self.recent_run_ms.store(after, Ordering::Relaxed);
    }

    /// The wait of a request joining the queue behind `ahead` others: `IN_PROGRESS` places
    /// free up once per recent run time, so it is reached after (ahead + 1) / IN_PROGRESS runs.
    fn expected_wait(&self, ahead: usize) -> Duration {
        let run = Duration::from_millis(self.recent_run_ms.load(Ordering::Relaxed));
        let rounds = u32::try_from(ahead + 1).unwrap_or(u32::MAX);
        run.saturating_mul(rounds) / IN_PROGRESS as u32
    }

    fn busy(&self) -> Busy {
        Busy {
            in_progress: IN_PROGRESS - self.running.available_permits().min(IN_PROGRESS),
            waiting: self.queued.load(Ordering::Relaxed),
        }
    }
}

/// The gates of every data source, by uid.
pub struct Admissions {
    gates: Mutex<HashMap<String, Arc<Gate>>>,
    telemetry: Arc<Telemetry>,
}

/// A place among the analyses in progress, given back when dropped.
pub struct Admitted {
    _permit: OwnedSemaphorePermit,
    gate: Arc<Gate>,
    since: Instant,
    telemetry: Arc<Telemetry>,
}

impl Drop for Admitted {
    fn drop(&mut self) {
        self.gate.record(self.since.elapsed());
        self.telemetry.analyses_in_progress.dec();
    }
}

/// Takes a queued request out of the count when it leaves the queue, however it leaves.
struct Queued<'a>(&'a Gate, &'a Telemetry);

impl Drop for Queued<'_> {
    fn drop(&mut self) {
        self.0.queued.fetch_sub(1, Ordering::Relaxed);
        self.1.analyses_queued.dec();
    }
}

impl Admissions {
    /// No gates yet; metrics go to `telemetry`.
    pub fn new(telemetry: Arc<Telemetry>) -> Self {
        Self {
            gates: Mutex::new(HashMap::new()),
            telemetry,
        }
    }

    fn gate(&self, uid: &str) -> Arc<Gate> {
        let mut gates = self.gates.lock().unwrap_or_else(PoisonError::into_inner);
        if gates.len() >= MAX_GATES && !gates.contains_key(uid) {
            // Forget idle gates (nobody holds them).
            gates.retain(|_, g| Arc::strong_count(g) > 1);
        }
        gates
            .entry(uid.to_string())
            .or_insert_with(|| Arc::new(Gate::new()))
            .clone()
    }

    /// A place for one analysis on data source `uid`: at once if one is free, after a short
    /// wait in the queue, or [`Busy`] at once when the queue is full or would not reach the
    /// request within [`QUEUE_WAIT`] (or after [`QUEUE_WAIT`], if runs slowed down meanwhile).
    pub async fn admit(&self, uid: &str) -> Result<Admitted, Busy> {
        let gate = self.gate(uid);
        let permit = match gate.running.clone().try_acquire_owned() {
            Ok(permit) => permit,
            Err(_) => self.wait(&gate).await?,
        };
        self.telemetry.analyses_in_progress.inc();
        Ok(Admitted {
            _permit: permit,
            gate,
            since: Instant::now(),
            telemetry: self.telemetry.clone(),
        })
    }

    /// Wait in `gate`'s queue, if there is room in it and it moves fast enough.
    async fn wait(&self, gate: &Gate) -> Result<OwnedSemaphorePermit, Busy> {
        let ahead = gate.queued.fetch_add(1, Ordering::Relaxed);
        if ahead >= QUEUE || gate.expected_wait(ahead) > QUEUE_WAIT {
            gate.queued.fetch_sub(1, Ordering::Relaxed);
            return Err(self.refused(gate));
        }
        self.telemetry.analyses_queued.inc();
        let _queued = Queued(gate, &self.telemetry);
        match tokio::time::timeout(QUEUE_WAIT, gate.running.clone().acquire_owned()).await {
            Ok(Ok(permit)) => Ok(permit),
            // The semaphore is never closed; a timeout is the busy case.
            _ => Err(self.refused(gate)),
        }
    }

    fn refused(&self, gate: &Gate) -> Busy {
        self.telemetry.analysis("refused_busy");
        gate.busy()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn beyond_the_places_and_the_queue_requests_are_refused_at_once() {
        let admissions = Arc::new(Admissions::new(Arc::new(Telemetry::new())));
        let mut held = Vec::new();
        for _ in 0..IN_PROGRESS {
            held.push(admissions.admit("a").await.expect("a free place"));
        }
        // Another data source has its own places.
        let other = admissions.admit("b").await.expect("b is idle");
        drop(other);
        let queued: Vec<_> = (0..QUEUE)
            .map(|_| {
                let admissions = admissions.clone();
                tokio::spawn(async move { admissions.admit("a").await.map(|_| ()) })
            })
            .collect();
        tokio::time::sleep(Duration::from_millis(50)).await;
        let started = std::time::Instant::now();
        let busy = admissions.admit("a").await.err().expect("refused");
        assert!(started.elapsed() < Duration::from_millis(50), "at once");
        assert_eq!(
            busy,
            Busy {
                in_progress: IN_PROGRESS,
                waiting: QUEUE
            }
        );
        assert!(busy.to_string().starts_with("busy: 8 analyses in progress"));
        assert!(!busy.to_string().contains("Prometheus"));
        // Places given back admit the queue, in order.
        held.clear();
        for q in queued {
            q.await.unwrap().expect("admitted from the queue");
        }
        assert_eq!(
            admissions.gate("a").busy(),
            Busy {
                in_progress: 0,
                waiting: 0
            }
        );
    }

    #[tokio::test(start_paused = true)]
    async fn a_queue_that_would_not_move_in_time_refuses_at_once() {
        let admissions = Arc::new(Admissions::new(Arc::new(Telemetry::new())));
        // Eight analyses that each took 16 s: places free up at two per 4 s.
        let mut held = Vec::new();
        for _ in 0..IN_PROGRESS {
            held.push(admissions.admit("a").await.expect("a free place"));
        }
        tokio::time::advance(Duration::from_secs(16)).await;
        held.clear();
        for _ in 0..IN_PROGRESS {
            held.push(admissions.admit("a").await.expect("a free place"));
        }
        let gate = admissions.gate("a");
        assert_eq!(gate.expected_wait(0), Duration::from_secs(2));
        // (ahead + 1) × 16 s / 8 ≤ 20 s: the first ten wait, the eleventh is refused at once.
        let queued: Vec<_> = (0..10)
            .map(|_| {
                let admissions = admissions.clone();
                tokio::spawn(async move { admissions.admit("a").await.map(|_| ()) })
            })
            .collect();
        tokio::task::yield_now().await;
        assert_eq!(gate.queued.load(Ordering::Relaxed), 10);
        let started = Instant::now();
        let busy = admissions.admit("a").await.err().expect("refused");
        assert_eq!(
            started.elapsed(),
            Duration::ZERO,
            "at once, not after the wait"
        );
        assert_eq!(busy.waiting, 10);
        // The queued ones are admitted as places free up.
        held.clear();
        for q in queued {
            q.await.unwrap().expect("admitted from the queue");
        }
    }

    #[test]
    fn the_recent_run_time_is_a_moving_average() {
        let gate = Gate::new();
        assert_eq!(gate.expected_wait(100), Duration::ZERO, "no estimate yet");
        gate.record(Duration::from_secs(8));
        assert_eq!(gate.expected_wait(7), Duration::from_secs(8));
        gate.record(Duration::from_secs(0));
        assert_eq!(gate.recent_run_ms.load(Ordering::Relaxed), 6_000);
    }
}
