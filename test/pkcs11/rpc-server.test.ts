import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { p256 } from '@noble/curves/nist.js';
import { nodeCrypto } from '../../src/node/node-crypto.js';
import { loadNodeKeyCrypto } from '../../src/node/node-key-crypto.js';
import { CKA, CKF_SESSION, CKM, CKO, CKR, CKS, CKU } from '../../src/pkcs11/constants.js';
import { MemoryObjectStore } from '../../src/pkcs11/pal/memory-object-store.js';
import { RPC_CALL, RPC_CALLS } from '../../src/pkcs11/rpc/calls.js';
import { encodeFrame } from '../../src/pkcs11/rpc/frames.js';
import type { WireAttribute } from '../../src/pkcs11/rpc/wire.js';
import { createTokenDrbg } from '../../src/pkcs11/token/token-drbg.js';
import { MECHANISM_INFO } from '../../src/pkcs11/token/mechanisms.js';
import { Token } from '../../src/pkcs11/token/token.js';
import { CAPTURES } from './_rpc-captures.js';
import { FakeClient, decodeBody, errorRv, framesOf, hex, initializeArgs, request, toHexString } from './_rpc.js';
import { SO_PIN, USER_PIN, initTestToken, pin } from './_token.js';

const RW = CKF_SESSION.CKF_SERIAL_SESSION | CKF_SESSION.CKF_RW_SESSION;
const keys = await loadNodeKeyCrypto();

/** A token like the served one, slot 0x11 as p11-kit's server numbered SoftHSM's slot in the captures. */
function token(slotId = 0x11): Token {
  const t = new Token({ store: new MemoryObjectStore(), crypto: nodeCrypto, keys, random: createTokenDrbg(nodeCrypto), pinIterations: 1000, slotId });
  t.initialize();
  return t;
}

const ulong = (n: number): Uint8Array => Uint8Array.from(Buffer.from(BigInt(n).toString(16).padStart(16, '0'), 'hex').reverse());
const attr = (type: number, value: Uint8Array): WireAttribute => ({ type, length: value.length, value });

function openSession(c: FakeClient, slot: number): number {
  const r = c.call(request(RPC_CALL.C_OpenSession!, (w) => w.u64(slot).u64(RW)))!;
  return decodeBody(r, 'response').values[0]!.value as number;
}

function login(c: FakeClient, s: number): void {
  const r = c.call(request(RPC_CALL.C_Login!, (w) => w.u64(s).u64(CKU.CKU_USER).byte(1).byteArray(pin(USER_PIN))))!;
  assert.equal(errorRv(r), null);
}

/** Generates a P-256 key pair through the RPC (legacy layout); returns [public, private] handles. */
function keygen(c: FakeClient, s: number): [number, number] {
  const p256Oid = hex('06082a8648ce3d030107');
  const r = c.call(
    request(RPC_CALL.C_GenerateKeyPair!, (w) =>
      w
        .u64(s)
        .mechanism({ type: CKM.CKM_EC_KEY_PAIR_GEN, parameter: null }, 'legacy')
        .attributes([attr(CKA.CKA_EC_PARAMS, p256Oid), attr(CKA.CKA_VERIFY, Uint8Array.of(1)), attr(CKA.CKA_LABEL, pin('k'))])
        .attributes([attr(CKA.CKA_SIGN, Uint8Array.of(1)), attr(CKA.CKA_TOKEN, Uint8Array.of(0)), attr(CKA.CKA_LABEL, pin('k'))]),
    ),
  )!;
  assert.equal(errorRv(r), null, `C_GenerateKeyPair: ${toHexString(r)}`);
  return decodeBody(r, 'response').values.map((v) => v.value as number) as [number, number];
}

