import * as fs from 'node:fs';
import * as path from 'node:path';
import { type Command, Option } from 'commander';
import { FlashEncryptionError } from '../boot/flash-encryption-error.js';
import { pythonInt } from '../bytes/python-int.js';
import { checkFlashWrites, type FlashWrite, type FlashWriteWarning } from '../boot/flash-write-check.js';
import { Esp32FlashCipher } from '../boot/flash-encryption-esp32.js';
import { loadFlashEncryptionKey } from '../boot/flash-encryption-key.js';
import { XtsFlashCipher } from '../boot/flash-encryption-xts.js';
import type { FlashEncryptionScheme } from '../boot/flash-cipher.js';
import { NvsecError } from '../errors/nvsec-error.js';
import { decodePartitionTable, isBinaryPartitionTable } from '../partition-table/binary.js';
import { PARTITION_TABLE_OFFSET } from '../partition-table/constants.js';
import { parsePartitionCsv } from '../partition-table/csv.js';
import { PartitionTableError } from '../partition-table/partition-table-error.js';
import { loadEfuseFile } from '../node/efuse-file.js';
import { writeFileAtomic } from '../node/atomic-file.js';
import { nodeCrypto } from '../node/node-crypto.js';
import { esp32FlashCryptParallel } from '../node/parallel-flash-encryption.js';
import { readBinaryFile } from './_files.js';
import { EXIT, isFileReadError, runAction } from './_run.js';

interface DataOptions {
  keyfile: string;
  output: string;
  address: string;
  flashCryptConf?: string;
  flash_crypt_conf?: string;
  aesXts?: boolean;
  aes_xts?: boolean;
  json?: boolean;
}

interface KeygenOptions {
  keylen: string;
  aesXts?: boolean;
  aes_xts?: boolean;
  force?: boolean;
  json?: boolean;
}

const DATA_HELP = (verb: 'encrypt' | 'decrypt') => `
Options and results are those of espsecure 5.3.1 "${verb}-flash-data" (byte-identical output).
The scheme follows the key and --aes-xts:
  ESP32 (no --aes-xts)  AES-256 with a key tweak per 32-byte block, set by the FLASH_CRYPT_CONFIG
                        eFuse (--flash-crypt-conf, default 0xF as the bootloader burns it).
                        Key file: 32 bytes, or 24 bytes (3/4 coding scheme, extended as the chip does).
  --aes-xts             XTS-AES of the ESP32-S2/S3/C2/C3/C5/C6/H2/P4, 128-byte data units.
                        Key file: 32 bytes = XTS-AES-128, 64 bytes = XTS-AES-256 (S2/S3/P4),
                        16 bytes = ESP32-C2 mode (the key is SHA-256 of the file).
--address is where the data sits in flash (the partition offset): the ciphertext depends on it.
It and the data length must be multiples of 16. Numbers take Python's forms: 0x10000, 65536.

Safer than the tool: a partial last block is refused (espsecure pads it with random bytes),
FLASH_CRYPT_CONFIG must be 0x0..0xF, the output is written atomically (never a torn file),
and a bad key, address or length exits with status 2 and one line, as the tool does.

Examples:
  $ nvsec flash-encryption ${verb}-flash-data --keyfile key.bin --address 0x10000 --output out.bin in.bin
  $ nvsec flash-encryption ${verb}-flash-data --aes-xts --keyfile key.bin --address 0x10000 --output out.bin in.bin
  $ nvsec flash-encryption ${verb}-flash-data -k key.bin -a 0x1a0000 --flash-crypt-conf 0x3 -o out.bin in.bin --json
`;

const KEYGEN_HELP = `
Writes a random flash-encryption key (OS CSPRNG) like espsecure 5.3.1
"generate-flash-encryption-key", with mode 0600, atomically. An existing file is not replaced
unless --force is given (a key file may be the only copy of the key of devices in the field).

--keylen (bits): 256 (default) = ESP32 AES-256 or XTS-AES-128; 512 = XTS-AES-256 (S2/S3/P4);
192 = ESP32 with the 3/4 coding scheme; 128 = ESP32-C2 (the key is SHA-256 of it).
With --aes-xts, 192 is refused (XTS keys are 128, 256 or 512 bits).

Burn it with espefuse (burn-key flash_encryption key.bin, or burn-key BLOCK_KEYn key.bin
XTS_AES_128_KEY); espefuse reverses the bytes as the chip expects. Keep the file secret.

Examples:
  $ nvsec flash-encryption generate-flash-encryption-key key.bin
  $ nvsec flash-encryption generate-flash-encryption-key --keylen 512 --aes-xts key512.bin
`;

