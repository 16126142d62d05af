import * as crypto from 'node:crypto';
import { type HashName, hashLength } from '../crypto/provider.js';
import { EC_CURVE_BYTES, type EcCurve, type PublicKey, rsaModulusBits } from '../crypto/public-key.js';
import { emsaPssEncode } from '../crypto/rsa-pss.js';
import type { KeyCrypto, PreparedPrivateKey, TokenCurve } from '../crypto/key-crypto.js';
import type { Signer } from '../crypto/signer.js';
import type { Sbv2Scheme } from '../boot/signature-block.js';
import { NvsecError } from '../errors/nvsec-error.js';
import { nodeCrypto } from './node-crypto.js';

const u8 = (b: Buffer): Uint8Array => new Uint8Array(b.buffer, b.byteOffset, b.length);

/** Key types Secure Boot V2 signs with, by espsecure's `--scheme` names. */
export type SigningScheme = Sbv2Scheme;
export const SIGNING_SCHEMES: readonly SigningScheme[] = Object.freeze(['rsa3072', 'ecdsa192', 'ecdsa256', 'ecdsa384']);

/** OpenSSL curve names of the curves nvsec signs with. */
const OPENSSL_CURVE: Readonly<Record<EcCurve, string>> = Object.freeze({ 'P-192': 'prime192v1', 'P-256': 'prime256v1', 'P-384': 'secp384r1' });
const CURVE_OF_OPENSSL: Readonly<Record<string, EcCurve>> = Object.freeze({
  prime192v1: 'P-192',
  prime256v1: 'P-256',
  secp384r1: 'P-384',
});

/** A key file read by {@link readSigningKey}. */
export interface SigningKey {
  readonly publicKey: PublicKey;
  /** The signer, or null when the file holds only a public key. */
  readonly signer: Signer | null;
  /** The key as a SubjectPublicKeyInfo PEM ("-----BEGIN PUBLIC KEY-----"), as espsecure extract-public-key writes it. */
  readonly publicKeyPem: string;
}

function publicKeyOf(key: crypto.KeyObject, source: string): PublicKey {
  if (key.asymmetricKeyType === 'rsa') {
    const jwk = key.export({ format: 'jwk' });
    if (jwk.n === undefined || jwk.e === undefined) throw new NvsecError('KEY_UNSUPPORTED', `${source}: RSA key without modulus or exponent`);
    return { kind: 'rsa', n: u8(Buffer.from(jwk.n, 'base64url')), e: u8(Buffer.from(jwk.e, 'base64url')) };
  }
  if (key.asymmetricKeyType === 'ec') {
    const named = key.asymmetricKeyDetails?.namedCurve ?? '';
    const curve = Object.hasOwn(CURVE_OF_OPENSSL, named) ? CURVE_OF_OPENSSL[named] : undefined;
    if (curve === undefined) {
      throw new NvsecError('KEY_UNSUPPORTED', `${source}: EC curve ${named || '(unnamed)'} is not supported; use NIST P-192, P-256 or P-384`);
    }
    // The uncompressed point closes the DER SubjectPublicKeyInfo (JWK export lacks P-192).
    const w = EC_CURVE_BYTES[curve];
    const spki = u8(key.type === 'private' ? crypto.createPublicKey(key).export({ format: 'der', type: 'spki' }) : key.export({ format: 'der', type: 'spki' }));
    const point = spki.subarray(spki.length - 1 - 2 * w);
    if (point[0] !== 4) throw new NvsecError('KEY_UNSUPPORTED', `${source}: EC public key is not an uncompressed point`);
    return { kind: 'ec', curve, x: point.slice(1, 1 + w), y: point.slice(1 + w) };
  }
  throw new NvsecError('KEY_UNSUPPORTED', `${source}: ${key.asymmetricKeyType ?? 'unknown'} keys are not supported; use RSA or ECDSA (P-192, P-256, P-384)`);
}

/** The private scalar of an EC key, big-endian at the curve width (SEC1 DER: version 1, then the OCTET STRING). */
function ecPrivateScalar(key: crypto.KeyObject, curve: EcCurve): Uint8Array {
  const der = u8(key.export({ format: 'der', type: 'sec1' }));
  try {
    let o = 1; // SEQUENCE
    o += der[o]! & 0x80 ? 1 + (der[o]! & 0x7f) : 1;
    if (der[o] !== 0x02 || der[o + 1] !== 0x01 || der[o + 2] !== 0x01 || der[o + 3] !== 0x04) throw new Error('layout');
    const len = der[o + 4]!;
    const w = EC_CURVE_BYTES[curve];
    if (len > w) throw new Error('length');
    const d = new Uint8Array(w);
    d.set(der.subarray(o + 5, o + 5 + len), w - len);
    return d;
  } finally {
    der.fill(0);
  }
}

