//! The TypeScript types the frontend shares with the backend, generated from Rust with ts-rs
//! into `frontend/src/generated/backend.ts` (committed; `frontend/src/datasource/types.ts`
//! re-exports them).
//!
//! The enums come from the crate's own types (`QueryType`, `TimelineBy`, `Severity`,
//! `Component`, `Methodology`, `Direction`, `ThresholdOverride`, which derive `TS` in tests
//! only). The query JSON (`request::query::parse`, which reads it through
//! [`super::fields::Fields`]) and the data source's `jsonData` (`Settings::from_grafana`) are
//! read by hand, field by field, so that a bad field names itself; their wire shapes are
//! declared here, and the tests hold them to the parsers both ways: every field of the
//! TypeScript type is read by the parser (a value of the wrong type fails naming that field),
//! and every key the parser reads is a field of the TypeScript type.
//!
//! After changing any of these types, regenerate and commit the file:
//! `GREGG_UPDATE_TYPES=1 cargo test --release --lib generated_types`.

use std::{
    collections::{BTreeMap, BTreeSet},
    path::PathBuf,
};

use serde_json::json;
use ts_rs::{Config, TS};

use super::{
    error::{FieldError, Origin, RequestError},
    query::{self, QueryType, TimelineBy},
};
use crate::{
    catalog::{Check, Direction, ThresholdOverride, Unit},
    insight::{Component, Methodology, Severity},
    settings::{InstanceSettings, Settings, SettingsError},
};

/// The committed file, relative to the crate.
const GENERATED: &str = "frontend/src/generated/backend.ts";

/// Set to 1 to rewrite the committed file instead of comparing with it.
const UPDATE: &str = "GREGG_UPDATE_TYPES";

const REGENERATE: &str = "GREGG_UPDATE_TYPES=1 cargo test --release --lib generated_types";

/// Threshold overrides by check id, e.g. `{"cpu.utilization": {"warning": 70}}`, layered over
/// the catalog's defaults: the data source's (`jsonData.thresholds`), then the query's.
#[derive(TS)]
#[allow(dead_code)]
struct ThresholdOverrides(BTreeMap<String, ThresholdOverride>);

/// Methodologies a query can keep (`methodologies`); the CLI's names (`use`, `workload`,
/// `drilldown`, `latency`, `outliers`) are accepted too.
#[derive(TS)]
#[ts(rename_all = "snake_case")]
#[allow(dead_code)]
enum QueryMethodology {
    UseMethod,
    WorkloadCharacterization,
    DrillDown,
    LatencyAnalysis,
    FleetOutliers,
}

/// The unit of a custom check's values (`promql_check`'s `unit`; default `ratio`).
#[derive(TS)]
#[ts(rename_all = "snake_case")]
#[allow(dead_code)]
enum CheckUnit {
    Percent,
    Ratio,
    Seconds,
    Ms,
    Hours,
    Bytes,
    PerSecond,
    BytesPerSecond,
    Count,
}

/// A dashboard variable's value: one, or several.
#[derive(TS)]
#[ts(untagged)]
#[allow(dead_code)]
enum VariableValue {
    One(String),
    Many(Vec<String>),
}

