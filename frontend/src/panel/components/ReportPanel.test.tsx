import React from 'react';
import { render, screen } from '@testing-library/react';
import {
  EventBusSrv,
  FieldType,
  LoadingState,
  PanelProps,
  getDefaultTimeRange,
  toDataFrame,
  DataFrame,
} from '@grafana/data';

import { ReportPanel } from './ReportPanel';

function props(series: DataFrame[]): PanelProps {
  const timeRange = getDefaultTimeRange();
  return {
    id: 1,
    data: { series, state: LoadingState.Done, timeRange },
    timeRange,
    timeZone: 'utc',
    options: {},
    transparent: false,
    width: 600,
    height: 400,
    fieldConfig: { defaults: {}, overrides: [] },
    renderCounter: 0,
    title: 'Report',
    eventBus: new EventBusSrv(),
    onOptionsChange: jest.fn(),
    onFieldConfigChange: jest.fn(),
    replaceVariables: (s: string) => s,
    onChangeTimeRange: jest.fn(),
  };
}

describe('ReportPanel', () => {
  it('lists every row the data source returned', () => {
    const frame = toDataFrame({
      name: 'use_summary',
      fields: [
        { name: 'instance', type: FieldType.string, values: ['busy-1:9100', 'idle-1:9100'] },
        {
          name: 'utilization',
          type: FieldType.number,
          values: [97.04, 10],
          config: { displayName: 'CPU utilization' },
        },
        { name: 'severity', type: FieldType.string, values: ['high', 'ok'] },
      ],
    });
    render(<ReportPanel {...props([frame])} />);
    expect(screen.getByText('CPU utilization')).toBeInTheDocument();
    expect(screen.getByText('busy-1:9100')).toBeInTheDocument();
    expect(screen.getByText('97.0')).toBeInTheDocument();
    expect(screen.getByText('high')).toBeInTheDocument();
    expect(screen.getAllByRole('row')).toHaveLength(3);
  });

  it('says so when there is nothing to show', () => {
    render(<ReportPanel {...props([])} />);
    expect(screen.getByTestId('gregg-report-empty')).toHaveTextContent('No findings');
  });
});
