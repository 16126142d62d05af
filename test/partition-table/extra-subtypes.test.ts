import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { nodeCrypto } from '../../src/node/node-crypto.js';
import {
  convertPartitionTable,
  parseExtraSubtypes,
  parsePartitionCsv,
  partitionTableToCsv,
  SUBTYPES,
  subtypeTable,
  verifyPartitionTable,
} from '../../src/partition-table/index.js';
import { assertPtError } from './_assert.js';

describe('--extra-partition-subtypes', () => {
  it('reads TYPE,NAME,HEXVALUE with or without 0x', () => {
    assert.deepEqual(parseExtraSubtypes(['data,my_store,40', ' app , my_app , 0x25 ']), [
      { type: 'data', name: 'my_store', subtype: 0x40 },
      { type: 'app', name: 'my_app', subtype: 0x25 },
    ]);
  });

  it('refuses malformed arguments with a clear message', () => {
    assertPtError(() => parseExtraSubtypes(['data,x']), 'PT_CONFIG', "Error parsing custom subtypes: 'data,x' must be TYPE,NAME,HEXVALUE (e.g. data,my_store,0x40)");
    assertPtError(() => parseExtraSubtypes(['data,x,4g']), 'PT_CONFIG', "Error parsing custom subtypes: value '4g' of 'data,x,4g' is not hexadecimal");
  });

  it('adds keywords after the built-in ones and leaves the frozen table alone', () => {
    const t = subtypeTable([{ type: 'data', name: 'my_store', subtype: 0x40 }]);
    assert.equal(t[1]!['my_store'], 0x40);
    assert.equal(Object.keys(t[1]!).at(-1), 'my_store');
    assert.equal(SUBTYPES[1]!['my_store'], undefined);
  });

  it('refuses an unknown type and a value the type already has, with the tool\'s messages', () => {
    assertPtError(() => subtypeTable([{ type: 'dat', name: 'x', subtype: 0x40 }]), 'PT_CONFIG', 'Error parsing custom subtypes: Invalid partition type');
    assertPtError(() => subtypeTable([{ type: 'data', name: 'x', subtype: 0x82 }]), 'PT_CONFIG', 'Found duplicate value in partition subtype');
  });

  it('lets the CSV use the new keyword and prints it back from the binary', () => {
    const extraSubtypes = parseExtraSubtypes(['data,my_store,40']);
    const entries = parsePartitionCsv('s,data,MY_STORE,,8K\n', { extraSubtypes });
    assert.equal(entries[0]!.subtype, 0x40);
    assert.deepEqual(verifyPartitionTable(entries, { extraSubtypes }), []);
    const bin = convertPartitionTable(new TextEncoder().encode('s,data,my_store,,8K\n'), nodeCrypto, { extraSubtypes }).output;
    const csv = new TextDecoder().decode(convertPartitionTable(bin, nodeCrypto, { extraSubtypes }).output);
    assert.equal(csv.split('\n')[2], 's,data,my_store,0x9000,8K,');
    assert.equal(partitionTableToCsv(entries).split('\n')[2], 's,data,64,0x9000,8K,');
  });

  it('is unknown without the option', () => {
    assertPtError(
      () => parsePartitionCsv('s,data,my_store,,8K\n'),
      'PT_CSV',
      "Error at line 1: Value 'my_store' is not valid. Known keywords: ota, phy, nvs, coredump, nvs_keys, efuse, undefined, esphttpd, fat, spiffs, littlefs, tee_ota\nPlease check extra_partition_subtypes.inc file in build/config directory",
    );
  });
});
