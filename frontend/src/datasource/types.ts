import { DataSourceJsonData } from '@grafana/data';
import { DataQuery } from '@grafana/schema';

/** Query types the backend answers (see docs/frames.md). */
export const QUERY_TYPES = [
  { value: 'insights', label: 'Insights', description: 'One row per insight, every field' },
  { value: 'report', label: 'Report', description: 'What the report panel renders' },
  { value: 'alert', label: 'Alert', description: 'severity_level per instance × check, for alerting' },
  { value: 'use_matrix', label: 'USE matrix', description: 'Instances × resources × U/S/E' },
  { value: 'severity_timeline', label: 'Severity timeline', description: 'Worst severity over the range' },
  { value: 'annotations', label: 'Annotations', description: 'When each condition held' },
  { value: 'promql_check', label: 'PromQL check', description: 'Your own PromQL, judged as a check' },
  { value: 'dashboard', label: 'Dashboard', description: "A dashboard's panels, read the Gregg way" },
  { value: 'instances', label: 'Instances', description: 'Values for template variables' },
  { value: 'use_summary', label: 'USE summary', description: 'CPU utilization per instance' },
] as const;

export type QueryType = (typeof QUERY_TYPES)[number]['value'];

/** One query, as the backend's `plugin::query` parses it. */
export interface GreggQuery extends DataQuery {
  queryType?: QueryType;
  /** Rate window and look-back, e.g. "5m". */
  window?: string;
  /** An `instance` regex; template variables are interpolated in regex format. */
  instances?: string;
  /** Components to keep: cpu, memory, disk, filesystem, network, system. */
  components?: string[];
  /** Leave out insights below this severity. */
  minSeverity?: string;
  /** Methodologies to run and keep (use_method, workload_characterization, …). */
  methodologies?: string[];
  /** A histogram for latency analysis, and its objective (e.g. "250ms@99"). */
  histogram?: string;
  slo?: string;
  /** The label grouping peers for outliers (default job). */
  groupBy?: string;
  /** Per-query threshold overrides by check id. */
  thresholds?: ThresholdOverrides;
  /** severity_timeline: one series per component (default) or instance. */
  timelineBy?: 'component' | 'instance';
  /** promql_check fields. */
  expr?: string;
  warning?: number | string;
  critical?: number | string;
  direction?: 'above' | 'below';
  unit?: string;
  title?: string;
  /** dashboard fields: which dashboard, which of its panels (all when empty), variable values. */
  dashboardUid?: string;
  panelIds?: number[];
  variables?: Record<string, string | string[]>;
}

export const DEFAULT_QUERY: Partial<GreggQuery> = {
  queryType: 'use_summary',
  window: '5m',
};

/** Thresholds by check id, e.g. { "cpu.utilization": { warning: 70 } }. */
export type ThresholdOverrides = Record<string, { warning?: number; critical?: number }>;

/** jsonData: Grafana's standard HTTP fields plus ours (see `src/settings.rs`). */
export interface GreggOptions extends DataSourceJsonData {
  targetSelector?: string;
  timeout?: number;
  httpMethod?: string;
  tlsSkipVerify?: boolean;
  tlsAuthWithCACert?: boolean;
  tlsAuth?: boolean;
  thresholds?: ThresholdOverrides;
  maxConcurrentQueries?: number;
  /** The auth method chosen in the editor when it is not basic auth ("bearer"), so the choice survives a reload. */
  authMethod?: 'bearer';
  /** Dashboard analysis: the Grafana API to read dashboards from (empty: Grafana's own URL). */
  grafanaUrl?: string;
}

/** secureJsonData: write-only, never sent back to the browser. */
export interface GreggSecureOptions {
  basicAuthPassword?: string;
  bearerToken?: string;
  tlsCACert?: string;
  tlsClientCert?: string;
  tlsClientKey?: string;
  /** Dashboard analysis: a Grafana service account token. */
  grafanaToken?: string;
}
