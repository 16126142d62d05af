import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { CKA, CKM } from '../../src/pkcs11/constants.js';
import { RPC_CALLS, RPC_HANDSHAKE } from '../../src/pkcs11/rpc/calls.js';
import { type WireAttribute, type WireMechanism, WireError, WireReader, WireWriter, wireValueKind } from '../../src/pkcs11/rpc/wire.js';
import { CAPTURES } from './_rpc-captures.js';
import { decodeBody, encodeBody, framesOf, hex, toHexString } from './_rpc.js';

// Vectors from the annotated capture of spec §3.5 (Debian client ↔ p11-kit server).
const SPEC_INIT_REQUEST = hex(
  '00000001 00000005 6179796179 01 00000029' + Buffer.from(RPC_HANDSHAKE).toString('hex') + '00 01 00000001 00',
);
const SPEC_SLOTLIST_QUERY = hex('00000004 00000003 796675 00 00000000');
const SPEC_SLOTLIST_COUNT = hex('00000004 00000002 6175 00 00000001');
const SPEC_SIGNINIT = hex('0000002a 00000003 754d75 0000000000000011 00001041 ffffffff 0000000000000003');
const SPEC_ERROR = hex('00000000 00000001 75 0000000000000005');
const SPEC_GETATTR_REQUEST = hex('00000018 00000004 75756641 0000000000000011 0000000000000003 00000001 00000202 00000001');
const SPEC_GETATTR_RESPONSE = hex('00000018 00000003 614175 00000001 00000202 01 00000001 00 0000000000000000');

describe('wire codec: the spec capture', () => {
  it('decodes the C_Initialize request: handshake, reserved flag, reserved string', () => {
    const b = decodeBody(SPEC_INIT_REQUEST, 'request');
    assert.equal(b.id, 1);
    assert.equal(b.signature, 'ayyay');
    const [handshake, flag, reserved] = b.values.map((v) => v.value) as [{ value: Uint8Array }, number, { value: Uint8Array }];
    assert.equal(Buffer.from(handshake.value).toString(), 'PRIVATE-GNOME-KEYRING-PKCS11-PROTOCOL-V-1');
    assert.equal(flag, 0); // 0.24.1 sends 0 here and the reserved string anyway
    assert.deepEqual([...reserved.value], [0]);
    assert.deepEqual(encodeBody(b, 'request'), SPEC_INIT_REQUEST);
  });

  it('reads a capacity of 0 as a NULL buffer (size query) and writes a count-only au', () => {
    const b = decodeBody(SPEC_SLOTLIST_QUERY, 'request');
    assert.deepEqual(b.values.map((v) => v.value), [0, null]);
    const w = new WireWriter().u32(4).signature('au').ulongsLength(1);
    assert.deepEqual(w.finish(), SPEC_SLOTLIST_COUNT);
  });

  it('decodes a legacy CK_MECHANISM: CKM_ECDSA with the NULL parameter marker', () => {
    const b = decodeBody(SPEC_SIGNINIT, 'request', 'legacy');
    assert.deepEqual(b.values.map((v) => v.value), [0x11, { type: CKM.CKM_ECDSA, parameter: null }, 3]);
    assert.deepEqual(encodeBody(b, 'request', 'legacy'), SPEC_SIGNINIT);
  });

  it('writes the ERROR message as call 0, signature "u", one u64 CK_RV', () => {
    assert.deepEqual(new WireWriter().u32(0).signature('u').u64(5).finish(), SPEC_ERROR);
  });

  it('decodes fA requests and aAu responses with typed byte attributes', () => {
    const req = decodeBody(SPEC_GETATTR_REQUEST, 'request');
    assert.deepEqual(req.values[2]!.value, [{ type: CKA.CKA_ALWAYS_AUTHENTICATE, capacity: 1 }]);
    const res = decodeBody(SPEC_GETATTR_RESPONSE, 'response');
    assert.deepEqual(res.values[0]!.value, [{ type: 0x202, length: 1, value: Uint8Array.of(0) }]);
    assert.equal(res.values[1]!.value, 0);
    assert.deepEqual(encodeBody(res, 'response'), SPEC_GETATTR_RESPONSE);
  });
});

