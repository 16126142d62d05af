import { parseAppImage } from '../boot/app-image.js';
import type { Efuse } from '../boot/efuse.js';
import { EncryptedFlash } from '../boot/encrypted-flash.js';
import type { FlashCipher } from '../boot/flash-cipher.js';
import { createFlashCipher } from '../boot/flash-encryption.js';
import { secureBootTrust, verifyAsBootloader } from '../boot/secure-boot-v2.js';
import { toHex } from '../bytes/hex.js';
import type { KeyCrypto } from '../crypto/key-crypto.js';
import type { CryptoProvider } from '../crypto/provider.js';
import { EntropyAccumulator } from '../entropy/accumulator.js';
import { CtrDrbg } from '../entropy/ctr-drbg.js';
import { ENTROPY_CONSTANTS } from '../entropy/entropy-source.js';
import { NvSeedSource } from '../entropy/nv-seed.js';
import { NvsSeedStore } from '../entropy/nvs-seed-store.js';
import { osEntropyPoll } from '../entropy/os-source.js';
import { NvsecError } from '../errors/nvsec-error.js';
import type { Flash } from '../flash/flash.js';
import { PartitionFlash } from '../flash/partition-flash.js';
import { diagnoseNvsDecryption } from '../nvs/crypto/diagnose.js';
import { NvsEntryCipher } from '../nvs/crypto/entry-cipher.js';
import { type NvsKeys, parseKeysPartition } from '../nvs/crypto/keys-partition.js';
import { NvsStorage } from '../nvs/store/storage.js';
import { CKA, CKF_TOKEN } from '../pkcs11/constants.js';
import { PKCS11_LABELS } from '../pkcs11/pal/default-labels.js';
import { NVS_OBJECT_NAMESPACE, NvsObjectStore } from '../pkcs11/pal/nvs-object-store.js';
import { TokenSession } from '../pkcs11/token-session.js';
import { Token } from '../pkcs11/token/token.js';
import { x509Names } from '../pkcs11/token/x509-names.js';
import type { PartitionEntry } from '../partition-table/partition-entry.js';
import { bytesEqual } from '../bytes/equal.js';
import { readDer } from '../bytes/der.js';
import { type CertificateFacts, certificateFacts, certificatePublicKey } from './certificate-facts.js';
import { BOOT_STAGES, type BootStage, DeviceBootError } from './device-boot-error.js';
import { firstAppPartition } from './device-image.js';
import { readFlash, readPartitionTable } from './_flash-access.js';

/** Where the device keeps what its boot reads from NVS (namespaces and keys, as the factory writes them). */
export const DEVICE_NVS = Object.freeze({
  /** Namespace of the token's objects (NvsObjectStore). */
  tokenNamespace: NVS_OBJECT_NAMESPACE,
  /** Namespace and key of the 64-byte NV seed (NvsSeedStore). */
  seedNamespace: 'entropy',
  seedKey: 'nv_seed',
  /** Optional namespace and key of the device id string; without it the id is the certificate's CN. */
  idNamespace: 'device',
  idKey: 'id',
});

/** The token's certificate objects the identity is read from, in chain order. */
export const IDENTITY_CERT_LABELS = Object.freeze([
  PKCS11_LABELS.pkcs11configLABEL_DEVICE_CERTIFICATE_FOR_TLS,
  PKCS11_LABELS.pkcs11configLABEL_JITP_CERTIFICATE,
  PKCS11_LABELS.pkcs11configLABEL_ROOT_CERTIFICATE,
]);

/** Options of {@link bootDevice}. */
export interface BootDeviceOptions {
  /** The device's whole flash (MemoryFlash, FileFlash…). The boot writes to it: the NV seed refresh. */
  readonly flash: Flash;
  /** The device's eFuses (the hardware view is used: the ROM reads read-protected keys). */
  readonly efuse: Efuse;
  readonly crypto: CryptoProvider;
  readonly keys: KeyCrypto;
  /** The user PIN: when given, the token session is logged in. */
  readonly pin?: string;
  /** A clock in milliseconds for the stage timings (default `performance.now`). */
  readonly now?: () => number;
}

/** One certificate of the identity, with the token object it came from. */
export interface IdentityCertificate extends CertificateFacts {
  /** The token object's label ("Device Cert", "JITP Cert", "Root Cert"). */
  readonly label: string;
}

