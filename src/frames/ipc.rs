//! Frames written as Arrow IPC *file* bytes with the maintained arrow-rs crates, exactly as
//! Grafana's Go SDK reads them (`data.UnmarshalArrowFrame`).
//!
//! What the Go decoder reads, and what grafana-plugin-sdk 0.5 wrote before (so Grafana gets
//! the same frames):
//!
//! - the file format (magic `ARROW1`), one record batch, none for a frame without fields;
//! - schema metadata `name`, `refId` (the query's, whatever the frame says) and `meta` (the
//!   frame's [`Metadata`](super::model::Metadata) as JSON, only when set);
//! - per field: `labels` (a JSON map) when there are labels or a config, `config` (JSON) when
//!   set; a field's name is its Arrow name. (SDK 0.5 dropped the labels of a field that also had
//!   a config; no frame of ours has both, and both are written here.)
//! - types Utf8, Float64, Int64, UInt64, Boolean and `Timestamp(Nanosecond)` with no zone, the
//!   nullable flag as the model says (Go reads a nullable column as pointers, nulls as nil).
//!
//! The model's buffers move into the arrays without a copy; the writer copies each once into
//! the output, sized in advance.

use std::{collections::HashMap, sync::Arc};

use arrow_array::{
    ArrayRef, BooleanArray, Float64Array, Int64Array, RecordBatch, StringArray,
    TimestampNanosecondArray, UInt64Array,
};
use arrow_buffer::{Buffer, NullBuffer, OffsetBuffer, ScalarBuffer};
use arrow_ipc::writer::FileWriter;
use arrow_schema::{ArrowError, DataType, Field as ArrowField, Schema, TimeUnit};

use super::model::{Field, Frame, Values};

/// Why a frame could not be written.
#[derive(Debug, thiserror::Error)]
pub enum EncodeError {
    /// Its metadata, a label map or a field config did not serialise.
    #[error("frame {frame}: could not write its metadata as JSON: {source}")]
    Json {
        /// The frame's name.
        frame: String,
        /// The cause.
        source: serde_json::Error,
    },
    /// Arrow refused the columns (unequal lengths, bad offsets) or the writer failed.
    #[error("frame {frame}: could not write it as Arrow IPC: {source}")]
    Arrow {
        /// The frame's name.
        frame: String,
        /// The cause.
        source: ArrowError,
    },
}

/// `frame` as Arrow IPC file bytes, its `refId` set to `ref_id`. Takes the frame: its buffers
/// become the arrays without a copy.
pub fn encode(frame: Frame, ref_id: &str) -> Result<Vec<u8>, EncodeError> {
    let schema = Arc::new(schema(&frame, ref_id)?);
    let name = frame.name.clone();
    let arrow = |source| EncodeError::Arrow {
        frame: name.clone(),
        source,
    };
    let mut columns = Vec::with_capacity(frame.fields().len());
    let mut bytes = 0;
    for field in frame.into_fields() {
        // A null bitmap, should the column have one.
        bytes += field.len() / 8 + 1;
        let (column, size) = array(field.values).map_err(arrow)?;
        bytes += size;
        columns.push(column);
    }
    // The batch's body plus room for the schema (twice: stream header and footer) and each
    // buffer's padding to 64 bytes, so the output never grows (a fresh mapping to fault in).
    let mut out = Vec::with_capacity(bytes + 4096 + 512 * columns.len());
    let mut writer = FileWriter::try_new(&mut out, &schema).map_err(arrow)?;
    if !columns.is_empty() {
        let batch = RecordBatch::try_new(schema.clone(), columns).map_err(arrow)?;
        writer.write(&batch).map_err(arrow)?;
    }
    writer.finish().map_err(arrow)?;
    drop(writer);
    Ok(out)
}

