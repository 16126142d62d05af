import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { EFUSE_CHIPS, type EfuseChip } from '../boot/efuse-fields.js';
import { parseAppImage } from '../boot/app-image.js';
import { signImage, verifyWithKey } from '../boot/secure-boot-v2.js';
import { publicKeyDigest } from '../boot/signature-block.js';
import { bytesEqual } from '../bytes/equal.js';
import { toHex } from '../bytes/hex.js';
import { buildDemoApp } from '../device/demo-app.js';
import { DEFAULT_FLASH_SIZE, DEFAULT_PARTITION_CSV, type DeviceFlashLayout, flashLayoutFromCsv } from '../device/flash-layout.js';
import { errorMessage } from '../errors/error-message.js';
import { NvsecError } from '../errors/nvsec-error.js';
import { encodePartitionTable } from '../partition-table/binary.js';
import { type Certificate, type Certificates, loadCertificates } from '../provision/certificates.js';
import type { FactoryProfile } from '../provision/device-provisioner.js';
import { writeFileAtomic } from './atomic-file.js';
import { generateCaKey, readCaKey, writeCaKey } from './ca-key.js';
import { syncDir } from './_io.js';
import { nodeCrypto } from './node-crypto.js';
import { generateSigningKey, readSigningKey } from './signing-key.js';

/** `format` of factory.json. */
export const FACTORY_FORMAT = 'nvsec-factory';
/** The environment variable the CLI reads the factory passphrase from. */
export const FACTORY_PASSPHRASE_ENV = 'NVSEC_FACTORY_PASSPHRASE';

/** File names inside a factory folder. */
export const FACTORY_FILES = Object.freeze({
  manifest: 'factory.json',
  rootCertificate: 'root-ca.pem',
  rootKey: 'root-ca.key.pem',
  intermediateCertificate: 'intermediate-ca.pem',
  intermediateKey: 'intermediate-ca.key.pem',
  codeSigningKey: 'code-signing.key.pem',
  codeSigningPublicKey: 'code-signing.pub.pem',
  app: 'app.bin',
  signedApp: 'app-signed.bin',
  partitionCsv: 'partitions.csv',
  partitionTable: 'partition-table.bin',
  registry: 'registry.db',
});

/** A certificate as factory.json describes it. */
export interface FactoryCertificateInfo {
  readonly certificate: string;
  readonly key: string;
  readonly subject: string;
  readonly serial: string;
  readonly notAfter: string;
}

/** factory.json: what a factory folder holds. It names files and facts, never a secret except the firmware's user PIN. */
export interface FactoryManifest {
  readonly format: typeof FACTORY_FORMAT;
  readonly version: 1;
  /** Random id, recorded with every batch the factory makes. */
  readonly id: string;
  readonly organization: string;
  readonly createdAt: string;
  readonly chip: EfuseChip;
  readonly flash: { readonly layout: string; readonly size: number; readonly partitionCsv: string; readonly partitionTable: string };
  /** The offline root CA. Its key is only needed to make a new intermediate: keep it off the line. */
  readonly rootCa: FactoryCertificateInfo;
  /** The manufacturing intermediate CA that signs device certificates. */
  readonly intermediateCa: FactoryCertificateInfo;
  /** The certificate a cloud registers for just-in-time provisioning (the intermediate CA's). */
  readonly jitpCertificate: string;
  readonly codeSigning: { readonly scheme: 'rsa3072'; readonly key: string; readonly publicKey: string; readonly digest: string };
  readonly app: { readonly image: string; readonly signed: string; readonly sha256: string; readonly version: string | null };
  readonly token: { readonly label: string; readonly userPin: string; readonly pinIterations: number };
  readonly device: { readonly idPrefix: string; readonly organization: string; readonly validityDays: number };
}