const GROUP_HELP = `
Examples:
  $ nvsec flash-encryption generate-flash-encryption-key key.bin
  $ nvsec flash-encryption encrypt-flash-data --aes-xts -k key.bin -a 0x10000 -o app-enc.bin app.bin
  $ nvsec flash-encryption decrypt-flash-data --aes-xts -k key.bin -a 0x10000 -o app.bin app-enc.bin
  $ nvsec flash-encryption check-write --efuse-file device.efuse --partition-table partitions.csv 0x12000 nvs_keys.bin
`;

/**
 * Registers `nvsec flash-encryption` with espsecure's flash-encryption sub-commands:
 * `encrypt-flash-data`, `decrypt-flash-data` (`--keyfile/-k`, `--address/-a`, `--output/-o`,
 * `--flash-crypt-conf`, `--aes-xts/-x`, the old underscore spellings too) and
 * `generate-flash-encryption-key [--keylen N] KEYFILE`, plus `--json`.
 *
 * @throws never at registration; bad input exits 2 with one line (like espsecure), other failures 1
 * @example
 * registerFlashEncryptionCommands(program); // nvsec flash-encryption encrypt-flash-data …
 */
export function registerFlashEncryptionCommands(program: Command): void {
  const group = program
    .command('flash-encryption')
    .alias('fe')
    .description('ESP32-family flash encryption: encrypt/decrypt flash data and make keys (espsecure 5.3.1 compatible), check writes before flashing')
    .addHelpText('after', GROUP_HELP);
  for (const verb of ['encrypt', 'decrypt'] as const) {
    group
      .command(`${verb}-flash-data`)
      .alias(`${verb}_flash_data`)
      .summary(verb === 'encrypt' ? 'encrypt data for encrypted flash at an address (espsecure compatible)' : 'decrypt data read from encrypted flash at an address (espsecure compatible)')
      .description(
        verb === 'encrypt'
          ? 'Encrypt data as it will sit in encrypted flash at --address, byte-identical to espsecure encrypt-flash-data.'
          : 'Decrypt data read from encrypted flash at --address, byte-identical to espsecure decrypt-flash-data.',
      )
      .argument(verb === 'encrypt' ? '<plaintext-file>' : '<encrypted-file>', verb === 'encrypt' ? 'plaintext input' : 'ciphertext read from flash')
      .requiredOption('-k, --keyfile <file>', 'file with the flash encryption key')
      .requiredOption('-o, --output <file>', `output file for the ${verb === 'encrypt' ? 'encrypted' : 'plaintext'} data`)
      .requiredOption('-a, --address <address>', 'address in flash of the data (partition offset), a multiple of 16')
      .option('--flash-crypt-conf <value>', 'ESP32 only: FLASH_CRYPT_CONFIG eFuse value 0x0..0xF (default 0xF)')
      .option('-x, --aes-xts', 'XTS-AES (every chip but the ESP32)')
      .addOption(new Option('--flash_crypt_conf <value>').hideHelp())
      .addOption(new Option('--aes_xts').hideHelp())
      .option('--json', 'print a summary (no key bytes) as one JSON object')
      .addHelpText('after', DATA_HELP(verb))
      .action(
        runAction((input: string, opts: DataOptions, cmd: Command) => dataCommand(cmd, verb, input, opts), REJECTS),
      );
  }
  group
    .command('generate-flash-encryption-key')
    .alias('generate_flash_encryption_key')
    .summary('write a random flash encryption key (mode 0600, espsecure compatible)')
    .description('Generate a flash encryption key from the OS cryptographic random generator, like espsecure generate-flash-encryption-key.')
    .argument('<key-file>', 'where to write the key')
    .option('-l, --keylen <bits>', 'key length in bits: 128, 192, 256 or 512', '256')
    .option('-x, --aes-xts', 'check the length for XTS-AES (128, 256 or 512)')
    .addOption(new Option('--aes_xts').hideHelp())
    .option('--force', 'replace an existing key file (atomically)')
    .option('--json', 'print a summary (no key bytes) as one JSON object')
    .addHelpText('after', KEYGEN_HELP)
    .action(runAction((file: string, opts: KeygenOptions, cmd: Command) => keygenCommand(cmd, file, opts), REJECTS));
  group
    .command('check-write')
    .summary('before flashing: warn when plaintext would land in a flash-encrypted partition')
    .description(
      'Check esptool write-flash ADDRESS FILE pairs against a device\'s eFuses (nvsec efuse file) and partition table: with flash encryption on, plaintext written to an encrypted partition (nvs_keys, apps, otadata, the bootloader, the partition table, partitions flagged encrypted) decrypts to garbage on the device.',
    )
    .argument('<address-file...>', 'ADDRESS FILE pairs, as given to esptool write-flash')
    .requiredOption('--efuse-file <file>', 'the device\'s eFuses (see "nvsec efuse"): is flash encryption on?')
    .requiredOption('--partition-table <file>', 'the partition table, CSV or binary')
    .option('--offset <address>', 'partition table offset (default 0x8000)')
    .option('--encrypt', 'the files are written with esptool write-flash --encrypt')
    .option('--json', 'print the warnings as one JSON object')
    .addHelpText('after', CHECK_WRITE_HELP)
    .action(runAction((pairs: string[], opts: CheckWriteOptions) => checkWriteCommand(pairs, opts), REJECTS));
}

