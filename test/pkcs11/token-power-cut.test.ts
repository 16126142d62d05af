import assert from 'node:assert/strict';
import * as crypto from 'node:crypto';
import { describe, it } from 'node:test';
import { SECTOR_SIZE } from '../../src/flash/flash.js';
import { PowerCutError } from '../../src/flash/flash-error.js';
import type { Flash } from '../../src/flash/flash.js';
import { MemoryFlash } from '../../src/flash/memory-flash.js';
import { PowerCutFlash } from '../../src/flash/power-cut-flash.js';
import { NvsStorage } from '../../src/nvs/store/storage.js';
import { CKA, CKF_TOKEN, CKK, CKO, CKU } from '../../src/pkcs11/constants.js';
import { NvsObjectStore } from '../../src/pkcs11/pal/nvs-object-store.js';
import { Pkcs11Error } from '../../src/pkcs11/pkcs11-error.js';
import { ulongBytes } from '../../src/pkcs11/token/attribute-map.js';
import type { Token } from '../../src/pkcs11/token/token.js';
import { nvsEnc } from './_backends.js';
import { CKR, initTestToken, pin, RW, testToken, USER_PIN } from './_token.js';

/*
 * Power cuts under the token (not only under the object store): every flash write and erase of
 * C_CreateObject replacing a credential, of a failed C_Login (its counter update) and of C_SetPIN
 * is cut, clean and torn; the recovered token must open, and hold the old state or the new one.
 */

const TEARS = [0, 5, 40];
const open = (flash: Flash): Token => testToken(new NvsObjectStore(NvsStorage.init(flash, nvsEnc()).open('pkcs11', 'readwrite')));
const hmac = (value: Uint8Array) => [
  { type: CKA.CKA_CLASS, value: ulongBytes(CKO.CKO_SECRET_KEY) },
  { type: CKA.CKA_KEY_TYPE, value: ulongBytes(CKK.CKK_SHA256_HMAC) },
  { type: CKA.CKA_TOKEN, value: Uint8Array.of(1) },
  { type: CKA.CKA_LABEL, value: new TextEncoder().encode('HMAC Key') },
  { type: CKA.CKA_VALUE, value },
];

/** The HMAC key's value as the token shows it (extractable test key), or null when absent. */
function hmacValue(token: Token, session: number): Uint8Array | null {
  token.findObjectsInit(session, [{ type: CKA.CKA_LABEL, value: new TextEncoder().encode('HMAC Key') }]);
  const [h] = token.findObjects(session, 2);
  token.findObjectsFinal(session);
  if (h === undefined) return null;
  return token.getAttributeValue(session, h, [{ type: CKA.CKA_VALUE, capacity: 1024 }]).attributes[0]!.value;
}

const extractable = (value: Uint8Array) => [...hmac(value), { type: CKA.CKA_SENSITIVE, value: Uint8Array.of(0) }, { type: CKA.CKA_EXTRACTABLE, value: Uint8Array.of(1) }];

/** The base image: an initialised token holding key v1. */
function baseImage(v1: Uint8Array): Uint8Array {
  const flash = new MemoryFlash(6 * SECTOR_SIZE);
  const token = open(flash);
  initTestToken(token);
  const s = token.openSession(token.slotId, RW);
  token.loginAs(s, CKU.CKU_USER, pin(USER_PIN));
  token.createObject(s, extractable(v1));
  token.finalize();
  return flash.bytes.slice();
}

/** Whether `e` is, or was caused by, the simulated power cut (the store and token wrap it). */
function isPowerCut(e: unknown): boolean {
  for (let c: unknown = e; c instanceof Error; c = c.cause) if (c instanceof PowerCutError) return true;
  return false;
}

/** Runs `step` on a copy of `image` cut at every operation; `check` judges each recovered token. */
function campaign(image: Uint8Array, step: (t: Token) => void, check: (t: Token, cut: number) => void): number {
  const counter = new PowerCutFlash(new MemoryFlash(image), null);
  step(open(counter));
  let points = 0;
  for (let at = 1; at <= counter.operations; at++) {
    for (const tearBytes of TEARS) {
      const copy = new MemoryFlash(image);
      assert.throws(() => step(open(new PowerCutFlash(copy, { cutAt: at, tearBytes }))), isPowerCut);
      check(open(copy), at);
      points++;
    }
  }
  assert.ok(counter.operations > 0);
  return points;
}

describe('Token under power cuts (encrypted NVS)', () => {
  it('C_CreateObject replacing a credential: the token opens with the old key or the new one', (t) => {
    const v1 = crypto.randomBytes(32);
    const v2 = crypto.randomBytes(48);
    const points = campaign(
      baseImage(v1),
      (t) => {
        const s = t.openSession(t.slotId, RW);
        t.loginAs(s, CKU.CKU_USER, pin(USER_PIN));
        t.createObject(s, extractable(v2));
      },
      (t, at) => {
        const s = t.openSession(t.slotId, RW);
        t.loginAs(s, CKU.CKU_USER, pin(USER_PIN));
        const got = hmacValue(t, s);
        assert.ok(got !== null && (Buffer.from(got).equals(v1) || Buffer.from(got).equals(v2)), `cut ${at}: the key is neither old nor new`);
      },
    );
    assert.ok(points >= 3 * 3);
    t.diagnostic(`${points} cut points`);
  });

  it('a failed C_Login: the failure is counted or nothing happened, and the token still opens', (t) => {
    const points = campaign(
      baseImage(crypto.randomBytes(32)),
      (t) => {
        const s = t.openSession(t.slotId, RW);
        try {
          t.loginAs(s, CKU.CKU_USER, pin('00000000'));
        } catch (e) {
          if (!(e instanceof Pkcs11Error && e.ckr === CKR.CKR_PIN_INCORRECT)) throw e;
        }
      },
      (t, at) => {
        const flags = t.getTokenInfo(t.slotId).flags;
        assert.equal(flags & (CKF_TOKEN.CKF_USER_PIN_FINAL_TRY | CKF_TOKEN.CKF_USER_PIN_LOCKED), 0, `cut ${at}: the counter moved by more than one`);
        const s = t.openSession(t.slotId, RW);
        t.loginAs(s, CKU.CKU_USER, pin(USER_PIN));
      },
    );
    assert.ok(points > 0);
    t.diagnostic(`${points} cut points`);
  });

  it('C_SetPIN: exactly one of the old and the new PIN opens the token, with the keys intact', (t) => {
    const v1 = crypto.randomBytes(32);
    const points = campaign(
      baseImage(v1),
      (t) => {
        const s = t.openSession(t.slotId, RW);
        t.loginAs(s, CKU.CKU_USER, pin(USER_PIN));
        t.setPin(s, pin(USER_PIN), pin('newpin99'));
      },
      (t, at) => {
        const s = t.openSession(t.slotId, RW);
        const ok = [USER_PIN, 'newpin99'].filter((p) => {
          try {
            t.loginAs(s, CKU.CKU_USER, pin(p));
            t.logout(s);
            return true;
          } catch {
            return false;
          }
        });
        assert.equal(ok.length, 1, `cut ${at}: ${ok.length} PINs open the token`);
        t.loginAs(s, CKU.CKU_USER, pin(ok[0]!));
        assert.deepEqual(Buffer.from(hmacValue(t, s)!), v1);
      },
    );
    t.diagnostic(`${points} cut points`);
  });
});
