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
    render_query_split(text, selector, selector, rate, window)
}

/// [`render_query`] with a different selector for `${node_selector}`: a container finding's
/// follow-up queries narrow the container series to it (namespace, pod, container), which
/// node_exporter and kube_pod_info series do not carry, so their selectors stay unnarrowed.
pub fn render_query_split(
    text: &str,
    selector: &str,
    node_selector: &str,
    rate: Duration,
    window: Duration,
) -> Result<String, TemplateError> {
    let rate = format_duration(rate);
    let window = format_duration(window);
    // Whitespace is collapsed before user values go in, so their content is never touched.
    let mut text = collapse_whitespace(text);
    for (name, value) in [("selector", selector), ("node_selector", node_selector)] {
        if value.is_empty() {
            // `{mode="idle", ${selector}}` would render a valid but untidy trailing comma.
            text = text
                .replace(&format!(", ${{{name}}}"), "")
                .replace(&format!(",${{{name}}}"), "");
        }
    }
    render(&text, |name| match name {
        "selector" => Some(selector),
        "node_selector" => Some(node_selector),
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
