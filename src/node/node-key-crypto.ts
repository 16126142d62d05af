import * as crypto from 'node:crypto';
import {
  type KeyCrypto,
  type PreparedPrivateKey,
  type PreparedPublicKey,
  type PrivateKeyMaterial,
  type PublicKeyMaterial,
  type RsaPrivateComponents,
  type RsaPublicComponents,
  type SignatureScheme,
  TOKEN_CURVE_BYTES,
  type TokenCurve,
} from '../crypto/key-crypto.js';
import { DER_TAG, derChildren, derEncode, derUnsignedInteger, readDer } from '../bytes/der.js';
import { type HashName, hashLength } from '../crypto/provider.js';
import { rsaModulusBits } from '../crypto/public-key.js';
import { emsaPssEncode, emsaPssVerify } from '../crypto/rsa-pss.js';
import { NvsecError } from '../errors/nvsec-error.js';
import { nodeCrypto } from './node-crypto.js';

// Types only: the curve code itself is loaded by loadNodeKeyCrypto() with a dynamic import(), so
// that importing `nvsec/node` (and the CLI bundle) does not pay for it.
import type { ECDSA } from '@noble/curves/abstract/weierstrass.js';
import type { IField } from '@noble/curves/abstract/modular.js';

const u8 = (b: Buffer): Uint8Array => new Uint8Array(b.buffer, b.byteOffset, b.length);
const buf = (b: Uint8Array): Buffer => Buffer.from(b.buffer, b.byteOffset, b.length);

/** OpenSSL names of the token curves. */
const OPENSSL_CURVE: Readonly<Record<TokenCurve, string>> = Object.freeze({ 'P-256': 'prime256v1', 'P-384': 'secp384r1' });
/** DER of the named-curve OIDs (1.2.840.10045.3.1.7, 1.3.132.0.34), for SEC1 private keys. */
const CURVE_OID_DER: Readonly<Record<TokenCurve, readonly number[]>> = Object.freeze({
  'P-256': [0x06, 0x08, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x03, 0x01, 0x07],
  'P-384': [0x06, 0x05, 0x2b, 0x81, 0x04, 0x00, 0x22],
});

/** Curve code from @noble/curves, one entry per token curve. */
interface CurveMath {
  readonly curve: TokenCurve;
  readonly width: number;
  /** The group order n, big-endian at the curve width (for range checks on bytes). */
  readonly orderBytes: Uint8Array;
  /** Arithmetic modulo the group order n. */
  readonly fn: IField<bigint>;
  readonly n: bigint;
  readonly nBits: number;
  readonly ecdsa: ECDSA;
}

/** Unsigned big-endian bytes to a bigint, 8 bytes at a time (no hex string of secret values). */
function toBigInt(b: Uint8Array): bigint {
  const view = new DataView(b.buffer, b.byteOffset, b.length);
  let x = 0n;
  let i = 0;
  for (const head = b.length % 8; i < head; i++) x = (x << 8n) | BigInt(b[i]!);
  for (; i < b.length; i += 8) x = (x << 64n) | view.getBigUint64(i);
  return x;
}

/** Writes `x` (< 2^(8·width)) big-endian into `out[offset, offset + width)`. */
function writeBigInt(x: bigint, out: Uint8Array, offset: number, width: number): void {
  for (let i = offset + width - 1; i >= offset; i--) {
    out[i] = Number(x & 0xffn);
    x >>= 8n;
  }
}

/** a < b for equal-length big-endian byte strings, without data-dependent branches. */
function lessThanCt(a: Uint8Array, b: Uint8Array): boolean {
  // Subtract a − b byte by byte from the least significant end; a final borrow means a < b.
  let borrow = 0;
  for (let i = a.length - 1; i >= 0; i--) borrow = ((a[i]! - b[i]! - borrow) >>> 31) & 1;
  return borrow === 1;
}

