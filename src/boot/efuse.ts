import { EfuseError } from './efuse-error.js';
import { EFUSE_CHIPS, type EfuseChip, type EfuseChipLayout, type EfuseField } from './efuse-fields.js';
import { decodeEfuseImage, encodeEfuseImage } from './efuse-image.js';
import {
  type BurnKeyPurpose,
  CHIP_KEY_PURPOSES,
  digestSlotOf,
  isReversedPurpose,
  isSecretPurpose,
  KEY_PURPOSE,
  type KeyPurposeName,
  keyPurposeName,
} from './efuse-key-purpose.js';

/** A field value: `bool` fields give a boolean, `uint` fields a number, `bytes` fields a fresh Uint8Array. @example efuse.read('SECURE_BOOT_EN') // false */
export type EfuseValue = boolean | number | Uint8Array;

/** Options of {@link Efuse.create}. @example Efuse.create('esp32', { codingScheme: '3/4' }) */
export interface EfuseCreateOptions {
  /** ESP32 only: the CODING_SCHEME of the chip (default `none`; `3/4` gives 192-bit keys). */
  codingScheme?: 'none' | '3/4';
}

/** Options of {@link Efuse.burnKey} and {@link Efuse.burnKeyDigest}, named like espefuse's flags. @example efuse.burnKey('BLOCK_KEY0', key, 'USER', { noWriteProtect: true }) */
export interface BurnKeyOptions {
  /** Leave a secret key readable by software (espefuse `--no-read-protect`). */
  noReadProtect?: boolean;
  /** Leave the key block burnable (espefuse `--no-write-protect`; its KEY_PURPOSE is write-protected anyway, as espefuse does). */
  noWriteProtect?: boolean;
}

/** Options of {@link Efuse.enableFlashEncryption}. @example efuse.enableFlashEncryption({ release: true }) */
export interface EnableFlashEncryptionOptions {
  /**
   * Release mode: burn every remaining CRYPT_CNT bit, write-protect CRYPT_CNT and disable
   * download-mode encryption (ESP32 DISABLE_DL_ENCRYPT/DECRYPT/CACHE, C3/S3
   * DIS_DOWNLOAD_MANUAL_ENCRYPT). Default: development mode (one more CRYPT_CNT bit).
   */
  release?: boolean;
}

/** Options of {@link Efuse.enableSecureBoot}. @example efuse.enableSecureBoot({ allowReadProtect: true }) */
export interface EnableSecureBootOptions {
  /**
   * Keep RD_DIS burnable after enabling secure boot. By default RD_DIS is write-protected
   * (WR_DIS bit 0), as the bootloader does, so no eFuse (a digest) can be read-protected later.
   */
  allowReadProtect?: boolean;
  /**
   * C3/S3: also revoke the digest slots that hold no digest, as the bootloader does on first boot
   * unless CONFIG_SECURE_BOOT_ALLOW_UNUSED_DIGEST_SLOTS (so nobody can add a key later). Default false.
   */
  revokeUnusedSlots?: boolean;
}

/** One burned secure boot public-key digest. @example efuse.secureBootDigests()[0]?.slot */
export interface SecureBootDigest {
  /** Digest slot 0..2 (ESP32: always 0, BLOCK2). */
  slot: number;
  /** The 32 bytes as burned (SBv2 digests are not reversed). */
  digest: Uint8Array;
  /** True when SECURE_BOOT_KEY_REVOKEn is burned: the boot ROM must skip this slot. */
  revoked: boolean;
  /** The block holding it, e.g. `BLOCK_KEY1` or `BLOCK2`. */
  block: string;
}

/** One row of {@link Efuse.summary}. @example efuse.summary().find((r) => r.name === 'RD_DIS') */
export interface EfuseSummaryRow {
  name: string;
  block: string;
  /** Software view: a read-protected field reads as zeros. */
  value: EfuseValue;
  writeProtected: boolean;
  readProtected: boolean;
}

/**
 * What the chip's crypto hardware sees: read protection does not apply. The boot ROM, the flash
 * encryption engine and the HMAC peripheral of an emulated device use this view.
 *
 * @example
 * const key = efuse.hardware.flashEncryptionKey();
 */
export interface EfuseHardwareView {
  /** A field's raw value. */
  read(name: string): EfuseValue;
  /** A raw copy of a block (by number or espefuse name). */
  readBlock(block: number | string): Uint8Array;
  /**
   * The flash encryption key in espsecure key-file order (the byte reversal of burning undone):
   * ESP32 32 bytes (a 3/4-coding 24-byte key K is extended to K ‖ K[8:16]); C3 32 bytes
   * (XTS_AES_128_KEY); S3 64 bytes from XTS_AES_256_KEY_1 ‖ _2, or 32 from XTS_AES_128_KEY.
   * Null when no key is burned. The caller owns (and should wipe) the copy.
   */
  flashEncryptionKey(): Uint8Array | null;
  /** C3/S3: the key of the first block with `purpose`, in the order it was given to burnKey; null if none. */
  key(purpose: KeyPurposeName): Uint8Array | null;
}

const KEY_BLOCK_FIRST = 4; // C3/S3: BLOCK_KEY0 = BLOCK4
const KEY_BLOCKS = 6;
/** Purposes at most one key block may hold. */
const UNIQUE_PURPOSES: readonly KeyPurposeName[] = [
  'XTS_AES_128_KEY',
  'XTS_AES_256_KEY_1',
  'XTS_AES_256_KEY_2',
  'SECURE_BOOT_DIGEST0',
  'SECURE_BOOT_DIGEST1',
  'SECURE_BOOT_DIGEST2',
];