/** Who the device is, from its token. */
export interface DeviceIdentity {
  /** The device id: NVS device/id when the factory wrote it, else the certificate's CN. */
  readonly deviceId: string;
  /** The device certificate. */
  readonly certificate: IdentityCertificate;
  /** The device certificate, then each issuer found among the token's certificates, up to a self-issued root when there is one. */
  readonly chain: readonly IdentityCertificate[];
  /** True when the chain ends at a self-issued certificate. */
  readonly chainComplete: boolean;
  /**
   * True when the device certificate holds the EC public key of the token's "Device Pub TLS Key";
   * null when the token has no such EC key to compare with (a mismatch fails the boot).
   */
  readonly keyMatchesCertificate: boolean | null;
}

/** What a boot did: per stage its time and a line of detail; the app; the NV seed change; the identity. */
export interface BootReport {
  readonly chip: string;
  readonly stages: readonly { readonly stage: BootStage; readonly ms: number; readonly detail: string }[];
  readonly totalMs: number;
  readonly secureBoot: { readonly enabled: boolean; readonly trustedSlot: number | null };
  readonly flashEncryption: { readonly enabled: boolean; readonly releaseMode: boolean };
  readonly app: { readonly partition: string; readonly projectName: string | null; readonly version: string | null };
  /** First 8 bytes of the SHA-256 of the NV seed before and after the refresh (never the seed). */
  readonly nvSeed: { readonly before: string; readonly after: string; readonly changed: boolean };
  readonly token: { readonly label: string; readonly loggedIn: boolean; readonly objects: readonly string[] };
  readonly identity: DeviceIdentity;
}

/** A booted device: its report and what stays open (close it when done). */
export interface BootedDevice {
  readonly report: BootReport;
  readonly nvs: NvsStorage;
  readonly drbg: CtrDrbg;
  readonly token: Token;
  /** A session on the token, logged in when a PIN was given. */
  readonly session: TokenSession;
  /** Closes the session and the token, wipes the DRBG and the NVS keys. */
  close(): void;
}

const PERSONALIZATION = new TextEncoder().encode('nvsec device');

/**
 * Boots an emulated device from its flash and eFuses, stage by stage as the ROM, the bootloader
 * and the app do: `partition-table` (read at 0x8000 through flash decryption), `secure-boot` (the
 * app checked against the eFuse key digests: a tampered app is refused), `flash-decrypt` (the
 * encrypted data partitions mapped through the flash-encryption engine), `nvs-keys` (the keys
 * partition read and CRC-checked), `nvs-init` (NVS secure init, after checking that the keys
 * decrypt the partition so a wrong key never makes the runtime erase it), `nv-seed` (the NV seed
 * refreshed as Mbed TLS does on the first entropy call), `drbg` (CTR_DRBG seeded from the OS and
 * the NV seed), `token` (the PKCS#11 token on the NVS objects; logged in only with a PIN) and
 * `identity` (device id, certificate and issuer chain from the token's certificate objects).
 *
 * @throws {DeviceBootError} `DEVICE_BOOT_FAILED` with the `stage` that failed and its `cause`; the
 *   stages before `nv-seed` never write to the flash
 * @example
 * const device = await bootDevice({ flash, efuse, crypto: nodeCrypto, keys: await loadNodeKeyCrypto() });
 * try { console.log(device.report.identity.deviceId); } finally { device.close(); }
 */