function rsaSigner(key: crypto.KeyObject, publicKey: PublicKey & { kind: 'rsa' }): Signer {
  let priv: crypto.KeyObject | null = key;
  const bits = rsaModulusBits(publicKey.n);
  return {
    publicKey,
    sign: async (digest: Uint8Array, hash: HashName) => {
      if (priv === null) throw new NvsecError('CRYPTO_KEY_DESTROYED', 'This signing key was destroyed: read the key file again');
      if (digest.length !== hashLength(hash)) throw new RangeError(`"digest" must be a ${hashLength(hash)}-byte ${hash} digest, got ${digest.length} bytes`);
      const salt = nodeCrypto.randomBytes(digest.length);
      const em = emsaPssEncode(nodeCrypto, hash, digest, salt, bits);
      try {
        return u8(crypto.privateEncrypt({ key: priv, padding: crypto.constants.RSA_NO_PADDING }, em));
      } finally {
        em.fill(0);
      }
    },
    destroy: () => {
      priv = null;
    },
  };
}

let ecdsaModule: Promise<typeof import('../crypto/ecdsa.js')> | undefined;
/** The curve code, imported once: a dynamic import per signature costs as much as the signature (the factory signs thousands). */
const loadEcdsa = (): Promise<typeof import('../crypto/ecdsa.js')> => (ecdsaModule ??= import('../crypto/ecdsa.js'));

let keyCrypto: Promise<KeyCrypto> | undefined;
/** One KeyCrypto for every signer of this module (its nonce pools are shared), loaded on first use. */
const loadKeyCrypto = (): Promise<KeyCrypto> => (keyCrypto ??= import('./node-key-crypto.js').then((m) => m.loadNodeKeyCrypto()));

const destroyedSigner = (): never => {
  throw new NvsecError('CRYPTO_KEY_DESTROYED', 'This signing key was destroyed: read the key file again');
};

/**
 * An EC signer. On P-256 and P-384 (the factory's CA keys) the scalar is taken out of OpenSSL
 * once, on the first signature, into a prepared key of {@link loadNodeKeyCrypto} (prehashed
 * ECDSA from OpenSSL nonces, blinded; ~0.05 ms a P-256 signature instead of ~1 ms); the signer's
 * copy of the scalar is wiped right after and the prepared key's copy by destroy(). P-192
 * (Secure Boot only) signs with @noble/curves, the scalar out of OpenSSL for one signature.
 */
function ecSigner(key: crypto.KeyObject, publicKey: PublicKey & { kind: 'ec' }): Signer {
  let priv: crypto.KeyObject | null = key;
  const curve = publicKey.curve;
  let preparing: Promise<PreparedPrivateKey> | null = null;
  let prepared: PreparedPrivateKey | null = null;
  const prepare = (tokenCurve: TokenCurve): Promise<PreparedPrivateKey> =>
    (preparing ??= loadKeyCrypto().then((kc) => {
      if (priv === null) return destroyedSigner();
      const d = ecPrivateScalar(priv, tokenCurve);
      try {
        prepared = kc.preparePrivateKey({ type: 'ec', curve: tokenCurve, d });
        return prepared;
      } finally {
        d.fill(0);
      }
    }));
  return {
    publicKey,
    sign: async (digest: Uint8Array, hash: HashName) => {
      if (priv === null) return destroyedSigner();
      if (digest.length !== hashLength(hash)) throw new RangeError(`"digest" must be a ${hashLength(hash)}-byte ${hash} digest, got ${digest.length} bytes`);
      if (curve === 'P-256' || curve === 'P-384') {
        const k = await prepare(curve);
        if (priv === null) return destroyedSigner(); // destroyed while the curve code loaded
        return k.sign({ kind: 'ecdsa', hash: null }, digest);
      }
      const { ecdsaSignDigest } = await loadEcdsa(); // curve code loaded on first use
      if (priv === null) return destroyedSigner(); // destroyed while it loaded
      // The scalar leaves OpenSSL only for the time of one signature.
      const d = ecPrivateScalar(priv, curve);
      try {
        return ecdsaSignDigest(curve, d, digest, nodeCrypto.randomBytes(32));
      } finally {
        d.fill(0);
      }
    },
    destroy: () => {
      priv = null;
      prepared?.destroy();
      prepared = null;
    },
  };
}

