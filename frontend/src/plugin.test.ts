/**
 * The plugin manifests are kept in step by this test, not by hand.
 *
 * The app's manifest has one source: the top-level `plugin.json`; `frontend/src/plugin.json` is a
 * symlink to it, through which webpack copies it into dist/. The nested data source and panel
 * manifests (`frontend/src/datasource/plugin.json`, `frontend/src/panel/plugin.json`,
 * `frontend/src/matrix/plugin.json`) are their
 * own plugins, but share the app's version, author and Grafana dependency, and the app's
 * `includes` name them; the ids and the backend executable are also named by the Magefile,
 * Cargo.toml and docker-compose.yaml.
 */
import fs from 'fs';
import path from 'path';

const ROOT = path.resolve(__dirname, '..', '..');

interface Manifest {
  type: string;
  name: string;
  id: string;
  executable?: string;
  backend?: boolean;
  info: { version: string; updated: string; author: unknown };
  includes?: Array<{ type: string; name: string }>;
  dependencies: { grafanaDependency: string };
}

function read(...parts: string[]): string {
  return fs.readFileSync(path.join(ROOT, ...parts), 'utf8');
}

function manifest(...parts: string[]): Manifest {
  return JSON.parse(read(...parts));
}

const app = manifest('frontend', 'src', 'plugin.json');
const nested = {
  datasource: manifest('frontend', 'src', 'datasource', 'plugin.json'),
  panel: manifest('frontend', 'src', 'panel', 'plugin.json'),
  matrix: manifest('frontend', 'src', 'matrix', 'plugin.json'),
};

describe('plugin.json manifests', () => {
  it('frontend/src/plugin.json (what webpack ships) is the top-level plugin.json', () => {
    // A symlink; should it become a copy (a checkout without symlinks), it must stay identical.
    expect(read('frontend', 'src', 'plugin.json')).toBe(read('plugin.json'));
  });

  it.each(Object.entries(nested))('the %s plugin has the app version, author and Grafana dependency', (_, m) => {
    expect(m.info.version).toBe(app.info.version);
    expect(m.info.updated).toBe(app.info.updated);
    expect(m.info.author).toEqual(app.info.author);
    expect(m.dependencies.grafanaDependency).toBe(app.dependencies.grafanaDependency);
  });

  it('the app includes the nested plugins by their type and name', () => {
    for (const m of Object.values(nested)) {
      expect(app.includes).toContainEqual({ type: m.type, name: m.name });
    }
  });

  it('the ids and the backend executable are the ones the Magefile builds and installs', () => {
    const magefile = read('Magefile.go');
    const constant = (name: string) => new RegExp(`\\b${name}\\s*=\\s*"([^"]+)"`).exec(magefile)?.[1];
    expect(app.id).toBe(constant('pluginID'));
    expect(nested.datasource.backend).toBe(true);
    expect(nested.datasource.executable).toBe(constant('executable'));
    // ...and a [[bin]] of the crate (Cargo.toml) is called that.
    const bins = read('Cargo.toml')
      .split('[[bin]]')
      .slice(1)
      .map((table) => /^name\s*=\s*"([^"]+)"/m.exec(table)?.[1]);
    expect(bins).toContain(nested.datasource.executable);
  });

  it('every nested plugin is built and its size printed by the Magefile (Frontend), so Build and Package ship it', () => {
    const magefile = read('Magefile.go');
    for (const dir of ['datasource', 'panel', 'matrix']) {
      expect(magefile).toContain(`"${dir}/module.js"`);
    }
  });

  it('docker-compose.yaml lets Grafana load every plugin of the app unsigned', () => {
    const allowed = /GF_PLUGINS_ALLOW_LOADING_UNSIGNED_PLUGINS:\s*(\S+)/.exec(read('docker-compose.yaml'))?.[1];
    expect(allowed?.split(',').sort()).toEqual(
      [app.id, nested.datasource.id, nested.panel.id, nested.matrix.id].sort()
    );
  });
});
