//! Text columns written straight into Arrow buffers sized in advance.
//!
//! A frame of 10,000 insights carries tens of MiB of text. Built the SDK's usual way (an
//! iterator of strings collected into a growing Arrow array), every string is copied several
//! times while the buffers double, and each doubling of a large buffer is a fresh mapping the
//! kernel has to fault in and clear. Here each column measures its text first, allocates its
//! value buffer once, and copies every string exactly once (JSON columns are serialised into
//! that buffer directly, without a `String` per row). `benches/frames.rs` shows the effect.

use grafana_plugin_sdk::{
    arrow2::{
        array::Utf8Array, bitmap::Bitmap, buffer::Buffer, datatypes::DataType,
        offset::OffsetsBuffer,
    },
    data::Field,
    prelude::*,
};
use serde::Serialize;

/// A non-nullable string column named `name`.
pub fn text<'a, I>(name: &str, values: I) -> Field
where
    I: Iterator<Item = &'a str> + Clone,
{
    let bytes: usize = values.clone().map(str::len).sum();
    let mut column = Column::with_capacity(values.size_hint().0, bytes);
    for v in values {
        column.push(Some(v));
    }
    column.into_field(name, Nulls::None)
}

/// A string column named `name` whose rows may be null. Its type stays the SDK's for an
/// iterator of `Option<&str>` (strings, not marked nullable), as the frame contracts in
/// docs/frames.md have always sent it: Grafana reads the nulls as empty.
pub fn optional_text<'a, I>(name: &str, values: I) -> Field
where
    I: Iterator<Item = Option<&'a str>> + Clone,
{
    let bytes: usize = values.clone().map(|v| v.map_or(0, str::len)).sum();
    let mut column = Column::with_capacity(values.size_hint().0, bytes);
    for v in values {
        column.push(v);
    }
    column.into_field(name, Nulls::Unmarked)
}

/// A non-nullable column of the JSON text of each value (lists and maps the frame carries as
/// strings). `bytes_hint` is a guess of the total size; the buffer grows past it if needed.
pub fn json<'a, T, I>(name: &str, values: I, bytes_hint: usize) -> Field
where
    T: Serialize + 'a,
    I: Iterator<Item = &'a T>,
{
    let mut column = Column::with_capacity(values.size_hint().0, bytes_hint);
    for v in values {
        // Plain data (strings, numbers, maps with string keys) always serialises; should it
        // ever fail, the row says `null` rather than the frame failing.
        let start = column.values.len();
        if serde_json::to_writer(&mut column.values, v).is_err() {
            column.values.truncate(start);
            column.values.extend_from_slice(b"null");
        }
        column.end_row(true);
    }
    column.into_field(name, Nulls::None)
}

/// Whether a column has null rows, and how its type says so.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Nulls {
    /// Every row has a value.
    None,
    /// Rows may be null; the type is the SDK's for `Option<&str>` items (not marked nullable).
    Unmarked,
}

/// Values and offsets of one Utf8 column being written.
struct Column {
    values: Vec<u8>,
    offsets: Vec<i32>,
    valid: Vec<bool>,
    /// Set when the text outgrew Arrow's 32-bit offsets (2 GiB): the column is then empty
    /// rather than wrong.
    overflow: bool,
}

impl Column {
    fn with_capacity(rows: usize, bytes: usize) -> Column {
        let mut offsets = Vec::with_capacity(rows + 1);
        offsets.push(0);
        Column {
            values: Vec::with_capacity(bytes),
            offsets,
            valid: Vec::with_capacity(rows),
            overflow: false,
        }
    }

    fn push(&mut self, value: Option<&str>) {
        if let Some(v) = value {
            self.values.extend_from_slice(v.as_bytes());
        }
        self.end_row(value.is_some());
    }

    fn end_row(&mut self, valid: bool) {
        match i32::try_from(self.values.len()) {
            Ok(end) => self.offsets.push(end),
            Err(_) => self.overflow = true,
        }
        self.valid.push(valid);
    }

    /// The finished column as a field, typed as the SDK's own constructors type it.
    fn into_field(self, name: &str, nulls: Nulls) -> Field {
        let mut field = match nulls {
            Nulls::None => std::iter::empty::<&str>().into_field(name),
            Nulls::Unmarked => std::iter::empty::<Option<&str>>().into_field(name),
        };
        if self.overflow {
            return field;
        }
        let validity = (nulls == Nulls::Unmarked && self.valid.iter().any(|v| !v))
            .then(|| self.valid.iter().copied().collect::<Bitmap>());
        let array = OffsetsBuffer::try_from(self.offsets)
            .map_err(|e| e.to_string())
            .and_then(|offsets| {
                Utf8Array::<i32>::try_new(
                    DataType::Utf8,
                    offsets,
                    Buffer::from(self.values),
                    validity,
                )
                .map_err(|e| e.to_string())
            });
        // Offsets built from the lengths of valid `str`s always make a valid array; were that
        // not so, an empty column beats a wrong one.
        if let Ok(array) = array {
            let _ = field.set_values_array(array);
        }
        field
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn strings(field: &Field) -> Vec<Option<String>> {
        field
            .values()
            .as_any()
            .downcast_ref::<Utf8Array<i32>>()
            .map(|a| a.iter().map(|v| v.map(str::to_string)).collect())
            .unwrap_or_default()
    }

    #[test]
    fn columns_hold_exactly_the_values_with_the_sdks_nullability() {
        let text = text("t", ["a", "", "ünïcode"].into_iter());
        assert_eq!(
            strings(&text),
            [Some("a"), Some(""), Some("ünïcode")].map(|v| v.map(String::from))
        );
        assert_eq!(text, ["a", "", "ünïcode"].into_field("t"));

        let optional = optional_text("o", [Some("x"), None].into_iter());
        assert_eq!(strings(&optional), vec![Some("x".to_string()), None]);
        assert_eq!(optional, [Some("x"), None].into_field("o"));
        assert!(optional.values().validity().is_some());

        let lists = [vec!["a \"quoted\" step"], vec![]];
        let json = json("j", lists.iter(), 0);
        assert_eq!(
            strings(&json),
            vec![
                Some(r#"["a \"quoted\" step"]"#.to_string()),
                Some("[]".to_string())
            ]
        );
    }
}
