import React from 'react';
import { PanelProps } from '@grafana/data';
import { locationService } from '@grafana/runtime';

import { ReportView } from './ReportView';
import { exploreRange } from '../../shared/explore';
import { variableValue } from '../../shared/variables';

/** Panel options. */
export interface ReportOptions {
  /** Prometheus data source uid for the Explore links (the default data source when empty). */
  exploreDatasource?: string;
  /** Dashboard variable whose instances the panel shows (the USE matrix sets it); none when empty. */
  variable?: string;
}

/** The Gregg Insights Report: the persona's SUMMARY, then findings as cards, most urgent first. */
export function ReportPanel({ data, timeRange, width, height, options, replaceVariables }: PanelProps<ReportOptions>) {
  const variable = (options?.variable ?? 'instance').replace(/^\$/, '') || undefined;
  return (
    <ReportView
      series={data.series}
      state={data.state}
      error={data.errors?.[0]?.message}
      width={width}
      height={height}
      exploreDatasource={options?.exploreDatasource || undefined}
      exploreRange={exploreRange(data.timeRange ?? timeRange)}
      variableName={variable}
      instanceFilter={variable ? variableValue(replaceVariables, variable) : undefined}
      onClearFilter={variable ? () => locationService.partial({ [`var-${variable}`]: null }, true) : undefined}
    />
  );
}