/// The Arrow schema of `frame` (its fields' types need no rows), with the metadata Grafana
/// reads: `name`, `refId` (`ref_id`, whatever the frame says) and `meta` when set.
pub fn schema(frame: &Frame, ref_id: &str) -> Result<Schema, EncodeError> {
    let json = |source| EncodeError::Json {
        frame: frame.name.clone(),
        source,
    };
    let mut metadata = HashMap::from([
        ("name".to_string(), frame.name.clone()),
        ("refId".to_string(), ref_id.to_string()),
    ]);
    if let Some(meta) = &frame.meta {
        metadata.insert(
            "meta".to_string(),
            serde_json::to_string(meta).map_err(json)?,
        );
    }
    let fields = frame
        .fields()
        .iter()
        .map(schema_field)
        .collect::<Result<Vec<_>, _>>()
        .map_err(json)?;
    Ok(Schema::new(fields).with_metadata(metadata))
}

/// The Arrow field of `field`, with the metadata Grafana reads.
fn schema_field(field: &Field) -> Result<ArrowField, serde_json::Error> {
    let mut metadata = HashMap::new();
    if !field.labels.is_empty() || field.config.is_some() {
        metadata.insert("labels".to_string(), serde_json::to_string(&field.labels)?);
    }
    if let Some(config) = &field.config {
        metadata.insert("config".to_string(), serde_json::to_string(config)?);
    }
    let data_type = match &field.values {
        Values::Text(_) => DataType::Utf8,
        Values::Float64(..) => DataType::Float64,
        Values::Int64(..) => DataType::Int64,
        Values::UInt64(..) => DataType::UInt64,
        Values::Bool(..) => DataType::Boolean,
        Values::Time(..) => DataType::Timestamp(TimeUnit::Nanosecond, None),
    };
    Ok(ArrowField::new(&field.name, data_type, field.nullable).with_metadata(metadata))
}

/// The Arrow array of `values` (their buffers moved, not copied) and its size in bytes.
/// Inconsistent values (offsets past the text, text that is not UTF-8, null flags of another
/// length) are an error, never a panic.
fn array(values: Values) -> Result<(ArrayRef, usize), ArrowError> {
    let nulls = |valid: Option<Vec<bool>>, rows: usize| match valid {
        Some(v) if v.len() != rows => Err(ArrowError::InvalidArgumentError(format!(
            "{} null flags for {rows} values",
            v.len()
        ))),
        v => Ok(v.map(NullBuffer::from)),
    };
    Ok(match values {
        Values::Text(t) => {
            let size = t.bytes.len() + 4 * t.offsets.len();
            let rows = t.offsets.len().saturating_sub(1);
            let valid = nulls(t.valid, rows)?;
            if t.offsets.first().is_none_or(|o| *o != 0) {
                return Err(ArrowError::InvalidArgumentError(
                    "text offsets must start at 0".to_string(),
                ));
            }
            // `OffsetBuffer::new` asserts (panics) on decreasing offsets.
            if t.offsets.windows(2).any(|w| w[1] < w[0]) {
                return Err(ArrowError::InvalidArgumentError(
                    "text offsets must not decrease".to_string(),
                ));
            }
            let offsets = OffsetBuffer::new(ScalarBuffer::from(t.offsets));
            let array = StringArray::try_new(offsets, Buffer::from_vec(t.bytes), valid)?;
            (Arc::new(array), size)
        }
        Values::Float64(v, valid) => {
            let (size, valid) = (8 * v.len(), nulls(valid, v.len())?);
            (Arc::new(Float64Array::try_new(v.into(), valid)?), size)
        }
        Values::Int64(v, valid) => {
            let (size, valid) = (8 * v.len(), nulls(valid, v.len())?);
            (Arc::new(Int64Array::try_new(v.into(), valid)?), size)
        }
        Values::UInt64(v, valid) => {
            let (size, valid) = (8 * v.len(), nulls(valid, v.len())?);
            (Arc::new(UInt64Array::try_new(v.into(), valid)?), size)
        }
        Values::Bool(v, valid) => {
            let (size, valid) = (v.len() / 8 + 1, nulls(valid, v.len())?);
            (Arc::new(BooleanArray::new(v.into(), valid)), size)
        }
        Values::Time(v, valid) => {
            let (size, valid) = (8 * v.len(), nulls(valid, v.len())?);
            (
                Arc::new(TimestampNanosecondArray::try_new(v.into(), valid)?),
                size,
            )
        }
    })
}