describe('RpcConnection: handshake', () => {
  it('answers the version byte with min(client, 0) (P1)', () => {
    for (const [offered, answer] of [
      [0, 0],
      [1, 0],
      [2, 0],
    ] as const) {
      const c = new FakeClient(token());
      assert.equal(c.hello(offered), answer);
      assert.equal(c.conn.clientVersion, offered);
    }
  });

  it('answers C_Initialize with the empty response of the capture, and a wrong handshake string with CKR_GENERAL_ERROR (P12)', () => {
    const c = new FakeClient(token());
    c.hello(0);
    const bad = c.call(request(1, (w) => initializeArgs(w, 'PRIVATE-GNOME-KEYRING-PKCS11-PROTOCOL-V-2')))!;
    assert.equal(toHexString(bad), '00000000' + '00000001' + '75' + '0000000000000005');
    const ok = c.call(request(1, initializeArgs))!;
    assert.equal(toHexString(ok), '0000000100000000');
  });

  it('refuses calls before C_Initialize with CKR_CRYPTOKI_NOT_INITIALIZED', () => {
    const c = new FakeClient(token());
    c.hello(0);
    assert.equal(errorRv(c.call(request(RPC_CALL.C_GetInfo!))!), CKR.CKR_CRYPTOKI_NOT_INITIALIZED);
  });
});

describe('RpcConnection: replaying captured client streams', () => {
  for (const name of ['list', 'mechanisms'] as const) {
    it(`${name}: answers every request of p11-kit-client.so with the call's response signature where the C server did, echoing the codes`, () => {
      const c = new FakeClient(token());
      const stream = hex(CAPTURES[name].client);
      c.conn.receive(stream);
      assert.equal(c.closed, false);
      assert.deepEqual([...c.received.shift()!], [0]);
      const mine = framesOf(new Uint8Array(Buffer.concat(c.received)), false);
      const theirs = framesOf(hex(CAPTURES[name].server));
      assert.equal(mine.length, theirs.length);
      const requests = framesOf(stream);
      mine.forEach((f, i) => {
        const a = decodeBody(f.body, 'response');
        const b = decodeBody(theirs[i]!.body, 'response');
        assert.equal(f.code, theirs[i]!.code);
        const req = decodeBody(requests[i]!.body, 'request');
        const mechanism = req.values[1]?.value as number;
        if (req.id === RPC_CALL.C_GetMechanismInfo && !MECHANISM_INFO.has(mechanism)) {
          // SoftHSM has mechanisms this token has not: those are CKR_MECHANISM_INVALID here.
          assert.equal(errorRv(f.body), CKR.CKR_MECHANISM_INVALID);
          return;
        }
        assert.equal(a.id, b.id, `frame ${i}: ${RPC_CALLS[b.id]?.name}`);
        assert.equal(a.signature, b.signature);
      });
    });
  }
});

