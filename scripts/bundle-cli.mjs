// Bundles the CLI into one file (dist/nvsec.mjs): one module to load instead of ~30 plus
// commander's CommonJS files, which cuts ~25 ms of start-up from every command. Code loaded with a
// dynamic import() (the ECDSA curves) goes into dist/cli-chunks/, loaded only by the commands that
// need it; native addons (better-sqlite3) stay external. The library itself is published as the plain tsc output in dist/.
import { build } from 'esbuild';

await build({
  entryPoints: { nvsec: 'dist/cli/main.js' },
  outdir: 'dist',
  outExtension: { '.js': '.mjs' },
  splitting: true,
  chunkNames: 'cli-chunks/[name]-[hash]',
  bundle: true,
  platform: 'node',
  // Prefer packages' ES builds (@peculiar/x509 has no "exports" map; its CommonJS build loses its named exports through import()).
  mainFields: ['module', 'main'],
  format: 'esm',
  target: 'node20',
  sourcemap: 'linked',
  legalComments: 'none',
  // Native addons cannot be bundled: better-sqlite3 loads its .node file relative to its own
  // package, so it stays in node_modules and only `registry`/`provision --registry` import it.
  external: ['better-sqlite3'],
  logLevel: 'warning',
  // commander is CommonJS and calls require() for Node built-ins; give the ESM bundle a require.
  banner: { js: "import { createRequire as __nvsecRequire } from 'node:module'; const require = __nvsecRequire(import.meta.url);" },
});
