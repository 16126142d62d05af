/**
 * The full power-cut suite (`npm run test:powercut`): mixed workloads of 2,000+ operations over
 * small partitions (so pages fill, get reclaimed and erased), with a clean and a torn cut at every
 * single flash write and erase. After each cut the store is re-initialised and every key must read
 * its last committed value or, for the operation in flight, its previous value.
 */
import assert from 'node:assert/strict';
import { it } from 'node:test';
import { nodeCrypto } from '../../src/node/node-crypto.js';
import type { NvsInitOptions } from '../../src/nvs/store/storage.js';
import { runPalPowerCutCampaign } from '../_support/pal-power-cut-campaign.js';
import { runPowerCutCampaign } from '../_support/power-cut-campaign.js';

/** Keys of the encrypted campaign (fixed: the campaign is deterministic). */
const KEYS = { eky: Uint8Array.from({ length: 32 }, (_, i) => i), tky: Uint8Array.from({ length: 32 }, (_, i) => 0xa0 + i) };

const CAMPAIGNS: { ops: number; seed: number; pages: number; init?: NvsInitOptions }[] = [
  { ops: 2500, seed: 1, pages: 10 },
  { ops: 2000, seed: 2, pages: 7 },
  { ops: 2000, seed: 3, pages: 16 },
  { ops: 2000, seed: 4, pages: 8, init: { encryption: { keys: KEYS, crypto: nodeCrypto } } },
];

for (const c of CAMPAIGNS) {
  const kind = c.init?.encryption ? 'XTS-encrypted' : 'plain';
  it(`survives a cut at every flash operation: ${c.ops} operations, seed ${c.seed}, ${c.pages} pages, ${kind}`, () => {
    const started = Date.now();
    const r = runPowerCutCampaign({ ...c, replaySamples: 20, continueEvery: 25 });
    console.log(
      `# seed ${c.seed} (${kind}): ${r.operations} operations -> ${r.flashOperations} flash operations (${r.writes} writes, ${r.erases} erases); ` +
        `${r.cutPoints} cut points, ${r.checks} recoveries checked (clean + torn), ${r.continued} continued after recovery, ` +
        `${r.replaysMatched} full replays matched, ${((Date.now() - started) / 1000).toFixed(1)} s`,
    );
    assert.deepEqual(r.failures.slice(0, 20), []);
    assert.ok(r.operations >= 2000);
    assert.ok(r.erases > 0, 'the workload must reclaim pages');
  });
}

/*
 * The token's object store on NVS: longer workloads of saves that replace and create objects and
 * destroys, with a clean and three torn cuts at every flash operation (see pal-power-cut-campaign.ts).
 */
const PAL_CAMPAIGNS: { steps: number; seed: number; pages: number; encrypted: boolean }[] = [
  { steps: 200, seed: 11, pages: 4, encrypted: false },
  { steps: 200, seed: 12, pages: 5, encrypted: true },
];

for (const c of PAL_CAMPAIGNS) {
  const kind = c.encrypted ? 'XTS-encrypted' : 'plain';
  it(`token objects survive a cut at every flash operation: ${c.steps} steps, seed ${c.seed}, ${c.pages} pages, ${kind}`, () => {
    const started = Date.now();
    const init = c.encrypted ? (): NvsInitOptions => ({ encryption: { keys: KEYS, crypto: nodeCrypto } }) : () => undefined;
    const r = runPalPowerCutCampaign({ steps: c.steps, seed: c.seed, pages: c.pages, tears: [0, 1, 19, 2048], init });
    console.log(
      `# token objects, seed ${c.seed} (${kind}): ${r.steps} steps; ${r.cutPoints} cut points (replace ${r.counts.replace}, create ${r.counts.create}, destroy ${r.counts.destroy}), ` +
        `${r.checks} recoveries checked, ${r.continued} continued after recovery, ${r.full} refused for lack of room, ${r.erases} page erases, ${((Date.now() - started) / 1000).toFixed(1)} s`,
    );
    assert.deepEqual(r.failures.slice(0, 20), []);
    assert.ok(r.erases > 0, 'the workload must reclaim pages');
  });
}
