// Inputs of `nvsec token …`: PINs (option, file or environment; never printed) and key and
// certificate files (PEM or DER, parsed by OpenSSL through node:crypto).
import * as crypto from 'node:crypto';
import type { RsaPrivateComponents, RsaPublicComponents, TokenCurve } from '../crypto/key-crypto.js';
import { NvsecError } from '../errors/nvsec-error.js';
import { writeFileAtomic } from '../node/atomic-file.js';
import { readBinaryFile } from './_files.js';

/** Where a PIN comes from: `--<name>`, `--<name>-file`, or the environment variable. */
export interface PinSource {
  /** Option name without dashes: `pin`, `so-pin`, `new-pin`. */
  readonly option: string;
  readonly env: string;
}

/** The user PIN: `--pin`, `--pin-file`, `NVSEC_PIN`. */
export const USER_PIN: PinSource = Object.freeze({ option: 'pin', env: 'NVSEC_PIN' });
/** The SO PIN: `--so-pin`, `--so-pin-file`, `NVSEC_SO_PIN`. */
export const SO_PIN: PinSource = Object.freeze({ option: 'so-pin', env: 'NVSEC_SO_PIN' });
/** The new PIN of `change-pin`: `--new-pin`, `--new-pin-file`, `NVSEC_NEW_PIN`. */
export const NEW_PIN: PinSource = Object.freeze({ option: 'new-pin', env: 'NVSEC_NEW_PIN' });

/**
 * The PIN from `--pin PIN`, `--pin-file F` (its first line) or the environment, in that order of
 * preference; null when none is given.
 *
 * @throws {NvsecError} `TOKEN_BAD_PIN` when both the option and the file are given, or the file is empty
 * @throws {NvsecError} `CLI_FILE_READ` when the file cannot be read
 * @example
 * const pin = readPin(opts, USER_PIN); // opts.pin, opts.pinFile or $NVSEC_PIN
 */
export function readPin(options: object, source: PinSource): string | null {
  const opts = options as Record<string, unknown>;
  const key = source.option.replace(/-(\w)/g, (_m, c: string) => c.toUpperCase());
  const value = opts[key];
  const file = opts[`${key}File`];
  if (typeof value === 'string' && typeof file === 'string') throw new NvsecError('TOKEN_BAD_PIN', `Give either --${source.option} or --${source.option}-file, not both`);
  if (typeof value === 'string') return value;
  if (typeof file === 'string') {
    const bytes = readBinaryFile(file, `--${source.option}-file`);
    try {
      const pin = new TextDecoder('utf-8', { fatal: false }).decode(bytes).split(/\r?\n/)[0] ?? '';
      if (pin === '') throw new NvsecError('TOKEN_BAD_PIN', `The PIN file "${file}" is empty: its first line is the PIN`);
      return pin;
    } finally {
      bytes.fill(0);
    }
  }
  const env = process.env[source.env];
  return env === undefined || env === '' ? null : env;
}

/**
 * Like {@link readPin}, but a missing PIN is an error naming the three ways to give it.
 *
 * @throws {NvsecError} `TOKEN_NO_PIN` when no PIN is given; the errors of {@link readPin}
 * @example
 * const so = requirePin(opts, SO_PIN, 'token init');
 */
export function requirePin(opts: object, source: PinSource, why: string): string {
  const pin = readPin(opts, source);
  if (pin === null) throw new NvsecError('TOKEN_NO_PIN', `${why} needs the ${source.option === 'so-pin' ? 'SO PIN' : source.option === 'new-pin' ? 'new PIN' : 'user PIN'}: give --${source.option} PIN, --${source.option}-file FILE or set ${source.env}`);
  return pin;
}

/** A private key as the token imports it, with its public half. */
export type ImportedKeyPair =
  | { readonly type: 'ec'; readonly curve: TokenCurve; readonly d: Uint8Array; readonly point: Uint8Array }
  | ({ readonly type: 'rsa' } & RsaPrivateComponents);

/** A public key as the token imports it. */
export type ImportedPublicKey = { readonly type: 'ec'; readonly curve: TokenCurve; readonly point: Uint8Array } | ({ readonly type: 'rsa' } & RsaPublicComponents);

const isPem = (bytes: Uint8Array): boolean => Buffer.from(bytes.subarray(0, 200)).toString('latin1').includes('-----BEGIN ');

/**
 * Reads a private key file: PEM, or DER PKCS#8, SEC1 (EC) or PKCS#1 (RSA). The key's components
 * come from OpenSSL's JWK export. The file's bytes are zeroized; JWK strings cannot be.
 *
 * @throws {NvsecError} `TOKEN_BAD_KEY` for a file that is no such key, an encrypted key, or a key
 *   type or curve the token does not take (EC P-256/P-384, RSA)
 * @example
 * const key = readPrivateKeyFile('device.key.pem');
 */
