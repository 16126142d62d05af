import { bytesEqual } from '../bytes/equal.js';
import type { CryptoProvider, HashName } from '../crypto/provider.js';
import type { PublicKey } from '../crypto/public-key.js';
import type { Signer } from '../crypto/signer.js';
import { NvsecError } from '../errors/nvsec-error.js';
import type { Efuse } from './efuse.js';
import type { EfuseChip } from './efuse-fields.js';
import {
  decodeSignatureBlock,
  EMPTY_SLOT,
  encodeSignatureBlock,
  hashOfScheme,
  SBV2,
  SCHEME_FAMILY,
  SCHEME_NAMES,
  type Sbv2Scheme,
  type SignatureBlock,
  schemeOfKey,
} from './signature-block.js';

/** A signed image split into the signed region and its signature sector. */
export interface SignedImage {
  /** Bytes [0, L): what the signatures cover. */
  readonly region: Uint8Array;
  /** The 4096-byte sector at L. */
  readonly sector: Uint8Array;
}

/**
 * Splits a signed image (signed region ‖ 4 KiB signature sector).
 * @throws {NvsecError} SBV2_BAD_LENGTH when the length is not a non-zero multiple of 4096
 */
export function splitSignedImage(data: Uint8Array): SignedImage {
  if (data.length < SBV2.SECTOR_SIZE || data.length % SBV2.SECTOR_SIZE !== 0) {
    throw new NvsecError(
      'SBV2_BAD_LENGTH',
      `a signed image is its data followed by a 4096-byte signature sector, so its length is a non-zero multiple of 4096; this one is ${data.length} bytes (not signed, or truncated?)`,
    );
  }
  const at = data.length - SBV2.SECTOR_SIZE;
  return { region: data.subarray(0, at), sector: data.subarray(at) };
}

/** The three blocks of a signature sector, decoded. */
export function readSignatureBlocks(crypto: CryptoProvider, sector: Uint8Array): SignatureBlock[] {
  if (sector.length !== SBV2.SECTOR_SIZE) throw new RangeError(`"sector" must be ${SBV2.SECTOR_SIZE} bytes, got ${sector.length}`);
  return [0, 1, 2].map((i) => decodeSignatureBlock(crypto, sector, i));
}

/**
 * Valid blocks from slot 0 up to the first invalid one: the blocks a sector "has", as the
 * bootloader and espsecure --append-signatures count them.
 */
export function leadingValidBlocks(blocks: readonly SignatureBlock[]): SignatureBlock[] {
  const out: SignatureBlock[] = [];
  for (const b of blocks) {
    if (!b.valid) break;
    out.push(b);
  }
  return out;
}

/** Digests of `region` per hash, each computed once. */
function digestsOf(crypto: CryptoProvider, region: Uint8Array, hashes: Iterable<HashName>): Map<HashName, Uint8Array> {
  const out = new Map<HashName, Uint8Array>();
  for (const h of hashes) if (!out.has(h)) out.set(h, crypto.digest(h, region));
  return out;
}

/** Options of {@link signImage}. */
export interface SignOptions {
  /**
   * Keep the valid blocks of the input's signature sector and add the new ones after them
   * (espsecure --append-signatures). Without valid blocks the whole input is signed.
   */
  appendSignatures?: boolean;
}

/** What {@link signImage} made. */
export interface SignResult {
  /** Signed region ‖ signature sector. */
  readonly image: Uint8Array;
  /** Length of the signed region. */
  readonly signedLength: number;
  /** 0xFF bytes added so the sector starts on a 4096-byte boundary. */
  readonly paddedBytes: number;
  /** Blocks kept from the input's sector (with appendSignatures). */
  readonly keptBlocks: readonly SignatureBlock[];
  /** Blocks in the new sector. */
  readonly blockCount: number;
}

/**
 * Secure Boot V2 signing (espsecure sign-data --version 2): pads the data with 0xFF to a
 * multiple of 4096, signs its digest with each signer in turn and appends a 4096-byte sector with
 * one block per signature (at most three in all).
 *
 * @throws {NvsecError} SBV2_TOO_MANY_BLOCKS, SBV2_KEY_UNSUPPORTED, SBV2_APPEND_UNALIGNED,
 *   SBV2_SIGNATURE_FAILED (a signer returned a signature that does not verify)
 * @example
 * const { image } = await signImage(nodeCrypto, app, [readSigningKey(pem).signer!]);
 */
