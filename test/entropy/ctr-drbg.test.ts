import assert from 'node:assert/strict';
import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { fromHex, toHex } from '../../src/bytes/hex.js';
import type { AesEcb, CryptoProvider } from '../../src/crypto/provider.js';
import { _fillCounterBlocks, CTR_DRBG_CONSTANTS, CtrDrbg, type CtrDrbgOptions } from '../../src/entropy/ctr-drbg.js';
import { MBEDTLS_ERR, MbedtlsError, mbedtlsErrorName } from '../../src/entropy/mbedtls-errors.js';
import { drbgKnownAnswerTests } from '../../src/entropy/selftest/drbg-kat.js';
import { isNistDrbgFile, replayNistDrbgFile } from '../../src/entropy/selftest/nist-replay.js';
import { NvsecError } from '../../src/errors/nvsec-error.js';
import { nodeCrypto } from '../../src/node/node-crypto.js';
import { NO_VECTORS, VECTORS_DIR } from '../_support/vectors.js';
import { isMbedtls, streamEntropy } from '../_support/drbg.js';

// ---------------------------------------------------------------------------------------------
// An independent reference, written straight from SP 800-90A §10.2 / the spec: V as a BigInt,
// one OpenSSL AES call per block.

const aesBlock = (key: Uint8Array, block: Uint8Array): Uint8Array => {
  const c = crypto.createCipheriv(`aes-${key.length * 8}-ecb`, key, null).setAutoPadding(false);
  return new Uint8Array(c.update(block));
};
const be32 = (n: number): Uint8Array => Uint8Array.of(n >>> 24, (n >>> 16) & 255, (n >>> 8) & 255, n & 255);
const cat = (...parts: Uint8Array[]): Uint8Array => new Uint8Array(Buffer.concat(parts));
const xor = (a: Uint8Array, b: Uint8Array): Uint8Array => a.map((x, i) => x ^ b[i]!);
const toBig = (b: Uint8Array): bigint => BigInt(`0x${toHex(b) || '0'}`);
const fromBig = (n: bigint): Uint8Array => fromHex(n.toString(16).padStart(32, '0'));

class RefCtrDrbg {
  key: Uint8Array;
  v = 0n;
  counter = 0;
  readonly seedLen: number;

  constructor(readonly keyLen: number) {
    this.key = new Uint8Array(keyLen);
    this.seedLen = keyLen + 16;
  }

  df(input: Uint8Array): Uint8Array {
    let s = cat(be32(input.length), be32(this.seedLen), input, Uint8Array.of(0x80));
    if (s.length % 16) s = cat(s, new Uint8Array(16 - (s.length % 16)));
    const k0 = Uint8Array.from({ length: this.keyLen }, (_, i) => i);
    const temp: Uint8Array[] = [];
    for (let i = 0; temp.length * 16 < this.seedLen; i++) {
      const data = cat(be32(i), new Uint8Array(12), s);
      let chain: Uint8Array = new Uint8Array(16);
      for (let off = 0; off < data.length; off += 16) chain = aesBlock(k0, xor(chain, data.subarray(off, off + 16)));
      temp.push(chain);
    }
    const t = cat(...temp);
    const k = t.subarray(0, this.keyLen);
    let x: Uint8Array = t.subarray(this.keyLen, this.keyLen + 16);
    const out: Uint8Array[] = [];
    while (out.length * 16 < this.seedLen) {
      x = aesBlock(k, x);
      out.push(x);
    }
    return cat(...out);
  }

  update(data: Uint8Array): void {
    const temp: Uint8Array[] = [];
    while (temp.length * 16 < this.seedLen) {
      this.v = (this.v + 1n) % 2n ** 128n;
      temp.push(aesBlock(this.key, fromBig(this.v)));
    }
    const t = xor(cat(...temp), data);
    this.key = t.slice(0, this.keyLen);
    this.v = toBig(t.subarray(this.keyLen));
  }

  seed(material: Uint8Array): void {
    this.update(this.df(material));
    this.counter = 1;
  }

  generate(n: number, add: Uint8Array): Uint8Array {
    let a: Uint8Array = new Uint8Array(this.seedLen);
    if (add.length > 0) {
      a = this.df(add);
      this.update(a);
    }
    const out: Uint8Array[] = [];
    while (out.length * 16 < n) {
      this.v = (this.v + 1n) % 2n ** 128n;
      out.push(aesBlock(this.key, fromBig(this.v)));
    }
    this.update(a);
    this.counter++;
    return cat(...out).slice(0, n);
  }
}

// ---------------------------------------------------------------------------------------------

