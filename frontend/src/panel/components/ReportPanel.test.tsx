import React from 'react';
import { fireEvent, render, screen, waitFor } from '@testing-library/react';
import {
  DataFrame,
  EventBusSrv,
  FieldType,
  LoadingState,
  PanelProps,
  dateTime,
  getDefaultTimeRange,
  makeTimeRange,
  toDataFrame,
} from '@grafana/data';

import { ReportOptions, ReportPanel } from './ReportPanel';
import {
  dedupeSteps,
  evidenceLabel,
  formatEvidence,
  parseWindow,
  readReport,
  readSeries,
  splitStep,
} from '../report/model';

function props(series: DataFrame[], state = LoadingState.Done): PanelProps<ReportOptions> {
  const timeRange = getDefaultTimeRange();
  return {
    id: 1,
    data: { series, state, timeRange },
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

interface Row {
  id: string;
  severity: string;
  title: string;
  component?: string;
  instance?: string;
  issue_type?: string;
  evidence?: string;
  investigation_steps?: string;
  related_metrics?: string;
}

/** An insights frame as the backend sends it (docs/frames.md), built by @grafana/data. */
function insights(rows: Row[]): DataFrame {
  const col = (name: keyof Row, fallback = '') => ({
    name,
    type: FieldType.string,
    values: rows.map((r) => (r[name] as string | undefined) ?? fallback),
  });
  return toDataFrame({
    name: 'insights',
    fields: [
      col('id'),
      col('severity'),
      col('title'),
      col('component', 'cpu'),
      col('instance', 'busy-1:9100'),
      col('issue_type', 'bottleneck'),
      { name: 'methodology', type: FieldType.string, values: rows.map(() => 'use_method') },
      { name: 'observation', type: FieldType.string, values: rows.map((r) => `Observed ${r.id}`) },
      col('evidence', '{"cpu_utilization_percent": 97.04, "written_bytes_per_second": 3145728}'),
      { name: 'root_cause', type: FieldType.string, values: rows.map(() => 'Demand exceeds supply.') },
      { name: 'immediate_action', type: FieldType.string, values: rows.map(() => 'Find the consumers.') },
      col('investigation_steps', '["mpstat -P ALL 1", "pidstat 1"]'),
      { name: 'long_term_fix', type: FieldType.string, values: rows.map(() => 'Add capacity.') },
      col('related_metrics', '["rate(node_cpu_seconds_total[1m])"]'),
      { name: 'confidence', type: FieldType.number, values: rows.map(() => 95) },
      { name: 'book_reference', type: FieldType.string, values: rows.map(() => 'Systems Performance 2nd ed., Ch. 6') },
      { name: 'check', type: FieldType.string, values: rows.map(() => 'cpu.bottleneck') },
    ],
  });
}

describe('ReportPanel', () => {
  it('shows the summary and cards grouped critical first, with evidence, steps and Explore links', () => {
    const frame = insights([
      { id: 'a', severity: 'medium', title: 'CPU busy on warm-1', instance: 'warm-1:9100' },
      { id: 'b', severity: 'critical', title: 'CPU bottleneck on busy-1' },
      { id: 'c', severity: 'info', title: 'processes collector off', issue_type: 'coverage' },
    ]);
    render(<ReportPanel {...props([frame])} />);
    const summary = screen.getByTestId('gregg-summary');
    expect(summary).toHaveTextContent('Critical 1');
    expect(summary).toHaveTextContent('Total 3');
    expect(summary.querySelector('[role="img"]')?.getAttribute('aria-label')).toContain('1 critical, 0 high, 1 medium');
    const cards = screen.getAllByTestId('gregg-card');
    expect(cards[0]).toHaveTextContent('CPU bottleneck on busy-1');
    expect(cards[1]).toHaveTextContent('CPU busy on warm-1');
    // Critical cards open by default: evidence with units, numbered steps, a link to Explore.
    expect(cards[0]).toHaveTextContent('97.0%');
    expect(cards[0]).toHaveTextContent('3.00 MiB/s');
    expect(cards[0].querySelectorAll('ol li')).toHaveLength(2);
    expect(cards[0].querySelectorAll('ol li code')[0]).toHaveTextContent('mpstat -P ALL 1');
    expect(screen.getAllByRole('button', { name: 'Copy command' }).length).toBeGreaterThanOrEqual(2);
    const link = cards[0].querySelector('a[href^="/explore"]');
    expect(link?.getAttribute('href')).toMatch(/^\/explore\?schemaVersion=1&panes=/);
    expect(link).toHaveAccessibleName(/Open in Explore/);
    // Medium cards start collapsed; a click opens them.
    expect(cards[1]).not.toHaveTextContent('Demand exceeds supply.');
    fireEvent.click(screen.getByRole('button', { expanded: false, name: /CPU busy on warm-1/ }));
    expect(screen.getAllByTestId('gregg-card')[1]).toHaveTextContent('Demand exceeds supply.');
    // Coverage is listed apart.
    expect(screen.getByTestId('gregg-coverage')).toHaveTextContent('processes collector off');
  });

  it("opens Explore over the panel's time range, in the configured data source", () => {
    const from = Date.UTC(2026, 11, 2, 9, 0);
    const to = Date.UTC(2026, 11, 2, 10, 0);
    const timeRange = makeTimeRange(dateTime(from), dateTime(to));
    const base = props([insights([{ id: 'b', severity: 'critical', title: 'CPU bottleneck on busy-1' }])]);
    render(
      <ReportPanel
        {...base}
        timeRange={timeRange}
        data={{ ...base.data, timeRange }}
        options={{ exploreDatasource: 'prom-uid' }}
      />
    );
    const href = screen.getByRole('link', { name: /Open in Explore/ }).getAttribute('href') ?? '';
    const panes = JSON.parse(new URL(href, 'http://grafana.example').searchParams.get('panes') ?? '{}');
    const [pane] = Object.values(panes) as Array<{
      range: unknown;
      datasource: string;
      queries: Array<{ expr: string }>;
    }>;
    expect(pane.range).toEqual({ from: String(from), to: String(to) });
    expect(pane.datasource).toBe('prom-uid');
    expect(pane.queries[0].expr).toBe('rate(node_cpu_seconds_total[1m])');
  });

  it('filters by severity, component and instance', async () => {
    const frame = insights([
      { id: 'a', severity: 'low', title: 'low one', instance: 'x:9100' },
      { id: 'b', severity: 'high', title: 'high one', instance: 'y:9100', component: 'disk' },
    ]);
    render(<ReportPanel {...props([frame])} />);
    // Combobox's option list is virtualised (nothing is laid out in jsdom): type, then pick the first match.
    const choose = async (label: string, option: string) => {
      const input = screen.getByRole('combobox', { name: label });
      fireEvent.change(input, { target: { value: option } });
      fireEvent.keyDown(input, { key: 'ArrowDown' });
      fireEvent.keyDown(input, { key: 'Enter' });
      await waitFor(() => expect(input).toHaveValue(option), { timeout: 5000 });
    };
    await choose('Minimum severity', '≥ High');
    expect(screen.getAllByTestId('gregg-card')).toHaveLength(1);
    await choose('Minimum severity', '≥ Info');
    await choose('Component', 'disk');
    expect(screen.getAllByTestId('gregg-card')).toHaveLength(1);
    await choose('Component', 'All resources');
    fireEvent.change(screen.getByLabelText('Instance'), { target: { value: 'x:' } });
    expect(screen.getByText(/low one/)).toBeInTheDocument();
    expect(screen.queryByText(/high one/)).toBeNull();
    // Four Combobox round trips: slow on a loaded 2-core machine, not a hang.
  }, 30_000);

  it('shows only the instances of the dashboard variable', () => {
    const frame = insights([
      { id: 'a', severity: 'low', title: 'on web-1', instance: 'web-1:9100' },
      { id: 'b', severity: 'high', title: 'on web-10', instance: 'web-10:9100' },
    ]);
    const p = props([frame]);
    p.replaceVariables = (s: string) => (s === '$instance' ? 'web-1:9100' : s);
    render(<ReportPanel {...p} />);
    expect(screen.getAllByTestId('gregg-card')).toHaveLength(1);
    expect(screen.getByText(/on web-1$/)).toBeInTheDocument();
    expect(screen.getByTestId('gregg-variable-filter')).toHaveTextContent('instance =~ web-1:9100');
  });

  it('leaves out empty evidence and repeated steps, and shows where the condition held', () => {
    const frame = insights([
      {
        id: 'a',
        severity: 'critical',
        title: 'busy',
        evidence: '{"cpu_utilization_percent": 97, "robust_z_ratio": null}',
        investigation_steps:
          '["mpstat -P ALL 1   # is the load on a few CPUs", "pidstat 1", "mpstat -P ALL 1: are all CPUs busy, or one?"]',
      },
    ]);
    const summary = toDataFrame({
      name: 'summary',
      fields: [{ name: 'window', type: FieldType.string, values: ['10m'] }],
    });
    frame.fields.push(
      { name: 'timestamp', type: FieldType.time, values: [600_000], config: {} },
      { name: 'started_at', type: FieldType.time, values: [60_000], config: {} },
      { name: 'ended_at', type: FieldType.time, values: [600_000], config: {} }
    );
    render(<ReportPanel {...props([summary, frame])} />);
    const card = screen.getByTestId('gregg-card');
    expect(card).toHaveTextContent('cpu utilization97.0%');
    expect(card).not.toHaveTextContent('n/a');
    expect(card).not.toHaveTextContent('robust z');
    expect(card.querySelectorAll('ol li')).toHaveLength(2);
    expect(screen.getByRole('img', { name: /Held 9 min of the 10 min window/ })).toBeInTheDocument();
  });

  it('draws the series of an insight with its threshold and held span, and nothing without points', () => {
    const frame = insights([
      { id: 'a', severity: 'critical', title: 'cpu busy' },
      { id: 'b', severity: 'critical', title: 'disk busy' },
    ]);
    frame.fields.push(
      { name: 'started_at', type: FieldType.time, values: [660_000, null], config: {} },
      { name: 'ended_at', type: FieldType.time, values: [720_000, null], config: {} }
    );
    const series = toDataFrame({
      name: 'series',
      fields: [
        { name: 'insight_id', type: FieldType.string, values: ['a', 'a', 'a'] },
        { name: 'time', type: FieldType.time, values: [600_000, 660_000, 720_000] },
        { name: 'value', type: FieldType.number, values: [70, 93, 90] },
        { name: 'warning', type: FieldType.number, values: [80, 80, 80] },
        { name: 'critical', type: FieldType.number, values: [95, 95, 95] },
      ],
    });
    render(<ReportPanel {...props([frame, series])} />);
    const sparklines = screen.getAllByTestId('gregg-sparkline');
    expect(sparklines).toHaveLength(1);
    const svg = sparklines[0];
    expect(svg.closest('[data-testid="gregg-card"]')).toHaveAttribute('aria-label', 'critical: cpu busy');
    expect(svg).toHaveAttribute(
      'aria-label',
      'cpu busy: 93.0 at peak, warning at 80.0, critical at 95.0, held 00:11–00:12 UTC'
    );
    expect(svg.querySelector('path')?.getAttribute('d')).toMatch(/^M[\d.]+,[\d.]+ L[\d.]+,[\d.]+ L[\d.]+,[\d.]+$/);
    const warning = svg.querySelector('[data-testid="gregg-sparkline-warning"]');
    expect(warning).toHaveAttribute('stroke-dasharray', '3 2');
    expect(svg.querySelector('[data-testid="gregg-sparkline-critical"]')).not.toBeNull();
    expect(svg.querySelector('[data-testid="gregg-sparkline-held"]')).not.toBeNull();
  });

  it('reads the series frame per insight and skips rows without a value', () => {
    const series = toDataFrame({
      name: 'series',
      fields: [
        { name: 'insight_id', type: FieldType.string, values: ['a', 'a', 'b'] },
        { name: 'time', type: FieldType.time, values: [2, 1, 1] },
        { name: 'value', type: FieldType.number, values: [5, 4, null] },
        { name: 'warning', type: FieldType.number, values: [80, 80, 80] },
        { name: 'critical', type: FieldType.number, values: [95, 95, 95] },
      ],
    });
    const read = readSeries([series]);
    expect(read.get('a')).toEqual({
      points: [
        [1, 4],
        [2, 5],
      ],
      warning: 80,
      critical: 95,
    });
    expect(read.has('b')).toBe(false);
    expect(readSeries([]).size).toBe(0);
  });

  it('pages hundreds of insights', () => {
    const rows = Array.from({ length: 300 }, (_, k) => ({ id: `i${k}`, severity: 'low', title: `finding ${k}` }));
    render(<ReportPanel {...props([insights(rows)])} />);
    expect(screen.getAllByTestId('gregg-card')).toHaveLength(50);
    fireEvent.click(screen.getByText(/Show more/));
    expect(screen.getAllByTestId('gregg-card')).toHaveLength(100);
    fireEvent.click(screen.getByText('Show all'));
    expect(screen.getAllByTestId('gregg-card')).toHaveLength(300);
  });

  it('says the system is healthy when there is nothing to show, and lists coverage gaps', () => {
    render(
      <ReportPanel
        {...props([insights([{ id: 'c', severity: 'info', title: 'mdadm failing', issue_type: 'coverage' }])])}
      />
    );
    expect(screen.getByTestId('gregg-report-empty')).toHaveTextContent('No findings');
    expect(screen.getByTestId('gregg-coverage')).toHaveTextContent('mdadm failing');
  });

  it('renders what it can from malformed frames and says what is wrong', () => {
    const bad = insights([
      { id: 'a', severity: 'high', title: 'ok card', evidence: '{not json', investigation_steps: 'step one' },
    ]);
    render(<ReportPanel {...props([bad])} />);
    expect(screen.getByText(/ok card/)).toBeInTheDocument();
    expect(screen.getByTestId('gregg-problems')).toHaveTextContent('evidence of a is not a JSON object');
    expect(screen.getByTestId('gregg-problems')).toHaveTextContent('investigation steps of a is not a JSON list');

    const noTitle = toDataFrame({
      name: 'insights',
      fields: [{ name: 'severity', type: FieldType.string, values: ['high'] }],
    });
    const { container } = render(<ReportPanel {...props([noTitle])} />);
    expect(container).toHaveTextContent('the insights frame lacks `title`');
  });

  it('shows loading and error states', () => {
    const { unmount } = render(<ReportPanel {...props([], LoadingState.Loading)} />);
    expect(screen.getByText(/Analysing/)).toBeInTheDocument();
    unmount();
    const p = props([]);
    p.data = { ...p.data, state: LoadingState.Error, errors: [{ message: 'Prometheus is unreachable' }] };
    render(<ReportPanel {...p} />);
    expect(screen.getByText('Prometheus is unreachable')).toBeInTheDocument();
  });
});

describe('report model', () => {
  it('splits steps into commands and notes, and drops repeated commands', () => {
    expect(splitStep('mpstat -P ALL 1   # is the load on a few CPUs')).toEqual({
      command: 'mpstat -P ALL 1',
      note: 'is the load on a few CPUs',
    });
    expect(splitStep('lsof +L1: deleted files still open')).toEqual({
      command: 'lsof +L1',
      note: 'deleted files still open',
    });
    expect(splitStep('List them in Prometheus: group by (instance) (up)').command).toBeUndefined();
    expect(dedupeSteps(['mpstat -P ALL 1   # a', 'pidstat 1', 'mpstat -P ALL 1: b'])).toHaveLength(2);
    expect(parseWindow('1h30m')).toBe(5_400_000);
    expect(evidenceLabel('written_bytes_per_second')).toBe('written');
  });

  it('formats evidence by unit suffix', () => {
    expect(formatEvidence('held_seconds', 600)).toBe('600 s');
    expect(formatEvidence('p99_seconds', 0.0417)).toBe('41.7 ms');
    expect(formatEvidence('queue_ms', 2)).toBe('2.00 ms');
    expect(formatEvidence('missing', null)).toBe('n/a');
    expect(formatEvidence('peers_count', 999)).toBe('999');
    expect(evidenceLabel('cpu_count')).toBe('cpu count');
  });

  it('counts every severity, coverage included, in the summary', () => {
    const r = readReport([
      insights([
        { id: 'a', severity: 'critical', title: 't' },
        { id: 'b', severity: 'bogus', title: 'u' },
      ]),
    ]);
    expect(r.summary).toMatchObject({ critical: 1, info: 1, total: 2 });
  });
});
