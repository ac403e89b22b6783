//! Admission: a bound on analyses in progress per data source, with a short queue.
//!
//! Every analysis sends its queries through the same `maxConcurrentQueries` slots. Admitting
//! every request at once (300 panels opened during an incident) makes each analysis wait
//! behind all the others' queries: none finishes, and every one ends in a timeout. Admitting a
//! few at a time and queueing a few more keeps the slots busy with work that will finish;
//! beyond the queue a request fails at once with a "busy, retry" error that says it is ours,
//! not Prometheus'. A request is also refused at once when the queue, at the pace analyses
//! have recently run, would not reach it within [`QUEUE_WAIT`]: waiting 20 s only to be told
//! "busy" is worse than hearing it at once, and so is a request whose own deadline (Grafana's,
//! [`super::deadline`]) would pass before it is through the queue and run at that pace: it
//! hears "busy" and why, instead of a "deadline exceeded" after waiting. Analyses shared through the cache (a dashboard's panels asking for the
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
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Busy {
    /// Analyses running when the request was refused.
    pub in_progress: usize,
    /// Analyses queued when the request was refused.
    pub waiting: usize,
    /// Set when the request was refused because, at the recent pace, its wait and run would
    /// outlast what remained of its own deadline.
    pub late: Option<Late>,
}

/// Why a request was refused against its deadline: what it would have needed and had.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Late {
    /// Expected wait for a place plus expected run time.
    pub needed: Duration,
    /// What remained of the request's deadline.
    pub remaining: Duration,
}

impl std::error::Error for Busy {}

impl std::fmt::Display for Busy {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "busy: {} analyses in progress on this data source and {} waiting (at most {IN_PROGRESS} at once, {QUEUE} queued)",
            self.in_progress, self.waiting
        )?;
        if let Some(late) = self.late {
            write!(
                f,
                "; at the recent pace this analysis would finish in about {:.1} s, after its request's deadline ({:.1} s left), so it was refused at once rather than cut off",
                late.needed.as_secs_f64(),
                late.remaining.as_secs_f64()
            )?;
        }
        write!(f, "; retry in a few seconds")
    }
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

    /// The expected run time of an analysis here (the moving average; zero before any).
    fn expected_run(&self) -> Duration {
        Duration::from_millis(self.recent_run_ms.load(Ordering::Relaxed))
    }

    fn busy(&self) -> Busy {
        Busy {
            in_progress: IN_PROGRESS - self.running.available_permits().min(IN_PROGRESS),
            waiting: self.queued.load(Ordering::Relaxed),
            late: None,
        }
    }
}