export async function signImage(crypto: CryptoProvider, data: Uint8Array, signers: readonly Signer[], options: SignOptions = {}): Promise<SignResult> {
  if (signers.length === 0) throw new RangeError('"signers" must hold at least one signer');
  let region = data;
  let kept: SignatureBlock[] = [];
  if (options.appendSignatures) {
    if (data.length % SBV2.SECTOR_SIZE !== 0 || data.length === 0) {
      throw new NvsecError('SBV2_APPEND_UNALIGNED', `--append-signatures needs a signed image (a multiple of 4096 bytes), got ${data.length} bytes`);
    }
    const split = splitSignedImage(data);
    kept = leadingValidBlocks(readSignatureBlocks(crypto, split.sector));
    if (kept.length > 0) region = split.region;
  }
  if (kept.length + signers.length > SBV2.MAX_BLOCKS) {
    throw new NvsecError(
      'SBV2_TOO_MANY_BLOCKS',
      `a signature sector holds at most ${SBV2.MAX_BLOCKS} blocks: ${kept.length} already present + ${signers.length} new key(s) = ${kept.length + signers.length}`,
    );
  }
  const schemes = signers.map((s) => schemeOfKey(s.publicKey));
  const paddedBytes = (SBV2.SECTOR_SIZE - (region.length % SBV2.SECTOR_SIZE)) % SBV2.SECTOR_SIZE;
  const out = new Uint8Array(region.length + paddedBytes + SBV2.SECTOR_SIZE).fill(0xff);
  out.set(region);
  const signed = out.subarray(0, region.length + paddedBytes);
  const digests = digestsOf(crypto, signed, schemes.map(hashOfScheme));
  const sectorAt = signed.length;
  kept.forEach((b, i) => out.set(data.subarray(sectorAt + b.index * SBV2.BLOCK_SIZE, sectorAt + (b.index + 1) * SBV2.BLOCK_SIZE), sectorAt + i * SBV2.BLOCK_SIZE));
  for (let i = 0; i < signers.length; i++) {
    const signer = signers[i]!;
    const hash = hashOfScheme(schemes[i]!);
    const digest = digests.get(hash)!;
    const signature = await signer.sign(digest, hash);
    // A signer fault (or a broken HSM) must not ship an image that will not boot.
    if (!(await crypto.verifyDigest(signer.publicKey, hash, digest, signature))) {
      throw new NvsecError('SBV2_SIGNATURE_FAILED', `the ${SCHEME_NAMES[schemes[i]!]} signer returned a signature that does not verify with its own public key; nothing was written`);
    }
    out.set(encodeSignatureBlock(signer.publicKey, digest, signature), sectorAt + (kept.length + i) * SBV2.BLOCK_SIZE);
  }
  return { image: out, signedLength: signed.length, paddedBytes, keptBlocks: kept, blockCount: kept.length + signers.length };
}

/** Outcome for one block of {@link verifyWithKey}. */
export type KeyVerdict = 'verified' | 'not-signed-by-key' | 'invalid' | 'digest-mismatch' | 'wrong-key-type';

/** One block's outcome. */
export interface BlockReport<V extends string> {
  readonly block: SignatureBlock;
  readonly verdict: V;
  /** One line for people. */
  readonly message: string;
}

/** Result of {@link verifyWithKey}. */
export interface KeyVerifyReport {
  readonly verified: boolean;
  /** Slot of the first block the key verified, or null. */
  readonly verifiedBlock: number | null;
  /** Every block, 0..2. */
  readonly blocks: readonly BlockReport<KeyVerdict>[];
}

/**
 * Verifies a signed image with one public key, as espsecure verify-signature does, but reports
 * every block instead of stopping: a block is verified when it is valid, its digest field equals
 * the digest of the signed region and its signature verifies with `key` (the key embedded in the
 * block is not trusted). The image is verified when one block is, as the bootloader decides; a
 * block whose digest does not match is reported (`digest-mismatch`), and espsecure would stop
 * there. A block of another key type is reported as such (espsecure crashes).
 *
 * @throws {NvsecError} SBV2_BAD_LENGTH; SBV2_KEY_UNSUPPORTED for an RSA key that is not 3072 bits
 */