/** A provider that records every AES key object it hands out and every encrypt call. */
function countingProvider(): { crypto: CryptoProvider; keys: Array<{ destroyed: boolean }>; encrypts: number[] } {
  const keys: Array<{ destroyed: boolean }> = [];
  const encrypts: number[] = [];
  const provider: CryptoProvider = {
    ...nodeCrypto,
    aesEcb: (key: Uint8Array): AesEcb => {
      const inner = nodeCrypto.aesEcb(key);
      const rec = { destroyed: false };
      keys.push(rec);
      return {
        encrypt: (d) => {
          encrypts.push(d.length);
          return inner.encrypt(d);
        },
        decrypt: (d) => inner.decrypt(d),
        destroy: () => {
          rec.destroyed = true;
          inner.destroy();
        },
      };
    },
  };
  return { crypto: provider, keys, encrypts };
}


const seedWith = (opts: Partial<CtrDrbgOptions> = {}): CtrDrbg => CtrDrbg.seed({ crypto: nodeCrypto, entropy: streamEntropy().entropy, ...opts });

const readVectors = (file: string): unknown => JSON.parse(fs.readFileSync(path.join(VECTORS_DIR!, 'entropy', file), 'utf8'));

describe('MBEDTLS_ERR and MbedtlsError', () => {
  it('hold the Mbed TLS 2.28 values of the entropy and DRBG error codes', () => {
    assert.deepEqual(
      { ...MBEDTLS_ERR },
      {
        MBEDTLS_ERR_ENTROPY_SOURCE_FAILED: -0x3c,
        MBEDTLS_ERR_ENTROPY_NO_STRONG_SOURCE: -0x3d,
        MBEDTLS_ERR_ENTROPY_MAX_SOURCES: -0x3e,
        MBEDTLS_ERR_ENTROPY_FILE_IO_ERROR: -0x3f,
        MBEDTLS_ERR_ENTROPY_NO_SOURCES_DEFINED: -0x40,
        MBEDTLS_ERR_CTR_DRBG_ENTROPY_SOURCE_FAILED: -0x34,
        MBEDTLS_ERR_CTR_DRBG_REQUEST_TOO_BIG: -0x36,
        MBEDTLS_ERR_CTR_DRBG_INPUT_TOO_BIG: -0x38,
        MBEDTLS_ERR_CTR_DRBG_FILE_IO_ERROR: -0x3a,
        MBEDTLS_ERR_HMAC_DRBG_REQUEST_TOO_BIG: -0x03,
        MBEDTLS_ERR_HMAC_DRBG_INPUT_TOO_BIG: -0x05,
        MBEDTLS_ERR_HMAC_DRBG_FILE_IO_ERROR: -0x07,
        MBEDTLS_ERR_HMAC_DRBG_ENTROPY_SOURCE_FAILED: -0x09,
      },
    );
    assert.ok(Object.isFrozen(MBEDTLS_ERR));
  });

  it('carries the name as code and the number as ret, and maps numbers back to names', () => {
    const cause = new Error('boom');
    const e = new MbedtlsError('MBEDTLS_ERR_ENTROPY_SOURCE_FAILED', 'the source failed', { cause });
    assert.ok(e instanceof NvsecError);
    assert.equal(e.code, 'MBEDTLS_ERR_ENTROPY_SOURCE_FAILED');
    assert.equal(e.ret, -60);
    assert.equal(e.name, 'MbedtlsError');
    assert.equal(e.cause, cause);
    assert.equal(mbedtlsErrorName(-52), 'MBEDTLS_ERR_CTR_DRBG_ENTROPY_SOURCE_FAILED');
    assert.equal(mbedtlsErrorName(0), undefined);
    assert.throws(() => new MbedtlsError('NOPE' as 'MBEDTLS_ERR_ENTROPY_SOURCE_FAILED', 'x'), RangeError);
  });
});

