import assert from 'node:assert/strict';
import { test } from 'node:test';
import { toHex } from '../../src/bytes/hex.js';
import { nodeCrypto } from '../../src/node/node-crypto.js';

const ascii = (s: string): Uint8Array => new TextEncoder().encode(s);

test('digest: MD5 and SHA-256 match the RFC 1321 / FIPS 180 test messages', () => {
  assert.equal(toHex(nodeCrypto.digest('md5', ascii(''))), 'd41d8cd98f00b204e9800998ecf8427e');
  assert.equal(toHex(nodeCrypto.digest('md5', ascii('abc'))), '900150983cd24fb0d6963f7d28e17f72');
  assert.equal(toHex(nodeCrypto.digest('sha256', ascii('abc'))), 'ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad');
});
