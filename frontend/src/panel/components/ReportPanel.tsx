import React from 'react';
import { PanelProps } from '@grafana/data';

import { ReportView } from './ReportView';

/** Panel options. */
export interface ReportOptions {
  /** Prometheus data source uid for the Explore links (the default data source when empty). */
  exploreDatasource?: string;
}

/** The Gregg Insights Report: the persona's SUMMARY, then findings as cards, most urgent first. */
export function ReportPanel({ data, width, height, options }: PanelProps<ReportOptions>) {
  return (
    <ReportView
      series={data.series}
      state={data.state}
      error={data.errors?.[0]?.message}
      width={width}
      height={height}
      exploreDatasource={options?.exploreDatasource || undefined}
    />
  );
}
