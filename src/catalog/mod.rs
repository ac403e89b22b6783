//! The check catalog: every check the analyzer runs, declared as data in one place.
//!
//! - `checks/<component>.toml`: one `[[check]]` table per check (query, thresholds and their
//!   source, evaluation, narrative, evidence). Adding a check is adding one table.
//! - `components.toml`: which resources are time-shared, and the narrative of a bottleneck.
//! - `collectors.toml`: the node_exporter collectors the checks need, and what is lost without
//!   each (health checks and coverage insights come from it).
//! - `unobservable.toml`: USE checklist items node_exporter can never see, and what can.
//! - `workload.toml`, `drilldown.toml`, `outliers.toml`: the methods beyond USE (see
//!   [`methods`](self::methods)): measures compared with a baseline, the level below each
//!   finding, and the checks compared across peers.
//!
//! Everything is embedded at compile time and validated by [`Catalog::load`], which a unit test
//! runs, so a bad entry fails `cargo test`, never a user's query.

pub mod book;
mod check;
mod classes;
pub mod docs;
pub mod methods;
mod thresholds;

use std::{
    collections::{BTreeMap, BTreeSet, HashSet},
    sync::OnceLock,
};

use serde::Deserialize;
use thiserror::Error;

pub use check::{
    format_evidence, Check, CoverageRule, Direction, Evaluation, EvidenceQuery, Fallback, Guard,
    SeverityMap, Unit, UserCheck, UserCheckError, UserCheckPart, USER_CHECK_ID,
};
pub use classes::{whole_disk, DeviceClass, DeviceClasses, Stacking};
pub use methods::{Change, Measure, NextLevel, Peer};
pub use thresholds::{layered, ThresholdOverride, ThresholdOverrides, Thresholds};

use crate::{insight::Component, promql::template};

/// The check files, in report order.
const CHECK_FILES: &[(&str, &str)] = &[
    ("checks/cpu.toml", include_str!("checks/cpu.toml")),
    ("checks/memory.toml", include_str!("checks/memory.toml")),
    ("checks/disk.toml", include_str!("checks/disk.toml")),
    (
        "checks/filesystem.toml",
        include_str!("checks/filesystem.toml"),
    ),
    ("checks/network.toml", include_str!("checks/network.toml")),
    ("checks/system.toml", include_str!("checks/system.toml")),
    (
        "checks/container.toml",
        include_str!("checks/container.toml"),
    ),
];

const COMPONENTS: &str = include_str!("components.toml");
const COLLECTORS: &str = include_str!("collectors.toml");
const UNOBSERVABLE: &str = include_str!("unobservable.toml");
const WORKLOAD: &str = include_str!("workload.toml");
const DRILLDOWN: &str = include_str!("drilldown.toml");
const OUTLIERS: &str = include_str!("outliers.toml");
const DEVICE_CLASSES: &str = include_str!("device_classes.toml");

/// Placeholders of a drill-down query: the flagged hosts' `instance` matcher and the window.
pub const NEXT_LEVEL_PLACEHOLDERS: &[&str] = &["hosts", "window"];

/// Placeholders a PromQL template may use: the target selector, the same for node-side series
/// of container checks (never narrowed to a container), the rate interval of sustained checks,
/// and the whole analysis window.
pub const QUERY_PLACEHOLDERS: &[&str] = &["selector", "node_selector", "rate", "window"];

/// Placeholders every check narrative may use (plus the check's evidence names).
pub const NARRATIVE_PLACEHOLDERS: &[&str] = &[
    "instance",
    "device",
    "value",
    "peak",
    "threshold",
    "level",
    "window",
    "held",
    "warning",
    "critical",
];

/// Placeholders of a component's bottleneck narrative.
pub const BOTTLENECK_PLACEHOLDERS: &[&str] = &[
    "instance",
    "device",
    "utilization",
    "saturation",
    "window",
    "held",
];

/// A node_exporter collector the analyzer reads.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Collector {
    /// The collector's name, as in `node_scrape_collector_success{collector="…"}`.
    pub name: String,
    /// Whether node_exporter enables it by default.
    pub default_enabled: bool,
    /// What the analysis cannot see without it.
    pub lost: String,
}

/// An exporter other than node_exporter some checks read (process-exporter, client libraries).
/// Unlike a [`Collector`] its absence is no coverage gap: most hosts run no such exporter, and
/// the checks that need it simply have no series there.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Source {
    /// The name checks use in `requires`.
    pub name: String,
    /// Which exporters provide it.
    pub exporter: String,
    /// What the analysis cannot see without it.
    pub lost: String,
}