/** Whether every byte is zero, without data-dependent branches. */
function isZeroCt(a: Uint8Array): boolean {
  let acc = 0;
  for (let i = 0; i < a.length; i++) acc |= a[i]!;
  return acc === 0;
}

/** Equality of two byte strings, timing independent of where they differ. */
function equalCt(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && crypto.timingSafeEqual(a, b);
}

function checkCurve(curve: TokenCurve): number {
  const w = Object.hasOwn(TOKEN_CURVE_BYTES, curve) ? TOKEN_CURVE_BYTES[curve] : undefined;
  if (w === undefined) throw new RangeError(`"curve" must be P-256 or P-384, got ${String(curve)}`);
  return w;
}

/**
 * A SEC1 ECPrivateKey (RFC 5915) DER of scalar `d` and its public point: built in a byte array
 * that is zeroized after use, unlike a JWK, whose base64url strings JS cannot wipe.
 */
function ecPrivateKeyObject(curve: TokenCurve, d: Uint8Array, point: Uint8Array): crypto.KeyObject {
  const parts: Uint8Array[] = [
    new Uint8Array([0x02, 0x01, 0x01]),
    derEncode(DER_TAG.OCTET_STRING, d),
    derEncode(0xa0, new Uint8Array(CURVE_OID_DER[curve])),
    derEncode(0xa1, derEncode(DER_TAG.BIT_STRING, new Uint8Array([0]), point)),
  ];
  const der = derEncode(DER_TAG.SEQUENCE, ...parts);
  try {
    return crypto.createPrivateKey({ key: buf(der), format: 'der', type: 'sec1' });
  } finally {
    der.fill(0);
    parts[1]!.fill(0);
  }
}

/** A PKCS#1 RSAPrivateKey DER of the components, zeroized after OpenSSL parsed it. */
function rsaPrivateKeyObject(k: RsaPrivateComponents): crypto.KeyObject {
  const ints = [new Uint8Array([0]), k.n, k.e, k.d, k.p, k.q, k.dp, k.dq, k.qi].map(derUnsignedInteger);
  const der = derEncode(DER_TAG.SEQUENCE, ...ints);
  try {
    return crypto.createPrivateKey({ key: buf(der), format: 'der', type: 'pkcs1' });
  } finally {
    der.fill(0);
    for (const i of ints) i.fill(0);
  }
}

const b64url = (b: Uint8Array): string => buf(b).toString('base64url');

function rsaPublicKeyObject(k: RsaPublicComponents): crypto.KeyObject {
  return crypto.createPublicKey({ key: { kty: 'RSA', n: b64url(k.n), e: b64url(k.e) }, format: 'jwk' });
}

/** Checks an RSA public key's shape: modulus of at least 512 bits, odd exponent >= 3. */
function checkRsaPublic(k: RsaPublicComponents): number {
  const bits = rsaModulusBits(k.n);
  if (bits < 512) throw new RangeError(`the RSA modulus must have at least 512 bits, got ${bits}: use a 2048-bit or longer key`);
  if ((k.n[k.n.length - 1]! & 1) === 0) throw new RangeError('the RSA modulus is even: this is not an RSA key');
  const e = toBigInt(k.e);
  if (e < 3n || (e & 1n) === 0n) throw new RangeError(`the RSA public exponent must be odd and >= 3, got ${e}`);
  return bits;
}

const destroyed = (): never => {
  throw new NvsecError('CRYPTO_KEY_DESTROYED', 'This private key was destroyed: prepare it again from its key material');
};

function wrongKey(scheme: SignatureScheme, keyType: 'ec' | 'rsa'): never {
  throw new RangeError(`a ${String(scheme.kind)} signature needs ${scheme.kind === 'ecdsa' ? 'an EC' : 'an RSA'} key, this one is ${keyType === 'ec' ? 'EC' : 'RSA'}`);
}

