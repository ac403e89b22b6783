// Generated from the backend's Rust types by src/request/generated_types.rs (ts-rs): do not
// edit. Change the Rust types, then run `GREGG_UPDATE_TYPES=1 cargo test --release --lib generated_types`.

/**
 * The query types this data source answers (docs/frames.md has each frame contract).
 */
export type QueryType = "use_summary" | "insights" | "report" | "annotations" | "alert" | "use_matrix" | "severity_timeline" | "promql_check" | "instances" | "dashboard";

/**
 * One series per component or per instance.
 */
export type TimelineBy = "component" | "instance";

/**
 * How urgent a finding is. Ordered: `Info < Low < Medium < High < Critical`.
 */
export type Severity = "info" | "low" | "medium" | "high" | "critical";

/**
 * The resource a finding is about.
 */
export type Component = "cpu" | "memory" | "disk" | "filesystem" | "network" | "system" | "container";

/**
 * Which of Gregg's methodologies produced a finding.
 */
export type Methodology = "use_method" | "workload_characterization" | "drill_down" | "latency_analysis" | "fleet_outliers" | "dashboard_analysis" | "custom_query";

/**
 * Methodologies a query can keep (`methodologies`); the CLI's names (`use`, `workload`,
 * `drilldown`, `latency`, `outliers`) are accepted too.
 */
export type QueryMethodology = "use_method" | "workload_characterization" | "drill_down" | "latency_analysis" | "fleet_outliers";

/**
 * Which side of a threshold is bad.
 */
export type Direction = "above" | "below";

/**
 * The unit of a custom check's values (`promql_check`'s `unit`; default `ratio`).
 */
export type CheckUnit = "percent" | "ratio" | "seconds" | "ms" | "hours" | "bytes" | "per_second" | "bytes_per_second" | "count";

/**
 * New warning and/or critical values for one check.
 */
export type ThresholdOverride = {
/**
 * Replaces the check's warning threshold.
 */
warning?: number | null,
/**
 * Replaces the check's critical threshold.
 */
critical?: number | null, };

/**
 * Threshold overrides by check id, e.g. `{"cpu.utilization": {"warning": 70}}`, layered over
 * the catalog's defaults: the data source's (`jsonData.thresholds`), then the query's.
 */
export type ThresholdOverrides = { [key in string]: ThresholdOverride };

/**
 * A dashboard variable's value: one, or several.
 */
export type VariableValue = string | Array<string>;

/**
 * One query as a panel sends it: what `request::query::parse` reads (docs/frames.md).
 * Grafana adds its own keys (`refId`, `datasource`, `hide`…), which the backend ignores.
 */
export type GreggQueryModel = {
/**
 * What to compute (default `use_summary`). The query type Grafana sends beside the JSON
 * wins over this one.
 */
queryType?: QueryType,
/**
 * Rate window and look-back, e.g. `5m` (default 5m, at least 30s).
 */
window?: string,
/**
 * An `instance` regex (RE2, anchored), added to the data source's target selector.
 */
instances?: string,
/**
 * Components to keep (all when absent); a comma-separated string is accepted too.
 */
components?: Array<Component>,
/**
 * Leave out insights below this severity (default `info`).
 */
minSeverity?: Severity,
/**
 * Methodologies to run and keep (all when absent); a comma-separated string is accepted too.
 */
methodologies?: Array<QueryMethodology>,
/**
 * A Prometheus histogram for latency analysis, e.g. `http_request_duration_seconds{job="api"}`.
 */
histogram?: string,
/**
 * The histogram's objective, `THRESHOLD@TARGET`, e.g. `250ms@99`.
 */
slo?: string,
/**
 * The label grouping peers for outliers (default `job`).
 */
groupBy?: string,
/**
 * Per-query threshold overrides by check id, over the data source's.
 */
thresholds?: ThresholdOverrides,
/**
 * `severity_timeline`: one series per component (default) or per instance.
 */
timelineBy?: TimelineBy,
/**
 * `promql_check`: the PromQL, aggregated `by (instance[, device])`; `${selector}`, `${rate}`
 * and `${window}` may be used.
 */
expr?: string,
/**
 * `promql_check`: the warning threshold (required); a numeric string is accepted.
 */
warning?: number | string,
/**
 * `promql_check`: the critical threshold (default the warning one).
 */
critical?: number | string,
/**
 * `promql_check`: which side of the thresholds is bad (default `above`).
 */
direction?: Direction,
/**
 * `promql_check`: the unit of the values (default `ratio`).
 */
unit?: CheckUnit,
/**
 * `promql_check`: the resource it concerns (default `system`).
 */
component?: Component,
/**
 * `promql_check`: the label naming a device, for per-device checks.
 */
deviceLabel?: string,
/**
 * `promql_check` narrative: one line; the catalog's `${…}` placeholders are filled in.
 */
title?: string,
/**
 * `promql_check` narrative: what the data shows.
 */
observation?: string,
/**
 * `promql_check` narrative: the likely cause.
 */
rootCause?: string,
/**
 * `promql_check` narrative: what to do now.
 */
immediateAction?: string,
/**
 * `promql_check` narrative: the next commands (one string is accepted too).
 */
investigationSteps?: Array<string>,
/**
 * `promql_check` narrative: the sustainable fix.
 */
longTermFix?: string,
/**
 * `dashboard`: the uid of the dashboard to read (required).
 */
dashboardUid?: string,
/**
 * `dashboard`: only these panels (every panel when absent or empty).
 */
panelIds?: Array<number>,
/**
 * `dashboard`: variable values over the dashboard's current ones.
 */
variables?: { [key in string]: VariableValue }, };

