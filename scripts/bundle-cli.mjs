// Bundles the CLI into one file (dist/nvsec.mjs): one module to load instead of ~30 plus
// commander's CommonJS files, which cuts ~25 ms of start-up from every command. The library
// itself is published as the plain tsc output in dist/.
import { build } from 'esbuild';

await build({
  entryPoints: ['dist/cli/main.js'],
  outfile: 'dist/nvsec.mjs',
  bundle: true,
  platform: 'node',
  format: 'esm',
  target: 'node20',
  sourcemap: 'linked',
  legalComments: 'none',
  logLevel: 'warning',
  // commander is CommonJS and calls require() for Node built-ins; give the ESM bundle a require.
  banner: { js: "import { createRequire as __nvsecRequire } from 'node:module'; const require = __nvsecRequire(import.meta.url);" },
});
