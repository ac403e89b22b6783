//! The tools: names, descriptions and JSON schemas, in one table. The server lists them from
//! here, checks arguments against their properties, and `docs/mcp.md` is generated from here
//! (a test fails when the document drifts), so the schema an assistant sees and the one a
//! reader sees are the same.

use serde_json::{json, Map, Value};

/// One tool as the server lists it.
pub struct ToolSpec {
    /// Its name.
    pub name: &'static str,
    /// What it does and when to use it, for the model choosing a tool.
    pub description: &'static str,
    /// JSON schema of its arguments.
    pub input: Value,
    /// JSON schema of its structured answer.
    pub output: Value,
}

impl ToolSpec {
    /// The names of its arguments.
    pub fn arguments(&self) -> Vec<String> {
        self.input["properties"]
            .as_object()
            .map(|p| p.keys().cloned().collect())
            .unwrap_or_default()
    }
}

/// The tool names, in the order they are listed.
pub const NAMES: [&str; 7] = [
    "analyze",
    "drill_down",
    "analyze_dashboard",
    "explain_check",
    "list_checks",
    "list_instances",
    "health",
];

fn string(description: &str) -> Value {
    json!({"type": "string", "description": description})
}

fn object(properties: Value, required: &[&str]) -> Value {
    json!({"type": "object", "properties": properties, "required": required, "additionalProperties": false})
}

/// The arguments the analysis tools share.
fn analysis_arguments() -> Map<String, Value> {
    let v = json!({
        "at": string("Evaluation time: RFC 3339 (2026-11-27T14:05:00Z) or Unix seconds. Default: now."),
        "window": string("Analysis window ending at `at`, e.g. \"10m\", \"1h\" (at least 30s). Default: 10m."),
        "minSeverity": {"type": "string", "enum": ["info", "low", "medium", "high", "critical"], "description": "Leave out insights below this severity. Default: info."},
        "detail": {"type": "string", "enum": ["summary", "full"], "description": "summary (default): each insight's title, observation, immediate action, evidence and confidence; full adds root cause, investigation steps, long-term fix, related PromQL and the book reference."},
        "limit": {"type": "integer", "minimum": 1, "maximum": 200, "description": "Most insights returned, most urgent first (default 20); the answer says how many were left out."},
    });
    v.as_object().cloned().unwrap_or_default()
}

fn with(mut base: Map<String, Value>, extra: Value) -> Value {
    if let Value::Object(extra) = extra {
        base.extend(extra);
    }
    Value::Object(base)
}

/// The answer of the analysis tools: summary first, then the insights kept.
fn insights_answer() -> Value {
    json!({
        "type": "object",
        "required": ["headline", "summary", "insights", "shown", "matched", "truncated"],
        "properties": {
            "headline": {"type": "string", "description": "One sentence: the counts and the most urgent finding."},
            "summary": {"type": "object", "description": "Findings per severity, instances analysed, checks that could not run."},
            "evaluated_at": {"type": "string"},
            "window": {"type": "string"},
            "prometheus": {"type": "string", "description": "Prometheus' URL, without credentials."},
            "selector": {"type": "string"},
            "insights": {"type": "array", "items": {"type": "object", "description": "An insight: id, timestamp, methodology, component, severity, title, observation, evidence, immediate_action, confidence (0-100), instance, device, check; with detail=full also root_cause, investigation_steps, long_term_fix, related_metrics, book_reference."}},
            "shown": {"type": "integer"},
            "matched": {"type": "integer", "description": "Insights that passed the filters, before `limit`."},
            "truncated": {"type": "boolean"},
            "note": {"type": "string", "description": "Present when insights or failed checks were left out: how many and how to get them."},
            "failed_checks": {"type": "array", "items": {"type": "object"}},
        },
    })
}

