// Bundles the web console (console/) into dist/console (or <out>/console for `node build-console.mjs <out>`):
// one script, one stylesheet, the page.
// Everything is bundled (Preact, uPlot, the typed API client): no CDN, works offline.
import { copyFileSync, mkdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const out = join(process.argv[2] ?? join(root, 'dist'), 'console');
mkdirSync(out, { recursive: true });
await build({
  entryPoints: { console: join(root, 'console/src/main.tsx') },
  outdir: out,
  bundle: true,
  minify: true,
  format: 'esm',
  target: 'es2022',
  jsx: 'automatic',
  jsxImportSource: 'preact',
  sourcemap: true,
  logLevel: 'warning',
});
copyFileSync(join(root, 'console/index.html'), join(out, 'index.html'));