/// One query as a panel sends it: what `request::query::parse` reads (docs/frames.md).
/// Grafana adds its own keys (`refId`, `datasource`, `hide`…), which the backend ignores.
#[derive(TS)]
#[ts(rename_all = "camelCase", optional_fields)]
#[allow(dead_code)]
struct GreggQueryModel {
    /// What to compute (default `use_summary`). The query type Grafana sends beside the JSON
    /// wins over this one.
    query_type: Option<QueryType>,
    /// Rate window and look-back, e.g. `5m` (default 5m, at least 30s).
    window: Option<String>,
    /// An `instance` regex (RE2, anchored), added to the data source's target selector.
    instances: Option<String>,
    /// Components to keep (all when absent); a comma-separated string is accepted too.
    components: Option<Vec<Component>>,
    /// Leave out insights below this severity (default `info`).
    min_severity: Option<Severity>,
    /// Methodologies to run and keep (all when absent); a comma-separated string is accepted too.
    methodologies: Option<Vec<QueryMethodology>>,
    /// A Prometheus histogram for latency analysis, e.g. `http_request_duration_seconds{job="api"}`.
    histogram: Option<String>,
    /// The histogram's objective, `THRESHOLD@TARGET`, e.g. `250ms@99`.
    slo: Option<String>,
    /// The label grouping peers for outliers (default `job`).
    group_by: Option<String>,
    /// Per-query threshold overrides by check id, over the data source's.
    thresholds: Option<ThresholdOverrides>,
    /// `severity_timeline`: one series per component (default) or per instance.
    timeline_by: Option<TimelineBy>,
    /// `promql_check`: the PromQL, aggregated `by (instance[, device])`; `${selector}`, `${rate}`
    /// and `${window}` may be used.
    expr: Option<String>,
    /// `promql_check`: the warning threshold (required); a numeric string is accepted.
    #[ts(optional, type = "number | string")]
    warning: Option<f64>,
    /// `promql_check`: the critical threshold (default the warning one).
    #[ts(optional, type = "number | string")]
    critical: Option<f64>,
    /// `promql_check`: which side of the thresholds is bad (default `above`).
    direction: Option<Direction>,
    /// `promql_check`: the unit of the values (default `ratio`).
    unit: Option<CheckUnit>,
    /// `promql_check`: the resource it concerns (default `system`).
    component: Option<Component>,
    /// `promql_check`: the label naming a device, for per-device checks.
    device_label: Option<String>,
    /// `promql_check` narrative: one line; the catalog's `${…}` placeholders are filled in.
    title: Option<String>,
    /// `promql_check` narrative: what the data shows.
    observation: Option<String>,
    /// `promql_check` narrative: the likely cause.
    root_cause: Option<String>,
    /// `promql_check` narrative: what to do now.
    immediate_action: Option<String>,
    /// `promql_check` narrative: the next commands (one string is accepted too).
    investigation_steps: Option<Vec<String>>,
    /// `promql_check` narrative: the sustainable fix.
    long_term_fix: Option<String>,
    /// `dashboard`: the uid of the dashboard to read (required).
    dashboard_uid: Option<String>,
    /// `dashboard`: only these panels (every panel when absent or empty).
    panel_ids: Option<Vec<i64>>,
    /// `dashboard`: variable values over the dashboard's current ones.
    variables: Option<BTreeMap<String, VariableValue>>,
}

/// How queries are sent to Prometheus (default `POST`).
#[derive(TS)]
#[ts(rename_all = "UPPERCASE")]
#[allow(dead_code)]
enum HttpMethod {
    Post,
    Get,
}

/// The data source's `jsonData`, as `Settings::from_grafana` reads it; the field names follow
/// Grafana's Prometheus data source. Custom headers (`httpHeaderName1`… with
/// `secureJsonData.httpHeaderValue1`…) are read too.
#[derive(TS)]
#[ts(rename_all = "camelCase", optional_fields)]
#[allow(dead_code)]
struct GreggJsonData {
    /// Label matchers choosing the node_exporter targets, e.g. `{job="node"}` (every target
    /// exposing node_exporter metrics when empty).
    target_selector: Option<String>,
    /// Seconds for each Prometheus request (default 30, at most 600); a numeric string is
    /// accepted.
    timeout: Option<f64>,
    /// How queries are sent to Prometheus.
    http_method: Option<HttpMethod>,
    /// Skip the verification of Prometheus' certificate.
    tls_skip_verify: Option<bool>,
    /// Verify Prometheus' certificate with `secureJsonData.tlsCACert`.
    #[ts(rename = "tlsAuthWithCACert")]
    tls_auth_with_ca_cert: Option<bool>,
    /// Present `secureJsonData.tlsClientCert` and `tlsClientKey` (mutual TLS).
    tls_auth: Option<bool>,
    /// Most Prometheus requests in flight from this data source (default 8, at most 256).
    max_concurrent_queries: Option<u32>,
    /// Largest Prometheus answer read, in MiB (at most 1024).
    #[ts(rename = "maxResponseMiB")]
    max_response_mib: Option<u32>,
    /// Samples one query may load (default 10,000,000, at most 1,000,000,000): a check's query
    /// over more instances is sent in instance groups. Set it below the engine's own limit
    /// (Prometheus `--query.max-samples`) when that is lower.
    query_sample_budget: Option<u32>,
    /// Threshold overrides by check id, over the catalog's defaults.
    thresholds: Option<ThresholdOverrides>,
    /// Dashboard analysis: the Grafana API to read dashboards from (empty: Grafana's own URL).
    grafana_url: Option<String>,
}

