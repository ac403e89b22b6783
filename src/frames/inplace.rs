//! An Arrow IPC file of one record batch whose columns are written straight into the file.
//!
//! [`super::ipc::encode`] writes a frame already built on the column model: arrow-ipc copies
//! every column buffer into the output. For 10,000 insights that is 30 MiB of text written
//! into column buffers, then copied into a second 30 MiB region; both are fresh memory the
//! kernel faults in page by page, and that, not the copying, is most of the time (issue 19,
//! docs/performance.md). Here the columns are written, in order, where the file's record batch
//! body holds them: a text column's offsets, then its text, each padded as arrow-ipc pads it.
//! The batch's header comes before its body and says where every buffer is; its size depends
//! only on the number of rows, columns and buffers, not on where they are, so room is kept for
//! it and it is written once the body is complete.
//!
//! The bytes are exactly those arrow-ipc 60's `FileWriter` writes for the same batch with its
//! default options (metadata V5, buffers aligned to 64 bytes, no validity buffer for a column
//! without nulls): `frames::insights::tests` compares the two files byte for byte.

use arrow_ipc::{
    writer::{write_message, DictionaryTracker, IpcDataGenerator, IpcWriteOptions},
    Block, Buffer, FieldNode, FooterBuilder, MessageBuilder, MessageHeader, MetadataVersion,
    RecordBatchBuilder,
};
use arrow_schema::{ArrowError, DataType, Schema, TimeUnit};
use flatbuffers::FlatBufferBuilder;

/// Buffers in the body start at multiples of this (arrow-ipc's default alignment).
const ALIGNMENT: usize = 64;
/// The file's first and last bytes (padded to the alignment at the start).
const MAGIC: &[u8; 6] = b"ARROW1";
/// Before each message: the continuation marker, then the metadata's length.
const CONTINUATION: [u8; 4] = [0xff; 4];

/// A fixed-width value a column can hold, written little-endian as Arrow stores it.
pub trait Native: Copy + Default {
    /// The column's Arrow type.
    const TYPE: DataType;
    /// The value's bytes.
    fn bytes(self) -> [u8; 8];
}

impl Native for f64 {
    const TYPE: DataType = DataType::Float64;
    fn bytes(self) -> [u8; 8] {
        self.to_le_bytes()
    }
}

/// Nanoseconds since the epoch, a `Timestamp(Nanosecond)` column with no time zone.
#[derive(Clone, Copy, Default, Debug, PartialEq)]
pub struct Nanos(pub i64);

impl Native for Nanos {
    const TYPE: DataType = DataType::Timestamp(TimeUnit::Nanosecond, None);
    fn bytes(self) -> [u8; 8] {
        self.0.to_le_bytes()
    }
}

/// One row's text being written into a Utf8 column: only `&str` and JSON go in, so the
/// column is UTF-8 by construction.
pub struct Row<'a>(&'a mut Vec<u8>);

impl<'a> Row<'a> {
    /// A row written at the end of `text`, which holds UTF-8 only.
    pub(super) fn new(text: &'a mut Vec<u8>) -> Self {
        Row(text)
    }

    /// Append `text` to the row.
    pub fn push_str(&mut self, text: &str) {
        self.0.extend_from_slice(text.as_bytes());
    }

    /// Append the JSON text of a list of strings (as serde_json writes it, faster: see
    /// [`super::json`]).
    pub fn push_strings(&mut self, items: &[String]) {
        super::json::strings(self.0, items);
    }

    /// Append the JSON text of `evidence` (as its `Serialize` writes it, faster: see
    /// [`super::json`]).
    pub fn push_evidence(&mut self, evidence: &crate::insight::Evidence) {
        super::json::evidence(self.0, evidence);
    }

    /// Append the JSON text of `value`. Plain data (strings, numbers, maps with string keys)
    /// always serialises; should it ever fail, the row says `null` rather than the frame
    /// failing.
    pub fn push_json<T: serde::Serialize + ?Sized>(&mut self, value: &T) {
        let start = self.0.len();
        if serde_json::to_writer(&mut *self.0, value).is_err() {
            self.0.truncate(start);
            self.0.extend_from_slice(b"null");
        }
    }
}

