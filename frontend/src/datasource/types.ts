import { DataSourceJsonData } from '@grafana/data';
import { DataQuery } from '@grafana/schema';

/** Query types the backend answers (see docs/frames.md). */
export const QUERY_TYPES = [
  { value: 'use_summary', label: 'USE summary', description: 'CPU utilization per instance' },
] as const;

export type QueryType = (typeof QUERY_TYPES)[number]['value'];

/** One query, as the backend's `plugin::query` parses it. */
export interface GreggQuery extends DataQuery {
  queryType?: QueryType;
  /** Rate window and look-back, e.g. "5m". */
  window?: string;
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
}

/** secureJsonData: write-only, never sent back to the browser. */
export interface GreggSecureOptions {
  basicAuthPassword?: string;
  bearerToken?: string;
  tlsCACert?: string;
  tlsClientCert?: string;
  tlsClientKey?: string;
}
