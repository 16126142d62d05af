import assert from 'node:assert/strict';
import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { p256, p384 } from '@noble/curves/nist.js';
import type { PrivateKeyMaterial, RsaPrivateComponents, SignatureScheme, TokenCurve } from '../../src/crypto/key-crypto.js';
import type { HashName } from '../../src/crypto/provider.js';
import { fromHex, toHex } from '../../src/bytes/hex.js';
import { NvsecError } from '../../src/errors/nvsec-error.js';
import { _ownedKeyBytes, loadNodeKeyCrypto } from '../../src/node/node-key-crypto.js';
import { NO_VECTORS, VECTORS_DIR } from '../_support/vectors.js';

// Every expected value here comes from OpenSSL (node:crypto's own sign/verify, which hash the
// message themselves), @noble/curves, or espsecure's golden vectors; never from the code under test.

const kc = await loadNodeKeyCrypto();
const u8 = (b: Buffer): Uint8Array => new Uint8Array(b.buffer, b.byteOffset, b.length);
const b64 = (b: Uint8Array): string => Buffer.from(b).toString('base64url');
const sha = (hash: HashName, data: Uint8Array): Uint8Array => u8(crypto.createHash(hash).update(data).digest());
const WIDTH: Record<TokenCurve, number> = { 'P-256': 32, 'P-384': 48 };
const NOBLE = { 'P-256': p256, 'P-384': p384 } as const;
const ORDER: Record<TokenCurve, bigint> = { 'P-256': p256.Point.CURVE().n, 'P-384': p384.Point.CURVE().n };
const ECDSA_RAW: SignatureScheme = { kind: 'ecdsa', hash: null };

const beBytes = (x: bigint, width: number): Uint8Array => fromHex(x.toString(16).padStart(2 * width, '0'));
const beInt = (b: Uint8Array): bigint => BigInt(`0x${toHex(b) || '0'}`);

/** A key pair made by OpenSSL's key generator (not by the code under test), as scalar and point. */
function opensslEcKey(curve: TokenCurve): { d: Uint8Array; point: Uint8Array; privateKey: crypto.KeyObject; publicKey: crypto.KeyObject } {
  const { privateKey, publicKey } = crypto.generateKeyPairSync('ec', { namedCurve: curve === 'P-256' ? 'prime256v1' : 'secp384r1' });
  const jwk = privateKey.export({ format: 'jwk' });
  const point = new Uint8Array([4, ...Buffer.from(jwk.x!, 'base64url'), ...Buffer.from(jwk.y!, 'base64url')]);
  return { d: u8(Buffer.from(jwk.d!, 'base64url')), point, privateKey, publicKey };
}

const ecPrivate = (curve: TokenCurve, d: Uint8Array): PrivateKeyMaterial => ({ type: 'ec', curve, d });

