import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { Efuse } from '../../src/boot/efuse.js';
import { EfuseError } from '../../src/boot/efuse-error.js';
import { loadEfuseFile, openEfuseFile, saveEfuseFile } from '../../src/node/efuse-file.js';

let dir = '';
before(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'nvsec-efuse-file-'));
});
after(() => {
  fs.rmSync(dir, { recursive: true, force: true });
});

const key = Uint8Array.from({ length: 32 }, (_, i) => i + 1);

describe('eFuse file (Node adapter)', () => {
  it('saves with mode 0600 and loads back the same eFuses, keys included', () => {
    const file = path.join(dir, 'c3.efuse');
    const efuse = Efuse.create('esp32c3');
    efuse.burnKey('BLOCK_KEY0', key, 'XTS_AES_128_KEY');
    efuse.enableFlashEncryption();
    saveEfuseFile(file, efuse);
    if (process.platform !== 'win32') assert.equal(fs.statSync(file).mode & 0o777, 0o600);
    const loaded = loadEfuseFile(file);
    assert.deepEqual(loaded.hardware.flashEncryptionKey(), key);
    assert.equal(loaded.flashEncryptionEnabled(), true);
    assert.deepEqual(loaded.readBlock('BLOCK_KEY0'), new Uint8Array(32));
    assert.deepEqual(fs.readdirSync(dir), ['c3.efuse'], 'no temporary file is left behind');
  });

  it('detects a torn (truncated) or corrupted file and names it', () => {
    const file = path.join(dir, 'torn.efuse');
    saveEfuseFile(file, Efuse.create('esp32'));
    const good = fs.readFileSync(file);
    fs.writeFileSync(file, good.subarray(0, 20));
    assert.throws(
      () => loadEfuseFile(file),
      (e: unknown) => e instanceof EfuseError && e.code === 'EFUSE_IMAGE_CORRUPT' && e.message.includes(file),
    );
    const flipped = Buffer.from(good);
    flipped[12]! ^= 0x80;
    fs.writeFileSync(file, flipped);
    assert.throws(() => loadEfuseFile(file), (e: unknown) => e instanceof EfuseError && /CRC32/.test(e.message));
  });

  it('opens a blank model when the file is missing and refuses a file of another chip', () => {
    const file = path.join(dir, 'new.efuse');
    const blank = openEfuseFile(file, 'esp32s3');
    assert.equal(blank.chip, 'esp32s3');
    assert.equal(fs.existsSync(file), false, 'nothing is written until saved');
    saveEfuseFile(file, blank);
    assert.throws(() => openEfuseFile(file, 'esp32'), (e: unknown) => e instanceof TypeError && /esp32s3/.test(e.message));
  });

  it('reports a missing file with its name', () => {
    assert.throws(() => loadEfuseFile(path.join(dir, 'absent.efuse')), /absent\.efuse.*ENOENT/);
  });
});