describe('RpcConnection: C semantics over the wire', () => {
  it('lists slots with a size query then the values, and a too small buffer as a count (P6)', () => {
    const c = new FakeClient(token(7));
    c.init();
    const q = decodeBody(c.call(request(RPC_CALL.C_GetSlotList!, (w) => w.byte(1).capacity(null)))!, 'response');
    assert.deepEqual(q.values[0]!.value, { values: null, count: 1 });
    const v = decodeBody(c.call(request(RPC_CALL.C_GetSlotList!, (w) => w.byte(1).capacity(1)))!, 'response');
    assert.deepEqual(v.values[0]!.value, { values: [7], count: 1 });
    const m = decodeBody(c.call(request(RPC_CALL.C_GetMechanismList!, (w) => w.u64(7).capacity(1)))!, 'response');
    assert.equal((m.values[0]!.value as { values: null }).values, null);
  });

  it('signs with CKM_ECDSA: size query and CKR_BUFFER_TOO_SMALL answers keep the operation; the signature verifies with @noble/curves', () => {
    const t = token();
    initTestToken(t);
    const c = new FakeClient(t);
    c.init();
    const s = openSession(c, 0x11);
    login(c, s);
    const [pub, priv] = keygen(c, s);
    const init = c.call(request(RPC_CALL.C_SignInit!, (w) => w.u64(s).mechanism({ type: CKM.CKM_ECDSA, parameter: null }, 'legacy').u64(priv)))!;
    assert.equal(toHexString(init), '0000002a00000000');
    const hash = nodeCrypto.digest('sha256', pin('hello'));
    const sign = (capacity: number | null): { value: Uint8Array | null; length: number } =>
      decodeBody(c.call(request(RPC_CALL.C_Sign!, (w) => w.u64(s).bytes(hash).capacity(capacity)))!, 'response').values[0]!.value as { value: Uint8Array | null; length: number };
    assert.deepEqual(sign(null), { value: null, length: 64 });
    assert.deepEqual(sign(10), { value: null, length: 64 });
    const sig = sign(64);
    assert.equal(sig.value?.length, 64);
    // The public point, read back through C_GetAttributeValue (DER OCTET STRING around 04||X||Y).
    const ga = decodeBody(c.call(request(RPC_CALL.C_GetAttributeValue!, (w) => w.u64(s).u64(pub).attributeRequests([{ type: CKA.CKA_EC_POINT, capacity: 200 }])))!, 'response');
    const point = (ga.values[0]!.value as WireAttribute[])[0]!.value!;
    assert.equal(ga.values[1]!.value, CKR.CKR_OK);
    assert.ok(p256.verify(sig.value!, hash, point.subarray(2), { prehash: false, format: 'compact', lowS: false }));
    // The operation ended with the signature.
    assert.equal(errorRv(c.call(request(RPC_CALL.C_Sign!, (w) => w.u64(s).bytes(hash).capacity(64)))!), CKR.CKR_OPERATION_NOT_INITIALIZED);
  });

  it('answers C_GetAttributeValue with per-attribute results and the trailing rv (sensitive, invalid type, too small)', () => {
    const t = token();
    initTestToken(t);
    const c = new FakeClient(t);
    c.init();
    const s = openSession(c, 0x11);
    login(c, s);
    const [, priv] = keygen(c, s);
    const ask = (reqs: { type: number; capacity: number | null }[]): [WireAttribute[], number] => {
      const b = decodeBody(c.call(request(RPC_CALL.C_GetAttributeValue!, (w) => w.u64(s).u64(priv).attributeRequests(reqs)))!, 'response');
      return [b.values[0]!.value as WireAttribute[], b.values[1]!.value as number];
    };
    const [a1, rv1] = ask([{ type: CKA.CKA_CLASS, capacity: null }, { type: CKA.CKA_VALUE, capacity: 100 }, { type: CKA.CKA_SIGN, capacity: 1 }]);
    assert.equal(rv1, CKR.CKR_ATTRIBUTE_SENSITIVE);
    assert.deepEqual(a1, [
      { type: CKA.CKA_CLASS, length: 8, value: ulong(0) }, // length query: u64 0 stands for the NULL value
      { type: CKA.CKA_VALUE, length: null, value: null },
      { type: CKA.CKA_SIGN, length: 1, value: Uint8Array.of(1) },
    ]);
    const [a2, rv2] = ask([{ type: CKA.CKA_CLASS, capacity: 8 }, { type: CKA.CKA_LABEL, capacity: null }, { type: 0x7777, capacity: 4 }]);
    assert.equal(rv2, CKR.CKR_ATTRIBUTE_TYPE_INVALID);
    assert.deepEqual(a2[0], { type: CKA.CKA_CLASS, length: 8, value: ulong(CKO.CKO_PRIVATE_KEY) });
    assert.deepEqual(a2[1], { type: CKA.CKA_LABEL, length: 1, value: null });
    assert.deepEqual(a2[2], { type: 0x7777, length: null, value: null });
    const [, rv3] = ask([{ type: CKA.CKA_LABEL, capacity: null }, { type: CKA.CKA_EC_PARAMS, capacity: 2 }]);
    assert.equal(rv3, CKR.CKR_BUFFER_TOO_SMALL);
  });

  it('answers functions the token lacks with CKR_FUNCTION_NOT_SUPPORTED, 3.0 calls too', () => {
    const c = new FakeClient(token());
    c.init();
    const s = openSession(c, 0x11);
    assert.equal(errorRv(c.call(request(RPC_CALL.C_EncryptInit!, (w) => w.u64(s).mechanism({ type: CKM.CKM_AES_ECB, parameter: null }, 'legacy').u64(1)))!), CKR.CKR_FUNCTION_NOT_SUPPORTED);
    assert.equal(errorRv(c.call(request(RPC_CALL.C_GetOperationState!, (w) => w.u64(s).capacity(null)))!), CKR.CKR_FUNCTION_NOT_SUPPORTED);
    assert.equal(errorRv(c.call(request(RPC_CALL.C_WaitForSlotEvent!, (w) => w.u64(0)))!), CKR.CKR_FUNCTION_NOT_SUPPORTED);
    assert.equal(errorRv(c.call(request(RPC_CALL.C_SessionCancel!, (w) => w.u64(s).u64(0)))!), CKR.CKR_FUNCTION_NOT_SUPPORTED);
    assert.equal(c.closed, false);
  });

  it('C_GenerateRandom answers the bytes asked for, and no bytes for capacity 0', () => {
    const c = new FakeClient(token());
    c.init();
    const s = openSession(c, 0x11);
    const r = decodeBody(c.call(request(RPC_CALL.C_GenerateRandom!, (w) => w.u64(s).capacity(33)))!, 'response');
    assert.equal((r.values[0]!.value as { value: Uint8Array }).value.length, 33);
    const z = decodeBody(c.call(request(RPC_CALL.C_GenerateRandom!, (w) => w.u64(s).capacity(null)))!, 'response');
    assert.equal((z.values[0]!.value as { value: Uint8Array }).value.length, 0);
    assert.equal(errorRv(c.call(request(RPC_CALL.C_GenerateRandom!, (w) => w.u64(s).capacity(0x7fffffff)))!), CKR.CKR_ARGUMENTS_BAD);
  });
});

