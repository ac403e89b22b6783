import React, { FormEvent, useState } from 'react';
import { QueryEditorProps } from '@grafana/data';
import { Combobox, InlineField, InlineFieldRow, Input, MultiCombobox, TextArea } from '@grafana/ui';

import { DataSource } from '../datasource';
import {
  CheckUnit,
  Component,
  Direction,
  GreggOptions,
  GreggQuery,
  QUERY_TYPES,
  QueryMethodology,
  Severity,
} from '../types';

type Props = QueryEditorProps<DataSource, GreggQuery, GreggOptions>;

/** Options from a Record keyed by a generated union, so the compiler holds each list to the backend's. */
function options<T extends string>(labels: Record<T, string>): Array<{ value: T; label: string }> {
  return (Object.keys(labels) as T[]).map((value) => ({ value, label: labels[value] }));
}

const SEVERITIES = options<Severity>({
  info: 'info',
  low: 'low',
  medium: 'medium',
  high: 'high',
  critical: 'critical',
});
const COMPONENTS = options<Component>({
  cpu: 'cpu',
  memory: 'memory',
  disk: 'disk',
  filesystem: 'filesystem',
  network: 'network',
  system: 'system',
  container: 'container',
});
const METHODOLOGIES = options<QueryMethodology>({
  use_method: 'USE method',
  workload_characterization: 'Workload characterization',
  drill_down: 'Drill-down',
  latency_analysis: 'Latency analysis',
  fleet_outliers: 'Fleet outliers',
});
const UNITS = options<CheckUnit>({
  percent: 'percent',
  ratio: 'ratio',
  seconds: 'seconds',
  ms: 'ms',
  hours: 'hours',
  bytes: 'bytes',
  per_second: 'per_second',
  bytes_per_second: 'bytes_per_second',
  count: 'count',
});
const DIRECTIONS = options<Direction>({ above: 'above', below: 'below' });

/**
 * Query type, window and the filters every type honours (instances with template variables,
 * components, minimum severity, methodologies, per-query thresholds); latency options; and
 * the custom PromQL check's fields for `promql_check`.
 */
