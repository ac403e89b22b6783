//! Tests of [`super::stacked`], kept apart so that `stacked` (which `execute` uses) does not
//! depend on the test fixtures (which use `execute`): no cycle between the engine's modules.

use super::stacked::*;
use crate::engine::{evaluate::Level, fixtures::execution};

#[test]
fn layers_fold_into_their_disk_and_others_stay() {
    let mut findings = execution(
        "disk.utilization",
        &[
            ("h:9100", Some("sda"), Level::Critical, 98.0),
            ("h:9100", Some("dm-0"), Level::Critical, 98.0),
            ("h:9100", Some("dm-1"), Level::Critical, 98.0),
            ("h:9100", Some("dm-2"), Level::Warning, 80.0),
            ("h:9100", Some("md0"), Level::Warning, 80.0),
            ("other:9100", Some("dm-0"), Level::Warning, 80.0),
        ],
    )
    .findings;
    let key = |i: &str, d: &str| (i.to_string(), d.to_string());
    let backing: Backing = [
        (key("h:9100", "dm-0"), vec!["sda2".to_string()]),
        // LVM over dm-crypt over the partition.
        (key("h:9100", "dm-1"), vec!["dm-0".to_string()]),
        // A layer over a disk that is fine: its own finding stays.
        (key("h:9100", "dm-2"), vec!["sdb1".to_string()]),
    ]
    .into();
    let (stacked, partition) = crate::catalog::builtin()
        .device_classes()
        .stacked
        .patterns()
        .unwrap();
    fold_into_disks(&mut findings, &backing, &stacked, &partition);
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
    let mut findings = execution(
        "disk.utilization",
        &[
            ("h:9100", Some("nvme0n1"), Level::Warning, 80.0),
            ("h:9100", Some("dm-0"), Level::Critical, 98.0),
        ],
    )
    .findings;
    let backing: Backing = [(
        ("h:9100".to_string(), "dm-0".to_string()),
        vec!["nvme0n1p2".to_string()],
    )]
    .into();
    let (stacked, partition) = crate::catalog::builtin()
        .device_classes()
        .stacked
        .patterns()
        .unwrap();
    fold_into_disks(&mut findings, &backing, &stacked, &partition);
    assert_eq!(
        findings.len(),
        2,
        "the critical layer is not hidden in a warning"
    );
    assert!(findings.iter().all(|f| f.also_on.is_empty()));
}