export async function verifyWithKey(crypto: CryptoProvider, signedImage: Uint8Array, key: PublicKey): Promise<KeyVerifyReport> {
  const { region, sector } = splitSignedImage(signedImage);
  const keyScheme = schemeOfKey(key);
  const blocks = readSignatureBlocks(crypto, sector);
  const digests = digestsOf(crypto, region, blocks.flatMap((b) => (b.scheme ? [hashOfScheme(b.scheme)] : [])));
  const reports: BlockReport<KeyVerdict>[] = [];
  for (const block of blocks) reports.push(await checkWithKey(block));
  const first = reports.find((r) => r.verdict === 'verified');
  return { verified: first !== undefined, verifiedBlock: first ? first.block.index : null, blocks: reports };

  async function checkWithKey(block: SignatureBlock): Promise<BlockReport<KeyVerdict>> {
    const n = block.index;
    if (!block.valid || !block.scheme) {
      return { block, verdict: 'invalid', message: `Signature block ${n} invalid${block.problem === EMPTY_SLOT ? '' : ` (${block.problem})`}. Skipping.` };
    }
    const actual = digests.get(hashOfScheme(block.scheme))!;
    if (!bytesEqual(actual, block.imageDigest!)) {
      return { block, verdict: 'digest-mismatch', message: `Signature block ${n} image digest does not match the actual image digest: the signed data was changed after signing.` };
    }
    if (block.scheme !== keyScheme) {
      return { block, verdict: 'wrong-key-type', message: `Signature block ${n} is ${SCHEME_NAMES[block.scheme]} but the supplied key is ${SCHEME_NAMES[keyScheme]}: use the ${SCHEME_NAMES[block.scheme]} public key.` };
    }
    const ok = await crypto.verifyDigest(key, hashOfScheme(block.scheme), actual, block.signature!);
    return ok
      ? { block, verdict: 'verified', message: `Signature block ${n} verification successful using the supplied key (${SCHEME_FAMILY[block.scheme]}).` }
      : { block, verdict: 'not-signed-by-key', message: `Signature block ${n} is not signed by the supplied key. Checking the next block...` };
  }
}

/** The eFuse state the bootloader checks signatures against. */
export interface SecureBootTrust {
  /** SECURE_BOOT_DIGEST0..2 (null or all-zero = slot not burned). */
  readonly digests: readonly (Uint8Array | null)[];
  /** KEY_REVOKE0..2. */
  readonly revoked?: readonly boolean[];
  /** Schemes this chip's ROM accepts (default: all). */
  readonly schemes?: readonly Sbv2Scheme[];
  /** Signature blocks the ROM reads, from slot 0 (default 3; ESP32 and ESP32-C2 read 1). */
  readonly blocks?: number;
}

/** Outcome for one block of {@link verifyAsBootloader}. */
export type DeviceVerdict = 'ok' | 'invalid' | 'not-read' | 'scheme-not-supported' | 'untrusted-key' | 'revoked-key' | 'digest-mismatch' | 'bad-signature';

/** Result of {@link verifyAsBootloader}. */
export interface DeviceVerifyReport {
  readonly accepted: boolean;
  readonly acceptedBlock: number | null;
  /** Slot of the eFuse digest that matched the accepted block's key. */
  readonly trustedSlot: number | null;
  readonly blocks: readonly BlockReport<DeviceVerdict>[];
  /** Digest slots whose key gave a bad signature: what SECURE_BOOT_AGGRESSIVE_REVOKE burns. */
  readonly slotsFailingSignature: readonly number[];
}

/**
 * Verifies a signed region and sector as the ROM/bootloader does: each valid block whose key
 * digest matches a burned, unrevoked eFuse slot, whose digest field matches the region and whose
 * signature verifies with its own key accepts the image. Every block is reported.
 * @example
 * const { region, sector } = splitSignedImage(file);
 * verifyAsBootloader(nodeCrypto, region, sector, { digests: [digest0, null, null] }).accepted;
 */
