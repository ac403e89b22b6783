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

type Harness = { ready: boolean; error?: string; requests?: unknown[] };
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
  if ((params.get('view') ?? 'panel') === 'panel') {
    const json = await (await fetch(params.get('frames') ?? '/frontend/test-output/report-frames.json')).json();
    const series = (json as data.DataFrameJSON[]).map((f) => data.dataFrameFromJSON(f));
    const mod = await loadAmd('/dist/panel/module.js');
    const Panel = (mod.plugin as data.PanelPlugin).panel as React.ComponentType<data.PanelProps>;
    const timeRange = data.getDefaultTimeRange();
    const width = Number(params.get('width') ?? 1100);
    const height = Number(params.get('height') ?? 1400);
    root.render(
      wrap(
        <Panel
          id={1}
          data={{ series, state: data.LoadingState.Done, timeRange }}
          timeRange={timeRange}
          timeZone="utc"
          options={{}}
          transparent={false}
          width={width}
          height={height}
          fieldConfig={{ defaults: {}, overrides: [] }}
          renderCounter={0}
          title="Report"
          eventBus={new data.EventBusSrv()}
          onOptionsChange={() => {}}
          onFieldConfigChange={() => {}}
          replaceVariables={(s: string) => s}
          onChangeTimeRange={() => {}}
        />
      )
    );
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
