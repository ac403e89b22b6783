/*
 * Extends the scaffolded webpack config (.config/ stays untouched) for this repository's layout:
 * - the build goes to the repository's top-level dist/, where the backend binaries also live;
 * - LICENSE and CHANGELOG come from the repository root;
 * - every nested plugin's img/ folder is copied (the scaffold copies only the app's logos);
 * - %VERSION% and %TODAY% are replaced in dist/ (the scaffold's replacer looks in ./dist).
 */
import CopyWebpackPlugin from 'copy-webpack-plugin';
import path from 'path';
import ReplaceInFileWebpackPlugin from 'replace-in-file-webpack-plugin';
import type { Configuration } from 'webpack';

import grafanaConfig, { type Env } from './.config/webpack/webpack.config';
import { getPackageJson } from './.config/bundler/utils';

const DIST = path.resolve(__dirname, '..', 'dist');

const config = async (env: Env): Promise<Configuration> => {
  const base = await grafanaConfig(env);
  const replaced = [CopyWebpackPlugin, ReplaceInFileWebpackPlugin];
  const plugins = (base.plugins ?? []).filter((p) => !replaced.some((type) => p instanceof type));
  return {
    ...base,
    output: { ...base.output, path: DIST },
    plugins: [
      ...plugins,
      new CopyWebpackPlugin({
        patterns: [
          { from: 'README.md', to: '.', force: true },
          { from: '../../LICENSE', to: '.' },
          { from: '../../CHANGELOG.md', to: '.', force: true },
          { from: '**/plugin.json', to: '.' },
          { from: '**/img/*', to: '.' },
          { from: '**/dashboards/*.json', to: '.', noErrorOnMissing: true },
        ],
      }),
      new ReplaceInFileWebpackPlugin([
        {
          dir: DIST,
          test: [/(^|\/)plugin\.json$/, /(^|\/)README\.md$/],
          rules: [
            { search: /%VERSION%/g, replace: getPackageJson().version },
            { search: /%TODAY%/g, replace: new Date().toISOString().substring(0, 10) },
          ],
        },
      ]),
    ],
  };
};

export default config;