/// An Arrow IPC file being written: the schema is written first, then every column of the
/// schema in order ([`FileWriter::text`], [`FileWriter::values`]), then [`FileWriter::finish`].
/// After an error the file cannot be finished.
pub struct FileWriter {
    /// Set by a column that failed half-written.
    broken: bool,
    out: Vec<u8>,
    schema: Schema,
    rows: usize,
    /// Where the batch's message starts, the size of its header (as the counts give it, see
    /// [`header`]) and the room kept for it (with the prefix, padded to the alignment).
    message_at: usize,
    header_len: usize,
    header_room: usize,
    /// Where the body starts; buffer offsets are relative to it.
    body_at: usize,
    nodes: Vec<FieldNode>,
    buffers: Vec<Buffer>,
}

impl FileWriter {
    /// A file of `schema` with one batch of `rows` rows; `body_bytes` is a guess of the
    /// columns' size, so that the output rarely grows.
    pub fn try_new(schema: Schema, rows: usize, body_bytes: usize) -> Result<Self, ArrowError> {
        let options = IpcWriteOptions::default();
        if schema.fields().is_empty() {
            // arrow-ipc writes no batch for it: `ipc::encode` is the way.
            return Err(ArrowError::InvalidArgumentError(
                "a frame without columns is not written in place".to_string(),
            ));
        }
        let buffers: usize = schema
            .fields()
            .iter()
            .map(|f| buffer_count(f.data_type()))
            .sum::<Result<_, _>>()?;
        // The body is empty only without rows and without text (whose offsets have one more).
        let some_body = rows > 0
            || schema
                .fields()
                .iter()
                .any(|f| f.data_type() == &DataType::Utf8);
        let header_len = header(rows, schema.fields().len(), buffers, usize::from(some_body)).len();
        let header_room = (header_len + 8).next_multiple_of(ALIGNMENT);
        let mut out = Vec::with_capacity(body_bytes + header_room + 4096);
        out.extend_from_slice(MAGIC);
        out.resize(ALIGNMENT, 0);
        let encoded = IpcDataGenerator::default().schema_to_bytes_with_dictionary_tracker(
            &schema,
            &mut DictionaryTracker::new(true),
            &options,
        );
        write_message(&mut out, encoded, &options)?;
        let message_at = out.len();
        out.resize(message_at + header_room, 0);
        Ok(FileWriter {
            broken: false,
            body_at: out.len(),
            out,
            schema,
            rows,
            message_at,
            header_len,
            header_room,
            nodes: Vec::new(),
            buffers: Vec::new(),
        })
    }

