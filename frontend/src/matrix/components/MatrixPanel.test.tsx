import React from 'react';
import { act, fireEvent, render, screen } from '@testing-library/react';
import {
  DataFrame,
  EventBusSrv,
  FieldType,
  LoadingState,
  PanelProps,
  getDefaultTimeRange,
  toDataFrame,
} from '@grafana/data';
import { locationService } from '@grafana/runtime';

import { MatrixOptions, MatrixPanel } from './MatrixPanel';
import { readMatrix } from '../model';

function props(series: DataFrame[], height = 400): PanelProps<MatrixOptions> {
  const timeRange = getDefaultTimeRange();
  return {
    id: 1,
    data: { series, state: LoadingState.Done, timeRange },
    timeRange,
    timeZone: 'utc',
    options: { variable: 'instance' },
    transparent: false,
    width: 800,
    height,
    fieldConfig: { defaults: {}, overrides: [] },
    renderCounter: 0,
    title: 'USE matrix',
    eventBus: new EventBusSrv(),
    onOptionsChange: jest.fn(),
    onFieldConfigChange: jest.fn(),
    replaceVariables: (s: string) => s,
    onChangeTimeRange: jest.fn(),
  };
}

type Cell = [instance: string, component: string, signal: string, value: number, level: string, severity: string];

/** A use_matrix frame as the backend sends it (docs/frames.md). */
function matrix(cells: Cell[]): DataFrame {
  const col = (name: string, k: number) => ({ name, type: FieldType.string, values: cells.map((c) => c[k]) });
  return toDataFrame({
    name: 'use_matrix',
    fields: [
      col('instance', 0),
      col('component', 1),
      col('signal', 2),
      { name: 'check', type: FieldType.string, values: cells.map((c) => `${c[1]}.${c[2]}`) },
      { name: 'value', type: FieldType.number, values: cells.map((c) => c[3]) },
      { name: 'unit', type: FieldType.string, values: cells.map(() => 'percent') },
      col('level', 4),
      {
        name: 'level_value',
        type: FieldType.number,
        values: cells.map((c) => ['ok', 'warning', 'critical'].indexOf(c[4])),
      },
      col('severity', 5),
      { name: 'warning', type: FieldType.number, values: cells.map(() => 80) },
      { name: 'critical', type: FieldType.number, values: cells.map(() => 95) },
    ],
  });
}

/** A fleet where host-00007 is the only critical one. */
function fleet(n: number): Cell[] {
  const cells: Cell[] = [];
  for (let i = 0; i < n; i++) {
    const name = `host-${String(i).padStart(5, '0')}:9100`;
    const hot = i === 7;
    cells.push([name, 'cpu', 'utilization', hot ? 97 : 12, hot ? 'critical' : 'ok', hot ? 'critical' : 'ok']);
    cells.push([name, 'cpu', 'saturation', hot ? 40 : 1, hot ? 'critical' : 'ok', hot ? 'critical' : 'ok']);
    cells.push([
      name,
      'memory',
      'utilization',
      i % 31 === 5 ? 96 : 40,
      i % 31 === 5 ? 'critical' : 'ok',
      i % 31 === 5 ? 'high' : 'ok',
    ]);
    cells.push([name, 'disk', 'errors', 0, 'ok', 'ok']);
  }
  return cells;
}

describe('USE matrix', () => {
  it('reads the frame worst first, with each cell coloured by severity or level', () => {
    const m = readMatrix([
      matrix([
        ['a:9100', 'cpu', 'utilization', 50, 'ok', 'ok'],
        ['b:9100', 'memory', 'utilization', 85, 'warning', 'ok'],
        ['c:9100', 'cpu', 'saturation', 40, 'critical', 'critical'],
      ]),
    ]);
    expect(m.rows.map((r) => [r.instance, r.worst])).toEqual([
      ['c:9100', 'critical'],
      ['b:9100', 'low'],
      ['a:9100', 'ok'],
    ]);
    expect(m.components).toEqual(['cpu', 'memory']);
    expect(readMatrix([toDataFrame({ name: 'other', fields: [{ name: 'x', values: [1] }] })]).problems[0]).toMatch(
      /no use_matrix frame/
    );
  });

  it('renders 10,000 instances windowed: a screenful of rows, the worst first, grouped by severity', () => {
    const started = performance.now();
    render(<MatrixPanel {...props([matrix(fleet(10_000))])} />);
    const took = performance.now() - started;
    const rows = screen.getAllByTestId('gregg-matrix-row');
    expect(rows.length).toBeLessThan(60);
    expect(rows[0]).toHaveTextContent('host-00007:9100');
    expect(screen.getByTestId('gregg-matrix-count')).toHaveTextContent('10,000 instances · 324 flagged');
    expect(screen.getByRole('grid')).toHaveAttribute('aria-rowcount', '10000');
    expect(screen.getByText('Critical (1)')).toBeInTheDocument();
    expect(screen.getByText('High (323)')).toBeInTheDocument();
    // Generous: jsdom on a loaded CI machine; the browser test prints the real figure.
    expect(took).toBeLessThan(5000);
  });

  it('describes cells for screen readers and moves with the arrow keys', () => {
    render(<MatrixPanel {...props([matrix(fleet(20))])} />);
    const first = screen.getByRole('gridcell', { name: /host-00007:9100 cpu utilization: 97%/ });
    expect(first).toHaveAccessibleName(
      /thresholds: warning 80%, critical 95%; check cpu.utilization; critical finding/
    );
    expect(first).toHaveAttribute('tabindex', '0');
    act(() => first.focus());
    fireEvent.keyDown(first, { key: 'ArrowRight' });
    expect(document.activeElement).toHaveAccessibleName(/host-00007:9100 cpu saturation/);
    fireEvent.keyDown(document.activeElement!, { key: 'ArrowDown' });
    expect(document.activeElement).toHaveAccessibleName(/host-00005:9100 cpu saturation/);
  });

  it('drills down on click: details, and the dashboard variable set to the instance', () => {
    const partial = jest.spyOn(locationService, 'partial').mockImplementation(() => {});
    render(<MatrixPanel {...props([matrix(fleet(20))])} />);
    fireEvent.click(screen.getByRole('gridcell', { name: /host-00005:9100 memory utilization/ }));
    expect(partial).toHaveBeenCalledWith({ 'var-instance': 'host-00005:9100' }, true);
    expect(screen.getByTestId('gregg-matrix-details')).toHaveTextContent('host-00005:9100 · memory · utilization');
    fireEvent.mouseEnter(screen.getByRole('gridcell', { name: /host-00007:9100 cpu saturation/ }));
    expect(screen.getByRole('tooltip')).toHaveTextContent('host-00007:9100 cpu saturation: 40%');
    partial.mockRestore();
  });

  it('says when there is nothing to show', () => {
    render(<MatrixPanel {...props([matrix([])])} />);
    expect(screen.getByTestId('gregg-matrix-empty')).toBeInTheDocument();
  });
});