function checkHash(hash: HashName | null): void {
  if (hash !== null) hashLength(hash); // throws RangeError for an unknown name
}

/** The PSS parameters shared by signing and verifying: the hash of the digest/message and the salt length. */
function pssParams(scheme: SignatureScheme & { kind: 'rsa-pss' }): { hash: HashName; saltLength: number } {
  hashLength(scheme.mgfHash);
  if (scheme.hash !== null && scheme.mgfHash !== scheme.hash) {
    throw new RangeError(`RSA-PSS with ${scheme.hash} needs MGF1 over ${scheme.hash} here (OpenSSL's one-shot API), got ${scheme.mgfHash}: use the same hash for both`);
  }
  if (!Number.isSafeInteger(scheme.saltLength) || scheme.saltLength < 0) throw new RangeError(`"saltLength" must be a non-negative integer, got ${String(scheme.saltLength)}`);
  return { hash: scheme.hash ?? scheme.mgfHash, saltLength: scheme.saltLength };
}

/**
 * bits2int of FIPS 186-4 §6.4 / RFC 6979 §2.3.2: the leftmost min(N, 8·len) bits of `digest` as
 * an integer, N the bit length of the order (not reduced mod n).
 */
function bits2int(digest: Uint8Array, nBits: number): bigint {
  const x = digest.length === 0 ? 0n : BigInt(`0x${buf(digest).toString('hex')}`);
  const excess = digest.length * 8 - nBits;
  return excess > 0 ? x >> BigInt(excess) : x;
}

/** Random bytes drawn from OpenSSL in blocks; every byte handed out is wiped from the pool. */
class RandomPool {
  private pool: Uint8Array = new Uint8Array(0);
  private used = 0;

  /** `into.length` fresh random bytes, copied into `into`. */
  fill(into: Uint8Array): void {
    if (this.pool.length - this.used < into.length) {
      this.pool.fill(0);
      this.pool = u8(crypto.randomBytes(Math.max(4096, into.length)));
      this.used = 0;
    }
    const src = this.pool.subarray(this.used, this.used + into.length);
    into.set(src);
    src.fill(0);
    this.used += into.length;
  }
}

/** One precomputed, single-use ECDSA nonce: r = x(k·G) mod n, a blinding factor b and (k·b)⁻¹ mod n. */
interface Nonce {
  readonly r: bigint;
  readonly b: bigint;
  readonly kbInv: bigint;
}

/** Nonces made per batch: one modular inversion (the costliest step) serves this many signatures. */
const NONCE_BATCH = 16;

/**
 * The single-use nonces of prehashed ECDSA on one curve, made in batches like OpenSSL's
 * ECDSA_sign_setup() precomputation: k and k·G from one OpenSSL ECDH context whose key pair is
 * regenerated per nonce, a random blinding factor b, and the inverses (k·b)⁻¹ of the whole batch
 * from one batched inversion (Montgomery's trick, @noble/curves `Field.invertBatch`).
 */
class NonceSource {
  private readonly ecdh: crypto.ECDH;
  private queue: Nonce[] = [];
  private readonly bBytes: Uint8Array;

  constructor(
    private readonly m: CurveMath,
    private readonly random: RandomPool,
  ) {
    this.ecdh = crypto.createECDH(OPENSSL_CURVE[m.curve]);
    this.bBytes = new Uint8Array(m.width + 8);
  }

  /** A nonce used by no signature before, removed from the queue. */
  next(): Nonce {
    if (this.queue.length === 0) this.refill();
    return this.queue.pop()!;
  }

