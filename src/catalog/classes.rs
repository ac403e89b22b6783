//! Block-device classes (`device_classes.toml`): which thresholds a device is judged against.
//!
//! A flat await threshold flags normal random reads on a rotational disk and misses an NVMe
//! device that is ten times slower than it should be. Checks list thresholds per class
//! (`class_thresholds`); the classes themselves (a device-name pattern and, for `sd*` disks, the
//! rotational flag) are declared here once, as data.

use regex::Regex;
use serde::Deserialize;

/// One class of block device.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DeviceClass {
    /// Key in a check's `class_thresholds`.
    pub name: String,
    /// How reports name it ("NVMe").
    pub label: String,
    /// RE2 pattern the whole device name must match.
    pub devices: String,
    /// The rotational flag the device must have; `None`: any, known or not.
    #[serde(default)]
    pub rotational: Option<bool>,
}

impl DeviceClass {
    /// The compiled, anchored device pattern.
    pub fn pattern(&self) -> Result<Regex, regex::Error> {
        Regex::new(&format!("^(?:{})$", self.devices))
    }

    /// Whether `device` (with its rotational flag, when known) belongs to this class.
    pub fn matches(&self, pattern: &Regex, device: &str, rotational: Option<bool>) -> bool {
        pattern.is_match(device)
            && self
                .rotational
                .is_none_or(|wanted| rotational == Some(wanted))
    }
}

/// The classes, and where the rotational flag is read.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DeviceClasses {
    /// PromQL template (`${selector}`) returning one series per device with a `rotational`
    /// label of "0" or "1".
    pub info_query: String,
    /// The classes, in matching order.
    #[serde(rename = "class")]
    pub classes: Vec<DeviceClass>,
    /// Devices stacked over others, and how to find what is beneath them.
    pub stacked: Stacking,
}

/// Devices stacked over disks (dm, md), whose findings fold into their disk's.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Stacking {
    /// RE2 pattern the whole name of a stacked device matches.
    pub devices: String,
    /// PromQL template (`${selector}`): one series per (device, backing_device).
    pub backing_query: String,
    /// RE2 pattern of a partition; its first group that matched is the whole disk.
    pub partition: String,
}

impl Stacking {
    /// The anchored patterns of stacked devices and partitions.
    pub fn patterns(&self) -> Result<(Regex, Regex), regex::Error> {
        Ok((
            Regex::new(&format!("^(?:{})$", self.devices))?,
            Regex::new(&format!("^(?:{})$", self.partition))?,
        ))
    }
}

/// The whole disk of `device`: itself, or the disk a partition of it is on.
pub fn whole_disk(partition: &Regex, device: &str) -> String {
    partition
        .captures(device)
        .and_then(|c| c.iter().skip(1).flatten().next())
        .map(|m| m.as_str().to_string())
        .unwrap_or_else(|| device.trim_start_matches("/dev/").to_string())
}

impl DeviceClasses {
    /// The class called `name`.
    pub fn get(&self, name: &str) -> Option<&DeviceClass> {
        self.classes.iter().find(|c| c.name == name)
    }

    /// Every pattern compiles and every name is used once.
    pub fn validate(&self) -> Result<(), String> {
        let mut seen = std::collections::HashSet::new();
        for class in &self.classes {
            if !seen.insert(class.name.as_str()) {
                return Err(format!("device class `{}` is declared twice", class.name));
            }
            class
                .pattern()
                .map_err(|e| format!("device class `{}`: `devices`: {e}", class.name))?;
        }
        self.stacked
            .patterns()
            .map_err(|e| format!("device_classes.toml `stacked`: {e}"))?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn devices_are_classed_by_name_and_rotational_flag() {
        let classes = super::super::builtin().device_classes();
        let class_of = |device: &str, rotational: Option<bool>| {
            classes
                .classes
                .iter()
                .find(|c| c.matches(&c.pattern().unwrap(), device, rotational))
                .map(|c| c.name.as_str())
        };
        assert_eq!(class_of("nvme0n1", None), Some("nvme"));
        assert_eq!(class_of("nvme0n1", Some(true)), Some("nvme"));
        assert_eq!(class_of("sda", Some(true)), Some("hdd"));
        assert_eq!(class_of("/dev/sdb", Some(false)), Some("ssd"));
        // Unknown flag, virtual disks, layers and partitions: no class (the check's own).
        assert_eq!(class_of("sda", None), None);
        assert_eq!(class_of("vda", Some(true)), None);
        assert_eq!(class_of("xvdf", Some(false)), None);
        assert_eq!(class_of("dm-0", None), None);
        assert_eq!(class_of("nvme0n1p1", None), None);
    }

    #[test]
    fn stacked_devices_and_partitions_are_recognised() {
        let (stacked, partition) = super::super::builtin()
            .device_classes()
            .stacked
            .patterns()
            .unwrap();
        assert!(stacked.is_match("dm-0") && stacked.is_match("md127"));
        assert!(!stacked.is_match("sda") && !stacked.is_match("nvme0n1"));
        assert_eq!(whole_disk(&partition, "sda2"), "sda");
        assert_eq!(whole_disk(&partition, "nvme0n1p3"), "nvme0n1");
        assert_eq!(whole_disk(&partition, "mmcblk0p1"), "mmcblk0");
        assert_eq!(whole_disk(&partition, "xvdf1"), "xvdf");
        assert_eq!(whole_disk(&partition, "sdb"), "sdb");
        assert_eq!(whole_disk(&partition, "nvme0n1"), "nvme0n1");
    }
}
