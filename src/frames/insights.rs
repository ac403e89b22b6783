//! `insights`: one row per insight, one column per field of the insight model.
//!
//! Lists and maps (evidence, investigation steps, related metrics) are JSON strings; optional
//! fields are nullable. Rows come sorted by severity, then confidence (the engine's order).

use grafana_plugin_sdk::{
    data::{Frame, Metadata, VisType},
    prelude::*,
};

use crate::insight::Insight;

/// The table of `insights`, named `name`.
///
/// Text columns are handed to the SDK as borrowed `&str` iterators, so each string is copied
/// once, straight into its Arrow buffer: at 10,000 insights the frame holds tens of MiB of
/// text, and every extra copy shows (benches/frames.rs).
pub fn table(name: &str, insights: &[&Insight]) -> Frame {
    let text = |f: fn(&Insight) -> &str| insights.iter().map(move |i| f(i));
    let optional = |f: fn(&Insight) -> Option<&str>| insights.iter().map(move |i| f(i));
    let json = |f: fn(&Insight) -> String| insights.iter().map(move |i| f(i));
    let mut frame = Frame::new(name).with_fields([
        text(|i| &i.id).into_field("id"),
        insights.iter().map(|i| i.timestamp).into_field("timestamp"),
        text(|i| i.severity.as_str()).into_field("severity"),
        insights
            .iter()
            .map(|i| f64::from(i.severity.level()))
            .into_field("severity_level"),
        text(|i| i.methodology.as_str()).into_field("methodology"),
        text(|i| i.component.as_str()).into_field("component"),
        text(|i| i.issue_type.as_str()).into_field("issue_type"),
        optional(|i| i.use_signal.map(|s| s.as_str())).into_opt_field("use_signal"),
        text(|i| &i.title).into_field("title"),
        text(|i| &i.observation).into_field("observation"),
        json(|i| to_json(&i.evidence)).into_field("evidence"),
        text(|i| &i.root_cause).into_field("root_cause"),
        text(|i| &i.immediate_action).into_field("immediate_action"),
        json(|i| to_json(&i.investigation_steps)).into_field("investigation_steps"),
        text(|i| &i.long_term_fix).into_field("long_term_fix"),
        json(|i| to_json(&i.related_metrics)).into_field("related_metrics"),
        insights
            .iter()
            .map(|i| i.confidence)
            .into_field("confidence"),
        optional(|i| i.book_reference.as_deref()).into_opt_field("book_reference"),
        optional(|i| i.instance.as_deref()).into_opt_field("instance"),
        optional(|i| i.device.as_deref()).into_opt_field("device"),
        text(|i| &i.check).into_field("check"),
        insights
            .iter()
            .map(|i| i.started_at)
            .into_opt_field("started_at"),
        insights
            .iter()
            .map(|i| i.ended_at)
            .into_opt_field("ended_at"),
    ]);
    let mut meta = Metadata::default();
    meta.preferred_visualisation = Some(VisType::Table);
    frame.meta = Some(meta);
    frame
}

/// JSON text of plain data (strings, numbers, maps), which always serialises.
fn to_json<T: serde::Serialize>(value: &T) -> String {
    serde_json::to_string(value).unwrap_or_else(|_| "null".into())
}
