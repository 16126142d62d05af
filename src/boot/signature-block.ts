import { crc32le } from '../bytes/crc32.js';
import { bytesEqual } from '../bytes/equal.js';
import type { CryptoProvider, HashName } from '../crypto/provider.js';
import { EC_CURVE_BYTES, type EcCurve, type PublicKey, rsaModulusBits } from '../crypto/public-key.js';
import { NvsecError } from '../errors/nvsec-error.js';

/** Layout constants of Secure Boot V2 signature sectors and blocks. */
export const SBV2 = Object.freeze({
  /** The signature sector follows the signed region, which is a multiple of this. */
  SECTOR_SIZE: 4096,
  BLOCK_SIZE: 1216,
  MAX_BLOCKS: 3,
  MAGIC: 0xe7,
  VERSION_RSA: 0x02,
  VERSION_ECDSA: 0x03,
  /** The CRC-32 covers block bytes [0, CRC_OFFSET); bytes CRC_OFFSET + 4 .. 1215 are zero and unchecked. */
  CRC_OFFSET: 1196,
});

/** {@link SignatureBlock.problem} of a slot that holds no block (0xFF). */
export const EMPTY_SLOT = 'empty slot';

/** Signature schemes of Secure Boot V2 blocks, by espsecure's `--scheme` names. */
export type Sbv2Scheme = 'rsa3072' | 'ecdsa192' | 'ecdsa256' | 'ecdsa384';

const CURVE_ID: Readonly<Record<EcCurve, number>> = Object.freeze({ 'P-192': 1, 'P-256': 2, 'P-384': 3 });
const CURVE_OF_ID: readonly (EcCurve | undefined)[] = [undefined, 'P-192', 'P-256', 'P-384'];
const SCHEME_OF_CURVE: Readonly<Record<EcCurve, Sbv2Scheme>> = Object.freeze({ 'P-192': 'ecdsa192', 'P-256': 'ecdsa256', 'P-384': 'ecdsa384' });
const RSA_BYTES = 384;

/** Human names of the schemes, for messages. */
export const SCHEME_NAMES: Readonly<Record<Sbv2Scheme, string>> = Object.freeze({
  rsa3072: 'RSA-3072',
  ecdsa192: 'ECDSA P-192',
  ecdsa256: 'ECDSA P-256',
  ecdsa384: 'ECDSA P-384',
});

/** The key family of each scheme, as espsecure names it in its messages ("Signature block 0 is valid (RSA)."). */
export const SCHEME_FAMILY: Readonly<Record<Sbv2Scheme, 'RSA' | 'ECDSA'>> = Object.freeze({
  rsa3072: 'RSA',
  ecdsa192: 'ECDSA',
  ecdsa256: 'ECDSA',
  ecdsa384: 'ECDSA',
});

/** The scheme a key signs with, or throws when Secure Boot V2 cannot use the key. */
export function schemeOfKey(key: PublicKey): Sbv2Scheme {
  if (key.kind === 'ec') return SCHEME_OF_CURVE[key.curve];
  const bits = rsaModulusBits(key.n);
  if (bits !== 3072) throw new NvsecError('SBV2_KEY_UNSUPPORTED', `Secure Boot V2 RSA keys must be 3072 bits, this one has ${bits}: generate one with "nvsec secure-boot generate-signing-key --version 2 --scheme rsa3072"`);
  return 'rsa3072';
}

/** The digest a scheme signs: SHA-384 for P-384, SHA-256 otherwise. */
export function hashOfScheme(scheme: Sbv2Scheme): HashName {
  return scheme === 'ecdsa384' ? 'sha384' : 'sha256';
}

/** One decoded signature block. */
export interface SignatureBlock {
  /** Slot 0..2 in the sector. */
  readonly index: number;
  readonly magic: number;
  readonly version: number;
  readonly crcStored: number;
  readonly crcCalculated: number;
  /** Magic, version, curve and CRC all good: the block can be checked further. */
  readonly valid: boolean;
  /** Why an invalid block is invalid. */
  readonly problem: string | null;
  /** Present on valid blocks. */
  readonly scheme: Sbv2Scheme | null;
  readonly imageDigest: Uint8Array | null;
  readonly publicKey: PublicKey | null;
  /** RSA: big-endian signature; ECDSA: r ‖ s big-endian. */
  readonly signature: Uint8Array | null;
  /** SHA-256 of the key material: what the eFuse digest slot must hold. */
  readonly keyDigest: Uint8Array | null;
}

