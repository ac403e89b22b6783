import React from 'react';
import { PanelProps } from '@grafana/data';
import { locationService } from '@grafana/runtime';

import { MatrixView } from './MatrixView';
import { exploreRange } from '../../shared/explore';
import { variableValue } from '../../shared/variables';

/** Panel options. */
export interface MatrixOptions {
  /** Dashboard variable a click sets to the cell's instance (without `$`); none when empty. */
  variable?: string;
  /** Prometheus data source uid for the Explore links (the default data source when empty). */
  exploreDatasource?: string;
}

/** The USE matrix panel: reads the data source's `use_matrix` query (and an `insights` query for the drill-down). */
export function MatrixPanel({ data, timeRange, width, height, options, replaceVariables }: PanelProps<MatrixOptions>) {
  const variable = options?.variable?.replace(/^\$/, '') || undefined;
  return (
    <MatrixView
      series={data.series}
      state={data.state}
      error={data.errors?.[0]?.message}
      width={width}
      height={height}
      exploreDatasource={options?.exploreDatasource || undefined}
      exploreRange={exploreRange(data.timeRange ?? timeRange)}
      variableName={variable}
      instanceFilter={variable ? variableValue(replaceVariables, variable) : undefined}
      onFilterInstance={
        variable ? (instance) => locationService.partial({ [`var-${variable}`]: instance ?? null }, true) : undefined
      }
    />
  );
}
