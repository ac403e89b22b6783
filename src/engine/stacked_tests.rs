//! Tests of [`super::stacked`], kept apart so that `stacked` (which `execute` uses) does not
//! depend on the test fixtures (which use `execute`): no cycle between the engine's modules.

use super::{finding::Finding, stacked::*};
use crate::engine::{evaluate::Level, fixtures::execution};

type Target<'a> = (&'a str, Option<&'a str>, Level, f64);

/// `disk.utilization` findings on `targets`, folded over `backing` ((instance, layer, the
/// device right beneath it)) with the catalog's stacked and partition patterns.
fn folded(targets: &[Target<'_>], backing: &[(&str, &str, &str)]) -> Vec<Finding> {
    let mut findings = execution("disk.utilization", targets).findings;
    let backing: Backing = backing
        .iter()
        .map(|(i, d, below)| ((i.to_string(), d.to_string()), vec![below.to_string()]))
        .collect();
    let (stacked, partition) = crate::catalog::builtin()
        .device_classes()
        .stacked
        .patterns()
        .unwrap();
    fold_into_disks(&mut findings, &backing, &stacked, &partition);
    findings
}

#[test]
fn layers_fold_into_their_disk_and_others_stay() {
    let findings = folded(
        &[
            ("h:9100", Some("sda"), Level::Critical, 98.0),
            ("h:9100", Some("dm-0"), Level::Critical, 98.0),
            ("h:9100", Some("dm-1"), Level::Critical, 98.0),
            ("h:9100", Some("dm-2"), Level::Warning, 80.0),
            ("h:9100", Some("md0"), Level::Warning, 80.0),
            ("other:9100", Some("dm-0"), Level::Warning, 80.0),
        ],
        &[
            ("h:9100", "dm-0", "sda2"),
            // LVM over dm-crypt over the partition.
            ("h:9100", "dm-1", "dm-0"),
            // A layer over a disk that is fine: its own finding stays.
            ("h:9100", "dm-2", "sdb1"),
        ],
    );
    let left: Vec<(&str, Option<&str>)> = findings
        .iter()
        .map(|f| (f.instance.as_str(), f.device.as_deref()))
        .collect();
    assert_eq!(
        left,
        vec![
            ("h:9100", Some("sda")),
            ("h:9100", Some("dm-2")),
            ("h:9100", Some("md0")),
            ("other:9100", Some("dm-0")),
        ]
    );
    assert_eq!(findings[0].also_on, vec!["dm-0", "dm-1"]);
    assert!(findings[1].also_on.is_empty());
}

#[test]
fn a_layer_worse_than_its_disk_keeps_its_own_finding() {
    let findings = folded(
        &[
            ("h:9100", Some("nvme0n1"), Level::Warning, 80.0),
            ("h:9100", Some("dm-0"), Level::Critical, 98.0),
        ],
        &[("h:9100", "dm-0", "nvme0n1p2")],
    );
    assert_eq!(
        findings.len(),
        2,
        "the critical layer is not hidden in a warning"
    );
    assert!(findings.iter().all(|f| f.also_on.is_empty()));
}