describe('loadNodeKeyCrypto(): EC keys', () => {
  for (const curve of ['P-256', 'P-384'] as const) {
    it(`generateEcKey(${curve}) gives a scalar whose public point @noble/curves computes the same`, () => {
      const { d, point } = kc.generateEcKey(curve);
      assert.equal(d.length, WIDTH[curve]);
      assert.equal(toHex(point), toHex(NOBLE[curve].getPublicKey(d, false)));
      assert.equal(toHex(kc.ecPublicPoint(curve, d)), toHex(point));
    });

    it(`ecPublicPoint(${curve}) agrees with OpenSSL's key generator`, () => {
      const { d, point } = opensslEcKey(curve);
      assert.equal(toHex(kc.ecPublicPoint(curve, d)), toHex(point));
    });

    it(`ecPublicPoint and preparePrivateKey(${curve}) reject d = 0, d = n, d > n and a wrong length`, () => {
      const w = WIDTH[curve];
      const n = ORDER[curve];
      for (const d of [new Uint8Array(w), beBytes(n, w), beBytes(n + 1n, w), new Uint8Array(w).fill(0xff), new Uint8Array(w - 1).fill(1), new Uint8Array(w + 1).fill(1)]) {
        // Our message (the range or the width), not OpenSSL's.
        const ours = (e: unknown): boolean => e instanceof RangeError && /1\.\.n-1|-byte/.test(e.message);
        assert.throws(() => kc.ecPublicPoint(curve, d), ours, `d = ${toHex(d)}`);
        assert.throws(() => kc.preparePrivateKey(ecPrivate(curve, d)), ours, `d = ${toHex(d)}`);
      }
      // The edges that are valid: 1 and n − 1 (public points 1·G and −G from @noble/curves).
      assert.equal(toHex(kc.ecPublicPoint(curve, beBytes(1n, w))), toHex(NOBLE[curve].Point.BASE.toBytes(false)));
      assert.equal(toHex(kc.ecPublicPoint(curve, beBytes(n - 1n, w))), toHex(NOBLE[curve].Point.BASE.negate().toBytes(false)));
    });

    it(`isEcPoint(${curve}) accepts points on the curve and rejects others; preparePublicKey throws for them`, () => {
      const { point } = opensslEcKey(curve);
      assert.equal(kc.isEcPoint(curve, point), true);
      const offCurve = point.slice();
      offCurve[offCurve.length - 1]! ^= 1;
      const compressed = NOBLE[curve].Point.fromBytes(point).toBytes(true);
      const wrongPrefix = point.slice();
      wrongPrefix[0] = 6;
      for (const bad of [offCurve, compressed, wrongPrefix, point.subarray(0, point.length - 1), new Uint8Array([0]), new Uint8Array(point.length)]) {
        assert.equal(kc.isEcPoint(curve, bad), false, toHex(bad));
        assert.throws(() => kc.preparePublicKey({ type: 'ec', curve, point: bad }), RangeError);
      }
    });
  }

  it('an unknown curve is a RangeError', () => {
    assert.throws(() => kc.generateEcKey('P-521' as TokenCurve), RangeError);
    assert.throws(() => kc.ecPublicPoint('secp256k1' as TokenCurve, new Uint8Array(32).fill(1)), RangeError);
  });
});

