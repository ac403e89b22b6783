//! The prompts: a USE-method sweep of the fleet, and "investigate this host" in the book's
//! order (USE → workload characterization → drill-down → latency), each naming the tools and
//! arguments to use so a model follows the method rather than guessing.

use rmcp::model::{GetPromptResult, Prompt, PromptArgument, PromptMessage, Role};

/// The prompts listed.
pub fn all() -> Vec<Prompt> {
    vec![
        Prompt::new(
            "use_sweep",
            Some("A USE-method sweep: utilization, saturation and errors of every resource on every host, most urgent first."),
            Some(vec![PromptArgument::new("window")
                .with_description("Analysis window, e.g. 10m (default 10m).")
                .with_required(false)]),
        ),
        Prompt::new(
            "investigate_host",
            Some("Investigate one host in the book's order: USE, then workload characterization, then drill-down, then latency."),
            Some(vec![
                PromptArgument::new("instance")
                    .with_description("The host's instance label, e.g. db-2:9100.")
                    .with_required(true),
                PromptArgument::new("window")
                    .with_description("Analysis window (default 10m).")
                    .with_required(false),
            ]),
        ),
    ]
}

/// The text of prompt `name` with `arguments`; `None` for an unknown prompt, `Err` naming a
/// missing argument.
pub fn get(
    name: &str,
    arguments: &serde_json::Map<String, serde_json::Value>,
) -> Option<Result<GetPromptResult, String>> {
    let arg = |k: &str| {
        arguments
            .get(k)
            .and_then(|v| v.as_str())
            .map(str::trim)
            .filter(|s| !s.is_empty())
    };
    let window = arg("window").unwrap_or("10m");
    let text = match name {
        "use_sweep" => format!(
            "Run a USE-method sweep over the last {window}. Call `analyze` with {{\"window\": \"{window}\", \"methodologies\": [\"use_method\"], \"minSeverity\": \"low\"}}. \
For every resource report utilization, saturation and errors; list the findings most urgent first with their evidence and immediate action. \
Say which resources could not be assessed (coverage notes), and use `explain_check` for any check whose rule or thresholds matter to the conclusion."
        ),
        "investigate_host" => {
            let Some(instance) = arg("instance") else {
                return Some(Err("prompt investigate_host: argument `instance` is required".into()));
            };
            let only = format!("\"instances\": \"{}\"", regex_escape(instance));
            format!(
                "Investigate {instance} over the last {window}, in the order of Brendan Gregg's Systems Performance:\n\
1. USE method: call `analyze` with {{\"window\": \"{window}\", {only}, \"methodologies\": [\"use_method\"]}}. Note every resource past its thresholds.\n\
2. Workload characterization: call `analyze` with {{\"window\": \"{window}\", {only}, \"methodologies\": [\"workload_characterization\"]}}: who and what drives the load, and how it changed against the window before.\n\
3. Drill-down: for each component flagged in step 1, call `drill_down` with {{\"instance\": \"{instance}\", \"component\": <component>, \"window\": \"{window}\"}}.\n\
4. Latency: call `analyze` with {{\"window\": \"{window}\", {only}, \"methodologies\": [\"latency_analysis\"]}}.\n\
Conclude with the bottleneck, the evidence for it, the immediate action, and what to run on the host next."
            )
        }
        _ => return None,
    };
    Some(Ok(GetPromptResult::new(vec![PromptMessage::new_text(
        Role::User,
        text,
    )])
    .with_description(format!("Gregg Insights: {name}"))))
}

/// An instance name as an anchored regex matching only itself (`.` and friends escaped).
fn regex_escape(instance: &str) -> String {
    regex_syntax::escape(instance).replace('\\', "\\\\")
}
