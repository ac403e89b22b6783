import React, { useEffect, useState } from 'react';
import { lastValueFrom } from 'rxjs';
import { AppRootProps, DataFrame, DataSourceInstanceSettings, LoadingState } from '@grafana/data';
import {
  BackendDataSourceResponse,
  config,
  getBackendSrv,
  getDataSourceSrv,
  toDataQueryResponse,
} from '@grafana/runtime';
import { Button, Combobox, LinkButton, Stack, TextLink } from '@grafana/ui';

import { ReportView } from '../panel/components/ReportView';

/** The data source type whose reports this page shows. */
const DATASOURCE_TYPE = 'gregg-insights-datasource';

/** Windows offered for the fleet report; the rate window of every check follows it. */
const WINDOWS = ['5m', '15m', '1h', '6h'].map((w) => ({ label: `Last ${w}`, value: w }));

/** One report request's outcome. */
interface Loaded {
  series: DataFrame[];
  state: LoadingState;
  error?: string;
}

/**
 * The fleet report of one Gregg Insights data source over a recent window, through Grafana's
 * `/api/ds/query` like any panel query: so it honours the data source's permissions and caching.
 */
async function fetchReport(ds: DataSourceInstanceSettings, span: string): Promise<Loaded> {
  try {
    const response = await lastValueFrom(
      getBackendSrv().fetch<BackendDataSourceResponse>({
        url: '/api/ds/query',
        method: 'POST',
        data: {
          from: `now-${span}`,
          to: 'now',
          queries: [{ refId: 'report', datasource: { type: ds.type, uid: ds.uid }, queryType: 'report', window: span }],
        },
      })
    );
    const parsed = toDataQueryResponse(response);
    return {
      series: parsed.data as DataFrame[],
      state: parsed.errors?.length ? LoadingState.Error : LoadingState.Done,
      error: parsed.errors?.[0]?.message,
    };
  } catch (e) {
    // A failed request comes back as a FetchError: per-query errors in data.results, or one message.
    const failure = e as { status?: number; statusText?: string; data?: { message?: string; results?: unknown } };
    const perQuery = failure.data?.results ? toDataQueryResponse(failure as never).errors?.[0]?.message : undefined;
    const message =
      perQuery ?? failure.data?.message ?? `${failure.status ?? ''} ${failure.statusText ?? String(e)}`.trim();
    return { series: [], state: LoadingState.Error, error: message };
  }
}

/**
 * The app's Insights page: the fleet report of a Gregg Insights data source, with the same cards as
 * the report panel. Without a data source it says how to add one.
 */
export function App(_props: AppRootProps) {
  const [sources] = useState(() => getDataSourceSrv().getList({ pluginId: DATASOURCE_TYPE }));
  const [uid, setUid] = useState<string | undefined>(sources[0]?.uid);
  const [span, setSpan] = useState('5m');
  const [generation, setGeneration] = useState(0);
  const [loaded, setLoaded] = useState<Loaded & { key?: string }>({ series: [], state: LoadingState.NotStarted });

  const ds = sources.find((s) => s.uid === uid);
  const key = `${uid}|${span}|${generation}`;
  useEffect(() => {
    if (!ds) {
      return;
    }
    let live = true;
    fetchReport(ds, span).then((result) => live && setLoaded({ ...result, key }));
    return () => {
      live = false;
    };
  }, [ds, span, key]);
  // Until the answer for the current choice arrives, the previous one is not shown as current.
  const current: Loaded = loaded.key === key ? loaded : { series: [], state: LoadingState.Loading };

  if (sources.length === 0) {
    return (
      <div data-testid="gregg-insights-app">
        <h2>Gregg Insights</h2>
        <p>
          Brendan Gregg&apos;s USE method (utilization, saturation and errors for every resource), workload
          characterization, drill-down and latency analysis over the Prometheus and node_exporter metrics you already
          keep.
        </p>
        <ol>
          <li>
            Add a <strong>Gregg Insights</strong> data source pointing at your Prometheus and press{' '}
            <em>Save &amp; test</em>.
          </li>
          <li>Come back here for the fleet report, or open the USE Method dashboard this app ships.</li>
          <li>
            Query it from any panel, or use the <strong>Gregg Insights Report</strong> panel.
          </li>
        </ol>
        <LinkButton href={`${config.appSubUrl}/connections/datasources/new`} icon="plus">
          Add a data source
        </LinkButton>
      </div>
    );
  }

  return (
    <div data-testid="gregg-insights-app">
      <Stack direction="row" gap={1} alignItems="center" wrap="wrap">
        <span id="gregg-app-source">Data source</span>
        <div style={{ minWidth: 240 }}>
          <Combobox
            aria-labelledby="gregg-app-source"
            options={sources.map((s) => ({ label: s.name, value: s.uid }))}
            value={uid}
            onChange={(o) => setUid(o.value)}
          />
        </div>
        <span id="gregg-app-window">Window</span>
        <div style={{ minWidth: 140 }}>
          <Combobox
            aria-labelledby="gregg-app-window"
            options={WINDOWS}
            value={span}
            onChange={(o) => setSpan(o.value)}
          />
        </div>
        <Button
          icon="sync"
          variant="secondary"
          onClick={() => setGeneration(generation + 1)}
          disabled={current.state === LoadingState.Loading}
        >
          Analyse again
        </Button>
        <TextLink href="https://www.brendangregg.com/usemethod.html" external>
          The USE Method
        </TextLink>
      </Stack>
      <ReportView
        series={current.series}
        state={current.state}
        error={current.error}
        exploreRange={{ from: `now-${span}`, to: 'now' }}
      />
    </div>
  );
}