fn analyze() -> ToolSpec {
    ToolSpec {
        name: "analyze",
        description: "Run Brendan Gregg's methods over Prometheus: the USE method on every resource, workload characterization against the window before, drill-down below each finding, latency and fleet outliers. Answers with a summary first and the most urgent insights (observation, evidence, immediate action, confidence 0-100). Start here.",
        input: object(
            with(
                analysis_arguments(),
                json!({
                    "instances": string("Only targets whose `instance` label matches this regex (anchored, RE2), e.g. \"web-.*\"."),
                    "components": {"description": "Only these components: cpu, memory, disk, filesystem, network, system (a list or a comma-separated string).", "type": ["array", "string"], "items": {"type": "string"}},
                    "methodologies": {"description": "Methods to run: use_method, workload_characterization, drill_down, latency_analysis, fleet_outliers (a list or comma-separated). Default: all.", "type": ["array", "string"], "items": {"type": "string"}},
                    "histogram": string("A Prometheus histogram for latency analysis, e.g. http_request_duration_seconds{job=\"api\"}."),
                    "slo": string("Latency objective for `histogram`: THRESHOLD@TARGET, e.g. 0.25@99 or 250ms@99.9."),
                    "groupBy": string("The label grouping hosts into peers for outliers. Default: job."),
                    "thresholds": {"type": "object", "description": "Threshold overrides: {\"<check id>\": {\"warning\": <number>, \"critical\": <number>}}.", "additionalProperties": {"type": "object"}},
                }),
            ),
            &[],
        ),
        output: insights_answer(),
    }
}

fn drill_down() -> ToolSpec {
    ToolSpec {
        name: "drill_down",
        description: "Drill down into one resource of one host: the USE findings there and the next level below them (top processes, devices, interfaces, with the commands to run on the host). Use after analyze points at a host and a component.",
        input: object(
            with(
                analysis_arguments(),
                json!({
                    "instance": string("The target, exactly as its `instance` label, e.g. \"db-2:9100\"."),
                    "component": {"type": "string", "enum": ["cpu", "memory", "disk", "filesystem", "network", "system"], "description": "The resource."},
                }),
            ),
            &["instance", "component"],
        ),
        output: insights_answer(),
    }
}

fn analyze_dashboard() -> ToolSpec {
    ToolSpec {
        name: "analyze_dashboard",
        description: "Read a Grafana dashboard: run its panels' queries over the range, judge each panel against its own thresholds, correlate panels and tie them to the USE method. Needs the server started with --grafana.",
        input: object(
            json!({
                "dashboardUid": string("The dashboard's uid."),
                "from": string("Start of the range: RFC 3339 or Unix seconds. Default: `to` minus `window`."),
                "to": string("End of the range. Default: now."),
                "window": string("Length of the range ending at `to`, e.g. \"1h\". Default: 1h."),
                "variables": {"type": "object", "description": "Variable values: {\"name\": \"value\"} or {\"name\": [\"a\", \"b\"]}.", "additionalProperties": {"type": ["string", "array"]}},
                "panelIds": {"type": "array", "items": {"type": "integer"}, "description": "Only these panels."},
                "minSeverity": {"type": "string", "enum": ["info", "low", "medium", "high", "critical"], "description": "Leave out insights below this severity."},
                "detail": {"type": "string", "enum": ["summary", "full"], "description": "summary (default) or full, as for analyze."},
                "limit": {"type": "integer", "minimum": 1, "maximum": 200, "description": "Most insights returned (default 20)."},
            }),
            &["dashboardUid"],
        ),
        output: insights_answer(),
    }
}

fn explain_check() -> ToolSpec {
    ToolSpec {
        name: "explain_check",
        description: "Explain one check: what it measures (the PromQL), the rule that flags it, its thresholds and where they come from, the severities, the collectors it needs, and where to read more in Systems Performance.",
        input: object(
            json!({"check": string("The check's id, e.g. cpu.utilization (list_checks lists them; an insight's `check` names one).")}),
            &["check"],
        ),
        output: json!({"type": "object", "required": ["id", "rule", "thresholds", "book_reference"], "properties": {
            "id": {"type": "string"}, "label": {"type": "string"}, "component": {"type": "string"},
            "signal": {"type": "string"}, "query": {"type": "string"}, "rule": {"type": "string"},
            "thresholds": {"type": "object"}, "severity": {"type": "object"},
            "requires": {"type": "array", "items": {"type": "string"}}, "book_reference": {"type": "string"},
        }}),
    }
}

