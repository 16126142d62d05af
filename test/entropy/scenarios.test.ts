import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { describe, it } from 'node:test';
import { powerOnSelfTest, replayVectorFile, vectorFileKind } from '../../src/entropy/selftest/run.js';
import { replayMbedtlsScenario } from '../../src/entropy/selftest/scenario-replay.js';
import { nodeCrypto } from '../../src/node/node-crypto.js';
import { NO_VECTORS, VECTORS_DIR } from '../_support/vectors.js';

const dir = (sub: string) => path.join(VECTORS_DIR ?? '', 'entropy', sub);
const load = (sub: string, name: string) => JSON.parse(fs.readFileSync(path.join(dir(sub), name), 'utf8'));

describe('Mbed TLS golden scenarios (collector + NV seed + DRBG over two boots)', { skip: NO_VECTORS }, () => {
  const names = VECTORS_DIR ? fs.readdirSync(dir('mbedtls-scenarios')).filter((f) => f.endsWith('.json')).sort() : [];

  it('finds the four scenarios', () => assert.equal(names.length, 4));

  for (const name of names) {
    it(`${name}: every check of both boots passes`, () => {
      const cases = replayMbedtlsScenario(load('mbedtls-scenarios', name), nodeCrypto);
      assert.deepEqual(cases.filter((c) => !c.passed), []);
      assert.ok(cases.length >= 12);
    });
  }

  it('reports a changed expected output as a failing case (the replay can fail)', () => {
    const file = load('mbedtls-scenarios', 's1-ctr-basic.json');
    const out: string = file.expected.boot2.requests[0].output;
    file.expected.boot2.requests[0].output = `${out.slice(0, -2)}${out.endsWith('00') ? '01' : '00'}`;
    const failed = replayMbedtlsScenario(file, nodeCrypto).filter((c) => !c.passed);
    assert.deepEqual(
      failed.map((c) => c.name),
      ['s1-ctr-basic boot2: request 1'],
    );
  });
});

describe('selftest dispatch', () => {
  it('recognises each vector file kind and refuses anything else', { skip: NO_VECTORS }, () => {
    assert.equal(vectorFileKind(JSON.parse(fs.readFileSync(path.join(VECTORS_DIR!, 'entropy', 'ctr_drbg_nist.json'), 'utf8'))), 'nist-drbg');
    assert.equal(vectorFileKind(load('entropy-collector', 'e1-nv-only-pattern.json')), 'entropy-collector');
    assert.equal(vectorFileKind(load('mbedtls-scenarios', 's1-ctr-basic.json')), 'mbedtls-scenario');
    assert.throws(() => replayVectorFile({ hello: 1 }, nodeCrypto), (e: { code?: string }) => e.code === 'SELFTEST_UNKNOWN_FILE');
  });

  it('the built-in power-on self test covers every DRBG variant and the accumulator, all passing', () => {
    const cases = powerOnSelfTest(nodeCrypto);
    assert.deepEqual(cases.filter((c) => !c.passed), []);
    const names = cases.map((c) => c.name).join('\n');
    for (const what of ['AES-256', 'AES-128', 'SHA-1', 'SHA-224', 'SHA-256', 'SHA-384', 'SHA-512', 'accumulator']) assert.match(names, new RegExp(what));
  });
});
