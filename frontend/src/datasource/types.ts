import { DataSourceJsonData } from '@grafana/data';
import { DataQuery } from '@grafana/schema';

import type { GreggJsonData, GreggQueryModel, GreggSecureJsonData, QueryType } from '../generated/backend';

/*
 * The shapes the backend reads (query JSON, jsonData, secureJsonData) and their enums are generated
 * from its Rust types into ../generated/backend.ts (src/request/generated_types.rs); a Rust test
 * fails when that file is out of date. This file only adds what is Grafana's or the editors' own.
 */
export type {
  CheckUnit,
  Component,
  Direction,
  GreggJsonData,
  GreggQueryModel,
  GreggSecureJsonData,
  HttpMethod,
  Methodology,
  QueryMethodology,
  QueryType,
  Severity,
  ThresholdOverride,
  ThresholdOverrides,
  TimelineBy,
  VariableValue,
} from '../generated/backend';

/** How the editor shows each query type (a Record: every type the backend answers, docs/frames.md). */
const QUERY_TYPE_INFO: Record<QueryType, { label: string; description: string }> = {
  insights: { label: 'Insights', description: 'One row per insight, every field' },
  report: { label: 'Report', description: 'What the report panel renders' },
  alert: { label: 'Alert', description: 'severity_level per instance × check, for alerting' },
  use_matrix: { label: 'USE matrix', description: 'Instances × resources × U/S/E' },
  severity_timeline: { label: 'Severity timeline', description: 'Worst severity over the range' },
  annotations: { label: 'Annotations', description: 'When each condition held' },
  promql_check: { label: 'PromQL check', description: 'Your own PromQL, judged as a check' },
  dashboard: { label: 'Dashboard', description: "A dashboard's panels, read the Gregg way" },
  instances: { label: 'Instances', description: 'Values for template variables' },
  use_summary: { label: 'USE summary', description: 'CPU utilization per instance' },
};

/** Query types the backend answers, with their labels. */
export const QUERY_TYPES: ReadonlyArray<{ value: QueryType; label: string; description: string }> = (
  Object.keys(QUERY_TYPE_INFO) as QueryType[]
).map((value) => ({ value, ...QUERY_TYPE_INFO[value] }));

/** One query, as the backend's `request::query` parses it, with Grafana's own keys. */
export interface GreggQuery extends DataQuery, Omit<GreggQueryModel, 'queryType'> {
  queryType?: QueryType;
}

export const DEFAULT_QUERY: Partial<GreggQuery> = {
  queryType: 'use_summary',
  window: '5m',
};

/** jsonData: Grafana's standard fields plus what the backend reads (see `src/settings.rs`). */
export interface GreggOptions extends DataSourceJsonData, GreggJsonData {
  /** The auth method chosen in the editor when it is not basic auth ("bearer"), so the choice survives a reload. */
  authMethod?: 'bearer';
}

/** secureJsonData: write-only, never sent back to the browser. */
export type GreggSecureOptions = GreggSecureJsonData;
