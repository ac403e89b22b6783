import React from 'react';
import { useTheme2 } from '@grafana/ui';

import { Insight, InsightSeries } from '../report/model';
import { toneColours } from '../../shared/severity';

const WIDTH = 160;
const HEIGHT = 36;
const PAD = 2;

function clock(ms: number): string {
  const d = new Date(ms);
  return `${String(d.getUTCHours()).padStart(2, '0')}:${String(d.getUTCMinutes()).padStart(2, '0')}`;
}

function round(v: number): string {
  return Math.abs(v) >= 100 ? v.toFixed(0) : Math.abs(v) >= 10 ? v.toFixed(1) : v.toFixed(2);
}

/** A threshold across the sparkline, dashed. */
function ThresholdLine({ name, y, colour }: { name: 'warning' | 'critical'; y: number; colour: string }) {
  return (
    <line
      data-testid={`gregg-sparkline-${name}`}
      x1={PAD}
      x2={WIDTH - PAD}
      y1={y}
      y2={y}
      stroke={colour}
      strokeDasharray="3 2"
      strokeWidth={1}
    />
  );
}

/**
 * The insight's judged series over the window as a small line: the warning (and critical)
 * threshold dashed, the span the condition held shaded. Nothing without at least two points.
 */
export function Sparkline({ insight, series }: { insight: Insight; series?: InsightSeries }) {
  const theme = useTheme2();
  const points = series?.points ?? [];
  if (points.length < 2) {
    return null;
  }
  const t0 = points[0][0];
  const t1 = points[points.length - 1][0];
  const thresholds = [series?.warning, series?.critical].filter((v): v is number => v !== undefined);
  const values = points.map((p) => p[1]);
  const lo = Math.min(...values, ...thresholds);
  const hi = Math.max(...values, ...thresholds);
  const span = hi - lo || 1;
  const x = (t: number) => PAD + ((t - t0) / (t1 - t0 || 1)) * (WIDTH - 2 * PAD);
  const y = (v: number) => PAD + (1 - (v - lo) / span) * (HEIGHT - 2 * PAD);
  const d = points.map(([t, v], i) => `${i === 0 ? 'M' : 'L'}${x(t).toFixed(1)},${y(v).toFixed(1)}`).join(' ');
  const colours = toneColours(theme);
  const peak = Math.max(...values);
  const trough = Math.min(...values);
  // The worst point: the highest unless the thresholds sit below the line (a "below" check).
  const below = series?.warning !== undefined && series.critical !== undefined && series.critical < series.warning;
  const worst = below ? trough : peak;
  const held =
    insight.startedAt !== undefined && insight.endedAt !== undefined
      ? { from: Math.max(t0, insight.startedAt), to: Math.min(t1, insight.endedAt) }
      : undefined;
  const parts = [`${insight.title || insight.check}: ${round(worst)} at ${below ? 'lowest' : 'peak'}`];
  if (series?.warning !== undefined) {
    parts.push(`warning at ${round(series.warning)}`);
  }
  if (series?.critical !== undefined) {
    parts.push(`critical at ${round(series.critical)}`);
  }
  if (held) {
    parts.push(`held ${clock(held.from)}–${clock(held.to)} UTC`);
  }
  return (
    <svg width={WIDTH} height={HEIGHT} role="img" aria-label={parts.join(', ')} data-testid="gregg-sparkline">
      {held && held.to >= held.from && (
        <rect
          data-testid="gregg-sparkline-held"
          x={x(held.from)}
          y={0}
          width={Math.max(2, x(held.to) - x(held.from))}
          height={HEIGHT}
          fill={colours[insight.severity].fill}
          opacity={0.2}
        />
      )}
      {series?.warning !== undefined && (
        <ThresholdLine name="warning" y={y(series.warning)} colour={theme.colors.warning.main} />
      )}
      {series?.critical !== undefined && (
        <ThresholdLine name="critical" y={y(series.critical)} colour={theme.colors.error.main} />
      )}
      <path d={d} fill="none" stroke={theme.colors.text.primary} strokeWidth={1.5} data-testid="gregg-sparkline-line" />
    </svg>
  );
}
