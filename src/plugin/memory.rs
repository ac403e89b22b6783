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

/// Allocations of this many bytes or more get pages of their own from the system (`mmap`), and
/// give them back when freed.
pub const MMAP_THRESHOLD: usize = 128 << 10;

/// Keep large allocations out of glibc's arenas for the life of the process (glibc only;
/// elsewhere nothing to do). Called once at start, before the runtime's threads exist.
///
/// glibc maps allocations of [`MMAP_THRESHOLD`] (its own default) or more separately, but
/// raises that threshold, up to 32 MiB, each time such a mapping is freed: after the first
/// large response body or frame of an analysis, every buffer of a few hundred KiB to a few MiB
/// (hyper's read buffers, a 10,000-series answer, the 3 MiB `insights` answer of a 10,000-host
/// fleet) comes from the arenas instead. Freed there, between the small allocations the
/// analysis keeps (its insights, cache entries), it leaves pages `malloc_trim` cannot return,
/// and the next analysis, served by another arena, adds its own: at 10,000 hosts the plugin's
/// peak RSS rose from 73 MiB after one analysis to 113 MiB after three (docs/performance.md).
/// Setting the threshold fixes it at its default and turns the raising off.
pub fn keep_large_allocations_mapped() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: `mallopt` takes no pointers; it sets one of glibc's malloc parameters under the
    // allocator's lock. `MMAP_THRESHOLD` (128 KiB) is far within its accepted range.
    unsafe {
        libc::mallopt(libc::M_MMAP_THRESHOLD, MMAP_THRESHOLD as libc::c_int);
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

    /// Whether glibc gave `block` pages of its own: the `IS_MMAPPED` bit (2) of the chunk size
    /// glibc keeps in the word before the block.
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    fn mapped(block: &[u8]) -> bool {
        // SAFETY: `block` is a live allocation from glibc's malloc (the global allocator is the
        // system's), which is always preceded by its chunk's size word.
        let size = unsafe { block.as_ptr().cast::<usize>().sub(1).read_unaligned() };
        size & 2 != 0
    }

    /// Set in the process [`large_allocations_stay_mapped_after_a_larger_one_is_freed`] starts.
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    const FRESH_PROCESS: &str = "GREGG_TEST_MMAP_FRESH_PROCESS";

    /// Checked in a process of its own (this test binary running this one test): in the shared
    /// test process, tests that ran before the threshold was fixed may have left free chunks in
    /// the arenas big enough for the blocks below, and glibc serves those before mapping.
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    #[test]
    fn large_allocations_stay_mapped_after_a_larger_one_is_freed() {
        if std::env::var_os(FRESH_PROCESS).is_some() {
            return large_allocations_stay_mapped();
        }
        let name =
            "plugin::memory::tests::large_allocations_stay_mapped_after_a_larger_one_is_freed";
        let exe = std::env::current_exe().expect("the test binary");
        let run = std::process::Command::new(exe)
            .args(["--exact", name, "--test-threads=1"])
            .env(FRESH_PROCESS, "1")
            .output()
            .expect("the test binary runs");
        let out = String::from_utf8_lossy(&run.stdout);
        assert!(run.status.success(), "{out}");
        assert!(out.contains("1 passed"), "the check did not run:\n{out}");
    }

    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    fn large_allocations_stay_mapped() {
        keep_large_allocations_mapped();
        let large = std::hint::black_box(vec![1u8; 8 << 20]);
        assert!(mapped(&large));
        // Without the fixed threshold, glibc would raise it to 8 MiB here...
        drop(large);
        // ...and serve this from an arena.
        let block = std::hint::black_box(vec![1u8; 2 * MMAP_THRESHOLD]);
        assert!(
            mapped(&block),
            "a {} KiB block came from an arena",
            block.len() >> 10
        );
        let small = std::hint::black_box(vec![1u8; MMAP_THRESHOLD / 4]);
        assert!(!mapped(&small), "small blocks stay in the arenas");
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