/// The data source's `secureJsonData`: write-only, never sent back to the browser.
#[derive(TS)]
#[ts(rename_all = "camelCase", optional_fields)]
#[allow(dead_code)]
struct GreggSecureJsonData {
    /// The password of Grafana's basic auth user.
    basic_auth_password: Option<String>,
    /// A bearer token, used when basic auth is off.
    bearer_token: Option<String>,
    /// PEM: the CA that signed Prometheus' certificate.
    #[ts(rename = "tlsCACert")]
    tls_ca_cert: Option<String>,
    /// PEM: the client certificate for mutual TLS.
    tls_client_cert: Option<String>,
    /// PEM: the client key for mutual TLS.
    tls_client_key: Option<String>,
    /// Dashboard analysis: a Grafana service account token.
    grafana_token: Option<String>,
}

fn config() -> Config {
    // Panel ids are JSON numbers, not bigints.
    Config::new().with_large_int("number")
}

fn decl<T: TS + ?Sized>() -> String {
    let decl = format!(
        "{}export {}",
        T::docs().unwrap_or_default(),
        T::decl(&config())
    );
    // ts-rs leaves a space at the end of some lines.
    decl.lines()
        .map(|l| format!("{}\n", l.trim_end()))
        .collect()
}

/// The generated file: every shared type, in this order.
fn typescript() -> String {
    let declarations = [
        decl::<QueryType>(),
        decl::<TimelineBy>(),
        decl::<Severity>(),
        decl::<Component>(),
        decl::<Methodology>(),
        decl::<QueryMethodology>(),
        decl::<Direction>(),
        decl::<CheckUnit>(),
        decl::<ThresholdOverride>(),
        decl::<ThresholdOverrides>(),
        decl::<VariableValue>(),
        decl::<GreggQueryModel>(),
        decl::<HttpMethod>(),
        decl::<GreggJsonData>(),
        decl::<GreggSecureJsonData>(),
    ];
    format!(
        "// Generated from the backend's Rust types by src/request/generated_types.rs (ts-rs): do not\n\
         // edit. Change the Rust types, then run `{REGENERATE}`.\n\n{}",
        declarations.join("\n")
    )
}

/// The declaration without its `/** … */` comments.
fn without_comments(decl: &str) -> String {
    let mut out = String::new();
    let mut rest = decl;
    while let Some(start) = rest.find("/**") {
        out.push_str(&rest[..start]);
        rest = rest[start..]
            .find("*/")
            .map_or("", |end| &rest[start + end + 2..]);
    }
    out.push_str(rest);
    out
}

/// The field names of a generated object type.
fn fields<T: TS>() -> BTreeSet<String> {
    let decl = without_comments(&T::decl(&config()));
    let body = &decl[decl.find('{').expect("an object type") + 1..decl.rfind('}').unwrap()];
    let mut names = BTreeSet::new();
    let (mut depth, mut field) = (0, String::new());
    for c in body.chars().chain([',']) {
        match c {
            '{' | '[' | '(' | '<' => depth += 1,
            '}' | ']' | ')' | '>' => depth -= 1,
            ',' if depth == 0 => {
                let name = field.split([':', '?']).next().unwrap_or("").trim();
                if !name.is_empty() {
                    names.insert(name.to_string());
                }
                field.clear();
                continue;
            }
            _ => {}
        }
        field.push(c);
    }
    names
}

/// The names of a generated union of string literals.
fn variants<T: TS>() -> Vec<String> {
    let decl = without_comments(&T::decl(&config()));
    let union = &decl[decl.find('=').expect("a type alias") + 1..];
    union
        .split('"')
        .skip(1)
        .step_by(2)
        .map(str::to_string)
        .collect()
}

/// The string literals a parser looks keys up with, in its source (tests left out): the
/// literal after each `opener`, whitespace ignored.
fn keys_read(source: &str, openers: &[&str]) -> BTreeSet<String> {
    let code = source.split("#[cfg(test)]").next().unwrap_or(source);
    let compact: String = code.chars().filter(|c| !c.is_whitespace()).collect();
    let mut keys = BTreeSet::new();
    for opener in openers {
        for (at, _) in compact.match_indices(opener) {
            let literal = &compact[at + opener.len()..];
            if let Some(end) = literal.find('"') {
                keys.insert(literal[..end].to_string());
            }
        }
    }
    keys
}

/// The files `query::parse` reads the query JSON in, directly or through the parsers it shares
/// with resources and the CLI (paths relative to `src/request/`).
const QUERY_PARSER: &[(&str, &str)] = &[
    ("query/mod.rs", include_str!("query/mod.rs")),
    (
        "query/promql_check.rs",
        include_str!("query/promql_check.rs"),
    ),
    ("query/dashboard.rs", include_str!("query/dashboard.rs")),
    ("filters.rs", include_str!("filters.rs")),
    ("methods.rs", include_str!("methods.rs")),
];

