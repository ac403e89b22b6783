//! `insights`: one row per insight, one column per field of the insight model.
//!
//! Lists and maps (evidence, investigation steps, related metrics) are JSON strings; optional
//! fields are nullable. Rows come sorted by severity, then confidence (the engine's order).

use grafana_plugin_sdk::data::VisType;

use super::{
    columns,
    model::{Frame, IntoField, IntoOptField, Metadata},
};
use crate::insight::Insight;

/// The table of `insights`, named `name`.
///
/// Text columns are written straight into Arrow buffers sized in advance ([`super::columns`]):
/// at 10,000 insights the frame holds tens of MiB of text (benches/frames.rs).
pub fn table(name: &str, insights: &[&Insight]) -> Frame {
    let all = || insights.iter().copied();
    // Rough sizes of the JSON columns per row, so their buffers rarely grow.
    let n = insights.len();
    let mut frame = Frame::new(name).with_fields([
        columns::text("id", all().map(|i| i.id.as_str())),
        all().map(|i| i.timestamp).into_field("timestamp"),
        columns::text("severity", all().map(|i| i.severity.as_str())),
        all()
            .map(|i| f64::from(i.severity.level()))
            .into_field("severity_level"),
        columns::text("methodology", all().map(|i| i.methodology.as_str())),
        columns::text("component", all().map(|i| i.component.as_str())),
        columns::text("issue_type", all().map(|i| i.issue_type.as_str())),
        columns::optional_text(
            "use_signal",
            all().map(|i| i.use_signal.map(|s| s.as_str())),
        ),
        columns::text("title", all().map(|i| i.title.as_str())),
        columns::text("observation", all().map(|i| i.observation.as_str())),
        columns::json("evidence", all().map(|i| &i.evidence), n * 512),
        columns::text("root_cause", all().map(|i| i.root_cause.as_str())),
        columns::text(
            "immediate_action",
            all().map(|i| i.immediate_action.as_str()),
        ),
        columns::json(
            "investigation_steps",
            all().map(|i| &i.investigation_steps),
            n * 512,
        ),
        columns::text("long_term_fix", all().map(|i| i.long_term_fix.as_str())),
        columns::json(
            "related_metrics",
            all().map(|i| &i.related_metrics),
            n * 1024,
        ),
        all().map(|i| i.confidence).into_field("confidence"),
        columns::optional_text("book_reference", all().map(|i| i.book_reference.as_deref())),
        columns::optional_text("instance", all().map(|i| i.instance.as_deref())),
        columns::optional_text("device", all().map(|i| i.device.as_deref())),
        columns::text("check", all().map(|i| i.check.as_str())),
        all().map(|i| i.started_at).into_opt_field("started_at"),
        all().map(|i| i.ended_at).into_opt_field("ended_at"),
        // Container findings' Kubernetes names, null on host findings.
        columns::optional_text(
            "namespace",
            all().map(|i| i.container_labels().map(|c| c.namespace)),
        ),
        columns::optional_text("pod", all().map(|i| i.container_labels().map(|c| c.pod))),
        columns::optional_text(
            "container",
            all().map(|i| i.container_labels().map(|c| c.container)),
        ),
        columns::optional_text(
            "node",
            all().map(|i| i.container_labels().and_then(|c| c.node)),
        ),
    ]);
    let mut meta = Metadata::default();
    meta.preferred_visualisation = Some(VisType::Table);
    frame.meta = Some(meta);
    frame
}