  private refill(): void {
    const { fn, width, n } = this.m;
    const rs: bigint[] = [];
    const bs: bigint[] = [];
    const kbs: bigint[] = [];
    while (rs.length < NONCE_BATCH) {
      const point = this.ecdh.generateKeys();
      const kBuf = this.ecdh.getPrivateKey();
      const k = toBigInt(u8(kBuf));
      kBuf.fill(0);
      const r = fn.create(toBigInt(u8(point).subarray(1, 1 + width)));
      if (r === 0n) continue; // probability ~2^-256
      this.random.fill(this.bBytes);
      const b = (toBigInt(this.bBytes) % (n - 1n)) + 1n; // uniform in [1, n) but for a 2^-64 bias
      this.bBytes.fill(0);
      rs.push(r);
      bs.push(b);
      kbs.push(fn.mul(k, b));
    }
    const inv = fn.invertBatch(kbs);
    this.queue = rs.map((r, i) => ({ r, b: bs[i]!, kbInv: inv[i]! }));
  }

  /**
   * Drops the unused nonces and replaces the last k inside OpenSSL with an unused one: a nonce
   * together with its signature gives the private key. (JS cannot wipe BigInts; dropped values
   * stay on the heap until collected.)
   */
  scrub(): void {
    this.queue = [];
    this.ecdh.generateKeys();
  }
}

/**
 * ECDSA signature r ‖ s of a caller-computed digest (CKM_ECDSA).
 *
 * What is constant time and what is not:
 * - k and k·G come from OpenSSL (its CSPRNG and its constant-time scalar multiplication); r = x(k·G)
 *   mod n is public. Each nonce is used once; nonces are made ahead in batches of
 *   {@link NONCE_BATCH} and dropped by any key's destroy().
 * - The rest runs on JS BigInts, which are NOT constant time; it is blinded instead. With a fresh
 *   random b in [1, n) per nonce: s = (k·b)⁻¹ · (b·e + (b·r)·d) mod n.
 *   - The modular inversion (@noble/curves, a variable-time extended Euclid) only sees the product
 *     of a batch's k·b values, which is uniform and independent of each k.
 *   - k and d each enter exactly one multiplication, by a uniform factor (b, and b·r). V8
 *     multiplies digit by digit, so its time follows the operands' lengths in 64-bit digits, which
 *     for k and d differ from the full width only when a top digit is zero (probability ~2^-64).
 *   - Each reduction mod n (V8's long division, whose correction steps are data dependent) works
 *     on such a blinded product, not on k or d themselves.
 *   This is a mitigation, not a proof: a local attacker who can time many signatures finely still
 *   measures operations on values derived from the secrets. When that matters, sign on a device
 *   or HSM with a constant-time implementation.
 * - Converting d from bytes to a BigInt is a fixed sequence of 64-bit reads and shifts. JS cannot
 *   wipe BigInts: the per-signature copies of d, k and b stay on the heap until collected (the
 *   prepared key's byte copy of d is wiped by destroy()).
 */
function ecdsaSignDigest(m: CurveMath, nonces: NonceSource, dBytes: Uint8Array, digest: Uint8Array): Uint8Array {
  const { fn, width } = m;
  const e = fn.create(bits2int(digest, m.nBits));
  for (;;) {
    const { r, b, kbInv } = nonces.next();
    const s = fn.mul(kbInv, fn.add(fn.mul(b, e), fn.mul(fn.mul(b, r), toBigInt(dBytes))));
    if (s === 0n) continue; // probability ~2^-256
    // r and s are public: hex is the quickest way out of a BigInt.
    return u8(Buffer.from(r.toString(16).padStart(2 * width, '0') + s.toString(16).padStart(2 * width, '0'), 'hex'));
  }
}

/**
 * Checks r ‖ s of a caller-computed digest with @noble/curves (no hashing, high s accepted as
 * PKCS#11 does). Malformed input gives false.
 */
function ecdsaVerifyDigest(m: CurveMath, point: Uint8Array, digest: Uint8Array, signature: Uint8Array): boolean {
  if (signature.length !== 2 * m.width) return false;
  // bits2int keeps the leftmost N = 8·width bits (N is a whole number of bytes on P-256 and P-384):
  // cutting here keeps any digest length within what @noble/curves accepts (<= 8192 bytes).
  const e = digest.length > m.width ? digest.subarray(0, m.width) : digest;
  try {
    return m.ecdsa.verify(signature, e, point, { prehash: false, lowS: false, format: 'compact' });
  } catch {
    return false;
  }
}