/// The gates of every data source, by organisation and uid (`Instance::scoped_uid`).
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

    fn gate(&self, source: &str) -> Arc<Gate> {
        let mut gates = self.gates.lock().unwrap_or_else(PoisonError::into_inner);
        if gates.len() >= MAX_GATES && !gates.contains_key(source) {
            // Forget idle gates (nobody holds them).
            gates.retain(|_, g| Arc::strong_count(g) > 1);
        }
        gates
            .entry(source.to_string())
            .or_insert_with(|| Arc::new(Gate::new()))
            .clone()
    }

    /// A place for one analysis on data source `source` (organisation and uid): at once if
    /// one is free, after a short wait in the queue, or [`Busy`] at once when the queue is
    /// full or would not reach the request within [`QUEUE_WAIT`] (or after [`QUEUE_WAIT`], if
    /// runs slowed down meanwhile), or when the expected wait plus the expected run would
    /// outlast `deadline` (what remains of the request's own deadline). A request that finds a
    /// place free is never refused for its deadline: the run time is an average over other
    /// analyses, and one refused while nothing runs would never update it.
    pub async fn admit(&self, source: &str, deadline: Option<Duration>) -> Result<Admitted, Busy> {
        let gate = self.gate(source);
        let permit = match gate.running.clone().try_acquire_owned() {
            Ok(permit) => permit,
            Err(_) => self.wait(&gate, deadline).await?,
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
    async fn wait(
        &self,
        gate: &Gate,
        deadline: Option<Duration>,
    ) -> Result<OwnedSemaphorePermit, Busy> {
        let ahead = gate.queued.fetch_add(1, Ordering::Relaxed);
        let wait = gate.expected_wait(ahead);
        let needed = wait.saturating_add(gate.expected_run());
        let late = deadline
            .filter(|remaining| !gate.expected_run().is_zero() && needed > *remaining)
            .map(|remaining| Late { needed, remaining });
        if ahead >= QUEUE || wait > QUEUE_WAIT || late.is_some() {
            gate.queued.fetch_sub(1, Ordering::Relaxed);
            return Err(Busy {
                late,
                ..self.refused(gate)
            });
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
            held.push(admissions.admit("a", None).await.expect("a free place"));
        }
        // Another data source has its own places.
        let other = admissions.admit("b", None).await.expect("b is idle");
        drop(other);
        let queued: Vec<_> = (0..QUEUE)
            .map(|_| {
                let admissions = admissions.clone();
                tokio::spawn(async move { admissions.admit("a", None).await.map(|_| ()) })
            })
            .collect();
        tokio::time::sleep(Duration::from_millis(50)).await;
        let started = std::time::Instant::now();
        let busy = admissions.admit("a", None).await.err().expect("refused");
        assert!(started.elapsed() < Duration::from_millis(50), "at once");
        assert_eq!(
            busy,
            Busy {
                in_progress: IN_PROGRESS,
                waiting: QUEUE,
                late: None,
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
                waiting: 0,
                late: None,
            }
        );
    }

    #[tokio::test(start_paused = true)]
    async fn a_queue_that_would_not_move_in_time_refuses_at_once() {
        let admissions = Arc::new(Admissions::new(Arc::new(Telemetry::new())));
        // Eight analyses that each took 16 s: places free up at two per 4 s.
        let mut held = Vec::new();
        for _ in 0..IN_PROGRESS {
            held.push(admissions.admit("a", None).await.expect("a free place"));
        }
        tokio::time::advance(Duration::from_secs(16)).await;
        held.clear();
        for _ in 0..IN_PROGRESS {
            held.push(admissions.admit("a", None).await.expect("a free place"));
        }
        let gate = admissions.gate("a");
        assert_eq!(gate.expected_wait(0), Duration::from_secs(2));
        // (ahead + 1) × 16 s / 8 ≤ 20 s: the first ten wait, the eleventh is refused at once.
        let queued: Vec<_> = (0..10)
            .map(|_| {
                let admissions = admissions.clone();
                tokio::spawn(async move { admissions.admit("a", None).await.map(|_| ()) })
            })
            .collect();
        tokio::task::yield_now().await;
        assert_eq!(gate.queued.load(Ordering::Relaxed), 10);
        let started = Instant::now();
        let busy = admissions.admit("a", None).await.err().expect("refused");
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

    #[tokio::test(start_paused = true)]
    async fn a_request_whose_deadline_would_pass_in_the_queue_is_refused_at_once() {
        let admissions = Arc::new(Admissions::new(Arc::new(Telemetry::new())));
        // Analyses here recently took 8 s each; all eight places are taken.
        let mut held = Vec::new();
        for _ in 0..IN_PROGRESS {
            held.push(admissions.admit("a", None).await.expect("a free place"));
        }
        tokio::time::advance(Duration::from_secs(8)).await;
        held.clear();
        for _ in 0..IN_PROGRESS {
            held.push(admissions.admit("a", None).await.expect("a free place"));
        }
        // First in the queue: a place in about 1 s, then an 8 s run. 5 s left is too little.
        let started = Instant::now();
        let busy = admissions
            .admit("a", Some(Duration::from_secs(5)))
            .await
            .err()
            .expect("refused for its deadline");
        assert_eq!(started.elapsed(), Duration::ZERO, "at once");
        assert_eq!(
            busy.late,
            Some(Late {
                needed: Duration::from_secs(9),
                remaining: Duration::from_secs(5)
            })
        );
        let message = busy.to_string();
        assert!(
            message.starts_with("busy: 8 analyses in progress"),
            "{message}"
        );
        assert!(
            message.contains("about 9.0 s, after its request's deadline (5.0 s left)"),
            "{message}"
        );
        assert!(!message.contains("Prometheus"), "{message}");
        assert_eq!(
            admissions.gate("a").queued.load(Ordering::Relaxed),
            0,
            "not left queued"
        );
        // With 10 s left it waits, and is admitted when a place frees up.
        let patient = {
            let admissions = admissions.clone();
            tokio::spawn(async move {
                admissions
                    .admit("a", Some(Duration::from_secs(10)))
                    .await
                    .map(|_| ())
            })
        };
        tokio::task::yield_now().await;
        assert_eq!(admissions.gate("a").queued.load(Ordering::Relaxed), 1);
        held.pop();
        patient
            .await
            .unwrap()
            .expect("admitted within its deadline");
        // A free place admits even a request whose deadline is shorter than the average run.
        held.clear();
        let short = admissions
            .admit("a", Some(Duration::from_millis(100)))
            .await;
        assert!(
            short.is_ok(),
            "a free place is never refused for the deadline"
        );
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