    /// The next column, Utf8 without nulls: `write` writes each row's text.
    pub fn text<T>(
        &mut self,
        rows: impl IntoIterator<Item = T>,
        write: impl FnMut(T, &mut Row<'_>),
    ) -> Result<(), ArrowError> {
        let written = self.write_text(rows, write);
        self.broken |= written.is_err();
        written
    }

    /// The next column, of fixed-width values: `None` is a null, allowed only in a nullable
    /// field (under it the value is the type's default, as the column model stores it). The
    /// validity buffer is written only when some row is null, as arrow-ipc writes it.
    pub fn values<T: Native>(
        &mut self,
        values: impl Iterator<Item = Option<T>> + Clone,
    ) -> Result<(), ArrowError> {
        let written = self.write_values(values);
        self.broken |= written.is_err();
        written
    }

    fn write_text<T>(
        &mut self,
        rows: impl IntoIterator<Item = T>,
        mut write: impl FnMut(T, &mut Row<'_>),
    ) -> Result<(), ArrowError> {
        self.next_field(&DataType::Utf8, false)?;
        self.nodes.push(FieldNode::new(self.rows as i64, 0));
        self.empty_buffer();
        // The offsets come first: room for them, filled in as each row ends.
        let offsets_at = self.out.len();
        self.out.resize(offsets_at + 4 * (self.rows + 1), 0);
        self.close_buffer(offsets_at);
        let text_at = self.out.len();
        let mut count = 0;
        for item in rows {
            if count == self.rows {
                return Err(too_many(self.rows));
            }
            write(item, &mut Row::new(&mut self.out));
            count += 1;
            let end = i32::try_from(self.out.len() - text_at).map_err(|_| {
                ArrowError::InvalidArgumentError("text past 2 GiB in one column".to_string())
            })?;
            let at = offsets_at + 4 * count;
            self.out[at..at + 4].copy_from_slice(&end.to_le_bytes());
        }
        self.check_rows(count)?;
        self.close_buffer(text_at);
        Ok(())
    }

    fn write_values<T: Native>(
        &mut self,
        values: impl Iterator<Item = Option<T>> + Clone,
    ) -> Result<(), ArrowError> {
        let nullable = self
            .schema
            .fields()
            .get(self.nodes.len())
            .is_some_and(|f| f.is_nullable());
        self.next_field(&T::TYPE, nullable)?;
        let nulls = values.clone().filter(Option::is_none).count();
        if nulls > 0 && !nullable {
            return Err(ArrowError::InvalidArgumentError(format!(
                "column {} is not nullable but has {nulls} nulls",
                self.nodes.len()
            )));
        }
        self.nodes
            .push(FieldNode::new(self.rows as i64, nulls as i64));
        if nulls == 0 {
            self.empty_buffer();
        } else {
            let at = self.out.len();
            self.out.resize(at + self.rows.div_ceil(8), 0);
            for (row, value) in values.clone().enumerate().take(self.rows) {
                if value.is_some() {
                    self.out[at + row / 8] |= 1 << (row % 8);
                }
            }
            self.close_buffer(at);
        }
        let at = self.out.len();
        let mut count = 0;
        for value in values {
            if count == self.rows {
                return Err(too_many(self.rows));
            }
            self.out
                .extend_from_slice(&value.unwrap_or_default().bytes());
            count += 1;
        }
        self.check_rows(count)?;
        self.close_buffer(at);
        Ok(())
    }

    /// The file's bytes, once every column is written: the batch's header goes into the room
    /// kept for it, then come the end-of-stream marker and the footer.
    pub fn finish(mut self) -> Result<Vec<u8>, ArrowError> {
        if self.broken {
            return Err(ArrowError::InvalidArgumentError(
                "a column failed: the file is incomplete".to_string(),
            ));
        }
        if self.nodes.len() != self.schema.fields().len() {
            return Err(ArrowError::InvalidArgumentError(format!(
                "{} of {} columns written",
                self.nodes.len(),
                self.schema.fields().len()
            )));
        }
        let body_len = self.out.len() - self.body_at;
        let fbb = header_builder(self.rows, &self.nodes, &self.buffers, body_len);
        let header = fbb.finished_data();
        if header.len() != self.header_len {
            // Cannot happen: the header's size depends only on the counts (see `header`).
            return Err(ArrowError::InvalidArgumentError(format!(
                "the batch header took {} bytes, {} were expected",
                header.len(),
                self.header_len
            )));
        }
        let at = self.message_at;
        let metadata_len = i32::try_from(self.header_room - 8)
            .map_err(|_| ArrowError::InvalidArgumentError("header past 2 GiB".to_string()))?;
        self.out[at..at + 4].copy_from_slice(&CONTINUATION);
        self.out[at + 4..at + 8].copy_from_slice(&metadata_len.to_le_bytes());
        self.out[at + 8..at + 8 + header.len()].copy_from_slice(header);
        self.out.extend_from_slice(&CONTINUATION);
        self.out.extend_from_slice(&[0; 4]);
        let block = Block::new(self.message_at as i64, metadata_len + 8, body_len as i64);
        let mut fbb = FlatBufferBuilder::new();
        let footer = footer(&mut fbb, &self.schema, block);
        self.out.extend_from_slice(footer);
        let footer_len = i32::try_from(footer.len())
            .map_err(|_| ArrowError::InvalidArgumentError("footer past 2 GiB".to_string()))?;
        self.out.extend_from_slice(&footer_len.to_le_bytes());
        self.out.extend_from_slice(MAGIC);
        Ok(self.out)
    }

    /// Check that the next field of the schema has type `data_type` (and, for text, is not
    /// nullable: text columns are written without nulls).
    fn next_field(&self, data_type: &DataType, nullable: bool) -> Result<(), ArrowError> {
        let index = self.nodes.len();
        match self.schema.fields().get(index) {
            Some(f) if f.data_type() == data_type && f.is_nullable() == nullable => Ok(()),
            Some(f) => Err(ArrowError::InvalidArgumentError(format!(
                "column {index} ({}) is {}{}, written as {data_type}",
                f.name(),
                f.data_type(),
                if f.is_nullable() { ", nullable" } else { "" }
            ))),
            None => Err(ArrowError::InvalidArgumentError(format!(
                "the schema has only {index} columns"
            ))),
        }
    }

    fn check_rows(&self, count: usize) -> Result<(), ArrowError> {
        if count == self.rows {
            return Ok(());
        }
        Err(ArrowError::InvalidArgumentError(format!(
            "column {} has {count} rows, the batch {}",
            self.nodes.len(),
            self.rows
        )))
    }

    /// An empty buffer (the validity of a column without nulls).
    fn empty_buffer(&mut self) {
        let at = self.out.len() - self.body_at;
        self.buffers.push(Buffer::new(at as i64, 0));
    }

    /// Record the buffer written from `start` to the end of the output, and pad it.
    fn close_buffer(&mut self, start: usize) {
        let len = self.out.len() - start;
        self.buffers
            .push(Buffer::new((start - self.body_at) as i64, len as i64));
        let padded = self.out.len() - self.body_at;
        self.out
            .resize(self.body_at + padded.next_multiple_of(ALIGNMENT), 0);
    }
}

fn too_many(rows: usize) -> ArrowError {
    ArrowError::InvalidArgumentError(format!("more rows than the batch's {rows}"))
}

/// The buffers a column of `data_type` has in the body (validity first).
fn buffer_count(data_type: &DataType) -> Result<usize, ArrowError> {
    match data_type {
        DataType::Utf8 => Ok(3),
        DataType::Float64 | DataType::Timestamp(TimeUnit::Nanosecond, None) => Ok(2),
        other => Err(ArrowError::NotYetImplemented(format!(
            "columns of {other} are not written in place"
        ))),
    }
}

/// The batch's header for `rows` rows, `fields` columns and `buffers` buffers, with
/// placeholder positions: a flatbuffer's size does not depend on the values of its fixed-width
/// fields, only on which are set (a field equal to its default, such as a length of 0, is left
/// out). Used to size the room kept for the real header.
fn header(rows: usize, fields: usize, buffers: usize, body_len: usize) -> Vec<u8> {
    let nodes = vec![FieldNode::new(1, 0); fields];
    let buffers = vec![Buffer::new(1, 1); buffers];
    header_builder(rows, &nodes, &buffers, body_len)
        .finished_data()
        .to_vec()
}

/// The record batch message, built as arrow-ipc 60 builds it (same calls, same order, so the
/// same bytes).
fn header_builder<'a>(
    rows: usize,
    nodes: &[FieldNode],
    buffers: &[Buffer],
    body_len: usize,
) -> FlatBufferBuilder<'a> {
    let mut fbb = FlatBufferBuilder::new();
    let buffers = fbb.create_vector(buffers);
    let nodes = fbb.create_vector(nodes);
    let mut batch = RecordBatchBuilder::new(&mut fbb);
    batch.add_length(rows as i64);
    batch.add_nodes(nodes);
    batch.add_buffers(buffers);
    let batch = batch.finish();
    let mut message = MessageBuilder::new(&mut fbb);
    message.add_version(MetadataVersion::V5);
    message.add_header_type(MessageHeader::RecordBatch);
    message.add_bodyLength(body_len as i64);
    message.add_header(batch.as_union_value());
    let root = message.finish();
    fbb.finish(root, None);
    fbb
}

