import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
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
});
