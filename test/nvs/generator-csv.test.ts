import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { CSV_FIELD_LIMIT, parseCsv } from '../../src/nvs/generator/csv.js';
import { NvsGenerateError } from '../../src/nvs/generator/generate-error.js';

const HEADER = 'key,type,encoding,value\n';

/** The rows as [line, key, type, encoding, value] tuples. */
const rows = (text: string) => parseCsv(text).map((r) => [r.line, r.key, r.type, r.encoding, r.value]);

describe('parseCsv()', () => {
  it('reads quoted values with commas and doubled quotes', () => {
    assert.deepEqual(rows(`${HEADER}k,data,string,"a, ""quoted"" value"\n`), [
      [2, 'k', 'data', 'string', 'a, "quoted" value'],
    ]);
  });

  it('reads a quoted value across lines and reports the line where the row starts', () => {
    assert.deepEqual(rows(`${HEADER}k,data,string,"first\nsecond"\nn,data,u8,1\n`), [
      [2, 'k', 'data', 'string', 'first\nsecond'],
      [4, 'n', 'data', 'u8', '1'],
    ]);
  });

  it('reads CRLF and lone CR line ends as newlines, inside quoted values too', () => {
    assert.deepEqual(rows('key,type,encoding,value\r\nk,data,string,"a\r\nb"\r\nr,data,u8,1\rs,data,u8,2'), [
      [2, 'k', 'data', 'string', 'a\nb'],
      [4, 'r', 'data', 'u8', '1'],
      [5, 's', 'data', 'u8', '2'],
    ]);
  });

  it('drops every line that starts with #, even inside a quoted value, and keeps counting lines', () => {
    const text = `# comment before the header\n${HEADER}# a comment\nk,data,string,"one\n# not part of the value\ntwo"\nx,data,u8,#not a comment\n`;
    assert.deepEqual(rows(text), [
      [4, 'k', 'data', 'string', 'one\ntwo'],
      [7, 'x', 'data', 'u8', '#not a comment'],
    ]);
  });

  it('skips blank lines and trims nothing', () => {
    assert.deepEqual(rows(`${HEADER}\n  k ,data,string,  padded  \n\n`), [[3, '  k ', 'data', 'string', '  padded  ']]);
  });

  it('matches columns by header name, ignores extra columns and gives null for missing ones', () => {
    assert.deepEqual(rows('value,key,type,encoding,comment\n5,a,data,u8,five\nns,namespace\n'), [
      [2, 'a', 'data', 'u8', '5'],
      [3, 'namespace', null, null, 'ns'],
    ]);
  });

  it('returns a repeated namespace row each time it appears', () => {
    assert.deepEqual(rows(`${HEADER}a,namespace,,\nb,namespace,,\na,namespace,,\n`), [
      [2, 'a', 'namespace', '', ''],
      [3, 'b', 'namespace', '', ''],
      [4, 'a', 'namespace', '', ''],
    ]);
  });

  it('reads quotes inside unquoted fields literally and keeps text after a closing quote', () => {
    assert.deepEqual(rows(`${HEADER}k,data,string,a"b\nl,data,string,"ab"cd\n`), [
      [2, 'k', 'data', 'string', 'a"b'],
      [3, 'l', 'data', 'string', 'abcd'],
    ]);
  });

  it('keeps the rest of the text when a quote is never closed, like Python', () => {
    assert.deepEqual(rows(`${HEADER}k,data,string,"open\nx,data,u8,1\n`), [[2, 'k', 'data', 'string', 'open\nx,data,u8,1\n']]);
  });

  it('accepts any header when there are no data rows, and rejects a wrong header otherwise', () => {
    assert.deepEqual(rows(''), []);
    assert.deepEqual(rows('name,kind\n'), []);
    assert.throws(
      () => parseCsv('key,type,value\nk,data,1\n'),
      (e: unknown) => e instanceof NvsGenerateError && e.code === 'NVS_CSV_SYNTAX' && e.message.includes('encoding'),
    );
    assert.throws(
      () => parseCsv('\ufeffkey,type,encoding,value\nk,data,u8,1\n', { source: 'nvs.csv' }),
      (e: unknown) => e instanceof NvsGenerateError && e.message.includes('nvs.csv line 1') && e.message.includes('byte-order mark'),
    );
  });

  it('rejects a field longer than Python csv allows', () => {
    assert.equal(parseCsv(`${HEADER}k,data,hex2bin,${'a'.repeat(CSV_FIELD_LIMIT)}\n`)[0]!.value!.length, CSV_FIELD_LIMIT);
    assert.throws(
      () => parseCsv(`${HEADER}k,data,hex2bin,${'a'.repeat(CSV_FIELD_LIMIT + 1)}\n`),
      (e: unknown) => e instanceof NvsGenerateError && e.code === 'NVS_CSV_SYNTAX' && e.message.includes('row 2'),
    );
  });

  it('checks its argument type', () => {
    assert.throws(() => parseCsv(undefined as unknown as string), TypeError);
  });
});
