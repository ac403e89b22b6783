//! Which thresholds each device of a check with per-class thresholds is judged against.
//!
//! The classes are the catalog's (`device_classes.toml`); the rotational flag of each device
//! comes from one instant query of `node_disk_info` at the end of the window, sent only for
//! checks with `class_thresholds` and only when a class depends on the flag. A device of no
//! class, or whose flag is unknown, keeps the check's own thresholds.

use std::{collections::HashMap, sync::Arc};

use regex::Regex;

use super::{
    guard::GuardCache,
    stacked::{disks_beneath, per_device, Backing},
};
use crate::{
    catalog::{Check, DeviceClasses, Thresholds},
    prometheus::Series,
    samples::{Coverage, QueryLog, Recorder, Timing},
};

/// One class a check has thresholds for.
#[derive(Clone, Debug)]
struct Rule {
    devices: Regex,
    class: crate::catalog::DeviceClass,
    thresholds: Thresholds,
}

/// The thresholds of one check per device class, and the rotational flags seen.
#[derive(Clone, Debug, Default)]
pub(super) struct ClassBook {
    rules: Vec<Rule>,
    /// (instance, device) → rotational (shared by every check of the analysis).
    rotational: Arc<HashMap<(String, String), bool>>,
    /// Stacked devices take their disk's class: the patterns of stacked devices and
    /// partitions, and what lies beneath each stacked device (shared like the flags).
    stacking: Option<Stacked>,
}

/// What a class book knows of stacked devices.
#[derive(Clone, Debug)]
struct Stacked {
    devices: Regex,
    partition: Regex,
    backing: Arc<Backing>,
}

/// The class a target was judged as: its label and thresholds.
#[derive(Clone, Debug, PartialEq)]
pub(super) struct Classed {
    /// The class' label ("NVMe").
    pub label: String,
    /// Its thresholds for this check.
    pub thresholds: Thresholds,
}

impl ClassBook {
    /// The class of `device` on `instance`, among those the check has thresholds for: its own,
    /// or for a stacked device (dm, md) the class its disks share.
    pub fn class_of(&self, instance: &str, device: &str) -> Option<Classed> {
        self.own_class(instance, device)
            .or_else(|| self.disk_class(instance, device))
    }

    fn own_class(&self, instance: &str, device: &str) -> Option<Classed> {
        let rotational = self
            .rotational
            .get(&(instance.to_string(), device.to_string()))
            .copied();
        self.rules
            .iter()
            .find(|r| r.class.matches(&r.devices, device, rotational))
            .map(|r| Classed {
                label: r.class.label.clone(),
                thresholds: r.thresholds,
            })
    }

    /// A stacked device queues and waits like the disks beneath it (an LVM volume on an HDD
    /// is as slow as the HDD): it takes their class when they all have the same one. Over
    /// disks of different classes, or none known, it keeps the check's own thresholds.
    fn disk_class(&self, instance: &str, device: &str) -> Option<Classed> {
        let stacking = self.stacking.as_ref()?;
        if !stacking.devices.is_match(device) {
            return None;
        }
        let mut disks: Vec<String> = disks_beneath(
            &stacking.backing,
            &stacking.devices,
            &stacking.partition,
            instance,
            device,
        )
        .into_iter()
        .collect();
        disks.sort_unstable();
        let classes: Vec<Option<Classed>> =
            disks.iter().map(|d| self.own_class(instance, d)).collect();
        let first = classes.first().cloned().flatten()?;
        classes
            .iter()
            .all(|c| c.as_ref() == Some(&first))
            .then(|| Classed {
                label: format!("{} (from its disk {})", first.label, disks.join(", ")),
                thresholds: first.thresholds,
            })
    }
}

