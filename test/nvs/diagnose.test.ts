import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { nodeCrypto } from '../../src/node/node-crypto.js';
import { diagnoseNvsDecryption, type NvsDecryptionDiagnosis } from '../../src/nvs/crypto/diagnose.js';
import { NvsEntryCipher } from '../../src/nvs/crypto/entry-cipher.js';
import { encryptNvsImage } from '../../src/nvs/crypto/image-cipher.js';
import { generateNvsKeys, type NvsKeys } from '../../src/nvs/crypto/keys-partition.js';
import { NvsError } from '../../src/nvs/esp-err.js';
import { generateNvsPartition } from '../../src/nvs/generator/generate.js';
import { mulberry32 } from '../_support/mulberry32.js';

const PHRASE = 'wrong key, plaintext image, or wrong partition offset';
const PAGE = 4096;

/** A plain image of `size` bytes with integers, strings and a 6000-byte blob over three data pages. */
function plainImage(size = 0x8000): Uint8Array {
  const next = mulberry32(7);
  const rows = ['key,type,encoding,value', 'app,namespace,,'];
  for (let i = 0; i < 150; i++) rows.push(`n${i},data,u32,${next()}`);
  for (let i = 0; i < 20; i++) rows.push(`s${i},data,string,text-${next().toString(36).repeat(4)}`);
  rows.push(`blob,data,hex2bin,${Array.from({ length: 6000 }, (_, i) => ((i * 7) & 0xff).toString(16).padStart(2, '0')).join('')}`);
  return generateNvsPartition(rows.join('\n'), { size }).image;
}

function diagnose(image: Uint8Array, keys: NvsKeys): NvsDecryptionDiagnosis {
  const c = new NvsEntryCipher(nodeCrypto, keys);
  try {
    return diagnoseNvsDecryption(image, c);
  } finally {
    c.destroy();
  }
}

function encrypt(image: Uint8Array, keys: NvsKeys): Uint8Array {
  const c = new NvsEntryCipher(nodeCrypto, keys);
  try {
    return encryptNvsImage(image, c);
  } finally {
    c.destroy();
  }
}

const keys = generateNvsKeys(nodeCrypto);
const plain = plainImage();
const encrypted = encrypt(plain, keys);

