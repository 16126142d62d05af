import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { after, describe, it } from 'node:test';
import { openDirectoryToken, TOKEN_NV_SEED_FILE } from '../../src/node/node-token.js';

const root = fs.mkdtempSync(path.join(os.tmpdir(), 'nvsec-node-token-'));
after(() => fs.rmSync(root, { recursive: true, force: true }));

describe('openDirectoryToken', () => {
  it('creates a 0700 directory with a 64-byte 0600 NV seed, and refreshes the seed every time the token seeds its DRBG', async () => {
    const dir = path.join(root, 'token');
    const p11 = await openDirectoryToken(dir);
    const seedFile = path.join(dir, TOKEN_NV_SEED_FILE);
    assert.equal(fs.statSync(dir).mode & 0o777, 0o700);
    assert.equal(fs.statSync(seedFile).mode & 0o777, 0o600);
    const first = fs.readFileSync(seedFile);
    assert.equal(first.length, 64);
    p11.C_Initialize();
    const random = p11.C_GenerateRandom(p11.C_OpenSession(p11.C_GetSlotList(true)[0]!, 4), Buffer.alloc(32));
    assert.equal(random.length, 32);
    p11.C_Finalize();
    await openDirectoryToken(dir);
    const second = fs.readFileSync(seedFile);
    assert.equal(second.length, 64);
    assert.ok(!first.equals(second), 'the NV seed was not refreshed');
  });
});