/// Files of `src/request/` that deal in [`super::fields::Fields`] without reading the query
/// JSON: the trait itself, query-string parameters, resource parameters, and these tests.
const NOT_QUERY_PARSER: &[&str] = &[
    "fields.rs",
    "params.rs",
    "resource.rs",
    "generated_types.rs",
];

/// A token of Rust source, as much as the scan needs.
#[derive(Clone, Debug, PartialEq, Eq)]
enum Token {
    /// An identifier, keyword or number.
    Ident(String),
    /// A string literal's contents.
    Str(String),
    /// Any other character.
    Punct(char),
}

/// The tokens of `source`, its tests (from the first `#[cfg(test)]`) left out. Comments and
/// char literals are dropped and string literals kept whole, so that neither can be mistaken
/// for code.
fn tokens(source: &str) -> Vec<Token> {
    let code = source.split("#[cfg(test)]").next().unwrap_or(source);
    let chars: Vec<char> = code.chars().collect();
    let at = |i: usize| chars.get(i).copied().unwrap_or('\0');
    let mut out = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        if c.is_whitespace() {
            i += 1;
        } else if c == '/' && at(i + 1) == '/' {
            while i < chars.len() && chars[i] != '\n' {
                i += 1;
            }
        } else if c == '/' && at(i + 1) == '*' {
            i += 2;
            while i < chars.len() && !(chars[i] == '*' && at(i + 1) == '/') {
                i += 1;
            }
            i += 2;
        } else if c == '"' {
            let start = i + 1;
            i = start;
            while i < chars.len() && chars[i] != '"' {
                i += if chars[i] == '\\' { 2 } else { 1 };
            }
            out.push(Token::Str(
                chars[start..i.min(chars.len())].iter().collect(),
            ));
            i += 1;
        } else if c == 'r' && {
            let mut j = i + 1;
            while at(j) == '#' {
                j += 1;
            }
            at(j) == '"'
        } {
            // A raw string: r"…", r#"…"#.
            let hashes = chars[i + 1..].iter().take_while(|&&h| h == '#').count();
            let start = i + 2 + hashes;
            let closing: Vec<char> = std::iter::once('"')
                .chain(std::iter::repeat_n('#', hashes))
                .collect();
            i = start;
            while i < chars.len() && !chars[i..].starts_with(&closing) {
                i += 1;
            }
            out.push(Token::Str(
                chars[start..i.min(chars.len())].iter().collect(),
            ));
            i += closing.len();
        } else if c == '\'' && at(i + 1) == '\\' {
            // An escaped char literal, '\n' or '\u{…}'.
            i += 2;
            while i < chars.len() && chars[i] != '\'' {
                i += 1;
            }
            i += 1;
        } else if c == '\'' && at(i + 2) == '\'' {
            // A char literal, e.g. '"'.
            i += 3;
        } else if c.is_alphanumeric() || c == '_' {
            let start = i;
            while i < chars.len() && (chars[i].is_alphanumeric() || chars[i] == '_') {
                i += 1;
            }
            out.push(Token::Ident(chars[start..i].iter().collect()));
        } else {
            // Punctuation, and the quote of a lifetime.
            out.push(Token::Punct(c));
            i += 1;
        }
    }
    out
}

fn is_ident(token: Option<&Token>, name: &str) -> bool {
    matches!(token, Some(Token::Ident(t)) if t == name)
}

fn is_punct(token: Option<&Token>, c: char) -> bool {
    token == Some(&Token::Punct(c))
}

/// The arguments (or parameters) between the `(` at `open` and its `)`, split at the commas
/// outside brackets, and the index after the `)`. With `angles`, `<…>` counts as brackets too
/// (in a signature, where it is generics; `->` is not one).
fn arguments(tokens: &[Token], open: usize, angles: bool) -> (Vec<&[Token]>, usize) {
    let (mut depth, mut start, mut args) = (0usize, open + 1, Vec::new());
    for (i, token) in tokens.iter().enumerate().skip(open) {
        match token {
            Token::Punct('(' | '[' | '{') => depth += 1,
            Token::Punct('<') if angles => depth += 1,
            Token::Punct('>') if angles && !is_punct(tokens.get(i.wrapping_sub(1)), '-') => {
                depth = depth.saturating_sub(1)
            }
            Token::Punct(')' | ']' | '}') => {
                depth -= 1;
                if depth == 0 {
                    if i > start {
                        args.push(&tokens[start..i]);
                    }
                    return (args, i + 1);
                }
            }
            Token::Punct(',') if depth == 1 => {
                args.push(&tokens[start..i]);
                start = i + 1;
            }
            _ => {}
        }
    }
    (args, tokens.len())
}

