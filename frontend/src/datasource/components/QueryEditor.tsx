import React, { ChangeEvent } from 'react';
import { QueryEditorProps } from '@grafana/data';
import { Combobox, InlineField, InlineFieldRow, Input } from '@grafana/ui';

import { DataSource } from '../datasource';
import { GreggOptions, GreggQuery, QUERY_TYPES, QueryType } from '../types';

type Props = QueryEditorProps<DataSource, GreggQuery, GreggOptions>;

/** Query type and window; filters and the other query types arrive with the analyzer. */
export function QueryEditor({ query, onChange, onRunQuery }: Props) {
  return (
    <InlineFieldRow>
      <InlineField label="Query type" labelWidth={14}>
        <Combobox
          width={30}
          options={QUERY_TYPES.map((t) => ({ value: t.value, label: t.label, description: t.description }))}
          value={query.queryType ?? 'use_summary'}
          onChange={(option) => {
            onChange({ ...query, queryType: option.value as QueryType });
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
          onChange={(e: ChangeEvent<HTMLInputElement>) => onChange({ ...query, window: e.target.value })}
          onBlur={onRunQuery}
        />
      </InlineField>
    </InlineFieldRow>
  );
}
