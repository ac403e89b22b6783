//! Admission: a bound on analyses in progress per data source, with a short queue.
//!
//! Every analysis sends its queries through the same `maxConcurrentQueries` slots. Admitting
//! every request at once (300 panels opened during an incident) makes each analysis wait
//! behind all the others' queries: none finishes, and every one ends in a timeout. Admitting a
//! few at a time and queueing a few more keeps the slots busy with work that will finish;
//! beyond the queue a request fails at once with a "busy, retry" error that says it is ours,
//! not Prometheus'. Analyses shared through the cache (a dashboard's panels asking for the
//! same one) are admitted once. Health checks and inventory calls are not analyses and never
//! wait here.

use std::{
    collections::HashMap,
    sync::{
        atomic::{AtomicUsize, Ordering},
        Arc, Mutex, PoisonError,
    },
    time::Duration,
};

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
}

impl Gate {
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
    telemetry: Arc<Telemetry>,
}

impl Drop for Admitted {
    fn drop(&mut self) {
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
            .or_insert_with(|| {
                Arc::new(Gate {
                    running: Arc::new(Semaphore::new(IN_PROGRESS)),
                    queued: AtomicUsize::new(0),
                })
            })
            .clone()
    }

    /// A place for one analysis on data source `uid`: at once if one is free, after a short
    /// wait in the queue, or [`Busy`] at once when the queue is full (or after [`QUEUE_WAIT`]).
    pub async fn admit(&self, uid: &str) -> Result<Admitted, Busy> {
        let gate = self.gate(uid);
        let permit = match gate.running.clone().try_acquire_owned() {
            Ok(permit) => permit,
            Err(_) => self.wait(&gate).await?,
        };
        self.telemetry.analyses_in_progress.inc();
        Ok(Admitted {
            _permit: permit,
            telemetry: self.telemetry.clone(),
        })
    }

    /// Wait in `gate`'s queue, if there is room in it.
    async fn wait(&self, gate: &Gate) -> Result<OwnedSemaphorePermit, Busy> {
        if gate.queued.fetch_add(1, Ordering::Relaxed) >= QUEUE {
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
}