/**
 * A model of a chip's eFuses (ESP32, or the C3/S3 family) that enforces the hardware's rules and
 * mirrors espefuse's burn behaviour:
 * - bits only go 0 -> 1; a burn that would clear a bit is refused, re-burning a set bit is a no-op;
 * - a field whose WR_DIS bit is set cannot be burned; a field whose RD_DIS bit is set reads as
 *   zeros in the software view ({@link read}) but not in {@link hardware};
 * - keys go into empty key blocks, byte-reversed for XTS-AES and the ESP32 flash key, read- and
 *   write-protected like espefuse; SBv2 digests are burned as is, write- but not read-protected;
 * - a multi-field operation either burns everything or nothing.
 *
 * The model holds keys: {@link destroy} wipes them, and saved images ({@link toImage}) are secrets.
 *
 * @example
 * const efuse = Efuse.create('esp32c3');
 * efuse.burnKey('BLOCK_KEY0', xtsKey, 'XTS_AES_128_KEY');
 * efuse.burnKeyDigest(sbv2Digest, 'BLOCK_KEY1', 'SECURE_BOOT_DIGEST0');
 * efuse.enableFlashEncryption({ release: true });
 * efuse.enableSecureBoot();
 * efuse.hardware.flashEncryptionKey(); // the 32-byte key, in key-file order
 */
export class Efuse {
  readonly chip: EfuseChip;
  readonly layout: EfuseChipLayout;
  /** The crypto hardware's view (ignores read protection). */
  readonly hardware: EfuseHardwareView;
  readonly #blocks: Uint8Array[];
  #destroyed = false;

  private constructor(chip: EfuseChip, blocks: Uint8Array[]) {
    this.chip = chip;
    this.layout = EFUSE_CHIPS[chip];
    this.#blocks = blocks;
    this.hardware = Object.freeze({
      read: (name: string) => this.#value(this.field(name), this.#rawBits(this.field(name))),
      readBlock: (block: number | string) => {
        this.#alive();
        return this.#blocks[this.#blockIndex(block)]!.slice();
      },
      flashEncryptionKey: () => this.#flashKey(),
      key: (purpose: KeyPurposeName) => this.#keyOf(purpose),
    });
  }

  /**
   * A blank (all-zero) eFuse set of `chip`, as a new chip leaves the factory (apart from MAC and
   * calibration data, which the model leaves at zero).
   *
   * @throws {TypeError} for an unknown chip; {@link EfuseError} EFUSE_UNSUPPORTED for a coding scheme on a chip without one
   * @example
   * const efuse = Efuse.create('esp32', { codingScheme: '3/4' });
   */
  static create(chip: EfuseChip, options: EfuseCreateOptions = {}): Efuse {
    if (!Object.hasOwn(EFUSE_CHIPS, chip)) {
      throw new TypeError(`"chip" must be one of ${Object.keys(EFUSE_CHIPS).join(', ')}, got ${String(chip)}`);
    }
    const efuse = new Efuse(chip, EFUSE_CHIPS[chip].blockLengths.map((n) => new Uint8Array(n)));
    const scheme = options.codingScheme ?? 'none';
    if (scheme !== 'none' && scheme !== '3/4') throw new TypeError(`"codingScheme" must be 'none' or '3/4', got ${String(scheme)}`);
    if (scheme === '3/4') {
      if (chip !== 'esp32') throw new EfuseError('EFUSE_UNSUPPORTED', `Only the ESP32 has a 3/4 coding scheme; ${chip} blocks are Reed-Solomon coded`);
      efuse.burn('CODING_SCHEME', 1);
    }
    return efuse;
  }

  /**
   * Restores a model saved with {@link toImage}.
   *
   * @throws {EfuseError} EFUSE_IMAGE_CORRUPT when the image is truncated, altered or of an unknown version
   * @example
   * const efuse = Efuse.fromImage(fs.readFileSync('efuse.bin'));
   */
  static fromImage(image: Uint8Array): Efuse {
    const { chip, blocks } = decodeEfuseImage(image);
    return new Efuse(chip, blocks);
  }

