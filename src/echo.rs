//! Values quoted back in errors and logs, cut to a short prefix.
//!
//! A rejected field may be megabytes long (a pasted regex, a hostile request); quoting it whole
//! makes every error, log line and retry cost as much again. The first [`ECHO_CHARS`]
//! characters say which value was meant; its length says the rest.

use std::borrow::Cow;

/// Characters of a value quoted in an error or a log line.
pub const ECHO_CHARS: usize = 64;

/// `text` if it is short, else its first [`ECHO_CHARS`] characters, `…` and its length in bytes.
/// Control characters are shown escaped so a quoted value cannot rewrite a terminal or a log.
pub fn short(text: &str) -> Cow<'_, str> {
    let clean = !text.chars().any(char::is_control);
    match text.char_indices().nth(ECHO_CHARS) {
        None if clean => Cow::Borrowed(text),
        None => Cow::Owned(text.escape_debug().to_string()),
        Some((cut, _)) => Cow::Owned(format!(
            "{}… ({} bytes)",
            text[..cut].escape_debug(),
            text.len()
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn long_values_are_cut_and_control_characters_escaped() {
        assert_eq!(short("5m"), "5m");
        let long = "a|".repeat(1 << 20);
        let cut = short(&long);
        assert!(cut.len() < 100, "{cut}");
        assert!(cut.ends_with("… (2097152 bytes)"), "{cut}");
        assert_eq!(short("x\u{1b}]0;pwned\u{7}"), "x\\u{1b}]0;pwned\\u{7}");
        // Cut on a character boundary.
        let wide = "é".repeat(100);
        assert!(short(&wide).starts_with(&"é".repeat(ECHO_CHARS)));
    }
}