describe('RpcConnection: connections (P10)', () => {
  it('keeps sessions per connection: another connection cannot use them, and they close when the connection ends', () => {
    const t = token();
    const a = new FakeClient(t);
    const b = new FakeClient(t);
    a.init();
    b.init();
    const s = openSession(a, 0x11);
    assert.equal(errorRv(b.call(request(RPC_CALL.C_GetSessionInfo!, (w) => w.u64(s)))!), CKR.CKR_SESSION_HANDLE_INVALID);
    assert.equal(errorRv(a.call(request(RPC_CALL.C_GetSessionInfo!, (w) => w.u64(s)))!), null);
    assert.equal(t.getTokenInfo(0x11).sessionCount, 1);
    a.conn.end();
    assert.equal(t.getTokenInfo(0x11).sessionCount, 0);
    assert.equal(errorRv(b.call(request(RPC_CALL.C_OpenSession!, (w) => w.u64(0x11).u64(RW)))!), null);
  });

  it('a login belongs to the client that made it: others are refused what it protects until it logs out or goes away', () => {
    const t = token();
    initTestToken(t);
    const a = new FakeClient(t);
    const b = new FakeClient(t);
    a.init();
    b.init();
    const sa = openSession(a, 0x11);
    const sb = openSession(b, 0x11);
    login(a, sa);
    const [, priv] = keygen(a, sa);
    const refused = CKR.CKR_USER_ANOTHER_ALREADY_LOGGED_IN;
    // B cannot use A's login: not to find or read objects, not to sign, not to log in over it.
    assert.equal(errorRv(b.call(request(RPC_CALL.C_FindObjectsInit!, (w) => w.u64(sb).attributes([])))!), refused);
    assert.equal(errorRv(b.call(request(RPC_CALL.C_GetAttributeValue!, (w) => w.u64(sb).u64(priv).attributeRequests([{ type: CKA.CKA_LABEL, capacity: null }])))!), refused);
    assert.equal(errorRv(b.call(request(RPC_CALL.C_SignInit!, (w) => w.u64(sb).mechanism({ type: CKM.CKM_ECDSA, parameter: null }, 'legacy').u64(priv)))!), refused);
    assert.equal(errorRv(b.call(request(RPC_CALL.C_Login!, (w) => w.u64(sb).u64(CKU.CKU_USER).byte(1).byteArray(pin(USER_PIN))))!), refused);
    // What reveals nothing stays open.
    assert.equal(errorRv(b.call(request(RPC_CALL.C_GetTokenInfo!, (w) => w.u64(0x11)))!), null);
    // A logs out: B logs in itself. Then B's connection goes away mid-login: the login ends with it.
    assert.equal(errorRv(a.call(request(RPC_CALL.C_Logout!, (w) => w.u64(sa)))!), null);
    login(b, sb);
    assert.equal(errorRv(a.call(request(RPC_CALL.C_FindObjectsInit!, (w) => w.u64(sa).attributes([])))!), refused);
    b.conn.end();
    assert.equal(t.getSessionInfo(sa).state, CKS.CKS_RW_PUBLIC_SESSION, 'the token is logged out once the holder is gone');
    assert.equal(errorRv(a.call(request(RPC_CALL.C_FindObjectsInit!, (w) => w.u64(sa).attributes([])))!), null);
  });

  it('C_Finalize closes only this connection\'s sessions', () => {
    const t = token();
    const a = new FakeClient(t);
    const b = new FakeClient(t);
    a.init();
    b.init();
    openSession(a, 0x11);
    openSession(b, 0x11);
    assert.equal(errorRv(a.call(request(RPC_CALL.C_Finalize!))!), null);
    assert.equal(t.getTokenInfo(0x11).sessionCount, 1);
  });

  it('C_InitToken and C_InitPIN through the wire make a token the user can log in to', () => {
    const t = token();
    const c = new FakeClient(t);
    c.init();
    const label = 'served'.padEnd(32, ' ');
    assert.equal(errorRv(c.call(request(RPC_CALL.C_InitToken!, (w) => w.u64(0x11).byte(1).byteArray(pin(SO_PIN)).zeroString(label)))!), null);
    assert.equal(t.getTokenInfo(0x11).label.trimEnd(), 'served');
    const s = openSession(c, 0x11);
    assert.equal(errorRv(c.call(request(RPC_CALL.C_Login!, (w) => w.u64(s).u64(CKU.CKU_SO).byte(1).byteArray(pin(SO_PIN))))!), null);
    assert.equal(errorRv(c.call(request(RPC_CALL.C_InitPIN!, (w) => w.u64(s).byte(1).byteArray(pin(USER_PIN))))!), null);
    assert.equal(errorRv(c.call(request(RPC_CALL.C_Logout!, (w) => w.u64(s)))!), null);
    const wrong = c.call(request(RPC_CALL.C_Login!, (w) => w.u64(s).u64(CKU.CKU_USER).byte(1).byteArray(pin('00000000'))))!;
    assert.equal(errorRv(wrong), CKR.CKR_PIN_INCORRECT);
    login(c, s);
  });
});

