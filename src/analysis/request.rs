//! What to analyse: the request every consumer (plugin, CLI, MCP) builds.

use std::time::Duration;

use chrono::{DateTime, Utc};

use crate::{
    catalog::ThresholdOverrides, insight::Component, methods::MethodsRequest, promql::Selector,
};

/// What to analyse.
#[derive(Clone, Debug)]
pub struct AnalysisRequest {
    /// Evaluation time: the end of the window (the end of the dashboard's range, or now).
    pub at: DateTime<Utc>,
    /// The window over which conditions must be sustained.
    pub window: Duration,
    /// Which targets (data source selector plus query filters).
    pub selector: Selector,
    /// Threshold overrides (validated against the catalog by the caller).
    pub thresholds: ThresholdOverrides,
    /// Run only these check ids; all checks when `None`.
    pub checks: Option<Vec<String>>,
    /// Run only checks of these components; all when `None`.
    pub components: Option<Vec<Component>>,
    /// Keep per-target observations of these checks (tables like `use_summary` need them);
    /// other checks only keep their findings and a summary, to bound memory on large fleets.
    pub observe: Vec<String>,
    /// Keep every check's worst target per instance, compactly ([`crate::engine::Levels`]):
    /// what the tables over the whole selection (`use_matrix`, `alert`) need, at 8 bytes per
    /// instance × check.
    pub keep_levels: bool,
    /// The methods to run beyond USE (all by default) and their options.
    pub methods: MethodsRequest,
    /// Judge over a grid with this step instead of ten points per window (a dashboard's whole
    /// range, for annotations and timelines), and keep every period each condition held.
    pub range_step: Option<Duration>,
    /// Samples one check query may ask the engine to load: a larger one is sent in instance
    /// groups ([`crate::engine::DEFAULT_SAMPLE_BUDGET`] by default, a fifth of Prometheus'
    /// default `--query.max-samples`; set it below an engine's lower limit).
    pub query_sample_budget: u64,
}

impl AnalysisRequest {
    /// Every check at `at` over `window` for the targets of `selector`.
    pub fn new(at: DateTime<Utc>, window: Duration, selector: Selector) -> Self {
        Self {
            at,
            window,
            selector,
            thresholds: ThresholdOverrides::new(),
            checks: None,
            components: None,
            observe: Vec::new(),
            keep_levels: false,
            methods: MethodsRequest::default(),
            range_step: None,
            query_sample_budget: crate::engine::DEFAULT_SAMPLE_BUDGET,
        }
    }
}
