import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { after, describe, it } from 'node:test';
import { runCli } from '../_support/cli.js';
import { NO_VECTORS, vectorDir } from '../_support/vectors.js';

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'nvsec-fwc-'));
after(() => fs.rmSync(tmp, { recursive: true, force: true }));

describe('nvsec flash-encryption check-write', { skip: NO_VECTORS }, () => {
  const v = (f: string): string => path.join(vectorDir('boot', 'flash-enc-xts-aes128-esp32c3'), f);
  const efuse = path.join(tmp, 'c3.efuse');
  const csv = path.join(tmp, 'partitions.csv');
  fs.writeFileSync(csv, 'nvs,data,nvs,0x9000,0x6000,\nphy_init,data,phy,0xf000,0x1000,\nnvs_keys,data,nvs_keys,0x12000,0x1000,\nfactory,app,factory,0x20000,1M,\n');
  const check = (...args: string[]) => runCli(['flash-encryption', 'check-write', '--efuse-file', efuse, '--partition-table', csv, ...args]);

  it('says nothing while flash encryption is off, and warns (exit 3) once it is on', () => {
    assert.equal(runCli(['efuse', 'burn-key', 'BLOCK_KEY0', v('fe_key_xts128_256bit.bin'), 'XTS_AES_128_KEY', '--file', efuse, '--chip', 'esp32c3']).status, 0);
    const off = check('0x12000', v('nvs_keys_plain.bin'));
    assert.equal(off.status, 0, off.stderr);
    assert.equal(off.stderr, '');
    assert.equal(runCli(['efuse', 'burn-efuse', 'SPI_BOOT_CRYPT_CNT', '1', '--file', efuse]).status, 0);
    const on = check('0x12000', v('nvs_keys_plain.bin'));
    assert.equal(on.status, 3);
    assert.match(on.stderr, /nvs_keys_plain\.bin is plaintext .*"nvs_keys" at 0x12000.*ESP_ERR_NVS_CORRUPT_KEY_PART/);
  });

  it('passes the encrypted keys and --encrypt writes; --json lists the warnings', () => {
    assert.equal(check('0x12000', v('nvs_keys_enc_0x12000.bin')).status, 0);
    assert.equal(check('--encrypt', '0x12000', v('nvs_keys_plain.bin')).status, 0);
    const j = check('--json', '0x12000', v('nvs_keys_plain.bin'), '0x20000', v('plain.bin'));
    assert.equal(j.status, 3);
    assert.deepEqual(
      JSON.parse(j.stdout).warnings.map((w: { region: string; code: string }) => [w.region, w.code]),
      [
        ['"nvs_keys"', 'PLAINTEXT_TO_ENCRYPTED_REGION'],
        ['"factory"', 'PLAINTEXT_TO_ENCRYPTED_REGION'],
      ],
    );
  });

  it('rejects odd arguments and unreadable files with exit 2', () => {
    assert.equal(check('0x12000').status, 2);
    assert.equal(check('0x12000', path.join(tmp, 'missing.bin')).status, 2);
  });
});
