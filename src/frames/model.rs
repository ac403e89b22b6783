//! The frames' column model: what a frame sends Grafana, before it is written as Arrow IPC.
//!
//! Every frame of a `QueryData` answer is built here and written by [`super::ipc`] with the
//! maintained arrow-rs crates, not through the SDK's `Frame` and its arrow2 writer: at 10,000
//! insights that writer copied tens of MiB of text several times (issue 19). The model keeps
//! the SDK's vocabulary (`Frame::new`, `with_fields`, `into_field`, `into_opt_field`, `meta`,
//! `labels`, `config`) and its typing, so Grafana's Go decoder reads the same frames as before:
//!
//! - `into_field` makes a field not marked nullable, even from `Option` items (the SDK's typing:
//!   Grafana reads a missing text as empty and a missing number as 0); `into_opt_field` marks
//!   it nullable and keeps the nulls;
//! - strings are Utf8, numbers their own width, times `Timestamp(Nanosecond)` with no zone.
//!
//! Metadata and field configs stay the SDK's plain serde types (`Metadata`, `FieldConfig`):
//! they are JSON in the schema, nothing of arrow2.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};

pub use grafana_plugin_sdk::data::{FieldConfig, Metadata};

/// A frame: a name, optional metadata and columns of equal length.
#[derive(Debug, Clone, PartialEq)]
pub struct Frame {
    /// The frame's name (`name` in the schema metadata).
    pub name: String,
    /// The frame's metadata, written as JSON (`meta` in the schema metadata).
    pub meta: Option<Metadata>,
    fields: Vec<Field>,
}

impl Frame {
    /// An empty frame named `name`.
    pub fn new(name: impl Into<String>) -> Frame {
        Frame {
            name: name.into(),
            meta: None,
            fields: Vec::new(),
        }
    }

    /// The frame with `fields` added.
    #[must_use]
    pub fn with_fields(mut self, fields: impl IntoIterator<Item = Field>) -> Frame {
        self.fields.extend(fields);
        self
    }

    /// Add one field.
    pub fn add_field(&mut self, field: Field) {
        self.fields.push(field);
    }

    /// The frame's fields, in order.
    pub fn fields(&self) -> &[Field] {
        &self.fields
    }

    /// The frame's fields, taken.
    pub fn into_fields(self) -> Vec<Field> {
        self.fields
    }

    /// The field named `name`, if any.
    pub fn field(&self, name: &str) -> Option<&Field> {
        self.fields.iter().find(|f| f.name == name)
    }
}

/// One column.
#[derive(Debug, Clone, PartialEq)]
pub struct Field {
    /// The column's name.
    pub name: String,
    /// Labels identifying a series (written as a JSON map, `labels`).
    pub labels: BTreeMap<String, String>,
    /// Display configuration (written as JSON, `config`).
    pub config: Option<FieldConfig>,
    /// Whether the schema marks the column nullable (Go then reads pointers, nulls as nil).
    pub nullable: bool,
    /// The values.
    pub values: Values,
}

impl Field {
    /// A field of `values`, not nullable, with neither labels nor config.
    pub fn new(name: impl Into<String>, values: Values, nullable: bool) -> Field {
        Field {
            name: name.into(),
            labels: BTreeMap::new(),
            config: None,
            nullable,
            values,
        }
    }

    /// The number of rows.
    pub fn len(&self) -> usize {
        self.values.len()
    }

    /// Whether the column has no rows.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// A column's values. `valid` (one flag per row) is kept only for nullable fields with nulls;
/// the value under a null is the type's default.
#[derive(Debug, Clone, PartialEq)]
pub enum Values {
    /// Utf8: row `i` is `bytes[offsets[i]..offsets[i + 1]]`.
    Text(Text),
    /// Float64.
    Float64(Vec<f64>, Option<Vec<bool>>),
    /// Int64.
    Int64(Vec<i64>, Option<Vec<bool>>),
    /// UInt64.
    UInt64(Vec<u64>, Option<Vec<bool>>),
    /// Boolean.
    Bool(Vec<bool>, Option<Vec<bool>>),
    /// Timestamp(Nanosecond), nanoseconds since the epoch, no time zone.
    Time(Vec<i64>, Option<Vec<bool>>),
}

impl Values {
    /// The number of rows.
    pub fn len(&self) -> usize {
        match self {
            Values::Text(t) => t.offsets.len().saturating_sub(1),
            Values::Float64(v, _) => v.len(),
            Values::Int64(v, _) | Values::Time(v, _) => v.len(),
            Values::UInt64(v, _) => v.len(),
            Values::Bool(v, _) => v.len(),
        }
    }

    /// Whether there are no rows.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The text of row `row` (`None` for a null, another type or a row out of range).
    pub fn text(&self, row: usize) -> Option<&str> {
        let Values::Text(t) = self else { return None };
        t.get(row)
    }

