//! Where a guard held, per target, kept compactly.
//!
//! A guard over 10,000 hosts has a mask per host, or per disk, interface or filesystem. Keyed
//! by a string (the instance, or instance and device) in a hash map, each target cost about
//! 120 bytes, and the guards of one analysis, kept until it ends, came to 8 MiB of the CLI's
//! heap at 10,000 hosts. Here a target is the index of its instance among the analysis'
//! sorted instances (which every guard shares) and the index of its device among the guard's
//! few device names: 24 bytes in a sorted list.

use std::{collections::HashMap, sync::Arc};

use super::evaluate::Held;

/// The device index of a target that is an instance as a whole.
const WHOLE: u32 = u32::MAX;

/// Where a guard held, per target; built with [`MaskBuilder`].
#[derive(Clone, Debug, Default, PartialEq)]
pub struct GuardPoints {
    /// The analysis' instances, sorted: a target's instance is its index here.
    instances: Arc<[String]>,
    /// The device names, sorted: a target's device is its index here.
    devices: Box<[Box<str>]>,
    /// (instance, device, masks), sorted by target.
    targets: Box<[(u32, u32, Held)]>,
    /// Targets of instances the analysis does not list (gone before the evaluation time, yet
    /// with data in the window): rare, so kept by [`target_key`].
    others: HashMap<String, Held>,
}

impl GuardPoints {
    /// The masks of `instance`'s `device`, or failing that of `instance` as a whole (a guard
    /// per host over a check per device).
    pub fn get(&self, instance: &str, device: Option<&str>) -> Option<Held> {
        let Some(index) = index_of(&self.instances, instance) else {
            return device
                .and_then(|d| self.others.get(&target_key(instance, Some(d))))
                .or_else(|| self.others.get(instance))
                .copied();
        };
        let find = |device: u32| {
            self.targets
                .binary_search_by_key(&(index, device), |&(i, d, _)| (i, d))
                .ok()
                .map(|at| self.targets[at].2)
        };
        device
            .and_then(|d| self.devices.binary_search_by(|n| (**n).cmp(d)).ok())
            .and_then(|d| find(d as u32))
            .or_else(|| find(WHOLE))
    }

    /// How many targets have masks.
    #[cfg(test)]
    pub fn len(&self) -> usize {
        self.targets.len() + self.others.len()
    }
}

/// Collects masks as a guard's series stream in; [`MaskBuilder::build`] sorts them for lookups.
#[derive(Clone, Debug, Default)]
pub struct MaskBuilder {
    instances: Arc<[String]>,
    devices: HashMap<Box<str>, u32>,
    targets: Vec<(u32, u32, Held)>,
    others: HashMap<String, Held>,
}

impl MaskBuilder {
    /// No masks yet; targets are keyed by their instance's index in `instances` (sorted).
    pub fn new(instances: Arc<[String]>) -> Self {
        Self {
            instances,
            ..Self::default()
        }
    }

    /// Keep `held` for the target; a later series of the same target replaces it.
    pub fn insert(&mut self, instance: &str, device: Option<&str>, held: Held) {
        let Some(index) = index_of(&self.instances, instance) else {
            self.others.insert(target_key(instance, device), held);
            return;
        };
        let device = match device {
            None => WHOLE,
            Some(name) => match self.devices.get(name) {
                Some(&id) => id,
                None => {
                    let id = self.devices.len() as u32;
                    self.devices.insert(name.into(), id);
                    id
                }
            },
        };
        self.targets.push((index, device, held));
    }

    /// How many series were kept (a target seen twice counts twice).
    pub fn len(&self) -> usize {
        self.targets.len() + self.others.len()
    }