describe('CtrDrbg: NIST CAVP vectors (ctr_drbg_nist.json)', { skip: NO_VECTORS }, () => {
  it('passes all 268 cases through replayNistDrbgFile (258 AES-256, 10 AES-128)', () => {
    const file = readVectors('ctr_drbg_nist.json') as { cases: Array<{ key_bits: number }> };
    assert.equal(file.cases.length, 268);
    assert.equal(file.cases.filter((c) => c.key_bits === 128).length, 10);
    const results = replayNistDrbgFile(file, nodeCrypto);
    assert.equal(results.length, 268);
    assert.deepEqual(
      results.filter((r) => !r.passed),
      [],
    );
    assert.ok(results.every((r) => r.suite === 'NIST CTR_DRBG'));
  });

  it('gives the returned bits of a few cases through the API directly (explicit reseed, PR, AES-128)', () => {
    const file = readVectors('ctr_drbg_nist.json') as { cases: Array<Record<string, never>> };
    const picks = [0, 1, 60, 120, 257, 265, 267].map((i) => file.cases[i]!) as Array<Record<string, unknown>>;
    for (const c of picks) {
      const hex = (k: string) => fromHex(c[k] as string);
      const queue = [hex('entropy_input'), hex('nonce')].filter((b) => b.length > 0);
      const reseed = c.reseed as { entropy_input: string; additional_input: string } | null;
      if (reseed) queue.push(fromHex(reseed.entropy_input));
      for (const e of c.entropy_input_pr as string[]) queue.push(fromHex(e));
      const drbg = CtrDrbg.seed({
        crypto: nodeCrypto,
        keyBits: c.key_bits as 256 | 128,
        entropyLen: hex('entropy_input').length,
        nonceLen: hex('nonce').length,
        personalization: hex('personalization'),
        entropy: (n) => {
          const next = queue.shift()!;
          assert.equal(n, next.length);
          return next;
        },
      });
      if (c.prediction_resistance) drbg.setPredictionResistance(true);
      const [a1, a2] = (c.additional_input as string[]).map(fromHex);
      const n = hex('returned_bits').length;
      let out: Uint8Array;
      if (c.flow === 'instantiate,reseed,generate,generate') {
        drbg.reseed(fromHex(reseed!.additional_input));
        drbg.generate(n, a1);
        out = drbg.generate(n, a2);
      } else if (c.flow === 'instantiate,generate,reseed,generate') {
        drbg.generate(n, a1);
        drbg.reseed(fromHex(reseed!.additional_input));
        out = drbg.generate(n, a2);
      } else {
        drbg.generate(n, a1);
        out = drbg.generate(n, a2);
      }
      assert.equal(toHex(out), c.returned_bits, String(c.name));
      assert.equal(queue.length, 0);
      drbg.destroy();
    }
  });
});