export async function bootDevice(options: BootDeviceOptions): Promise<BootedDevice> {
  const { flash, efuse, crypto } = options;
  const now = options.now ?? (() => performance.now());
  const stages: { stage: BootStage; ms: number; detail: string }[] = [];
  const started = now();
  const cleanup: (() => void)[] = [];
  const close = (): void => {
    for (const f of cleanup.splice(0).reverse()) {
      try {
        f();
      } catch {
        // closing is best effort: every resource gets its turn
      }
    }
  };
  const run = async <T>(stage: BootStage, body: () => T | Promise<T>, detail: (value: T) => string): Promise<T> => {
    const t0 = now();
    try {
      const value = await body();
      stages.push({ stage, ms: now() - t0, detail: detail(value) });
      return value;
    } catch (e) {
      close();
      throw e instanceof DeviceBootError ? e : new DeviceBootError(stage, e);
    }
  };

  try {
    const flashEncrypted = efuse.flashEncryptionEnabled();
    // ---- partition-table: the ROM sets up flash decryption from the eFuse key, the bootloader reads the table.
    const { cipher, entries } = await run(
      'partition-table',
      () => {
        let c: FlashCipher | null = null;
        if (flashEncrypted) {
          const key = efuse.hardware.flashEncryptionKey();
          if (key === null) throw new NvsecError('DEVICE_NO_FLASH_KEY', 'Flash encryption is on (CRYPT_CNT) but no flash encryption key is burned');
          try {
            c = createFlashCipher(crypto, key, { aesXts: efuse.chip !== 'esp32' });
          } finally {
            key.fill(0);
          }
        }
        const cc = c;
        if (cc !== null) cleanup.push(() => cc.destroy());
        return { cipher: c, entries: readPartitionTable(flash, c, crypto) };
      },
      (v) => `${v.entries.length} partitions (${v.entries.map((e) => e.name).join(', ')})${flashEncrypted ? ', read through flash decryption' : ''}`,
    );
    const appPart = firstAppPartition(entries);
    const nvsPart = needPartition(entries, 'nvs');
    const keysPart = needPartition(entries, 'nvs_keys');

    // ---- secure-boot: the bootloader verifies the app before running it.
    const trust = secureBootTrust(efuse);
    const app = await run(
      'secure-boot',
      async () => {
        const plain = readFlash(flash, appPart.offset, appPart.size, cipher);
        const image = parseAppImage(crypto, plain, { chip: efuse.chip });
        const sig = image.signatureSector;
        let trustedSlot: number | null = null;
        if (trust.enabled) {
          if (sig === null || sig.offset + 4096 > plain.length) throw new NvsecError('DEVICE_APP_REJECTED', `The app in "${appPart.name}" has no signature sector: secure boot refuses to run it`);
          const report = await verifyAsBootloader(crypto, plain.subarray(0, sig.offset), plain.subarray(sig.offset, sig.offset + 4096), trust);
          if (!report.accepted) {
            throw new NvsecError('DEVICE_APP_REJECTED', `The app in "${appPart.name}" fails Secure Boot V2 verification: ${report.blocks.map((b) => b.message).join('; ')}. The app was altered, or signed with a key the eFuses do not trust; re-flash a correctly signed app`);
          }
          trustedSlot = report.trustedSlot;
        }
        if (image.problems.length > 0) {
          throw new NvsecError('DEVICE_APP_INVALID', `The app in "${appPart.name}" is not a valid image: ${image.problems.map((p) => p.message).join('; ')}`);
        }
        return { trustedSlot, projectName: image.appDesc?.projectName ?? null, version: image.appDesc?.version ?? null };
      },
      (v) => (trust.enabled ? `app in ${appPart.name} verified with eFuse digest slot ${v.trustedSlot}` : 'secure boot is off: the app was not verified'),
    );

    // ---- flash-decrypt: the encrypted data partitions are mapped through the flash-encryption engine.
    const keysFlash = await run(
      'flash-decrypt',
      () => {
        const window = new PartitionFlash(flash, keysPart.offset, keysPart.size);
        if (!flashEncrypted) return window;
        if (!keysPart.flags.encrypted) {
          throw new NvsecError('DEVICE_KEYS_NOT_ENCRYPTED', `Partition "${keysPart.name}" is not flagged encrypted: with flash encryption on, the NVS keys must be (mark it encrypted in the partition table)`);
        }
        const key = efuse.hardware.flashEncryptionKey()!;
        try {
          return EncryptedFlash.create(window, crypto, key, { aesXts: efuse.chip !== 'esp32', baseAddress: keysPart.offset });
        } finally {
          key.fill(0);
        }
      },
      () => (flashEncrypted ? `${keysPart.name} at 0x${keysPart.offset.toString(16)} mapped through ${efuse.chip === 'esp32' ? 'AES-256' : 'XTS-AES'} flash decryption` : 'flash encryption is off: partitions read plain'),
    );
    if (keysFlash instanceof EncryptedFlash) cleanup.push(() => keysFlash.destroy());

    // ---- nvs-keys
    const nvsKeys: NvsKeys = await run(
      'nvs-keys',
      () => {
        const bytes = new Uint8Array(keysFlash.size);
        keysFlash.read(0, bytes);
        try {
          return parseKeysPartition(bytes);
        } finally {
          bytes.fill(0);
        }
      },
      () => 'XTS-AES-256 NVS keys read, CRC good',
    );

    // ---- nvs-init: check the keys decrypt the partition, then secure init.
    const nvs = await run(
      'nvs-init',
      () => {
        try {
          const window = new PartitionFlash(flash, nvsPart.offset, nvsPart.size);
          const image = new Uint8Array(window.size);
          window.read(0, image);
          const probe = new NvsEntryCipher(crypto, nvsKeys);
          try {
            const d = diagnoseNvsDecryption(image, probe);
            if (d.verdict !== 'ok') {
              throw new NvsecError('DEVICE_NVS_UNREADABLE', `The keys in "${keysPart.name}" do not open NVS partition "${nvsPart.name}" (${d.verdict}): ${d.message} The partition was left as it is`);
            }
          } finally {
            probe.destroy();
            image.fill(0);
          }
          return NvsStorage.init(window, { encryption: { keys: nvsKeys, crypto } });
        } finally {
          nvsKeys.eky.fill(0);
          nvsKeys.tky.fill(0);
        }
      },
      (s) => `secure init of "${nvsPart.name}": ${s.stats().usedEntries} entries used in ${s.stats().namespaceCount} namespaces`,
    );
    cleanup.push(() => nvs.close());

    // ---- nv-seed: refresh as Mbed TLS does on the first entropy call.
    const { accumulator, seed } = await run(
      'nv-seed',
      () => {
        const store = new NvsSeedStore(nvs.open(DEVICE_NVS.seedNamespace, 'readwrite'), DEVICE_NVS.seedKey);
        const size = ENTROPY_CONSTANTS.MBEDTLS_ENTROPY_BLOCK_SIZE_SHA512;
        const before = fingerprint(crypto, store.read(size), size);
        const acc = new EntropyAccumulator({
          crypto,
          sources: [{ poll: osEntropyPoll(crypto), threshold: ENTROPY_CONSTANTS.MBEDTLS_ENTROPY_MIN_PLATFORM, strong: true }],
          nvSeed: new NvSeedSource({ store }),
        });
        cleanup.push(() => acc.destroy());
        acc.entropy(0).fill(0); // the first call rewrites the seed, then gathers
        const after = fingerprint(crypto, store.read(size), size);
        return { accumulator: acc, seed: { before, after, changed: before !== after } };
      },
      (v) => `NV seed ${DEVICE_NVS.seedNamespace}/${DEVICE_NVS.seedKey} refreshed: ${v.seed.before} -> ${v.seed.after}${v.seed.changed ? '' : ' (UNCHANGED)'}`,
    );

    // ---- drbg
    const drbg = await run(
      'drbg',
      () => {
        const d = CtrDrbg.seed({ crypto, entropy: (n) => accumulator.entropy(n), personalization: PERSONALIZATION });
        cleanup.push(() => d.destroy());
        d.generate(16).fill(0); // a first output proves the DRBG works
        return d;
      },
      () => 'AES-256 CTR_DRBG seeded from the OS and the NV seed',
    );

    // ---- token
    const { token, session, loggedIn, label } = await run(
      'token',
      () => {
        const store = new NvsObjectStore(nvs.open(DEVICE_NVS.tokenNamespace, 'readwrite'));
        const t = new Token({ store, crypto, keys: options.keys, random: drbg });
        t.initialize();
        cleanup.push(() => t.finalize());
        const info = t.getTokenInfo(t.slotId);
        if ((info.flags & CKF_TOKEN.CKF_TOKEN_INITIALIZED) === 0) {
          throw new NvsecError('DEVICE_TOKEN_NOT_INITIALIZED', `The token in NVS namespace "${DEVICE_NVS.tokenNamespace}" was never initialised: the device was not provisioned`);
        }
        const s = TokenSession.open(t);
        cleanup.push(() => s.close());
        if (options.pin !== undefined) s.login(options.pin);
        return { token: t, session: s, loggedIn: options.pin !== undefined, label: info.label.trimEnd() };
      },
      (v) => `token "${v.label}" opened${v.loggedIn ? ', user logged in' : ' (not logged in)'}`,
    );

    // ---- identity
    const identity = await run(
      'identity',
      () => readIdentity(session, nvs),
      (v) => `${v.deviceId}: ${v.certificate.subject} (serial ${v.certificate.serial}), chain of ${v.chain.length}${v.chainComplete ? ' to a root' : ', incomplete'}`,
    );

    const report: BootReport = {
      chip: efuse.chip,
      stages,
      totalMs: now() - started,
      secureBoot: { enabled: trust.enabled, trustedSlot: app.trustedSlot },
      flashEncryption: { enabled: flashEncrypted, releaseMode: efuse.flashEncryptionReleaseMode() },
      app: { partition: appPart.name, projectName: app.projectName, version: app.version },
      nvSeed: seed,
      token: { label, loggedIn, objects: session.list().map((o) => `${o.label} (${o.class})`) },
      identity,
    };
    return { report, nvs, drbg, token, session, close };
  } catch (e) {
    close();
    throw e;
  }
}