  /**
   * The saved form (see `efuse-image.ts`): raw blocks with a CRC32. It holds the keys in clear:
   * store it like a key file (mode 0600) and wipe the returned bytes when done.
   *
   * @throws {EfuseError} EFUSE_DESTROYED after {@link destroy}
   * @example
   * writeFileAtomic('efuse.bin', efuse.toImage());
   */
  toImage(): Uint8Array {
    this.#alive();
    return encodeEfuseImage(this.chip, this.#blocks);
  }

  /** Wipes every block (keys included); any later use throws EFUSE_DESTROYED. @example efuse.destroy(); */
  destroy(): void {
    for (const b of this.#blocks) b.fill(0);
    this.#destroyed = true;
  }

  /** The names of every field of this chip, in table order. @example efuse.fieldNames().includes('SECURE_BOOT_EN') */
  fieldNames(): string[] {
    return Object.keys(this.layout.fields);
  }

  /**
   * The table entry of a field.
   *
   * @throws {EfuseError} EFUSE_UNKNOWN_NAME when the chip has no such field
   * @example
   * efuse.field('FLASH_CRYPT_CNT').wrDis; // 2 on the ESP32
   */
  field(name: string): EfuseField {
    const f = Object.hasOwn(this.layout.fields, name) ? this.layout.fields[name] : undefined;
    if (!f) throw new EfuseError('EFUSE_UNKNOWN_NAME', `${this.chip} has no eFuse field named "${name}"; see fieldNames() for the espefuse names`);
    return f;
  }

  /**
   * A field's value as software reads it: zeros when the field is read-protected.
   *
   * @throws {EfuseError} EFUSE_UNKNOWN_NAME, EFUSE_UNSUPPORTED (a block part that 3/4 coding does not have)
   * @example
   * efuse.read('SPI_BOOT_CRYPT_CNT'); // 0..7
   */
  read(name: string): EfuseValue {
    const f = this.field(name);
    const bits = this.#rawBits(f);
    if (this.isReadProtected(name)) bits.fill(0);
    return this.#value(f, bits);
  }

  /**
   * A copy of a block as software reads it (read-protected fields as zeros).
   *
   * @throws {EfuseError} EFUSE_UNKNOWN_NAME for a block the chip does not have
   * @example
   * efuse.readBlock('BLOCK_KEY0'); // 32 zero bytes once the XTS key is read-protected
   */
  readBlock(block: number | string): Uint8Array {
    this.#alive();
    const index = this.#blockIndex(block);
    const out = this.#blocks[index]!.slice();
    for (const f of Object.values(this.layout.fields)) {
      if (f.block !== index || f.rdDis === null || !this.#rdDisSet(f.rdDis)) continue;
      for (let i = f.start; i < f.start + f.len; i++) out[i >> 3]! &= ~(1 << (i & 7));
    }
    return out;
  }

  /** True when the field's WR_DIS bit is burned. @throws {EfuseError} EFUSE_UNKNOWN_NAME @example efuse.isWriteProtected('BLOCK_KEY0') */
  isWriteProtected(name: string): boolean {
    const f = this.field(name);
    return f.wrDis !== null && this.#wrDisSet(f.wrDis);
  }

  /** True when the field's RD_DIS bit is burned. @throws {EfuseError} EFUSE_UNKNOWN_NAME @example efuse.isReadProtected('BLOCK1') */
  isReadProtected(name: string): boolean {
    const f = this.field(name);
    return f.rdDis !== null && this.#rdDisSet(f.rdDis);
  }

  /**
   * Burns a field (espefuse `burn-efuse NAME VALUE`). `value` is the field's new value, which must
   * keep every bit that is already 1; bits already 1 are simply re-burned (no-op).
   *
   * @throws {TypeError}/{RangeError} for a value of the wrong type or size (named `value`)
   * @throws {EfuseError} EFUSE_CANNOT_CLEAR (a 1 would become 0), EFUSE_WRITE_PROTECTED (WR_DIS set),
   *   EFUSE_UNKNOWN_NAME, EFUSE_DESTROYED, EFUSE_UNSUPPORTED (ESP32 CODING_SCHEME once BLOCK1..3 hold data)
   * @example
   * efuse.burn('DIS_PAD_JTAG', true);
   * efuse.burn('SPI_BOOT_CRYPT_CNT', 0b011);
   */
  burn(name: string, value: EfuseValue): void {
    const f = this.field(name);
    if (f.name === 'CODING_SCHEME' && this.#blocks.slice(1).some((blk) => blk.some((x) => x !== 0))) {
      throw new EfuseError('EFUSE_UNSUPPORTED', 'Cannot change CODING_SCHEME once BLOCK1..3 hold data: it would change how they are read; set it on a blank chip');
    }
    const bits = this.#bitsOf(f, value);
    try {
      this.#burnBits(f, bits);
    } finally {
      bits.fill(0); // may be a copy of a key
    }
  }

  /**
   * Write-protects a field by burning its WR_DIS bit (which may cover other fields too).
   *
   * @throws {EfuseError} EFUSE_NOT_PROTECTABLE when the field has no WR_DIS bit; EFUSE_WRITE_PROTECTED when WR_DIS itself is
   * @example
   * efuse.writeProtect('SPI_BOOT_CRYPT_CNT'); // WR_DIS bit 4
   */
  writeProtect(name: string): void {
    const f = this.field(name);
    if (f.wrDis === null) throw new EfuseError('EFUSE_NOT_PROTECTABLE', `${name} has no WR_DIS bit on ${this.chip}: it cannot be write-protected`);
    this.#burnFlag('WR_DIS', f.wrDis);
  }

  /**
   * Read-protects a field by burning its RD_DIS bit: software then reads zeros, the hardware still uses it.
   *
   * @throws {EfuseError} EFUSE_NOT_PROTECTABLE when the field has no RD_DIS bit; EFUSE_WRITE_PROTECTED when RD_DIS is
   *   (e.g. after secure boot was enabled)
   * @example
   * efuse.readProtect('BLOCK_KEY2'); // RD_DIS bit 2
   */
  readProtect(name: string): void {
    const f = this.field(name);
    if (f.rdDis === null) throw new EfuseError('EFUSE_NOT_PROTECTABLE', `${name} has no RD_DIS bit on ${this.chip}: it cannot be read-protected`);
    this.#burnFlag('RD_DIS', f.rdDis);
  }

  /**
   * Burns a key into an empty key block (espefuse `burn-key`), all or nothing.
   *
   * ESP32: `block` is `flash_encryption` or `secure_boot_v1` (BLOCK1/BLOCK2, byte-reversed and
   * read-protected), or `BLOCK1`..`BLOCK3` (bytes as given, not read-protected: espefuse does the
   * same, so use the key names for keys); 32 bytes, or 24 with the 3/4 coding scheme; no purpose.
   * C3/S3: `block` is `BLOCK_KEY0..5` (or `KEY0..5`, `BLOCK4..9`) and `purpose` is required; 32
   * bytes, 64 for the virtual `XTS_AES_256_KEY` (S3), which burns `block` and the next one with
   * `XTS_AES_256_KEY_1`/`_2`. XTS keys are byte-reversed; XTS and HMAC keys are read-protected;
   * key and KEY_PURPOSE are write-protected (KEY_PURPOSE even with `noWriteProtect`, like espefuse).
   *
   * @throws {TypeError}/{RangeError} for a wrong `key` type or length, or an all-zero key
   * @throws {EfuseError} EFUSE_KEY_BLOCK_NOT_EMPTY, EFUSE_BAD_PURPOSE, EFUSE_PURPOSE_IN_USE,
   *   EFUSE_WRITE_PROTECTED, EFUSE_UNKNOWN_NAME
   * @example
   * efuse.burnKey('BLOCK_KEY0', keyFile64, 'XTS_AES_256_KEY'); // ESP32-S3
   * esp32.burnKey('flash_encryption', keyFile32);
   */
  burnKey(block: string, key: Uint8Array, purpose?: BurnKeyPurpose, options: BurnKeyOptions = {}): void {
    this.#alive();
    if (!(key instanceof Uint8Array)) throw new TypeError('"key" must be a Uint8Array');
    if (key.every((b) => b === 0)) throw new RangeError('"key" is all zeros: an all-zero key block reads as empty and protects nothing');
    if (this.chip === 'esp32') {
      if (purpose !== undefined) throw new EfuseError('EFUSE_BAD_PURPOSE', `ESP32 key blocks have no KEY_PURPOSE; call burnKey('${block}', key) without "${purpose}"`);
      this.#atomically(() => this.#burnEsp32Key(block, key, options));
      return;
    }
    if (purpose === undefined) throw new EfuseError('EFUSE_BAD_PURPOSE', `${this.chip} needs a key purpose for ${block}, e.g. XTS_AES_128_KEY or SECURE_BOOT_DIGEST0`);
    const allowed = CHIP_KEY_PURPOSES[this.chip];
    if (!allowed.includes(purpose)) {
      throw new EfuseError('EFUSE_BAD_PURPOSE', `Key purpose ${String(purpose)} is not available on ${this.chip}; use one of ${allowed.join(', ')}`);
    }
    const n = this.#keyBlockNumber(block);
    if (purpose === 'XTS_AES_256_KEY') {
      if (key.length !== 64) throw new RangeError(`"key" must be 64 bytes for XTS_AES_256_KEY, got ${key.length}`);
      if (n + 1 >= KEY_BLOCKS) throw new EfuseError('EFUSE_BAD_PURPOSE', `XTS_AES_256_KEY needs ${block} and the next key block, and BLOCK_KEY5 is the last; start at BLOCK_KEY0..4`);
      this.#atomically(() => {
        this.#burnKeyBlock(n, key.subarray(0, 32), 'XTS_AES_256_KEY_1', options);
        this.#burnKeyBlock(n + 1, key.subarray(32, 64), 'XTS_AES_256_KEY_2', options);
      });
      return;
    }
    if (key.length !== 32) throw new RangeError(`"key" must be 32 bytes for ${purpose}, got ${key.length}`);
    this.#atomically(() => this.#burnKeyBlock(n, key, purpose, options));
  }

  /**
   * Burns a Secure Boot V2 public-key digest (32 bytes, as made by `digest-sbv2-public-key`),
   * unreversed, write-protected and readable. ESP32: into BLOCK2 (`block`/`purpose` omitted; not
   * possible with 3/4 coding). C3/S3: into `block` with purpose SECURE_BOOT_DIGEST0..2.
   *
   * @throws {RangeError} unless `digest` is 32 bytes
   * @throws {EfuseError} EFUSE_KEY_BLOCK_NOT_EMPTY, EFUSE_BAD_PURPOSE (also: the slot is revoked),
   *   EFUSE_PURPOSE_IN_USE, EFUSE_UNSUPPORTED
   * @example
   * efuse.burnKeyDigest(digest, 'BLOCK_KEY1', 'SECURE_BOOT_DIGEST0');
   */
  burnKeyDigest(
    digest: Uint8Array,
    block?: string,
    purpose?: 'SECURE_BOOT_DIGEST0' | 'SECURE_BOOT_DIGEST1' | 'SECURE_BOOT_DIGEST2',
    options: Pick<BurnKeyOptions, 'noWriteProtect'> = {},
  ): void {
    this.#alive();
    if (!(digest instanceof Uint8Array) || digest.length !== 32) throw new RangeError('"digest" must be a 32-byte Uint8Array (SHA-256 of the public key)');
    if (this.chip !== 'esp32') {
      if (block === undefined || purpose === undefined || digestSlotOf(purpose) === null) {
        throw new EfuseError('EFUSE_BAD_PURPOSE', `${this.chip} needs a key block and a purpose SECURE_BOOT_DIGEST0..2 for a digest`);
      }
      this.burnKey(block, digest, purpose, { noWriteProtect: options.noWriteProtect ?? false });
      return;
    }
    if (this.#codingScheme() !== 0) {
      throw new EfuseError('EFUSE_UNSUPPORTED', 'A Secure Boot V2 digest needs 256-bit BLOCK2, but this ESP32 uses the 3/4 coding scheme (192-bit blocks)');
    }
    if (block !== undefined && block !== 'BLOCK2' && block !== 'secure_boot_v2') {
      throw new EfuseError('EFUSE_BAD_PURPOSE', `The ESP32 keeps its Secure Boot V2 digest in BLOCK2, not ${block}`);
    }
    if (digest.every((b) => b === 0)) throw new RangeError('"digest" is all zeros');
    this.#atomically(() => {
      this.#requireEmpty('BLOCK2');
      this.burn('BLOCK2', digest);
      if (!options.noWriteProtect) this.writeProtect('BLOCK2');
    });
  }

  /**
   * C3/S3: the purpose of key block `block` (`BLOCK_KEY0..5`).
   *
   * @throws {EfuseError} EFUSE_UNSUPPORTED on the ESP32, EFUSE_UNKNOWN_NAME
   * @example
   * efuse.keyPurpose('BLOCK_KEY0'); // 'XTS_AES_128_KEY'
   */
  keyPurpose(block: string): KeyPurposeName | `UNKNOWN_${number}` {
    this.#alive();
    if (this.chip === 'esp32') throw new EfuseError('EFUSE_UNSUPPORTED', 'ESP32 key blocks have no KEY_PURPOSE');
    const v = this.#rawNumber(`KEY_PURPOSE_${this.#keyBlockNumber(block)}`);
    return keyPurposeName(v) ?? `UNKNOWN_${v}`;
  }

  /**
   * Every burned secure boot digest with its slot and revocation state, by slot (the boot ROM's
   * view: read protection does not apply). A verifier trusts only entries with `revoked: false`.
   *
   * @example
   * const trusted = efuse.secureBootDigests().filter((d) => !d.revoked);
   */
  secureBootDigests(): SecureBootDigest[] {
    this.#alive();
    if (this.chip === 'esp32') {
      const raw = this.#blocks[2]!;
      if (raw.every((b) => b === 0) || this.#rawNumber('ABS_DONE_0') === 1) return [];
      return [{ slot: 0, digest: raw.slice(), revoked: false, block: 'BLOCK2' }];
    }
    const out: SecureBootDigest[] = [];
    for (let n = 0; n < KEY_BLOCKS; n++) {
      const name = keyPurposeName(this.#rawNumber(`KEY_PURPOSE_${n}`));
      const slot = name === undefined ? null : digestSlotOf(name);
      if (slot === null) continue;
      out.push({
        slot,
        digest: this.#blocks[KEY_BLOCK_FIRST + n]!.slice(),
        revoked: this.#rawNumber(`SECURE_BOOT_KEY_REVOKE${slot}`) === 1,
        block: `BLOCK_KEY${n}`,
      });
    }
    return out.sort((a, b) => a.slot - b.slot);
  }

  /**
   * Permanently revokes secure boot digest slot `slot` (burns SECURE_BOOT_KEY_REVOKEn); the other slots keep working.
   *
   * @throws {RangeError} unless `slot` is 0, 1 or 2
   * @throws {EfuseError} EFUSE_UNSUPPORTED on the ESP32 (one digest, no revocation), EFUSE_WRITE_PROTECTED
   * @example
   * efuse.revokeKey(0); // after an app signed with key 1 has booted
   */
  revokeKey(slot: number): void {
    this.#alive();
    if (!Number.isInteger(slot) || slot < 0 || slot > 2) throw new RangeError(`"slot" must be 0, 1 or 2, got ${String(slot)}`);
    if (this.chip === 'esp32') throw new EfuseError('EFUSE_UNSUPPORTED', 'The ESP32 has a single Secure Boot V2 digest and no key revocation');
    this.burn(`SECURE_BOOT_KEY_REVOKE${slot}`, true);
  }

  /**
   * Enables secure boot (ESP32 ABS_DONE_1, C3/S3 SECURE_BOOT_EN), all or nothing, and, unless
   * `allowReadProtect`, write-protects RD_DIS so digests can never be read-protected (a
   * denial-of-service guard); with `revokeUnusedSlots`, revokes the empty digest slots first.
   *
   * @throws {EfuseError} EFUSE_NO_KEY when no unrevoked digest is burned (the chip would never boot again)
   * @example
   * efuse.enableSecureBoot();
   */
  enableSecureBoot(options: EnableSecureBootOptions = {}): void {
    this.#alive();
    if (!this.secureBootDigests().some((d) => !d.revoked)) {
      throw new EfuseError('EFUSE_NO_KEY', 'Cannot enable secure boot: no unrevoked Secure Boot V2 digest is burned; burn one with burnKeyDigest() first');
    }
    this.#atomically(() => {
      if (options.revokeUnusedSlots && this.chip !== 'esp32') {
        const used = new Set(this.secureBootDigests().map((d) => d.slot));
        for (let slot = 0; slot < 3; slot++) if (!used.has(slot)) this.revokeKey(slot);
      }
      this.burn(this.chip === 'esp32' ? 'ABS_DONE_1' : 'SECURE_BOOT_EN', true);
      if (!options.allowReadProtect) this.writeProtect('RD_DIS');
    });
  }

  /** True when secure boot is on (ESP32 ABS_DONE_1, C3/S3 SECURE_BOOT_EN). @example efuse.secureBootEnabled() */
  secureBootEnabled(): boolean {
    this.#alive();
    return this.#rawNumber(this.chip === 'esp32' ? 'ABS_DONE_1' : 'SECURE_BOOT_EN') === 1;
  }

  /** True when SECURE_BOOT_AGGRESSIVE_REVOKE is burned (C3/S3; always false on the ESP32). @example efuse.aggressiveRevoke() */
  aggressiveRevoke(): boolean {
    this.#alive();
    return this.chip !== 'esp32' && this.#rawNumber('SECURE_BOOT_AGGRESSIVE_REVOKE') === 1;
  }

  /** The name of the CRYPT_CNT field: FLASH_CRYPT_CNT (ESP32, 7 bits) or SPI_BOOT_CRYPT_CNT (3 bits). @example efuse.cryptCntField */
  get cryptCntField(): 'FLASH_CRYPT_CNT' | 'SPI_BOOT_CRYPT_CNT' {
    return this.chip === 'esp32' ? 'FLASH_CRYPT_CNT' : 'SPI_BOOT_CRYPT_CNT';
  }

  /** True when an odd number of CRYPT_CNT bits is set (3-bit field: 1 and 7 on, 0 and 3 off). @example efuse.flashEncryptionEnabled() */
  flashEncryptionEnabled(): boolean {
    this.#alive();
    return _popcount(this.#rawNumber(this.cryptCntField)) % 2 === 1;
  }

  /** True when flash encryption is in release mode: CRYPT_CNT all ones and write-protected. @example efuse.flashEncryptionReleaseMode() */
  flashEncryptionReleaseMode(): boolean {
    this.#alive();
    const f = this.field(this.cryptCntField);
    return this.#rawNumber(f.name) === 2 ** f.len - 1 && this.isWriteProtected(f.name);
  }

  /**
   * Turns flash encryption on as the bootloader does on first boot, all or nothing. Development
   * mode burns one more CRYPT_CNT bit (and, on the ESP32, FLASH_CRYPT_CONFIG 0xF if still 0);
   * release mode also burns all remaining bits, write-protects CRYPT_CNT and disables
   * download-mode encryption/decryption. Calling it when already on only adds what release adds.
   *
   * @throws {EfuseError} EFUSE_NO_KEY when no flash encryption key is burned; EFUSE_WRITE_PROTECTED
   * @example
   * efuse.enableFlashEncryption({ release: true });
   */
  enableFlashEncryption(options: EnableFlashEncryptionOptions = {}): void {
    this.#alive();
    const key = this.#flashKey();
    if (!key) throw new EfuseError('EFUSE_NO_KEY', `Cannot enable flash encryption: no flash encryption key is burned; burn one with burnKey() first`);
    key.fill(0);
    const cnt = this.field(this.cryptCntField);
    this.#atomically(() => {
      if (!this.flashEncryptionEnabled()) this.#burnNextBit(cnt);
      if (this.chip === 'esp32' && this.#rawNumber('FLASH_CRYPT_CONFIG') === 0) this.burn('FLASH_CRYPT_CONFIG', 0xf);
      if (options.release) {
        this.burn(cnt.name, 2 ** cnt.len - 1);
        this.writeProtect(cnt.name);
        const disables = this.chip === 'esp32' ? ['DISABLE_DL_ENCRYPT', 'DISABLE_DL_DECRYPT', 'DISABLE_DL_CACHE'] : ['DIS_DOWNLOAD_MANUAL_ENCRYPT'];
        for (const name of disables) this.burn(name, true);
      }
    });
  }

  /**
   * Development mode only: turns flash encryption off by burning the next CRYPT_CNT bit (possible
   * 3 times on the ESP32, once on C3/S3). No-op when it is already off.
   *
   * @throws {EfuseError} EFUSE_WRITE_PROTECTED in release mode; EFUSE_CRYPT_CNT_EXHAUSTED when no bit is left
   * @example
   * efuse.disableFlashEncryption();
   */
  disableFlashEncryption(): void {
    this.#alive();
    if (!this.flashEncryptionEnabled()) return;
    this.#burnNextBit(this.field(this.cryptCntField));
  }

  /**
   * C3/S3 anti-rollback: the secure version is the number of SECURE_VERSION bits set.
   *
   * @throws {EfuseError} EFUSE_UNSUPPORTED on the ESP32 (its anti-rollback field is app-defined)
   * @example
   * efuse.secureVersion(); // 0 on a new chip
   */
  secureVersion(): number {
    this.#alive();
    if (this.chip === 'esp32') throw new EfuseError('EFUSE_UNSUPPORTED', 'The ESP32 has no SECURE_VERSION eFuse field');
    return _popcount(this.#rawNumber('SECURE_VERSION'));
  }

  /**
   * Raises the secure version to `version` by burning more SECURE_VERSION bits (lowest first).
   *
   * @throws {RangeError} unless 0 <= `version` <= 16
   * @throws {EfuseError} EFUSE_CANNOT_CLEAR when `version` is below the current one (anti-rollback), EFUSE_WRITE_PROTECTED
   * @example
   * efuse.burnSecureVersion(2);
   */
  burnSecureVersion(version: number): void {
    const current = this.secureVersion();
    const f = this.field('SECURE_VERSION');
    if (!Number.isInteger(version) || version < 0 || version > f.len) throw new RangeError(`"version" must be a whole number 0..${f.len}, got ${String(version)}`);
    if (version < current) {
      throw new EfuseError('EFUSE_CANNOT_CLEAR', `Cannot lower the secure version from ${current} to ${version}: SECURE_VERSION counts burned bits, which never clear`);
    }
    let value = this.#rawNumber('SECURE_VERSION');
    for (let bit = 0; _popcount(value) < version; bit++) if ((value & (1 << bit)) === 0) value |= 1 << bit;
    this.burn('SECURE_VERSION', value);
  }

  /**
   * Every field with its software-view value and protection state (espefuse `summary`), by block and bit.
   *
   * @example
   * for (const row of efuse.summary()) console.log(row.name, row.value);
   */
  summary(): EfuseSummaryRow[] {
    this.#alive();
    return Object.values(this.layout.fields)
      .filter((f) => this.#effectiveLen(f, false) > 0)
      .sort((a, b) => a.block - b.block || a.start - b.start)
      .map((f) => ({
        name: f.name,
        block: this.layout.blockNames[f.block]!,
        value: this.read(f.name),
        writeProtected: this.isWriteProtected(f.name),
        readProtected: this.isReadProtected(f.name),
      }));
  }

  // ---- internals -------------------------------------------------------------------------

  #alive(): void {
    if (this.#destroyed) throw new EfuseError('EFUSE_DESTROYED', 'This eFuse model was destroyed and its keys wiped; load it again');
  }

  /** Runs `fn`; if it throws, every block is restored, so a multi-field burn is all or nothing. */
  #atomically(fn: () => void): void {
    const snapshot = this.#blocks.map((b) => b.slice());
    try {
      fn();
    } catch (e) {
      this.#blocks.forEach((b, i) => b.set(snapshot[i]!));
      throw e;
    } finally {
      for (const s of snapshot) s.fill(0);
    }
  }

  #codingScheme(): number {
    return this.chip === 'esp32' ? this.#rawNumber('CODING_SCHEME') : 0;
  }

  /** Usable bits of a field: ESP32 3/4 coding leaves 192 bits in BLOCK1..3. */
  #effectiveLen(f: EfuseField, strict = true): number {
    if (this.chip !== 'esp32' || f.block === 0) return f.len;
    const scheme = this.#codingScheme();
    if (scheme === 0 || scheme === 3) return f.len;
    if (scheme === 2) {
      if (!strict) return 0;
      throw new EfuseError('EFUSE_UNSUPPORTED', `CODING_SCHEME 2 (repeat) is not supported; ${f.name} cannot be used`);
    }
    const len = Math.max(0, Math.min(f.len, 192 - f.start));
    if (len === 0 && strict) throw new EfuseError('EFUSE_UNSUPPORTED', `${f.name} lies outside the 192 bits a 3/4-coded block has`);
    return len;
  }

  #bit(block: number, i: number): number {
    return (this.#blocks[block]![i >> 3]! >> (i & 7)) & 1;
  }

  #wrDisSet(bit: number): boolean {
    return this.#bit(0, this.layout.fields.WR_DIS!.start + bit) === 1;
  }

  #rdDisSet(bit: number): boolean {
    return this.#bit(0, this.layout.fields.RD_DIS!.start + bit) === 1;
  }

  /** The raw bits of a field as little-endian bytes (ceil(len/8)). */
  #rawBits(f: EfuseField): Uint8Array {
    this.#alive();
    const len = this.#effectiveLen(f);
    const out = new Uint8Array(Math.ceil(len / 8));
    for (let i = 0; i < len; i++) if (this.#bit(f.block, f.start + i)) out[i >> 3]! |= 1 << (i & 7);
    return out;
  }

  #rawNumber(name: string): number {
    const bits = this.#rawBits(this.field(name));
    let v = 0;
    for (let i = bits.length - 1; i >= 0; i--) v = v * 256 + bits[i]!;
    return v;
  }

  #value(f: EfuseField, bits: Uint8Array): EfuseValue {
    if (f.type === 'bytes') return bits;
    let v = 0;
    for (let i = bits.length - 1; i >= 0; i--) v = v * 256 + bits[i]!;
    return f.type === 'bool' ? v === 1 : v;
  }

  /** Converts a caller's value to field bits, checking type and size. */
  #bitsOf(f: EfuseField, value: EfuseValue): Uint8Array {
    const len = this.#effectiveLen(f);
    const size = Math.ceil(len / 8);
    if (f.type === 'bytes') {
      if (!(value instanceof Uint8Array)) throw new TypeError(`"value" for ${f.name} must be a Uint8Array of ${size} bytes`);
      if (value.length !== size) throw new RangeError(`"value" for ${f.name} must be ${size} bytes, got ${value.length}`);
      return value.slice();
    }
    let v: number;
    if (typeof value === 'boolean') v = value ? 1 : 0;
    else if (typeof value === 'number') v = value;
    else throw new TypeError(`"value" for ${f.name} must be a ${f.type === 'bool' ? 'boolean' : 'number'}`);
    if (!Number.isInteger(v) || v < 0 || v >= 2 ** len) throw new RangeError(`"value" for ${f.name} must be a whole number 0..${2 ** len - 1}, got ${String(value)}`);
    const out = new Uint8Array(size);
    for (let i = 0; i < size; i++) out[i] = Math.floor(v / 256 ** i) % 256;
    return out;
  }

  /** The one place bits get set: refuses clears and write-protected fields, then burns. */
  #burnBits(f: EfuseField, bits: Uint8Array): void {
    this.#alive();
    const len = this.#effectiveLen(f);
    let changes = false;
    for (let i = 0; i < len; i++) {
      const want = (bits[i >> 3]! >> (i & 7)) & 1;
      const have = this.#bit(f.block, f.start + i);
      if (have === 1 && want === 0) {
        throw new EfuseError(
          'EFUSE_CANNOT_CLEAR',
          `Cannot burn ${f.name}: its bit ${i} is already 1 and eFuse bits only go 0 -> 1; burn a value that keeps every bit already set (nothing was burned)`,
        );
      }
      if (want === 1 && have === 0) changes = true;
    }
    if (!changes) return;
    if (f.wrDis !== null && this.#wrDisSet(f.wrDis)) {
      throw new EfuseError('EFUSE_WRITE_PROTECTED', `Cannot burn ${f.name}: it is write-protected (WR_DIS bit ${f.wrDis} is set); nothing was burned`);
    }
    const block = this.#blocks[f.block]!;
    for (let i = 0; i < len; i++) if ((bits[i >> 3]! >> (i & 7)) & 1) block[(f.start + i) >> 3]! |= 1 << ((f.start + i) & 7);
  }

  /** Sets one bit of a multi-bit field (WR_DIS, RD_DIS), keeping the others. */
  #burnFlag(name: 'WR_DIS' | 'RD_DIS', bit: number): void {
    const f = this.field(name);
    const bits = this.#rawBits(f);
    bits[bit >> 3]! |= 1 << (bit & 7);
    this.#burnBits(f, bits);
  }

  #burnNextBit(f: EfuseField): void {
    const value = this.#rawNumber(f.name);
    for (let bit = 0; bit < f.len; bit++) {
      if ((value & (1 << bit)) === 0) {
        this.burn(f.name, value | (1 << bit));
        return;
      }
    }
    throw new EfuseError('EFUSE_CRYPT_CNT_EXHAUSTED', `Every ${f.name} bit is burned: flash encryption stays on for good`);
  }

  #blockIndex(block: number | string): number {
    const names = this.layout.blockNames;
    if (typeof block === 'number' && Number.isInteger(block) && block >= 0 && block < names.length) return block;
    if (typeof block === 'string') {
      const byName = names.indexOf(block);
      if (byName >= 0) return byName;
      const m = /^BLOCK(\d+)$/.exec(block);
      if (m && Number(m[1]) < names.length) return Number(m[1]);
    }
    throw new EfuseError('EFUSE_UNKNOWN_NAME', `${this.chip} has no block ${String(block)}; blocks are ${names.join(', ')}`);
  }

  /** C3/S3 key block number 0..5 from `BLOCK_KEYn`, `KEYn` or `BLOCK4..9`. */
  #keyBlockNumber(block: string): number {
    const m = /^(?:BLOCK_KEY|KEY)([0-5])$/.exec(block);
    if (m) return Number(m[1]);
    const b = /^BLOCK(\d+)$/.exec(block);
    if (b && Number(b[1]) >= KEY_BLOCK_FIRST && Number(b[1]) < KEY_BLOCK_FIRST + KEY_BLOCKS) return Number(b[1]) - KEY_BLOCK_FIRST;
    throw new EfuseError('EFUSE_UNKNOWN_NAME', `${String(block)} is not a key block of ${this.chip}; use BLOCK_KEY0..BLOCK_KEY5`);
  }

  #requireEmpty(fieldName: string): void {
    const bits = this.#rawBits(this.field(fieldName));
    const empty = bits.every((b) => b === 0);
    bits.fill(0);
    if (!empty) {
      throw new EfuseError('EFUSE_KEY_BLOCK_NOT_EMPTY', `${fieldName} already holds data; keys can only be burned into an empty block (pick another block)`);
    }
  }

  #burnEsp32Key(block: string, key: Uint8Array, options: BurnKeyOptions): void {
    // As espefuse: only the key names reverse and read-protect; plain BLOCKn names burn the bytes as given.
    const alias: Record<string, string> = { flash_encryption: 'BLOCK1', secure_boot_v1: 'BLOCK2', BLOCK1: 'BLOCK1', BLOCK2: 'BLOCK2', BLOCK3: 'BLOCK3' };
    const name = Object.hasOwn(alias, block) ? alias[block]! : undefined;
    if (!name) throw new EfuseError('EFUSE_UNKNOWN_NAME', `${block} is not an ESP32 key block; use flash_encryption, secure_boot_v1, BLOCK1, BLOCK2 or BLOCK3`);
    const size = this.#effectiveLen(this.field(name)) / 8;
    if (key.length !== size) {
      throw new RangeError(`"key" must be ${size} bytes with the ${size === 24 ? '3/4' : 'none'} coding scheme, got ${key.length}`);
    }
    this.#requireEmpty(name);
    const reversed = block === 'flash_encryption' || block === 'secure_boot_v1';
    const data = reversed ? key.slice().reverse() : key.slice();
    try {
      this.burn(name, data);
    } finally {
      data.fill(0);
    }
    if (reversed && !options.noReadProtect) this.readProtect(name);
    if (!options.noWriteProtect) this.writeProtect(name);
  }

  #burnKeyBlock(n: number, key: Uint8Array, purpose: KeyPurposeName, options: BurnKeyOptions): void {
    const blockName = `BLOCK_KEY${n}`;
    const purposeField = `KEY_PURPOSE_${n}`;
    this.#requireEmpty(blockName);
    if (this.#rawNumber(purposeField) !== 0) {
      throw new EfuseError('EFUSE_KEY_BLOCK_NOT_EMPTY', `${purposeField} is already ${this.keyPurpose(blockName)}; pick an unused key block`);
    }
    const slot = digestSlotOf(purpose);
    if (slot !== null && this.#rawNumber(`SECURE_BOOT_KEY_REVOKE${slot}`) === 1) {
      throw new EfuseError('EFUSE_BAD_PURPOSE', `Secure boot digest slot ${slot} is revoked (SECURE_BOOT_KEY_REVOKE${slot}); a digest burned there would never be trusted`);
    }
    if (UNIQUE_PURPOSES.includes(purpose)) {
      const clash = purpose.startsWith('XTS_AES_')
        ? (p: string) => p === purpose || (purpose === 'XTS_AES_128_KEY' ? p.startsWith('XTS_AES_256') : p === 'XTS_AES_128_KEY')
        : (p: string) => p === purpose;
      for (let other = 0; other < KEY_BLOCKS; other++) {
        const p = keyPurposeName(this.#rawNumber(`KEY_PURPOSE_${other}`)) ?? '';
        if (other !== n && clash(p)) {
          throw new EfuseError('EFUSE_PURPOSE_IN_USE', `BLOCK_KEY${other} already has purpose ${p}; ${purpose} cannot be burned into ${blockName} as well`);
        }
      }
    }
    const data = isReversedPurpose(purpose) ? key.slice().reverse() : key.slice();
    try {
      this.burn(blockName, data);
    } finally {
      data.fill(0);
    }
    this.burn(purposeField, KEY_PURPOSE[purpose]);
    this.writeProtect(purposeField); // espefuse locks the purpose even with --no-write-protect
    if (isSecretPurpose(purpose) && !options.noReadProtect) this.readProtect(blockName);
    if (!options.noWriteProtect) this.writeProtect(blockName);
  }

  #keyOf(purpose: KeyPurposeName): Uint8Array | null {
    this.#alive();
    if (this.chip === 'esp32') throw new EfuseError('EFUSE_UNSUPPORTED', 'ESP32 key blocks have no KEY_PURPOSE; use flashEncryptionKey() or readBlock()');
    for (let n = 0; n < KEY_BLOCKS; n++) {
      if (this.#rawNumber(`KEY_PURPOSE_${n}`) !== KEY_PURPOSE[purpose]) continue;
      const raw = this.#blocks[KEY_BLOCK_FIRST + n]!.slice();
      if (purpose === 'USER' && raw.every((b) => b === 0)) continue;
      return isReversedPurpose(purpose) ? raw.reverse() : raw;
    }
    return null;
  }

  #flashKey(): Uint8Array | null {
    this.#alive();
    if (this.chip === 'esp32') {
      const bits = this.#rawBits(this.field('BLOCK1'));
      if (bits.every((b) => b === 0)) return null;
      const key = bits.reverse();
      if (key.length === 32) return key;
      const out = new Uint8Array(32);
      out.set(key, 0);
      out.set(key.subarray(8, 16), 24);
      key.fill(0);
      return out;
    }
    const k1 = this.chip === 'esp32s3' ? this.#keyOf('XTS_AES_256_KEY_1') : null;
    const k2 = this.chip === 'esp32s3' ? this.#keyOf('XTS_AES_256_KEY_2') : null;
    if (k1 && k2) {
      const out = new Uint8Array(64);
      out.set(k1, 0);
      out.set(k2, 32);
      k1.fill(0);
      k2.fill(0);
      return out;
    }
    if (k1 || k2) {
      k1?.fill(0);
      k2?.fill(0);
      throw new EfuseError('EFUSE_NO_KEY', 'Only one half of the XTS-AES-256 key is burned (XTS_AES_256_KEY_1 and _2 are both needed)');
    }
    return this.#keyOf('XTS_AES_128_KEY');
  }
}

function _popcount(v: number): number {
  let n = 0;
  for (let x = v; x > 0; x = Math.floor(x / 2)) n += x % 2;
  return n;
}