/// The file's footer: the schema again and where the batch is.
fn footer<'a>(fbb: &'a mut FlatBufferBuilder<'_>, schema: &Schema, block: Block) -> &'a [u8] {
    let dictionaries = fbb.create_vector::<Block>(&[]);
    let batches = fbb.create_vector(&[block]);
    let schema = arrow_ipc::convert::schema_to_fb_offset(fbb, schema);
    let mut footer = FooterBuilder::new(fbb);
    footer.add_version(MetadataVersion::V5);
    footer.add_schema(schema);
    footer.add_dictionaries(dictionaries);
    footer.add_recordBatches(batches);
    let root = footer.finish();
    fbb.finish(root, None);
    fbb.finished_data()
}

#[cfg(test)]
mod tests {
    use arrow_schema::Field;

    use super::*;

    fn schema() -> Schema {
        Schema::new(vec![
            Field::new("t", DataType::Utf8, false),
            Field::new("v", DataType::Float64, true),
        ])
    }

    #[test]
    fn columns_out_of_step_with_the_schema_are_errors_not_panics() {
        let mut file = FileWriter::try_new(schema(), 2, 0).expect("a writer");
        let err = file
            .values([Some(1.0)].into_iter())
            .expect_err("text expected");
        assert!(err.to_string().contains("Utf8"), "{err}");
        let err = file
            .text(["a"], |t, row| row.push_str(t))
            .expect_err("one row short");
        assert!(err.to_string().contains("1 rows"), "{err}");

        let mut file = FileWriter::try_new(schema(), 1, 0).expect("a writer");
        let err = file
            .text(["a", "b"], |t, row| row.push_str(t))
            .expect_err("a row too many");
        assert!(err.to_string().contains("more rows"), "{err}");

        let err = file.finish().expect_err("a column failed");
        assert!(err.to_string().contains("incomplete"), "{err}");

        let mut file = FileWriter::try_new(schema(), 1, 0).expect("a writer");
        file.text(["a"], |t, row| row.push_str(t)).expect("text");
        let err = file.finish().expect_err("a column missing");
        assert!(err.to_string().contains("1 of 2"), "{err}");

        let strict = Schema::new(vec![Field::new("v", DataType::Float64, false)]);
        let mut file = FileWriter::try_new(strict, 1, 0).expect("a writer");
        let err = file
            .values([None::<f64>].into_iter())
            .expect_err("a null in a column not nullable");
        assert!(err.to_string().contains("not nullable"), "{err}");

        let unsupported = Schema::new(vec![Field::new("b", DataType::Boolean, false)]);
        assert!(FileWriter::try_new(unsupported, 1, 0).is_err());
        assert!(FileWriter::try_new(Schema::empty(), 0, 0).is_err());
    }

    #[test]
    fn nulls_get_a_validity_bitmap_and_the_default_value() {
        let mut file = FileWriter::try_new(schema(), 3, 0).expect("a writer");
        file.text(["x", "", "ü"], |t, row| row.push_str(t))
            .expect("text");
        file.values([Some(1.5), None, Some(2.5)].into_iter())
            .expect("values");
        let bytes = file.finish().expect("a file");
        let reader = arrow_ipc::reader::FileReader::try_new(std::io::Cursor::new(bytes), None)
            .expect("arrow-ipc reads it");
        let batches: Vec<_> = reader.collect::<Result<_, _>>().expect("its batch reads");
        let batch = &batches[0];
        use arrow_array::{cast::AsArray, types::Float64Type, Array};
        let t = batch.column(0).as_string::<i32>();
        assert_eq!((t.value(0), t.value(1), t.value(2)), ("x", "", "ü"));
        let v = batch.column(1).as_primitive::<Float64Type>();
        assert_eq!(v.null_count(), 1);
        assert!(v.is_null(1) && v.value(0) == 1.5 && v.value(2) == 2.5);
        assert_eq!(v.values()[1], 0.0);
    }
}