/// The story told when a time-shared resource is both busy and saturated.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BottleneckNarrative {
    /// Title template.
    pub title: String,
    /// Observation template.
    pub observation: String,
    /// Likely root cause.
    pub root_cause: String,
    /// What to do now.
    pub immediate_action: String,
    /// How to dig deeper.
    pub investigation_steps: Vec<String>,
    /// The sustainable fix.
    pub long_term_fix: String,
    /// Book reference.
    pub book_reference: String,
}

/// A resource and how it is diagnosed.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ComponentSpec {
    /// Which component.
    pub name: Component,
    /// Serves work over time (CPU, disk, network): bottleneck = utilization + saturation.
    pub time_shared: bool,
    /// Its checks watch unrelated resources, so their findings are never merged.
    #[serde(default)]
    pub distinct_resources: bool,
    /// The bottleneck story (time-shared components only).
    #[serde(default)]
    pub bottleneck: Option<BottleneckNarrative>,
}

/// A USE checklist item node_exporter cannot observe.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Unobservable {
    /// The resource.
    pub component: Component,
    /// What cannot be seen.
    pub what: String,
    /// What can see it.
    #[serde(rename = "use")]
    pub use_instead: String,
}

/// The checks, components and collectors, validated.
#[derive(Debug)]
pub struct Catalog {
    checks: Vec<Check>,
    components: Vec<ComponentSpec>,
    collectors: Vec<Collector>,
    sources: Vec<Source>,
    unobservable: Vec<Unobservable>,
    measures: Vec<Measure>,
    next_levels: Vec<NextLevel>,
    peers: Vec<Peer>,
    device_classes: DeviceClasses,
}

