import { RawTimeRange, TimeRange, isDateTime } from '@grafana/data';

/**
 * A time range as Explore's URL keeps it (Grafana's `toURLRange`): a relative bound stays as
 * written (`now-6h`), an absolute one becomes milliseconds since the epoch, as a string.
 */
export interface ExploreRange {
  from: string;
  to: string;
}

/** What Explore opens on when the panel gives no range: the last hour, Explore's own default. */
export const DEFAULT_EXPLORE_RANGE: ExploreRange = { from: 'now-1h', to: 'now' };

/** One bound of a range as the URL writes it. */
function urlBound(bound: RawTimeRange['from'] | number | undefined): string | undefined {
  if (isDateTime(bound)) {
    return bound.valueOf().toString();
  }
  if (typeof bound === 'number' && Number.isFinite(bound)) {
    return String(bound);
  }
  return typeof bound === 'string' && bound !== '' ? bound : undefined;
}

/**
 * The range a panel shows (its props' or its query's `TimeRange`: the raw range as the user
 * picked it, so a relative dashboard range opens Explore relative too), as Explore's URL writes
 * it; the default range when there is none.
 */
export function exploreRange(range?: TimeRange | RawTimeRange): ExploreRange {
  const raw: RawTimeRange | undefined = range && 'raw' in range ? range.raw : range;
  const from = urlBound(raw?.from);
  const to = urlBound(raw?.to);
  return from && to ? { from, to } : DEFAULT_EXPLORE_RANGE;
}

/** The id of the one Explore pane the link opens (any string; Grafana makes up its own). */
const PANE = 'gregg';

/**
 * A link to Explore running `expr` over `range`, in the given Prometheus data source (Explore's
 * last-used or default one when none), in the URL format of Grafana 10 and later (`schemaVersion=1`
 * and one pane in `panes`, which the plugin's Grafana ≥ 12.3 reads as is). `subUrl` is Grafana's
 * `appSubUrl`, for Grafana served under a path.
 */
export function exploreLink(expr: string, datasource?: string, range = DEFAULT_EXPLORE_RANGE, subUrl = ''): string {
  const query = datasource
    ? { refId: 'A', expr, datasource: { type: 'prometheus', uid: datasource } }
    : { refId: 'A', expr };
  const pane = { datasource, queries: [query], range };
  const panes = encodeURIComponent(JSON.stringify({ [PANE]: pane }));
  return `${subUrl}/explore?schemaVersion=1&panes=${panes}`;
}
