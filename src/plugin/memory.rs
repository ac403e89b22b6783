//! Freed memory handed back to the system after each analysis.
//!
//! glibc's malloc gives each thread that allocates concurrently an arena of its own and keeps
//! freed memory in it for reuse. An analysis of 10,000 hosts allocates tens of MiB on tokio's
//! worker threads and the parser threads; when it is done, that memory stays resident in
//! whichever arenas served it, and the next analysis, served by other arenas, adds its own
//! peak on top: the plugin's peak RSS grew by about 10 MiB with each analysis of a large fleet
//! (docs/performance.md). Trimming once an analysis is finished returns the free pages of
//! every arena, so each analysis starts from what is really in use.

/// Return the allocator's free pages to the system (glibc only; elsewhere nothing to do).
pub fn release_freed() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: `malloc_trim` takes no pointers and has no preconditions; it only walks glibc's
    // own free lists under their locks.
    unsafe {
        libc::malloc_trim(0);
    }
}

/// [`release_freed`] on a blocking thread, if called within a runtime (nothing to do otherwise:
/// the process is ending).
pub fn release_freed_soon() {
    if let Ok(runtime) = tokio::runtime::Handle::try_current() {
        runtime.spawn_blocking(release_freed);
    }
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
