//! `${name}` placeholders in PromQL and narrative templates.
//!
//! The check catalog stores queries like `rate(node_cpu_seconds_total{mode="idle", ${selector}}[${window}])`
//! and observations like `CPU utilization is ${value}`; this is the one place that fills them.
//! A placeholder without a value is an error, never silently left in a query.

use thiserror::Error;

/// A template referenced a placeholder nobody supplied, or was malformed.
#[derive(Debug, Error, PartialEq, Eq)]
pub enum TemplateError {
    /// `${name}` with no value for `name`.
    #[error("template placeholder `${{{name}}}` has no value")]
    Unknown {
        /// The placeholder's name.
        name: String,
    },
    /// `${` without a closing `}`.
    #[error("template has an unterminated placeholder at byte {position}")]
    Unterminated {
        /// Byte offset of the `${`.
        position: usize,
    },
}

/// Replace every `${name}` in `template` with `lookup(name)`.
pub fn render<S: AsRef<str>>(
    template: &str,
    lookup: impl Fn(&str) -> Option<S>,
) -> Result<String, TemplateError> {
    let mut out = String::with_capacity(template.len() + 32);
    let mut rest = template;
    let mut offset = 0;
    while let Some(start) = rest.find("${") {
        out.push_str(&rest[..start]);
        let after = &rest[start + 2..];
        let end = after.find('}').ok_or(TemplateError::Unterminated {
            position: offset + start,
        })?;
        let name = &after[..end];
        let value = lookup(name).ok_or_else(|| TemplateError::Unknown {
            name: name.to_string(),
        })?;
        out.push_str(value.as_ref());
        let consumed = start + 2 + end + 1;
        rest = &rest[consumed..];
        offset += consumed;
    }
    out.push_str(rest);
    Ok(out)
}

/// The placeholder names used in `template`, in order of appearance.
pub fn placeholders(template: &str) -> Vec<&str> {
    let mut names = Vec::new();
    let mut rest = template;
    while let Some(start) = rest.find("${") {
        let after = &rest[start + 2..];
        match after.find('}') {
            Some(end) => {
                names.push(&after[..end]);
                rest = &after[end + 1..];
            }
            None => break,
        }
    }
    names
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fills_placeholders() {
        let out = render("rate(x{${selector}}[${window}])", |n| match n {
            "selector" => Some(r#"job="node""#),
            "window" => Some("5m"),
            _ => None,
        })
        .unwrap();
        assert_eq!(out, r#"rate(x{job="node"}[5m])"#);
    }

    #[test]
    fn missing_values_are_errors() {
        assert_eq!(
            render("a ${b} c", |_| None::<&str>),
            Err(TemplateError::Unknown { name: "b".into() })
        );
        assert!(matches!(
            render("a ${b", |_| Some("x")),
            Err(TemplateError::Unterminated { position: 2 })
        ));
        assert_eq!(placeholders("${a} and ${b}"), vec!["a", "b"]);
    }
}