/**
 * How queries are sent to Prometheus (default `POST`).
 */
export type HttpMethod = "POST" | "GET";

/**
 * The data source's `jsonData`, as `Settings::from_grafana` reads it; the field names follow
 * Grafana's Prometheus data source. Custom headers (`httpHeaderName1`… with
 * `secureJsonData.httpHeaderValue1`…) are read too.
 */
export type GreggJsonData = {
/**
 * Label matchers choosing the node_exporter targets, e.g. `{job="node"}` (every target
 * exposing node_exporter metrics when empty).
 */
targetSelector?: string,
/**
 * Seconds for each Prometheus request (default 30, at most 600); a numeric string is
 * accepted.
 */
timeout?: number,
/**
 * How queries are sent to Prometheus.
 */
httpMethod?: HttpMethod,
/**
 * Skip the verification of Prometheus' certificate.
 */
tlsSkipVerify?: boolean,
/**
 * Verify Prometheus' certificate with `secureJsonData.tlsCACert`.
 */
tlsAuthWithCACert?: boolean,
/**
 * Present `secureJsonData.tlsClientCert` and `tlsClientKey` (mutual TLS).
 */
tlsAuth?: boolean,
/**
 * Most Prometheus requests in flight from this data source (default 8, at most 256).
 */
maxConcurrentQueries?: number,
/**
 * Largest Prometheus answer read, in MiB (at most 1024).
 */
maxResponseMiB?: number,
/**
 * Samples one query may load (default 10,000,000, at most 1,000,000,000): a check's query
 * over more instances is sent in instance groups. Set it below the engine's own limit
 * (Prometheus `--query.max-samples`) when that is lower.
 */
querySampleBudget?: number,
/**
 * Threshold overrides by check id, over the catalog's defaults.
 */
thresholds?: ThresholdOverrides,
/**
 * Dashboard analysis: the Grafana API to read dashboards from (empty: Grafana's own URL).
 */
grafanaUrl?: string, };

/**
 * The data source's `secureJsonData`: write-only, never sent back to the browser.
 */
export type GreggSecureJsonData = {
/**
 * The password of Grafana's basic auth user.
 */
basicAuthPassword?: string,
/**
 * A bearer token, used when basic auth is off.
 */
bearerToken?: string,
/**
 * PEM: the CA that signed Prometheus' certificate.
 */
tlsCACert?: string,
/**
 * PEM: the client certificate for mutual TLS.
 */
tlsClientCert?: string,
/**
 * PEM: the client key for mutual TLS.
 */
tlsClientKey?: string,
/**
 * Dashboard analysis: a Grafana service account token.
 */
grafanaToken?: string, };
