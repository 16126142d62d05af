import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parsePartitionCsv, type PartitionEntry } from '../../src/partition-table/index.js';
import { assertPtError } from './_assert.js';

const HINT = '\nPlease check extra_partition_subtypes.inc file in build/config directory';
const row = (e: PartitionEntry) => [e.name, e.type, e.subtype, e.offset, e.size, e.flags.encrypted, e.flags.readonly];

describe('parsePartitionCsv', () => {
  it('skips comments and blank lines, trims fields and treats missing trailing columns as empty', () => {
    const entries = parsePartitionCsv('# header\n\n   \n  nvs ,  data ,  nvs , 0x9000 , 0x6000 \n  # indented comment\nphy, data, phy, 0xf000, 0x1000, , extra, columns\n');
    assert.deepEqual(entries.map(row), [
      ['nvs', 1, 2, 0x9000, 0x6000, false, false],
      ['phy', 1, 1, 0xf000, 0x1000, false, false],
    ]);
    assert.deepEqual(entries.map((e) => e.line), [4, 6]);
  });

  it('reads decimal, 0x hex, 0o and 0b numbers and k/K/m/M suffixes', () => {
    const entries = parsePartitionCsv(
      'a,data,0x40,36864,4k\nb,data,0x41,0xa000,4K\nc,data,0o102,0x10_000,1m\nd,data,0b1000011,0x110000,1M\ne,data,68,0x210000,0x1k\n',
    );
    assert.deepEqual(
      entries.map((e) => [e.subtype, e.offset, e.size]),
      [
        [0x40, 0x9000, 0x1000],
        [0x41, 0xa000, 0x1000],
        [0x42, 0x10000, 0x100000],
        [0x43, 0x110000, 0x100000],
        [0x44, 0x210000, 0x400],
      ],
    );
  });

  it('takes type and subtype keywords in any case, and numbers for custom types', () => {
    const [a, b, c] = parsePartitionCsv('f,APP,Factory,,1M\nk,Data,NVS_KEYS,,4K\nx,0x40,0x7f,,4K\n');
    assert.deepEqual([a!.type, a!.subtype, b!.type, b!.subtype, c!.type, c!.subtype], [0, 0, 1, 4, 0x40, 0x7f]);
  });

  it('knows every subtype keyword of the spec', () => {
    const app = parsePartitionCsv(['factory', 'ota_0', 'ota_15', 'test', 'tee_0', 'tee_1'].map((s, i) => `a${i},app,${s},,64K`).join('\n'));
    assert.deepEqual(app.map((e) => e.subtype), [0x00, 0x10, 0x1f, 0x20, 0x30, 0x31]);
    const data = ['ota', 'phy', 'nvs', 'coredump', 'nvs_keys', 'efuse', 'undefined', 'esphttpd', 'fat', 'spiffs', 'littlefs', 'tee_ota'];
    assert.deepEqual(
      parsePartitionCsv(data.map((s, i) => `d${i},data,${s},,8K`).join('\n')).map((e) => e.subtype),
      [0x00, 0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x80, 0x81, 0x82, 0x83, 0x90],
    );
  });

  it('gives data and custom partitions without subtype the "undefined" subtype 0x06', () => {
    assert.deepEqual(parsePartitionCsv('a,data,,,4K\nb,0x40,,,4K\n').map((e) => e.subtype), [0x06, 0x06]);
  });

  it('places blank offsets after the previous end: data on 4 KiB, app on 64 KiB, the first after the table sector', () => {
    const entries = parsePartitionCsv('a,data,nvs,,0x5000\nb,app,factory,,0x1000\nc,data,phy,,0x800\nd,data,phy,,0x1000\n');
    assert.deepEqual(entries.map((e) => e.offset), [0x9000, 0x10000, 0x11000, 0x12000]);
    const moved = parsePartitionCsv('a,data,nvs,,0x5000\n', { tableOffset: 0xa000 });
    assert.equal(moved[0]!.offset, 0xb000);
  });

  it('turns a negative size -X into "up to absolute address X"', () => {
    const [a, b] = parsePartitionCsv('a,data,nvs,,0x6000\nb,app,factory,0x10000,-0x400000\n');
    assert.equal(a!.size, 0x6000);
    assert.equal(b!.size, 0x400000 - 0x10000);
    assert.equal(parsePartitionCsv('x,data,fat,0x100000,-4M\n')[0]!.size, 0x300000);
  });

  it('reads the flags encrypted and readonly joined with ":"', () => {
    const entries = parsePartitionCsv('a,data,fat,,4K,encrypted\nb,data,fat,,4K,readonly\nc,data,fat,,4K,readonly:encrypted\nd,data,fat,,4K,\n');
    assert.deepEqual(entries.map((e) => [e.flags.encrypted, e.flags.readonly]), [[true, false], [false, true], [true, true], [false, false]]);
  });

  it('expands $VAR and ${VAR} from the env map it is given, never from process.env', () => {
    process.env.NVSEC_PT_TEST_VAR = '0x9000';
    try {
      const [a, b] = parsePartitionCsv('a,data,nvs,$OFF,${SIZE}\nb,data,nvs,$NVSEC_PT_TEST_VAR2,0x3000\n'.replace('NVSEC_PT_TEST_VAR2', 'LATER'), {
        env: { OFF: '0x9000', SIZE: '24K', LATER: '0xf000' },
      });
      assert.deepEqual([a!.offset, a!.size, b!.offset], [0x9000, 0x6000, 0xf000]);
      assertPtError(() => parsePartitionCsv('b,data,nvs,$NVSEC_PT_TEST_VAR,0x3000\n'), 'PT_CSV', `Error at line 1: Invalid field value $NVSEC_PT_TEST_VAR${HINT}`);
    } finally {
      delete process.env.NVSEC_PT_TEST_VAR;
    }
  });

  it('refuses a line that starts with an unknown variable, with the tool\'s message and no line number', () => {
    assertPtError(() => parsePartitionCsv('# ok\n$NAME,data,nvs,,0x3000\n'), 'PT_CSV', "unknown variable 'NAME'");
    // Unknown variables elsewhere are left as text (and then fail as a value, like the tool).
    assertPtError(() => parsePartitionCsv('a,data,nvs,,$SIZE\n'), 'PT_CSV', `Error at line 1: Invalid field value $SIZE${HINT}`);
  });

  it('gives bootloader/primary and partition_table/primary fixed places that do not move the running end', () => {
    const entries = parsePartitionCsv('bootloader,bootloader,primary,N/A,N/A\npartition_table,partition_table,primary,N/A,N/A\nnvs,data,nvs,,0x6000\n', {
      primaryBootloaderOffset: 0x0,
    });
    assert.deepEqual(entries.map((e) => [e.type, e.subtype, e.offset, e.size]), [
      [2, 0, 0x0, 0x8000],
      [3, 0, 0x8000, 0x1000],
      [1, 2, 0x9000, 0x6000],
    ]);
    const rec = parsePartitionCsv('rec,bootloader,recovery,,\n', { primaryBootloaderOffset: 0x2000, recoveryBootloaderOffset: 0x3f0000 });
    assert.deepEqual([rec[0]!.offset, rec[0]!.size], [0x3f0000, 0x6000]);
  });

  it('refuses bootloader entries when the bootloader offsets are not given', () => {
    assertPtError(() => parsePartitionCsv('b,bootloader,primary,,\n'), 'PT_CSV', `Error at line 1: Primary bootloader offset is not provided${HINT}`);
    assertPtError(() => parsePartitionCsv('b,bootloader,recovery,,\n'), 'PT_CSV', `Error at line 1: Recovery bootloader offset is not provided${HINT}`);
  });

  it('refuses an empty type, an app without subtype and an empty size with the tool\'s messages', () => {
    assertPtError(() => parsePartitionCsv('a\n'), 'PT_CSV', `Error at line 1: Field 'type' can't be left empty.${HINT}`);
    assertPtError(() => parsePartitionCsv('\n\na,app,,,1M\n'), 'PT_CSV', `Error at line 3: App partition cannot have an empty subtype${HINT}`);
    assertPtError(() => parsePartitionCsv('a,data,nvs,0x9000\n'), 'PT_CSV', `Error at line 1: Size field can't be empty${HINT}`);
  });

  it('refuses unknown keywords, listing the known ones in the tool\'s order', () => {
    assertPtError(() => parsePartitionCsv('a,dta,nvs,,4K\n'), 'PT_CSV', `Error at line 1: Value 'dta' is not valid. Known keywords: bootloader, partition_table, app, data${HINT}`);
    assertPtError(
      () => parsePartitionCsv('a,data,nvskeys,,4K\n'),
      'PT_CSV',
      `Error at line 1: Value 'nvskeys' is not valid. Known keywords: ota, phy, nvs, coredump, nvs_keys, efuse, undefined, esphttpd, fat, spiffs, littlefs, tee_ota${HINT}`,
    );
    assertPtError(() => parsePartitionCsv('a,0x40,calib,,4K\n'), 'PT_CSV', `Error at line 1: Invalid field value calib${HINT}`);
    assertPtError(() => parsePartitionCsv('a,data,nvs,0x9000,12Q\n'), 'PT_CSV', `Error at line 1: Invalid field value 12Q${HINT}`);
    assertPtError(() => parsePartitionCsv('a,data,nvs,010,4K\n'), 'PT_CSV', `Error at line 1: Invalid field value 010${HINT}`);
  });

  it('refuses unknown flags, case-sensitively and without trimming around ":"', () => {
    assertPtError(() => parsePartitionCsv('a,data,fat,,4K,Encrypted\n'), 'PT_CSV', `Error at line 1: CSV flag column contains unknown flag 'Encrypted'${HINT}`);
    assertPtError(() => parsePartitionCsv('a,data,fat,,4K,encrypted: readonly\n'), 'PT_CSV', `Error at line 1: CSV flag column contains unknown flag ' readonly'${HINT}`);
  });

  it('refuses explicit offsets that overlap the table sector or the previous partition', () => {
    assertPtError(
      () => parsePartitionCsv('a,data,nvs,0x8000,0x6000\n'),
      'PT_CSV_OVERLAP',
      'CSV Error at line 1: Partitions overlap. Partition sets offset 0x8000. But partition table occupies the whole sector 0x8000. Use a free offset 0x9000 or higher.',
    );
    assertPtError(
      () => parsePartitionCsv('a,data,nvs,,0x6000\n# c\nb,data,phy,0xe000,0x1000\n'),
      'PT_CSV_OVERLAP',
      'CSV Error at line 3: Partitions overlap. Partition sets offset 0xe000. Previous partition ends 0xf000',
    );
  });

  it('rejects a non-string argument with a TypeError', () => {
    assert.throws(() => parsePartitionCsv(new Uint8Array(3) as unknown as string), TypeError);
  });
});