function needPartition(entries: readonly PartitionEntry[], name: string): PartitionEntry {
  const p = entries.find((e) => e.name === name);
  if (!p) throw new DeviceBootError('partition-table', new NvsecError('DEVICE_NO_PARTITION', `The partition table has no "${name}" partition`));
  return p;
}

function fingerprint(crypto: CryptoProvider, seed: Uint8Array | null, size: number): string {
  if (seed === null) throw new NvsecError('DEVICE_NO_NV_SEED', `NVS holds no NV seed (${DEVICE_NVS.seedNamespace}/${DEVICE_NVS.seedKey}): the factory writes a unique ${size}-byte seed per device`);
  try {
    if (seed.length !== size) throw new NvsecError('DEVICE_NO_NV_SEED', `The NV seed is ${seed.length} bytes; it must be ${size}`);
    return toHex(crypto.digest('sha256', seed).subarray(0, 8));
  } finally {
    seed.fill(0);
  }
}

function readIdentity(session: TokenSession, nvs: NvsStorage): DeviceIdentity {
  const certs: { label: string; der: Uint8Array; facts: CertificateFacts }[] = [];
  for (const label of IDENTITY_CERT_LABELS) {
    const found = session.find({ label, class: 'certificate' });
    if (found.length === 0) continue;
    const der = session.attribute(found[0]!, CKA.CKA_VALUE);
    certs.push({ label, der, facts: certificateFacts(der) });
  }
  const device = certs.find((c) => c.label === IDENTITY_CERT_LABELS[0]);
  if (!device) throw new NvsecError('DEVICE_NO_CERTIFICATE', `The token holds no "${IDENTITY_CERT_LABELS[0]}" certificate: the device was not provisioned`);
  const chain = [device];
  for (let current = device; !current.facts.selfIssued; ) {
    const issuerName = x509Names(current.der).issuer;
    const next = certs.find((c) => !chain.includes(c) && bytesEqual(x509Names(c.der).subject, issuerName));
    if (!next) break;
    chain.push(next);
    current = next;
  }
  const last = chain[chain.length - 1]!;
  let deviceId: string | null = null;
  const idHandle = nvs.namespaces().has(DEVICE_NVS.idNamespace) ? nvs.open(DEVICE_NVS.idNamespace, 'readonly') : null;
  if (idHandle?.findKey(DEVICE_NVS.idKey) === 'string') deviceId = idHandle.getStr(DEVICE_NVS.idKey);
  deviceId ??= device.facts.commonName;
  if (deviceId === null) throw new NvsecError('DEVICE_NO_ID', `The device has no id: neither NVS ${DEVICE_NVS.idNamespace}/${DEVICE_NVS.idKey} nor a CN in its certificate subject`);
  let keyMatchesCertificate: boolean | null = null;
  const pub = session.find({ label: PKCS11_LABELS.pkcs11configLABEL_DEVICE_PUBLIC_KEY_FOR_TLS, class: 'public-key' })[0];
  const point = pub === undefined ? undefined : session.attributes(pub, [CKA.CKA_EC_POINT]).get(CKA.CKA_EC_POINT);
  if (point !== undefined) {
    const raw = point.subarray(readDer(point, 0).start); // CKA_EC_POINT is the point in a DER OCTET STRING
    keyMatchesCertificate = bytesEqual(raw, certificatePublicKey(device.der));
    if (!keyMatchesCertificate) {
      throw new NvsecError(
        'DEVICE_CERT_KEY_MISMATCH',
        `The "${device.label}" (${device.facts.subject}, serial ${device.facts.serial}) does not hold the public key of the token's "${PKCS11_LABELS.pkcs11configLABEL_DEVICE_PUBLIC_KEY_FOR_TLS}": TLS would fail; re-provision the certificate for this device's key`,
      );
    }
  }
  const withLabel = (c: (typeof certs)[number]): IdentityCertificate => ({ label: c.label, ...c.facts });
  return { deviceId, certificate: withLabel(device), chain: chain.map(withLabel), chainComplete: last.facts.selfIssued, keyMatchesCertificate };
}

export { BOOT_STAGES };