describe('RpcConnection: a client gone mid-call', () => {
  it('ending the connection with half a frame received closes its sessions and throws nothing', () => {
    const t = token();
    const c = new FakeClient(t);
    c.init();
    openSession(c, 0x11);
    const frame = encodeFrame(0x20, request(RPC_CALL.C_GetSessionInfo!, (w) => w.u64(1)));
    c.conn.receive(frame.subarray(0, 17));
    assert.equal(c.received.length, 0);
    c.conn.end();
    assert.equal(t.getTokenInfo(0x11).sessionCount, 0);
    c.conn.receive(frame.subarray(17));
    assert.equal(c.received.length, 0);
  });
});

describe('RpcConnection: malformed input', () => {
  const cases: [string, Uint8Array][] = [
    ['an unknown call id', encodeFrame(0x10, hex('000000ff 00000000'))],
    ['a wrong signature string', encodeFrame(0x10, hex('00000003 00000001 75 0000000000000001'))],
    ['a truncated argument', encodeFrame(0x10, hex('0000000b 00000001 75 00000000'))],
    ['trailing bytes', encodeFrame(0x10, hex('00000003 00000000 00'))],
    ['a byte array over the limit', encodeFrame(0x10, hex('00000001 00000005 6179796179 01 7fffffff'))],
    ['a body length over the limit', hex('00000010 00000000 7fffffff')],
  ];
  for (const [what, frame] of cases) {
    it(`drops a connection that sends ${what}, and another connection keeps working`, () => {
      const t = token();
      const good = new FakeClient(t);
      good.init();
      const s = openSession(good, 0x11);
      const bad = new FakeClient(t);
      bad.init();
      const badSession = openSession(bad, 0x11);
      bad.conn.receive(frame);
      assert.equal(bad.closed, true);
      assert.equal(bad.received.length, 0);
      assert.throws(() => t.getSessionInfo(badSession));
      bad.conn.receive(request(RPC_CALL.C_GetInfo!));
      assert.equal(bad.received.length, 0);
      assert.equal(errorRv(good.call(request(RPC_CALL.C_GetSessionInfo!, (w) => w.u64(s)))!), null);
    });
  }
});