    /// The masks, sorted for lookups; the last series of a target wins.
    pub fn build(self) -> GuardPoints {
        let mut names: Vec<(Box<str>, u32)> = self.devices.into_iter().collect();
        names.sort_unstable();
        // `renumber[old id]` is the device's index among the sorted names.
        let mut renumber = vec![0; names.len()];
        for (sorted, (_, id)) in names.iter().enumerate() {
            renumber[*id as usize] = sorted as u32;
        }
        let mut targets = self.targets;
        for target in &mut targets {
            if target.1 != WHOLE {
                target.1 = renumber[target.1 as usize];
            }
        }
        // Stable: of a target's series, the last stays last, and its masks are the ones kept.
        targets.sort_by_key(|&(instance, device, _)| (instance, device));
        targets.dedup_by(|later, kept| {
            let same = (later.0, later.1) == (kept.0, kept.1);
            if same {
                kept.2 = later.2;
            }
            same
        });
        GuardPoints {
            instances: self.instances,
            devices: names.into_iter().map(|(name, _)| name).collect(),
            targets: targets.into_boxed_slice(),
            others: self.others,
        }
    }
}

/// The key of a target whose instance the analysis does not list.
fn target_key(instance: &str, device: Option<&str>) -> String {
    match device {
        Some(d) => format!("{instance}\u{1f}{d}"),
        None => instance.to_string(),
    }
}

fn index_of(instances: &[String], instance: &str) -> Option<u32> {
    instances
        .binary_search_by(|i| i.as_str().cmp(instance))
        .ok()
        .map(|i| i as u32)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn instances() -> Arc<[String]> {
        ["a:9100", "b:9100", "c:9100"]
            .map(String::from)
            .into_iter()
            .collect()
    }

    #[test]
    fn targets_are_found_by_instance_and_device() {
        let mut builder = MaskBuilder::new(instances());
        builder.insert("c:9100", Some("sdb"), Held::both(0b10));
        builder.insert("a:9100", Some("sda"), Held::both(0b01));
        builder.insert("c:9100", Some("sda"), Held::both(0b11));
        builder.insert("b:9100", None, Held::both(0b100));
        let masks = builder.build();
        assert_eq!(masks.len(), 4);
        assert_eq!(masks.get("a:9100", Some("sda")), Some(Held::both(0b01)));
        assert_eq!(masks.get("c:9100", Some("sda")), Some(Held::both(0b11)));
        assert_eq!(masks.get("c:9100", Some("sdb")), Some(Held::both(0b10)));
        assert_eq!(masks.get("a:9100", Some("sdb")), None);
        assert_eq!(masks.get("a:9100", None), None);
        // A guard per host stands for each of its devices.
        assert_eq!(masks.get("b:9100", Some("sda")), Some(Held::both(0b100)));
        assert_eq!(masks.get("b:9100", None), Some(Held::both(0b100)));
        assert_eq!(masks.get("z:9100", None), None);
        assert_eq!(GuardPoints::default().get("a:9100", Some("sda")), None);
    }

    #[test]
    fn the_last_series_of_a_target_wins() {
        let mut builder = MaskBuilder::new(instances());
        builder.insert("a:9100", Some("sda"), Held::both(1));
        builder.insert("b:9100", None, Held::both(2));
        builder.insert("a:9100", Some("sda"), Held::both(3));
        builder.insert("b:9100", None, Held::both(4));
        let masks = builder.build();
        assert_eq!(masks.len(), 2);
        assert_eq!(masks.get("a:9100", Some("sda")), Some(Held::both(3)));
        assert_eq!(masks.get("b:9100", None), Some(Held::both(4)));
    }

    #[test]
    fn instances_the_analysis_does_not_list_are_kept_by_name() {
        let mut builder = MaskBuilder::new(instances());
        builder.insert("gone:9100", Some("eth0"), Held::both(1));
        builder.insert("left:9100", None, Held::both(2));
        let masks = builder.build();
        assert_eq!(masks.get("gone:9100", Some("eth0")), Some(Held::both(1)));
        assert_eq!(masks.get("gone:9100", Some("eth1")), None);
        assert_eq!(masks.get("left:9100", Some("eth0")), Some(Held::both(2)));
        assert_eq!(masks.len(), 2);
    }
}
