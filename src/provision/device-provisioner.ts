import type { Efuse } from '../boot/efuse.js';
import { publicKeyDigest } from '../boot/signature-block.js';
import { toHex } from '../bytes/hex.js';
import type { KeyCrypto } from '../crypto/key-crypto.js';
import type { CryptoProvider } from '../crypto/provider.js';
import { type PublicKey, sec1Point } from '../crypto/public-key.js';
import { DEVICE_NVS } from '../device/boot.js';
import { buildDeviceFlash, deviceEfuse } from '../device/device-image.js';
import { type DeviceFlashLayout, partitionNamed } from '../device/flash-layout.js';
import { ENTROPY_CONSTANTS } from '../entropy/entropy-source.js';
import { NvsSeedStore } from '../entropy/nvs-seed-store.js';
import { MemoryFlash } from '../flash/memory-flash.js';
import { buildKeysPartition, generateNvsKeys, type NvsKeys } from '../nvs/crypto/keys-partition.js';
import { NvsStorage } from '../nvs/store/storage.js';
import { CKF, CKU } from '../pkcs11/constants.js';
import { PKCS11_LABELS } from '../pkcs11/pal/default-labels.js';
import { NvsObjectStore } from '../pkcs11/pal/nvs-object-store.js';
import { NvsecError } from '../errors/nvsec-error.js';
import { TokenSession } from '../pkcs11/token-session.js';
import { tokenPublicKey, tokenSigner } from '../pkcs11/token-signer.js';
import { Token } from '../pkcs11/token/token.js';
import type { Certificate, Certificates, Issuer } from './certificates.js';

/** What every device of a factory shares: loaded once per batch (`loadFactory` in `nvsec/node`). */
export interface FactoryProfile {
  /** The factory's id (factory.json), recorded with each batch. */
  readonly factoryId: string;
  readonly layout: DeviceFlashLayout;
  /** The app every device boots, signed with the code-signing key (Secure Boot V2). */
  readonly signedApp: Uint8Array;
  /** The code-signing public key: its digest is burned into the eFuses, the key itself stored as "Code Verify Key". */
  readonly codeVerificationKey: PublicKey;
  /** The manufacturing intermediate CA that signs device certificates (its certificate is the JITP certificate). */
  readonly issuer: Issuer;
  /** The root CA certificate (DER), stored as "Root Cert". */
  readonly rootCertificate: Uint8Array;
  /** The device certificates' subject O= (the CN is the device id). */
  readonly organization: string;
  /** How long a device certificate is valid, in days. */
  readonly deviceValidityDays: number;
  readonly token: {
    /** The token label (at most 32 bytes). */
    readonly label: string;
    /** The user PIN the firmware logs in with (corePKCS11's configPKCS11_DEFAULT_USER_PIN). */
    readonly userPin: string;
    /** PBKDF2 iterations of the device's PIN records (>= 1000; the device repeats them at each login). */
    readonly pinIterations: number;
  };
}

/** What {@link provisionDevice} needs from its platform. */
export interface ProvisionDeps {
  readonly crypto: CryptoProvider;
  readonly keys: KeyCrypto;
  /** From `loadCertificates`. */
  readonly certificates: Certificates;
  /** Clock for the certificate's validity (default now). */
  readonly now?: () => Date;
  /** Clock in milliseconds for the stage timings (default `performance.now`). */
  readonly clock?: () => number;
}

/** Time spent in each stage of one device, in milliseconds. */
export interface ProvisionTimings {
  /** Flash and NVS keys, NV seed, token initialisation and the device key pair generated in the token. */
  keygen: number;
  /** CSR signed by the token, checked and certified by the intermediate CA. */
  certificate: number;
  /** The credential objects, NV seed and id written into the encrypted NVS partition. */
  nvs: number;
  /** Keys partition, eFuses, and the whole flash image with flash encryption. */
  encryption: number;
}

/** One provisioned device: everything its bundle holds, and what the registry records. */
export interface ProvisionedDevice {
  readonly id: string;
  /** The whole flash image (`layout.flashSize` bytes). */
  readonly flash: Uint8Array;
  /** The device's eFuses: they hold the flash encryption key, `destroy()` them once written. */
  readonly efuse: Efuse;
  readonly certificate: Certificate;
  /** SHA-256 of the NV seed in hex: the registry keeps it unique; the seed itself only lives in the device's NVS. */
  readonly seedHash: string;
  /** SHA-256 of the certificate's DER in hex. */
  readonly certSha256: string;
  readonly timings: ProvisionTimings;
}

