//! Freed memory handed back to the system after each analysis.
//!
//! glibc's malloc gives each thread that allocates concurrently an arena of its own and keeps
//! freed memory in it for reuse. An analysis of 10,000 hosts allocates tens of MiB on tokio's
//! worker threads and the parser threads; when it is done, that memory stays resident in
//! whichever arenas served it, and the next analysis, served by other arenas, adds its own
//! peak on top: the plugin's peak RSS grew by about 10 MiB with each analysis of a large fleet
//! (docs/performance.md). Trimming once an analysis is finished returns the free pages of
//! every arena, so each analysis starts from what is really in use.

use std::{
    sync::atomic::{AtomicBool, Ordering},
    time::Duration,
};

/// Return the allocator's free pages to the system (glibc only; elsewhere nothing to do).
pub fn release_freed() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: `malloc_trim` takes no pointers and has no preconditions; it only walks glibc's
    // own free lists under their locks.
    unsafe {
        libc::malloc_trim(0);
    }
}

/// Trims asked for within this long of the first one of a burst are served by that one.
pub const COALESCE: Duration = Duration::from_millis(250);

/// An action run at most once per burst of asks: when 300 analyses are cancelled together
/// (one dashboard refresh's deadline), one trim returns the memory of all of them; 300 trims
/// in a row would each walk every arena under its lock while the survivors allocate.
pub struct Coalesced {
    pending: AtomicBool,
    window: Duration,
}

impl Coalesced {
    /// Nothing pending; bursts last `window`.
    pub const fn new(window: Duration) -> Self {
        Self {
            pending: AtomicBool::new(false),
            window,
        }
    }

    /// Ask for `action`: the first ask of a burst runs it on a blocking thread `window` later,
    /// asks until then join it. True when this ask scheduled a run. Outside a runtime nothing
    /// runs (the process is ending).
    pub fn ask(&'static self, action: fn()) -> bool {
        let Ok(runtime) = tokio::runtime::Handle::try_current() else {
            return false;
        };
        if self.pending.swap(true, Ordering::AcqRel) {
            return false;
        }
        runtime.spawn(async move {
            tokio::time::sleep(self.window).await;
            // Cleared before the run: memory freed while it runs is trimmed by the next one.
            self.pending.store(false, Ordering::Release);
            let _ = tokio::task::spawn_blocking(action).await;
        });
        true
    }
}

static TRIM: Coalesced = Coalesced::new(COALESCE);

/// [`release_freed`] on a blocking thread shortly, once for every call in the same
/// [`COALESCE`] burst.
pub fn release_freed_soon() {
    TRIM.ask(release_freed);
}

/// Watches one analysis run: if the run is dropped before it finishes (its request's deadline
/// passed, or Grafana cancelled it), counts it as `outcome` and hands back the memory its
/// half-built state held, as a finished analysis does.
pub struct Unfinished<'a> {
    telemetry: &'a super::telemetry::Telemetry,
    outcome: &'static str,
    finished: bool,
}

impl<'a> Unfinished<'a> {
    /// Start watching a run; `outcome` is its `analyses_total` label if it is dropped.
    pub fn watch(telemetry: &'a super::telemetry::Telemetry, outcome: &'static str) -> Self {
        Self {
            telemetry,
            outcome,
            finished: false,
        }
    }

    /// The run ended (with a result or an error).
    pub fn finished(mut self) {
        self.finished = true;
    }
}

impl Drop for Unfinished<'_> {
    fn drop(&mut self) {
        if !self.finished {
            tracing::info!(
                outcome = self.outcome,
                "An analysis was stopped before it finished."
            );
            self.telemetry.analysis(self.outcome);
            release_freed_soon();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::AtomicUsize;

    static RUNS: AtomicUsize = AtomicUsize::new(0);

    fn count() {
        RUNS.fetch_add(1, Ordering::SeqCst);
    }

    /// Wait until the action has run `n` times: paused time moves the burst's timer, real time
    /// lets the blocking thread run.
    async fn ran(n: usize) {
        for _ in 0..400 {
            if RUNS.load(Ordering::SeqCst) >= n {
                return;
            }
            tokio::time::sleep(Duration::from_millis(1)).await;
            std::thread::sleep(Duration::from_millis(5));
        }
        panic!(
            "the action ran {} times, expected {n}",
            RUNS.load(Ordering::SeqCst)
        );
    }

    #[tokio::test(start_paused = true)]
    async fn a_burst_of_cancelled_runs_is_trimmed_once() {
        static BURST: Coalesced = Coalesced::new(COALESCE);
        let scheduled = (0..300).filter(|_| BURST.ask(count)).count();
        assert_eq!(scheduled, 1, "the first ask schedules, the others join it");
        tokio::time::advance(COALESCE / 2).await;
        assert!(!BURST.ask(count), "still the same burst");
        assert_eq!(
            RUNS.load(Ordering::SeqCst),
            0,
            "not before the burst is over"
        );
        ran(1).await;
        tokio::time::sleep(COALESCE).await;
        assert_eq!(
            RUNS.load(Ordering::SeqCst),
            1,
            "one run for the whole burst"
        );
        // A later burst gets its own run.
        assert!(BURST.ask(count));
        ran(2).await;
    }
}
