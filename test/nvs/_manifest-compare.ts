import { isDeepStrictEqual } from 'node:util';
import type { NvsDump } from '../../src/nvs/inspect.js';

/**
 * Differences between a dump and a vector manifest's view (`expected`, `stats`, `pages`,
 * `iteration_order`, `errors`), as readable lines; empty when they agree.
 */
export function compareWithManifest(
  dump: NvsDump,
  view: any,
  iterationOrder?: [string, string, string][],
  expectedFatal: string | null = null,
): string[] {
  const diffs: string[] = [];
  if (view.error) {
    if (dump.fatal !== view.error) diffs.push(`fatal error: expected ${view.error}, got ${dump.fatal}`);
    return diffs;
  }
  if (dump.fatal !== expectedFatal) diffs.push(`fatal error: expected ${expectedFatal}, got ${dump.fatal}`);
  const expected = view.expected ?? {};
  for (const ns of Object.keys(expected)) {
    if (!(ns in dump.namespaces)) diffs.push(`namespace "${ns}" missing`);
    for (const key of Object.keys(expected[ns])) {
      const got = dump.namespaces[ns]?.[key];
      if (!isDeepStrictEqual({ ...expected[ns][key] }, got && { ...got })) {
        diffs.push(`${ns}/${key}: expected ${JSON.stringify(expected[ns][key]).slice(0, 300)}, got ${JSON.stringify(got)?.slice(0, 300)}`);
      }
    }
  }
  for (const ns of Object.keys(dump.namespaces)) {
    for (const key of Object.keys(dump.namespaces[ns]!)) {
      if (!expected[ns] || !(key in expected[ns])) diffs.push(`${ns}/${key}: not expected but decoded`);
    }
  }
  if (view.stats) {
    const s = dump.stats;
    const got = s && {
      used_entries: s.usedEntries,
      free_entries: s.freeEntries,
      available_entries: s.availableEntries,
      total_entries: s.totalEntries,
      namespace_count: s.namespaceCount,
    };
    if (!isDeepStrictEqual(got, view.stats)) diffs.push(`stats: expected ${JSON.stringify(view.stats)}, got ${JSON.stringify(got)}`);
  }
  for (const p of view.pages ?? []) {
    const g = dump.pages[p.page];
    const got = g && { page: g.page, state: g.state, seq: g.seq, version: g.version, used_entries: g.usedEntries };
    if (!isDeepStrictEqual(got, p)) diffs.push(`page ${p.page}: expected ${JSON.stringify(p)}, got ${JSON.stringify(got)}`);
  }
  if (iterationOrder) {
    const got = dump.iteration.map(([ns, key, t]) => [ns, key, `0x${t.toString(16).padStart(2, '0')}`]);
    if (!isDeepStrictEqual(got, iterationOrder)) diffs.push(`iteration order differs: got ${JSON.stringify(got).slice(0, 400)}`);
  }
  for (const [ns, keys] of Object.entries<Record<string, string>>(view.errors ?? {})) {
    for (const [key, error] of Object.entries(keys)) {
      if (!dump.errors.some((e) => e.namespace === ns && e.key === key && e.error === error)) diffs.push(`expected read error ${ns}/${key} ${error} not reported`);
    }
  }
  return diffs;
}