describe('diagnoseNvsDecryption()', () => {
  it('says ok when the key fits, counting payload entries by their item\'s data CRC', () => {
    const d = diagnose(encrypted, keys);
    assert.equal(d.verdict, 'ok');
    assert.ok(d.writtenEntries > 300, `written ${d.writtenEntries}`);
    assert.equal(d.passingEntries, d.writtenEntries);
    assert.equal(d.plaintextPassing, 0);
    assert.equal(d.bestOffset, null);
    assert.deepEqual(d.pages.map((p) => p.page), [0, 1, 2, 3]);
    assert.ok(d.pages.every((p) => p.passing === p.written));
    assert.match(d.message, /pass their CRC after decryption: the key fits\.$/);
    assert.ok(!d.message.includes(PHRASE));
  });

  it('says wrong-key for another key, with the counts per page and what to do', () => {
    const d = diagnose(encrypted, generateNvsKeys(nodeCrypto));
    assert.equal(d.verdict, 'wrong-key');
    assert.equal(d.passingEntries, 0);
    assert.equal(d.plaintextPassing, 0);
    assert.equal(d.bestOffset, null);
    assert.ok(d.message.includes(PHRASE), d.message);
    assert.match(d.message, new RegExp(`^0 of ${d.writtenEntries} written entries pass their CRC after decryption \\(page 0: 0/126, page 1: 0/126`));
    assert.match(d.message, /Most likely the key is wrong: .*keys partition made together with this image/);
  });

  it('says plaintext for an image that was never encrypted', () => {
    const d = diagnose(plain, keys);
    assert.equal(d.verdict, 'plaintext');
    assert.equal(d.plaintextPassing, d.writtenEntries);
    assert.equal(d.passingEntries, 0);
    assert.ok(d.message.includes(PHRASE));
    assert.match(d.message, new RegExp(`Most likely the image is plaintext \\(not encrypted\\): ${d.writtenEntries} of ${d.writtenEntries} entries pass`));
  });

  it('says wrong-offset, with the shift, for an image read from 2 pages after the partition start', () => {
    const cut = new Uint8Array(encrypted.length).fill(0xff);
    cut.set(encrypted.subarray(2 * PAGE)); // the flash read started at partition offset 0x2000
    const d = diagnose(cut, keys);
    assert.equal(d.verdict, 'wrong-offset');
    assert.deepEqual(d.bestOffset, { pages: 2, passing: d.writtenEntries });
    assert.equal(d.passingEntries, 0);
    assert.ok(d.message.includes(PHRASE));
    assert.match(d.message, /Most likely the partition offset is wrong: \d+ of \d+ entries pass if the image starts 2 pages \(0x2000 bytes\) after the start of the partition/);
  });

  it('says wrong-offset with a negative shift for an image read from 3 pages before the partition start', () => {
    const cut = new Uint8Array(encrypted.length + 3 * PAGE).fill(0xff);
    cut.set(encrypted, 3 * PAGE);
    const d = diagnose(cut, keys);
    assert.equal(d.verdict, 'wrong-offset');
    assert.deepEqual(d.bestOffset, { pages: -3, passing: d.writtenEntries });
    assert.match(d.message, /3 pages \(0x3000 bytes\) before the start of the partition/);
  });

  it('still says ok when one entry is damaged, and names the page that lost it', () => {
    const damaged = encrypted.slice();
    damaged[PAGE + 64 + 5 * 32 + 20]! ^= 0x10; // page 1, entry 5: a u32 item
    const d = diagnose(damaged, keys);
    assert.equal(d.verdict, 'ok');
    assert.equal(d.passingEntries, d.writtenEntries - 1);
    assert.deepEqual(d.pages[1], { page: 1, written: 126, passing: 125 });
    assert.match(d.message, /1 entry fails \(page 1: 125\/126\): damaged data, only those items are lost\.$/);
  });

  it('counts a damaged blob payload entry against the whole chunk, not just the entry', () => {
    const d0 = diagnose(encrypted, keys);
    const last = d0.pages[d0.pages.length - 1]!.page;
    const damaged = encrypted.slice();
    damaged[last * PAGE + 64 + 2 * 32 + 3]! ^= 1; // inside the last page's blob chunk payload
    const d = diagnose(damaged, keys);
    assert.equal(d.verdict, 'ok');
    const lost = d.writtenEntries - d.passingEntries;
    assert.ok(lost > 1, `a whole chunk fails its data CRC (lost ${lost})`);
  });

  it('says no-data for a blank partition', () => {
    const d = diagnose(new Uint8Array(3 * PAGE).fill(0xff), keys);
    assert.equal(d.verdict, 'no-data');
    assert.equal(d.writtenEntries, 0);
    assert.deepEqual(d.pages, []);
    assert.ok(!d.message.includes(PHRASE));
  });

  it('refuses an image that is not whole pages', () => {
    assert.throws(() => diagnose(encrypted.subarray(0, 5000), keys), (e: unknown) => e instanceof NvsError && e.code === 'ESP_ERR_INVALID_SIZE');
  });

  it('diagnoses a wrong key on a 1 MiB partition quickly', () => {
    const big = encrypt(plainImage(0x100000), keys);
    const other = generateNvsKeys(nodeCrypto);
    const t0 = performance.now();
    const d = diagnose(big, other);
    const ms = performance.now() - t0;
    assert.equal(d.verdict, 'wrong-key');
    assert.ok(ms < 500, `${ms.toFixed(1)} ms`);
  });
});