/**
 * A {@link KeyCrypto} over node:crypto (OpenSSL), with prehashed ECDSA (CKM_ECDSA) signed from an
 * OpenSSL nonce and blinded modular arithmetic of @noble/curves (see the notes in the source on
 * what is constant time), and prehashed ECDSA verification by @noble/curves. Asynchronous only to
 * load the curve code on first use; every operation of the result is synchronous.
 *
 * RSA keys are prepared into OpenSSL key objects: RSASSA-PKCS1-v1_5 and RSASSA-PSS with a hash
 * use OpenSSL's sign/verify; CKM_RSA_PKCS (a DigestInfo) uses its block-type-1 private
 * encryption; PSS over a caller-computed digest uses the EMSA-PSS encoding of `nvsec/crypto`
 * and the raw RSA operation. With `hash: null`, a PSS digest is taken to be of `mgfHash`.
 * Preparing an RSA private key checks n = p·q and does one raw private operation undone by the
 * public one (a few ms at 4096 bits). Private keys reach OpenSSL as DER built in byte arrays that
 * are wiped right after (not as JWK, whose base64url strings JS cannot wipe).
 *
 * @throws {Error} when @noble/curves cannot be loaded. The result's methods throw RangeError as
 *   {@link KeyCrypto} describes, and a destroyed key's sign() throws NvsecError CRYPTO_KEY_DESTROYED
 * @example
 * const kc = await loadNodeKeyCrypto();
 * const { d, point } = kc.generateEcKey('P-256');
 * const key = kc.preparePrivateKey({ type: 'ec', curve: 'P-256', d });
 * const sig = key.sign({ kind: 'ecdsa', hash: null }, sha256Digest);
 * kc.preparePublicKey({ type: 'ec', curve: 'P-256', point }).verify({ kind: 'ecdsa', hash: null }, sha256Digest, sig); // true
 * key.destroy();
 * d.fill(0);
 */
