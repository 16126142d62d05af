import type { KeyCrypto } from '../crypto/key-crypto.js';

/** Placeholder until the OpenSSL-backed implementation lands. */
export async function loadNodeKeyCrypto(): Promise<KeyCrypto> {
  throw new Error('loadNodeKeyCrypto: not implemented yet');
}