export async function verifyAsBootloader(crypto: CryptoProvider, region: Uint8Array, sector: Uint8Array, trust: SecureBootTrust): Promise<DeviceVerifyReport> {
  if (region.length % SBV2.SECTOR_SIZE !== 0) throw new RangeError(`"region" must be a multiple of ${SBV2.SECTOR_SIZE} bytes, got ${region.length}`);
  const blocks = readSignatureBlocks(crypto, sector);
  const digests = digestsOf(crypto, region, blocks.flatMap((b) => (b.scheme ? [hashOfScheme(b.scheme)] : [])));
  const burned = trust.digests.map((d) => (d && d.some((b) => b !== 0) ? d : null));
  const failing: number[] = [];
  const reports: BlockReport<DeviceVerdict>[] = [];
  for (const block of blocks) reports.push(await checkAsBootloader(block));
  const ok = reports.find((r) => r.verdict === 'ok');
  const trustedSlot = ok ? burned.findIndex((d, i) => d !== null && !trust.revoked?.[i] && bytesEqual(d, ok.block.keyDigest!)) : null;
  return { accepted: ok !== undefined, acceptedBlock: ok ? ok.block.index : null, trustedSlot, blocks: reports, slotsFailingSignature: failing };

  async function checkAsBootloader(block: SignatureBlock): Promise<BlockReport<DeviceVerdict>> {
    const n = block.index;
    if (n >= (trust.blocks ?? SBV2.MAX_BLOCKS)) return { block, verdict: 'not-read', message: `block ${n}: not read (this chip checks only the first ${trust.blocks} block(s))` };
    if (!block.valid || !block.scheme) return { block, verdict: 'invalid', message: `block ${n}: invalid (${block.problem})` };
    if (trust.schemes && !trust.schemes.includes(block.scheme)) {
      return { block, verdict: 'scheme-not-supported', message: `block ${n}: ${SCHEME_NAMES[block.scheme]} is not supported by this chip` };
    }
    const slots = burned.flatMap((d, i) => (d && bytesEqual(d, block.keyDigest!) ? [i] : []));
    const live = slots.filter((i) => !trust.revoked?.[i]);
    if (slots.length === 0) return { block, verdict: 'untrusted-key', message: `block ${n}: key digest matches no burned eFuse digest slot` };
    if (live.length === 0) return { block, verdict: 'revoked-key', message: `block ${n}: key digest slot ${slots.join(', ')} is revoked` };
    const actual = digests.get(hashOfScheme(block.scheme))!;
    if (!bytesEqual(actual, block.imageDigest!)) return { block, verdict: 'digest-mismatch', message: `block ${n}: image digest does not match (image corrupted on flash)` };
    if (!(await crypto.verifyDigest(block.publicKey!, hashOfScheme(block.scheme), actual, block.signature!))) {
      failing.push(...live);
      return { block, verdict: 'bad-signature', message: `block ${n}: signature does not verify (image valid, signature bad)` };
    }
    return { block, verdict: 'ok', message: `block ${n}: verified with eFuse digest slot ${live[0]}` };
  }
}

/** What the ROM of each chip nvsec models accepts: RSA-3072 only, and one block on the ESP32. */
const CHIP_SECURE_BOOT: Readonly<Record<EfuseChip, { schemes: readonly Sbv2Scheme[]; blocks: number }>> = Object.freeze({
  esp32: { schemes: ['rsa3072'], blocks: 1 },
  esp32c3: { schemes: ['rsa3072'], blocks: 3 },
  esp32s3: { schemes: ['rsa3072'], blocks: 3 },
});

/**
 * The Secure Boot V2 trust anchored in an eFuse model, for {@link verifyAsBootloader}: its
 * digest slots and revocations, and what its chip's ROM accepts. `enabled` says whether the ROM
 * checks signatures at all (ESP32 ABS_DONE_1, others SECURE_BOOT_EN).
 * @example
 * const trust = secureBootTrust(efuse);
 * if (trust.enabled) ok = (await verifyAsBootloader(nodeCrypto, region, sector, trust)).accepted;
 */
export function secureBootTrust(efuse: Efuse): SecureBootTrust & { readonly enabled: boolean } {
  const digests: (Uint8Array | null)[] = [null, null, null];
  const revoked = [false, false, false];
  for (const d of efuse.secureBootDigests()) {
    digests[d.slot] = d.digest;
    revoked[d.slot] = d.revoked;
  }
  return { digests, revoked, ...CHIP_SECURE_BOOT[efuse.chip], enabled: efuse.secureBootEnabled() };
}