describe('wire codec: frames captured from p11-kit-client.so and the C server', () => {
  for (const [name, capture] of Object.entries(CAPTURES)) {
    it(`${name}: every client request parses with its table signature and re-encodes to the same bytes`, () => {
      const frames = framesOf(hex(capture.client));
      assert.ok(frames.length >= 3, `${frames.length} frames`);
      for (const f of frames) {
        assert.equal(toHexString(f.options), toHexString(Buffer.from('client')));
        const b = decodeBody(f.body, 'request');
        assert.equal(b.signature, RPC_CALLS[b.id]!.request, `call ${b.id}`);
        assert.equal(toHexString(encodeBody(b, 'request')), toHexString(f.body), RPC_CALLS[b.id]!.name);
      }
    });

    it(`${name}: every server response echoes the request code, has the call's or ERROR's signature, and re-encodes`, () => {
      const requests = framesOf(hex(capture.client));
      const responses = framesOf(hex(capture.server));
      assert.equal(responses.length, requests.length);
      responses.forEach((f, i) => {
        const req = decodeBody(requests[i]!.body, 'request');
        assert.equal(f.code, requests[i]!.code);
        assert.equal(f.options.length, 0);
        const b = decodeBody(f.body, 'response');
        if (b.id === 0) assert.equal(b.signature, 'u');
        else {
          assert.equal(b.id, req.id);
          assert.equal(b.signature, RPC_CALLS[b.id]!.response);
        }
        assert.equal(toHexString(encodeBody(b, 'response')), toHexString(f.body));
      });
    });
  }

  it('the keygen capture carries typed attributes: CKA_CLASS as u64 with native length 8, CKA_TOKEN as 1 byte', () => {
    const frames = framesOf(hex(CAPTURES.keygen.client));
    const gen = frames.map((f) => decodeBody(f.body, 'request')).find((b) => b.id === 59)!;
    const pub = gen.values[2]!.value as WireAttribute[];
    const cls = pub.find((a) => a.type === CKA.CKA_CLASS);
    const tok = pub.find((a) => a.type === CKA.CKA_TOKEN);
    assert.equal(cls?.length, 8);
    assert.deepEqual([...cls!.value!], [2, 0, 0, 0, 0, 0, 0, 0]); // CKO_PUBLIC_KEY, canonical little-endian
    assert.equal(tok?.length, 1);
    assert.deepEqual([...tok!.value!], [1]);
    assert.deepEqual(gen.values[1]!.value, { type: CKM.CKM_EC_KEY_PAIR_GEN, parameter: null });
  });
});

describe('wire codec: mechanism layouts (P2)', () => {
  const ecdsa: WireMechanism = { type: CKM.CKM_ECDSA, parameter: null };
  const pss: WireMechanism = { type: CKM.CKM_RSA_PKCS_PSS, parameter: { kind: 'pss', hashAlg: CKM.CKM_SHA256, mgf: 2, saltLen: 32 } };

  it('a parameterless mechanism is the type and a NULL array (legacy) or the type alone (typed)', () => {
    assert.equal(toHexString(new WireWriter().mechanism(ecdsa, 'legacy').finish()), '00001041ffffffff');
    assert.equal(toHexString(new WireWriter().mechanism(ecdsa, 'typed').finish()), '00001041');
  });

  it('RSA-PSS parameters are three u64 (legacy) and a has-parameter byte first (typed)', () => {
    const u64 = (n: number): string => n.toString(16).padStart(16, '0');
    const params = u64(CKM.CKM_SHA256) + u64(2) + u64(32);
    assert.equal(toHexString(new WireWriter().mechanism(pss, 'legacy').finish()), '0000000d' + params);
    assert.equal(toHexString(new WireWriter().mechanism(pss, 'typed').finish()), '0000000d01' + params);
  });

  it('round-trips byte, u64 and structured parameters in both layouts', () => {
    const cases: WireMechanism[] = [
      ecdsa,
      pss,
      { type: CKM.CKM_RSA_PKCS_OAEP, parameter: { kind: 'oaep', hashAlg: CKM.CKM_SHA256, mgf: 2, source: 1, sourceData: Uint8Array.of(1, 2) } },
      { type: CKM.CKM_AES_CBC, parameter: { kind: 'bytes', value: new Uint8Array(16).fill(7) } },
    ];
    for (const format of ['legacy', 'typed'] as const) {
      for (const m of cases) {
        const r = new WireReader(new WireWriter().mechanism(m, format).finish());
        assert.deepEqual(r.mechanism(format), m);
        r.end();
      }
    }
    const typedOnly: WireMechanism[] = [
      { type: CKM.CKM_AES_GCM, parameter: { kind: 'gcm', iv: new Uint8Array(12), ivBits: 96, aad: null, tagBits: 128 } },
      { type: CKM.CKM_SHA256_HMAC_GENERAL, parameter: { kind: 'ulong', value: 16 } },
      { type: CKM.CKM_ECDH1_DERIVE, parameter: { kind: 'ecdh1', kdf: 1, sharedData: null, publicData: Uint8Array.of(4, 1) } },
    ];
    for (const m of typedOnly) assert.deepEqual(new WireReader(new WireWriter().mechanism(m, 'typed').finish()).mechanism('typed'), m);
  });
});