/// A function (or method) definition.
struct Function<'a> {
    name: String,
    /// Each parameter's name (`None` for `self` or a pattern) and whether it is a `&str`, the
    /// receiver left out.
    params: Vec<(Option<String>, bool)>,
    /// The return type's tokens.
    returns: &'a [Token],
    /// The body's tokens (empty for a declaration).
    body: &'a [Token],
}

/// Every `fn` defined in `tokens`.
fn functions(tokens: &[Token]) -> Vec<Function<'_>> {
    let mut out = Vec::new();
    for (k, token) in tokens.iter().enumerate() {
        let (Token::Ident(kw), Some(Token::Ident(name))) = (token, tokens.get(k + 1)) else {
            continue;
        };
        if kw != "fn" {
            continue;
        }
        let mut open = k + 2;
        if is_punct(tokens.get(open), '<') {
            let mut depth = 0;
            while open < tokens.len() {
                match &tokens[open] {
                    Token::Punct('<') => depth += 1,
                    Token::Punct('>') => {
                        depth -= 1;
                        if depth == 0 {
                            break;
                        }
                    }
                    _ => {}
                }
                open += 1;
            }
            open += 1;
        }
        if !is_punct(tokens.get(open), '(') {
            continue;
        }
        let (params, after) = arguments(tokens, open, true);
        let params = params
            .into_iter()
            .filter(|p| !p.iter().any(|t| is_ident(Some(t), "self")))
            .map(|p| {
                let name = match p {
                    [Token::Ident(n), Token::Punct(':'), ..] => Some(n.clone()),
                    _ => None,
                };
                let ty: Vec<&Token> = p
                    .iter()
                    .skip(2)
                    .filter(|t| !matches!(t, Token::Punct('\'')) && !is_ident(Some(*t), "static"))
                    .collect();
                let is_str =
                    matches!(ty.as_slice(), [Token::Punct('&'), Token::Ident(s)] if s == "str");
                (name, is_str)
            })
            .collect();
        let end = (after..tokens.len())
            .find(|&i| is_punct(tokens.get(i), '{') || is_punct(tokens.get(i), ';'))
            .unwrap_or(tokens.len());
        let returns = &tokens[after..end];
        let body = if is_punct(tokens.get(end), '{') {
            let (_, close) = arguments(tokens, end, false);
            &tokens[end..close]
        } else {
            &[][..]
        };
        out.push(Function {
            name: name.clone(),
            params,
            returns,
            body,
        });
    }
    out
}

/// The methods of `Fields` and `JsonFields` (src/request/fields.rs) that read a named value, by
/// the index of the name among their arguments: they take it as a `&str` and give back an
/// `Option` of the value (the ones that only build an error naming a field give none).
fn accessors() -> BTreeMap<String, usize> {
    let tokens = tokens(include_str!("fields.rs"));
    functions(&tokens)
        .into_iter()
        .filter(|f| f.returns.iter().any(|t| is_ident(Some(t), "Option")))
        .filter_map(|f| Some((f.name, f.params.iter().position(|(_, is_str)| *is_str)?)))
        .collect()
}

/// The key an argument names: a string literal, or a `const` holding one defined before `at`.
fn key(tokens: &[Token], argument: &[Token], at: usize) -> Option<String> {
    match argument {
        [Token::Str(key)] => Some(key.clone()),
        [Token::Ident(name)] => {
            let def = (0..at)
                .rev()
                .find(|&k| is_ident(tokens.get(k), "const") && is_ident(tokens.get(k + 1), name))?;
            let eq = (def..at).find(|&k| is_punct(tokens.get(k), '='))?;
            match tokens.get(eq + 1) {
                Some(Token::Str(key)) => Some(key.clone()),
                _ => None,
            }
        }
        _ => None,
    }
}

/// Every call of a function or method `name(…)` in `tokens`: its arguments and where it is.
fn calls<'a>(tokens: &'a [Token], name: &str) -> Vec<(Vec<&'a [Token]>, usize)> {
    (0..tokens.len())
        .filter(|&i| {
            is_ident(tokens.get(i), name)
                && is_punct(tokens.get(i + 1), '(')
                && !is_ident(tokens.get(i.wrapping_sub(1)), "fn")
        })
        .map(|i| (arguments(tokens, i + 1, false).0, i))
        .collect()
}

