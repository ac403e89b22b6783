//! A string that must never be shown: passwords, tokens, private keys, secret header values.
//!
//! `Secret` has no `Display`, and its `Debug` prints `<redacted>`, so a secret cannot end up in a
//! log line, an error message or a frame by accident; reading it takes an explicit
//! [`Secret::expose`] at the one place that puts it on the wire.

use std::fmt;

/// A secret value. Compare and clone freely; print never.
#[derive(Clone, PartialEq, Eq, Default)]
pub struct Secret(String);

impl Secret {
    /// Wrap a secret value.
    pub fn new(value: impl Into<String>) -> Self {
        Self(value.into())
    }

    /// The secret itself. Call this only where the value is sent to Prometheus.
    pub fn expose(&self) -> &str {
        &self.0
    }

    /// True for an empty secret (Grafana sends `""` for fields that were cleared).
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("<redacted>")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_never_shows_the_value() {
        let s = Secret::new("hunter2");
        assert_eq!(format!("{s:?}"), "<redacted>");
        assert_eq!(format!("{:?}", Some(s.clone())), "Some(<redacted>)");
        assert_eq!(s.expose(), "hunter2");
    }
}
