import * as fs from 'node:fs';
import * as path from 'node:path';
import type { Command } from 'commander';
import { NvsecError } from '../errors/nvsec-error.js';
import { writeFileAtomic } from '../node/atomic-file.js';
import { nodeCrypto } from '../node/node-crypto.js';
import { NvsEntryCipher } from '../nvs/crypto/entry-cipher.js';
import { decryptNvsImage, encryptNvsImage, selectCipherEntries } from '../nvs/crypto/image-cipher.js';
import { ENTRY_SIZE } from '../nvs/format/constants.js';
import { checkPartitionSize, type GenerateResult } from '../nvs/generator/generate.js';
import { formatVersionOption, generateFromCsvFiles, outputPath, parseSize, readKeysFile } from './_nvs-args.js';
import { runAction, usageError } from './_run.js';
import {
  addKeyProtectOptions,
  type KeygenPlan,
  type KeyProtectOptions,
  type MadeKeys,
  makeKeys,
  planKeygen,
  removeFiles,
  writeKeyFiles,
  zeroizeKeys,
} from './nvs-generate-key.js';

interface EncryptOptions extends KeyProtectOptions {
  version: string;
  keygen?: boolean;
  keyfile?: string;
  inputkey?: string;
  outdir?: string;
  json?: boolean;
}

const HELP_AFTER = `
Arguments and options are those of esp-idf-nvs-partition-gen 0.2.0 "encrypt": one or more CSV
files (see "nvsec nvs generate --help" for the CSV format), the output file (.bin; relative paths
go under --outdir) and the partition size. The image is the one "generate" makes with every
written entry encrypted with XTS-AES-256 (ESP-IDF NVS encryption), byte-identical to the tool.

Keys, one of:
  --inputkey KEYS.bin   an nvs_keys partition image (from "generate-key" or an earlier --keygen).
                        It must be valid: an erased key file (ESP_ERR_NVS_KEYS_NOT_INITIALIZED),
                        a bad CRC (ESP_ERR_NVS_CORRUPT_KEY_PART) or equal halves are refused.
  --keygen              new keys from the OS cryptographic random generator, written (mode 0600,
                        never over an existing file) to <outdir>/keys/<--keyfile>, default
                        keys-<MM-DD_HH-MM>.bin. With --key_protect_hmac the keys are derived from
                        an HMAC key instead (--kp_hmac_inputkey FILE, or --kp_hmac_keygen to make
                        one), as ESP-IDF's HMAC scheme derives them on the chip.

Safety: the image is built, encrypted and checked (every written entry encrypted, decryption
gives the plain image back) in memory before anything is written; the files are written
atomically. A failed run leaves no image and no new key file. Keys are never printed.

Examples:
  $ nvsec nvs encrypt nvs.csv nvs_encr.bin 0x6000 --inputkey keys/nvs_keys.bin
  $ nvsec nvs encrypt nvs.csv nvs_encr.bin 0x6000 --keygen --keyfile nvs_keys.bin --outdir build
      writes build/nvs_encr.bin and build/keys/nvs_keys.bin (flash it to the nvs_keys partition)
  $ nvsec nvs encrypt nvs.csv nvs_encr.bin 0x6000 --keygen --key_protect_hmac --kp_hmac_inputkey hmac_key.bin
  $ nvsec nvs decrypt nvs_encr.bin build/keys/nvs_keys.bin check.bin     (to verify)
`;

/**
 * Registers `nvs encrypt <input...>`: the esp-idf-nvs-partition-gen `encrypt` command
 * (`INPUT.csv [INPUT2.csv …] OUTPUT.bin SIZE [--version 1|2] (--inputkey KEYS.bin | --keygen
 * [--keyfile NAME]) [--key_protect_hmac (--kp_hmac_inputkey F | --kp_hmac_keygen
 * [--kp_hmac_keyfile NAME])] [--outdir DIR]`, plus `--json`). Like `nvs generate`, it needs the
 * root program to use positional options for its `--version`.
 *
 * @throws never at registration; the action reports errors as one line and exit code 1 (2 for usage)
 * @example
 * registerNvsEncryptCommand(program.command('nvs')); // nvsec nvs encrypt nvs.csv enc.bin 0x6000 --inputkey keys.bin
 */
