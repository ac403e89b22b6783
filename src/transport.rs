//! What the HTTP clients (Prometheus, Grafana) share: URLs shown without credentials and the
//! most specific cause of a transport error. It sits below both clients so neither borrows
//! from the other.

use std::error::Error as StdError;

use url::Url;

/// The URL without credentials, query or fragment: safe to show in messages and logs.
pub fn display_url(url: &Url) -> String {
    let mut shown = url.clone();
    let _ = shown.set_username("");
    let _ = shown.set_password(None);
    shown.set_query(None);
    shown.set_fragment(None);
    shown.to_string().trim_end_matches('/').to_string()
}

/// Like [`display_url`] for text that may not even parse as a URL: credentials, query and
/// fragment are cut off by hand.
pub fn display_url_str(text: &str) -> String {
    if let Ok(url) = Url::parse(text) {
        if url.has_host() {
            return display_url(&url);
        }
    }
    let (scheme, rest) = match text.split_once("://") {
        Some((scheme, rest)) => (Some(scheme), rest),
        None => (None, text),
    };
    let authority_end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    let (authority, path) = rest.split_at(authority_end);
    let host = authority
        .rsplit_once('@')
        .map_or(authority, |(_, host)| host);
    let path = path.split(['?', '#']).next().unwrap_or("");
    match scheme {
        Some(scheme) => format!("{scheme}://{host}{path}"),
        None => format!("{host}{path}"),
    }
}

/// The most specific message in an error chain ("Connection refused (os error 111)").
pub fn innermost(err: &(dyn StdError + 'static)) -> String {
    let mut last = err.to_string();
    let mut source = err.source();
    while let Some(e) = source {
        last = e.to_string();
        source = e.source();
    }
    last
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn display_url_hides_credentials_and_query() {
        let url = Url::parse("https://admin:s3cret@prom.example:9090/prefix/?token=abc#x").unwrap();
        assert_eq!(display_url(&url), "https://prom.example:9090/prefix");
        assert_eq!(
            display_url_str("http://u:p@host:bad/x?y"),
            "http://host:bad/x"
        );
        assert_eq!(display_url_str("u:p@host:bad"), "host:bad");
    }
}
