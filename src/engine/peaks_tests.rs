//! Tests of [`super::peaks`], kept apart so that `peaks` (which `execute` uses) does not
//! depend on the test fixtures (which use `execute`): no cycle between the engine's modules.

use std::time::Duration;

use chrono::DateTime;

use super::peaks::*;
use crate::{
    catalog::{self, Direction},
    engine::{
        evaluate::{Level, Period},
        fixtures::assessment,
    },
    samples::Timing,
};

fn timing(hours: u64) -> Timing {
    let at = DateTime::from_timestamp(1_700_000_400, 0).expect("a valid time");
    Timing::new(
        at,
        Duration::from_secs(hours * 3600),
        Some(Duration::from_secs(15)),
    )
}

#[test]
fn long_windows_ask_for_fine_peaks_and_short_ones_do_not() {
    let psi = catalog::builtin()
        .check("cpu.saturation.psi")
        .expect("a PSI check");
    assert!(peak_query(psi, None, "", &timing(1)).is_none());
    let q = peak_query(psi, None, "", &timing(6))
        .expect("a peak query at 6 h")
        .expect("renders");
    assert!(q.starts_with("max_over_time(("), "{q}");
    assert!(q.ends_with(")[6m:15s])"), "{q}");
    assert!(q.contains("[1m]"), "the inner rate is four scrapes: {q}");
    let q = peak_query(psi, None, "", &timing(24)).unwrap().unwrap();
    assert!(q.ends_with(")[24m:15s])"), "{q}");
    let event = catalog::builtin()
        .check("memory.errors.oom_kills")
        .expect("an event check");
    assert!(peak_query(event, None, "", &timing(24)).is_none());
}

/// Issue 17 item 3 (follow-up): the fine peak counts only where the check's guard holds, so
/// one slow I/O on an idle disk (under one read per second, which the grid ignores) cannot set
/// the peak of a read-latency finding.
#[test]
fn the_peak_query_applies_the_guard() {
    let await_check = catalog::builtin()
        .check("disk.saturation.read_await")
        .expect("a read await check");
    let when = await_check.when.as_ref().expect("a guard on I/O rate");
    let template = when.query.as_deref().expect("its own guard query");
    let q = peak_query(await_check, Some(template), "", &timing(6))
        .expect("a peak query at 6 h")
        .expect("renders");
    assert!(q.starts_with("max_over_time(("), "{q}");
    assert!(q.ends_with(")[6m:15s])"), "{q}");
    assert!(
        q.contains(") and on (instance, device) ((rate(node_disk_reads_completed_total{"),
        "{q}"
    );
    assert!(q.ends_with(") >= 1))[6m:15s])"), "{q}");
    // The guard's rate is as fine as the check's: four scrapes, not the grid's step.
    assert!(
        !q.contains("[6m])") && q.matches("[1m])").count() >= 2,
        "{q}"
    );
    // Without a guard template, the check's query alone.
    let bare = peak_query(await_check, None, "", &timing(6))
        .unwrap()
        .unwrap();
    assert!(!bare.contains(" and on "), "{bare}");
}

#[test]
fn peaks_rise_to_the_fine_values_of_their_periods() {
    let at = |s: i64| DateTime::from_timestamp(s, 0).expect("a valid time");
    let mut a = assessment(Level::Ok, 12.0);
    a.peak = 40.0;
    let burst = Period {
        start: at(1_000),
        end: at(1_360),
        level: Level::Critical,
        peak: 40.0,
    };
    let later = Period {
        start: at(2_000),
        end: at(2_000),
        level: Level::Warning,
        peak: 11.0,
    };
    a.periods = vec![burst.clone(), later];
    a.burst = Some(burst);
    let fine = [
        (640.0, 3.0),
        (1_000.0, 79.5),
        (1_360.0, 20.0),
        (2_000.0, 14.0),
    ];
    raise(Direction::Above, &mut a, &fine);
    assert_eq!(a.peak, 79.5);
    assert_eq!(a.periods[0].peak, 79.5);
    assert_eq!(a.periods[1].peak, 14.0);
    assert_eq!(a.burst.as_ref().map(|b| b.peak), Some(79.5));
    // A fine value never lowers a peak; low is worse for `below` checks.
    let mut b = assessment(Level::Warning, 60.0);
    b.peak = 40.0;
    raise(Direction::Below, &mut b, &[(1.0, 55.0), (2.0, f64::NAN)]);
    assert_eq!(b.peak, 40.0);
    raise(Direction::Below, &mut b, &[(1.0, 30.0)]);
    assert_eq!(b.peak, 30.0);
}