/** Options of {@link initFactory}. */
export interface InitFactoryOptions {
  /** Encrypts the CA and code-signing keys (at least 8 bytes). */
  readonly passphrase: string;
  /** Organization in the CA and device certificate subjects. Default "nvsec demo". */
  readonly organization?: string;
  /** Device ids are `<idPrefix>-<batch>-<n>`. Default "dev". */
  readonly idPrefix?: string;
  /** An unsigned ESP32-C3 app image to sign; default a small demo app. */
  readonly app?: Uint8Array;
  /** A Secure Boot V2 RSA-3072 private key PEM (espsecure generate_signing_key); default a new one. */
  readonly codeSigningKeyPem?: string;
  /** PBKDF2 iterations of device PINs (>= 1000). Default 1000. */
  readonly pinIterations?: number;
  /** The firmware's user PIN. Default a random 16-hex-digit one. */
  readonly userPin?: string;
  /** Device certificate validity in days. Default 3650. */
  readonly deviceValidityDays?: number;
  /** Clock (default now). */
  readonly now?: () => Date;
}

const YEAR_MS = 365 * 86_400_000;
/** Certificates start this much in the past, so a device whose clock lags accepts them. */
const BACKDATE_MS = 5 * 60_000;
const PREFIX = /^[A-Za-z0-9][A-Za-z0-9_-]{0,15}$/;
const DEFAULT_ORGANIZATION = 'nvsec demo';

/**
 * Creates a factory in the empty (or missing) folder `dir`: an offline root CA (P-384, 20
 * years), the manufacturing intermediate CA (P-256, 10 years, pathLength 0) whose certificate is
 * also the JITP certificate, a Secure Boot V2 code-signing key (RSA-3072: the scheme of the
 * ESP32-C3 ROM) and the app it signs, the default partition table (CSV and binary), and
 * factory.json. Private keys are encrypted PKCS#8 PEM files (mode 0600) under `passphrase`. Every
 * file is written atomically; a folder that already holds a factory is refused.
 *
 * @throws {NvsecError} FACTORY_EXISTS when `dir` holds a factory.json; KEY_* for a bad signing key
 * @throws {RangeError} for a short passphrase, a bad id prefix or PIN iterations below 1000
 * @example
 * const manifest = await initFactory('factory', { passphrase: process.env.NVSEC_FACTORY_PASSPHRASE!, organization: 'Acme' });
 */
