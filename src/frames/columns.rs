//! Text columns written straight into Arrow buffers sized in advance.
//!
//! A frame of 10,000 insights carries tens of MiB of text. Built the SDK's usual way (an
//! iterator of strings collected into a growing Arrow array), every string is copied several
//! times while the buffers double, and each doubling of a large buffer is a fresh mapping the
//! kernel has to fault in and clear. Here each column measures its text first, allocates its
//! value buffer once, and copies every string exactly once (JSON columns are serialised into
//! that buffer directly, without a `String` per row). `benches/frames.rs` shows the effect.

use super::{
    inplace::Row,
    model::{Field, Text, Values},
};

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
    column.into_field(name)
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
    column.into_field(name)
}

/// A non-nullable string column of text `write` writes for each item (the JSON of lists and
/// maps the frame carries as strings), straight into the column: no `String` per row.
/// `bytes_hint` is a guess of the total size; the buffer grows past it if needed.
pub fn written<T>(
    name: &str,
    items: impl Iterator<Item = T>,
    bytes_hint: usize,
    mut write: impl FnMut(T, &mut Row<'_>),
) -> Field {
    let mut column = Column::with_capacity(items.size_hint().0, bytes_hint);
    for item in items {
        write(item, &mut Row::new(&mut column.text.bytes));
        column.end_row();
    }
    column.into_field(name)
}

/// One Utf8 column being written (not nullable: a null row is an empty string, as Grafana
/// reads it).
struct Column {
    text: Text,
    /// Set when the text outgrew Arrow's 32-bit offsets (2 GiB): the column is then empty
    /// rather than wrong.
    overflow: bool,
}

impl Column {
    fn with_capacity(rows: usize, bytes: usize) -> Column {
        Column {
            text: Text::with_capacity(rows, bytes),
            overflow: false,
        }
    }

    fn push(&mut self, value: Option<&str>) {
        if let Some(v) = value {
            self.text.bytes.extend_from_slice(v.as_bytes());
        }
        self.end_row();
    }

    fn end_row(&mut self) {
        match i32::try_from(self.text.bytes.len()) {
            Ok(end) => self.text.offsets.push(end),
            Err(_) => self.overflow = true,
        }
    }

    /// The finished column as a field not marked nullable, as the SDK's constructors type it.
    fn into_field(self, name: &str) -> Field {
        let text = if self.overflow {
            Text::with_capacity(0, 0)
        } else {
            self.text
        };
        Field::new(name, Values::Text(text), false)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::frames::model::IntoField;

    fn strings(field: &Field) -> Vec<Option<&str>> {
        (0..field.len()).map(|r| field.values.text(r)).collect()
    }

    #[test]
    fn columns_hold_exactly_the_values_with_the_sdks_nullability() {
        let text = text("t", ["a", "", "ünïcode"].into_iter());
        assert_eq!(strings(&text), [Some("a"), Some(""), Some("ünïcode")]);
        assert_eq!(text, ["a", "", "ünïcode"].into_field("t"));
        assert!(!text.nullable);

        // Not marked nullable: Grafana reads the null as an empty string.
        let optional = optional_text("o", [Some("x"), None].into_iter());
        assert_eq!(strings(&optional), [Some("x"), Some("")]);
        assert_eq!(optional, [Some("x"), None].into_field("o"));
        assert!(!optional.nullable);

        let lists = [vec!["a \"quoted\" step"], vec![]];
        let json = written("j", lists.iter(), 0, |l, row| row.push_json(l));
        assert_eq!(
            strings(&json),
            [Some(r#"["a \"quoted\" step"]"#), Some("[]")]
        );
    }
}