    /// Row `row` as a number (`None` for a null, text or a row out of range); times are
    /// nanoseconds.
    pub fn number(&self, row: usize) -> Option<f64> {
        let valid = |v: &Option<Vec<bool>>| v.as_ref().is_none_or(|v| v.get(row) == Some(&true));
        #[allow(clippy::cast_precision_loss)]
        match self {
            Values::Text(_) => None,
            Values::Float64(v, ok) => v.get(row).copied().filter(|_| valid(ok)),
            Values::Int64(v, ok) | Values::Time(v, ok) => {
                v.get(row).map(|x| *x as f64).filter(|_| valid(ok))
            }
            Values::UInt64(v, ok) => v.get(row).map(|x| *x as f64).filter(|_| valid(ok)),
            Values::Bool(v, ok) => v
                .get(row)
                .map(|x| f64::from(u8::from(*x)))
                .filter(|_| valid(ok)),
        }
    }
}

/// A Utf8 column: the text of every row in one buffer, sized in advance where the builder can
/// ([`super::columns`]), each string copied once.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Text {
    /// Row boundaries in `bytes`: one more than the rows, starting at 0.
    pub offsets: Vec<i32>,
    /// The rows' UTF-8 text, back to back.
    pub bytes: Vec<u8>,
    /// Per row, whether it has a value (kept for nullable fields with nulls only).
    pub valid: Option<Vec<bool>>,
}

impl Text {
    /// An empty column with room for `rows` rows of `bytes` bytes in all.
    pub fn with_capacity(rows: usize, bytes: usize) -> Text {
        let mut offsets = Vec::with_capacity(rows + 1);
        offsets.push(0);
        Text {
            offsets,
            bytes: Vec::with_capacity(bytes),
            valid: None,
        }
    }

    /// The text of row `row`; `None` for a null or out of range.
    pub fn get(&self, row: usize) -> Option<&str> {
        if self
            .valid
            .as_ref()
            .is_some_and(|v| v.get(row) != Some(&true))
        {
            return None;
        }
        let start = usize::try_from(*self.offsets.get(row)?).ok()?;
        let end = usize::try_from(*self.offsets.get(row + 1)?).ok()?;
        std::str::from_utf8(self.bytes.get(start..end)?).ok()
    }
}

/// A value a column can hold: the Rust types the frames use, as the SDK types them.
pub trait Cell {
    /// Append `value` (or a null) to a column being built.
    fn push(value: Option<Self>, column: &mut Builder)
    where
        Self: Sized;
    /// An empty column of this type with room for `rows`.
    fn builder(rows: usize) -> Builder;
}

/// A column being built, row by row.
pub struct Builder {
    values: Values,
    valid: Vec<bool>,
}

impl Builder {
    /// The column, its null flags kept only when `nullable` and some row is null.
    fn finish(self, nullable: bool) -> Values {
        let keep = nullable && self.valid.iter().any(|v| !v);
        let valid = keep.then_some(self.valid);
        match self.values {
            Values::Text(mut t) => {
                t.valid = valid;
                Values::Text(t)
            }
            Values::Float64(v, _) => Values::Float64(v, valid),
            Values::Int64(v, _) => Values::Int64(v, valid),
            Values::UInt64(v, _) => Values::UInt64(v, valid),
            Values::Bool(v, _) => Values::Bool(v, valid),
            Values::Time(v, _) => Values::Time(v, valid),
        }
    }
}

macro_rules! primitive_cell {
    ($ty:ty, $variant:ident, $convert:expr) => {
        impl Cell for $ty {
            fn push(value: Option<Self>, column: &mut Builder) {
                if let Values::$variant(v, _) = &mut column.values {
                    v.push(value.map_or_else(Default::default, $convert));
                }
                column.valid.push(value.is_some());
            }
            fn builder(rows: usize) -> Builder {
                Builder {
                    values: Values::$variant(Vec::with_capacity(rows), None),
                    valid: Vec::with_capacity(rows),
                }
            }
        }
    };
}

primitive_cell!(f64, Float64, |v| v);
primitive_cell!(i64, Int64, |v| v);
primitive_cell!(u64, UInt64, |v| v);
primitive_cell!(bool, Bool, |v| v);
primitive_cell!(DateTime<Utc>, Time, nanos);

/// Nanoseconds since the epoch (saturating outside ±292 years, as no analysis reaches).
pub fn nanos(at: DateTime<Utc>) -> i64 {
    at.timestamp_nanos_opt().unwrap_or(if at.timestamp() < 0 {
        i64::MIN
    } else {
        i64::MAX
    })
}