export async function initFactory(dir: string, options: InitFactoryOptions): Promise<FactoryManifest> {
  const organization = options.organization ?? DEFAULT_ORGANIZATION;
  const idPrefix = options.idPrefix ?? 'dev';
  const pinIterations = options.pinIterations ?? 1000;
  const validityDays = options.deviceValidityDays ?? 3650;
  if (!PREFIX.test(idPrefix)) throw new RangeError(`"idPrefix" must be 1-16 letters, digits, "_" or "-", got "${idPrefix}"`);
  if (!Number.isSafeInteger(pinIterations) || pinIterations < 1000) throw new RangeError(`"pinIterations" must be an integer >= 1000, got ${String(pinIterations)}`);
  if (!Number.isSafeInteger(validityDays) || validityDays < 1) throw new RangeError(`"deviceValidityDays" must be a positive integer, got ${String(validityDays)}`);
  if (/[,=+<>#;\\"]/.test(organization) || organization.trim() === '') throw new RangeError(`"organization" must be plain text without , = + < > # ; \\ or ", got "${organization}"`);
  if (fs.existsSync(dir) && fs.readdirSync(dir).length > 0) {
    throw new NvsecError('FACTORY_EXISTS', `${dir} is not empty${fs.existsSync(path.join(dir, FACTORY_FILES.manifest)) ? ' (it holds a factory)' : ''}: a factory is created in an empty or new folder`);
  }
  // Every input is checked before anything is written.
  const signingPem = options.codeSigningKeyPem ?? generateSigningKey('rsa3072');
  const signing = readSigningKey(signingPem, 'the code-signing key');
  if (signing.signer === null || signing.publicKey.kind !== 'rsa' || signing.publicKey.n.length !== 384) {
    throw new NvsecError('KEY_UNSUPPORTED', 'The code-signing key must be an RSA-3072 private key: the ESP32-C3 ROM verifies Secure Boot V2 with RSA-PSS 3072');
  }
  const layout = flashLayoutFromCsv('default-2mb', 'esp32c3', DEFAULT_FLASH_SIZE, DEFAULT_PARTITION_CSV);
  const app = options.app ?? buildDemoApp(nodeCrypto);
  checkAppImage(app, layout.chip, 'The app (--app)');

  // Everything is written into a temporary folder beside `dir`, then renamed into place: a failure leaves nothing.
  const parent = path.dirname(path.resolve(dir));
  fs.mkdirSync(parent, { recursive: true });
  const tmp = fs.mkdtempSync(path.join(parent, `.${path.basename(dir)}.tmp-`));
  fs.chmodSync(tmp, 0o700);
  const file = (name: string): string => path.join(tmp, name);
  const write = (name: string, data: string | Uint8Array, mode = 0o644): void =>
    writeFileAtomic(file(name), typeof data === 'string' ? new TextEncoder().encode(data) : data, { mode, exclusive: true });
  try {
    const now = (options.now ?? (() => new Date()))();
    const notBefore = new Date(now.getTime() - BACKDATE_MS); // as the devices: a clock a little behind still accepts them
    const certs = await nodeCertificates();
    const rootKey = generateCaKey(file(FACTORY_FILES.rootKey), 'P-384', options.passphrase);
    const interKey = generateCaKey(file(FACTORY_FILES.intermediateKey), 'P-256', options.passphrase);
    const root = await certs.createRootCa({ subject: `O=${organization}, CN=${organization} Root CA`, signer: rootKey.signer!, notBefore, notAfter: new Date(now.getTime() + 20 * YEAR_MS) });
    const intermediate = await certs.createIntermediateCa({
      subject: `O=${organization}, CN=${organization} Manufacturing CA`,
      publicKey: interKey.publicKey,
      issuer: { certificate: root, signer: rootKey.signer! },
      notBefore,
      notAfter: new Date(now.getTime() + 10 * YEAR_MS),
    });
    rootKey.signer!.destroy?.();
    interKey.signer!.destroy?.();
    write(FACTORY_FILES.rootCertificate, root.pem);
    write(FACTORY_FILES.intermediateCertificate, intermediate.pem);

    writeCaKey(file(FACTORY_FILES.codeSigningKey), signingPem, options.passphrase);
    write(FACTORY_FILES.codeSigningPublicKey, signing.publicKeyPem);
    const signedApp = (await signImage(nodeCrypto, app, [signing.signer])).image;
    signing.signer.destroy?.();
    write(FACTORY_FILES.app, app);
    write(FACTORY_FILES.signedApp, signedApp);
    write(FACTORY_FILES.partitionCsv, layout.csv);
    write(FACTORY_FILES.partitionTable, encodePartitionTable(layout.entries, nodeCrypto));

    const info = (c: Certificate, certificate: string, key: string): FactoryCertificateInfo => ({ certificate, key, subject: c.subject, serial: c.serial, notAfter: c.notAfter.toISOString() });
    const manifest: FactoryManifest = {
      format: FACTORY_FORMAT,
      version: 1,
      id: `f-${toHex(nodeCrypto.randomBytes(8))}`,
      organization,
      createdAt: now.toISOString(),
      chip: layout.chip,
      flash: { layout: layout.name, size: layout.flashSize, partitionCsv: FACTORY_FILES.partitionCsv, partitionTable: FACTORY_FILES.partitionTable },
      rootCa: info(root, FACTORY_FILES.rootCertificate, FACTORY_FILES.rootKey),
      intermediateCa: info(intermediate, FACTORY_FILES.intermediateCertificate, FACTORY_FILES.intermediateKey),
      jitpCertificate: FACTORY_FILES.intermediateCertificate,
      codeSigning: { scheme: 'rsa3072', key: FACTORY_FILES.codeSigningKey, publicKey: FACTORY_FILES.codeSigningPublicKey, digest: toHex(publicKeyDigest(nodeCrypto, signing.publicKey)) },
      app: { image: FACTORY_FILES.app, signed: FACTORY_FILES.signedApp, sha256: toHex(nodeCrypto.digest('sha256', signedApp)), version: appVersion(app, layout.chip) },
      token: { label: 'nvsec device', userPin: options.userPin ?? toHex(nodeCrypto.randomBytes(8)), pinIterations },
      device: { idPrefix, organization, validityDays },
    };
    write(FACTORY_FILES.manifest, `${JSON.stringify(manifest, null, 2)}\n`, 0o600); // it holds the firmware PIN
    if (fs.existsSync(dir)) fs.rmdirSync(dir); // empty, checked above
    fs.renameSync(tmp, dir);
    syncDir(parent);
    return manifest;
  } catch (e) {
    fs.rmSync(tmp, { recursive: true, force: true });
    throw e;
  }
}

/** The app's version (esp_app_desc_t), or null when it has none. */
function appVersion(app: Uint8Array, chip: EfuseChip): string | null {
  return parseAppImage(nodeCrypto, app, { chip }).appDesc?.version ?? null;
}

/**
 * Refuses what is not a valid app image for `chip` (magic, chip id, segments, checksum, hash): a
 * factory must never sign and ship an app every device would refuse to boot.
 *
 * @throws {NvsecError} FACTORY_BAD_APP naming the problems
 */
function checkAppImage(app: Uint8Array, chip: EfuseChip, what: string): void {
  let problems: string[];
  try {
    problems = parseAppImage(nodeCrypto, app, { chip }).problems.map((p) => p.message);
  } catch (e) {
    problems = [errorMessage(e)];
  }
  if (problems.length > 0) throw new NvsecError('FACTORY_BAD_APP', `${what} is not a valid ${chip} app image: ${problems.join('; ')}`);
}

/** A loaded factory: its manifest, folder and the profile every device is made from. */
export interface LoadedFactory {
  readonly dir: string;
  readonly manifest: FactoryManifest;
  readonly profile: FactoryProfile;
  /** The certificates module the factory was checked with (reuse it to provision). */
  readonly certificates: Certificates;
  /** Releases the intermediate CA key. */
  close(): void;
}

/**
 * Loads the factory in `dir` for provisioning, checking it as a careful operator would: every
 * file present, the intermediate certified by the root and holding the key its file holds, the
 * signed app verified with the code-signing key whose digest factory.json names, the partition
 * table valid. Only the intermediate CA key is decrypted; the root key is never read.
 *
 * @throws {NvsecError} FACTORY_MISSING (no factory.json), FACTORY_CORRUPT (a file missing, unreadable
 *   or inconsistent, with which and why), KEY_PASSPHRASE (wrong passphrase)
 * @example
 * const factory = await loadFactory('factory', passphrase);
 * try { await provisionDevice('dev-1', factory.profile, deps); } finally { factory.close(); }
 */
export async function loadFactory(dir: string, passphrase: string): Promise<LoadedFactory> {
  const manifest = parseManifest(factoryManifestFile(dir));
  const read = (name: string, what: string): Buffer => {
    try {
      return fs.readFileSync(path.resolve(dir, name));
    } catch (e) {
      throw new NvsecError('FACTORY_CORRUPT', `The factory's ${what} (${name}) cannot be read: ${(e as Error).message}`, { cause: e });
    }
  };
  const certs = await nodeCertificates();
  const parse = (name: string, what: string): Certificate => {
    try {
      return certs.parseCertificate(read(name, what).toString('utf8'));
    } catch (e) {
      if (e instanceof NvsecError && e.code === 'FACTORY_CORRUPT') throw e;
      throw new NvsecError('FACTORY_CORRUPT', `The factory's ${what} (${name}) is not a certificate: ${(e as Error).message}`, { cause: e });
    }
  };
  const root = parse(manifest.rootCa.certificate, 'root CA certificate');
  const intermediate = parse(manifest.intermediateCa.certificate, 'intermediate CA certificate');
  const jitp = parse(manifest.jitpCertificate, 'JITP certificate');
  const x509 = (c: Certificate): crypto.X509Certificate => new crypto.X509Certificate(c.der);
  if (!x509(root).verify(x509(root).publicKey)) {
    throw new NvsecError('FACTORY_CORRUPT', `The root CA certificate (${manifest.rootCa.certificate}) is not self-signed`);
  }
  if (!x509(intermediate).verify(x509(root).publicKey)) {
    throw new NvsecError('FACTORY_CORRUPT', `The intermediate CA certificate (${manifest.intermediateCa.certificate}) is not signed by the root CA (${manifest.rootCa.certificate})`);
  }
  if (!Buffer.from(jitp.der).equals(Buffer.from(intermediate.der))) {
    throw new NvsecError('FACTORY_CORRUPT', `The JITP certificate (${manifest.jitpCertificate}) is not the intermediate CA certificate that signs the devices: the cloud would not recognise them`);
  }

  const now = Date.now();
  if (now < intermediate.notBefore.getTime() || now >= intermediate.notAfter.getTime()) {
    throw new NvsecError(
      'FACTORY_EXPIRED',
      `The manufacturing CA certificate is valid from ${intermediate.notBefore.toISOString()} to ${intermediate.notAfter.toISOString()}, not now: certify a new intermediate with the offline root`,
    );
  }

  const layout: DeviceFlashLayout = flashLayoutFromCsv(manifest.flash.layout, manifest.chip, manifest.flash.size, read(manifest.flash.partitionCsv, 'partition table').toString('utf8'));
  if (!bytesEqual(new Uint8Array(read(manifest.flash.partitionTable, 'partition table binary')), encodePartitionTable(layout.entries, nodeCrypto))) {
    throw new NvsecError('FACTORY_CORRUPT', `The partition table binary (${manifest.flash.partitionTable}) is not the table ${manifest.flash.partitionCsv} describes: one of them was edited; devices would be flashed with another layout than they are built for`);
  }
  const codeKey = readSigningKey(read(manifest.codeSigning.publicKey, 'code-signing public key'), manifest.codeSigning.publicKey);
  if (toHex(publicKeyDigest(nodeCrypto, codeKey.publicKey)) !== manifest.codeSigning.digest) {
    throw new NvsecError('FACTORY_CORRUPT', `The code-signing public key (${manifest.codeSigning.publicKey}) does not have the digest ${FACTORY_FILES.manifest} records: the key file was replaced`);
  }
  const signedApp = new Uint8Array(read(manifest.app.signed, 'signed app'));
  if (toHex(nodeCrypto.digest('sha256', signedApp)) !== manifest.app.sha256) {
    throw new NvsecError('FACTORY_CORRUPT', `The signed app (${manifest.app.signed}) is not the one ${FACTORY_FILES.manifest} records (SHA-256 differs): an app is changed with a new factory, never in place`);
  }
  try {
    checkAppImage(signedApp, manifest.chip, `The signed app (${manifest.app.signed})`);
  } catch (e) {
    throw new NvsecError('FACTORY_CORRUPT', errorMessage(e), { cause: e });
  }
  const verdict = await verifyWithKey(nodeCrypto, signedApp, codeKey.publicKey).catch((e: unknown) => {
    throw new NvsecError('FACTORY_CORRUPT', `The signed app (${manifest.app.signed}) is not a signed image: ${(e as Error).message}`, { cause: e });
  });
  if (!verdict.verified) {
    throw new NvsecError('FACTORY_CORRUPT', `The signed app (${manifest.app.signed}) does not verify with the code-signing key: ${verdict.blocks.map((b) => b.message).join(' ')} Devices would refuse to boot it; re-sign it`);
  }

  const interKey = readCaKey(path.resolve(dir, manifest.intermediateCa.key), passphrase);
  const signer = interKey.signer!;
  if (interKey.publicKey.kind !== 'ec' || !bytesEqual(interKey.publicKey.x, intermediate.publicKey.x) || !bytesEqual(interKey.publicKey.y, intermediate.publicKey.y)) {
    signer.destroy?.();
    throw new NvsecError('FACTORY_CORRUPT', `The intermediate CA key (${manifest.intermediateCa.key}) does not belong to its certificate (${manifest.intermediateCa.certificate})`);
  }
  const profile: FactoryProfile = {
    factoryId: manifest.id,
    layout,
    signedApp,
    codeVerificationKey: codeKey.publicKey,
    issuer: { certificate: intermediate, signer },
    rootCertificate: root.der,
    organization: manifest.device.organization,
    deviceValidityDays: manifest.device.validityDays,
    token: manifest.token,
  };
  return { dir, manifest, profile, certificates: certs, close: () => signer.destroy?.() };
}

/**
 * The factory.json of the factory in `dir`.
 *
 * @throws {NvsecError} FACTORY_MISSING when `dir` holds none
 */
export function factoryManifestFile(dir: string): string {
  const file = path.join(dir, FACTORY_FILES.manifest);
  if (!fs.existsSync(file)) {
    throw new NvsecError('FACTORY_MISSING', `${dir} is not a factory: it has no ${FACTORY_FILES.manifest} (create one with \`nvsec factory init --dir ${dir}\`)`);
  }
  return file;
}

/** The certificates module on Node's WebCrypto and OpenSSL. */
export function nodeCertificates(): Promise<Certificates> {
  return loadCertificates({ webCrypto: globalThis.crypto as unknown as Parameters<typeof loadCertificates>[0]['webCrypto'], crypto: nodeCrypto });
}

function parseManifest(file: string): FactoryManifest {
  let m: unknown;
  try {
    m = JSON.parse(fs.readFileSync(file, 'utf8'));
  } catch (e) {
    throw new NvsecError('FACTORY_CORRUPT', `${file} is not valid JSON: ${(e as Error).message}`, { cause: e });
  }
  const o = m as Partial<FactoryManifest> | null;
  const bad = (why: string): never => {
    throw new NvsecError('FACTORY_CORRUPT', `${file} is not an nvsec factory manifest: ${why}`);
  };
  if (o === null || typeof o !== 'object') return bad('not a JSON object');
  if (o.format !== FACTORY_FORMAT) return bad(`"format" is ${JSON.stringify(o.format)}, expected "${FACTORY_FORMAT}"`);
  if (o.version !== 1) return bad(`"version" ${JSON.stringify(o.version)} is not supported (this nvsec reads version 1)`);
  const str = (v: unknown): v is string => typeof v === 'string' && v.length > 0;
  if (!str(o.id)) bad('"id" is missing');
  if (typeof o.chip !== 'string' || !Object.hasOwn(EFUSE_CHIPS, o.chip)) bad(`"chip" ${JSON.stringify(o.chip)} is not one of ${Object.keys(EFUSE_CHIPS).join(', ')}`);
  if (!o.flash || !str(o.flash.partitionCsv) || !str(o.flash.partitionTable) || !Number.isSafeInteger(o.flash.size)) bad('"flash" must name the partition CSV and binary and the flash size');
  for (const k of ['rootCa', 'intermediateCa'] as const) if (!o[k] || !str(o[k].certificate) || !str(o[k].key)) bad(`"${k}" must name a certificate and a key file`);
  if (!str(o.jitpCertificate)) bad('"jitpCertificate" is missing');
  if (!o.codeSigning || !str(o.codeSigning.publicKey) || !str(o.codeSigning.digest)) bad('"codeSigning" must name the public key and its digest');
  if (!o.app || !str(o.app.signed)) bad('"app.signed" is missing');
  if (!o.app || !/^[0-9a-f]{64}$/.test(o.app.sha256 ?? '')) bad('"app.sha256" must be the SHA-256 of the signed app');
  if (!o.token || !str(o.token.label) || !str(o.token.userPin) || !Number.isSafeInteger(o.token.pinIterations) || o.token.pinIterations < 1000) {
    bad('"token" must hold label, userPin and pinIterations (>= 1000)');
  }
  if (!o.device || !PREFIX.test(o.device.idPrefix ?? '') || !str(o.device.organization) || !Number.isSafeInteger(o.device.validityDays) || o.device.validityDays < 1) {
    bad('"device" must hold idPrefix (1-16 letters, digits, _ or -), organization and validityDays (>= 1)');
  }
  if (/[,=+<>#;\\"]/.test(o.device?.organization ?? '')) bad('"device.organization" must be plain text without , = + < > # ; \\ or "');
  return o as FactoryManifest;
}
