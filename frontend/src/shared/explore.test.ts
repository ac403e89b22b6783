import { dateTime, getDefaultTimeRange, makeTimeRange } from '@grafana/data';

import { DEFAULT_EXPLORE_RANGE, exploreLink, exploreRange } from './explore';

/** The one pane of an Explore link, read back as Grafana's Explore reads its URL. */
function pane(link: string) {
  const url = new URL(link, 'http://grafana.example');
  expect(url.pathname.endsWith('/explore')).toBe(true);
  expect(url.searchParams.get('schemaVersion')).toBe('1');
  expect(url.searchParams.has('left')).toBe(false);
  const panes = JSON.parse(url.searchParams.get('panes') ?? '{}');
  const ids = Object.keys(panes);
  expect(ids).toHaveLength(1);
  return { path: url.pathname, ...panes[ids[0]] };
}

describe('exploreLink', () => {
  it('opens the query over the given range in the given data source', () => {
    const range = { from: '1700000000000', to: '1700003600000' };
    const p = pane(exploreLink('rate(node_cpu_seconds_total{instance="db-1:9100"}[1m])', 'prom', range));
    expect(p.range).toEqual(range);
    expect(p.datasource).toBe('prom');
    expect(p.queries).toEqual([
      {
        refId: 'A',
        expr: 'rate(node_cpu_seconds_total{instance="db-1:9100"}[1m])',
        datasource: { type: 'prometheus', uid: 'prom' },
      },
    ]);
  });

  it("leaves the data source to Explore when none is set, and defaults to Explore's last hour", () => {
    const p = pane(exploreLink('up'));
    expect(p.datasource).toBeUndefined();
    expect(p.queries).toEqual([{ refId: 'A', expr: 'up' }]);
    expect(p.range).toEqual(DEFAULT_EXPLORE_RANGE);
  });

  it("starts under Grafana's sub-path", () => {
    expect(pane(exploreLink('up', undefined, DEFAULT_EXPLORE_RANGE, '/grafana')).path).toBe('/grafana/explore');
  });
});

describe('exploreRange', () => {
  it('writes an absolute range as milliseconds since the epoch', () => {
    const from = dateTime(Date.UTC(2026, 11, 2, 13, 0));
    const to = dateTime(Date.UTC(2026, 11, 2, 14, 30));
    expect(exploreRange(makeTimeRange(from, to))).toEqual({
      from: String(Date.UTC(2026, 11, 2, 13, 0)),
      to: String(Date.UTC(2026, 11, 2, 14, 30)),
    });
  });

  it('keeps a relative range relative, as the user picked it', () => {
    const relative = { ...getDefaultTimeRange(), raw: { from: 'now-6h', to: 'now' } };
    expect(exploreRange(relative)).toEqual({ from: 'now-6h', to: 'now' });
    expect(exploreRange({ from: 'now-24h', to: 'now-1h' })).toEqual({ from: 'now-24h', to: 'now-1h' });
  });

  it('falls back to the default range without one', () => {
    expect(exploreRange(undefined)).toEqual(DEFAULT_EXPLORE_RANGE);
    expect(exploreRange({ from: '', to: 'now' })).toEqual(DEFAULT_EXPLORE_RANGE);
  });
});
