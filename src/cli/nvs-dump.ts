import type { Command } from 'commander';
import { NvsecError } from '../errors/nvsec-error.js';
import { nodeCrypto } from '../node/node-crypto.js';
import { diagnoseNvsDecryption, type NvsDecryptionDiagnosis } from '../nvs/crypto/diagnose.js';
import { NvsEntryCipher } from '../nvs/crypto/entry-cipher.js';
import { deriveNvsKeysFromHmac, type NvsKeys, parseKeysPartition } from '../nvs/crypto/keys-partition.js';
import { type NvsDump, readNvsPartition } from '../nvs/inspect.js';
import { dumpToJson, formatDump } from './_dump-format.js';
import { readBinaryFile } from './_files.js';
import { EXIT, runAction } from './_run.js';

interface DumpOptions {
  json?: boolean;
  mode: 'read-only' | 'read-write';
  strict?: boolean;
  keyfile?: string;
  hmacKey?: string;
}

/** `nvsec nvs dump IMAGE [--keyfile KEYS.bin] [--json]`. */
export function registerNvsDumpCommand(nvs: Command): void {
  nvs
    .command('dump')
    .argument('<image>', 'NVS partition image (.bin), e.g. read back with esptool read_flash')
    .description('Decode an NVS partition image (plain or encrypted): pages, namespaces, values, statistics and every problem found')
    .option('--keyfile <keys.bin>', 'nvs_keys partition image of an encrypted partition (eky, tky, CRC)')
    .option('--hmac-key <key.bin>', '32-byte HMAC key of the HMAC scheme (nvs_sec_provider): the keys are derived from it')
    .option('--json', 'print {"pages", "namespaces", "iteration", "stats", "errors", "fatal"} (and "diagnosis" with keys) as JSON')
    .option('--mode <mode>', "'read-only': a pure reader (default); 'read-write': what nvs_flash_init would see", 'read-only')
    .option('--strict', 'exit with status 3 when any problem is found, not only when the partition is unusable')
    .addHelpText(
      'after',
      `
The image file is never modified: repairs the ESP-IDF runtime would make on load (dropping
entries with a bad CRC, half-written items, orphan blob chunks) are applied to a copy in memory
and listed under "problems".

Encrypted partitions: with --keyfile (or --hmac-key) the entries are decrypted first. When almost
nothing decrypts to a valid entry, the dump stops and says whether the keys are wrong, the image
is plaintext, or it was cut from the wrong flash offset, with the counts per page; the device
would show nothing at all in that case (and a read-write init would erase everything).

Exit status: 0 when the partition is usable (problems are still listed), 1 when it cannot be used
at all (e.g. ESP_ERR_NVS_NEW_VERSION_FOUND, a length that is not a multiple of 4096, wrong keys,
a blank or corrupt keys partition), 3 with --strict when any problem was found.

Examples:
  nvsec nvs dump nvs.bin
  nvsec nvs dump nvs.bin --json | jq '.namespaces.wifi'
  nvsec nvs dump nvs-encrypted.bin --keyfile nvs_keys.bin`,
    )
    .action(
      runAction((image: string, opts: DumpOptions) => {
        if (opts.mode !== 'read-only' && opts.mode !== 'read-write') {
          throw new NvsecError('CLI_BAD_OPTION', `--mode must be read-only or read-write, got "${opts.mode}"`);
        }
        const bytes = readBinaryFile(image, 'image');
        const keys = readKeys(opts);
        try {
          if (keys) {
            const diagnosis = diagnose(bytes, keys);
            if (diagnosis.verdict !== 'ok' && diagnosis.verdict !== 'no-data') {
              if (opts.json) process.stdout.write(`${JSON.stringify({ diagnosis, fatal: 'ESP_ERR_NVS_XTS_DECR_FAILED' }, null, 1)}\n`);
              else process.stdout.write(formatDiagnosis(image, diagnosis));
              throw new NvsecError('NVS_CANNOT_DECRYPT', diagnosis.message, { espErr: 0x1112 });
            }
          }
          const dump = readNvsPartition(bytes, { mode: opts.mode, ...(keys ? { encryption: { keys, crypto: nodeCrypto } } : {}) });
          if (!keys && !dump.fatal && looksEncrypted(dump)) {
            dump.fatal = 'ESP_ERR_INVALID_STATE';
            dump.errors.unshift({
              error: dump.fatal,
              message:
                'No entry of this image passes its CRC, so nothing is readable: it is most likely an encrypted partition. ' +
                'Give its keys with --keyfile (nvs_keys partition image) or --hmac-key',
            });
          }
          if (opts.json) process.stdout.write(`${JSON.stringify(dumpToJson(dump), null, 1)}\n`);
          else process.stdout.write(formatDump(image, bytes.length, dump));
          if (dump.fatal) {
            console.error(`nvsec: error: ${dump.fatal}: ${dump.errors.find((e) => e.error === dump.fatal)?.message ?? 'the partition cannot be used'}`);
            process.exitCode = EXIT.FAILURE;
          } else if (opts.strict && dump.errors.length > 0) {
            process.exitCode = EXIT.PROBLEMS;
          }
        } finally {
          keys?.eky.fill(0);
          keys?.tky.fill(0);
        }
      }),
    );
}

/** The keys given with --keyfile or --hmac-key, validated; null for a plain partition. */
function readKeys(opts: DumpOptions): NvsKeys | null {
  if (opts.keyfile && opts.hmacKey) throw new NvsecError('CLI_BAD_OPTION', 'Give either --keyfile or --hmac-key, not both');
  if (opts.keyfile) return parseKeysPartition(readBinaryFile(opts.keyfile, 'keys partition'));
  if (opts.hmacKey) {
    const hmac = readBinaryFile(opts.hmacKey, 'HMAC key file');
    if (hmac.length !== 32) throw new NvsecError('CLI_BAD_OPTION', `--hmac-key must be a 32-byte file, "${opts.hmacKey}" has ${hmac.length} bytes`);
    try {
      return deriveNvsKeysFromHmac(nodeCrypto, hmac);
    } finally {
      hmac.fill(0);
    }
  }
  return null;
}

function diagnose(image: Uint8Array, keys: NvsKeys): NvsDecryptionDiagnosis {
  const cipher = new NvsEntryCipher(nodeCrypto, keys);
  try {
    return diagnoseNvsDecryption(image, cipher);
  } finally {
    cipher.destroy();
  }
}

/** Nothing readable and many entries failing their CRC: an encrypted image read without keys. */
function looksEncrypted(dump: NvsDump): boolean {
  const crcFailures = dump.errors.filter((e) => /inconsistent \(crc\)/.test(e.message)).length;
  return crcFailures >= 8 && dump.pages.every((p) => p.usedEntries === 0);
}

function formatDiagnosis(file: string, d: NvsDecryptionDiagnosis): string {
  const out = [`${file}: cannot be decrypted with these keys (${d.verdict})`, '', 'page  written  pass CRC after decryption'];
  for (const p of d.pages) out.push(`${String(p.page).padStart(4)}  ${String(p.written).padStart(7)}  ${String(p.passing).padStart(6)}`);
  out.push('', `in all: ${d.passingEntries} of ${d.writtenEntries} written entries pass; ${d.plaintextPassing} pass without decryption`);
  if (d.bestOffset) out.push(`with the offset shifted by ${d.bestOffset.pages} page(s): ${d.bestOffset.passing} pass`);
  return `${out.join('\n')}\n`;
}