fn list_checks() -> ToolSpec {
    ToolSpec {
        name: "list_checks",
        description:
            "List the USE checks the analysis runs: id, component, signal, label, thresholds.",
        input: object(
            json!({"component": {"type": "string", "enum": ["cpu", "memory", "disk", "filesystem", "network", "system"], "description": "Only this component's checks."}}),
            &[],
        ),
        output: json!({"type": "object", "required": ["checks"], "properties": {"checks": {"type": "array", "items": {"type": "object"}}}}),
    }
}

fn list_instances() -> ToolSpec {
    ToolSpec {
        name: "list_instances",
        description: "List the targets (Prometheus `instance` labels) the server analyses, seen in the hour before `at`.",
        input: object(
            json!({
                "at": string("End of the hour looked at: RFC 3339 or Unix seconds. Default: now."),
                "instances": string("Only instances matching this regex (anchored, RE2)."),
                "limit": {"type": "integer", "minimum": 1, "maximum": 1000, "description": "Most names returned (default 100); the answer says how many were left out."},
            }),
            &[],
        ),
        output: json!({"type": "object", "required": ["instances", "total", "truncated"], "properties": {
            "instances": {"type": "array", "items": {"type": "string"}}, "total": {"type": "integer"},
            "truncated": {"type": "boolean"}, "note": {"type": "string"},
        }}),
    }
}

fn health() -> ToolSpec {
    ToolSpec {
        name: "health",
        description: "Check that Prometheus answers and has node_exporter data: what the analysis can and cannot see, and what to fix.",
        input: object(json!({}), &[]),
        output: json!({"type": "object", "required": ["status", "message"], "properties": {
            "status": {"type": "string", "enum": ["ok", "error"]}, "message": {"type": "string"},
        }}),
    }
}

/// Every tool, in [`NAMES`] order.
pub fn all() -> Vec<ToolSpec> {
    vec![
        analyze(),
        drill_down(),
        analyze_dashboard(),
        explain_check(),
        list_checks(),
        list_instances(),
        health(),
    ]
}

/// The tool called `name`.
pub fn find(name: &str) -> Option<ToolSpec> {
    all().into_iter().find(|t| t.name == name)
}

/// `docs/mcp.md`'s tool reference: each tool's description and schemas.
pub fn reference() -> String {
    let mut out = String::from(
        "<!-- Generated from src/mcp/tools.rs by `cargo test --release --locked --lib mcp::tools`\n     (GREGG_WRITE_DOCS=1 rewrites it); do not edit by hand. -->\n\n## Tools\n",
    );
    for tool in all() {
        let pretty = |v: &Value| serde_json::to_string_pretty(v).unwrap_or_default();
        out.push_str(&format!(
            "\n### `{}`\n\n{}\n\nArguments:\n\n```json\n{}\n```\n\nStructured answer:\n\n```json\n{}\n```\n",
            tool.name,
            tool.description,
            pretty(&tool.input),
            pretty(&tool.output)
        ));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_match_the_table() {
        let names: Vec<&str> = all().iter().map(|t| t.name).collect();
        assert_eq!(names, NAMES);
        for t in all() {
            assert_eq!(t.input["type"], "object", "{}", t.name);
            for required in t.input["required"].as_array().unwrap() {
                assert!(t
                    .arguments()
                    .contains(&required.as_str().unwrap().to_string()));
            }
        }
    }

    /// docs/mcp.md's reference is this table's; `GREGG_WRITE_DOCS=1` rewrites it.
    #[test]
    fn the_reference_in_docs_is_up_to_date() {
        let path = concat!(env!("CARGO_MANIFEST_DIR"), "/docs/mcp.md");
        let doc = std::fs::read_to_string(path).unwrap_or_default();
        let marker = "<!-- Generated from src/mcp/tools.rs";
        let head = doc.split(marker).next().unwrap_or_default().to_string();
        let wanted = format!("{head}{}", reference());
        if std::env::var_os("GREGG_WRITE_DOCS").is_some() {
            std::fs::write(path, &wanted).unwrap();
        }
        assert!(
            doc == wanted,
            "docs/mcp.md's tool reference is out of date: run GREGG_WRITE_DOCS=1 cargo test --lib mcp::tools"
        );
    }
}
