import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { type PartitionEntry, partitionEntryToCsv, partitionTableToCsv } from '../../src/partition-table/index.js';

const e = (type: number, subtype: number, size: number, flags = { encrypted: false, readonly: false }): PartitionEntry => ({
  name: 'x',
  type,
  subtype,
  offset: 0x1a000,
  size,
  flags,
});

describe('partitionEntryToCsv', () => {
  it('prints sizes as M, then K when exact, else hex; offsets in lower-case hex', () => {
    assert.equal(partitionEntryToCsv(e(1, 0x81, 0x200000)), 'x,data,fat,0x1a000,2M,');
    assert.equal(partitionEntryToCsv(e(1, 0x81, 0x1800)), 'x,data,fat,0x1a000,6K,');
    assert.equal(partitionEntryToCsv(e(1, 0x81, 0x1801)), 'x,data,fat,0x1a000,0x1801,');
    assert.equal(partitionEntryToCsv(e(1, 0x81, 0)), 'x,data,fat,0x1a000,0M,');
  });

  it('prints keywords for known types and subtypes and decimals otherwise', () => {
    assert.equal(partitionEntryToCsv(e(0, 0x1f, 0x10000)), 'x,app,ota_15,0x1a000,64K,');
    assert.equal(partitionEntryToCsv(e(0, 0x31, 0x10000)), 'x,app,tee_1,0x1a000,64K,');
    assert.equal(partitionEntryToCsv(e(0, 0x05, 0x10000)), 'x,app,5,0x1a000,64K,');
    assert.equal(partitionEntryToCsv(e(2, 1, 0x1000)), 'x,bootloader,ota,0x1a000,4K,');
    assert.equal(partitionEntryToCsv(e(3, 0, 0x1000)), 'x,partition_table,primary,0x1a000,4K,');
    assert.equal(partitionEntryToCsv(e(1, 0x90, 0x2000)), 'x,data,tee_ota,0x1a000,8K,');
    assert.equal(partitionEntryToCsv(e(0x40, 0x00, 0x1000)), 'x,64,0,0x1a000,4K,');
    assert.equal(partitionEntryToCsv(e(4, 0x02, 0x1000)), 'x,4,2,0x1a000,4K,');
  });

  it('joins the flags with ":" in the order encrypted, readonly', () => {
    assert.equal(partitionEntryToCsv(e(1, 2, 0x1000, { encrypted: true, readonly: true })), 'x,data,nvs,0x1a000,4K,encrypted:readonly');
  });
});

describe('partitionTableToCsv', () => {
  it('writes the two header lines, one row per entry and a final line break', () => {
    assert.equal(
      partitionTableToCsv([e(1, 2, 0x6000)]),
      '# ESP-IDF Partition Table\n# Name, Type, SubType, Offset, Size, Flags\nx,data,nvs,0x1a000,24K,\n',
    );
    assert.equal(partitionTableToCsv([]), '# ESP-IDF Partition Table\n# Name, Type, SubType, Offset, Size, Flags\n');
  });
});