export function readPrivateKeyFile(file: string): ImportedKeyPair {
  const bytes = readBinaryFile(file, 'private key file');
  const buf = Buffer.from(bytes);
  let key: crypto.KeyObject | null = null;
  try {
    if (isPem(bytes)) key = crypto.createPrivateKey({ key: buf, format: 'pem' });
    else
      for (const type of ['pkcs8', 'sec1', 'pkcs1'] as const) {
        try {
          key = crypto.createPrivateKey({ key: buf, format: 'der', type });
          break;
        } catch {
          /* try the next encoding */
        }
      }
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    const why = code === 'ERR_MISSING_PASSPHRASE' ? 'it is encrypted; decrypt it first (openssl pkey -in KEY -out PLAIN)' : (e as Error).message;
    throw new NvsecError('TOKEN_BAD_KEY', `Cannot read the private key "${file}": ${why}`, { cause: e });
  } finally {
    bytes.fill(0);
    buf.fill(0);
  }
  if (key === null) throw new NvsecError('TOKEN_BAD_KEY', `"${file}" is not a private key (PEM, or DER PKCS#8, SEC1 or PKCS#1)`);
  const jwk = key.export({ format: 'jwk' });
  if (jwk.kty === 'EC') {
    const curve = tokenCurve(jwk.crv, file);
    return { type: 'ec', curve, d: b64u(jwk.d), point: ecPoint(jwk) };
  }
  if (jwk.kty === 'RSA') return { type: 'rsa', n: b64u(jwk.n), e: b64u(jwk.e), d: b64u(jwk.d), p: b64u(jwk.p), q: b64u(jwk.q), dp: b64u(jwk.dp), dq: b64u(jwk.dq), qi: b64u(jwk.qi) };
  throw new NvsecError('TOKEN_BAD_KEY', `"${file}" is a ${key.asymmetricKeyType ?? 'unknown'} key: the token takes EC (P-256, P-384) and RSA keys`);
}

/**
 * Reads a public key file: PEM or DER SubjectPublicKeyInfo (or PKCS#1 RSA public key).
 *
 * @throws {NvsecError} `TOKEN_BAD_KEY` for a file that is no such key or a type the token does not take
 * @example
 * const pub = readPublicKeyFile('root-ca.pub.pem');
 */
export function readPublicKeyFile(file: string): ImportedPublicKey {
  const buf = Buffer.from(readBinaryFile(file, 'public key file'));
  let key: crypto.KeyObject | null = null;
  const attempts: crypto.PublicKeyInput[] = isPem(buf) ? [{ key: buf, format: 'pem' }] : [{ key: buf, format: 'der', type: 'spki' }, { key: buf, format: 'der', type: 'pkcs1' }];
  for (const a of attempts) {
    try {
      key = crypto.createPublicKey(a);
      break;
    } catch {
      /* try the next encoding */
    }
  }
  if (key === null || key.type !== 'public') throw new NvsecError('TOKEN_BAD_KEY', `"${file}" is not a public key (PEM, or DER SubjectPublicKeyInfo or PKCS#1)`);
  const jwk = key.export({ format: 'jwk' });
  if (jwk.kty === 'EC') return { type: 'ec', curve: tokenCurve(jwk.crv, file), point: ecPoint(jwk) };
  if (jwk.kty === 'RSA') return { type: 'rsa', n: b64u(jwk.n), e: b64u(jwk.e) };
  throw new NvsecError('TOKEN_BAD_KEY', `"${file}" is a ${key.asymmetricKeyType ?? 'unknown'} key: the token takes EC (P-256, P-384) and RSA keys`);
}

/**
 * Reads an X.509 certificate file (PEM or DER) and returns its DER.
 *
 * @throws {NvsecError} `TOKEN_BAD_CERT` for a file that is no certificate
 * @example
 * const der = readCertificateFile('device.crt');
 */
export function readCertificateFile(file: string): Uint8Array {
  const buf = Buffer.from(readBinaryFile(file, 'certificate file'));
  try {
    return new Uint8Array(new crypto.X509Certificate(buf).raw);
  } catch (e) {
    throw new NvsecError('TOKEN_BAD_CERT', `"${file}" is not an X.509 certificate (PEM or DER): ${(e as Error).message}`, { cause: e });
  }
}

/**
 * The PEM SubjectPublicKeyInfo of `spkiDer`, checked by OpenSSL.
 *
 * @example
 * fs.writeFileSync('pub.pem', spkiPem(spki));
 */
export function spkiPem(spkiDer: Uint8Array): string {
  return crypto.createPublicKey({ key: Buffer.from(spkiDer), format: 'der', type: 'spki' }).export({ type: 'spki', format: 'pem' }).toString();
}

/**
 * Writes a file the user named, atomically and mode 0600, as every nvsec output.
 *
 * @throws the file system's error when the file cannot be written
 * @example
 * writeOutput('sig.bin', signature);
 */
export function writeOutput(file: string, data: Uint8Array | string): void {
  writeFileAtomic(file, typeof data === 'string' ? new TextEncoder().encode(data) : data);
}

function tokenCurve(crv: string | undefined, file: string): TokenCurve {
  if (crv === 'P-256' || crv === 'P-384') return crv;
  throw new NvsecError('TOKEN_BAD_KEY', `"${file}" is an EC key on ${crv ?? 'an unnamed curve'}: the token takes P-256 and P-384`);
}

function ecPoint(jwk: crypto.JsonWebKey): Uint8Array {
  const x = b64u(jwk.x);
  const y = b64u(jwk.y);
  const point = new Uint8Array(1 + x.length + y.length);
  point[0] = 0x04;
  point.set(x, 1);
  point.set(y, 1 + x.length);
  return point;
}

function b64u(value: string | undefined): Uint8Array {
  if (value === undefined) throw new NvsecError('TOKEN_BAD_KEY', 'the key lacks a component OpenSSL should have exported');
  const b = Buffer.from(value, 'base64url');
  return new Uint8Array(b.buffer, b.byteOffset, b.length);
}
