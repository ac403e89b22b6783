/**
 * A page that mounts the *built* plugin modules (dist/panel/module.js, dist/datasource/module.js)
 * the way Grafana loads them: AMD `define([...externals], factory)`, with the externals (React,
 * @grafana/data, @grafana/ui, @grafana/runtime, @emotion/css) provided by this bundle, inside
 * Grafana's theme. `?view=panel&theme=light|dark&frames=URL` renders the report panel from a
 * plugin response; `?view=editors` renders the data source's config and query editors;
 * `?view=app` renders the app's Insights page, with Grafana's `/api/ds/query` answered by the same
 * plugin response.
 * `window.harness` reports `{ ready, error }` for the browser test.
 */
import * as React from 'react';
import * as ReactDOM from 'react-dom';
import * as ReactDOMClient from 'react-dom/client';
import * as jsxRuntime from 'react/jsx-runtime';
import * as data from '@grafana/data';
import * as ui from '@grafana/ui';
import * as runtime from '@grafana/runtime';
import * as emotionCss from '@emotion/css';
import * as rxjs from 'rxjs';

type Harness = {
  ready: boolean;
  error?: string;
  requests?: unknown[];
  renderStart?: number;
  committedAt?: number;
};
const w = window as unknown as { harness: Harness; define?: unknown };
w.harness = { ready: false };

const externals: Record<string, unknown> = {
  react: React,
  'react-dom': ReactDOM,
  'react/jsx-runtime': jsxRuntime,
  '@grafana/data': data,
  '@grafana/ui': ui,
  '@grafana/runtime': runtime,
  '@emotion/css': emotionCss,
  rxjs,
};

/** Load one AMD module built by the plugin's webpack config and return its exports. */
function loadAmd(url: string): Promise<Record<string, unknown>> {
  return new Promise((resolve, reject) => {
    const define = (deps: string[], factory: (...args: unknown[]) => Record<string, unknown>) => {
      try {
        const args = deps.map((d) => {
          if (d === 'module') {
            return { uri: url };
          }
          if (!(d in externals)) {
            throw new Error(`${url} needs ${d}, which Grafana would provide but the harness does not`);
          }
          return externals[d];
        });
        resolve(factory(...args));
      } catch (e) {
        reject(e);
      }
    };
    (define as unknown as { amd: boolean }).amd = true;
    w.define = define;
    const script = document.createElement('script');
    script.src = url;
    script.onerror = () => reject(new Error(`cannot load ${url}`));
    document.head.appendChild(script);
  });
}

/** A panel plugin's component, from its built module. */
async function panelOf(url: string) {
  const mod = await loadAmd(url);
  return (mod.plugin as data.PanelPlugin).panel as React.ComponentType<data.PanelProps>;
}

function panelProps(
  series: data.DataFrame[],
  width: number,
  height: number,
  title: string,
  options: object
): data.PanelProps {
  const timeRange = data.getDefaultTimeRange();
  return {
    id: 1,
    data: { series, state: data.LoadingState.Done, timeRange },
    timeRange,
    timeZone: 'utc',
    options,
    transparent: false,
    width,
    height,
    fieldConfig: { defaults: {}, overrides: [] },
    renderCounter: 0,
    title,
    eventBus: new data.EventBusSrv(),
    onOptionsChange: () => {},
    onFieldConfigChange: () => {},
    replaceVariables: (s: string) => s,
    onChangeTimeRange: () => {},
  };
}

/**
 * `replicate=N`: the report's findings repeated to N rows (ids and instances made unique), for the
 * render-time figure of a report with N insights; every other frame as it came.
 */
function replicateInsights(series: data.DataFrame[], n: number): data.DataFrame[] {
  const insights = series.find((f) => f.name === 'insights');
  if (!n || !insights || insights.length === 0) {
    return series;
  }
  // Findings only (coverage notes are listed apart), repeated with unique ids and instances.
  const kinds = insights.fields.find((f) => f.name === 'issue_type')?.values ?? [];
  const rows = Array.from({ length: insights.length }, (_, k) => k).filter((k) => kinds[k] !== 'coverage');
  const fields = insights.fields.map((f) => {
    const values = Array.from({ length: n }, (_, k) => {
      const v = f.values[rows[k % rows.length]];
      const copy = Math.floor(k / rows.length);
      return copy > 0 && (f.name === 'id' || f.name === 'instance') && v ? `${v}#${copy}` : v;
    });
    return { ...f, values };
  });
  return series.map((f) => (f === insights ? { ...insights, fields, length: n } : f));
}