export async function loadNodeKeyCrypto(): Promise<KeyCrypto> {
  const [{ p256, p384 }, { Field }] = await Promise.all([import('@noble/curves/nist.js'), import('@noble/curves/abstract/modular.js')]);
  const math = (curve: TokenCurve, ecdsa: ECDSA): CurveMath => {
    const { n } = ecdsa.Point.CURVE();
    const width = TOKEN_CURVE_BYTES[curve];
    const orderBytes = new Uint8Array(width);
    writeBigInt(n, orderBytes, 0, width);
    return Object.freeze({ curve, width, orderBytes, fn: Field(n), n, nBits: n.toString(2).length, ecdsa });
  };
  const curves: Readonly<Record<TokenCurve, CurveMath>> = Object.freeze({ 'P-256': math('P-256', p256), 'P-384': math('P-384', p384) });
  const random = new RandomPool();
  const nonces = new Map<TokenCurve, NonceSource>();
  const nonceSource = (curve: TokenCurve): NonceSource => {
    let s = nonces.get(curve);
    if (s === undefined) nonces.set(curve, (s = new NonceSource(curves[curve], random)));
    return s;
  };

  const checkScalar = (curve: TokenCurve, d: Uint8Array): CurveMath => {
    const w = checkCurve(curve);
    const m = curves[curve];
    if (!(d instanceof Uint8Array) || d.length !== w) throw new RangeError(`"d" must be a ${w}-byte ${curve} scalar, got ${d instanceof Uint8Array ? `${d.length} bytes` : typeof d}`);
    // Constant-time range check; the branch below only reveals valid or not.
    if (isZeroCt(d) || !lessThanCt(d, m.orderBytes)) throw new RangeError(`"d" is not a valid ${curve} private key: it must be in 1..n-1 (generate a new key)`);
    return m;
  };

  const publicPoint = (curve: TokenCurve, d: Uint8Array): Uint8Array => {
    const ecdh = crypto.createECDH(OPENSSL_CURVE[curve]);
    ecdh.setPrivateKey(d);
    return u8(ecdh.getPublicKey(null, 'uncompressed'));
  };

  const isEcPoint = (curve: TokenCurve, point: Uint8Array): boolean => {
    const w = checkCurve(curve);
    if (!(point instanceof Uint8Array) || point.length !== 1 + 2 * w || point[0] !== 4) return false;
    try {
      curves[curve].ecdsa.Point.fromBytes(point).assertValidity();
      return true;
    } catch {
      return false;
    }
  };

  const prepareEcPrivate = (curve: TokenCurve, dIn: Uint8Array): PreparedPrivateKey => {
    const m = checkScalar(curve, dIn);
    let d: Uint8Array | null = new Uint8Array(dIn);
    const point = publicPoint(curve, d);
    let keyObject: crypto.KeyObject | null = ecPrivateKeyObject(curve, d, point);
    const prepared: PreparedPrivateKey = {
      sign: (scheme, data) => {
        if (d === null || keyObject === null) return destroyed();
        if (scheme.kind !== 'ecdsa') return wrongKey(scheme, 'ec');
        checkHash(scheme.hash);
        if (scheme.hash !== null) return u8(crypto.sign(scheme.hash, data, { key: keyObject, dsaEncoding: 'ieee-p1363' }));
        return ecdsaSignDigest(m, nonceSource(curve), d, data);
      },
      destroy: () => {
        d?.fill(0);
        d = null;
        keyObject = null;
        nonces.get(curve)?.scrub();
      },
    };
    _ownedKeyBytes.set(prepared, d);
    return prepared;
  };

  const prepareEcPublic = (curve: TokenCurve, pointIn: Uint8Array): PreparedPublicKey => {
    if (!isEcPoint(curve, pointIn)) throw new RangeError(`"point" is not an uncompressed ${curve} point on the curve (04 ‖ X ‖ Y, ${1 + 2 * checkCurve(curve)} bytes)`);
    const m = curves[curve];
    const point = new Uint8Array(pointIn);
    const w = m.width;
    const keyObject = crypto.createPublicKey({ key: { kty: 'EC', crv: curve, x: b64url(point.subarray(1, 1 + w)), y: b64url(point.subarray(1 + w)) }, format: 'jwk' });
    return {
      verify: (scheme, data, signature) => {
        if (scheme.kind !== 'ecdsa') return wrongKey(scheme, 'ec');
        checkHash(scheme.hash);
        if (scheme.hash === null) return ecdsaVerifyDigest(m, point, data, signature);
        if (signature.length !== 2 * w) return false;
        try {
          return crypto.verify(scheme.hash, data, { key: keyObject, dsaEncoding: 'ieee-p1363' }, signature);
        } catch {
          return false;
        }
      },
    };
  };

  const prepareRsaPrivate = (k: RsaPrivateComponents): PreparedPrivateKey => {
    const bits = checkRsaPublic(k);
    const modLen = Math.ceil(bits / 8);
    let keyObject: crypto.KeyObject | null;
    try {
      keyObject = rsaPrivateKeyObject(k);
    } catch (e) {
      throw new RangeError(`the RSA private key components are not a valid key (${e instanceof Error ? e.message : String(e)})`, { cause: e });
    }
    // Consistency: n = p·q, and a raw private operation undone by the public one.
    if (toBigInt(k.p) * toBigInt(k.q) !== toBigInt(k.n)) throw new RangeError('the RSA private key is inconsistent: n is not p·q');
    const pub = rsaPublicKeyObject(k);
    const probe = u8(crypto.randomBytes(modLen));
    probe[0] = 0; // below the modulus
    const back = u8(crypto.publicDecrypt({ key: pub, padding: crypto.constants.RSA_NO_PADDING }, crypto.privateEncrypt({ key: keyObject, padding: crypto.constants.RSA_NO_PADDING }, probe)));
    if (!equalCt(back, probe)) throw new RangeError('the RSA private key is inconsistent: d does not invert e modulo n');
    return {
      sign: (scheme, data) => {
        if (keyObject === null) return destroyed();
        if (scheme.kind === 'ecdsa') return wrongKey(scheme, 'rsa');
        checkHash(scheme.hash);
        if (scheme.kind === 'rsa-pkcs1') {
          if (scheme.hash !== null) return u8(crypto.sign(scheme.hash, data, { key: keyObject, padding: crypto.constants.RSA_PKCS1_PADDING }));
          if (data.length > modLen - 11) throw new RangeError(`CKM_RSA_PKCS data must be at most ${modLen - 11} bytes for a ${bits}-bit key (modulus length − 11), got ${data.length}: pass a DigestInfo, not a message`);
          return u8(crypto.privateEncrypt({ key: keyObject, padding: crypto.constants.RSA_PKCS1_PADDING }, data));
        }
        const { hash, saltLength } = pssParams(scheme);
        if (scheme.hash !== null) {
          try {
            return u8(crypto.sign(hash, data, { key: keyObject, padding: crypto.constants.RSA_PKCS1_PSS_PADDING, saltLength }));
          } catch (e) {
            throw new RangeError(`RSA-PSS with ${hash} and a ${saltLength}-byte salt does not fit a ${bits}-bit key (${e instanceof Error ? e.message : String(e)}): use a shorter salt`, { cause: e });
          }
        }
        if (data.length !== hashLength(hash)) throw new RangeError(`the RSA-PSS digest must be a ${hashLength(hash)}-byte ${hash} digest (the MGF1 hash), got ${data.length} bytes`);
        const salt = nodeCrypto.randomBytes(saltLength);
        const em = emsaPssEncode(nodeCrypto, hash, data, salt, bits);
        const block = new Uint8Array(modLen); // EM is one byte shorter when bits ≡ 1 (mod 8)
        block.set(em, modLen - em.length);
        try {
          return u8(crypto.privateEncrypt({ key: keyObject, padding: crypto.constants.RSA_NO_PADDING }, block));
        } finally {
          em.fill(0);
          block.fill(0);
          salt.fill(0);
        }
      },
      destroy: () => {
        keyObject = null;
      },
    };
  };

  const prepareRsaPublic = (k: RsaPublicComponents): PreparedPublicKey => {
    const bits = checkRsaPublic(k);
    const modLen = Math.ceil(bits / 8);
    const keyObject = rsaPublicKeyObject(k);
    const open = (signature: Uint8Array, padding: number): Uint8Array | null => {
      if (signature.length !== modLen) return null;
      try {
        return u8(crypto.publicDecrypt({ key: keyObject, padding }, signature));
      } catch {
        return null; // not below the modulus, or bad padding
      }
    };
    return {
      verify: (scheme, data, signature) => {
        if (scheme.kind === 'ecdsa') return wrongKey(scheme, 'rsa');
        checkHash(scheme.hash);
        if (scheme.kind === 'rsa-pkcs1') {
          if (scheme.hash !== null) {
            if (signature.length !== modLen) return false;
            try {
              return crypto.verify(scheme.hash, data, { key: keyObject, padding: crypto.constants.RSA_PKCS1_PADDING }, signature);
            } catch {
              return false;
            }
          }
          const recovered = open(signature, crypto.constants.RSA_PKCS1_PADDING);
          return recovered !== null && equalCt(recovered, data);
        }
        const { hash, saltLength } = pssParams(scheme);
        if (scheme.hash !== null) {
          if (signature.length !== modLen) return false;
          try {
            return crypto.verify(hash, data, { key: keyObject, padding: crypto.constants.RSA_PKCS1_PSS_PADDING, saltLength }, signature);
          } catch {
            return false;
          }
        }
        const em = open(signature, crypto.constants.RSA_NO_PADDING);
        return em !== null && emsaPssVerify(nodeCrypto, hash, data, em, bits, saltLength);
      },
    };
  };

  return Object.freeze({
    generateEcKey: (curve: TokenCurve) => {
      const w = checkCurve(curve);
      const ecdh = crypto.createECDH(OPENSSL_CURVE[curve]);
      const point = u8(ecdh.generateKeys());
      const raw = ecdh.getPrivateKey();
      const d = new Uint8Array(w);
      d.set(raw, w - raw.length);
      raw.fill(0);
      return { d, point };
    },
    generateRsaKey: (bits: number, publicExponent: Uint8Array) => {
      if (!Number.isInteger(bits) || bits < 2048 || bits > 4096 || bits % 8 !== 0) throw new RangeError(`"bits" must be 2048..4096 in steps of 8, got ${String(bits)}`);
      const e = toBigInt(publicExponent);
      if (e < 3n || (e & 1n) === 0n) throw new RangeError(`"publicExponent" must be odd and >= 3, got ${e}: use 65537 (01 00 01)`);
      if (e > 0xffffffffn) throw new RangeError(`"publicExponent" must fit in 32 bits for OpenSSL's generator, got ${e}: use 65537 (01 00 01)`);
      const { privateKey } = crypto.generateKeyPairSync('rsa', { modulusLength: bits, publicExponent: Number(e) });
      // PKCS#1 DER (a Buffer we can wipe), not JWK (strings we cannot).
      const exported = privateKey.export({ format: 'der', type: 'pkcs1' });
      const der = u8(exported); // a view: wiping it wipes OpenSSL's export itself
      try {
        const seq = readDer(der, 0);
        const ints = derChildren(der, seq).map((t) => {
          if (t.tag !== DER_TAG.INTEGER) throw new RangeError('OpenSSL returned an RSAPrivateKey with a non-INTEGER field');
          const v = der.subarray(t.start, t.end);
          return new Uint8Array(v[0] === 0 && v.length > 1 ? v.subarray(1) : v);
        });
        const [, n, pe, d, p, q, dp, dq, qi] = ints;
        if (qi === undefined) throw new RangeError('OpenSSL returned an RSAPrivateKey with fewer than 9 fields');
        ints[0]!.fill(0);
        return { n: n!, e: pe!, d: d!, p: p!, q: q!, dp: dp!, dq: dq!, qi };
      } finally {
        der.fill(0);
      }
    },
    ecPublicPoint: (curve: TokenCurve, d: Uint8Array) => {
      checkScalar(curve, d);
      return publicPoint(curve, d);
    },
    isEcPoint,
    preparePrivateKey: (key: PrivateKeyMaterial) => {
      if (key.type === 'ec') return prepareEcPrivate(key.curve, key.d);
      if (key.type === 'rsa') return prepareRsaPrivate(key);
      throw new RangeError(`"key.type" must be "ec" or "rsa", got ${String((key as { type: unknown }).type)}`);
    },
    preparePublicKey: (key: PublicKeyMaterial) => {
      if (key.type === 'ec') return prepareEcPublic(key.curve, key.point);
      if (key.type === 'rsa') return prepareRsaPublic(key);
      throw new RangeError(`"key.type" must be "ec" or "rsa", got ${String((key as { type: unknown }).type)}`);
    },
  });
}

/**
 * The key bytes each prepared EC private key owns, so tests can check that destroy() wipes them.
 * Not part of the public surface (not re-exported from `nvsec/node`).
 */
export const _ownedKeyBytes = new WeakMap<PreparedPrivateKey, Uint8Array>();
