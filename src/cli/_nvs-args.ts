// Argument handling shared by the esp-idf-nvs-partition-gen compatible commands (generate,
// encrypt, decrypt, generate-key): SIZE, --version, --outdir, output and key file paths, CSV input.
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { Option } from 'commander';
import { NvsecError } from '../errors/nvsec-error.js';
import { nodeCrypto } from '../node/node-crypto.js';
import { type NvsKeys, parseKeysPartition } from '../nvs/crypto/keys-partition.js';
import { generateNvsPartition, type GenerateResult } from '../nvs/generator/generate.js';
import { NvsGenerateError } from '../nvs/generator/generate-error.js';
import { pythonInt } from '../bytes/python-int.js';
import { readBinaryFile } from './_files.js';
import { errorMessage } from '../errors/error-message.js';

/**
 * SIZE the way the tool reads it: Python `int(x, 0)` (decimal without leading zeros, or a
 * 0x/0o/0b prefix, underscores between digits). The generator checks the value itself.
 *
 * @throws {NvsGenerateError} `NVS_BAD_SIZE` when the text is not such a number
 * @example
 * parseSize('0x6000'); // 24576
 * parseSize('24576'); // 24576
 */
export function parseSize(text: string): number {
  const value = pythonInt(text);
  if (value === null) {
    throw new NvsGenerateError('NVS_BAD_SIZE', `Partition size "${text}" is not a number: give it in bytes, decimal (24576) or hex (0x6000)`);
  }
  if (value > BigInt(Number.MAX_SAFE_INTEGER)) {
    throw new NvsGenerateError('NVS_BAD_SIZE', `Partition size ${text} is too large: NVS partitions are at most a few MiB`);
  }
  return Number(value);
}

/** The tool's `--version {1,2}` option (NVS format version), default 2. */
export function formatVersionOption(): Option {
  return new Option('--version <version>', 'NVS format version: 2 = multi-page blobs, 1 = single-page blobs (max 1984 bytes)')
    .choices(['1', '2'])
    .default('2');
}


/**
 * The --outdir folder (default: the current directory), with `~` expanded like Python's
 * os.path.expanduser.
 *
 * @throws {NvsGenerateError} `NVS_BAD_OUTPUT` when it exists and is not a directory
 */
export function resolveOutdir(outdir: string | undefined): string {
  const dir = expandHome(outdir ?? process.cwd());
  if (fs.existsSync(dir) && !fs.statSync(dir).isDirectory()) {
    throw new NvsGenerateError('NVS_BAD_OUTPUT', `--outdir "${dir}" exists and is not a directory: choose another directory`);
  }
  return dir;
}

/**
 * Where an output image goes: `<outdir>/<output>` (an absolute OUTPUT ignores outdir). Checks the
 * .bin extension the tool requires first, then the --outdir folder (see {@link resolveOutdir}).
 *
 * @throws {NvsGenerateError} `NVS_BAD_OUTPUT` when the name does not end in .bin or outdir is a file
 */
export function outputPath(outdir: string | undefined, output: string, what = 'Output file'): string {
  if (path.extname(output) !== '.bin') {
    throw new NvsGenerateError('NVS_BAD_OUTPUT', `${what} "${output}" must have the .bin extension (for example nvs.bin)`);
  }
  return path.resolve(resolveOutdir(outdir), output);
}

/**
 * Where a key file goes, as the tool's `--keyfile`: `<dir>/<name>`, `.bin` added to a name
 * without an extension (an absolute name ignores dir).
 *
 * @throws {NvsGenerateError} `NVS_BAD_OUTPUT` when the name has an extension other than .bin
 */
export function keyFilePath(dir: string, name: string, option: string): string {
  const ext = path.extname(name);
  if (ext === '') return path.resolve(dir, `${name}.bin`);
  if (ext !== '.bin') {
    throw new NvsGenerateError('NVS_BAD_OUTPUT', `${option} "${name}" must have the .bin extension, or none (.bin is then added)`);
  }
  return path.resolve(dir, name);
}

/** Checks that an input file name ends in .bin, as the tool requires for key and image inputs. */
export function requireBinExtension(file: string, what: string): void {
  if (path.extname(file) !== '.bin') {
    throw new NvsGenerateError('NVS_BAD_OUTPUT', `${what} "${file}" must have the .bin extension (esp-idf-nvs-partition-gen requires it too)`);
  }
}

/**
 * Reads a keys-partition image (`--inputkey`, decrypt's KEYS.bin) and validates it as the device
 * does: unlike the tool, which takes the first 64 bytes unchecked, an erased, corrupt or weak key
 * file is refused. The file's bytes are zeroized once parsed.
 *
 * @throws {NvsGenerateError} `NVS_BAD_OUTPUT` when the name does not end in .bin
 * @throws {NvsError} ESP_ERR_NVS_KEYS_NOT_INITIALIZED, ESP_ERR_NVS_CORRUPT_KEY_PART (with the likely
 *   cause), ESP_ERR_INVALID_SIZE; the message starts with the file name
 * @throws {NvsecError} `CLI_FILE_READ`; NVS_WEAK_KEY when the two keys are equal
 */
export function readKeysFile(file: string, what: string): NvsKeys {
  requireBinExtension(file, what);
  const bytes = readBinaryFile(file, what);
  try {
    return parseKeysPartition(bytes);
  } catch (e) {
    if (e instanceof NvsecError) e.message = `${what} "${file}": ${e.message.charAt(0).toLowerCase()}${e.message.slice(1)}`;
    throw e;
  } finally {
    bytes.fill(0);
  }
}

/**
 * Runs the generator on CSV files as `nvs generate` does: read as strict UTF-8, `file` rows
 * resolved against the current directory.
 *
 * @throws {NvsGenerateError} from the generator, naming the CSV file and row
 */
export function generateFromCsvFiles(inputs: string[], size: number, version: 1 | 2): GenerateResult {
  const texts = inputs.map(readCsvText);
  return generateNvsPartition(texts, {
    size,
    version,
    crypto: nodeCrypto,
    readFile: (file) => {
      const b = fs.readFileSync(path.resolve(file));
      return new Uint8Array(b.buffer, b.byteOffset, b.length);
    },
    inputNames: inputs,
  });
}

/** Reads a CSV input as strict UTF-8, like the tool's `open(…, encoding='utf8')`. */
function readCsvText(file: string): string {
  let bytes: Buffer;
  try {
    bytes = fs.readFileSync(file);
  } catch (e) {
    const reason = errorMessage(e);
    throw new NvsGenerateError('NVS_FILE_READ', `Cannot read the CSV file "${file}": ${reason}`, {}, e);
  }
  try {
    return new TextDecoder('utf-8', { fatal: true, ignoreBOM: true }).decode(bytes);
  } catch (e) {
    throw new NvsGenerateError('NVS_CSV_SYNTAX', `The CSV file "${file}" is not valid UTF-8 text: save it as UTF-8`, {}, e);
  }
}

/** `~` and `~/…` expanded like Python's os.path.expanduser. */
function expandHome(dir: string): string {
  if (dir === '~') return os.homedir();
  if (dir.startsWith('~/')) return path.join(os.homedir(), dir.slice(2));
  return dir;
}