interface CheckWriteOptions {
  efuseFile: string;
  partitionTable: string;
  offset?: string;
  encrypt?: boolean;
  json?: boolean;
}

const CHECK_WRITE_HELP = `
Exit status: 0 nothing to report, 3 warnings (one line each on stderr), 2 bad input.
Data already encrypted (encrypt-flash-data output) and erased (all-0xFF) data pass. Plaintext is
recognised by content: an app image header, a partition table, an nvs_keys partition whose CRC
checks out, an otadata entry; for partitions flagged "encrypted" the data cannot be told apart,
so they are reported as "may be plaintext".

Example (before esptool write-flash 0x9000 nvs.bin 0x12000 nvs_keys.bin):
  $ nvsec flash-encryption check-write --efuse-file device.efuse --partition-table partitions.csv \\
      0x9000 nvs.bin 0x12000 nvs_keys.bin
`;

function checkWriteCommand(pairs: string[], opts: CheckWriteOptions): void {
  if (pairs.length % 2 !== 0) throw new UsageError(`expected ADDRESS FILE pairs, got ${pairs.length} argument(s)`);
  const tableOffset = opts.offset === undefined ? PARTITION_TABLE_OFFSET : parseAnyInt(opts.offset, '--offset');
  const table = readBinaryFile(opts.partitionTable, 'partition table');
  const partitions = isBinaryPartitionTable(table)
    ? decodePartitionTable(table, nodeCrypto).entries
    : parsePartitionCsv(new TextDecoder().decode(table), { tableOffset });
  const writes: FlashWrite[] = [];
  for (let i = 0; i < pairs.length; i += 2) {
    writes.push({ address: parseAnyInt(pairs[i]!, 'ADDRESS'), data: readBinaryFile(pairs[i + 1]!, 'file to flash'), encrypt: opts.encrypt === true, name: pairs[i + 1]! });
  }
  const efuse = loadEfuseFile(opts.efuseFile);
  let warnings: FlashWriteWarning[];
  try {
    warnings = checkFlashWrites(efuse, { partitions, tableOffset }, writes);
  } finally {
    efuse.destroy();
  }
  if (opts.json) console.log(JSON.stringify({ warnings }));
  else for (const w of warnings) console.error(`nvsec: warning: ${w.message}`);
  if (warnings.length > 0) process.exitCode = EXIT.PROBLEMS;
}

/** espsecure exits 2 on every rejection of its input (FatalError, click's bad files): so do we. */
const REJECTS = {
  rejects: (e: unknown) => e instanceof FlashEncryptionError || e instanceof PartitionTableError || e instanceof UsageError || isFileReadError(e),
};

/** A rejected option value (exit 2). */
class UsageError extends NvsecError {
  constructor(message: string) {
    super('CLI_USAGE', message);
  }
}

/**
 * A number the way esptool's AnyIntType reads it: Python `int(x, 0)` (decimal without leading
 * zeros, or 0x/0o/0b, underscores between digits).
 */
function parseAnyInt(text: string, option: string): number {
  const value = pythonInt(text);
  if (value === null) throw new UsageError(`${option} "${text}" is not a number: give it in decimal (65536) or hex (0x10000)`);
  if (value > BigInt(Number.MAX_SAFE_INTEGER) || value < -BigInt(Number.MAX_SAFE_INTEGER)) throw new UsageError(`${option} ${text} is out of range`);
  return Number(value);
}


/** espsecure's check that an output does not overwrite an input. */
function notSameFile(input: string, output: string): void {
  const same = path.resolve(input) === path.resolve(output) || (fs.existsSync(input) && fs.existsSync(output) && sameInode(input, output));
  if (same) throw new UsageError(`The input "${input}" and output "${output}" should not be the same! Choose another --output`);
}

function sameInode(a: string, b: string): boolean {
  const sa = fs.statSync(a);
  const sb = fs.statSync(b);
  return sa.ino === sb.ino && sa.dev === sb.dev;
}