const le = (be: Uint8Array, width: number): Uint8Array => {
  if (be.length > width) throw new RangeError(`value of ${be.length} bytes does not fit ${width}`);
  const out = new Uint8Array(width);
  for (let i = 0; i < be.length; i++) out[i] = be[be.length - 1 - i]!;
  return out;
};
const reversed = (b: Uint8Array): Uint8Array => b.slice().reverse();
const toBigInt = (be: Uint8Array): bigint => {
  let v = 0n;
  for (const b of be) v = (v << 8n) | BigInt(b);
  return v;
};
const fromBigInt = (v: bigint, width: number): Uint8Array => {
  const out = new Uint8Array(width);
  for (let i = width - 1; i >= 0; i--, v >>= 8n) out[i] = Number(v & 0xffn);
  return out;
};

/** Offset and bytes of the key material in a block: what the key digest covers. */
function keyMaterialRange(scheme: Sbv2Scheme): [number, number] {
  if (scheme === 'rsa3072') return [36, 812];
  return scheme === 'ecdsa384' ? [52, 149] : [36, 101];
}

/**
 * Writes the key fields of `key` into `block` (RSA: n, e, R² mod n with R = 2^3072, and the
 * Montgomery constant −n⁻¹ mod 2³², each little-endian; ECDSA: curve id and X ‖ Y
 * little-endian, P-192 zero-padded to 64 bytes).
 */
function writeKeyMaterial(block: Uint8Array, key: PublicKey, scheme: Sbv2Scheme): void {
  const view = new DataView(block.buffer, block.byteOffset, block.length);
  if (key.kind === 'rsa') {
    const n = toBigInt(key.n);
    block.set(le(fromBigInt(n, RSA_BYTES), RSA_BYTES), 36);
    view.setUint32(420, Number(toBigInt(key.e)), true);
    block.set(le(fromBigInt((1n << 6144n) % n, RSA_BYTES), RSA_BYTES), 424);
    // n⁻¹ mod 2³² by Newton's iteration (n is odd): each step doubles the correct low bits.
    const n0 = Number(n & 0xffffffffn);
    let inv = n0;
    for (let i = 0; i < 5; i++) inv = Math.imul(inv, 2 - Math.imul(n0, inv));
    view.setUint32(808, -inv >>> 0, true);
    return;
  }
  const w = EC_CURVE_BYTES[key.curve];
  const at = scheme === 'ecdsa384' ? 52 : 36;
  block[at] = CURVE_ID[key.curve];
  block.set(le(key.x, w), at + 1);
  block.set(le(key.y, w), at + 1 + w); // P-192: X ‖ Y take 48 of the 64 bytes, the rest stays zero
}

/**
 * SHA-256 of a key's Secure Boot V2 key material: the 32 bytes burned into an eFuse
 * SECURE_BOOT_DIGESTn slot (espsecure digest-sbv2-public-key).
 * @throws {NvsecError} SBV2_KEY_UNSUPPORTED for RSA keys other than 3072 bits
 */
export function publicKeyDigest(crypto: CryptoProvider, key: PublicKey): Uint8Array {
  const scheme = schemeOfKey(key);
  const block = new Uint8Array(SBV2.BLOCK_SIZE);
  writeKeyMaterial(block, key, scheme);
  const [from, to] = keyMaterialRange(scheme);
  return crypto.digest('sha256', block.subarray(from, to));
}

/**
 * Encodes one 1216-byte signature block.
 * @param digest the image digest (SHA-256, SHA-384 for P-384)
 * @param signature RSA: big-endian; ECDSA: r ‖ s big-endian
 */
export function encodeSignatureBlock(key: PublicKey, digest: Uint8Array, signature: Uint8Array): Uint8Array {
  const scheme = schemeOfKey(key);
  const block = new Uint8Array(SBV2.BLOCK_SIZE);
  block[0] = SBV2.MAGIC;
  writeKeyMaterial(block, key, scheme);
  if (scheme === 'rsa3072') {
    if (digest.length !== 32 || signature.length !== RSA_BYTES) throw new RangeError(`RSA-3072 blocks hold a 32-byte digest and a 384-byte signature, got ${digest.length} and ${signature.length}`);
    block[1] = SBV2.VERSION_RSA;
    block.set(digest, 4);
    block.set(reversed(signature), 812);
  } else {
    const w = EC_CURVE_BYTES[(key as PublicKey & { kind: 'ec' }).curve];
    const p384 = scheme === 'ecdsa384';
    if (digest.length !== (p384 ? 48 : 32) || signature.length !== 2 * w) {
      throw new RangeError(`${SCHEME_NAMES[scheme]} blocks hold a ${p384 ? 48 : 32}-byte digest and a ${2 * w}-byte r ‖ s, got ${digest.length} and ${signature.length}`);
    }
    block[1] = SBV2.VERSION_ECDSA;
    block[2] = p384 ? 1 : 0;
    block.set(digest, 4);
    const sigAt = p384 ? 149 : 101;
    block.set(le(signature.subarray(0, w), w), sigAt);
    block.set(le(signature.subarray(w), w), sigAt + w);
  }
  new DataView(block.buffer).setUint32(SBV2.CRC_OFFSET, crc32le(block, 0, 0, SBV2.CRC_OFFSET), true);
  return block;
}