async function main() {
  const params = new URLSearchParams(location.search);
  const mode = params.get('theme') === 'light' ? 'light' : 'dark';
  const theme = data.createTheme({ colors: { mode } });
  const root = ReactDOMClient.createRoot(document.getElementById('root')!);
  const wrap = (child: React.ReactNode) => (
    <data.ThemeContext.Provider value={theme}>
      <ui.GlobalStyles />
      <div style={{ padding: 16, background: theme.colors.background.primary }}>{child}</div>
    </data.ThemeContext.Provider>
  );
  const view = params.get('view') ?? 'panel';
  if (view === 'panel' || view === 'dashboard') {
    // `panel=report|matrix` from `frames` (a plugin response); `view=dashboard` shows the matrix
    // above the report, both reading the `instance` variable from the URL as Grafana's panels do.
    const load = async (url: string) =>
      ((await (await fetch(url)).json()) as data.DataFrameJSON[]).map((f) => data.dataFrameFromJSON(f));
    const replicate = Number(params.get('replicate') ?? 0);
    const which = params.get('panel') ?? 'report';
    const reportSeries =
      view === 'dashboard' || which === 'report'
        ? replicateInsights(await load(params.get('frames') ?? '/frontend/test-output/report-frames.json'), replicate)
        : [];
    const matrixSeries =
      view === 'dashboard' || which === 'matrix'
        ? await load(
            params.get(view === 'dashboard' ? 'matrixFrames' : 'frames') ??
              '/frontend/test-output/fleet-matrix-frames.json'
          )
        : [];
    const report = reportSeries.length ? await panelOf('/dist/panel/module.js') : undefined;
    const matrix = matrixSeries.length ? await panelOf('/dist/matrix/module.js') : undefined;
    const width = Number(params.get('width') ?? 1100);
    const height = Number(params.get('height') ?? 1400);
    const Dashboard = () => {
      // Grafana keeps variables in the URL (`var-instance`); panels get them through replaceVariables.
      const [search, setSearch] = React.useState(() => runtime.locationService.getSearchObject());
      React.useEffect(
        () => runtime.locationService.getHistory().listen(() => setSearch(runtime.locationService.getSearchObject())),
        []
      );
      const replaceVariables = (value: string, _scoped?: unknown, format?: string) =>
        value.replace(/\$(\w+)/g, (whole, name) => {
          const v = search[`var-${name}`];
          if (v === undefined || v === null || v === '') {
            return whole;
          }
          return format === 'regex' ? String(v).replace(/[.*+?^${}()|[\]\\]/g, '\\$&') : String(v);
        });
      React.useLayoutEffect(() => {
        w.harness.committedAt = performance.now();
      });
      const panel = (
        Panel: React.ComponentType<data.PanelProps>,
        series: data.DataFrame[],
        h: number,
        title: string,
        options: object
      ) => <Panel {...panelProps(series, width, h, title, options)} replaceVariables={replaceVariables as never} />;
      return (
        <div style={{ display: 'flex', flexDirection: 'column', gap: 16 }}>
          {matrix &&
            panel(
              matrix,
              view === 'dashboard' ? [...matrixSeries, ...reportSeries] : matrixSeries,
              view === 'dashboard' ? Math.round(height * 0.45) : height,
              'USE matrix',
              { variable: 'instance' }
            )}
          {report &&
            panel(report, reportSeries, view === 'dashboard' ? Math.round(height * 0.55) : height, 'Report', {
              variable: 'instance',
            })}
        </div>
      );
    };
    w.harness.renderStart = performance.now();
    root.render(wrap(<Dashboard />));
  } else if (params.get('view') === 'app') {
    const frames = await (await fetch('/frontend/test-output/report-frames.json')).json();
    const source = { uid: 'gregg', name: 'Gregg Insights', type: 'gregg-insights-datasource' };
    // What Grafana's services would answer: one Gregg Insights data source, and /api/ds/query
    // returning the plugin's report frames as Grafana's query API does.
    runtime.setDataSourceSrv({ getList: () => [source] } as unknown as runtime.DataSourceSrv);
    runtime.setBackendSrv({
      fetch: (request: { url: string }) => {
        w.harness.requests = [...(w.harness.requests ?? []), request];
        return rxjs.of({ status: 200, data: { results: { report: { status: 200, frames } } } });
      },
    } as unknown as runtime.BackendSrv);
    const mod = await loadAmd('/dist/module.js');
    const Root = (mod.plugin as data.AppPlugin).root as React.ComponentType<data.AppRootProps>;
    root.render(wrap(<Root {...({} as data.AppRootProps)} />));
    // The page fetches after mounting; wait for the cards.
    for (let i = 0; i < 100 && !document.querySelector('[data-testid="gregg-card"]'); i++) {
      await new Promise((r) => setTimeout(r, 50));
    }
  } else {
    // The config editor asks the `checks` resource for every check's defaults: answer with the
    // plugin's real answer, written by the Go harness beside the frames.
    const checks = await (await fetch('/frontend/test-output/checks.json')).json();
    runtime.setBackendSrv({
      get: async (url: string) => {
        w.harness.requests = [...(w.harness.requests ?? []), { url }];
        return checks;
      },
    } as unknown as runtime.BackendSrv);
    const mod = await loadAmd('/dist/datasource/module.js');
    const plugin = mod.plugin as data.DataSourcePlugin<any>;
    const ConfigEditor = plugin.components.ConfigEditor as React.ComponentType<any>;
    const QueryEditor = plugin.components.QueryEditor as React.ComponentType<any>;
    const options = {
      id: 1,
      uid: 'gregg',
      orgId: 1,
      name: 'Gregg Insights',
      type: 'gregg-insights-datasource',
      typeName: 'Gregg Insights',
      typeLogoUrl: '',
      access: 'proxy',
      url: 'http://prometheus:9090',
      user: '',
      database: '',
      basicAuth: false,
      basicAuthUser: '',
      isDefault: false,
      jsonData: { targetSelector: 'job="node"', timeout: 30 },
      secureJsonFields: { bearerToken: true },
      readOnly: false,
      withCredentials: false,
    };
    const Editors = () => {
      const [o, setO] = React.useState(options);
      const [q, setQ] = React.useState({ refId: 'A', queryType: 'promql_check', expr: 'up', instances: '$instance' });
      return (
        <>
          <h3>Data source settings</h3>
          <ConfigEditor options={o} onOptionsChange={setO} />
          <h3>Query</h3>
          <QueryEditor datasource={{}} query={q} onChange={setQ} onRunQuery={() => {}} />
        </>
      );
    };
    root.render(wrap(<Editors />));
  }
  // Let React commit and fonts settle before the test looks.
  await new Promise((r) => setTimeout(r, 300));
  w.harness.ready = true;
}

main().catch((e: Error) => {
  w.harness.error = String(e?.stack ?? e);
});
