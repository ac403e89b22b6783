//! Which checks wait for which, so that Prometheus does each piece of work once.
//!
//! - A guard may name another check (`when = { check = "cpu.utilization", … }`): that check
//!   works out, while judging its own series, where the guard holds, and the guarded check waits
//!   for that instead of asking Prometheus for the same series again.
//! - In a fallback chain the preferred signal runs first; the weaker ones run only for the
//!   instances it could not assess (no data there) or flagged (their values corroborate it).
//!   On a fleet where every host has PSI, the chain costs one query instead of four.
//!
//! Checks publish what others need on a [`Board`] when they finish; waiting never holds a
//! Prometheus permit, so the concurrency bound is not spent on idling.

use std::{
    collections::{HashMap, HashSet},
    sync::Arc,
};

use tokio::sync::watch;

use crate::catalog::{Catalog, Check};

use super::masks::GuardPoints;

/// What a finished check tells the checks that wait for it.
#[derive(Debug, Default)]
pub(super) struct Published {
    /// Its query template (guards by reference name it among a finding's queries).
    pub query: String,
    /// For each check whose guard refers to it (by id): where that guard holds, per target.
    pub guards: HashMap<String, Arc<GuardPoints>>,
    /// Instances with data.
    pub present: HashSet<String>,
    /// Instances past a threshold.
    pub flagged: HashSet<String>,
    /// Why it could not run.
    pub error: Option<String>,
}

/// What one check waits for before it runs.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(super) struct Needs {
    /// The check whose series are this check's guard (when it is part of this analysis).
    pub guard_from: Option<String>,
    /// The preferred check of its fallback chain, when this one is a weaker signal.
    pub leader: Option<String>,
    /// Checks whose guards refer to this check's series: work out where each holds.
    pub feeds: Vec<String>,
}

/// Dependencies of the selected checks, and the board they publish on.
pub(super) struct Board {
    needs: HashMap<String, Needs>,
    slots: HashMap<String, watch::Sender<Option<Arc<Published>>>>,
}

impl Board {
    /// Work out the dependencies among `selected` (catalog indices).
    pub fn new(catalog: &Catalog, selected: &[usize]) -> Board {
        let checks: Vec<&Check> = selected.iter().map(|&i| &catalog.checks()[i]).collect();
        let ids: HashSet<&str> = checks.iter().map(|c| c.id.as_str()).collect();
        let mut needs: HashMap<String, Needs> = HashMap::new();
        for check in &checks {
            let guard_from = check
                .when
                .as_ref()
                .and_then(|g| g.check.as_deref())
                .filter(|id| ids.contains(id))
                .map(str::to_string);
            let leader = check.fallback.as_ref().and_then(|f| {
                checks
                    .iter()
                    .filter_map(|c| c.fallback.as_ref().map(|g| (c, g)))
                    .filter(|(_, g)| g.group == f.group)
                    .min_by_key(|(_, g)| g.rank)
                    .filter(|(c, _)| c.id != check.id)
                    .map(|(c, _)| c.id.clone())
            });
            if let Some(source) = &guard_from {
                needs
                    .entry(source.clone())
                    .or_default()
                    .feeds
                    .push(check.id.clone());
            }
            let entry = needs.entry(check.id.clone()).or_default();
            entry.guard_from = guard_from;
            entry.leader = leader;
        }
        let mut slots = HashMap::new();
        for n in needs.values() {
            for id in n.guard_from.iter().chain(n.leader.iter()) {
                slots
                    .entry(id.clone())
                    .or_insert_with(|| watch::channel(None).0);
            }
        }
        Board { needs, slots }
    }

    /// What `check` waits for.
    pub fn needs(&self, check: &str) -> Needs {
        self.needs.get(check).cloned().unwrap_or_default()
    }

    /// Whether any check waits for `check`.
    pub fn awaited(&self, check: &str) -> bool {
        self.slots.contains_key(check)
    }

    /// Wait until `check` has published. `None` only if it never will (a bug, not a state).
    pub async fn wait(&self, check: &str) -> Option<Arc<Published>> {
        let mut rx = self.slots.get(check)?.subscribe();
        let value = rx.wait_for(Option::is_some).await.ok()?;
        value.clone()
    }

    /// Publish what `check` found; wakes every check waiting for it.
    pub fn publish(&self, check: &str, published: Published) {
        if let Some(slot) = self.slots.get(check) {
            slot.send_replace(Some(Arc::new(published)));
        }
    }
}

/// The instances a weaker fallback signal must still cover, given what the leader published:
/// those the leader had no data for, and those it flagged. `all` is the inventory.
pub(super) fn fallback_instances<'a>(
    leader: &Published,
    all: impl Iterator<Item = &'a String>,
) -> Vec<String> {
    let mut wanted: Vec<String> = all
        .filter(|i| !leader.present.contains(*i) || leader.flagged.contains(*i))
        .cloned()
        .collect();
    wanted.sort_unstable();
    wanted
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::catalog;

    fn index(catalog: &Catalog, id: &str) -> usize {
        catalog
            .checks()
            .iter()
            .position(|c| c.id == id)
            .unwrap_or_else(|| panic!("no check {id}"))
    }

    #[test]
    fn guards_by_reference_and_fallback_leaders() {
        let catalog = catalog::builtin();
        let all: Vec<usize> = (0..catalog.checks().len()).collect();
        let board = Board::new(catalog, &all);
        let imbalance = board.needs("cpu.imbalance");
        assert_eq!(imbalance.guard_from.as_deref(), Some("cpu.utilization"));
        // cpu.errors.frequency_capped (issue 17) is guarded by cpu.utilization too.
        assert_eq!(
            board.needs("cpu.utilization").feeds,
            vec!["cpu.imbalance", "cpu.errors.frequency_capped"]
        );
        assert_eq!(
            board.needs("cpu.saturation.load").leader.as_deref(),
            Some("cpu.saturation.psi")
        );
        assert_eq!(board.needs("cpu.saturation.psi").leader, None);
        assert!(board.awaited("cpu.saturation.psi"));

        // Without the referenced check or the preferred signal in the run, nobody waits.
        let some = vec![
            index(catalog, "cpu.imbalance"),
            index(catalog, "cpu.saturation.runnable"),
            index(catalog, "cpu.saturation.load"),
        ];
        let board = Board::new(catalog, &some);
        assert_eq!(board.needs("cpu.imbalance").guard_from, None);
        assert_eq!(
            board.needs("cpu.saturation.load").leader.as_deref(),
            Some("cpu.saturation.runnable")
        );
        assert!(!board.awaited("cpu.utilization"));
    }

    #[tokio::test]
    async fn waiting_checks_wake_when_published() {
        let catalog = catalog::builtin();
        let all: Vec<usize> = (0..catalog.checks().len()).collect();
        let board = Arc::new(Board::new(catalog, &all));
        let waiter = {
            let board = board.clone();
            tokio::spawn(async move { board.wait("cpu.saturation.psi").await })
        };
        tokio::task::yield_now().await;
        board.publish(
            "cpu.saturation.psi",
            Published {
                present: ["a".to_string(), "b".to_string()].into(),
                flagged: ["b".to_string()].into(),
                ..Published::default()
            },
        );
        let published = waiter.await.ok().flatten().expect("published");
        let inventory = ["a", "b", "c"].map(String::from);
        assert_eq!(
            fallback_instances(&published, inventory.iter()),
            vec!["b".to_string(), "c".to_string()]
        );
    }
}
