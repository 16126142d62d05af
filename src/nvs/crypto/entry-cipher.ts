import type { CryptoProvider } from '../../crypto/provider.js';
import { XtsCipher } from '../../crypto/xts.js';
import { NvsecError } from '../../errors/nvsec-error.js';
import { ENTRY_SIZE } from '../format/constants.js';
import { type NvsKeys, xtsKeyOf } from './keys-partition.js';

/**
 * NVS entry encryption as ESP-IDF does it: XTS-AES-256, each 32-byte entry its own data unit,
 * the tweak being the entry's byte offset from the start of the partition.
 *
 * @example
 * const cipher = new NvsEntryCipher(nodeCrypto, keys);
 * const plain = cipher.decrypt(entries, 0x40); // entries at partition offsets 0x40, 0x60, ...
 * cipher.destroy();
 */
export class NvsEntryCipher {
  private xts: XtsCipher | null;

  constructor(crypto: CryptoProvider, keys: NvsKeys) {
    const key = xtsKeyOf(keys);
    this.xts = new XtsCipher(crypto, key);
    key.fill(0);
  }

  /** Encrypts entries stored at consecutive offsets from `offset`. */
  encrypt(entries: Uint8Array, offset: number): Uint8Array {
    return this.k().encrypt(entries, ENTRY_SIZE, consecutive(offset, entries.length));
  }

  /** Decrypts entries stored at consecutive offsets from `offset`. */
  decrypt(entries: Uint8Array, offset: number): Uint8Array {
    return this.k().decrypt(entries, ENTRY_SIZE, consecutive(offset, entries.length));
  }

  /** Encrypts entries stored at the given offsets (one per 32 bytes of `entries`). */
  encryptAt(entries: Uint8Array, offsets: ArrayLike<number>): Uint8Array {
    return this.k().encrypt(entries, ENTRY_SIZE, offsets);
  }

  /** Decrypts entries stored at the given offsets (one per 32 bytes of `entries`). */
  decryptAt(entries: Uint8Array, offsets: ArrayLike<number>): Uint8Array {
    return this.k().decrypt(entries, ENTRY_SIZE, offsets);
  }

  /** Zeroizes the key; any later use throws. */
  destroy(): void {
    this.xts?.destroy();
    this.xts = null;
  }

  private k(): XtsCipher {
    if (!this.xts) throw new NvsecError('NVS_CIPHER_DESTROYED', 'This NVS entry cipher was destroyed: create a new one with the keys');
    return this.xts;
  }
}

function consecutive(offset: number, bytes: number): number[] {
  const n = bytes / ENTRY_SIZE;
  const out = new Array<number>(n);
  for (let i = 0; i < n; i++) out[i] = offset + i * ENTRY_SIZE;
  return out;
}
