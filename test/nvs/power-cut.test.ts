import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { nodeCrypto } from '../../src/node/node-crypto.js';
import { runPowerCutCampaign } from '../_support/power-cut-campaign.js';

// The full campaign (2,000+ operations, several seeds) is `npm run test:powercut`; this is its quick form.
describe('NVS runtime under power cuts', () => {
  it('recovers to the old or new value after a clean or torn cut at every write and erase of a 300-operation workload', () => {
    const r = runPowerCutCampaign({ ops: 300, seed: 7, pages: 8, replaySamples: 5, continueEvery: 25 });
    assert.deepEqual(r.failures, []);
    assert.equal(r.cutPoints, r.flashOperations);
    assert.ok(r.cutPoints > 1000, `only ${r.cutPoints} cut points`);
    assert.ok(r.gcErases > 0, 'the workload must reach garbage collection');
    assert.ok(r.replaysMatched > 0, 'at least one real replay must be compared');
  });

  it('does the same on an XTS-encrypted partition (200 operations)', () => {
    const keys = { eky: new Uint8Array(32).fill(1), tky: new Uint8Array(32).fill(2) };
    const r = runPowerCutCampaign({ ops: 200, seed: 8, pages: 6, replaySamples: 3, continueEvery: 25, init: { encryption: { keys, crypto: nodeCrypto } } });
    assert.deepEqual(r.failures, []);
    assert.ok(r.cutPoints > 700, `only ${r.cutPoints} cut points`);
  });
});
