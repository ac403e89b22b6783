//! Catalog query templates rendered into the PromQL that is sent: `${selector}`, `${rate}` and
//! `${window}` filled in, on one line.

use std::time::Duration;

use super::{
    format_duration,
    template::{render, TemplateError},
};

/// Render a catalog query template with the selector, rate interval and window.
pub fn render_query(
    text: &str,
    selector: &str,
    rate: Duration,
    window: Duration,
) -> Result<String, TemplateError> {
    let rate = format_duration(rate);
    let window = format_duration(window);
    // Whitespace is collapsed before user values go in, so their content is never touched.
    let mut text = collapse_whitespace(text);
    if selector.is_empty() {
        // `{mode="idle", ${selector}}` would render a valid but untidy trailing comma.
        text = text
            .replace(", ${selector}", "")
            .replace(",${selector}", "");
    }
    render(&text, |name| match name {
        "selector" => Some(selector),
        "rate" => Some(rate.as_str()),
        "window" => Some(window.as_str()),
        _ => None,
    })
}

/// Catalog queries are written over several lines; send and show them on one.
fn collapse_whitespace(query: &str) -> String {
    let collapsed = query.split_whitespace().collect::<Vec<_>>().join(" ");
    collapsed.replace("( ", "(").replace(" )", ")")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn queries_render_on_one_line_without_dangling_commas() {
        let (rate, window) = (Duration::from_secs(60), Duration::from_secs(600));
        let t =
            "sum by (instance) (\n  rate(x{mode=\"idle\", ${selector}}[${rate}])\n) / ${window}";
        assert_eq!(
            render_query(t, "", rate, window).unwrap(),
            r#"sum by (instance) (rate(x{mode="idle"}[1m])) / 10m"#
        );
        assert_eq!(
            render_query(t, r#"job="a  b""#, rate, window).unwrap(),
            r#"sum by (instance) (rate(x{mode="idle", job="a  b"}[1m])) / 10m"#
        );
    }
}