/// The keys the query parser's files look up: the name given to each accessor of `Fields`, and
/// to each function of these files that passes one of its `&str` parameters on to an accessor
/// (or to such a function), e.g. `list(fields, "components", …)`; string literals, or the
/// `const`s holding them.
fn query_keys_read(files: &[Vec<Token>]) -> BTreeSet<String> {
    let mut readers = accessors();
    assert!(
        ["get", "string", "text", "names", "number"]
            .iter()
            .all(|a| readers.contains_key(*a)),
        "the accessors of src/request/fields.rs were not found: {readers:?}"
    );
    // Functions that pass a name on to a reader, until none is left to find.
    loop {
        let mut found = Vec::new();
        for f in files.iter().flat_map(|tokens| functions(tokens)) {
            if readers.contains_key(&f.name) {
                continue;
            }
            let passed_on = f.params.iter().position(|(param, is_str)| {
                let Some(param) = param.as_ref().filter(|_| *is_str) else {
                    return false;
                };
                readers.iter().any(|(reader, &index)| {
                    calls(f.body, reader).iter().any(|(args, _)| {
                        matches!(args.get(index), Some([Token::Ident(a)]) if a == param)
                    })
                })
            });
            if let Some(index) = passed_on {
                found.push((f.name, index));
            }
        }
        if found.is_empty() {
            break;
        }
        readers.extend(found);
    }
    let mut keys = BTreeSet::new();
    for tokens in files {
        for (reader, &index) in &readers {
            for (args, at) in calls(tokens, reader) {
                if let Some(k) = args.get(index).and_then(|a| key(tokens, a, at)) {
                    keys.insert(k);
                }
            }
        }
    }
    keys
}

/// `fields.<method>("key"` for every accessor method of `Fields`, plus `json.get("key"`.
fn settings_json_data_openers(source: &str) -> Vec<String> {
    let mut openers = vec!["json.get(\"".to_string()];
    let compact: String = source.chars().filter(|c| !c.is_whitespace()).collect();
    for (at, _) in compact.match_indices("fields.") {
        let method: String = compact[at + "fields.".len()..]
            .chars()
            .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
            .collect();
        if !method.is_empty() {
            openers.push(format!("fields.{method}(\""));
        }
    }
    openers
}

/// Does the query parser read `field`? A value of the wrong type must fail naming it (a
/// query field's [`FieldError`]), in the query type the field belongs to.
fn query_reads(field: &str) -> bool {
    [
        ("", json!({})),
        ("promql_check", json!({"expr": "up", "warning": 1})),
        ("dashboard", json!({"dashboardUid": "abc"})),
    ]
    .into_iter()
    .any(|(query_type, mut json)| {
        json[field] = json!(true);
        matches!(query::parse(query_type, &json),
            Err(RequestError::Field(FieldError { origin: Origin::QueryField, field: named, .. }))
                if named == field)
    })
}

/// Does `Settings::from_grafana` read `jsonData.<field>`? Same test.
fn settings_read(field: &str) -> bool {
    let json_data = json!({ field: [] });
    let secure = BTreeMap::new();
    let instance = InstanceSettings {
        uid: "uid",
        name: "name",
        url: "http://127.0.0.1:9090",
        basic_auth_enabled: false,
        basic_auth_user: "",
        json_data: &json_data,
        secure_json_data: &secure,
    };
    matches!(Settings::from_grafana(&instance),
        Err(SettingsError::InvalidField { field: named, .. }) if named == field)
}

/// The catalog check a `promql_check` query with `field` set to `value` builds.
fn promql_check(field: &str, value: &str) -> Result<Check, RequestError> {
    let json = json!({"expr": "up", "warning": 1, field: value});
    query::parse("promql_check", &json).map(|q| q.promql_check.expect("a promql_check"))
}

#[test]
fn committed_typescript_matches_the_rust_types() {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join(GENERATED);
    let want = typescript();
    if std::env::var(UPDATE).is_ok_and(|v| v == "1") {
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(&path, &want).unwrap();
        return;
    }
    let have = std::fs::read_to_string(&path).unwrap_or_default();
    if have != want {
        let line = have
            .lines()
            .zip(want.lines())
            .position(|(h, w)| h != w)
            .unwrap_or_else(|| have.lines().count().min(want.lines().count()));
        panic!(
            "{GENERATED} is not what the Rust types generate (first difference on line {}):\n  \
             committed: {}\n  generated: {}\n\
             Regenerate it with `{REGENERATE}` and commit it (then fix the frontend: \
             cd frontend && npm run typecheck).",
            line + 1,
            have.lines().nth(line).unwrap_or("(end of file)"),
            want.lines().nth(line).unwrap_or("(end of file)"),
        );
    }
}