export function registerNvsEncryptCommand(nvs: Command): void {
  const cmd = nvs
    .command('encrypt')
    .summary('generate an encrypted NVS partition image from CSV (esp-idf-nvs-partition-gen compatible)')
    .description(
      'Generate an XTS-AES-256 encrypted ESP-IDF NVS partition image from CSV files, byte-identical to esp-idf-nvs-partition-gen 0.2.0 "encrypt".',
    )
    .argument('<input...>', 'INPUT.csv [INPUT2.csv …] OUTPUT.bin SIZE')
    .addOption(formatVersionOption())
    .option('--inputkey <file>', 'encrypt with the keys in this nvs_keys partition image (.bin)')
    .option('--keygen', 'generate new keys (OS CSPRNG) and write them to <outdir>/keys/<keyfile>')
    .option('--keyfile <name>', 'with --keygen: key file name (default keys-<MM-DD_HH-MM>.bin; .bin added when missing)');
  addKeyProtectOptions(cmd)
    .option('--outdir <dir>', 'directory for the output (and keys/) files, created if missing (default: current directory)')
    .option('--json', 'print the result (paths and counts, no key bytes) as one JSON object')
    .addHelpText('after', HELP_AFTER)
    .action(
      runAction((args: string[], opts: EncryptOptions, command: Command) => {
        if (args.length < 3) usageError(command, `expected INPUT.csv [INPUT2.csv …] OUTPUT.bin SIZE, got ${args.length} argument(s)`);
        encryptCommand(command, args.slice(0, -2), args[args.length - 2]!, args[args.length - 1]!, opts);
      }),
    );
}

function encryptCommand(cmd: Command, inputs: string[], output: string, sizeArg: string, opts: EncryptOptions): void {
  // Option checks first, then the size (before any input is read, as the tool does).
  if (!opts.keygen && opts.inputkey === undefined) usageError(cmd, 'give the keys: --inputkey KEYS.bin, or --keygen to generate new ones');
  if (opts.keygen && opts.inputkey !== undefined) usageError(cmd, '--keygen and --inputkey exclude each other: generate new keys, or use a key file');
  if (opts.inputkey !== undefined) {
    const given: Array<[string, unknown]> = [
      ['--key_protect_hmac', opts.key_protect_hmac],
      ['--kp_hmac_inputkey', opts.kp_hmac_inputkey],
      ['--kp_hmac_keygen', opts.kp_hmac_keygen],
      ['--kp_hmac_keyfile', opts.kp_hmac_keyfile],
    ];
    const hmacOption = given.find(([, v]) => v !== undefined)?.[0];
    if (hmacOption) usageError(cmd, `${hmacOption} only applies with --keygen (it makes new keys); with --inputkey the keys come from the file`);
    if (opts.keyfile !== undefined) console.error('nvsec: warning: --inputkey is given, so --keyfile (the name for generated keys) is ignored');
  }
  const size = parseSize(sizeArg);
  checkPartitionSize(size);
  const target = outputPath(opts.outdir, output);
  const plan = opts.keygen ? planKeygen(cmd, opts, opts.outdir) : null;
  const version = opts.version === '1' ? 1 : 2;

  const made: MadeKeys = plan ? makeKeys(plan) : { keys: readKeysFile(opts.inputkey!, '--inputkey'), hmacKey: null };
  let result: GenerateResult | undefined;
  let encrypted: Uint8Array | undefined;
  try {
    result = generateFromCsvFiles(inputs, size, version);
    const cipher = new NvsEntryCipher(nodeCrypto, made.keys);
    try {
      encrypted = encryptNvsImage(result.image, cipher);
      checkEncrypted(result, encrypted, cipher);
    } finally {
      cipher.destroy();
    }
    const created = plan ? writeKeyFiles(plan, made) : [];
    try {
      fs.mkdirSync(path.dirname(target), { recursive: true });
      writeFileAtomic(target, encrypted, { mode: 0o600 });
    } catch (e) {
      removeFiles(created); // no image uses these keys
      throw e;
    }
  } finally {
    zeroizeKeys(made);
    result?.image.fill(0);
  }
  report(target, size, version, result, encrypted.length, plan, opts);
}

