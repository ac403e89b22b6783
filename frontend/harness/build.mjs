// Bundle the harness page with esbuild (the plugin modules themselves come from `dist/`).
import { build } from 'esbuild';

await build({
  entryPoints: ['harness/harness.tsx'],
  bundle: true,
  outdir: 'harness/out',
  format: 'iife',
  target: 'es2020',
  loader: { '.ttf': 'dataurl', '.woff': 'dataurl', '.woff2': 'dataurl', '.svg': 'dataurl' },
  define: { 'process.env.NODE_ENV': '"production"', global: 'window' },
  minify: true,
  logLevel: 'warning',
});