async function dataCommand(_cmd: Command, verb: 'encrypt' | 'decrypt', input: string, opts: DataOptions): Promise<void> {
  const aesXts = opts.aesXts === true || opts.aes_xts === true;
  const confText = opts.flashCryptConf ?? opts.flash_crypt_conf;
  notSameFile(opts.keyfile, opts.output);
  notSameFile(input, opts.output);
  const address = parseAnyInt(opts.address, '--address');
  const conf = confText === undefined ? 0xf : parseAnyInt(confText, '--flash-crypt-conf');
  const keyFile = readBinaryFile(opts.keyfile, 'key file');
  let loaded: ReturnType<typeof loadFlashEncryptionKey>;
  try {
    loaded = loadFlashEncryptionKey(nodeCrypto, keyFile, aesXts ? 'xts' : 'esp32');
  } finally {
    keyFile.fill(0);
  }
  const { note, fileBits: keyBits } = loaded;
  const scheme: FlashEncryptionScheme = aesXts ? (loaded.key.length === 32 ? 'xts-aes128' : 'xts-aes256') : 'esp32-aes256';
  let result: Uint8Array;
  try {
    if (!aesXts) new Esp32FlashCipher(nodeCrypto, loaded.key, conf).destroy(); // checks conf before the input is read
    const data = readBinaryFile(input, verb === 'encrypt' ? 'plaintext file' : 'encrypted file');
    if (aesXts) {
      const cipher = new XtsFlashCipher(nodeCrypto, loaded.key);
      try {
        result = verb === 'encrypt' ? cipher.encrypt(data, address) : cipher.decrypt(data, address);
      } finally {
        cipher.destroy();
      }
    } else {
      // One AES key per 32 bytes: large inputs are spread over worker threads.
      result = await esp32FlashCryptParallel(loaded.key, conf, data, address, verb);
    }
    if (verb === 'encrypt') data.fill(0);
  } finally {
    loaded.key.fill(0);
  }
  const warnings: string[] = [];
  if (aesXts && confText !== undefined) warnings.push('--flash-crypt-conf applies to the ESP32 scheme only; it is ignored with --aes-xts');
  if (!aesXts && conf === 0) warnings.push('Setting FLASH_CRYPT_CONF to zero is not recommended (no key tweak: equal blocks give equal ciphertext).');
  try {
    // Ciphertext is safe to share; decrypted flash may hold secrets (nvs_keys), so 0600.
    writeFileAtomic(opts.output, result, { mode: verb === 'encrypt' ? 0o644 : 0o600 });
  } finally {
    if (verb === 'decrypt') result.fill(0);
  }
  for (const w of warnings) console.error(`nvsec: warning: ${w}`);
  if (opts.json) {
    console.log(
      JSON.stringify({
        command: `${verb}-flash-data`,
        input: path.resolve(input),
        output: path.resolve(opts.output),
        address,
        bytes: result.length,
        scheme,
        keyBits,
        flashCryptConf: aesXts ? null : conf,
        warnings,
      }),
    );
    return;
  }
  console.log(note);
  const what = scheme === 'esp32-aes256' ? `ESP32 AES-256, FLASH_CRYPT_CONFIG 0x${conf.toString(16)}` : scheme === 'xts-aes128' ? 'XTS-AES-128' : 'XTS-AES-256';
  console.log(`${verb === 'encrypt' ? 'Encrypted' : 'Decrypted'} ${result.length} bytes at 0x${address.toString(16)} (${what}) to "${opts.output}".`);
}

function keygenCommand(_cmd: Command, file: string, opts: KeygenOptions): void {
  const aesXts = opts.aesXts === true || opts.aes_xts === true;
  const bits = parseAnyInt(opts.keylen, '--keylen');
  if (![128, 192, 256, 512].includes(bits)) {
    throw new UsageError(`--keylen ${opts.keylen} is not a flash-encryption key length: give 128, 192, 256 or 512 (bits)`);
  }
  if (aesXts && bits === 192) {
    throw new UsageError('AES_XTS supports only 128, 256, and 512-bit keys: --keylen 192 is for the ESP32 3/4 coding scheme (leave out --aes-xts)');
  }
  if (!opts.force && fs.existsSync(file)) {
    throw new UsageError(`The key file "${file}" already exists and is not replaced (it may be the only copy of a key in use): choose another name, or add --force`);
  }
  fs.mkdirSync(path.dirname(path.resolve(file)), { recursive: true });
  const key = nodeCrypto.randomBytes(bits / 8);
  try {
    writeFileAtomic(file, key, { mode: 0o600, exclusive: !opts.force });
  } finally {
    key.fill(0);
  }
  if (opts.json) {
    console.log(JSON.stringify({ command: 'generate-flash-encryption-key', keyfile: path.resolve(file), keyBits: bits, mode: '0600' }));
    return;
  }
  console.log(`Writing ${bits} random bits to key file "${file}".`);
  console.log('The key file has mode 0600: keep it secret.');
}
