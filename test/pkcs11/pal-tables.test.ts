import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { DEFAULT_OBJECTS, FIRST_DYNAMIC_HANDLE, MAX_LABEL_BYTES, PKCS11_LABELS } from '../../src/pkcs11/pal/default-labels.js';
import { decodeObjectRecord, encodeObjectRecord, objectRecordHeader } from '../../src/pkcs11/pal/object-record.js';
import { CKR } from '../../src/pkcs11/constants.js';
import { PalError } from '../../src/pkcs11/pal/pal-error.js';
import * as pkcs11 from '../../src/pkcs11/index.js';

const fromHex = (h: string) => new Uint8Array(Buffer.from(h, 'hex'));

describe('PAL constant tables', () => {
  it('names the corePKCS11 default labels as core_pkcs11_config_defaults.h does', () => {
    assert.deepEqual(PKCS11_LABELS, {
      pkcs11configLABEL_DEVICE_PRIVATE_KEY_FOR_TLS: 'Device Priv TLS Key',
      pkcs11configLABEL_DEVICE_PUBLIC_KEY_FOR_TLS: 'Device Pub TLS Key',
      pkcs11configLABEL_DEVICE_CERTIFICATE_FOR_TLS: 'Device Cert',
      pkcs11configLABEL_CODE_VERIFICATION_KEY: 'Code Verify Key',
      pkcs11configLABEL_HMAC_KEY: 'HMAC Key',
      pkcs11configLABEL_CMAC_KEY: 'CMAC Key',
      pkcs11configLABEL_CLAIM_PRIVATE_KEY: 'Claim Key',
      pkcs11configLABEL_CLAIM_CERTIFICATE: 'Claim Cert',
      pkcs11configLABEL_ROOT_CERTIFICATE: 'Root Cert',
      pkcs11configLABEL_JITP_CERTIFICATE: 'JITP Cert',
    });
    assert.ok(Object.isFrozen(PKCS11_LABELS) && Object.isFrozen(DEFAULT_OBJECTS) && DEFAULT_OBJECTS.every(Object.isFrozen));
    assert.equal(MAX_LABEL_BYTES, 32);
  });

  it('numbers the fixed slots like the corePKCS11 posix PAL (1..8) and marks the secret ones', () => {
    const byHandle = Object.fromEntries(DEFAULT_OBJECTS.map((o) => [o.handle, [o.label, o.secret]]));
    assert.deepEqual(byHandle, {
      1: ['Device Priv TLS Key', true],
      2: ['Device Pub TLS Key', false],
      3: ['Device Cert', false],
      4: ['Code Verify Key', false],
      5: ['HMAC Key', true],
      6: ['CMAC Key', true],
      7: ['Claim Key', true],
      8: ['Claim Cert', false],
      9: ['Root Cert', false],
      10: ['JITP Cert', false],
    });
    assert.ok(FIRST_DYNAMIC_HANDLE > 10);
    const keys = DEFAULT_OBJECTS.map((o) => o.nvsKey);
    assert.equal(new Set(keys).size, keys.length);
    for (const k of keys) assert.ok(k.length <= 15 && !/^p11_o[0-9a-f]{8}$/.test(k), k);
  });

  it('attaches the PKCS#11 return value to each error code', () => {
    assert.equal(new PalError('PAL_HANDLE_INVALID', 'x').ckr, CKR.CKR_KEY_HANDLE_INVALID);
    assert.equal(new PalError('PAL_OBJECT_ABSENT', 'x').ckr, CKR.CKR_OBJECT_HANDLE_INVALID);
    assert.equal(new PalError('PAL_STORE_FULL', 'x').ckr, CKR.CKR_DEVICE_MEMORY);
    assert.equal(new PalError('PAL_IO_FAILED', 'x').ckr, CKR.CKR_FUNCTION_FAILED);
    assert.equal(new PalError('PAL_CLOSED', 'x').ckr, undefined);
    assert.equal(new PalError('PAL_LOCKED', 'x').name, 'PalError');
  });

  it('exports the storage layer from nvsec/pkcs11', () => {
    for (const name of ['MemoryObjectStore', 'NvsObjectStore', 'PalError', 'DEFAULT_OBJECTS', 'PKCS11_LABELS', 'encodeObjectRecord']) {
      assert.ok(name in pkcs11, name);
    }
  });
});

describe('object record', () => {
  // Built by hand from the layout table; CRC from Python's zlib.crc32(data, 0xFFFFFFFF) (= ESP crc32_le).
  const VECTORS = [
    { meta: { handle: 3, label: 'Device Cert', isPrivate: false }, payload: '010203', hex: '5031314f01000b00030000004465766963652043657274010203bc9656fe' },
    { meta: { handle: 0x100, label: 'k', isPrivate: true }, payload: '', hex: '5031314f01010100000100006bc8bad6e0' },
  ];

  it('encodes the known-answer records byte for byte', () => {
    for (const v of VECTORS) assert.equal(Buffer.from(encodeObjectRecord(v.meta, fromHex(v.payload))).toString('hex'), v.hex);
  });

  it('decodes the known-answer records', () => {
    for (const v of VECTORS) {
      const r = decodeObjectRecord(fromHex(v.hex), 'vector');
      assert.deepEqual({ handle: r.handle, label: r.label, isPrivate: r.isPrivate }, v.meta);
      assert.deepEqual(r.payload, fromHex(v.payload));
      assert.deepEqual(r.header, objectRecordHeader(v.meta));
    }
  });

  it('rejects bad magic, version, flags, label length and handle 0 with PAL_OBJECT_CORRUPT', () => {
    const good = fromHex(VECTORS[0]!.hex);
    const mutate = (at: number, value: number) => {
      const b = good.slice();
      b[at] = value;
      return b;
    };
    for (const [at, value] of [[0, 0x51], [4, 2], [5, 2], [6, 0], [6, 40]] as const) {
      assert.throws(() => decodeObjectRecord(mutate(at, value), 'x'), (e) => e instanceof PalError && e.code === 'PAL_OBJECT_CORRUPT', `byte ${at}`);
    }
    assert.throws(() => decodeObjectRecord(good.subarray(0, 10), 'x'), /too short/);
    assert.throws(() => encodeObjectRecord({ handle: 0, label: 'a', isPrivate: false }, new Uint8Array(0)), RangeError);
    assert.throws(() => encodeObjectRecord({ handle: 1, label: 'k'.repeat(33), isPrivate: false }, new Uint8Array(0)), RangeError);
  });

  it('round-trips any object and detects any single corrupted byte', () => {
    const meta = fc.record({
      handle: fc.integer({ min: 1, max: 0xffffffff }),
      label: fc.string({ unit: 'grapheme', minLength: 1, maxLength: 8 }).filter((s) => new TextEncoder().encode(s).length <= 32),
      isPrivate: fc.boolean(),
    });
    fc.assert(
      fc.property(meta, fc.uint8Array({ maxLength: 200 }), fc.nat(), fc.integer({ min: 1, max: 255 }), (m, payload, pos, xor) => {
        const rec = encodeObjectRecord(m, payload);
        const back = decodeObjectRecord(rec, 'p');
        assert.deepEqual({ handle: back.handle, label: back.label, isPrivate: back.isPrivate }, { ...m });
        assert.deepEqual(back.payload, payload);
        const bad = rec.slice();
        bad[pos % bad.length]! ^= xor;
        assert.throws(() => decodeObjectRecord(bad, 'p'), PalError);
      }),
      { numRuns: 300 },
    );
  });
});
