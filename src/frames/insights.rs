//! `insights`: one row per insight, one column per field of the insight model.
//!
//! Lists and maps (evidence, investigation steps, related metrics) are JSON strings; optional
//! fields are nullable. Rows come sorted by severity, then confidence (the engine's order).
//!
//! The columns are declared once ([`COLUMNS`]) and produced two ways: as a frame of the column
//! model ([`table`]: what the report and dashboard frames build on) and written straight into
//! an Arrow IPC file ([`encode`]: what an `insights` query answers, issue 19), byte for byte
//! what [`super::ipc::encode`] writes for the table.

use chrono::{DateTime, Utc};
use grafana_plugin_sdk::data::VisType;

use super::{
    columns,
    inplace::{FileWriter, Nanos, Row},
    ipc::{self, EncodeError},
    model::{self, Field, Frame, IntoField, IntoOptField, Metadata},
};
use crate::insight::Insight;

/// How a column's rows come from an insight (and its type, as the SDK types it).
enum Rows {
    /// Utf8, not nullable.
    Text(fn(&Insight) -> &str),
    /// Utf8, not nullable: a missing value is an empty string, as Grafana reads it.
    OptionalText(fn(&Insight) -> Option<&str>),
    /// Utf8, not nullable: the value's JSON text.
    Json(fn(&Insight, &mut Row<'_>)),
    /// Float64, not nullable.
    Number(fn(&Insight) -> f64),
    /// Timestamp(Nanosecond), not nullable.
    Time(fn(&Insight) -> DateTime<Utc>),
    /// Timestamp(Nanosecond), nullable.
    OptionalTime(fn(&Insight) -> Option<DateTime<Utc>>),
}

/// The table's columns, in order.
const COLUMNS: [(&str, Rows); 27] = [
    ("id", Rows::Text(|i| i.id.as_str())),
    ("timestamp", Rows::Time(|i| i.timestamp)),
    ("severity", Rows::Text(|i| i.severity.as_str())),
    (
        "severity_level",
        Rows::Number(|i| f64::from(i.severity.level())),
    ),
    ("methodology", Rows::Text(|i| i.methodology.as_str())),
    ("component", Rows::Text(|i| i.component.as_str())),
    ("issue_type", Rows::Text(|i| i.issue_type.as_str())),
    (
        "use_signal",
        Rows::OptionalText(|i| i.use_signal.map(|s| s.as_str())),
    ),
    ("title", Rows::Text(|i| i.title.as_str())),
    ("observation", Rows::Text(|i| i.observation.as_str())),
    (
        "evidence",
        Rows::Json(|i, row| row.push_evidence(&i.evidence)),
    ),
    ("root_cause", Rows::Text(|i| i.root_cause.as_str())),
    (
        "immediate_action",
        Rows::Text(|i| i.immediate_action.as_str()),
    ),
    (
        "investigation_steps",
        Rows::Json(|i, row| row.push_strings(&i.investigation_steps)),
    ),
    ("long_term_fix", Rows::Text(|i| i.long_term_fix.as_str())),
    (
        "related_metrics",
        Rows::Json(|i, row| row.push_strings(&i.related_metrics)),
    ),
    ("confidence", Rows::Number(|i| i.confidence)),
    (
        "book_reference",
        Rows::OptionalText(|i| i.book_reference.as_deref()),
    ),
    ("instance", Rows::OptionalText(|i| i.instance.as_deref())),
    ("device", Rows::OptionalText(|i| i.device.as_deref())),
    ("check", Rows::Text(|i| i.check.as_str())),
    ("started_at", Rows::OptionalTime(|i| i.started_at)),
    ("ended_at", Rows::OptionalTime(|i| i.ended_at)),
    // Container findings' Kubernetes names, null on host findings.
    (
        "namespace",
        Rows::OptionalText(|i| i.container_labels().map(|c| c.namespace)),
    ),
    (
        "pod",
        Rows::OptionalText(|i| i.container_labels().map(|c| c.pod)),
    ),
    (
        "container",
        Rows::OptionalText(|i| i.container_labels().map(|c| c.container)),
    ),
    (
        "node",
        Rows::OptionalText(|i| i.container_labels().and_then(|c| c.node)),
    ),
];

/// The table of `insights`, named `name`, on the column model.
///
/// Text columns are written straight into Arrow buffers sized in advance ([`super::columns`]):
/// at 10,000 insights the frame holds tens of MiB of text (benches/frames.rs).
pub fn table(name: &str, insights: &[&Insight]) -> Frame {
    let mut frame =
        Frame::new(name).with_fields(COLUMNS.iter().map(|(n, rows)| field(n, rows, insights)));
    let mut meta = Metadata::default();
    meta.preferred_visualisation = Some(VisType::Table);
    frame.meta = Some(meta);
    frame
}

/// One column of the table on the column model.
fn field(name: &str, rows: &Rows, insights: &[&Insight]) -> Field {
    let all = || insights.iter().copied();
    match rows {
        Rows::Text(f) => columns::text(name, all().map(f)),
        Rows::OptionalText(f) => columns::optional_text(name, all().map(f)),
        Rows::Json(f) => {
            let bytes = all().map(json_bytes).sum();
            columns::written(name, all(), bytes, f)
        }
        Rows::Number(f) => all().map(f).into_field(name),
        Rows::Time(f) => all().map(f).into_field(name),
        Rows::OptionalTime(f) => all().map(f).into_opt_field(name),
    }
}

/// The table of `insights` as Arrow IPC file bytes, written straight into the file
/// ([`super::inplace`]): the same bytes as `ipc::encode(table)` with `head`'s name and
/// metadata, without building the table first. `head` is [`table`] without rows
/// (`table(name, &[])`), its metadata filled in (`frames::describe`).
pub fn encode(head: &Frame, insights: &[&Insight], ref_id: &str) -> Result<Vec<u8>, EncodeError> {
    let arrow = |source| EncodeError::Arrow {
        frame: head.name.clone(),
        source,
    };
    let schema = ipc::schema(head, ref_id)?;
    let mut file =
        FileWriter::try_new(schema, insights.len(), body_bytes(insights)).map_err(arrow)?;
    let all = || insights.iter().copied();
    for (_, rows) in &COLUMNS {
        match rows {
            Rows::Text(f) => file.text(all(), |i, row| row.push_str(f(i))),
            Rows::OptionalText(f) => file.text(all(), |i, row| row.push_str(f(i).unwrap_or(""))),
            Rows::Json(f) => file.text(all(), f),
            Rows::Number(f) => file.values(all().map(|i| Some(f(i)))),
            Rows::Time(f) => file.values(all().map(|i| Some(Nanos(model::nanos(f(i)))))),
            Rows::OptionalTime(f) => {
                file.values(all().map(|i| f(i).map(|t| Nanos(model::nanos(t)))))
            }
        }
        .map_err(arrow)?;
    }
    file.finish().map_err(arrow)
}

/// About the size of the table's body, a little over rather than under (untouched capacity
/// costs address space, not memory; growing a buffer means a new one).
fn body_bytes(insights: &[&Insight]) -> usize {
    let per_row: usize = insights
        .iter()
        .map(|i| {
            COLUMNS
                .iter()
                .map(|(_, rows)| match rows {
                    Rows::Text(f) => f(i).len() + 4,
                    Rows::OptionalText(f) => f(i).map_or(0, str::len) + 4,
                    Rows::Json(_) => 0,
                    Rows::Number(_) | Rows::Time(_) | Rows::OptionalTime(_) => 8,
                })
                .sum::<usize>()
                + json_bytes(i)
        })
        .sum();
    // Each of the 2 or 3 buffers of a column is padded to 64 bytes; validity bitmaps.
    per_row + COLUMNS.len() * (3 * 64 + insights.len() / 8 + 1)
}

/// About the size of an insight's JSON columns: strings with room for some escapes, numbers
/// at their longest.
fn json_bytes(i: &Insight) -> usize {
    let list = |l: &[String]| l.iter().map(|s| s.len() + s.len() / 4 + 3).sum::<usize>() + 2;
    let evidence: usize = i
        .evidence
        .iter()
        .map(|(n, _)| n.len() + n.len() / 4 + 28)
        .sum();
    evidence + 2 + list(&i.investigation_steps) + list(&i.related_metrics)
}

#[cfg(test)]
mod tests {
    use chrono::TimeZone;
    use grafana_plugin_sdk::data::Notice;

    use super::*;
    use crate::insight::{Component, Evidence, IssueType, Methodology, Severity, UseSignal};

    /// Insights that exercise every column: optional text present and absent, container
    /// names, a start time missing (a null in a nullable column), non-finite evidence (JSON
    /// `null`), quotes and non-ASCII text that JSON escapes or keeps.
    fn findings() -> Vec<Insight> {
        let at = Utc
            .timestamp_opt(1_748_865_600, 5)
            .single()
            .unwrap_or_default();
        let host = Insight {
            id: "cpu.bottleneck:web-1:9100".into(),
            timestamp: at,
            methodology: Methodology::UseMethod,
            component: Component::Cpu,
            issue_type: IssueType::Bottleneck,
            use_signal: Some(UseSignal::Saturation),
            severity: Severity::Critical,
            title: "CPU bottleneck on web-1: 97.0% busy — work waits".into(),
            observation: "Drill-down: CPU 0 98.0%, \"hot\" \\ 🔥".into(),
            evidence: Evidence::new()
                .with("cpu_utilization_percent", 97.0)
                .with("robust_z_ratio", f64::INFINITY)
                .with("cpu_count", 8.0),
            root_cause: "Demand exceeds capacity.".into(),
            immediate_action: "`pidstat 1`".into(),
            investigation_steps: vec!["mpstat -P ALL 1".into(), "perf top \"-C 0\"".into()],
            long_term_fix: "Scale out.".into(),
            related_metrics: vec!["rate(node_cpu_seconds_total{mode=\"idle\"}[1m])".into()],
            confidence: 95.5,
            book_reference: Some(
                "Systems Performance 2nd ed., Ch. 6 CPUs: 6.5.2 USE Method".into(),
            ),
            instance: Some("web-1:9100".into()),
            device: None,
            check: "cpu.bottleneck".into(),
            started_at: Some(at),
            ended_at: Some(at),
        };
        let container = Insight {
            id: "container.throttled:shop/cart-7/app".into(),
            component: Component::Container,
            use_signal: None,
            severity: Severity::High,
            evidence: Evidence::new(),
            investigation_steps: Vec::new(),
            related_metrics: Vec::new(),
            book_reference: None,
            instance: Some("shop/cart-7/app".into()),
            device: Some("node-3".into()),
            started_at: None,
            ..host.clone()
        };
        vec![host, container.clone(), container]
    }

    /// `table(name, &[])` with the metadata `frames::describe` fills in.
    fn head() -> Frame {
        let mut head = table("insights", &[]);
        if let Some(meta) = head.meta.as_mut() {
            meta.executed_query_string = Some("up\nrate(x[1m])".into());
            meta.notices = Some(vec![Notice::new("Coverage: collector missing".into())]);
        }
        head
    }

    /// What the model path writes: the table with `head`'s metadata, by arrow-rs.
    fn by_arrow_rs(insights: &[&Insight]) -> Vec<u8> {
        let mut frame = table("insights", insights);
        frame.meta = head().meta;
        ipc::encode(frame, "B").expect("the table encodes")
    }

    #[test]
    fn the_table_written_in_place_is_byte_for_byte_what_arrow_rs_writes() {
        let all = findings();
        let refs: Vec<&Insight> = all.iter().collect();
        for rows in [&refs[..], &refs[..1], &refs[1..], &[]] {
            let in_place = encode(&head(), rows, "B").expect("the table is written in place");
            let arrow_rs = by_arrow_rs(rows);
            let first_difference = in_place.iter().zip(&arrow_rs).position(|(a, b)| a != b);
            assert!(
                first_difference.is_none() && in_place.len() == arrow_rs.len(),
                "{} rows: the file differs from arrow-rs' from byte {first_difference:?} ({} and {} bytes)",
                rows.len(),
                in_place.len(),
                arrow_rs.len()
            );
        }
    }

    #[test]
    fn both_ways_carry_the_insights() {
        let all = findings();
        let refs: Vec<&Insight> = all.iter().collect();
        let frame = table("insights", &refs);
        assert_eq!(frame.fields().len(), COLUMNS.len());
        let text = |name: &str, row: usize| frame.field(name).and_then(|f| f.values.text(row));
        assert_eq!(text("use_signal", 0), Some("saturation"));
        assert_eq!(text("use_signal", 1), Some(""));
        assert_eq!(text("namespace", 1), Some("shop"));
        assert_eq!(text("node", 1), Some("node-3"));
        assert_eq!(text("node", 0), Some(""));
        let evidence: serde_json::Value =
            serde_json::from_str(text("evidence", 0).unwrap_or_default()).expect("JSON");
        assert_eq!(evidence["cpu_utilization_percent"], 97.0);
        assert!(evidence["robust_z_ratio"].is_null());
        let started = frame.field("started_at").expect("started_at");
        assert!(started.nullable);
        assert_eq!(started.values.number(1), None);
        let bytes = encode(&head(), &refs, "B").expect("written in place");
        assert!(bytes.starts_with(b"ARROW1") && bytes.ends_with(b"ARROW1"));
    }
}