fn push_text(value: Option<&str>, column: &mut Builder) {
    if let Values::Text(t) = &mut column.values {
        if let Some(v) = value {
            t.bytes.extend_from_slice(v.as_bytes());
        }
        // Past Arrow's 32-bit offsets (2 GiB of text) the row stays empty rather than wrong.
        let end = i32::try_from(t.bytes.len()).unwrap_or_else(|_| {
            t.bytes
                .truncate(t.offsets.last().map_or(0, |o| *o as usize));
            t.offsets.last().copied().unwrap_or(0)
        });
        t.offsets.push(end);
    }
    column.valid.push(value.is_some());
}

fn text_builder(rows: usize) -> Builder {
    Builder {
        values: Values::Text(Text::with_capacity(rows, 0)),
        valid: Vec::with_capacity(rows),
    }
}

impl Cell for String {
    fn push(value: Option<Self>, column: &mut Builder) {
        push_text(value.as_deref(), column);
    }
    fn builder(rows: usize) -> Builder {
        text_builder(rows)
    }
}

impl Cell for &str {
    fn push(value: Option<Self>, column: &mut Builder) {
        push_text(value, column);
    }
    fn builder(rows: usize) -> Builder {
        text_builder(rows)
    }
}

/// A value or a missing one, as an iterator's item.
pub trait MaybeCell {
    /// The value's type.
    type Value: Cell;
    /// The value, if present.
    fn value(self) -> Option<Self::Value>;
}

impl<T: Cell> MaybeCell for Option<T> {
    type Value = T;
    fn value(self) -> Option<T> {
        self
    }
}

macro_rules! present {
    ($($ty:ty),*) => {$(
        impl MaybeCell for $ty {
            type Value = $ty;
            fn value(self) -> Option<$ty> {
                Some(self)
            }
        }
    )*};
}

present!(f64, i64, u64, bool, DateTime<Utc>, String);

impl<'a> MaybeCell for &'a str {
    type Value = &'a str;
    fn value(self) -> Option<&'a str> {
        Some(self)
    }
}

fn collect<I>(items: I, nullable: bool) -> Values
where
    I: IntoIterator,
    I::Item: MaybeCell,
{
    let items = items.into_iter();
    let mut column = <<I::Item as MaybeCell>::Value as Cell>::builder(items.size_hint().0);
    for item in items {
        Cell::push(item.value(), &mut column);
    }
    column.finish(nullable)
}

/// Values into a field not marked nullable (the SDK's `into_field`).
pub trait IntoField {
    /// The field named `name`.
    fn into_field(self, name: impl Into<String>) -> Field;
}

impl<I> IntoField for I
where
    I: IntoIterator,
    I::Item: MaybeCell,
{
    fn into_field(self, name: impl Into<String>) -> Field {
        Field::new(name, collect(self, false), false)
    }
}

/// Optional values into a nullable field (the SDK's `into_opt_field`).
pub trait IntoOptField {
    /// The field named `name`.
    fn into_opt_field(self, name: impl Into<String>) -> Field;
}

impl<I, T> IntoOptField for I
where
    I: IntoIterator<Item = Option<T>>,
    T: Cell,
{
    fn into_opt_field(self, name: impl Into<String>) -> Field {
        Field::new(name, collect(self, true), true)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fields_are_typed_as_the_sdk_types_them() {
        let plain = vec![Some("a"), None, Some("ü")].into_field("t");
        assert!(!plain.nullable);
        // Not nullable: a missing text is an empty one, no null flags kept.
        assert_eq!(
            plain.values,
            Values::Text(Text {
                offsets: vec![0, 1, 1, 3],
                bytes: "aü".as_bytes().to_vec(),
                valid: None
            })
        );
        let opt = vec![Some(1.5), None].into_opt_field("f");
        assert!(opt.nullable);
        assert_eq!(
            opt.values,
            Values::Float64(vec![1.5, 0.0], Some(vec![true, false]))
        );
        assert_eq!(opt.values.number(0), Some(1.5));
        assert_eq!(opt.values.number(1), None);
        // Nullable without a null: no flags needed.
        let full = vec![Some(2_i64)].into_opt_field("i");
        assert_eq!(full.values, Values::Int64(vec![2], None));
        let at = DateTime::<Utc>::from_timestamp(1_748_865_600, 5).unwrap_or_default();
        let times = [at].into_field("time");
        assert_eq!(
            times.values,
            Values::Time(vec![1_748_865_600_000_000_005], None)
        );
        let strings = vec!["x".to_string()].into_field("s");
        assert_eq!(strings.values.text(0), Some("x"));
        assert_eq!(strings.values.text(1), None);
        let frame = Frame::new("f").with_fields([plain, opt]);
        assert_eq!(frame.fields().len(), 2);
        assert!(frame.field("f").is_some_and(|f| f.len() == 2));
    }
}