describe('loadNodeKeyCrypto(): ECDSA over a digest (CKM_ECDSA)', () => {
  // [curve, hash of the message]: digests shorter than, as long as and longer than the order.
  const cases: [TokenCurve, HashName][] = [
    ['P-256', 'sha256'],
    ['P-256', 'sha1'],
    ['P-256', 'sha384'],
    ['P-256', 'sha512'],
    ['P-384', 'sha384'],
    ['P-384', 'sha256'],
    ['P-384', 'sha512'],
  ];
  for (const [curve, hash] of cases) {
    it(`a ${curve} signature of a ${hash} digest verifies with OpenSSL signing the message with ${hash}`, () => {
      const { d, publicKey } = opensslEcKey(curve);
      const key = kc.preparePrivateKey(ecPrivate(curve, d));
      const message = u8(crypto.randomBytes(100));
      for (let i = 0; i < 20; i++) {
        const sig = key.sign(ECDSA_RAW, sha(hash, message));
        assert.equal(sig.length, 2 * WIDTH[curve]);
        assert.equal(crypto.verify(hash, message, { key: publicKey, dsaEncoding: 'ieee-p1363' }, sig), true);
      }
      key.destroy();
    });

    it(`OpenSSL's ${curve} ${hash} signatures verify as signatures of the ${hash} digest, and not of another`, () => {
      const { privateKey, point } = opensslEcKey(curve);
      const pub = kc.preparePublicKey({ type: 'ec', curve, point });
      const message = u8(crypto.randomBytes(77));
      const sig = u8(crypto.sign(hash, message, { key: privateKey, dsaEncoding: 'ieee-p1363' }));
      assert.equal(pub.verify(ECDSA_RAW, sha(hash, message), sig), true);
      assert.equal(pub.verify({ kind: 'ecdsa', hash }, message, sig), true);
      const other = sha(hash, message);
      other[0]! ^= 0x80;
      assert.equal(pub.verify(ECDSA_RAW, other, sig), false);
      assert.equal(pub.verify({ kind: 'ecdsa', hash }, message.subarray(1), sig), false);
    });
  }

  it('a 64-byte digest on P-256 is truncated to its leftmost 256 bits, as OpenSSL does for SHA-512', () => {
    // Same digest prefix, different tail: both verify under OpenSSL's SHA-512 of the message.
    const { d, publicKey } = opensslEcKey('P-256');
    const key = kc.preparePrivateKey(ecPrivate('P-256', d));
    const message = u8(crypto.randomBytes(40));
    const digest = sha('sha512', message);
    const sigFull = key.sign(ECDSA_RAW, digest);
    const sigPrefix = key.sign(ECDSA_RAW, digest.subarray(0, 32));
    for (const sig of [sigFull, sigPrefix]) assert.equal(crypto.verify('sha512', message, { key: publicKey, dsaEncoding: 'ieee-p1363' }, sig), true);
  });

  it('two signatures of the same digest differ (a fresh nonce each time)', () => {
    const { d } = kc.generateEcKey('P-256');
    const key = kc.preparePrivateKey(ecPrivate('P-256', d));
    const digest = sha('sha256', new Uint8Array(1));
    const seen = new Set<string>();
    for (let i = 0; i < 50; i++) seen.add(toHex(key.sign(ECDSA_RAW, digest).subarray(0, 32)));
    assert.equal(seen.size, 50);
  });

  it('property: random keys and digests of 1..80 bytes sign, and @noble/curves verifies every signature (200 cases)', () => {
    fc.assert(
      fc.property(fc.constantFrom<TokenCurve>('P-256', 'P-384'), fc.uint8Array({ minLength: 1, maxLength: 80 }), (curve, digest) => {
        const { d, point } = kc.generateEcKey(curve);
        const key = kc.preparePrivateKey(ecPrivate(curve, d));
        const sig = key.sign(ECDSA_RAW, digest);
        key.destroy();
        const noble = NOBLE[curve].verify(sig, digest, point, { prehash: false, lowS: false, format: 'compact' });
        const ours = kc.preparePublicKey({ type: 'ec', curve, point }).verify(ECDSA_RAW, digest, sig);
        return noble && ours;
      }),
      { numRuns: 200 },
    );
  });

  it('property: @noble/curves signatures of random digests verify, high-s forms too (200 cases)', () => {
    fc.assert(
      fc.property(fc.constantFrom<TokenCurve>('P-256', 'P-384'), fc.uint8Array({ minLength: 1, maxLength: 80 }), (curve, digest) => {
        const noble = NOBLE[curve];
        const d = noble.utils.randomSecretKey();
        const point = noble.getPublicKey(d, false);
        const sig = noble.sign(digest, d, { prehash: false, format: 'compact' });
        const w = WIDTH[curve];
        const highS = sig.slice();
        highS.set(beBytes(ORDER[curve] - beInt(sig.subarray(w)), w), w);
        const pub = kc.preparePublicKey({ type: 'ec', curve, point });
        const tampered = digest.slice();
        tampered[0]! ^= 1;
        return pub.verify(ECDSA_RAW, digest, sig) && pub.verify(ECDSA_RAW, digest, highS) && !pub.verify(ECDSA_RAW, tampered, sig);
      }),
      { numRuns: 200 },
    );
  });

  it('ecdsa with a hash signs like OpenSSL: OpenSSL verifies, and so does the prehashed form', () => {
    const { d, point, publicKey } = opensslEcKey('P-384');
    const key = kc.preparePrivateKey(ecPrivate('P-384', d));
    const message = u8(crypto.randomBytes(33));
    const sig = key.sign({ kind: 'ecdsa', hash: 'sha384' }, message);
    assert.equal(crypto.verify('sha384', message, { key: publicKey, dsaEncoding: 'ieee-p1363' }, sig), true);
    assert.equal(kc.preparePublicKey({ type: 'ec', curve: 'P-384', point }).verify(ECDSA_RAW, sha('sha384', message), sig), true);
  });

  it('malformed signatures (wrong length, r or s zero or >= n) are false, not errors', () => {
    const curve = 'P-256';
    const { privateKey, point } = opensslEcKey(curve);
    const pub = kc.preparePublicKey({ type: 'ec', curve, point });
    const message = u8(crypto.randomBytes(10));
    const digest = sha('sha256', message);
    const sig = u8(crypto.sign('sha256', message, { key: privateKey, dsaEncoding: 'ieee-p1363' }));
    const n = ORDER[curve];
    const r = sig.subarray(0, 32);
    const s = sig.subarray(32);
    const join = (a: Uint8Array, b: Uint8Array): Uint8Array => new Uint8Array([...a, ...b]);
    const bad = [
      new Uint8Array(0),
      sig.subarray(0, 63),
      join(sig, new Uint8Array(1)),
      join(new Uint8Array(1), sig),
      join(new Uint8Array(32), s),
      join(r, new Uint8Array(32)),
      join(beBytes(n, 32), s),
      join(r, beBytes(n, 32)),
      join(beBytes(n + 5n, 32), s),
      join(r, beBytes(n + 5n, 32)),
      join(r, new Uint8Array(32).fill(0xff)),
      new Uint8Array(64).fill(0xff),
    ];
    assert.equal(pub.verify(ECDSA_RAW, digest, sig), true);
    for (const b of bad) {
      assert.equal(pub.verify(ECDSA_RAW, digest, b), false, toHex(b));
      assert.equal(pub.verify({ kind: 'ecdsa', hash: 'sha256' }, message, b), false, toHex(b));
    }
  });

  it('espsecure 5.3.1 ECDSA signatures (P-256, P-384) of image digests verify, from the golden vectors', { skip: NO_VECTORS }, () => {
    const dir = path.join(VECTORS_DIR!, 'boot', 'sbv2-key-types-and-digests');
    const manifest = JSON.parse(fs.readFileSync(path.join(dir, 'manifest.json'), 'utf8'));
    const rev = (hex: string): Uint8Array => fromHex(hex).reverse();
    for (const [id, curve] of [['ecdsa256', 'P-256'], ['ecdsa384', 'P-384']] as const) {
      const block = manifest.expected.per_key[id].signature_block;
      const w = WIDTH[curve];
      const xy = fromHex(block.pubkey_xy_le);
      const point = new Uint8Array([4, ...rev(toHex(xy.subarray(0, w))), ...rev(toHex(xy.subarray(w)))]);
      const rs = fromHex(block.signature_rs_le);
      const sig = new Uint8Array([...rev(toHex(rs.subarray(0, w))), ...rev(toHex(rs.subarray(w)))]);
      const digest = fromHex(block.image_digest);
      const pub = kc.preparePublicKey({ type: 'ec', curve, point });
      assert.equal(pub.verify(ECDSA_RAW, digest, sig), true, id);
      digest[digest.length - 1]! ^= 1;
      assert.equal(pub.verify(ECDSA_RAW, digest, sig), false, id);
      // The private key file gives the same public point through ecPublicPoint.
      const jwk = crypto.createPrivateKey(fs.readFileSync(path.join(dir, `${id}.pem`))).export({ format: 'jwk' });
      assert.equal(toHex(kc.ecPublicPoint(curve, u8(Buffer.from(jwk.d!, 'base64url')))), toHex(point), id);
    }
  });

  it('destroy() zeroizes the key copy and makes sign throw; the caller keeps its own bytes', () => {
    const { d } = kc.generateEcKey('P-256');
    const mine = d.slice();
    const key = kc.preparePrivateKey(ecPrivate('P-256', d));
    const owned = _ownedKeyBytes.get(key);
    assert.ok(owned !== undefined);
    assert.equal(toHex(owned), toHex(mine));
    d.fill(0); // the caller wipes its copy: the prepared key still signs
    assert.equal(key.sign(ECDSA_RAW, new Uint8Array(32).fill(7)).length, 64);
    key.destroy();
    assert.ok(owned.every((b) => b === 0));
    for (const hash of [null, 'sha256'] as const) {
      assert.throws(
        () => key.sign({ kind: 'ecdsa', hash }, new Uint8Array(32)),
        (e: unknown) => e instanceof NvsecError && e.code === 'CRYPTO_KEY_DESTROYED',
      );
    }
    key.destroy(); // idempotent
  });

  it('an RSA scheme on an EC key is a RangeError, and so is an unknown hash', () => {
    const { d, point } = kc.generateEcKey('P-256');
    const key = kc.preparePrivateKey(ecPrivate('P-256', d));
    const pub = kc.preparePublicKey({ type: 'ec', curve: 'P-256', point });
    assert.throws(() => key.sign({ kind: 'rsa-pkcs1', hash: 'sha256' }, new Uint8Array(1)), RangeError);
    assert.throws(() => pub.verify({ kind: 'rsa-pss', hash: null, mgfHash: 'sha256', saltLength: 32 }, new Uint8Array(32), new Uint8Array(64)), RangeError);
    assert.throws(() => key.sign({ kind: 'ecdsa', hash: 'md5' as HashName }, new Uint8Array(1)), RangeError);
    key.destroy();
  });
});