/** Decodes the block in slot `index` of a 4096-byte signature sector. */
export function decodeSignatureBlock(crypto: CryptoProvider, sector: Uint8Array, index: number): SignatureBlock {
  const at = index * SBV2.BLOCK_SIZE;
  const block = sector.subarray(at, at + SBV2.BLOCK_SIZE);
  const view = new DataView(block.buffer, block.byteOffset, block.length);
  const magic = block[0]!;
  const version = block[1]!;
  const crcStored = view.getUint32(SBV2.CRC_OFFSET, true);
  const crcCalculated = crc32le(block, 0, 0, SBV2.CRC_OFFSET);
  const base = { index, magic, version, crcStored, crcCalculated };
  const invalid = (problem: string): SignatureBlock => ({
    ...base,
    valid: false,
    problem,
    scheme: null,
    imageDigest: null,
    publicKey: null,
    signature: null,
    keyDigest: null,
  });
  if (magic !== SBV2.MAGIC) return invalid(magic === 0xff ? EMPTY_SLOT : `magic byte 0x${magic.toString(16)} is not 0xe7`);
  if (crcStored !== crcCalculated) return invalid(`CRC32 0x${crcStored.toString(16)} stored, 0x${crcCalculated.toString(16)} calculated`);
  let scheme: Sbv2Scheme;
  let publicKey: PublicKey;
  let digest: Uint8Array;
  let signature: Uint8Array;
  if (version === SBV2.VERSION_RSA) {
    scheme = 'rsa3072';
    const exponent = view.getUint32(420, true);
    const n = reversed(block.subarray(36, 420));
    if (exponent === 0 || (n[383]! & 1) === 0) return invalid('RSA key fields are not a usable key (even modulus or zero exponent)');
    // The ROM computes with R² mod n and m′ from the block: they must belong to n.
    const expected = new Uint8Array(SBV2.BLOCK_SIZE);
    writeKeyMaterial(expected, { kind: 'rsa', n, e: fromBigInt(BigInt(exponent), 4) }, 'rsa3072');
    if (!bytesEqual(expected.subarray(424, 812), block.subarray(424, 812))) return invalid('R² mod n or m′ does not match the modulus');
    const e = fromBigInt(BigInt(exponent), 4);
    publicKey = { kind: 'rsa', n, e: e.subarray(e.findIndex((b) => b !== 0)) };
    digest = block.slice(4, 36);
    signature = reversed(block.subarray(812, 1196));
  } else if (version === SBV2.VERSION_ECDSA) {
    const p384 = block[2] === 1;
    if (block[2] !== 0 && !p384) return invalid(`unknown digest type ${block[2]}`);
    const keyAt = p384 ? 52 : 36;
    const curve = CURVE_OF_ID[block[keyAt]!];
    if (curve === undefined || (curve === 'P-384') !== p384) return invalid(`unknown curve id ${block[keyAt]} for digest type ${block[2]}`);
    scheme = SCHEME_OF_CURVE[curve];
    const w = EC_CURVE_BYTES[curve];
    const field = p384 ? 48 : 32; // X ‖ Y and r ‖ s each sit in 2 × field bytes, P-192 zero-padded
    publicKey = { kind: 'ec', curve, x: reversed(block.subarray(keyAt + 1, keyAt + 1 + w)), y: reversed(block.subarray(keyAt + 1 + w, keyAt + 1 + 2 * w)) };
    digest = block.slice(4, p384 ? 52 : 36);
    const sigAt = keyAt + 1 + 2 * field;
    signature = new Uint8Array(2 * w);
    signature.set(reversed(block.subarray(sigAt, sigAt + w)));
    signature.set(reversed(block.subarray(sigAt + w, sigAt + 2 * w)), w);
  } else {
    return invalid(`unknown version 0x${version.toString(16)}`);
  }
  const [from, to] = keyMaterialRange(scheme);
  return {
    ...base,
    valid: true,
    problem: null,
    scheme,
    imageDigest: digest,
    publicKey,
    signature,
    keyDigest: crypto.digest('sha256', block.subarray(from, to)),
  };
}
