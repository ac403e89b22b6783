import { GrafanaTheme2 } from '@grafana/data';
import type { BadgeColor, IconName } from '@grafana/ui';

import type { Severity } from '../generated/backend';

/** A matrix cell's or a finding's colour key: a severity, `ok`, or `none` (no data). */
export type Tone = Severity | 'ok' | 'none';

/** Most urgent first. */
export const TONES: readonly Tone[] = ['critical', 'high', 'medium', 'low', 'info', 'ok', 'none'];

/** Rank: 0 is the most urgent. */
export const toneRank = (t: Tone) => TONES.indexOf(t);

/** How each tone is named and marked. The glyph and the lightness ramp carry the meaning as well as
 * the hue, so nothing depends on telling red from green (no green is used at all). */
export const TONE_INFO: Record<Tone, { label: string; glyph: string; badge: BadgeColor; icon: IconName }> = {
  critical: { label: 'Critical', glyph: '■', badge: 'red', icon: 'exclamation-circle' },
  high: { label: 'High', glyph: '▲', badge: 'orange', icon: 'exclamation-triangle' },
  medium: { label: 'Medium', glyph: '◆', badge: 'orange', icon: 'exclamation-triangle' },
  low: { label: 'Low', glyph: '●', badge: 'blue', icon: 'info-circle' },
  info: { label: 'Info', glyph: '○', badge: 'darkgrey', icon: 'info-circle' },
  ok: { label: 'OK', glyph: '·', badge: 'darkgrey', icon: 'check' },
  none: { label: 'No data', glyph: '', badge: 'darkgrey', icon: 'question-circle' },
};

/**
 * Fill colours from the theme's visualization palette: a ramp that gets both warmer and, in each
 * theme, more contrasting with the background as it gets more urgent (blue → yellow → orange →
 * dark red), which stays ordered for the common colour-vision deficiencies. `ok` is a quiet tint,
 * `none` the background.
 */
export function toneColours(theme: GrafanaTheme2): Record<Tone, { fill: string; text: string }> {
  const v = (name: string) => theme.visualization.getColorByName(name);
  const on = (c: string) => theme.colors.getContrastText(c);
  const fills: Record<Tone, string> = {
    critical: v(theme.isDark ? 'red' : 'dark-red'),
    high: v('orange'),
    medium: v(theme.isDark ? 'yellow' : 'semi-dark-yellow'),
    low: v(theme.isDark ? 'blue' : 'semi-dark-blue'),
    info: v(theme.isDark ? 'purple' : 'semi-dark-purple'),
    ok: theme.colors.action.selected,
    none: theme.colors.background.canvas,
  };
  return Object.fromEntries(Object.entries(fills).map(([k, fill]) => [k, { fill, text: on(fill) }])) as Record<
    Tone,
    { fill: string; text: string }
  >;
}
