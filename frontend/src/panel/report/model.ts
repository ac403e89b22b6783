import { DataFrame } from '@grafana/data';

import type { Severity } from '../../generated/backend';

export type { Severity };

/** Urgency of each severity the backend has (a Record: the compiler holds it to the generated type). */
const URGENCY: Record<Severity, number> = { critical: 4, high: 3, medium: 2, low: 1, info: 0 };

/** Severities, most urgent first. */
export const SEVERITIES: readonly Severity[] = (Object.keys(URGENCY) as Severity[]).sort(
  (a, b) => URGENCY[b] - URGENCY[a]
);

/** One insight, as the `insights` frame carries it (docs/frames.md). */
export interface Insight {
  id: string;
  severity: Severity;
  title: string;
  component: string;
  methodology: string;
  issueType: string;
  instance?: string;
  device?: string;
  observation: string;
  evidence: Array<[string, number | null]>;
  rootCause: string;
  immediateAction: string;
  investigationSteps: string[];
  longTermFix: string;
  relatedMetrics: string[];
  confidence: number;
  bookReference?: string;
  check: string;
  useSignal?: string;
  /** End of the analysed window, and when the condition started and last held (ms since epoch). */
  timestamp?: number;
  startedAt?: number;
  endedAt?: number;
}

/** Counts by severity. */
export type Summary = Record<Severity, number> & { total: number };

/** What the panel can show, and what was wrong with the data it was given. */
export interface Report {
  insights: Insight[];
  summary: Summary;
  /** Coverage notes (issue type `coverage`): shown apart from findings. */
  coverage: Insight[];
  problems: string[];
  /** The analysed window (`10m`) from the summary frame, when there is one. */
  window?: string;
}

function column(frame: DataFrame, name: string): unknown[] | undefined {
  const field = frame.fields.find((f) => f.name === name);
  return field ? Array.from(field.values as ArrayLike<unknown>) : undefined;
}

function text(v: unknown): string {
  return v === null || v === undefined ? '' : String(v);
}

function jsonList(raw: unknown, what: string, id: string, problems: string[]): string[] {
  if (raw === null || raw === undefined || raw === '') {
    return [];
  }
  try {
    const parsed = JSON.parse(String(raw));
    if (Array.isArray(parsed)) {
      return parsed.map(String);
    }
  } catch {
    // reported below
  }
  problems.push(`${what} of ${id} is not a JSON list; shown as text`);
  return [String(raw)];
}

function jsonEvidence(raw: unknown, id: string, problems: string[]): Array<[string, number | null]> {
  if (raw === null || raw === undefined || raw === '') {
    return [];
  }
  try {
    const parsed = JSON.parse(String(raw));
    if (parsed && typeof parsed === 'object' && !Array.isArray(parsed)) {
      return Object.entries(parsed).map(([k, v]) => [k, typeof v === 'number' ? v : null]);
    }
  } catch {
    // reported below
  }
  problems.push(`evidence of ${id} is not a JSON object; left out`);
  return [];
}

const REQUIRED = ['severity', 'title'];