/// The class book of `check`: `None` when it has no per-class thresholds. Reads the rotational
/// flags when a class needs them, and what lies beneath stacked devices for checks that fold
/// them (`fold_stacked`: disk checks); if a query fails, the log says so and the devices it
/// was for keep the check's own thresholds.
pub(super) async fn lookup(
    recorder: &Recorder<'_>,
    log: &mut QueryLog,
    (classes, shared): (&DeviceClasses, &GuardCache),
    check: &Check,
    coverage: &Coverage<'_>,
    timing: &Timing,
) -> Option<ClassBook> {
    let rules: Vec<Rule> = classes
        .classes
        .iter()
        .filter_map(|class| {
            let thresholds = *check.class_thresholds.get(&class.name)?;
            let devices = class.pattern().ok()?;
            Some(Rule {
                devices,
                class: class.clone(),
                thresholds,
            })
        })
        .collect();
    if rules.is_empty() {
        return None;
    }
    let mut book = ClassBook {
        rules,
        rotational: Arc::default(),
        stacking: None,
    };
    if book.rules.iter().any(|r| r.class.rotational.is_some()) {
        book.rotational =
            rotational(recorder, log, (classes, shared), check, coverage, timing).await;
    }
    if check.fold_stacked {
        book.stacking = stacking(recorder, log, (classes, shared), check, coverage, timing).await;
    }
    Some(book)
}

/// What lies beneath each stacked device, asked once per analysis (through `shared`).
async fn stacking(
    recorder: &Recorder<'_>,
    log: &mut QueryLog,
    (classes, shared): (&DeviceClasses, &GuardCache),
    check: &Check,
    coverage: &Coverage<'_>,
    timing: &Timing,
) -> Option<Stacked> {
    let (devices, partition) = classes.stacked.patterns().ok()?;
    let promql = timing
        .render(
            &classes.stacked.backing_query,
            &coverage.selector.to_string(),
        )
        .ok()?;
    let cell = shared.backing_cell(&promql);
    let backing = cell
        .get_or_init(|| async {
            let answer =
                super::stacked::backing(recorder, log, &classes.stacked, check, coverage, timing)
                    .await;
            Arc::new(answer.unwrap_or_else(|why| {
                log.warn(format!(
                    "{}: stacked devices keep the default thresholds, their disks are unknown: {why}",
                    check.id
                ));
                Backing::new()
            }))
        })
        .await
        .clone();
    Some(Stacked {
        devices,
        partition,
        backing,
    })
}

/// Each device's rotational flag, from the catalog's info query.
/// Asked once per analysis (through `shared`): the first check that needs the flags fetches
/// them, the others wait for its answer.
async fn rotational(
    recorder: &Recorder<'_>,
    log: &mut QueryLog,
    (classes, shared): (&DeviceClasses, &GuardCache),
    check: &Check,
    coverage: &Coverage<'_>,
    timing: &Timing,
) -> Arc<HashMap<(String, String), bool>> {
    let failed = |log: &mut QueryLog, why: String| {
        log.warn(format!(
            "{}: device classes that depend on the rotational flag are unknown, those devices keep the default thresholds: {why}",
            check.id
        ));
        Arc::new(HashMap::new())
    };
    let promql = match timing.render(&classes.info_query, &coverage.selector.to_string()) {
        Ok(q) => q,
        Err(e) => return failed(log, e.to_string()),
    };
    let cell = shared.rotational_cell(&promql);
    cell.get_or_init(|| async {
        let purpose = format!("{}/device_classes", check.id);
        let query = (purpose.as_str(), classes.info_query.as_str());
        match per_device(recorder, log, query, coverage, timing, add_flag).await {
            Ok(flags) => Arc::new(flags),
            Err(e) => failed(log, e.to_string()),
        }
    })
    .await
    .clone()
}