/** The six credential objects a provisioned token holds (corePKCS11's labels). */
export const DEVICE_CREDENTIALS = Object.freeze([
  PKCS11_LABELS.pkcs11configLABEL_DEVICE_PRIVATE_KEY_FOR_TLS,
  PKCS11_LABELS.pkcs11configLABEL_DEVICE_PUBLIC_KEY_FOR_TLS,
  PKCS11_LABELS.pkcs11configLABEL_DEVICE_CERTIFICATE_FOR_TLS,
  PKCS11_LABELS.pkcs11configLABEL_ROOT_CERTIFICATE,
  PKCS11_LABELS.pkcs11configLABEL_CODE_VERIFICATION_KEY,
  PKCS11_LABELS.pkcs11configLABEL_JITP_CERTIFICATE,
]);

const DEVICE_ID = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;
const DAY_MS = 86_400_000;
/** Certificates start a little in the past, so a device whose clock lags still accepts them. */
const BACKDATE_MS = 5 * 60_000;

/**
 * Makes one device as a factory line does, all in memory: a fresh NV seed, NVS keys and flash
 * encryption key; an encrypted NVS partition holding the NV seed, the device id and an initialised
 * PKCS#11 token; the device key pair generated INSIDE that token (the private key never exists
 * outside it: it is CKA_SENSITIVE, not extractable); a CSR the token signs, certified by the
 * manufacturing intermediate with a fresh random serial; the six credential objects (device key
 * pair and certificate, root CA, code-verification key, JITP certificate); the keys partition;
 * the eFuses (flash encryption key, Secure Boot V2 digest of the code-signing key, release mode);
 * and the whole flash image with the app and keys encrypted at their addresses.
 *
 * The token's SO PIN is random and forgotten: in the field only the user PIN (a firmware
 * constant in the corePKCS11 model) is used, and a token that must be re-initialised is erased
 * with the NVS partition.
 *
 * The certificate is valid from 5 minutes ago for `deviceValidityDays`, but never past its
 * issuer's notAfter.
 *
 * @throws {RangeError} for an id that is not 1–64 letters, digits, `.`, `_` or `-`
 * @throws {NvsecError} PROVISION_ISSUER_EXPIRED when the manufacturing CA has expired
 * @throws {NvsecError} from the token, the certificate library or the flash builders (e.g. an NVS
 *   partition too small for the credentials: NVS_NOT_ENOUGH_SPACE)
 * @example
 * const device = await provisionDevice('acme-7f3a-000001', profile, { crypto: nodeCrypto, keys, certificates });
 * try { writeDeviceBundle(dir, { id: device.id, layout: profile.layout, flash: device.flash, efuse: device.efuse, certificate: device.certificate.der }); }
 * finally { device.efuse.destroy(); }
 */