/**
 * Reads a PEM key file: a private key (PKCS#1 "RSA PRIVATE KEY", SEC1 "EC PRIVATE KEY" or
 * PKCS#8, as espsecure and OpenSSL write them) gives a signer; a public key ("PUBLIC KEY") gives
 * only the public half. `source` names the file in error messages. The private key stays inside
 * OpenSSL (a KeyObject); pass the file's bytes rather than a string to be able to zeroize them.
 * An encrypted PKCS#8 key ("ENCRYPTED PRIVATE KEY") needs `passphrase` (bytes can be zeroized
 * after the call; a string cannot).
 *
 * @throws {NvsecError} KEY_UNREADABLE when the text is not a PEM key; KEY_PASSPHRASE when an
 *   encrypted key's passphrase is missing or wrong; KEY_UNSUPPORTED for other key types or curves
 * @example
 * const { signer } = readSigningKey(fs.readFileSync('secure_boot_signing_key.pem', 'utf8'), 'secure_boot_signing_key.pem');
 */
export function readSigningKey(pem: string | Uint8Array, source = 'key', passphrase?: string | Uint8Array): SigningKey {
  let key: crypto.KeyObject;
  let encrypted = false;
  try {
    const text = typeof pem === 'string' ? pem : Buffer.from(pem.buffer, pem.byteOffset, pem.length);
    const head = typeof pem === 'string' ? pem.slice(0, 64) : text.toString('latin1', 0, Math.min(pem.length, 64));
    const isPrivate = head.includes('PRIVATE KEY-----');
    encrypted = head.includes('ENCRYPTED PRIVATE KEY-----');
    const pass = passphrase === undefined ? undefined : typeof passphrase === 'string' ? passphrase : Buffer.from(passphrase.buffer, passphrase.byteOffset, passphrase.length);
    key = isPrivate ? crypto.createPrivateKey(pass === undefined ? text : { key: text, passphrase: pass }) : crypto.createPublicKey(text);
  } catch (e) {
    if (encrypted) {
      throw new NvsecError(
        'KEY_PASSPHRASE',
        `${source} is an encrypted private key and ${passphrase === undefined ? 'no passphrase was given' : 'the passphrase is wrong (or the file is damaged)'}: give its passphrase`,
        { cause: e },
      );
    }
    throw new NvsecError('KEY_UNREADABLE', `${source} is not a PEM private or public key (${e instanceof Error ? e.message : String(e)})`, { cause: e });
  }
  const publicKey = publicKeyOf(key, source);
  const publicKeyPem = String((key.type === 'private' ? crypto.createPublicKey(key) : key).export({ format: 'pem', type: 'spki' }));
  let signer: Signer | null = null;
  if (key.type === 'private') signer = publicKey.kind === 'rsa' ? rsaSigner(key, publicKey) : ecSigner(key, publicKey);
  return { publicKey, signer, publicKeyPem };
}

/**
 * A new signing key as PEM, in the form espsecure generate-signing-key writes: RSA-3072 (e =
 * 65537) as PKCS#1 "RSA PRIVATE KEY", ECDSA as SEC1 "EC PRIVATE KEY". From OpenSSL's generator.
 * @example const pem = generateSigningKey('ecdsa256');
 */
export function generateSigningKey(scheme: SigningScheme): string {
  if (scheme === 'rsa3072') {
    const { privateKey } = crypto.generateKeyPairSync('rsa', { modulusLength: 3072, publicExponent: 65537 });
    return String(privateKey.export({ format: 'pem', type: 'pkcs1' }));
  }
  const curve: EcCurve | undefined = ({ ecdsa192: 'P-192', ecdsa256: 'P-256', ecdsa384: 'P-384' } as const)[scheme];
  if (curve === undefined) throw new RangeError(`"scheme" must be one of ${SIGNING_SCHEMES.join(', ')}, got ${String(scheme)}`);
  const { privateKey } = crypto.generateKeyPairSync('ec', { namedCurve: OPENSSL_CURVE[curve] });
  return String(privateKey.export({ format: 'pem', type: 'sec1' }));
}