/// The rotational flag of one device the info query answered for.
fn add_flag(flags: &mut HashMap<(String, String), bool>, mut s: Series) {
    let flag = match s.labels.get("rotational").map(String::as_str) {
        Some("1") => true,
        Some("0") => false,
        _ => return,
    };
    if let (Some(instance), Some(device)) = (s.labels.remove("instance"), s.labels.remove("device"))
    {
        flags.insert((instance, device), flag);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::catalog;

    fn book(check: &str, rotational: &[(&str, &str, bool)]) -> ClassBook {
        let catalog = catalog::builtin();
        let check = catalog.check(check).expect("a check");
        ClassBook {
            rules: catalog
                .device_classes()
                .classes
                .iter()
                .filter_map(|c| {
                    Some(Rule {
                        devices: c.pattern().ok()?,
                        thresholds: *check.class_thresholds.get(&c.name)?,
                        class: c.clone(),
                    })
                })
                .collect(),
            rotational: Arc::new(
                rotational
                    .iter()
                    .map(|(i, d, r)| ((i.to_string(), d.to_string()), *r))
                    .collect(),
            ),
            stacking: None,
        }
    }

    #[test]
    fn each_device_gets_its_class_thresholds() {
        let book = book(
            "disk.saturation.read_await",
            &[("h:9100", "sda", true), ("h:9100", "sdb", false)],
        );
        let class = |device: &str| book.class_of("h:9100", device);
        let nvme = class("nvme0n1").expect("NVMe by name");
        assert_eq!(nvme.label, "NVMe");
        assert!(nvme.thresholds.warning < 10.0, "{nvme:?}");
        let hdd = class("sda").expect("a rotational disk");
        assert!(hdd.thresholds.warning > 10.0, "{hdd:?}");
        let ssd = class("sdb").expect("an SSD");
        assert!(ssd.thresholds.warning < hdd.thresholds.warning);
        // No flag, another host, or a virtual disk: the check's own thresholds.
        assert_eq!(class("sdc"), None);
        assert_eq!(book.class_of("other:9100", "sda"), None);
        assert_eq!(class("vda"), None);
    }

    #[test]
    fn queue_thresholds_per_class_and_stacked_devices_take_their_disks() {
        let mut book = book(
            "disk.saturation.queue",
            &[("h:9100", "sda", true), ("h:9100", "sdb", false)],
        );
        let (devices, partition) = catalog::builtin()
            .device_classes()
            .stacked
            .patterns()
            .unwrap();
        let beneath = |d: &str, under: &[&str]| {
            (
                ("h:9100".to_string(), d.to_string()),
                under.iter().map(|u| u.to_string()).collect::<Vec<_>>(),
            )
        };
        book.stacking = Some(Stacked {
            devices,
            partition,
            backing: Arc::new(
                [
                    beneath("dm-0", &["sda2"]),
                    beneath("dm-1", &["nvme0n1p1"]),
                    beneath("dm-2", &["dm-1"]),
                    beneath("dm-3", &["sda1", "sdb1"]),
                    beneath("dm-4", &["vdb"]),
                ]
                .into_iter()
                .collect(),
            ),
        });
        let warning = |device: &str| {
            book.class_of("h:9100", device)
                .map(|c| c.thresholds.warning)
        };
        // Gregg's checklist for a spindle, deeper queues for parallel devices.
        assert_eq!(warning("sda"), Some(1.0));
        assert_eq!(warning("sdb"), Some(4.0));
        assert_eq!(warning("nvme0n1"), Some(8.0));
        // Unknown class (virtio, unflagged sd*, md without members): the check's own 5.
        assert_eq!(warning("vda"), None);
        assert_eq!(warning("sdc"), None);
        assert_eq!(warning("md0"), None);
        // Stacked devices take their disk's class, through partitions and layers.
        let dm0 = book.class_of("h:9100", "dm-0").expect("dm-0 over sda2");
        assert_eq!(dm0.thresholds.warning, 1.0);
        assert_eq!(dm0.label, "rotational (HDD) (from its disk sda)");
        assert_eq!(warning("dm-1"), Some(8.0));
        assert_eq!(warning("dm-2"), Some(8.0));
        // Over disks of different classes, or of none: the check's own.
        assert_eq!(warning("dm-3"), None);
        assert_eq!(warning("dm-4"), None);
        let check = catalog::builtin()
            .check("disk.saturation.queue")
            .unwrap()
            .clone();
        assert_eq!((check.warning, check.critical), (5.0, 10.0));
    }
}
