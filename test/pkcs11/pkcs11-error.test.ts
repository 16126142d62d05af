import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { NvsecError } from '../../src/errors/nvsec-error.js';
import { ckrDescription } from '../../src/pkcs11/ckr-description.js';
import { CKR } from '../../src/pkcs11/constants.js';
import { Pkcs11Error, pkcs11Error } from '../../src/pkcs11/pkcs11-error.js';

describe('Pkcs11Error', () => {
  it('carries the CKR name as code and the number as ckr, and is an NvsecError', () => {
    const e = new Pkcs11Error(0xa0, 'C_Login: wrong user PIN, 2 tries left');
    assert.ok(e instanceof NvsecError && e instanceof Error);
    assert.equal(e.name, 'Pkcs11Error');
    assert.equal(e.code, 'CKR_PIN_INCORRECT');
    assert.equal(e.ckr, 0xa0);
    assert.equal(e.espErr, undefined);
    assert.equal(e.message, 'C_Login: wrong user PIN, 2 tries left (CKR_PIN_INCORRECT 0xA0)');
  });

  it('keeps the cause it wraps', () => {
    const cause = new Error('disk full');
    assert.equal(new Pkcs11Error(CKR.CKR_DEVICE_ERROR, 'saving the object failed', { cause }).cause, cause);
  });

  it('names vendor-defined and unknown values in its code', () => {
    assert.equal(new Pkcs11Error(0x80000001, 'x').code, 'CKR_VENDOR_DEFINED+0x1');
    assert.equal(new Pkcs11Error(0x999, 'x').code, '0x00000999');
  });

  it('refuses CKR_OK and values that are not CK_ULONGs', () => {
    assert.throws(() => new Pkcs11Error(CKR.CKR_OK, 'fine'), { name: 'RangeError', message: /CKR_OK/ });
    assert.throws(() => new Pkcs11Error(-5, 'x'), RangeError);
    assert.throws(() => new Pkcs11Error(Number.NaN, 'x'), TypeError);
  });
});

describe('pkcs11Error()', () => {
  it('builds the message from the standard description, after the context', () => {
    const e = pkcs11Error(CKR.CKR_OPERATION_ACTIVE, 'C_SignInit');
    assert.equal(e.code, 'CKR_OPERATION_ACTIVE');
    assert.equal(e.ckr, 0x90);
    assert.equal(e.message, 'C_SignInit: another operation is already active in this session; finish or cancel it first (CKR_OPERATION_ACTIVE 0x90)');
    assert.equal(pkcs11Error(CKR.CKR_USER_NOT_LOGGED_IN).message, 'this needs a logged-in user; call C_Login first (CKR_USER_NOT_LOGGED_IN 0x101)');
  });

  it('builds an error for any non-zero CK_ULONG whose code names the value (property)', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 0xffffffff }), (rv) => {
        const e = pkcs11Error(rv, 'C_X');
        assert.equal(e.ckr, rv);
        assert.ok(e.message.startsWith('C_X: '));
        assert.ok(e.message.endsWith(`(${e.code} 0x${rv.toString(16).toUpperCase()})`));
      }),
    );
  });
});

describe('ckrDescription()', () => {
  it('says what happened and what to do for every 2.40 return value, each in its own words', () => {
    const names = Object.keys(CKR).filter((n) => n !== 'CKR_VENDOR_DEFINED');
    const texts = names.map((n) => ckrDescription(CKR[n as keyof typeof CKR]));
    for (const [i, t] of texts.entries()) assert.ok(t.length > 20 && !t.includes('does not define'), `${names[i]}: ${t}`);
    assert.equal(new Set(texts).size, texts.length);
  });

  it('names values the standard leaves to vendors', () => {
    assert.match(ckrDescription(0x80000042), /^the token returned CKR_VENDOR_DEFINED\+0x42, /);
    assert.match(ckrDescription(0x3ff), /^the token returned 0x000003FF, /);
  });
});