#[test]
fn every_query_field_is_read_by_the_parser_and_no_other() {
    let declared = fields::<GreggQueryModel>();
    let unread: Vec<_> = declared.iter().filter(|f| !query_reads(f)).collect();
    assert!(
        unread.is_empty(),
        "GreggQueryModel declares fields that request::query::parse does not read: {unread:?}"
    );
    let files: Vec<Vec<Token>> = QUERY_PARSER
        .iter()
        .map(|(_, source)| tokens(source))
        .collect();
    let read = query_keys_read(&files);
    assert!(
        read.len() >= 20,
        "the source scan found too few keys: {read:?}"
    );
    let missed: Vec<_> = declared.difference(&read).collect();
    assert!(
        missed.is_empty(),
        "the source scan of {:?} missed keys the parser reads: {missed:?}; teach \
         query_keys_read (src/request/generated_types.rs) how they are read",
        QUERY_PARSER.iter().map(|(f, _)| f).collect::<Vec<_>>()
    );
    let undeclared: Vec<_> = read.difference(&declared).collect();
    assert!(
        undeclared.is_empty(),
        "request::query::parse reads keys that GreggQueryModel (src/request/generated_types.rs) \
         does not declare: {undeclared:?}; add them and run `{REGENERATE}`"
    );
}

#[test]
fn the_source_scan_covers_every_file_reading_fields() {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("src/request");
    let mut pending = vec![dir.clone()];
    let mut unlisted = Vec::new();
    while let Some(d) = pending.pop() {
        for entry in std::fs::read_dir(&d).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                pending.push(path);
                continue;
            }
            let name = path
                .strip_prefix(&dir)
                .unwrap()
                .to_string_lossy()
                .replace('\\', "/");
            if path.extension().is_none_or(|e| e != "rs")
                || QUERY_PARSER.iter().any(|(f, _)| *f == name)
                || NOT_QUERY_PARSER.contains(&name.as_str())
            {
                continue;
            }
            let tokens = tokens(&std::fs::read_to_string(&path).unwrap());
            if tokens
                .iter()
                .any(|t| is_ident(Some(t), "Fields") || is_ident(Some(t), "JsonFields"))
            {
                unlisted.push(name);
            }
        }
    }
    assert!(
        unlisted.is_empty(),
        "{unlisted:?} read fields but are in neither QUERY_PARSER nor NOT_QUERY_PARSER \
         (src/request/generated_types.rs): list them where they belong"
    );
}

