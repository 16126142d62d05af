import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  parsePartitionCsv,
  type PartitionEntry,
  partitionTableEnd,
  verifyPartitionTable,
  verifyPartitionTableFits,
} from '../../src/partition-table/index.js';
import { assertPtError } from './_assert.js';

const verifyCsv = (csv: string, options: Parameters<typeof verifyPartitionTable>[1] = {}) =>
  verifyPartitionTable(parsePartitionCsv(csv, options?.tableOffset === undefined ? {} : { tableOffset: options.tableOffset }), options);

const entry = (name: string, type: number, subtype: number, offset: number, size: number, readonly = false): PartitionEntry => ({
  name,
  type,
  subtype,
  offset,
  size,
  flags: { encrypted: false, readonly },
});

describe('verifyPartitionTable', () => {
  it('accepts a sound table without warnings', () => {
    assert.deepEqual(verifyCsv('nvs,data,nvs,,0x6000\notadata,data,ota,,0x2000\nfactory,app,factory,,1M\n'), []);
  });

  it('refuses a data offset not aligned to 0x1000', () => {
    assertPtError(() => verifyCsv('a,data,nvs,0x9100,0x6000\n'), 'PT_INVALID', 'Partition a invalid: Offset 0x9100 is not aligned to 0x1000');
  });

  it('refuses an app offset not aligned to 0x10000', () => {
    assertPtError(() => verifyCsv('f,app,factory,0x11000,1M\n'), 'PT_INVALID', 'Partition f invalid: Offset 0x11000 is not aligned to 0x10000');
  });

  it('refuses an app size not a multiple of 0x1000, and of 0x10000 with --secure v1', () => {
    assertPtError(() => verifyCsv('f,app,factory,0x10000,0x1800\n'), 'PT_INVALID', 'Partition f invalid: Size 0x1800 is not aligned to 0x1000');
    assertPtError(() => verifyCsv('f,app,factory,0x10000,0x11000\n', { secure: 'v1' }), 'PT_INVALID', 'Partition f invalid: Size 0x11000 is not aligned to 0x10000');
    assert.deepEqual(verifyCsv('f,app,factory,0x10000,0x11000\n', { secure: 'v2' }), []);
  });

  it('refuses readonly on data/ota and data/coredump', () => {
    assertPtError(
      () => verifyCsv('otadata,data,ota,,0x2000,readonly\n'),
      'PT_INVALID',
      "Partition otadata invalid: 'otadata' partition of type 1 and subtype 0 is always read-write and cannot be read-only",
    );
    assertPtError(
      () => verifyCsv('cd,data,coredump,,64K,readonly\n'),
      'PT_INVALID',
      "Partition cd invalid: 'cd' partition of type 1 and subtype 3 is always read-write and cannot be read-only",
    );
  });

  it('requires data/nvs smaller than 0x3000 to be readonly', () => {
    assertPtError(
      () => verifyCsv('small,data,nvs,,0x2000\n'),
      'PT_INVALID',
      "Partition small invalid: 'small' partition of type 1 and subtype 2 of this size (0x2000) must be flagged as 'readonly' (the size of read/write NVS has to be at least 0x3000)",
    );
    assert.deepEqual(verifyCsv('small,data,nvs,,0x1000,readonly\nbig,data,nvs,,0x3000\n'), []);
  });

  it('refuses duplicate names, listing the rows sorted by name first', () => {
    assertPtError(
      () => verifyCsv('b,data,nvs,,0x3000\na,data,phy,,0x1000\nb,data,fat,,8K\na,data,spiffs,,1M\nc,data,fat,,4K\n'),
      'PT_INVALID',
      'Partition names must be unique',
      ['A list of partitions that have the same name:', 'a,data,phy,0xc000,4K,', 'a,data,spiffs,0xf000,1M,', 'b,data,nvs,0x9000,12K,', 'b,data,fat,0xd000,8K,'],
    );
  });

  it('refuses a partition below table offset + 0x1000', () => {
    assertPtError(() => verifyPartitionTable([entry('a', 1, 2, 0x8000, 0x3000)]), 'PT_INVALID', 'Partition offset 0x8000 is below 0x9000');
    assertPtError(() => verifyPartitionTable([entry('a', 1, 2, 0x9000, 0x3000)], { tableOffset: 0xa000 }), 'PT_INVALID', 'Partition offset 0x9000 is below 0xb000');
  });

  it('lets bootloader/primary and partition_table/primary entries sit below the table', () => {
    const csv = 'bootloader,bootloader,primary,N/A,N/A\npartition_table,partition_table,primary,N/A,N/A\nnvs,data,nvs,,0x6000\n';
    assert.deepEqual(verifyPartitionTable(parsePartitionCsv(csv, { primaryBootloaderOffset: 0x1000 })), []);
  });

  it('refuses overlapping partitions, whatever their order in the table', () => {
    assertPtError(
      () => verifyPartitionTable([entry('b', 1, 0x81, 0x20000, 0x10000), entry('a', 1, 0x81, 0x10000, 0x11000)]),
      'PT_INVALID',
      'Partition at 0x20000 overlaps 0x10000-0x20fff',
    );
  });

  it('allows one otadata of 0x2000 bytes only', () => {
    assertPtError(
      () => verifyCsv('o1,data,ota,,0x2000\no2,data,ota,,0x2000\n'),
      'PT_INVALID',
      'Found multiple otadata partitions. Only one partition can be defined with type="data"(1) and subtype="ota"(0).',
      ['o1,data,ota,0x9000,8K,', 'o2,data,ota,0xb000,8K,'],
    );
    assertPtError(() => verifyCsv('o,data,ota,,0x3000\n'), 'PT_INVALID', 'otadata partition must have size = 0x2000', ['o,data,ota,0x9000,12K,']);
  });

  it('allows one TEE otadata of 0x2000 bytes only', () => {
    assertPtError(
      () => verifyCsv('t1,data,tee_ota,,0x2000\nt2,data,tee_ota,,0x2000\n'),
      'PT_INVALID',
      'Found multiple TEE otadata partitions. Only one partition can be defined with type="data"(1) and subtype="tee_ota"(0x90).',
    );
    assertPtError(() => verifyCsv('t,data,tee_ota,,0x1000\n'), 'PT_INVALID', 'TEE otadata partition must have size = 0x2000');
  });

  it('warns, and goes on, when a name is a keyword of another type or subtype', () => {
    assert.deepEqual(verifyCsv('app,data,nvs,,0x3000\nnvs,data,phy,,0x1000\nfactory,app,factory,,1M\n'), [
      "WARNING: Partition has name 'app' which is a partition type, but does not match this partition's type (0x1). Mistake in partition table?",
      "WARNING: Partition has name 'nvs' which is a partition subtype, but this partition has non-matching type 0x1 and subtype 0x1. Mistake in partition table?",
    ]);
  });
});

