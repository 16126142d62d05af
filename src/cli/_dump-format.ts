import type { NvsDump, NvsDumpValue } from '../nvs/inspect.js';

/** The JSON shape: field names as in the golden vectors' manifests. */
export function dumpToJson(dump: NvsDump): object {
  return {
    pages: dump.pages.map((p) => ({
      page: p.page,
      state: p.state,
      seq: p.seq,
      version: p.version,
      used_entries: p.usedEntries,
      erased_entries: p.erasedEntries,
      ...(p.corruptReason ? { corrupt_reason: p.corruptReason } : {}),
    })),
    namespaces: dump.namespaces,
    iteration: dump.iteration.map(([ns, key, type]) => [ns, key, `0x${type.toString(16).padStart(2, '0')}`]),
    stats: dump.stats && {
      used_entries: dump.stats.usedEntries,
      free_entries: dump.stats.freeEntries,
      available_entries: dump.stats.availableEntries,
      total_entries: dump.stats.totalEntries,
      namespace_count: dump.stats.namespaceCount,
    },
    errors: dump.errors,
    fatal: dump.fatal,
  };
}

/** Human-readable report of a dump: page table, values by namespace, statistics, problems. */
export function formatDump(file: string, length: number, dump: NvsDump): string {
  const out: string[] = [];
  out.push(`${file}: ${length} bytes, ${dump.pages.length} pages`);
  if (dump.pages.length > 0) {
    out.push('', 'page  state          seq  ver  used  erased');
    for (const p of dump.pages) {
      const ver = p.version === null ? '-' : String(256 - p.version);
      out.push(
        `${String(p.page).padStart(4)}  ${p.state.padEnd(13)} ${String(p.seq ?? '-').padStart(4)} ${ver.padStart(4)} ${String(p.usedEntries).padStart(5)} ${String(p.erasedEntries).padStart(7)}${p.corruptReason ? `  (${p.corruptReason})` : ''}`,
      );
    }
  }
  for (const [ns, values] of Object.entries(dump.namespaces)) {
    const keys = Object.keys(values);
    out.push('', `namespace "${ns}" (${keys.length} key${keys.length === 1 ? '' : 's'})`);
    for (const key of keys) out.push(`  ${key.padEnd(16)} ${values[key]!.type.padEnd(7)} ${showValue(values[key]!)}`);
  }
  if (dump.stats) {
    const s = dump.stats;
    out.push(
      '',
      `entries: ${s.usedEntries} used, ${s.freeEntries} free, ${s.availableEntries} available, ${s.totalEntries} total; ${s.namespaceCount} namespaces`,
    );
  }
  if (dump.errors.length > 0) {
    out.push('', `problems (${dump.errors.length}):`);
    for (const e of dump.errors) {
      const where = e.namespace !== undefined ? `${e.namespace}/${e.key}${e.page !== undefined ? ` (page ${e.page} entry ${e.entry})` : ''}: ` : '';
      out.push(`  ${where}${e.message}`);
    }
  } else {
    out.push('', 'no problems found');
  }
  return `${out.join('\n')}\n`;
}

function showValue(v: NvsDumpValue): string {
  if (v.type === 'string') return JSON.stringify(v.text.length > 60 ? `${v.text.slice(0, 57)}...` : v.text);
  if (v.type === 'blob') {
    const hex = v.hex.length > 48 ? `${v.hex.slice(0, 48)}...` : v.hex;
    return `${v.size} bytes${v.layout === 'v1-single' ? ' (v1)' : v.chunks && v.chunks.length > 1 ? ` (${v.chunks.length} chunks)` : ''} ${hex}`;
  }
  return v.value;
}