/** Read the `insights` frame (from an `insights` or `report` query) into insights and a summary. */
export function readReport(series: DataFrame[]): Report {
  const problems: string[] = [];
  const frame = series.find((f) => f.name === 'insights') ?? series.find((f) => column(f, 'title') !== undefined);
  const all: Insight[] = [];
  if (!frame) {
    if (series.some((f) => f.length > 0)) {
      problems.push('no insights frame in the data: use the report or insights query type');
    }
  } else {
    const missing = REQUIRED.filter((n) => column(frame, n) === undefined);
    if (missing.length > 0) {
      problems.push(`the insights frame lacks ${missing.map((m) => `\`${m}\``).join(', ')}`);
    }
    const get = (name: string) => column(frame, name) ?? [];
    const [ids, severities, titles] = [get('id'), get('severity'), get('title')];
    for (let i = 0; i < frame.length; i++) {
      const id = text(ids[i]) || `row ${i + 1}`;
      const severity = text(severities[i]).toLowerCase();
      all.push({
        id,
        severity: (SEVERITIES as readonly string[]).includes(severity) ? (severity as Severity) : 'info',
        title: text(titles[i]) || '(untitled finding)',
        component: text(get('component')[i]),
        methodology: text(get('methodology')[i]),
        issueType: text(get('issue_type')[i]),
        instance: text(get('instance')[i]) || undefined,
        device: text(get('device')[i]) || undefined,
        observation: text(get('observation')[i]),
        evidence: jsonEvidence(get('evidence')[i], id, problems),
        rootCause: text(get('root_cause')[i]),
        immediateAction: text(get('immediate_action')[i]),
        investigationSteps: jsonList(get('investigation_steps')[i], 'investigation steps', id, problems),
        longTermFix: text(get('long_term_fix')[i]),
        relatedMetrics: jsonList(get('related_metrics')[i], 'related metrics', id, problems),
        confidence: Number(get('confidence')[i] ?? 0) || 0,
        bookReference: text(get('book_reference')[i]) || undefined,
        check: text(get('check')[i]),
        useSignal: text(get('use_signal')[i]) || undefined,
        timestamp: time(get('timestamp')[i]),
        startedAt: time(get('started_at')[i]),
        endedAt: time(get('ended_at')[i]),
      });
    }
  }
  const coverage = all.filter((i) => i.issueType === 'coverage');
  const insights = all.filter((i) => i.issueType !== 'coverage');
  const summary = { critical: 0, high: 0, medium: 0, low: 0, info: 0, total: 0 } as Summary;
  for (const i of all) {
    summary[i.severity] += 1;
    summary.total += 1;
  }
  const summaryFrame = series.find((f) => f.name === 'summary');
  const window = summaryFrame ? text(column(summaryFrame, 'window')?.[0]) || undefined : undefined;
  return { insights, summary, coverage, problems, window };
}

function time(v: unknown): number | undefined {
  const n = typeof v === 'number' ? v : typeof v === 'string' && v !== '' ? Date.parse(v) : NaN;
  return Number.isFinite(n) ? n : undefined;
}

/** A duration such as `10m`, `1h30m` or `90s` in milliseconds. */
export function parseWindow(w: string | undefined): number | undefined {
  const parts = w?.match(/\d+(?:\.\d+)?(ms|s|m|h|d)/g);
  if (!parts) {
    return undefined;
  }
  const unit: Record<string, number> = { ms: 1, s: 1e3, m: 6e4, h: 36e5, d: 864e5 };
  return parts.reduce((sum, p) => {
    const [, n, u] = /^(\d+(?:\.\d+)?)(ms|s|m|h|d)$/.exec(p)!;
    return sum + Number(n) * unit[u];
  }, 0);
}

/** An investigation step split into the command to run and what it is for. */
export interface Step {
  command?: string;
  note: string;
}

/**
 * Steps as the catalog writes them: `cmd   # why`, `cmd: why`, `cmd and cmd2: why` or prose.
 * The command is what comes before `#` or the first `: `, when it starts like a command.
 */
export function splitStep(step: string): Step {
  const hash = /^(.+?)\s+#\s*(.*)$/.exec(step);
  if (hash) {
    return { command: hash[1].trim(), note: hash[2].trim() };
  }
  const prose = /^(is|are|what|which|the|list|look|check|find|if|when|compare)\b/i;
  const colon = /^(.+?):\s+(.*)$/.exec(step);
  if (colon && /^[a-z]/.test(colon[1]) && !prose.test(colon[1])) {
    return { command: colon[1].trim(), note: colon[2].trim() };
  }
  if (/^[a-z][\w.-]*(\s|$)/.test(step) && !prose.test(step) && !/[.?!]\s/.test(step)) {
    return { command: step.trim(), note: '' };
  }
  return { note: step };
}

/** Leave out steps that run the same command as an earlier one (drill-down and catalog both list `mpstat -P ALL 1`). */
export function dedupeSteps(steps: string[]): Step[] {
  const seen = new Set<string>();
  const out: Step[] = [];
  for (const raw of steps) {
    const step = splitStep(raw);
    const key = (step.command ?? step.note).replace(/\s+/g, ' ').toLowerCase();
    if (!seen.has(key)) {
      seen.add(key);
      out.push(step);
    }
  }
  return out;
}

/** An evidence name without its unit suffix, as words: `cpu_utilization_percent` → `cpu utilization`. */
export function evidenceLabel(name: string): string {
  return name.replace(/_(percent|bytes_per_second|bytes|per_second|ms|seconds|hours|ratio)$/, '').replace(/_/g, ' ');
}

/** Unit from an evidence name's suffix, as the backend names them. */
export function formatEvidence(name: string, value: number | null): string {
  if (value === null || !Number.isFinite(value)) {
    return 'n/a';
  }
  const sig = (v: number) => (Math.abs(v) >= 100 ? v.toFixed(0) : Math.abs(v) >= 10 ? v.toFixed(1) : v.toFixed(2));
  const bytes = (v: number) => {
    const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
    let u = 0;
    while (Math.abs(v) >= 1024 && u < units.length - 1) {
      v /= 1024;
      u++;
    }
    return `${sig(v)} ${units[u]}`;
  };
  if (name.endsWith('_percent')) {
    return `${sig(value)}%`;
  }
  if (name.endsWith('_bytes_per_second')) {
    return `${bytes(value)}/s`;
  }
  if (name.endsWith('_bytes')) {
    return bytes(value);
  }
  if (name.endsWith('_per_second')) {
    return `${sig(value)}/s`;
  }
  if (name.endsWith('_ms')) {
    return `${sig(value)} ms`;
  }
  if (name.endsWith('_seconds')) {
    return value < 1 ? `${sig(value * 1000)} ms` : `${sig(value)} s`;
  }
  if (name.endsWith('_count')) {
    return Number.isInteger(value) ? value.toLocaleString('en-US') : sig(value);
  }
  if (name.endsWith('_hours')) {
    return `${sig(value)} h`;
  }
  return sig(value);
}

/** One insight's judged series over the window, from the `report` query's `series` frame. */
export interface InsightSeries {
  /** `[ms since epoch, value]`, in time order. */
  points: Array<[number, number]>;
  warning?: number;
  critical?: number;
}

/** Read the `series` frame (docs/frames.md) into each insight's series; empty when there is none. */
export function readSeries(series: DataFrame[]): Map<string, InsightSeries> {
  const out = new Map<string, InsightSeries>();
  const frame = series.find((f) => f.name === 'series');
  if (!frame) {
    return out;
  }
  const get = (name: string) => column(frame, name) ?? [];
  const [ids, times, values, warnings, criticals] = [
    get('insight_id'),
    get('time'),
    get('value'),
    get('warning'),
    get('critical'),
  ];
  const finite = (v: unknown) => (typeof v === 'number' && Number.isFinite(v) ? v : undefined);
  for (let i = 0; i < frame.length; i++) {
    const id = text(ids[i]);
    const t = time(times[i]);
    const v = finite(values[i]);
    if (!id || t === undefined || v === undefined) {
      continue;
    }
    let entry = out.get(id);
    if (!entry) {
      entry = { points: [], warning: finite(warnings[i]), critical: finite(criticals[i]) };
      out.set(id, entry);
    }
    entry.points.push([t, v]);
  }
  for (const entry of out.values()) {
    entry.points.sort((a, b) => a[0] - b[0]);
  }
  return out;
}