#[cfg(test)]
mod tests {
    use std::io::Cursor;

    use arrow_array::{cast::AsArray, types::TimestampNanosecondType, Array};
    use arrow_ipc::reader::FileReader;
    use chrono::{DateTime, Utc};
    use grafana_plugin_sdk::data::VisType;

    use super::*;
    use crate::frames::model::{FieldConfig, IntoField, IntoOptField, Metadata, Text};

    fn read(bytes: &[u8]) -> (Arc<Schema>, Vec<RecordBatch>) {
        assert!(bytes.starts_with(b"ARROW1"), "the IPC file format");
        let reader = FileReader::try_new(Cursor::new(bytes.to_vec()), None)
            .unwrap_or_else(|e| panic!("arrow-ipc cannot read the file: {e}"));
        let schema = reader.schema();
        let batches = reader
            .collect::<Result<Vec<_>, _>>()
            .unwrap_or_else(|e| panic!("a batch does not read: {e}"));
        (schema, batches)
    }

    fn sample() -> Frame {
        let at = DateTime::<Utc>::from_timestamp(1_748_865_600, 0).unwrap_or_default();
        let mut labelled = vec![1.5_f64, 2.5].into_field("value");
        labelled.labels = [("instance".to_string(), "web-1".to_string())].into();
        let mut configured = vec![90.0_f64, 95.0].into_field("utilization");
        let mut config = FieldConfig::default();
        config.unit = Some("percent".to_string());
        configured.config = Some(config);
        let mut meta = Metadata::default();
        meta.preferred_visualisation = Some(VisType::Table);
        meta.executed_query_string = Some("up\nrate(x[1m])".to_string());
        let mut frame = Frame::new("insights").with_fields([
            vec!["a", "ünï \"code\""].into_field("id"),
            vec![Some("x"), None].into_field("device"),
            vec![Some("sda"), None].into_opt_field("disk"),
            vec![at, at].into_field("timestamp"),
            vec![Some(at), None].into_opt_field("ended_at"),
            vec![Some(3.0), None].into_opt_field("warning"),
            vec![7_i64, -1].into_field("series"),
            vec![true, false].into_field("flag"),
            labelled,
            configured,
        ]);
        frame.meta = Some(meta);
        frame
    }