/**
 * Refuses to write anything but a fully encrypted image: every entry the generator wrote must be
 * selected and changed, and decrypting must give the plain image back.
 */
function checkEncrypted(result: GenerateResult, encrypted: Uint8Array, cipher: NvsEntryCipher): void {
  const fail = (why: string): never => {
    throw new NvsecError('NVS_ENCRYPT_CHECK_FAILED', `Encryption self-check failed (${why}); nothing was written. Please report this as a bug`);
  };
  const plain = result.image;
  const { offsets } = selectCipherEntries(plain);
  if (offsets.length !== result.entriesUsed) fail(`${offsets.length} entries selected for encryption, ${result.entriesUsed} written`);
  for (const off of offsets) {
    let i = 0;
    while (i < ENTRY_SIZE && plain[off + i] === encrypted[off + i]) i++;
    if (i === ENTRY_SIZE) fail(`the entry at offset 0x${off.toString(16)} is unchanged`);
  }
  const back = decryptNvsImage(encrypted, cipher);
  const same = Buffer.from(back.buffer, back.byteOffset, back.length).equals(plain); // native compare of 1 MiB
  back.fill(0);
  if (!same) fail('decrypting the image does not give the plain image back');
}

function report(
  target: string,
  size: number,
  version: 1 | 2,
  result: GenerateResult,
  bytes: number,
  plan: KeygenPlan | null,
  opts: EncryptOptions,
): void {
  const keyfile = plan ? plan.keyfile : path.resolve(opts.inputkey!);
  if (opts.json) {
    console.log(
      JSON.stringify({
        output: target,
        size,
        bytes,
        version,
        readOnly: result.readOnly,
        pagesUsed: result.pagesUsed,
        pagesTotal: result.pagesTotal,
        entriesUsed: result.entriesUsed,
        entriesEncrypted: result.entriesUsed,
        items: result.items,
        namespaces: result.namespaces,
        encryption: 'XTS-AES-256',
        keySource: plan ? (plan.scheme === 'hmac' ? 'keygen-hmac' : 'keygen') : 'inputkey',
        keyfile,
        hmacInputkey: plan && plan.hmacInputkey !== null ? path.resolve(plan.hmacInputkey) : null,
        hmacKeyfile: plan?.hmacKeyfile ?? null,
      }),
    );
    return;
  }
  if (result.readOnly) {
    console.error(
      'nvsec: note: partitions smaller than 0x3000 must be flagged "readonly" in the partition table; the file holds only the pages used',
    );
  }
  const ns = result.namespaces.length === 0 ? 'no namespaces' : `namespaces: ${result.namespaces.join(', ')}`;
  console.log(
    `Created ${target}: ${bytes} bytes, XTS-AES-256 encrypted (partition 0x${size.toString(16)}, format v${version}), ` +
      `${result.pagesUsed} of ${result.pagesTotal} pages used, ${result.entriesUsed} entries encrypted, ${result.items} items, ${ns}`,
  );
  if (plan) {
    console.log(
      `Created NVS keys ${plan.keyfile} (mode 0600${plan.scheme === 'hmac' ? ', derived from the HMAC key' : ''}): ` +
        'keep it secret; it is the only way to read this image. Flash it to the nvs_keys partition.',
    );
    if (plan.hmacKeyfile !== null) {
      console.log(`Created HMAC key ${plan.hmacKeyfile} (mode 0600): burn it into an eFuse key block (purpose HMAC_UP); keep it secret.`);
    }
  } else {
    console.log(`Keys: ${keyfile}`);
  }
}
