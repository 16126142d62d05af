import { NvsecError } from '../errors/nvsec-error.js';
import type { AesEcb, CryptoProvider } from './provider.js';

/**
 * XTS-AES (IEEE 1619, NIST SP 800-38E) for data units that are whole 16-byte blocks (no
 * ciphertext stealing), composed from the provider's keyed AES-ECB: per call, one ECB call
 * encrypts the tweaks of every unit and one more processes every block of every unit. The key is
 * key1 ‖ key2 (32 bytes for XTS-AES-128, 64 for XTS-AES-256): key1 encrypts the data, key2 the
 * tweak. Unit `i` has the sector ("data unit sequence") number `sectors[i]`, a non-negative
 * integer below 2^53, taken as a 128-bit little-endian tweak.
 *
 * @example
 * // ESP-IDF NVS: each 32-byte entry is a data unit whose sector number is its partition offset
 * const xts = new XtsCipher(nodeCrypto, eky_tky);
 * const ct = xts.encrypt(entry, 32, [0x40]);
 * xts.destroy();
 */
export class XtsCipher {
  private dataKey: AesEcb | null;
  private tweakKey: AesEcb | null;
  /** Working buffers reused from call to call (zeroized after each use), grown on demand. */
  private tw = new Uint8Array(0);
  private stream = new Uint8Array(0);
  private x = new Uint8Array(0);

  /** @throws {RangeError} when the key is not 32 or 64 bytes */
  constructor(crypto: CryptoProvider, key: Uint8Array) {
    if (key.length !== 32 && key.length !== 64) throw new RangeError(`"key" must be 32 or 64 bytes (key1 ‖ key2), got ${key.length}`);
    this.dataKey = crypto.aesEcb(key.subarray(0, key.length / 2));
    this.tweakKey = crypto.aesEcb(key.subarray(key.length / 2));
  }

  /**
   * Encrypts `sectors.length` units of `unitSize` bytes.
   * @returns a new buffer; `data` is not modified
   * @throws {RangeError} on a unit size or length that does not fit
   */
  encrypt(data: Uint8Array, unitSize: number, sectors: ArrayLike<number>): Uint8Array {
    return this.process(data, unitSize, sectors, false);
  }

  /** Inverse of {@link XtsCipher.encrypt}. */
  decrypt(data: Uint8Array, unitSize: number, sectors: ArrayLike<number>): Uint8Array {
    return this.process(data, unitSize, sectors, true);
  }

  /** Drops both keys; any later use throws. */
  destroy(): void {
    this.dataKey?.destroy();
    this.tweakKey?.destroy();
    this.dataKey = this.tweakKey = null;
    this.tw = this.stream = this.x = new Uint8Array(0);
  }

  private process(data: Uint8Array, unitSize: number, sectors: ArrayLike<number>, decrypt: boolean): Uint8Array {
    if (!this.dataKey || !this.tweakKey) throw new NvsecError('CRYPTO_KEY_DESTROYED', 'This XTS cipher was destroyed: set it up again with the key');
    if (!Number.isInteger(unitSize) || unitSize <= 0 || unitSize % 16 !== 0) {
      throw new RangeError(`"unitSize" must be a positive multiple of 16, got ${unitSize}`);
    }
    const units = sectors.length;
    if (data.length !== units * unitSize) {
      throw new RangeError(`"data" must be ${units} units of ${unitSize} bytes (${units * unitSize}), got ${data.length} bytes`);
    }
    if (units === 0) return new Uint8Array(0);

    // Tweak of each unit: E_key2(sector number as 128-bit little-endian).
    if (this.tw.length < units * 16) this.tw = new Uint8Array(units * 16);
    if (this.stream.length < data.length) {
      this.stream = new Uint8Array(data.length);
      this.x = new Uint8Array(data.length);
    }
    const tw = this.tw.subarray(0, units * 16);
    const twv = new DataView(tw.buffer);
    for (let i = 0; i < units; i++) {
      const s = sectors[i]!;
      if (!Number.isSafeInteger(s) || s < 0) throw new RangeError(`sector number ${s} of unit ${i} is not a non-negative safe integer`);
      twv.setUint32(i * 16, s >>> 0, true);
      twv.setUint32(i * 16 + 4, Math.floor(s / 0x100000000), true);
    }
    const encTw = this.tweakKey.encrypt(tw);
    tw.fill(0);

    // The per-block tweak stream: block j of a unit uses T·α^j (multiplication by x in GF(2^128)).
    const stream = this.stream.subarray(0, data.length);
    const sv = new DataView(stream.buffer);
    const ev = new DataView(encTw.buffer, encTw.byteOffset, encTw.length);
    const blocks = unitSize / 16;
    for (let i = 0, o = 0; i < units; i++) {
      let t0 = ev.getUint32(i * 16, true);
      let t1 = ev.getUint32(i * 16 + 4, true);
      let t2 = ev.getUint32(i * 16 + 8, true);
      let t3 = ev.getUint32(i * 16 + 12, true);
      for (let j = 0; j < blocks; j++, o += 16) {
        sv.setUint32(o, t0, true);
        sv.setUint32(o + 4, t1, true);
        sv.setUint32(o + 8, t2, true);
        sv.setUint32(o + 12, t3, true);
        const carry = t3 >>> 31;
        t3 = ((t3 << 1) | (t2 >>> 31)) >>> 0;
        t2 = ((t2 << 1) | (t1 >>> 31)) >>> 0;
        t1 = ((t1 << 1) | (t0 >>> 31)) >>> 0;
        t0 = ((t0 << 1) ^ (carry * 0x87)) >>> 0;
      }
    }
    encTw.fill(0);

    // C = E_key1(P ⊕ T) ⊕ T (decryption likewise with D_key1), all blocks in one call.
    const x = this.x.subarray(0, data.length);
    x.set(data);
    xorInto(x, stream);
    const y = new Uint8Array(decrypt ? this.dataKey.decrypt(x) : this.dataKey.encrypt(x));
    x.fill(0);
    xorInto(y, stream);
    stream.fill(0);
    return y;
  }
}

/** One-shot {@link XtsCipher.encrypt} (sets the key up, uses it once, drops it). */
export function xtsEncrypt(crypto: CryptoProvider, key: Uint8Array, data: Uint8Array, unitSize: number, sectors: ArrayLike<number>): Uint8Array {
  const c = new XtsCipher(crypto, key);
  try {
    return c.encrypt(data, unitSize, sectors);
  } finally {
    c.destroy();
  }
}

/** One-shot {@link XtsCipher.decrypt}. */
export function xtsDecrypt(crypto: CryptoProvider, key: Uint8Array, data: Uint8Array, unitSize: number, sectors: ArrayLike<number>): Uint8Array {
  const c = new XtsCipher(crypto, key);
  try {
    return c.decrypt(data, unitSize, sectors);
  } finally {
    c.destroy();
  }
}

/** dst ^= src, both freshly allocated (so 4-byte aligned) and of equal, 16-multiple length. */
function xorInto(dst: Uint8Array, src: Uint8Array): void {
  const a = new Uint32Array(dst.buffer, dst.byteOffset, dst.length >>> 2);
  const b = new Uint32Array(src.buffer, src.byteOffset, src.length >>> 2);
  for (let i = 0; i < a.length; i++) a[i]! ^= b[i]!;
}