describe('loadNodeKeyCrypto(): RSA', () => {
  const E65537 = new Uint8Array([1, 0, 1]);
  const components = kc.generateRsaKey(2048, E65537);
  /** The same key as an OpenSSL key object built from the components by node:crypto (JWK). */
  const opensslPrivate = (k: RsaPrivateComponents): crypto.KeyObject =>
    crypto.createPrivateKey({ key: { kty: 'RSA', n: b64(k.n), e: b64(k.e), d: b64(k.d), p: b64(k.p), q: b64(k.q), dp: b64(k.dp), dq: b64(k.dq), qi: b64(k.qi) }, format: 'jwk' });
  const osslPriv = opensslPrivate(components);
  const osslPub = crypto.createPublicKey(osslPriv);
  const key = kc.preparePrivateKey({ type: 'rsa', ...components });
  const pub = kc.preparePublicKey({ type: 'rsa', n: components.n, e: components.e });
  /** DER DigestInfo prefix of SHA-256 (RFC 8017 §9.2 note 1). */
  const SHA256_DIGEST_INFO = fromHex('3031300d060960864801650304020105000420');
  const message = u8(crypto.randomBytes(123));

  it('generateRsaKey(2048, 65537) makes a key OpenSSL reads as 2048 bits with e = 65537', () => {
    assert.equal(osslPriv.asymmetricKeyDetails?.modulusLength, 2048);
    assert.equal(osslPriv.asymmetricKeyDetails?.publicExponent, 65537n);
    assert.equal(beInt(components.p) * beInt(components.q), beInt(components.n));
  });

  it('generateRsaKey rejects sizes outside 2048..4096 in steps of 8, and even or small exponents', () => {
    for (const bits of [1024, 2047, 2049, 4104, 0, Number.NaN]) assert.throws(() => kc.generateRsaKey(bits, E65537), RangeError, String(bits));
    for (const e of [new Uint8Array([1, 0, 0]), new Uint8Array([1]), new Uint8Array([0]), new Uint8Array(0)]) assert.throws(() => kc.generateRsaKey(2048, e), RangeError, toHex(e));
  });

  it('CKM_RSA_PKCS: signing DigestInfo ‖ SHA-256 raw equals OpenSSL sha256WithRSAEncryption (deterministic)', () => {
    const expected = u8(crypto.sign('sha256', message, { key: osslPriv, padding: crypto.constants.RSA_PKCS1_PADDING }));
    const digestInfo = new Uint8Array([...SHA256_DIGEST_INFO, ...sha('sha256', message)]);
    assert.equal(toHex(key.sign({ kind: 'rsa-pkcs1', hash: null }, digestInfo)), toHex(expected));
    assert.equal(toHex(key.sign({ kind: 'rsa-pkcs1', hash: 'sha256' }, message)), toHex(expected));
    assert.equal(pub.verify({ kind: 'rsa-pkcs1', hash: null }, digestInfo, expected), true);
    assert.equal(pub.verify({ kind: 'rsa-pkcs1', hash: 'sha256' }, message, expected), true);
    const wrong = digestInfo.slice();
    wrong[wrong.length - 1]! ^= 1;
    assert.equal(pub.verify({ kind: 'rsa-pkcs1', hash: null }, wrong, expected), false);
    assert.equal(pub.verify({ kind: 'rsa-pkcs1', hash: null }, digestInfo.subarray(1), expected), false);
  });

  it('CKM_RSA_PKCS takes data up to the modulus length − 11 bytes and refuses longer', () => {
    const ok = new Uint8Array(256 - 11).fill(0x5a);
    const sig = key.sign({ kind: 'rsa-pkcs1', hash: null }, ok);
    assert.equal(toHex(u8(crypto.publicDecrypt({ key: osslPub, padding: crypto.constants.RSA_PKCS1_PADDING }, sig))), toHex(ok));
    assert.throws(() => key.sign({ kind: 'rsa-pkcs1', hash: null }, new Uint8Array(256 - 10)), RangeError);
  });

  it('malformed RSA signatures (wrong length, not below the modulus, bad padding) are false', () => {
    const digestInfo = new Uint8Array([...SHA256_DIGEST_INFO, ...sha('sha256', message)]);
    const good = key.sign({ kind: 'rsa-pkcs1', hash: null }, digestInfo);
    const pssScheme: SignatureScheme = { kind: 'rsa-pss', hash: null, mgfHash: 'sha256', saltLength: 32 };
    const bad = [new Uint8Array(0), good.subarray(1), new Uint8Array([0, ...good]), new Uint8Array(256).fill(0xff), components.n, new Uint8Array(256)];
    for (const b of bad) {
      assert.equal(pub.verify({ kind: 'rsa-pkcs1', hash: null }, digestInfo, b), false);
      assert.equal(pub.verify({ kind: 'rsa-pkcs1', hash: 'sha256' }, message, b), false);
      assert.equal(pub.verify(pssScheme, sha('sha256', message), b), false);
      assert.equal(pub.verify({ ...pssScheme, hash: 'sha256' }, message, b), false);
    }
    assert.equal(pub.verify(pssScheme, sha('sha256', message), good), false); // a PKCS#1 v1.5 signature is not a PSS one
  });

  for (const [hash, saltLength] of [['sha256', 32], ['sha384', 48], ['sha256', 0], ['sha1', 20]] as const) {
    it(`RSA-PSS ${hash} salt ${saltLength}: our signatures over the digest and over the message verify with OpenSSL, and OpenSSL's with ours`, () => {
      const scheme: SignatureScheme = { kind: 'rsa-pss', hash: null, mgfHash: hash, saltLength };
      const opts = { key: osslPub, padding: crypto.constants.RSA_PKCS1_PSS_PADDING, saltLength };
      const prehashed = key.sign(scheme, sha(hash, message));
      assert.equal(crypto.verify(hash, message, opts, prehashed), true);
      const hashed = key.sign({ ...scheme, hash }, message);
      assert.equal(crypto.verify(hash, message, opts, hashed), true);
      const theirs = u8(crypto.sign(hash, message, { ...opts, key: osslPriv }));
      assert.equal(pub.verify(scheme, sha(hash, message), theirs), true);
      assert.equal(pub.verify({ ...scheme, hash }, message, theirs), true);
      assert.equal(pub.verify({ ...scheme, saltLength: saltLength + 1 }, sha(hash, message), theirs), false);
      if (saltLength > 0) assert.notEqual(toHex(key.sign(scheme, sha(hash, message))), toHex(prehashed)); // random salt
    });
  }

  it('RSA-PSS refuses an MGF1 hash other than the message hash, and a digest of the wrong length', () => {
    assert.throws(() => key.sign({ kind: 'rsa-pss', hash: 'sha256', mgfHash: 'sha1', saltLength: 32 }, message), RangeError);
    assert.throws(() => key.sign({ kind: 'rsa-pss', hash: null, mgfHash: 'sha256', saltLength: 32 }, new Uint8Array(31)), RangeError);
    assert.throws(() => key.sign({ kind: 'rsa-pss', hash: null, mgfHash: 'sha256', saltLength: 300 }, new Uint8Array(32)), RangeError);
    assert.throws(() => key.sign({ kind: 'ecdsa', hash: null }, new Uint8Array(32)), RangeError);
  });

  it('espsecure 5.3.1 RSA-3072 PSS signature of an image digest verifies, from the golden vectors', { skip: NO_VECTORS }, () => {
    const dir = path.join(VECTORS_DIR!, 'boot', 'sbv2-key-types-and-digests');
    const manifest = JSON.parse(fs.readFileSync(path.join(dir, 'manifest.json'), 'utf8'));
    const block = manifest.expected.per_key.rsa3072.signature_block;
    const jwk = crypto.createPublicKey(fs.readFileSync(path.join(dir, 'rsa3072_pub.pem'))).export({ format: 'jwk' });
    const rsaPub = kc.preparePublicKey({ type: 'rsa', n: u8(Buffer.from(jwk.n!, 'base64url')), e: u8(Buffer.from(jwk.e!, 'base64url')) });
    const sig = fromHex(block.signature_le).reverse();
    const digest = fromHex(block.image_sha256);
    const scheme: SignatureScheme = { kind: 'rsa-pss', hash: null, mgfHash: 'sha256', saltLength: 32 };
    assert.equal(rsaPub.verify(scheme, digest, sig), true);
    digest[0]! ^= 1;
    assert.equal(rsaPub.verify(scheme, digest, sig), false);
  });

  it('preparePublicKey rejects a short modulus and an even exponent; preparePrivateKey an inconsistent key', () => {
    const small = crypto.generateKeyPairSync('rsa', { modulusLength: 512 }).publicKey.export({ format: 'jwk' });
    assert.doesNotThrow(() => kc.preparePublicKey({ type: 'rsa', n: u8(Buffer.from(small.n!, 'base64url')), e: components.e }));
    assert.throws(() => kc.preparePublicKey({ type: 'rsa', n: components.n.subarray(193), e: components.e }), RangeError); // 504 bits
    assert.throws(() => kc.preparePublicKey({ type: 'rsa', n: components.n, e: new Uint8Array([1, 0, 0]) }), RangeError);
    const other = kc.generateRsaKey(2048, E65537);
    assert.throws(() => kc.preparePrivateKey({ type: 'rsa', ...components, d: other.d, dp: other.dp, dq: other.dq }), RangeError);
    assert.throws(() => kc.preparePrivateKey({ type: 'rsa', ...components, q: other.q }), RangeError);
  });

  it('destroy() makes sign throw', () => {
    const k = kc.preparePrivateKey({ type: 'rsa', ...components });
    k.destroy();
    assert.throws(() => k.sign({ kind: 'rsa-pkcs1', hash: 'sha256' }, message), (e: unknown) => e instanceof NvsecError && e.code === 'CRYPTO_KEY_DESTROYED');
  });
});