export function QueryEditor({ query, onChange, onRunQuery }: Props) {
  const set = (patch: Partial<GreggQuery>) => onChange({ ...query, ...patch });
  const [variablesError, setVariablesError] = useState<string | undefined>();
  const text = (key: keyof GreggQuery) => (e: FormEvent<HTMLInputElement | HTMLTextAreaElement>) =>
    set({ [key]: e.currentTarget.value } as Partial<GreggQuery>);
  const thresholds = query.thresholds === undefined ? '' : JSON.stringify(query.thresholds);
  return (
    <>
      <InlineFieldRow>
        <InlineField label="Query type" labelWidth={14}>
          <Combobox
            width={30}
            options={QUERY_TYPES.map((t) => ({ value: t.value, label: t.label, description: t.description }))}
            value={query.queryType ?? 'use_summary'}
            onChange={(option) => {
              set({ queryType: option.value });
              onRunQuery();
            }}
          />
        </InlineField>
        <InlineField label="Window" labelWidth={10} tooltip="Rate window and look-back, e.g. 5m or 1h">
          <Input
            width={12}
            data-testid="query-window"
            value={query.window ?? ''}
            placeholder="5m"
            onChange={text('window')}
            onBlur={onRunQuery}
          />
        </InlineField>
        <InlineField label="Instances" labelWidth={12} tooltip="An instance regex; $instance works (regex format)">
          <Input
            width={28}
            data-testid="query-instances"
            value={query.instances ?? ''}
            placeholder="$instance or web-.*"
            onChange={text('instances')}
            onBlur={onRunQuery}
          />
        </InlineField>
      </InlineFieldRow>
      <InlineFieldRow>
        <InlineField label="Components" labelWidth={14}>
          <MultiCombobox
            width={40}
            options={COMPONENTS}
            value={query.components ?? []}
            onChange={(items) => {
              set({ components: items.map((i) => i.value) });
              onRunQuery();
            }}
          />
        </InlineField>
        <InlineField label="Min severity" labelWidth={14}>
          <Combobox
            width={16}
            options={SEVERITIES}
            value={query.minSeverity ?? 'info'}
            onChange={(option) => {
              set({ minSeverity: option.value });
              onRunQuery();
            }}
          />
        </InlineField>
        <InlineField label="Methodologies" labelWidth={14}>
          <MultiCombobox
            width={50}
            options={METHODOLOGIES}
            value={query.methodologies ?? []}
            onChange={(items) => {
              set({ methodologies: items.map((i) => i.value) });
              onRunQuery();
            }}
          />
        </InlineField>
      </InlineFieldRow>
      <InlineFieldRow>
        <InlineField label="Histogram" labelWidth={14} tooltip="A Prometheus histogram for latency analysis">
          <Input
            width={40}
            data-testid="query-histogram"
            value={query.histogram ?? ''}
            placeholder='http_request_duration_seconds{job="api"}'
            onChange={text('histogram')}
            onBlur={onRunQuery}
          />
        </InlineField>
        <InlineField label="SLO" labelWidth={8} tooltip="THRESHOLD@TARGET, e.g. 250ms@99">
          <Input width={14} value={query.slo ?? ''} placeholder="250ms@99" onChange={text('slo')} onBlur={onRunQuery} />
        </InlineField>
        <InlineField label="Peers by" labelWidth={10} tooltip="Label grouping hosts into peers for outliers">
          <Input
            width={12}
            value={query.groupBy ?? ''}
            placeholder="job"
            onChange={text('groupBy')}
            onBlur={onRunQuery}
          />
        </InlineField>
      </InlineFieldRow>
      <InlineFieldRow>
        <InlineField
          label="Thresholds"
          labelWidth={14}
          grow
          tooltip='Per-query overrides by check id, e.g. {"cpu.utilization": {"warning": 70}}'
        >
          <Input
            data-testid="query-thresholds"
            defaultValue={thresholds}
            placeholder='{"cpu.utilization": {"warning": 70}}'
            onBlur={(e) => {
              const raw = e.currentTarget.value.trim();
              try {
                set({ thresholds: raw === '' ? undefined : JSON.parse(raw) });
              } catch {
                // Sent as text: the backend names the field in its error.
                set({ thresholds: raw as unknown as GreggQuery['thresholds'] });
              }
              onRunQuery();
            }}
          />
        </InlineField>
      </InlineFieldRow>
      {query.queryType === 'dashboard' && (
        <InlineFieldRow>
          <InlineField
            label="Dashboard UID"
            labelWidth={14}
            tooltip="The dashboard to read (Grafana URL and token in the data source)"
          >
            <Input
              data-testid="dashboard-uid"
              width={24}
              value={query.dashboardUid ?? ''}
              placeholder="rYdddlPWk"
              onChange={text('dashboardUid')}
              onBlur={onRunQuery}
            />
          </InlineField>
          <InlineField label="Panel IDs" labelWidth={10} tooltip="Comma-separated; empty reads every panel">
            <Input
              data-testid="dashboard-panels"
              width={16}
              defaultValue={(query.panelIds ?? []).join(', ')}
              placeholder="all"
              onBlur={(e) => {
                const ids = e.currentTarget.value
                  .split(',')
                  .map((v) => v.trim())
                  .filter((v) => v !== '')
                  .map(Number)
                  .filter((n) => Number.isInteger(n));
                set({ panelIds: ids.length > 0 ? ids : undefined });
                onRunQuery();
              }}
            />
          </InlineField>
          <InlineField
            label="Variables"
            labelWidth={10}
            grow
            invalid={variablesError !== undefined}
            error={variablesError}
            tooltip='JSON, e.g. {"job": "node", "instance": ["a:9100", "b:9100"]}; empty: the dashboard&apos;s current values'
          >
            <Input
              data-testid="dashboard-variables"
              defaultValue={query.variables === undefined ? '' : JSON.stringify(query.variables)}
              placeholder='{"job": "node"}'
              onBlur={(e) => {
                const raw = e.currentTarget.value.trim();
                let variables: GreggQuery['variables'];
                try {
                  variables = raw === '' ? undefined : JSON.parse(raw);
                } catch (err) {
                  setVariablesError(`Not JSON: ${(err as Error).message}`);
                  return;
                }
                if (variables !== undefined && (typeof variables !== 'object' || Array.isArray(variables))) {
                  setVariablesError('Expected an object of variable names to values');
                  return;
                }
                setVariablesError(undefined);
                set({ variables });
                onRunQuery();
              }}
            />
          </InlineField>
        </InlineFieldRow>
      )}
      {query.queryType === 'promql_check' && (
        <>
          <InlineFieldRow>
            <InlineField
              label="PromQL"
              labelWidth={14}
              grow
              tooltip="Aggregated by (instance[, device]); ${selector} and ${rate} may be used"
            >
              <TextArea
                data-testid="query-expr"
                rows={3}
                value={query.expr ?? ''}
                onChange={text('expr')}
                onBlur={onRunQuery}
              />
            </InlineField>
          </InlineFieldRow>
          <InlineFieldRow>
            <InlineField label="Warning" labelWidth={14}>
              <Input width={12} value={query.warning ?? ''} onChange={text('warning')} onBlur={onRunQuery} />
            </InlineField>
            <InlineField label="Critical" labelWidth={10}>
              <Input width={12} value={query.critical ?? ''} onChange={text('critical')} onBlur={onRunQuery} />
            </InlineField>
            <InlineField label="Direction" labelWidth={10}>
              <Combobox
                width={12}
                options={DIRECTIONS}
                value={query.direction ?? 'above'}
                onChange={(o) => set({ direction: o.value })}
              />
            </InlineField>
            <InlineField label="Unit" labelWidth={8}>
              <Combobox
                width={18}
                options={UNITS}
                value={query.unit ?? 'ratio'}
                onChange={(o) => set({ unit: o.value })}
              />
            </InlineField>
            <InlineField label="Title" labelWidth={8} grow>
              <Input value={query.title ?? ''} placeholder="Busy CPUs" onChange={text('title')} onBlur={onRunQuery} />
            </InlineField>
          </InlineFieldRow>
        </>
      )}
    </>
  );
}