/// A catalog entry or a user's override that cannot be used.
#[derive(Debug, Error)]
pub enum CatalogError {
    /// TOML that does not parse.
    #[error("{file}: {reason}")]
    Parse {
        /// The file.
        file: String,
        /// The TOML error.
        reason: String,
    },
    /// A check that breaks a catalog rule.
    #[error("check `{id}`: {reason}")]
    InvalidCheck {
        /// The check.
        id: String,
        /// The rule it breaks.
        reason: String,
    },
    /// Components or collectors that break a rule.
    #[error("{0}")]
    Invalid(String),
    /// An override for a check that does not exist.
    #[error("unknown check `{id}` in threshold overrides; known checks: {}", known.join(", "))]
    UnknownCheck {
        /// The unknown id.
        id: String,
        /// Every known id.
        known: Vec<String>,
    },
    /// An override with impossible values.
    #[error("thresholds for `{id}`: {reason}")]
    InvalidThreshold {
        /// The check.
        id: String,
        /// What is wrong.
        reason: String,
    },
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct CheckFile {
    check: Vec<Check>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ComponentFile {
    component: Vec<ComponentSpec>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct CollectorFile {
    collector: Vec<Collector>,
    #[serde(default)]
    source: Vec<Source>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct UnobservableFile {
    unobservable: Vec<Unobservable>,
}

/// The catalog compiled into this binary.
pub fn builtin() -> &'static Catalog {
    static CATALOG: OnceLock<Catalog> = OnceLock::new();
    CATALOG.get_or_init(|| {
        // The sources are compiled in and validated by `builtin_catalog_is_valid` in the test
        // suite, so this can only fail in a build whose tests fail.
        Catalog::load(CHECK_FILES).expect("the built-in check catalog is valid")
    })
}

fn parse_toml<T: for<'de> Deserialize<'de>>(file: &str, text: &str) -> Result<T, CatalogError> {
    toml::from_str(text).map_err(|e| CatalogError::Parse {
        file: file.to_string(),
        reason: e.to_string(),
    })
}

impl Catalog {
    /// Parse and validate check files against the built-in components, collectors and
    /// unobservable list.
    pub fn load(check_files: &[(&str, &str)]) -> Result<Catalog, CatalogError> {
        let components = parse_toml::<ComponentFile>("components.toml", COMPONENTS)?.component;
        let CollectorFile {
            collector: collectors,
            source: sources,
        } = parse_toml::<CollectorFile>("collectors.toml", COLLECTORS)?;
        let unobservable =
            parse_toml::<UnobservableFile>("unobservable.toml", UNOBSERVABLE)?.unobservable;
        let mut checks = Vec::new();
        for (file, text) in check_files {
            checks.extend(parse_toml::<CheckFile>(file, text)?.check);
        }
        let catalog = Catalog {
            checks,
            components,
            collectors,
            sources,
            unobservable,
            measures: parse_toml::<methods::MeasureFile>("workload.toml", WORKLOAD)?.measure,
            next_levels: parse_toml::<methods::NextLevelFile>("drilldown.toml", DRILLDOWN)?
                .next_level,
            peers: parse_toml::<methods::PeerFile>("outliers.toml", OUTLIERS)?.peer,
            device_classes: parse_toml("device_classes.toml", DEVICE_CLASSES)?,
        };
        catalog.validate()?;
        Ok(catalog)
    }

    /// A catalog of one user-defined check (a `promql_check` query), with the built-in
    /// components and collectors. The check follows the catalog's rules that apply to a query
    /// written by a user: ordered thresholds, a unit suffix, known placeholders.
    pub fn custom(check: Check) -> Result<Catalog, CatalogError> {
        let invalid = |reason: String| CatalogError::InvalidCheck {
            id: check.id.clone(),
            reason,
        };
        validate_thresholds(&check).map_err(invalid)?;
        if Unit::from_evidence_name(&check.metric).is_none() {
            return Err(invalid(format!(
                "metric `{}` needs a unit suffix",
                check.metric
            )));
        }
        check_placeholders(&check.query, QUERY_PLACEHOLDERS, &[]).map_err(invalid)?;
        for n in check.narrative_templates() {
            check_placeholders(n, NARRATIVE_PLACEHOLDERS, &[]).map_err(invalid)?;
        }
        let base = builtin();
        Ok(Catalog {
            checks: vec![check],
            components: base.components.clone(),
            collectors: base.collectors.clone(),
            sources: base.sources.clone(),
            unobservable: Vec::new(),
            measures: Vec::new(),
            next_levels: base.next_levels.clone(),
            peers: Vec::new(),
            device_classes: base.device_classes.clone(),
        })
    }

    /// All checks, in report order.
    pub fn checks(&self) -> &[Check] {
        &self.checks
    }

    /// The block-device classes per-class thresholds refer to.
    pub fn device_classes(&self) -> &DeviceClasses {
        &self.device_classes
    }

    /// The check with this id.
    pub fn check(&self, id: &str) -> Option<&Check> {
        self.checks.iter().find(|c| c.id == id)
    }

    /// How `component` is diagnosed.
    pub fn component(&self, component: Component) -> Option<&ComponentSpec> {
        self.components.iter().find(|c| c.name == component)
    }

    /// The collectors the checks need.
    pub fn collectors(&self) -> &[Collector] {
        &self.collectors
    }

    /// The collector called `name`.
    pub fn collector(&self, name: &str) -> Option<&Collector> {
        self.collectors.iter().find(|c| c.name == name)
    }

    /// The exporters other than node_exporter that some checks read.
    pub fn sources(&self) -> &[Source] {
        &self.sources
    }

    /// USE checklist items node_exporter cannot observe.
    pub fn unobservable(&self) -> &[Unobservable] {
        &self.unobservable
    }

    /// Workload and latency measures compared with a baseline.
    pub fn measures(&self) -> &[Measure] {
        &self.measures
    }

    /// The levels below USE findings.
    pub fn next_levels(&self) -> &[NextLevel] {
        &self.next_levels
    }

    /// The checks compared across peers.
    pub fn peers(&self) -> &[Peer] {
        &self.peers
    }

    /// The checks that need `collector`.
    pub fn checks_requiring<'a>(&'a self, collector: &'a str) -> impl Iterator<Item = &'a Check> {
        self.checks
            .iter()
            .filter(move |c| c.requires.iter().any(|r| r == collector))
    }

    fn validate(&self) -> Result<(), CatalogError> {
        self.validate_components()?;
        self.validate_device_classes()?;
        let collector_names: HashSet<&str> = self
            .collectors
            .iter()
            .map(|c| c.name.as_str())
            .chain(self.sources.iter().map(|s| s.name.as_str()))
            .collect();
        let mut ids = HashSet::new();
        let mut fallback_ranks: BTreeMap<&str, BTreeSet<u8>> = BTreeMap::new();
        for check in &self.checks {
            let invalid = |reason: String| CatalogError::InvalidCheck {
                id: check.id.clone(),
                reason,
            };
            if !ids.insert(check.id.as_str()) {
                return Err(invalid("the id is used twice".to_string()));
            }
            validate_id(check).map_err(invalid)?;
            validate_thresholds(check).map_err(invalid)?;
            book::validate(&check.book_reference).map_err(|e| invalid(e.to_string()))?;
            if check.requires.is_empty() {
                return Err(invalid(
                    "`requires` must name at least one collector".into(),
                ));
            }
            if let Some(r) = check
                .requires
                .iter()
                .find(|r| !collector_names.contains(r.as_str()))
            {
                return Err(invalid(format!(
                    "requires collector or source `{r}`, which collectors.toml does not list"
                )));
            }
            if check.investigation_steps.is_empty() {
                return Err(invalid("needs at least one investigation step".into()));
            }
            if check.threshold_source.trim().is_empty() {
                return Err(invalid(
                    "`threshold_source` must say where the defaults come from".into(),
                ));
            }
            if Unit::from_evidence_name(&check.metric).is_none() {
                return Err(invalid(format!(
                    "metric `{}` needs a unit suffix (_percent, _ms, _per_second, _count…)",
                    check.metric
                )));
            }
            let mut evidence_names = HashSet::new();
            for e in &check.evidence {
                if Unit::from_evidence_name(&e.name).is_none() {
                    return Err(invalid(format!(
                        "evidence `{}` needs a unit suffix",
                        e.name
                    )));
                }
                if e.name == check.metric || !evidence_names.insert(e.name.as_str()) {
                    return Err(invalid(format!("evidence name `{}` is used twice", e.name)));
                }
            }
            for q in check.query_templates() {
                check_placeholders(q, QUERY_PLACEHOLDERS, &[]).map_err(invalid)?;
                check_no_threshold_literal(q).map_err(invalid)?;
            }
            let evidence: Vec<&str> = evidence_names.iter().copied().collect();
            for n in check.narrative_templates() {
                check_placeholders(n, NARRATIVE_PLACEHOLDERS, &evidence).map_err(invalid)?;
            }
            if let Some(guard) = &check.when {
                self.validate_guard(check, guard).map_err(invalid)?;
            }
            self.validate_class_thresholds(check).map_err(invalid)?;
            self.validate_fallback(check, &mut fallback_ranks)
                .map_err(invalid)?;
        }
        self.validate_methods()?;
        let listed = self.collectors.iter().map(|c| c.name.as_str());
        for name in listed.chain(self.sources.iter().map(|s| s.name.as_str())) {
            if self.checks_requiring(name).next().is_none() {
                return Err(CatalogError::Invalid(format!(
                    "collectors.toml lists `{name}`, which no check requires"
                )));
            }
        }
        Ok(())
    }

    /// `device_classes.toml` is consistent and its queries name only the selector.
    fn validate_device_classes(&self) -> Result<(), CatalogError> {
        self.device_classes
            .validate()
            .map_err(CatalogError::Invalid)?;
        for q in [
            &self.device_classes.info_query,
            &self.device_classes.stacked.backing_query,
        ] {
            check_placeholders(q, &["selector"], &[])
                .map_err(|e| CatalogError::Invalid(format!("device_classes.toml: {e}")))?;
        }
        Ok(())
    }

    /// A check's fallback rank is unique in its group (`ranks` so far), and every check of
    /// the group shares component, signal and device label.
    fn validate_fallback<'a>(
        &self,
        check: &'a Check,
        ranks: &mut BTreeMap<&'a str, BTreeSet<u8>>,
    ) -> Result<(), String> {
        let Some(f) = &check.fallback else {
            return Ok(());
        };
        if !ranks.entry(f.group.as_str()).or_default().insert(f.rank) {
            return Err(format!(
                "rank {} is used twice in group {}",
                f.rank, f.group
            ));
        }
        let mismatched = self
            .checks
            .iter()
            .find(|c| c.fallback.as_ref().is_some_and(|g| g.group == f.group))
            .is_some_and(|c| {
                c.component != check.component
                    || c.signal != check.signal
                    || c.device_label != check.device_label
            });
        if mismatched {
            return Err(format!(
                "every check of fallback group {} must share component, signal and device label",
                f.group
            ));
        }
        Ok(())
    }

    /// Per-class thresholds name declared classes, are ordered like the check's, and need the
    /// check's series to name their device.
    fn validate_class_thresholds(&self, check: &Check) -> Result<(), String> {
        if check.fold_stacked && check.device_label.as_deref() != Some("device") {
            return Err("`fold_stacked` needs `device_label = \"device\"`".into());
        }
        if check.class_thresholds.is_empty() {
            return Ok(());
        }
        if check.device_label.as_deref() != Some("device") {
            return Err("`class_thresholds` needs `device_label = \"device\"`".into());
        }
        for (name, t) in &check.class_thresholds {
            if self.device_classes.get(name).is_none() {
                return Err(format!(
                    "`class_thresholds.{name}`: device_classes.toml declares no class `{name}`"
                ));
            }
            let ordered = match check.direction {
                Direction::Above => t.warning <= t.critical,
                Direction::Below => t.warning >= t.critical,
            };
            if !ordered || !t.warning.is_finite() || !t.critical.is_finite() {
                return Err(format!(
                    "`class_thresholds.{name}`: warning and critical must be finite and ordered for the direction"
                ));
            }
        }
        Ok(())
    }

    /// A guard is its own query or another check's series, never both; a referenced check must
    /// yield series the guarded one can be joined with, and must not be guarded by reference
    /// itself (no chains, so no cycles).
    fn validate_guard(&self, check: &Check, guard: &Guard) -> Result<(), String> {
        if let Some(critical) = guard.critical {
            // The critical level's condition is the stricter one: it implies the warning's.
            let stricter = critical.is_finite() && !guard.op.breaches(guard.value, critical);
            if !stricter || critical == guard.value {
                return Err(format!(
                    "`when.critical` ({critical}) must be a stricter condition than `when.value` ({}) for `{}`",
                    guard.value,
                    guard.op.as_str()
                ));
            }
        }
        match (&guard.query, &guard.check) {
            (Some(_), None) => Ok(()),
            (None, Some(id)) => {
                let Some(source) = self.check(id).filter(|c| c.id != check.id) else {
                    return Err(format!(
                        "`when.check` names `{id}`, which is not another check"
                    ));
                };
                // An instant check can read the last point of a range; not the other way round.
                if source.evaluation == Evaluation::Event
                    && check.evaluation == Evaluation::Sustained
                {
                    return Err(format!(
                        "`when.check` names `{id}`, an instant check, but this check needs a value at every point of the window"
                    ));
                }
                if source.device_label.is_some() && source.device_label != check.device_label {
                    return Err(format!(
                        "`when.check` names `{id}`, whose series are per {} and cannot be joined",
                        source.device_label.as_deref().unwrap_or_default()
                    ));
                }
                if source.when.as_ref().is_some_and(|g| g.check.is_some()) {
                    return Err(format!(
                        "`when.check` names `{id}`, which is itself guarded by another check"
                    ));
                }
                Ok(())
            }
            _ => Err("`when` needs exactly one of `query` and `check`".into()),
        }
    }

    /// Measures, drill-down levels and peers follow the checks' rules where they apply.
    fn validate_methods(&self) -> Result<(), CatalogError> {
        let invalid =
            |what: &str, reason: String| CatalogError::Invalid(format!("{what}: {reason}"));
        let mut ids = HashSet::new();
        for m in &self.measures {
            let what = format!("measure `{}`", m.id);
            let prefix = match m.methodology {
                crate::insight::Methodology::WorkloadCharacterization => "workload.",
                crate::insight::Methodology::LatencyAnalysis => "latency.",
                other => {
                    return Err(invalid(
                        &what,
                        format!("methodology {} has no measures", other.as_str()),
                    ))
                }
            };
            if !m.id.starts_with(prefix) || !ids.insert(m.id.as_str()) {
                return Err(invalid(
                    &what,
                    format!("ids are unique and start with `{prefix}`"),
                ));
            }
            if Unit::from_evidence_name(&m.metric).is_none() {
                return Err(invalid(
                    &what,
                    format!("metric `{}` needs a unit suffix", m.metric),
                ));
            }
            if !(m.factor > 1.0 && m.factor.is_finite() && m.floor >= 0.0) {
                return Err(invalid(
                    &what,
                    "factor must be above 1 and floor at least 0".into(),
                ));
            }
            check_placeholders(&m.query, QUERY_PLACEHOLDERS, &[]).map_err(|e| invalid(&what, e))?;
            book::validate(&m.book_reference).map_err(|e| invalid(&what, e.to_string()))?;
            for text in [
                &m.label,
                &m.root_cause,
                &m.immediate_action,
                &m.long_term_fix,
            ]
            .into_iter()
            .chain(m.investigation_steps.iter())
            {
                check_placeholders(text, &["instance", "device"], &[])
                    .map_err(|e| invalid(&what, e))?;
            }
            if m.investigation_steps.is_empty() {
                return Err(invalid(
                    &what,
                    "needs at least one investigation step".into(),
                ));
            }
            if let Some(c) = m
                .contributors
                .iter()
                .find(|c| !self.next_levels.iter().any(|n| &n.label == *c))
            {
                return Err(invalid(
                    &what,
                    format!("contributors names `{c}`, which drilldown.toml does not have"),
                ));
            }
        }
        let mut labels = HashSet::new();
        for n in &self.next_levels {
            let what = format!("next level `{}`", n.label);
            if !labels.insert(n.label.as_str()) || n.top == 0 {
                return Err(invalid(
                    &what,
                    "labels are unique and `top` is at least 1".into(),
                ));
            }
            check_placeholders(&n.query, NEXT_LEVEL_PLACEHOLDERS, &[])
                .map_err(|e| invalid(&what, e))?;
            if !n.query.contains("${hosts}") || !n.evidence.contains("${item}") {
                return Err(invalid(
                    &what,
                    "the query must use ${hosts} and the evidence name ${item}".into(),
                ));
            }
            check_placeholders(&n.evidence, &["item"], &[]).map_err(|e| invalid(&what, e))?;
            if Unit::from_evidence_name(&n.evidence).is_none() {
                return Err(invalid(
                    &what,
                    format!("evidence `{}` needs a unit suffix", n.evidence),
                ));
            }
            for c in &n.commands {
                check_placeholders(c, &["item", "instance", "device"], &[])
                    .map_err(|e| invalid(&what, e))?;
            }
        }
        for p in &self.peers {
            let what = format!("peer `{}`", p.check);
            match self.check(&p.check) {
                Some(c) if c.evaluation == Evaluation::Sustained => {}
                _ => return Err(invalid(&what, "must name a sustained check".into())),
            }
            if p.min_difference.is_nan() || p.min_difference <= 0.0 {
                return Err(invalid(&what, "min_difference must be above 0".into()));
            }
        }
        Ok(())
    }

    fn validate_components(&self) -> Result<(), CatalogError> {
        for component in Component::ALL {
            let matching: Vec<_> = self
                .components
                .iter()
                .filter(|c| c.name == component)
                .collect();
            let [spec] = matching.as_slice() else {
                return Err(CatalogError::Invalid(format!(
                    "components.toml must describe `{component}` exactly once"
                )));
            };
            match (&spec.bottleneck, spec.time_shared) {
                (Some(b), true) => {
                    book::validate(&b.book_reference)
                        .map_err(|e| CatalogError::Invalid(format!("component {component}: {e}")))?;
                    for text in [&b.title, &b.observation, &b.root_cause, &b.immediate_action, &b.long_term_fix]
                        .into_iter()
                        .chain(b.investigation_steps.iter())
                    {
                        check_placeholders(text, BOTTLENECK_PLACEHOLDERS, &[])
                            .map_err(|e| CatalogError::Invalid(format!("component {component}: {e}")))?;
                    }
                }
                (None, false) => {}
                _ => {
                    return Err(CatalogError::Invalid(format!(
                        "component {component}: time-shared components need a bottleneck narrative, others none"
                    )))
                }
            }
        }
        Ok(())
    }
}

fn validate_id(check: &Check) -> Result<(), String> {
    let well_formed = check.id.split('.').count() >= 2
        && check.id.split('.').all(|part| {
            !part.is_empty()
                && part
                    .chars()
                    .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
        });
    if well_formed && check.id.starts_with(&format!("{}.", check.component)) {
        Ok(())
    } else {
        Err(format!(
            "ids are `component.signal[.detail]` in lowercase, starting with the component `{}`",
            check.component
        ))
    }
}

fn validate_thresholds(check: &Check) -> Result<(), String> {
    let ordered = match check.direction {
        Direction::Above => check.warning <= check.critical,
        Direction::Below => check.warning >= check.critical,
    };
    if !ordered || !check.warning.is_finite() || !check.critical.is_finite() {
        return Err("warning and critical must be finite and ordered for the direction".into());
    }
    if check.severity.critical < check.severity.warning {
        return Err("the critical severity must not be lower than the warning severity".into());
    }
    if !(0.0..=100.0).contains(&check.confidence) {
        return Err("confidence is a percentage (0-100)".into());
    }
    Ok(())
}

fn check_placeholders(text: &str, allowed: &[&str], extra: &[&str]) -> Result<(), String> {
    for name in template::placeholders(text) {
        if !allowed.contains(&name) && !extra.contains(&name) {
            return Err(format!(
                "unknown placeholder `${{{name}}}` (allowed: {})",
                allowed
                    .iter()
                    .chain(extra.iter())
                    .copied()
                    .collect::<Vec<_>>()
                    .join(", ")
            ));
        }
    }
    template::render(text, |_| Some("x"))
        .map(|_| ())
        .map_err(|e| e.to_string())
}

/// node-mixin's drift: a threshold hard-coded in a query no longer follows the config.
/// Comparisons against non-zero numbers belong in `warning`/`critical`/`when`; comparisons
/// with 0 are structural filters (`speed > 0`) and allowed.
fn check_no_threshold_literal(query: &str) -> Result<(), String> {
    let bytes = query.as_bytes();
    for (i, window) in bytes.windows(2).enumerate() {
        let op_len = match window {
            [b'>', b'='] | [b'<', b'='] | [b'=', b'='] | [b'!', b'='] => 2,
            [b'>', _] | [b'<', _] => 1,
            _ => continue,
        };
        // `=~`, `!=`, `!~` inside label matchers are followed by a quote, not a number.
        let rest = query[i + op_len..].trim_start();
        let rest = rest
            .strip_prefix("bool")
            .map(str::trim_start)
            .unwrap_or(rest);
        let number: String = rest
            .chars()
            .take_while(|c| c.is_ascii_digit() || *c == '.' || *c == 'e' || *c == '-')
            .collect();
        if !number.is_empty() && number.parse::<f64>().is_ok_and(|n| n != 0.0) {
            return Err(format!(
                "the query compares with the literal {number}: thresholds belong in `warning`, `critical` or `when`"
            ));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn builtin_catalog_is_valid() {
        let catalog = Catalog::load(CHECK_FILES).unwrap();
        assert!(
            catalog.checks().len() >= 40,
            "{} checks",
            catalog.checks().len()
        );
        assert!(catalog.check("cpu.utilization").is_some());
        assert!(catalog
            .component(Component::Cpu)
            .is_some_and(|c| c.time_shared));
        assert!(!catalog.unobservable().is_empty());
    }

    #[test]
    fn every_component_and_signal_is_covered() {
        use crate::insight::UseSignal;
        let catalog = builtin();
        for component in Component::ALL {
            let signals: HashSet<UseSignal> = catalog
                .checks()
                .iter()
                .filter(|c| c.component == component)
                .map(|c| c.signal)
                .collect();
            assert!(
                signals.contains(&UseSignal::Utilization)
                    || component == Component::Disk && signals.contains(&UseSignal::Errors),
                "{component}: {signals:?}"
            );
        }
        for (component, signal) in [
            (Component::Cpu, UseSignal::Saturation),
            (Component::Cpu, UseSignal::Errors),
            (Component::Memory, UseSignal::Saturation),
            (Component::Memory, UseSignal::Errors),
            (Component::Disk, UseSignal::Utilization),
            (Component::Disk, UseSignal::Saturation),
            (Component::Disk, UseSignal::Errors),
            (Component::Network, UseSignal::Saturation),
            (Component::Network, UseSignal::Errors),
        ] {
            assert!(
                catalog
                    .checks()
                    .iter()
                    .any(|c| c.component == component && c.signal == signal),
                "{component} has no {signal:?} check"
            );
        }
    }

    /// Issue 17 item 10: the container drill-down's cgroup path exists in the default layouts
    /// (cgroup v2 with systemd: a docker-<id>.scope under system.slice; v1: cpu,cpuacct/docker).
    #[test]
    fn container_cgroup_paths_follow_default_layouts() {
        let containers = builtin()
            .next_levels()
            .iter()
            .find(|n| n.label == "containers by CPU")
            .expect("the containers level");
        let commands = containers.commands.join("\n");
        assert!(commands.contains("/sys/fs/cgroup/system.slice/docker-$id.scope/cpu.stat"));
        assert!(commands.contains("/sys/fs/cgroup/cpu,cpuacct/docker/$id/cpu.stat"));
        assert!(!commands.contains("/sys/fs/cgroup/$("), "{commands}");
    }

    #[test]
    fn swap_use_is_capacity_and_swapping_is_saturation() {
        // "Systems Performance 2nd ed., Appendix A USE Method: Linux": swap use under capacity
        // (utilization), si/so under saturation.
        use crate::insight::{IssueType, UseSignal};
        let catalog = builtin();
        let used = catalog.check("memory.utilization.swap").expect("swap use");
        assert_eq!(used.signal, UseSignal::Utilization);
        assert_eq!(used.issue_type, IssueType::Capacity);
        let moving = catalog
            .check("memory.saturation.swapping")
            .expect("swapping");
        assert_eq!(moving.signal, UseSignal::Saturation);
        // An id that names a USE signal names the check's own.
        for c in catalog.checks() {
            if let Some(named) =
                c.id.split('.')
                    .nth(1)
                    .filter(|s| ["utilization", "saturation", "errors"].contains(s))
            {
                assert_eq!(named, c.signal.as_str(), "{}", c.id);
            }
        }
    }

    #[test]
    fn threshold_literals_are_refused_but_structural_zeros_allowed() {
        assert!(check_no_threshold_literal("x > 90").is_err());
        assert!(check_no_threshold_literal("x >= bool 1.5").is_err());
        assert!(check_no_threshold_literal("x > 0").is_ok());
        assert!(check_no_threshold_literal(r#"x{a!="b", c=~"d"} / 3600"#).is_ok());
    }

    #[test]
    fn invalid_entries_are_rejected_with_the_check_id() {
        let base = CHECK_FILES[0].1;
        let duplicated = format!("{base}\n{base}");
        let err = Catalog::load(&[("dup.toml", &duplicated)]).unwrap_err();
        assert!(err.to_string().contains("used twice"), "{err}");

        let bad_collector = base.replace("requires = [\"cpu\"]", "requires = [\"nope\"]");
        let err = Catalog::load(&[("c.toml", &bad_collector)]).unwrap_err();
        assert!(err.to_string().contains("`nope`"), "{err}");

        let bad_placeholder = base.replacen("${instance}", "${host}", 1);
        let err = Catalog::load(&[("p.toml", &bad_placeholder)]).unwrap_err();
        assert!(err.to_string().contains("${host}"), "{err}");

        let unknown_field = base.replacen("confidence = ", "confidance = ", 1);
        assert!(Catalog::load(&[("f.toml", &unknown_field)]).is_err());

        let literal = base.replacen("[${rate}]))\n  /", "[${rate}])) > 80\n  /", 1);
        let err = Catalog::load(&[("l.toml", &literal)]).unwrap_err();
        assert!(err.to_string().contains("literal 80"), "{err}");

        // A guard's critical value must be the stricter condition (below 50 % idle: below 40).
        let guard = r#"op = "below", value = 50.0,"#;
        assert!(base.contains(guard));
        let looser = base.replacen(guard, &format!("{guard} critical = 60.0,"), 1);
        let err = Catalog::load(&[("g.toml", &looser)]).unwrap_err();
        assert!(err.to_string().contains("`when.critical` (60)"), "{err}");
        let stricter = base.replacen(guard, &format!("{guard} critical = 40.0,"), 1);
        if let Err(e) = Catalog::load(&[("g.toml", &stricter)]) {
            assert!(!e.to_string().contains("when.critical"), "{e}");
        }
    }
}

#[cfg(test)]
mod promql_validity {
    use super::*;
    use crate::promql::{render_query, Selector};

    /// Every query template, rendered as the engine renders it, must be valid PromQL for a
    /// maintained parser, with and without a target selector.
    #[test]
    fn every_rendered_query_parses() {
        // The grid of a 10-minute window at the assumed 15 s scrape interval.
        let (rate, window) = (
            std::time::Duration::from_secs(60),
            std::time::Duration::from_secs(600),
        );
        let selectors = [
            Selector::empty(),
            Selector::parse(r#"job="node", instance=~"a:9100|b\\.example:9100""#)
                .expect("selector"),
        ];
        let mut parsed = 0;
        for check in builtin().checks() {
            for template in check.query_templates() {
                for selector in &selectors {
                    let query = render_query(template, &selector.to_string(), rate, window)
                        .unwrap_or_else(|e| panic!("{}: {e}", check.id));
                    if let Err(e) = promql_parser::parser::parse(&query) {
                        panic!("{}: invalid PromQL {query:?}: {e}", check.id);
                    }
                    parsed += 1;
                }
            }
        }
        for m in builtin().measures() {
            for selector in &selectors {
                let query = render_query(&m.query, &selector.to_string(), rate, window)
                    .unwrap_or_else(|e| panic!("{}: {e}", m.id));
                if let Err(e) = promql_parser::parser::parse(&query) {
                    panic!("{}: invalid PromQL {query:?}: {e}", m.id);
                }
                parsed += 1;
            }
        }
        for n in builtin().next_levels() {
            let query = crate::promql::template::render(&n.query, |name| match name {
                "hosts" => Some(r#"instance=~"(a|b\\.example)(:[0-9]+)?""#),
                "window" => Some("10m"),
                _ => None,
            })
            .unwrap_or_else(|e| panic!("{}: {e}", n.label));
            if let Err(e) = promql_parser::parser::parse(&query) {
                panic!("{}: invalid PromQL {query:?}: {e}", n.label);
            }
            parsed += 1;
        }
        assert!(parsed > 150, "{parsed} queries checked");
    }
}
