import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { after, describe, it } from 'node:test';
import fc from 'fast-check';
import { derTime } from '../../src/bytes/der.js';

const ascii = (text: string): number[] => [...text].map((c) => c.charCodeAt(0));

describe('derTime(): X.509 Time (RFC 5280 §4.1.2.5)', () => {
  it('writes UTCTime YYMMDDHHMMSSZ for 1950 through 2049', () => {
    assert.deepEqual([...derTime(new Date('2049-12-31T23:59:59Z'))], [0x17, 13, ...ascii('491231235959Z')]);
    assert.deepEqual([...derTime(new Date('1950-01-01T00:00:00Z'))], [0x17, 13, ...ascii('500101000000Z')]);
    assert.deepEqual([...derTime(new Date('2026-06-01T08:05:09Z'))], [0x17, 13, ...ascii('260601080509Z')]);
  });

  it('writes GeneralizedTime YYYYMMDDHHMMSSZ from 2050 and before 1950', () => {
    assert.deepEqual([...derTime(new Date('2050-01-01T00:00:00Z'))], [0x18, 15, ...ascii('20500101000000Z')]);
    assert.deepEqual([...derTime(new Date('9999-12-31T23:59:59Z'))], [0x18, 15, ...ascii('99991231235959Z')]);
    assert.deepEqual([...derTime(new Date('1949-12-31T23:59:59Z'))], [0x18, 15, ...ascii('19491231235959Z')]);
  });

  it('drops milliseconds (rounds down to the second), also before 1970', () => {
    assert.deepEqual([...derTime(new Date('2049-12-31T23:59:59.999Z'))], [0x17, 13, ...ascii('491231235959Z')]);
    assert.deepEqual([...derTime(new Date('1969-12-31T23:59:59.500Z'))], [0x17, 13, ...ascii('691231235959Z')]);
  });

  it('refuses invalid dates and years beyond 9999', () => {
    assert.throws(() => derTime(new Date(Number.NaN)), RangeError);
    assert.throws(() => derTime(new Date('+010000-01-01T00:00:00Z')), RangeError);
    assert.throws(() => derTime('2026-01-01' as unknown as Date), RangeError);
  });

  describe('matches what openssl reads back', () => {
    const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'nvsec-der-time-'));
    after(() => fs.rmSync(tmp, { recursive: true, force: true }));
    it('for random instants between 1950 and 9999 (openssl asn1parse prints the same text)', () => {
      const samples = fc.sample(fc.date({ min: new Date('1950-01-01T00:00:00Z'), max: new Date('9999-12-31T23:59:59Z'), noInvalidDate: true }), 40);
      const ders = samples.map((d) => derTime(d));
      const f = path.join(tmp, 'times.der');
      const body = Buffer.concat(ders.map((d) => Buffer.from(d)));
      fs.writeFileSync(f, Buffer.concat([Buffer.from([0x30, 0x82, body.length >> 8, body.length & 0xff]), body]));
      const lines = execFileSync('openssl', ['asn1parse', '-inform', 'DER', '-in', f], { encoding: 'utf8' }).split('\n').filter((l) => /TIME/.test(l));
      assert.equal(lines.length, samples.length);
      samples.forEach((d, i) => {
        const iso = d.toISOString(); // YYYY-MM-DDTHH:MM:SS.mmmZ
        const digits = `${iso.slice(0, 4)}${iso.slice(5, 7)}${iso.slice(8, 10)}${iso.slice(11, 13)}${iso.slice(14, 16)}${iso.slice(17, 19)}Z`;
        const utc = d.getUTCFullYear() < 2050;
        assert.match(lines[i]!, new RegExp(`${utc ? 'UTCTIME' : 'GENERALIZEDTIME'}\\s+:${utc ? digits.slice(2) : digits}$`));
      });
    });
  });
});