#[test]
fn the_source_scan_reads_calls_helpers_and_constants() {
    let source = r#"
        const FIELD: &str = "fromConst";
        fn list<T>(fields: &impl Fields, name: &str, parse: fn(&str) -> Result<T, E>) -> X {
            fields.names(name)
        }
        fn twice(f: &JsonFields<'_>, key: &str) -> X { list(f, key, p) }
        fn choice(fields: &JsonFields<'_>, field: &str) -> FieldError { fields.error(field, e) }
        fn read(fields: &JsonFields<'_>) {
            // fields.string("inAComment")
            let _ = fields
                .non_blank("spread")?;
            let _ = fields.get(FIELD);
            let _ = list(fields, "viaHelper", component);
            let _ = twice(fields, "viaTwoHelpers");
            let _ = choice(fields, "onlyNamed");
            let _ = fields.error("onlyNamedToo", '"');
            let _ = "fields.string(\"inAString\")";
        }
        #[cfg(test)]
        mod tests { fn t() { fields.string("inATest"); } }
    "#;
    let read = query_keys_read(&[tokens(source)]);
    let want: BTreeSet<String> = ["fromConst", "spread", "viaHelper", "viaTwoHelpers"]
        .map(String::from)
        .into();
    assert_eq!(read, want);
}

#[test]
fn every_json_data_field_is_read_by_the_settings_and_no_other() {
    let declared = fields::<GreggJsonData>();
    let unread: Vec<_> = declared.iter().filter(|f| !settings_read(f)).collect();
    assert!(
        unread.is_empty(),
        "GreggJsonData declares fields that Settings::from_grafana does not read: {unread:?}"
    );
    let source = include_str!("../settings.rs");
    let openers = settings_json_data_openers(source);
    let openers: Vec<&str> = openers.iter().map(String::as_str).collect();
    let read = keys_read(source, &openers);
    assert!(
        read.len() >= 8,
        "the source scan found too few keys: {read:?}"
    );
    let undeclared: Vec<_> = read.difference(&declared).collect();
    assert!(
        undeclared.is_empty(),
        "Settings::from_grafana reads jsonData keys that GreggJsonData \
         (src/request/generated_types.rs) does not declare: {undeclared:?}; add them and run \
         `{REGENERATE}`"
    );
    let secrets = keys_read(source, &["secret(\""]);
    assert_eq!(
        secrets,
        fields::<GreggSecureJsonData>(),
        "the secureJsonData keys Settings::from_grafana reads (left) and GreggSecureJsonData \
         declares (right) differ; fix src/request/generated_types.rs and run `{REGENERATE}`"
    );
}

#[test]
fn query_types_are_the_parsers() {
    let generated: BTreeSet<String> = variants::<QueryType>().into_iter().collect();
    let parsed: BTreeSet<String> = QueryType::ALL.iter().map(|(_, n)| n.to_string()).collect();
    assert_eq!(generated, parsed);
    for (query_type, name) in QueryType::ALL {
        assert_eq!(query_type.as_str(), *name);
        let json = json!({"expr": "up", "warning": 1, "dashboardUid": "abc"});
        assert_eq!(query::parse(name, &json).unwrap().query_type, *query_type);
    }
}

#[test]
fn enum_values_are_accepted_where_the_query_takes_them() {
    for name in variants::<Component>() {
        let q = query::parse("", &json!({ "components": [name] })).unwrap();
        assert_eq!(q.filters.components.unwrap()[0].as_str(), name);
        assert_eq!(
            promql_check("component", &name).unwrap().component.as_str(),
            name
        );
    }
    assert_eq!(variants::<Component>().len(), Component::ALL.len());
    for name in variants::<Severity>() {
        let q = query::parse("", &json!({ "minSeverity": name })).unwrap();
        assert_eq!(q.filters.min_severity.as_str(), name);
    }
    for (name, want) in variants::<TimelineBy>()
        .iter()
        .zip([TimelineBy::Component, TimelineBy::Instance])
    {
        let q = query::parse("severity_timeline", &json!({ "timelineBy": name })).unwrap();
        assert_eq!(q.timeline_by, want);
    }
    for name in variants::<Direction>() {
        assert_eq!(
            promql_check("direction", &name).unwrap().direction.as_str(),
            name
        );
    }
}

#[test]
fn query_methodologies_are_the_ones_a_query_can_run() {
    // Every methodology, by an exhaustive match: a new one must be placed here.
    let all = [
        Methodology::UseMethod,
        Methodology::WorkloadCharacterization,
        Methodology::DrillDown,
        Methodology::LatencyAnalysis,
        Methodology::FleetOutliers,
        Methodology::DashboardAnalysis,
        Methodology::CustomQuery,
    ];
    let selectable: Vec<&str> = all
        .iter()
        .filter(|m| match m {
            Methodology::UseMethod
            | Methodology::WorkloadCharacterization
            | Methodology::DrillDown
            | Methodology::LatencyAnalysis
            | Methodology::FleetOutliers => true,
            Methodology::DashboardAnalysis | Methodology::CustomQuery => false,
        })
        .map(|m| m.as_str())
        .collect();
    assert_eq!(variants::<QueryMethodology>(), selectable);
    assert_eq!(variants::<Methodology>().len(), all.len());
    for m in all {
        let accepted = query::parse("", &json!({ "methodologies": [m.as_str()] })).is_ok();
        assert_eq!(accepted, selectable.contains(&m.as_str()), "{}", m.as_str());
    }
}

#[test]
fn check_units_name_every_unit() {
    let mut units = Vec::new();
    for name in variants::<CheckUnit>() {
        let unit = promql_check("unit", &name).unwrap().unit;
        assert!(!units.contains(&unit), "{name} names a unit twice");
        units.push(unit);
    }
    // Every unit, by an exhaustive match: a new one needs its CheckUnit.
    for unit in &units {
        match unit {
            Unit::Percent
            | Unit::Ratio
            | Unit::Seconds
            | Unit::Milliseconds
            | Unit::Hours
            | Unit::Bytes
            | Unit::PerSecond
            | Unit::BytesPerSecond
            | Unit::Count => {}
        }
    }
    assert_eq!(units.len(), 9, "a unit has no CheckUnit");
}
