//! Output formats of the rendered report: the CLI's `--format` and the resources' `format`.

use thiserror::Error;

pub use crate::report::Format;

/// Every format with the names it is given by (the first is its name in help and messages).
pub const FORMATS: &[(Format, &[&str])] = &[
    (Format::Text, &["text"]),
    (Format::Markdown, &["markdown", "md"]),
    (Format::Json, &["json"]),
];

/// A format that does not exist.
#[derive(Clone, Debug, Error, PartialEq, Eq)]
#[error("`{text}` is not a format: use {}", names())]
pub struct FormatError {
    /// The text given.
    pub text: String,
}

fn names() -> String {
    let names: Vec<&str> = FORMATS.iter().map(|(_, names)| names[0]).collect();
    names.join(", ")
}

/// The format named `text` (surrounding blanks ignored).
pub fn parse_format(text: &str) -> Result<Format, FormatError> {
    let name = text.trim();
    FORMATS
        .iter()
        .find(|(_, names)| names.contains(&name))
        .map(|(format, _)| *format)
        .ok_or_else(|| FormatError {
            text: crate::echo::short(text).into_owned(),
        })
}

/// The name of `format`.
pub fn name(format: Format) -> &'static str {
    FORMATS
        .iter()
        .find(|(f, _)| *f == format)
        .map(|(_, names)| names[0])
        .unwrap_or("text")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_by_name_and_alias() {
        assert_eq!(parse_format("json"), Ok(Format::Json));
        assert_eq!(parse_format(" md "), Ok(Format::Markdown));
        assert_eq!(parse_format("markdown"), Ok(Format::Markdown));
        assert_eq!(parse_format("text"), Ok(Format::Text));
        for (format, _) in FORMATS {
            assert_eq!(parse_format(name(*format)), Ok(*format));
        }
        let err = parse_format("pdf").unwrap_err().to_string();
        assert_eq!(err, "`pdf` is not a format: use text, markdown, json");
    }
}