describe('verifyPartitionTableFits (--flash-size)', () => {
  const table = parsePartitionCsv('nvs,data,nvs,,0x6000\nfactory,app,factory,,0x100000\nstorage,data,spiffs,0x300000,0x110000\n');

  it('measures the end of the partition with the highest offset', () => {
    assert.equal(partitionTableEnd(table), 0x410000);
    assert.equal(partitionTableEnd([]), 0);
  });

  it('accepts a table that fits and refuses one that does not, with the tool\'s message', () => {
    verifyPartitionTableFits(table, 8 * 1024 * 1024);
    assertPtError(
      () => verifyPartitionTableFits(table, 4 * 1024 * 1024),
      'PT_FLASH_SIZE',
      "Partitions tables occupies 4.1MB of flash (4259840 bytes) which does not fit in configured flash size 4MB. Change the flash size in menuconfig under the 'Serial Flasher Config' menu.",
    );
  });

  it('rounds the megabytes like Python\'s %.1f: exact halves to even', () => {
    // 2.25 MiB and 2.75 MiB are exact in binary: Python prints 2.2 and 2.8 (round half to even).
    const at = (end: number) => [entry('x', 1, 0x81, 0x10000, end - 0x10000)];
    assertPtError(() => verifyPartitionTableFits(at(0x240000), 2 << 20), 'PT_FLASH_SIZE', `Partitions tables occupies 2.2MB of flash (${0x240000} bytes) which does not fit in configured flash size 2MB. Change the flash size in menuconfig under the 'Serial Flasher Config' menu.`);
    assertPtError(() => verifyPartitionTableFits(at(0x2c0000), 2 << 20), 'PT_FLASH_SIZE', `Partitions tables occupies 2.8MB of flash (${0x2c0000} bytes) which does not fit in configured flash size 2MB. Change the flash size in menuconfig under the 'Serial Flasher Config' menu.`);
  });

  it('rejects a flash size that is not a positive integer', () => {
    assert.throws(() => verifyPartitionTableFits(table, 0), RangeError);
    assert.throws(() => verifyPartitionTableFits(table, 1.5), RangeError);
  });
});
