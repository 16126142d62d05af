import { nodeCrypto } from '../../src/node/node-crypto.js';
import type { KeyCrypto } from '../../src/crypto/key-crypto.js';
import { CKF_SESSION, CKR, CKU } from '../../src/pkcs11/constants.js';
import type { ObjectStore } from '../../src/pkcs11/pal/object-store.js';
import { Pkcs11Error } from '../../src/pkcs11/pkcs11-error.js';
import { createTokenDrbg } from '../../src/pkcs11/token/token-drbg.js';
import { Token, type TokenOptions } from '../../src/pkcs11/token/token.js';

/** A KeyCrypto for tests that never touch asymmetric keys: any use fails the test. */
export const NO_KEYS: KeyCrypto = new Proxy({} as KeyCrypto, {
  get(_t, name) {
    return () => {
      throw new Error(`KeyCrypto.${String(name)} was called by a test that uses no asymmetric key`);
    };
  },
});

export const SO_PIN = '87654321';
export const USER_PIN = '12345678';
export const RW = CKF_SESSION.CKF_SERIAL_SESSION | CKF_SESSION.CKF_RW_SESSION;
export const RO = CKF_SESSION.CKF_SERIAL_SESSION;
export const pin = (s: string): Uint8Array => new TextEncoder().encode(s);

/** A token over `store` with fast PIN hashing (tests only), initialised as a library. */
export function testToken(store: ObjectStore, options: Partial<TokenOptions> = {}): Token {
  const token = new Token({ store, crypto: nodeCrypto, keys: NO_KEYS, random: createTokenDrbg(nodeCrypto), pinIterations: 1000, ...options });
  token.initialize();
  return token;
}

/** Initialises the token with {@link SO_PIN} and {@link USER_PIN}; returns nothing open. */
export function initTestToken(token: Token, label = 'test token'): void {
  token.initToken(token.slotId, pin(SO_PIN), label);
  const s = token.openSession(token.slotId, RW);
  token.loginAs(s, CKU.CKU_SO, pin(SO_PIN));
  token.initPin(s, pin(USER_PIN));
  token.closeSession(s);
}

/** The CKR `f` throws (a Pkcs11Error), or fails the test. */
export function ckrOf(f: () => unknown): number {
  try {
    f();
  } catch (e) {
    if (e instanceof Pkcs11Error) return e.ckr;
    throw e;
  }
  throw new Error('expected a Pkcs11Error, the call succeeded');
}

export { CKR };
