import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import type { EcCurve } from '../crypto/public-key.js';
import { NvsecError } from '../errors/nvsec-error.js';
import { writeFileAtomic } from './atomic-file.js';
import { readSigningKey, type SigningKey } from './signing-key.js';

/** Curves a factory CA key may use (those the certificates module signs with). */
export type CaKeyCurve = Extract<EcCurve, 'P-256' | 'P-384'>;

const OPENSSL_CURVE: Readonly<Record<CaKeyCurve, string>> = Object.freeze({ 'P-256': 'prime256v1', 'P-384': 'secp384r1' });

/** Shortest passphrase {@link writeCaKey} accepts, in bytes (UTF-8). */
export const CA_KEY_MIN_PASSPHRASE = 8;

const bytesOf = (passphrase: string | Uint8Array): Buffer =>
  typeof passphrase === 'string' ? Buffer.from(passphrase, 'utf8') : Buffer.from(passphrase.buffer, passphrase.byteOffset, passphrase.length);

function checkPassphrase(passphrase: string | Uint8Array): void {
  if (typeof passphrase !== 'string' && !(passphrase instanceof Uint8Array)) throw new TypeError('"passphrase" must be a string or a Uint8Array');
  const n = typeof passphrase === 'string' ? Buffer.byteLength(passphrase, 'utf8') : passphrase.length;
  if (n < CA_KEY_MIN_PASSPHRASE) throw new RangeError(`"passphrase" must be at least ${CA_KEY_MIN_PASSPHRASE} bytes long, got ${n}: a CA key protects every device it certifies`);
}

/**
 * Writes a CA private key to `file` as an encrypted PKCS#8 PEM ("ENCRYPTED PRIVATE KEY": PBES2,
 * PBKDF2-HMAC-SHA256, AES-256-CBC, as OpenSSL's `openssl pkey -aes-256-cbc` writes it and reads it
 * back), mode 0600, atomically and never over an existing file (a CA key is not replaced by
 * accident). `pem` is the private key in any PEM form OpenSSL reads (e.g. from
 * `generateSigningKey('ecdsa256')`).
 *
 * @throws {RangeError} when the passphrase is shorter than {@link CA_KEY_MIN_PASSPHRASE} bytes
 * @throws {NvsecError} KEY_UNREADABLE when `pem` is not a private key
 * @throws the file system's error (EEXIST when `file` exists)
 * @example writeCaKey('factory/intermediate-key.pem', generateSigningKey('ecdsa256'), passphrase);
 */
export function writeCaKey(file: string, pem: string | Uint8Array, passphrase: string | Uint8Array): void {
  checkPassphrase(passphrase);
  let key: crypto.KeyObject;
  try {
    key = crypto.createPrivateKey(typeof pem === 'string' ? pem : Buffer.from(pem.buffer, pem.byteOffset, pem.length));
  } catch (e) {
    throw new NvsecError('KEY_UNREADABLE', `the CA key to write is not a PEM private key (${e instanceof Error ? e.message : String(e)})`, { cause: e });
  }
  writeEncrypted(file, key, passphrase);
}

/** The key as encrypted PKCS#8 PEM in `file` (0600, exclusive, atomic). */
function writeEncrypted(file: string, key: crypto.KeyObject, passphrase: string | Uint8Array): void {
  const pass = bytesOf(passphrase);
  try {
    const encrypted = Buffer.from(String(key.export({ format: 'pem', type: 'pkcs8', cipher: 'aes-256-cbc', passphrase: pass })), 'latin1');
    writeFileAtomic(file, encrypted, { mode: 0o600, exclusive: true });
  } finally {
    if (typeof passphrase === 'string') pass.fill(0); // our copy; a caller's bytes stay theirs
  }
}

/**
 * Generates a new EC CA key on `curve` inside OpenSSL, writes it with {@link writeCaKey}, and
 * returns its signer.
 *
 * @throws as {@link writeCaKey}
 * @example const { signer, publicKey } = generateCaKey('factory/root-key.pem', 'P-384', passphrase);
 */
export function generateCaKey(file: string, curve: CaKeyCurve, passphrase: string | Uint8Array): SigningKey {
  if (!Object.hasOwn(OPENSSL_CURVE, curve)) throw new RangeError(`"curve" must be P-256 or P-384, got ${String(curve)}`);
  checkPassphrase(passphrase);
  const { privateKey } = crypto.generateKeyPairSync('ec', { namedCurve: OPENSSL_CURVE[curve] });
  writeEncrypted(file, privateKey, passphrase);
  return readCaKey(file, passphrase);
}

/**
 * Reads a CA key written by {@link writeCaKey} (or any encrypted PKCS#8 PEM) into a signer; the
 * key stays inside OpenSSL. The file's bytes are zeroized after parsing.
 *
 * @throws {NvsecError} KEY_PASSPHRASE when the passphrase is wrong; KEY_UNREADABLE when the file
 *   is not a PEM key; KEY_UNENCRYPTED when it holds a plaintext private key (a factory CA key is
 *   always encrypted at rest); KEY_UNSUPPORTED for keys other than EC
 * @throws the file system's error when the file cannot be read
 * @example const { signer } = readCaKey('factory/intermediate-key.pem', process.env.NVSEC_CA_PASSPHRASE!);
 */
export function readCaKey(file: string, passphrase: string | Uint8Array): SigningKey {
  const data = new Uint8Array(fs.readFileSync(file));
  try {
    const head = Buffer.from(data.buffer, data.byteOffset, Math.min(data.length, 64)).toString('latin1');
    if (head.includes('-----BEGIN') && head.includes('PRIVATE KEY-----') && !head.includes('ENCRYPTED PRIVATE KEY-----')) {
      throw new NvsecError('KEY_UNENCRYPTED', `"${file}" holds an unencrypted private key: a CA key must be stored encrypted (write it with writeCaKey)`);
    }
    const key = readSigningKey(data, `"${file}"`, passphrase);
    if (key.signer === null) throw new NvsecError('KEY_UNREADABLE', `"${file}" holds a public key, not the CA's private key`);
    if (key.publicKey.kind !== 'ec') throw new NvsecError('KEY_UNSUPPORTED', `"${file}" holds an RSA key: factory CA keys are EC (P-256 or P-384)`);
    return key;
  } finally {
    data.fill(0);
  }
}

