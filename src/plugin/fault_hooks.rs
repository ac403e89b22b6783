//! Test-only fault injection, compiled in only with the `fault-hooks` cargo feature (the
//! `gpx_gregg_insights_fault_hooks` binary the Go harness uses); released binaries have none
//! of it.
//!
//! `GREGG_INSIGHTS_FAULT_PANIC_REFID=<refId>` makes the analysis of every query with that
//! refId panic once its data has been fetched, so the harness can prove a panic fails only
//! that query.

/// Environment variable naming the refId whose analysis panics.
pub const PANIC_REFID_VAR: &str = "GREGG_INSIGHTS_FAULT_PANIC_REFID";

/// Panic if the fault hook names `ref_id`.
pub fn after_analysis(ref_id: &str) {
    if std::env::var(PANIC_REFID_VAR).is_ok_and(|target| target == ref_id) {
        panic!("fault hook: deliberate panic in the analysis of query {ref_id}");
    }
}