export async function provisionDevice(id: string, profile: FactoryProfile, deps: ProvisionDeps): Promise<ProvisionedDevice> {
  if (!DEVICE_ID.test(id)) throw new RangeError(`Device id "${id}" must be 1-64 letters, digits, ".", "_" or "-", starting with a letter or digit`);
  const { crypto, keys, certificates } = deps;
  const clock = deps.clock ?? (() => performance.now());
  const timings: ProvisionTimings = { keygen: 0, certificate: 0, nvs: 0, encryption: 0 };
  let mark = clock();
  const lap = (stage: keyof ProvisionTimings): void => {
    const t = clock();
    timings[stage] += t - mark;
    mark = t;
  };

  const layout = profile.layout;
  const xtsKey = crypto.randomBytes(32);
  const nvsKeys: NvsKeys = generateNvsKeys(crypto);
  const seed = crypto.randomBytes(ENTROPY_CONSTANTS.MBEDTLS_ENTROPY_BLOCK_SIZE_SHA512);
  const soPin = toHex(crypto.randomBytes(16));
  const nvsFlash = new MemoryFlash(partitionNamed(layout, 'nvs').size);
  let nvs: NvsStorage | null = null;
  let token: Token | null = null;
  let session: TokenSession | null = null;
  try {
    nvs = NvsStorage.init(nvsFlash, { encryption: { keys: nvsKeys, crypto } });
    const seedHash = toHex(crypto.digest('sha256', seed));
    new NvsSeedStore(nvs.open(DEVICE_NVS.seedNamespace, 'readwrite'), DEVICE_NVS.seedKey).write(seed);
    nvs.open(DEVICE_NVS.idNamespace, 'readwrite').setStr(DEVICE_NVS.idKey, id);

    // The token: initialised with a throw-away SO PIN, the user PIN set, the key pair generated inside.
    token = new Token({
      store: new NvsObjectStore(nvs.open(DEVICE_NVS.tokenNamespace, 'readwrite')),
      crypto,
      keys,
      random: { generate: (n) => crypto.randomBytes(n), reseed: () => {} },
      pinIterations: profile.token.pinIterations,
    });
    token.initialize();
    const utf8 = (s: string): Uint8Array => new TextEncoder().encode(s);
    const so = utf8(soPin);
    const user = utf8(profile.token.userPin);
    try {
      token.initToken(token.slotId, so, profile.token.label);
      const h = token.openSession(token.slotId, CKF.CKF_SERIAL_SESSION | CKF.CKF_RW_SESSION);
      token.loginAs(h, CKU.CKU_SO, so);
      token.initPin(h, user);
      token.closeSession(h);
    } finally {
      so.fill(0);
      user.fill(0);
    }
    session = TokenSession.open(token, { readWrite: true });
    session.login(profile.token.userPin);
    const pair = session.generateKeyPair({ type: 'ec', curve: 'P-256' }, { label: PKCS11_LABELS.pkcs11configLABEL_DEVICE_PRIVATE_KEY_FOR_TLS });
    const devicePublicKey = tokenPublicKey(session, pair.publicKey);
    lap('keygen');

    // The certificate: a CSR proves the token holds the key; the intermediate certifies it.
    const signer = tokenSigner(session, pair.privateKey, devicePublicKey);
    const subject = `O=${profile.organization}, CN=${id}`; // in DER order: the most general name first
    const csr = await certificates.createCsr({ subject, signer });
    signer.destroy?.();
    const now = (deps.now ?? (() => new Date()))();
    // A device certificate never outlives its issuer (RFC 5280 path validation would reject it then anyway).
    const issuerEnd = profile.issuer.certificate.notAfter.getTime();
    if (now.getTime() >= issuerEnd) {
      throw new NvsecError('PROVISION_ISSUER_EXPIRED', `The manufacturing CA "${profile.issuer.certificate.subject}" expired at ${profile.issuer.certificate.notAfter.toISOString()}: certify a new one`);
    }
    const certificate = await certificates.issueDeviceCertificate({
      csr,
      issuer: profile.issuer,
      validity: { notBefore: new Date(now.getTime() - BACKDATE_MS), notAfter: new Date(Math.min(now.getTime() + profile.deviceValidityDays * DAY_MS, issuerEnd)) },
    });
    lap('certificate');

    // The rest of the credentials, then the NVS partition as bytes.
    session.importCertificate(certificate.der, { label: PKCS11_LABELS.pkcs11configLABEL_DEVICE_CERTIFICATE_FOR_TLS });
    session.importCertificate(profile.rootCertificate, { label: PKCS11_LABELS.pkcs11configLABEL_ROOT_CERTIFICATE });
    session.importCertificate(profile.issuer.certificate.der, { label: PKCS11_LABELS.pkcs11configLABEL_JITP_CERTIFICATE });
    const code = profile.codeVerificationKey;
    session.importPublicKey(code.kind === 'rsa' ? { type: 'rsa', n: code.n, e: code.e } : { type: 'ec', curve: ecCurve(code.curve), point: sec1Point(code) }, {
      label: PKCS11_LABELS.pkcs11configLABEL_CODE_VERIFICATION_KEY,
    });
    session.close();
    session = null;
    token.finalize();
    token = null;
    nvs.close();
    nvs = null;
    const nvsPartition = nvsFlash.bytes;
    lap('nvs');

    const efuse = deviceEfuse({ chip: layout.chip, flashEncryptionKey: xtsKey, secureBootKeyDigest: publicKeyDigest(crypto, code) });
    const keysPartition = buildKeysPartition(nvsKeys);
    let flash: Uint8Array;
    try {
      flash = buildDeviceFlash({ crypto, chip: layout.chip, appImage: profile.signedApp, nvsPartition, nvsKeysPartition: keysPartition, flashEncryptionKey: xtsKey, layout });
    } catch (e) {
      efuse.destroy();
      throw e;
    } finally {
      keysPartition.fill(0xff); // the NVS keys in clear
    }
    lap('encryption');
    return { id, flash, efuse, certificate, seedHash, certSha256: toHex(crypto.digest('sha256', certificate.der)), timings };
  } finally {
    session?.close();
    token?.finalize();
    nvs?.close();
    nvsFlash.bytes.fill(0xff);
    xtsKey.fill(0);
    nvsKeys.eky.fill(0);
    nvsKeys.tky.fill(0);
    seed.fill(0);
  }
}

function ecCurve(curve: string): 'P-256' | 'P-384' {
  if (curve === 'P-256' || curve === 'P-384') return curve;
  throw new RangeError(`The code-verification key is on ${curve}: the token stores P-256, P-384 or RSA keys`);
}