    #[test]
    fn the_schema_carries_what_grafanas_go_decoder_reads() {
        let (schema, batches) = read(&encode(sample(), "B").expect("encodes"));
        let md = schema.metadata();
        assert_eq!(md.get("name").map(String::as_str), Some("insights"));
        assert_eq!(md.get("refId").map(String::as_str), Some("B"));
        let meta: serde_json::Value =
            serde_json::from_str(md.get("meta").expect("meta")).expect("meta is JSON");
        assert_eq!(meta["preferredVisualisationType"], "table");
        assert_eq!(meta["executedQueryString"], "up\nrate(x[1m])");
        let types: Vec<(&str, &DataType, bool)> = schema
            .fields()
            .iter()
            .map(|f| (f.name().as_str(), f.data_type(), f.is_nullable()))
            .collect();
        let ns = DataType::Timestamp(TimeUnit::Nanosecond, None);
        assert_eq!(
            types,
            [
                ("id", &DataType::Utf8, false),
                ("device", &DataType::Utf8, false),
                ("disk", &DataType::Utf8, true),
                ("timestamp", &ns, false),
                ("ended_at", &ns, true),
                ("warning", &DataType::Float64, true),
                ("series", &DataType::Int64, false),
                ("flag", &DataType::Boolean, false),
                ("value", &DataType::Float64, false),
                ("utilization", &DataType::Float64, false),
            ]
        );
        let field_md = |name: &str| schema.field_with_name(name).expect(name).metadata().clone();
        assert!(field_md("id").is_empty());
        assert_eq!(
            field_md("value").get("labels").map(String::as_str),
            Some(r#"{"instance":"web-1"}"#)
        );
        assert!(field_md("value").get("config").is_none());
        // As SDK 0.5 wrote a config: with an empty label map beside it.
        assert_eq!(
            field_md("utilization").get("labels").map(String::as_str),
            Some("{}")
        );
        let config: serde_json::Value =
            serde_json::from_str(&field_md("utilization")["config"]).expect("config is JSON");
        assert_eq!(config["unit"], "percent");
        assert_eq!(batches.len(), 1);
        assert_eq!(batches[0].num_rows(), 2);
    }

    #[test]
    fn values_and_nulls_round_trip() {
        let (_, batches) = read(&encode(sample(), "A").expect("encodes"));
        let b = &batches[0];
        let col = |name: &str| b.column_by_name(name).expect(name).clone();
        let id = col("id");
        assert_eq!(id.as_string::<i32>().value(1), "ünï \"code\"");
        // Not nullable: no null flags, the missing row reads as empty (as Go reads it).
        let device = col("device");
        assert_eq!(device.null_count(), 0);
        assert_eq!(device.as_string::<i32>().value(1), "");
        let disk = col("disk");
        assert!(disk.is_valid(0) && disk.is_null(1));
        assert_eq!(disk.as_string::<i32>().value(0), "sda");
        let ended = col("ended_at");
        let ended = ended.as_primitive::<TimestampNanosecondType>();
        assert_eq!(ended.value(0), 1_748_865_600_000_000_000);
        assert!(ended.is_null(1));
        let warning = col("warning");
        let warning = warning.as_primitive::<arrow_array::types::Float64Type>();
        assert_eq!(warning.value(0), 3.0);
        assert!(warning.is_null(1));
        let series = col("series");
        assert_eq!(
            series
                .as_primitive::<arrow_array::types::Int64Type>()
                .values(),
            &[7, -1]
        );
        let flag = col("flag");
        assert!(flag.as_boolean().value(0) && !flag.as_boolean().value(1));
    }

    #[test]
    fn frames_without_fields_or_rows_still_read() {
        let (schema, batches) = read(&encode(Frame::new("empty"), "A").expect("encodes"));
        assert!(schema.fields().is_empty() && batches.is_empty());
        let rows = Frame::new("none").with_fields([Vec::<f64>::new().into_field("v")]);
        let (_, batches) = read(&encode(rows, "A").expect("encodes"));
        assert_eq!(batches.iter().map(RecordBatch::num_rows).sum::<usize>(), 0);
    }

    #[test]
    fn inconsistent_columns_are_errors_not_panics() {
        let uneven = Frame::new("uneven")
            .with_fields([vec![1.0].into_field("a"), vec![1.0, 2.0].into_field("b")]);
        let err = encode(uneven, "A").expect_err("unequal lengths");
        assert!(err.to_string().contains("uneven"), "{err}");
        let bad_text = Text {
            offsets: vec![0, 9],
            bytes: b"abc".to_vec(),
            valid: None,
        };
        let broken = Frame::new("t").with_fields([Field::new("t", Values::Text(bad_text), false)]);
        assert!(encode(broken, "A").is_err());
        let decreasing = Text {
            offsets: vec![0, 3, 1],
            bytes: b"abc".to_vec(),
            valid: None,
        };
        let backwards =
            Frame::new("d").with_fields([Field::new("d", Values::Text(decreasing), false)]);
        let err = encode(backwards, "A").expect_err("decreasing offsets");
        assert!(err.to_string().contains("must not decrease"), "{err}");
        let flags = Frame::new("f").with_fields([Field::new(
            "f",
            Values::Float64(vec![1.0], Some(vec![true, false])),
            true,
        )]);
        assert!(encode(flags, "A").is_err());
    }
}
