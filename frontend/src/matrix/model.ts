import { DataFrame } from '@grafana/data';

import { Insight, readReport } from '../panel/report/model';
import { Tone, toneRank } from '../shared/severity';

/** The three columns of every resource, in Gregg's order. */
export const SIGNALS = ['utilization', 'saturation', 'errors'] as const;
export type Signal = (typeof SIGNALS)[number];
export const SIGNAL_LETTER: Record<Signal, string> = { utilization: 'U', saturation: 'S', errors: 'E' };

/** Resources in the catalog's order; others follow alphabetically. */
const COMPONENT_ORDER = ['cpu', 'memory', 'disk', 'filesystem', 'network', 'system', 'container'];

/** One row of the `use_matrix` frame (docs/frames.md). */
export interface MatrixCell {
  instance: string;
  component: string;
  signal: Signal;
  check: string;
  value: number | null;
  unit: string;
  level: 'ok' | 'warning' | 'critical';
  /** The worst insight on the cell, `ok` without one. */
  severity: Tone;
  /** What the cell is coloured by: the insight's severity, else the level past a threshold. */
  tone: Tone;
  warning?: number;
  critical?: number;
}

/** One instance: its cells by `component/signal`, and how bad its worst cell is. */
export interface MatrixRow {
  instance: string;
  cells: Map<string, MatrixCell>;
  worst: Tone;
  /** Cells past a threshold or with an insight. */
  flagged: number;
}

export interface Matrix {
  components: string[];
  /** Worst first. */
  rows: MatrixRow[];
  /** Insights of the same response (when the panel also has an insights or report query), by instance. */
  insights: Map<string, Insight[]>;
  problems: string[];
}

export const cellKey = (component: string, signal: string) => `${component}/${signal}`;

function column(frame: DataFrame, name: string): unknown[] | undefined {
  const field = frame.fields.find((f) => f.name === name);
  return field ? Array.from(field.values as ArrayLike<unknown>) : undefined;
}

const SEVERITIES = new Set(['critical', 'high', 'medium', 'low', 'info']);

function toneOf(severity: string, level: string): Tone {
  if (SEVERITIES.has(severity)) {
    return severity as Tone;
  }
  // Past a threshold without an insight (a filter left it out, or it did not hold long enough).
  return level === 'critical' ? 'medium' : level === 'warning' ? 'low' : 'ok';
}

/** Read the `use_matrix` frame (and an `insights` frame beside it, if any). */
export function readMatrix(series: DataFrame[]): Matrix {
  const problems: string[] = [];
  const frame = series.find((f) => f.name === 'use_matrix') ?? series.find((f) => column(f, 'signal') !== undefined);
  const byInstance = new Map<string, MatrixRow>();
  const components = new Set<string>();
  if (!frame) {
    if (series.some((f) => f.length > 0)) {
      problems.push('no use_matrix frame in the data: use the USE matrix query type');
    }
  } else {
    const missing = ['instance', 'component', 'signal'].filter((n) => column(frame, n) === undefined);
    if (missing.length > 0) {
      problems.push(`the use_matrix frame lacks ${missing.map((m) => `\`${m}\``).join(', ')}`);
    }
    const get = (name: string) => column(frame, name) ?? [];
    const [instances, comps, signals, checks, values, units, levels, severities, warnings, criticals] = [
      'instance',
      'component',
      'signal',
      'check',
      'value',
      'unit',
      'level',
      'severity',
      'warning',
      'critical',
    ].map(get);
    for (let i = 0; i < frame.length; i++) {
      const signal = String(signals[i] ?? '') as Signal;
      if (!SIGNALS.includes(signal)) {
        continue;
      }
      const instance = String(instances[i] ?? '');
      const component = String(comps[i] ?? '');
      const level = (
        ['ok', 'warning', 'critical'].includes(String(levels[i])) ? levels[i] : 'ok'
      ) as MatrixCell['level'];
      const severity = String(severities[i] ?? 'ok');
      const num = (v: unknown) => (typeof v === 'number' && Number.isFinite(v) ? v : undefined);
      const cell: MatrixCell = {
        instance,
        component,
        signal,
        check: String(checks[i] ?? ''),
        value: num(values[i]) ?? null,
        unit: String(units[i] ?? ''),
        level,
        severity: SEVERITIES.has(severity) ? (severity as Tone) : 'ok',
        tone: toneOf(severity, level),
        warning: num(warnings[i]),
        critical: num(criticals[i]),
      };
      components.add(component);
      let row = byInstance.get(instance);
      if (!row) {
        row = { instance, cells: new Map(), worst: 'ok', flagged: 0 };
        byInstance.set(instance, row);
      }
      row.cells.set(cellKey(component, signal), cell);
      if (toneRank(cell.tone) < toneRank(row.worst)) {
        row.worst = cell.tone;
      }
      if (cell.tone !== 'ok') {
        row.flagged += 1;
      }
    }
  }
  const rows = Array.from(byInstance.values()).sort(
    (a, b) =>
      toneRank(a.worst) - toneRank(b.worst) ||
      b.flagged - a.flagged ||
      a.instance.localeCompare(b.instance, undefined, { numeric: true })
  );
  const order = (c: string) => {
    const k = COMPONENT_ORDER.indexOf(c);
    return k < 0 ? COMPONENT_ORDER.length : k;
  };
  const insights = new Map<string, Insight[]>();
  if (series.some((f) => f.name === 'insights')) {
    for (const i of readReport(series).insights) {
      if (i.instance) {
        insights.set(i.instance, [...(insights.get(i.instance) ?? []), i]);
      }
    }
  }
  return {
    components: Array.from(components).sort((a, b) => order(a) - order(b) || a.localeCompare(b)),
    rows,
    insights,
    problems,
  };
}

/** The insight that explains a cell: same resource and signal, else the resource's bottleneck, else its worst. */
export function insightFor(matrix: Matrix, cell: MatrixCell): Insight | undefined {
  const same = (matrix.insights.get(cell.instance) ?? []).filter((i) => i.component === cell.component);
  return (
    same.find((i) => i.useSignal === cell.signal) ??
    same.find((i) => i.issueType === 'bottleneck' && cell.signal !== 'errors') ??
    same.find((i) => i.check === cell.check) ??
    same[0]
  );
}