describe('wire codec: attributes by type (P4)', () => {
  it('knows the p11-kit kinds of representative attributes', () => {
    assert.equal(wireValueKind(CKA.CKA_SIGN), 'byte');
    assert.equal(wireValueKind(CKA.CKA_KEY_TYPE), 'ulong');
    assert.equal(wireValueKind(CKA.CKA_WRAP_TEMPLATE), 'attributes');
    assert.equal(wireValueKind(CKA.CKA_ALLOWED_MECHANISMS), 'mechanisms');
    assert.equal(wireValueKind(CKA.CKA_START_DATE), 'date');
    assert.equal(wireValueKind(CKA.CKA_EC_POINT), 'bytes');
    assert.equal(wireValueKind(0x80000001), 'bytes');
    // p11-kit sends CKA_DESTROYABLE as a byte array (it is not on its list).
    assert.equal(wireValueKind(CKA.CKA_DESTROYABLE), 'bytes');
  });

  it('writes a u64 big-endian for a ulong attribute and one byte for a boolean, with the native lengths', () => {
    const w = new WireWriter().attributes([
      { type: CKA.CKA_CLASS, length: 8, value: Uint8Array.of(3, 0, 0, 0, 0, 0, 0, 0) },
      { type: CKA.CKA_SIGN, length: 1, value: Uint8Array.of(1) },
      { type: CKA.CKA_LABEL, length: 2, value: Uint8Array.of(0x6b, 0x31) },
      { type: CKA.CKA_VALUE, length: null, value: null },
    ]);
    assert.equal(
      toHexString(w.finish()),
      '00000004' + '00000000' + '01' + '00000008' + '0000000000000003' + '00000108' + '01' + '00000001' + '01' + '00000003' + '01' + '00000002' + '00000002' + '6b31' + '00000011' + '00',
    );
  });

  it('round-trips arbitrary attribute arrays, nested templates included', () => {
    const leaf = fc.oneof(
      fc.record({ type: fc.constantFrom(CKA.CKA_TOKEN, CKA.CKA_SIGN), length: fc.constant(1), value: fc.integer({ min: 0, max: 1 }).map((b) => Uint8Array.of(b)) }),
      fc.record({ type: fc.constantFrom(CKA.CKA_CLASS, CKA.CKA_KEY_TYPE), length: fc.constant(8), value: fc.integer({ min: 0, max: 2 ** 32 - 1 }).map((v) => Uint8Array.from(Buffer.from(BigInt(v).toString(16).padStart(16, '0'), 'hex').reverse())) }),
      fc.record({ type: fc.constantFrom(CKA.CKA_LABEL, CKA.CKA_ID, 0x80001234), length: fc.nat(64), value: fc.option(fc.uint8Array({ maxLength: 40 }), { nil: null }) }),
      fc.record({ type: fc.constant(CKA.CKA_ALLOWED_MECHANISMS), length: fc.constant(16), value: fc.constant(Uint8Array.of(0x41, 0x10, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0)) }),
      fc.record({ type: fc.constant(CKA.CKA_EC_POINT), length: fc.constant(null), value: fc.constant(null) }),
    ).map((a): WireAttribute => ({ ...a })); // plain objects (fast-check records have no prototype)
    const nested = fc.array(leaf, { maxLength: 3 }).map((n): WireAttribute => ({ type: CKA.CKA_WRAP_TEMPLATE, length: n.length * 24, value: null, nested: n }));
    fc.assert(
      fc.property(fc.array(fc.oneof(leaf, nested), { maxLength: 8 }), (attrs) => {
        const r = new WireReader(new WireWriter().attributes(attrs).finish());
        assert.deepEqual(r.attributes(), attrs);
        r.end();
      }),
    );
  });
});

describe('wire codec: limits (P11)', () => {
  it('refuses byte array lengths of 0x7FFFFFFF and more, and NULL is 0xFFFFFFFF', () => {
    assert.throws(() => new WireReader(hex('7fffffff')).byteArray(), WireError);
    assert.throws(() => new WireReader(hex('fffffffe')).byteArray(), WireError);
    assert.equal(new WireReader(hex('ffffffff')).byteArray(), null);
  });

  it('refuses an attribute count the message cannot hold before reading any attribute', () => {
    assert.throws(() => new WireReader(hex('ffffff00 00000001 00')).attributes(), /attributes needs/);
    assert.throws(() => new WireReader(hex('10000000')).attributeRequests(), WireError);
  });

  it('refuses templates nested deeper than 8', () => {
    let body = '00000001' + '40000211' + '01' + '00000018';
    let deep = '';
    for (let i = 0; i < 9; i++) deep += body;
    deep += '00000000';
    assert.throws(() => new WireReader(hex(deep)).attributes(), /deeper than 8/);
    body = '00000001' + '40000211' + '01' + '00000018' + '00000000';
    assert.equal(new WireReader(hex(body)).attributes()[0]!.nested!.length, 0);
  });

  it('refuses a truncated u64 and trailing bytes', () => {
    assert.throws(() => new WireReader(hex('00000000 000000')).u64(), WireError);
    const r = new WireReader(hex('00'));
    assert.throws(() => r.end(), /unexpected bytes/);
  });

  it('refuses a space-padded string of the wrong field size when writing (P8)', () => {
    assert.throws(() => new WireWriter().spaceString('short', 32), RangeError);
  });
});