describe('replayNistDrbgFile()', () => {
  const good = {
    name: 'CTR_DRBG_withDF.pdf: AES-256, PR=no, perso=no, add=no',
    key_bits: 256,
    flow: 'instantiate,generate,generate',
    prediction_resistance: false,
    entropy_input: '000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f202122232425262728292a2b2c2d2e2f',
    nonce: '202122232425262728292a2b2c2d2e2f',
    personalization: '',
    reseed: null,
    entropy_input_pr: [],
    additional_input: ['', ''],
    returned_bits: '8da6cc59e703ced07d58d96e5b6d7836c32599735b734f88c1a73b53c7a6d82e',
  };

  it('reports one result per case, with what differed for a wrong answer or a malformed case', () => {
    const cases = [
      good,
      { ...good, name: 'tampered', returned_bits: '00'.repeat(32) },
      { ...good, name: 'bad flow', flow: 'instantiate,generate' },
      { ...good, name: 'bad hex', nonce: 'zz' },
      { ...good, name: 'unused entropy', entropy_input_pr: ['00'.repeat(48), '00'.repeat(48)] },
      { ...good, name: 'short entropy', prediction_resistance: true, entropy_input_pr: ['00', '00'] },
    ];
    const r = replayNistDrbgFile({ family: 'CTR_DRBG', cases }, nodeCrypto);
    assert.deepEqual(
      r.map((x) => [x.name, x.passed]),
      cases.map((c, i) => [c.name, i === 0]),
    );
    assert.match(r[1]!.detail!, /second generate returned 8da6cc59.*, expected 0000/);
    assert.match(r[2]!.detail!, /malformed case: unknown flow/);
    assert.match(r[3]!.detail!, /malformed case: "nonce"/);
    assert.match(r[4]!.detail!, /malformed case: "entropy_input_pr" must be a list of 0 hex strings/);
    assert.match(r[5]!.detail!, /MBEDTLS_ERR_CTR_DRBG_ENTROPY_SOURCE_FAILED: .*48 bytes requested where the case's entropy_input_pr\[0\] has 1/);
    assert.equal('detail' in r[0]!, false);
  });

  it('refuses files of another format', () => {
    for (const f of [null, 42, { family: 'AES', cases: [] }, { family: 'CTR_DRBG' }, { inputs: { drbg: 'CTR_DRBG-AES-256' } }]) {
      assert.equal(isNistDrbgFile(f), false);
      assert.throws(() => replayNistDrbgFile(f, nodeCrypto), (e: unknown) => e instanceof NvsecError && e.code === 'SELFTEST_BAD_FILE');
    }
    assert.equal(isNistDrbgFile({ family: 'HMAC_DRBG', cases: [] }), true);
  });
});

describe('drbgKnownAnswerTests()', () => {
  it('passes every built-in case: CTR_DRBG AES-256 and AES-128, HMAC_DRBG with each hash', () => {
    const r = drbgKnownAnswerTests(nodeCrypto);
    assert.deepEqual(
      r.filter((c) => !c.passed),
      [],
    );
    for (const variant of ['CTR_DRBG AES-256', 'CTR_DRBG AES-128', 'HMAC_DRBG SHA-1', 'HMAC_DRBG SHA-224', 'HMAC_DRBG SHA-256', 'HMAC_DRBG SHA-384', 'HMAC_DRBG SHA-512']) {
      assert.ok(
        r.some((c) => c.name.startsWith(`${variant}:`)),
        variant,
      );
    }
    assert.ok(r.every((c) => c.suite === 'power-on KAT'));
  });

  it('fails when the provider computes wrong AES', () => {
    const broken: CryptoProvider = {
      ...nodeCrypto,
      aesEcb: (key) => {
        const e = nodeCrypto.aesEcb(key);
        return { ...e, encrypt: (d) => e.encrypt(d).map((x, i) => (i === 0 ? x ^ 1 : x)) };
      },
    };
    const r = drbgKnownAnswerTests(broken).filter((c) => c.name.startsWith('CTR_DRBG'));
    assert.ok(r.length > 0 && r.every((c) => !c.passed));
  });
});

describe('CtrDrbg seeding', () => {
  it('asks for the entropy, then the nonce in a second request, with Mbed TLS 2.28 default lengths', () => {
    const lengths = (opts: Partial<CtrDrbgOptions>) => {
      const s = streamEntropy();
      CtrDrbg.seed({ crypto: nodeCrypto, entropy: s.entropy, ...opts }).destroy();
      return s.requests;
    };
    assert.deepEqual(lengths({}), [48]); // SHA-512 collector, AES-256: 48 bytes, no nonce
    assert.deepEqual(lengths({ entropyLen: 32 }), [32, 16]); // SHA-256 collector: 32 + 16
    assert.deepEqual(lengths({ entropyLen: 47 }), [47, 24]);
    assert.deepEqual(lengths({ keyBits: 128, entropyLen: 16 }), [16, 8]);
    assert.deepEqual(lengths({ keyBits: 128, entropyLen: 24 }), [24]);
    assert.deepEqual(lengths({ keyBits: 128 }), [48]);
    assert.deepEqual(lengths({ entropyLen: 32, nonceLen: 0 }), [32]);
    assert.deepEqual(lengths({ nonceLen: 5 }), [48, 5]);
  });

  it('matches the reference: entropy ‖ nonce ‖ personalization through the derivation function', () => {
    const s = streamEntropy(7);
    const ref = streamEntropy(7);
    const perso = Uint8Array.from({ length: 40 }, (_, i) => i);
    const drbg = CtrDrbg.seed({ crypto: nodeCrypto, entropy: s.entropy, entropyLen: 32, personalization: perso });
    const r = new RefCtrDrbg(32);
    r.seed(cat(ref.take(32), ref.take(16), perso));
    assert.equal(toHex(drbg.generate(100)), toHex(r.generate(100, new Uint8Array(0))));
  });

  it('zeroizes the entropy arrays it was handed', () => {
    const given: Uint8Array[] = [];
    const drbg = CtrDrbg.seed({
      crypto: nodeCrypto,
      entropyLen: 32,
      entropy: (n) => {
        const b = new Uint8Array(n).fill(0xa5);
        given.push(b);
        return b;
      },
    });
    drbg.reseed();
    assert.equal(given.length, 3);
    assert.ok(given.every((b) => b.every((x) => x === 0)));
  });

  it('rejects bad options with TypeError/RangeError naming the option', () => {
    const entropy = streamEntropy().entropy;
    assert.throws(() => CtrDrbg.seed({ crypto: nodeCrypto, entropy, keyBits: 192 as 256 }), /keyBits/);
    assert.throws(() => CtrDrbg.seed({ crypto: nodeCrypto, entropy, entropyLen: 0 }), RangeError);
    assert.throws(() => CtrDrbg.seed({ crypto: nodeCrypto, entropy, nonceLen: -1 }), RangeError);
    assert.throws(() => CtrDrbg.seed({ crypto: nodeCrypto, entropy, reseedInterval: 0 }), RangeError);
    assert.throws(() => CtrDrbg.seed({ crypto: nodeCrypto, entropy: 'x' as unknown as () => Uint8Array }), TypeError);
    assert.throws(() => CtrDrbg.seed({ crypto: {} as CryptoProvider, entropy }), TypeError);
    assert.throws(() => CtrDrbg.seed({ crypto: nodeCrypto, entropy, personalization: 'abc' as unknown as Uint8Array }), TypeError);
  });
});

describe('CtrDrbg limits in compatibility mode (Mbed TLS 2.28 errors)', () => {
  it('refuses requests over 1024 bytes with MBEDTLS_ERR_CTR_DRBG_REQUEST_TOO_BIG (-0x36)', () => {
    const drbg = seedWith();
    assert.equal(drbg.generate(1024).length, 1024);
    assert.equal(drbg.generate(0).length, 0);
    assert.throws(() => drbg.generate(1025), isMbedtls('MBEDTLS_ERR_CTR_DRBG_REQUEST_TOO_BIG'));
    assert.throws(() => drbg.generate(65536), isMbedtls('MBEDTLS_ERR_CTR_DRBG_REQUEST_TOO_BIG'));
    assert.throws(() => drbg.generate(1.5), RangeError);
    assert.throws(() => drbg.generate(-1), RangeError);
  });

  it('refuses additional input over 256 bytes with MBEDTLS_ERR_CTR_DRBG_INPUT_TOO_BIG (-0x38)', () => {
    const drbg = seedWith();
    assert.equal(drbg.generate(16, new Uint8Array(256)).length, 16);
    assert.throws(() => drbg.generate(16, new Uint8Array(257)), isMbedtls('MBEDTLS_ERR_CTR_DRBG_INPUT_TOO_BIG'));
  });

  it('caps seed material at 384 bytes: entropy, nonce, personalization and reseed input', () => {
    const ok = (o: Partial<CtrDrbgOptions>) => seedWith(o).destroy();
    const tooBig = (o: Partial<CtrDrbgOptions>) => assert.throws(() => seedWith(o), isMbedtls('MBEDTLS_ERR_CTR_DRBG_INPUT_TOO_BIG'));
    ok({ personalization: new Uint8Array(336) }); // 48 + 0 + 336
    tooBig({ personalization: new Uint8Array(337) });
    ok({ entropyLen: 32, personalization: new Uint8Array(336) }); // 32 + 16 + 336
    tooBig({ entropyLen: 32, personalization: new Uint8Array(337) });
    ok({ entropyLen: 384, nonceLen: 0 });
    tooBig({ entropyLen: 385 });
    tooBig({ nonceLen: 385 });
    tooBig({ nonceLen: 337 }); // 48 + 337
    const drbg = seedWith();
    drbg.reseed(new Uint8Array(336));
    assert.throws(() => drbg.reseed(new Uint8Array(337)), isMbedtls('MBEDTLS_ERR_CTR_DRBG_INPUT_TOO_BIG'));
    // an automatic reseed with 256 bytes of additional input and 200 bytes of entropy is over 384
    const big = seedWith({ entropyLen: 200, nonceLen: 0, predictionResistance: true });
    assert.throws(() => big.generate(16, new Uint8Array(185)), isMbedtls('MBEDTLS_ERR_CTR_DRBG_INPUT_TOO_BIG'));
    assert.equal(big.generate(16, new Uint8Array(184)).length, 16);
  });

  it('checks the limits before asking for entropy', () => {
    const s = streamEntropy();
    assert.throws(() => CtrDrbg.seed({ crypto: nodeCrypto, entropy: s.entropy, entropyLen: 400 }), MbedtlsError);
    assert.deepEqual(s.requests, []);
  });
});

describe('CtrDrbg without compatibility mode (SP 800-90A limits)', () => {
  it('serves up to 64 KiB per call, byte for byte as the reference, and refuses more', () => {
    const s = streamEntropy(3);
    const ref = streamEntropy(3);
    const drbg = CtrDrbg.seed({ crypto: nodeCrypto, entropy: s.entropy, compat: false });
    const r = new RefCtrDrbg(32);
    r.seed(ref.take(48));
    const big = drbg.generate(65536);
    assert.equal(big.length, 65536);
    assert.equal(toHex(big), toHex(r.generate(65536, new Uint8Array(0))));
    const add = new Uint8Array(1000).fill(7); // over Mbed TLS's 256
    assert.equal(toHex(drbg.generate(5000, add)), toHex(r.generate(5000, add)));
    assert.throws(() => drbg.generate(65537), isMbedtls('MBEDTLS_ERR_CTR_DRBG_REQUEST_TOO_BIG'));
  });

  it('asks for at least the security strength of entropy', () => {
    assert.throws(() => seedWith({ compat: false, entropyLen: 31, nonceLen: 16 }), RangeError);
    assert.throws(() => seedWith({ compat: false, keyBits: 128, entropyLen: 15 }), RangeError);
    seedWith({ compat: false, keyBits: 128, entropyLen: 16 }).destroy();
    seedWith({ compat: true, entropyLen: 8 }).destroy(); // Mbed TLS does not check
  });
});

describe('CtrDrbg reseeding', () => {
  it('reseeds automatically on the generate after the reseed interval, as Mbed TLS counts', () => {
    const s = streamEntropy(5);
    const drbg = CtrDrbg.seed({ crypto: nodeCrypto, entropy: s.entropy, reseedInterval: 3 });
    const ref = streamEntropy(5);
    const r = new RefCtrDrbg(32);
    r.seed(ref.take(48));
    const add = Uint8Array.of(1, 2, 3);
    for (let i = 0; i < 3; i++) assert.equal(toHex(drbg.generate(40, add)), toHex(r.generate(40, add)));
    assert.deepEqual(s.requests, [48]);
    // 4th call: reseed with the additional input, then generate without it
    const out = drbg.generate(40, add);
    assert.deepEqual(s.requests, [48, 48]);
    r.seed(cat(ref.take(48), add));
    assert.equal(toHex(out), toHex(r.generate(40, new Uint8Array(0))));
    // the counter is 2 after an automatic reseed (1, then +1 for its generate): every n-th call reseeds
    drbg.setReseedInterval(2);
    drbg.generate(1);
    assert.deepEqual(s.requests, [48, 48]);
    drbg.generate(1);
    assert.deepEqual(s.requests, [48, 48, 48]);
    drbg.generate(1);
    assert.deepEqual(s.requests, [48, 48, 48]);
    drbg.generate(1);
    assert.deepEqual(s.requests, [48, 48, 48, 48]);
    drbg.setReseedInterval(1);
    drbg.generate(1);
    drbg.generate(1);
    assert.deepEqual(s.requests, [48, 48, 48, 48, 48, 48]);
    assert.throws(() => drbg.setReseedInterval(2 ** 31), RangeError);
  });

  it('with prediction resistance, draws entropy on every generate and feeds the additional input to it', () => {
    const s = streamEntropy(9);
    const drbg = CtrDrbg.seed({ crypto: nodeCrypto, entropy: s.entropy, entropyLen: 32 });
    drbg.setPredictionResistance(true);
    const ref = streamEntropy(9);
    const r = new RefCtrDrbg(32);
    r.seed(cat(ref.take(32), ref.take(16)));
    for (let i = 1; i <= 4; i++) {
      const add = new Uint8Array(i * 10).fill(i);
      const out = drbg.generate(33, add);
      r.seed(cat(ref.take(32), add));
      assert.equal(toHex(out), toHex(r.generate(33, new Uint8Array(0))));
    }
    assert.deepEqual(s.requests, [32, 16, 32, 32, 32, 32]);
    drbg.setPredictionResistance(false);
    drbg.generate(16);
    assert.equal(s.requests.length, 6);
  });

  it('refuses entropy of the wrong length and wipes what the callback returned', () => {
    const handedOver: Uint8Array[] = [];
    assert.throws(
      () =>
        CtrDrbg.seed({
          crypto: nodeCrypto,
          entropy: (n) => {
            const b = new Uint8Array(n - 1).fill(0xa5);
            handedOver.push(b);
            return b;
          },
        }),
      (e: unknown) => isMbedtls('MBEDTLS_ERR_CTR_DRBG_ENTROPY_SOURCE_FAILED')(e) && /returned 47 bytes/.test((e as Error).message),
    );
    assert.equal(handedOver.length, 1);
    assert.ok(handedOver[0]!.every((x) => x === 0), 'the short entropy buffer was left unwiped');
  });

  it('maps any entropy failure to MBEDTLS_ERR_CTR_DRBG_ENTROPY_SOURCE_FAILED (-0x34) with the cause attached', () => {
    const cause = new MbedtlsError('MBEDTLS_ERR_ENTROPY_SOURCE_FAILED', 'NV seed missing');
    assert.throws(
      () =>
        CtrDrbg.seed({
          crypto: nodeCrypto,
          entropy: () => {
            throw cause;
          },
        }),
      (e: unknown) => isMbedtls('MBEDTLS_ERR_CTR_DRBG_ENTROPY_SOURCE_FAILED')(e) && (e as Error).cause === cause && /NV seed missing/.test((e as Error).message),
    );
    let fail = false;
    const drbg = CtrDrbg.seed({
      crypto: nodeCrypto,
      entropyLen: 32,
      entropy: (n) => {
        if (fail) throw new Error('unplugged');
        return new Uint8Array(n);
      },
    });
    fail = true;
    assert.throws(() => drbg.reseed(), isMbedtls('MBEDTLS_ERR_CTR_DRBG_ENTROPY_SOURCE_FAILED'));
    drbg.setPredictionResistance(true);
    assert.throws(() => drbg.generate(16), isMbedtls('MBEDTLS_ERR_CTR_DRBG_ENTROPY_SOURCE_FAILED'));
    drbg.setPredictionResistance(false);
    assert.equal(drbg.generate(16).length, 16); // still usable, as in Mbed TLS
    // the nonce request failing counts too, and so does a wrong length
    let calls = 0;
    const secondFails = () =>
      CtrDrbg.seed({
        crypto: nodeCrypto,
        entropyLen: 32,
        entropy: (n) => {
          if (++calls === 2) throw new Error('no nonce');
          return new Uint8Array(n);
        },
      });
    assert.throws(secondFails, isMbedtls('MBEDTLS_ERR_CTR_DRBG_ENTROPY_SOURCE_FAILED'));
    assert.throws(() => CtrDrbg.seed({ crypto: nodeCrypto, entropy: (n) => new Uint8Array(n - 1) }), isMbedtls('MBEDTLS_ERR_CTR_DRBG_ENTROPY_SOURCE_FAILED'));
    assert.throws(() => CtrDrbg.seed({ crypto: nodeCrypto, entropy: () => 'abc' as unknown as Uint8Array }), isMbedtls('MBEDTLS_ERR_CTR_DRBG_ENTROPY_SOURCE_FAILED'));
  });
});

describe('CtrDrbg.destroy()', () => {
  it('zeroizes the state, destroys every AES key and makes later use throw DRBG_DESTROYED', () => {
    const p = countingProvider();
    const drbg = CtrDrbg.seed({ crypto: p.crypto, entropy: streamEntropy().entropy });
    drbg.generate(100, Uint8Array.of(1));
    const state = drbg as unknown as { v: Uint8Array; ctr: Uint8Array };
    const v = state.v;
    const ctr = state.ctr;
    assert.ok(v.some((x) => x !== 0));
    drbg.destroy();
    assert.ok(v.every((x) => x === 0));
    assert.ok(ctr.every((x) => x === 0));
    assert.ok(p.keys.every((k) => k.destroyed));
    const gone = (e: unknown) => e instanceof NvsecError && e.code === 'DRBG_DESTROYED';
    assert.throws(() => drbg.generate(1), gone);
    assert.throws(() => drbg.reseed(), gone);
    assert.throws(() => drbg.setPredictionResistance(true), gone);
    assert.throws(() => drbg.setReseedInterval(5), gone);
    drbg.destroy(); // again: no-op
  });

  it('keeps one live key schedule, replaced on every update, and one bulk ECB call per plain generate', () => {
    const p = countingProvider();
    const drbg = CtrDrbg.seed({ crypto: p.crypto, entropy: streamEntropy().entropy });
    const live = () => p.keys.filter((k) => !k.destroyed).length;
    assert.equal(live(), 2); // the current key and the derivation function's fixed key
    for (const n of [0, 1, 16, 1000, 1024]) {
      const keysBefore = p.keys.length;
      const callsBefore = p.encrypts.length;
      drbg.generate(n);
      assert.equal(p.encrypts.length - callsBefore, 1, `one encrypt call for ${n} bytes`);
      assert.equal(p.encrypts.at(-1), (Math.ceil(n / 16) + 3) * 16);
      assert.equal(p.keys.length - keysBefore, 1);
      assert.equal(live(), 2);
    }
    drbg.destroy();
    assert.equal(live(), 0);
  });

  it('destroys its keys when seeding fails', () => {
    const p = countingProvider();
    assert.throws(() =>
      CtrDrbg.seed({
        crypto: p.crypto,
        entropy: () => {
          throw new Error('x');
        },
      }),
    );
    assert.ok(p.keys.length > 0 && p.keys.every((k) => k.destroyed));
  });
});

describe('CtrDrbg bulk generation = per-block reference (fast-check)', () => {
  it('gives the same bytes for random keys, lengths, additional inputs and schedules', () => {
    fc.assert(
      fc.property(
        fc.record({
          keyBits: fc.constantFrom(256 as const, 128 as const),
          seed: fc.integer({ min: 1, max: 2 ** 31 }),
          perso: fc.uint8Array({ maxLength: 64 }),
          calls: fc.array(fc.record({ n: fc.integer({ min: 0, max: 1024 }), add: fc.option(fc.uint8Array({ minLength: 1, maxLength: 80 }), { nil: undefined }) }), {
            minLength: 1,
            maxLength: 6,
          }),
          interval: fc.integer({ min: 1, max: 4 }),
        }),
        ({ keyBits, seed, perso, calls, interval }) => {
          const s = streamEntropy(seed);
          const ref = streamEntropy(seed);
          const drbg = CtrDrbg.seed({ crypto: nodeCrypto, entropy: s.entropy, keyBits, entropyLen: 32, personalization: perso, reseedInterval: interval });
          const r = new RefCtrDrbg(keyBits / 8);
          const nonceLen = keyBits === 256 ? 16 : 0;
          r.seed(cat(ref.take(32), ref.take(nonceLen), perso));
          for (const { n, add } of calls) {
            let a = add ?? new Uint8Array(0);
            if (r.counter > interval) {
              r.seed(cat(ref.take(32), a));
              a = new Uint8Array(0);
            }
            assert.equal(toHex(drbg.generate(n, add)), toHex(r.generate(n, a)));
          }
          drbg.destroy();
        },
      ),
      { numRuns: 60 },
    );
  });

  it('_fillCounterBlocks() writes V+1 … V+count with carries across every word and wrap-around', () => {
    const edge = fc.oneof(
      fc.bigInt(0n, 2n ** 128n - 1n),
      fc.bigInt(2n ** 32n - 300n, 2n ** 32n - 1n),
      fc.bigInt(2n ** 64n - 300n, 2n ** 64n - 1n),
      fc.bigInt(2n ** 96n - 300n, 2n ** 96n - 1n),
      fc.bigInt(2n ** 128n - 300n, 2n ** 128n - 1n),
      fc.bigInt(0n, 2n ** 96n - 1n).map((hi) => (hi << 32n) | 0xffffff00n),
    );
    fc.assert(
      fc.property(edge, fc.integer({ min: 0, max: 600 }), (v, count) => {
        const out = new Uint8Array(count * 16 + 16).fill(0xee);
        _fillCounterBlocks(fromBig(v), count, out);
        const want = cat(...Array.from({ length: count }, (_, i) => fromBig((v + BigInt(i) + 1n) % 2n ** 128n)));
        assert.equal(toHex(out.subarray(0, count * 16)), toHex(want));
        assert.ok(out.subarray(count * 16).every((x) => x === 0xee));
      }),
      { numRuns: 300 },
    );
  });
});

describe('CTR_DRBG_CONSTANTS', () => {
  it('are the Mbed TLS 2.28 defaults', () => {
    assert.equal(CTR_DRBG_CONSTANTS.MBEDTLS_CTR_DRBG_MAX_REQUEST, 1024);
    assert.equal(CTR_DRBG_CONSTANTS.MBEDTLS_CTR_DRBG_MAX_INPUT, 256);
    assert.equal(CTR_DRBG_CONSTANTS.MBEDTLS_CTR_DRBG_MAX_SEED_INPUT, 384);
    assert.equal(CTR_DRBG_CONSTANTS.MBEDTLS_CTR_DRBG_RESEED_INTERVAL, 10000);
    assert.equal(CTR_DRBG_CONSTANTS.MBEDTLS_CTR_DRBG_ENTROPY_LEN, 48);
    assert.equal(CTR_DRBG_CONSTANTS.SP800_90A_MAX_REQUEST, 2 ** 19 / 8);
  });

  it('reseed after exactly 10000 generates by default', () => {
    const s = streamEntropy();
    const drbg = CtrDrbg.seed({ crypto: nodeCrypto, entropy: s.entropy });
    for (let i = 0; i < 10000; i++) drbg.generate(0);
    assert.equal(s.requests.length, 1);
    drbg.generate(0);
    assert.equal(s.requests.length, 2);
  });
});

describe('the known answers of bench/entropy-drbg.ts', () => {
  it('are what this reference gives: sha256 of the first 8 outputs from the bench seed', () => {
    const perso = new TextEncoder().encode('nvsec bench');
    const cases: Array<[number, string]> = [
      [1024, '4dcb971f0e11e876d7325135135e4c7ac879fc88761bc9af86165bae8623cc8f'],
      [32, '7499b63fc1d4b49525e888afe3c5a0216bda2d7e03ebfa1ab7cc5dc9475f778e'],
      [65536, '655a76d28052485bd9697ef7501beb6d343614d18d5a3a9e0724044a4204de8c'],
    ];
    for (const [len, sha] of cases) {
      let c = 0;
      const r = new RefCtrDrbg(32);
      r.seed(cat(Uint8Array.from({ length: 48 }, () => c++ & 0xff), perso));
      const outs = Array.from({ length: 8 }, () => r.generate(len, new Uint8Array(0)));
      assert.equal(crypto.createHash('sha256').update(cat(...outs)).digest('hex'), sha, `${len}`);
    }
  });
});
