import * as fs from 'node:fs';
import * as path from 'node:path';
import type { Command } from 'commander';
import { NvsecError } from '../errors/nvsec-error.js';
import { writeFileAtomic } from '../node/atomic-file.js';
import { nodeCrypto } from '../node/node-crypto.js';
import { buildKeysPartition, deriveNvsKeysFromHmac, generateNvsKeys, type NvsKeys } from '../nvs/crypto/keys-partition.js';
import { readBinaryFile } from './_files.js';
import { keyFilePath, resolveOutdir } from './_nvs-args.js';
import { runAction, usageError } from './_run.js';

/** The HMAC key-protection options shared by `generate-key` and `encrypt --keygen`. */
export interface KeyProtectOptions {
  key_protect_hmac?: boolean;
  kp_hmac_keygen?: boolean;
  kp_hmac_keyfile?: string;
  kp_hmac_inputkey?: string;
}

/** A checked request to make NVS keys: where they go and where they come from. */
export interface KeygenPlan {
  /** Absolute path of the keys-partition image to write (`<outdir>/keys/<keyfile>`). */
  keyfile: string;
  /** How the keys are made: from the OS CSPRNG, or derived from an HMAC key read or generated. */
  scheme: 'random' | 'hmac';
  /** With `--kp_hmac_inputkey`: the HMAC key file to read. */
  hmacInputkey: string | null;
  /** With `--kp_hmac_keygen`: where the new HMAC key goes (`<outdir>/keys/<name>`). */
  hmacKeyfile: string | null;
}

/** Keys made for a {@link KeygenPlan}: zeroize them (and the HMAC key) after use. */
export interface MadeKeys {
  keys: NvsKeys;
  /** The HMAC key, when one was generated (it is written next to the keys). */
  hmacKey: Uint8Array | null;
}

/** Length of an eFuse HMAC key. */
const HMAC_KEY_SIZE = 32;

/**
 * Adds the tool's `--key_protect_hmac`, `--kp_hmac_keygen`, `--kp_hmac_keyfile` and
 * `--kp_hmac_inputkey` options to a command.
 *
 * @example
 * addKeyProtectOptions(nvs.command('generate-key'));
 */
export function addKeyProtectOptions(cmd: Command): Command {
  return cmd
    .option('--key_protect_hmac', 'derive the keys from an HMAC key, as ESP-IDF\'s HMAC scheme (nvs_sec_provider) does on the chip')
    .option('--kp_hmac_inputkey <file>', 'with --key_protect_hmac: the 32-byte HMAC key (the one in the eFuse key block)')
    .option('--kp_hmac_keygen', 'with --key_protect_hmac: generate a new HMAC key (OS CSPRNG) and write it beside the keys')
    .option('--kp_hmac_keyfile <name>', 'with --kp_hmac_keygen: name of the HMAC key file (default hmac-<keyfile>)');
}

/**
 * Checks the key-generation options the way the tool combines them (but refusing what it silently
 * ignores) and works out the file names: `<outdir>/keys/<keyfile>`, default
 * `keys-<MM-DD_HH-MM>.bin`, `.bin` added to a name without an extension.
 *
 * @throws {CommanderError} usage errors (exit 2) for options that do not go together
 * @throws {NvsGenerateError} `NVS_BAD_OUTPUT` for a key file name with another extension, or an outdir that is a file
 * @example
 * const plan = planKeygen(cmd, { keyfile: 'keys' }, undefined); // plan.keyfile = <cwd>/keys/keys.bin
 */
export function planKeygen(cmd: Command, opts: KeyProtectOptions & { keyfile?: string }, outdir: string | undefined): KeygenPlan {
  const hmac = opts.key_protect_hmac === true;
  if (!hmac) {
    for (const [name, set] of [
      ['--kp_hmac_inputkey', opts.kp_hmac_inputkey !== undefined],
      ['--kp_hmac_keygen', opts.kp_hmac_keygen === true],
      ['--kp_hmac_keyfile', opts.kp_hmac_keyfile !== undefined],
    ] as const) {
      if (set) usageError(cmd, `${name} only applies with --key_protect_hmac: add it, or leave ${name} out`);
    }
  } else {
    if (opts.kp_hmac_inputkey === undefined && !opts.kp_hmac_keygen) {
      usageError(cmd, '--key_protect_hmac needs the HMAC key: --kp_hmac_inputkey FILE, or --kp_hmac_keygen to make a new one');
    }
    if (opts.kp_hmac_inputkey !== undefined && opts.kp_hmac_keygen) {
      usageError(cmd, '--kp_hmac_inputkey and --kp_hmac_keygen exclude each other: read the HMAC key from a file, or generate one');
    }
    if (opts.kp_hmac_keyfile !== undefined && !opts.kp_hmac_keygen) {
      usageError(cmd, '--kp_hmac_keyfile names the HMAC key file that --kp_hmac_keygen writes: add --kp_hmac_keygen, or leave it out');
    }
  }
  const keysDir = path.join(resolveOutdir(outdir), 'keys');
  const name = opts.keyfile ?? `keys-${timestamp(new Date())}.bin`;
  const keyfile = keyFilePath(keysDir, name, '--keyfile');
  let hmacKeyfile: string | null = null;
  if (hmac && opts.kp_hmac_keygen) {
    const hmacName = opts.kp_hmac_keyfile ?? path.join(path.dirname(name), `hmac-${path.basename(name)}`);
    hmacKeyfile = keyFilePath(keysDir, hmacName, '--kp_hmac_keyfile');
    if (hmacKeyfile === keyfile) usageError(cmd, '--kp_hmac_keyfile must differ from --keyfile');
  }
  return { keyfile, scheme: hmac ? 'hmac' : 'random', hmacInputkey: hmac ? (opts.kp_hmac_inputkey ?? null) : null, hmacKeyfile };
}

/**
 * Makes the keys of a plan: fresh ones from the OS CSPRNG, or derived from the HMAC key (read from
 * `hmacInputkey`, or fresh from the CSPRNG).
 *
 * @throws {NvsecError} `CLI_FILE_READ` when the HMAC key file cannot be read; `NVS_BAD_HMAC_KEY` when it is not 32 bytes
 * @example
 * const { keys, hmacKey } = makeKeys(plan);
 */
export function makeKeys(plan: KeygenPlan): MadeKeys {
  if (plan.scheme === 'random') return { keys: generateNvsKeys(nodeCrypto), hmacKey: null };
  let hmacKey: Uint8Array;
  if (plan.hmacInputkey !== null) {
    const bytes = readBinaryFile(plan.hmacInputkey, 'HMAC key file');
    if (bytes.length !== HMAC_KEY_SIZE) {
      bytes.fill(0);
      throw new NvsecError(
        'NVS_BAD_HMAC_KEY',
        `The HMAC key file "${plan.hmacInputkey}" is ${bytes.length} bytes; it must hold exactly the 32-byte HMAC key (the eFuse key block's content)`,
      );
    }
    hmacKey = bytes.slice();
    bytes.fill(0);
  } else {
    const r = nodeCrypto.randomBytes(HMAC_KEY_SIZE);
    hmacKey = r.slice();
    r.fill(0);
  }
  const keys = deriveNvsKeysFromHmac(nodeCrypto, hmacKey);
  if (plan.hmacKeyfile === null) {
    hmacKey.fill(0);
    return { keys, hmacKey: null };
  }
  return { keys, hmacKey };
}

/**
 * Writes the keys-partition image (and a generated HMAC key) with mode 0600, atomically, never
 * replacing an existing file: a key file may be the only copy of the keys of earlier images.
 *
 * @returns the files written, so that a caller whose next step fails can remove them
 * @throws {NvsecError} `NVS_KEYFILE_EXISTS` when a key file already exists (nothing is written then)
 * @throws {NvsecError} NVS_WEAK_KEY when the two keys are equal
 * @example
 * const written = writeKeyFiles(plan, made);
 */
export function writeKeyFiles(plan: KeygenPlan, made: MadeKeys): string[] {
  const files: Array<[string, Uint8Array]> = [[plan.keyfile, buildKeysPartition(made.keys)]];
  if (plan.hmacKeyfile !== null && made.hmacKey !== null) files.push([plan.hmacKeyfile, made.hmacKey.slice()]);
  const written: string[] = [];
  try {
    for (const [file] of files) {
      if (fs.existsSync(file)) {
        throw new NvsecError(
          'NVS_KEYFILE_EXISTS',
          `The key file "${file}" already exists and is not replaced (it may be the only copy of keys in use): choose another --keyfile or --outdir, or move it away`,
        );
      }
    }
    for (const [file, bytes] of files) {
      fs.mkdirSync(path.dirname(file), { recursive: true });
      writeFileAtomic(file, bytes, { mode: 0o600, exclusive: true });
      written.push(file);
    }
  } catch (e) {
    removeFiles(written);
    throw e;
  } finally {
    for (const [, bytes] of files) bytes.fill(0);
  }
  return written;
}

/** Removes files this run created (best effort: used only while reporting another error). */
export function removeFiles(files: readonly string[]): void {
  for (const f of files) {
    try {
      fs.rmSync(f, { force: true });
    } catch {
      // the original error is the one to report
    }
  }
}

/** Zeroizes keys this run owns. */
export function zeroizeKeys(made: MadeKeys): void {
  made.keys.eky.fill(0);
  made.keys.tky.fill(0);
  made.hmacKey?.fill(0);
}

const HELP_AFTER = `
Writes a 4096-byte NVS keys-partition image (ESP-IDF "nvs_keys" layout: XTS data key eky,
XTS tweak key tky, CRC32, 0xFF) to <outdir>/keys/<keyfile>, as esp-idf-nvs-partition-gen 0.2.0
"generate-key" does. Unlike that tool, the keys come from the operating system's cryptographic
random generator (the tool uses Python's non-cryptographic "random"), key files are written with
mode 0600, and an existing key file is never overwritten. Keys are never printed.

--key_protect_hmac derives eky and tky from a 32-byte HMAC key, as ESP-IDF's HMAC scheme
(nvs_sec_provider, CONFIG_NVS_SEC_KEY_PROTECT_USING_HMAC) does on the chip; the device then needs
no keys partition, only that HMAC key burnt into an eFuse key block (purpose HMAC_UP). The derived
keys file is still written, so that images can be encrypted and decrypted on the host.

Examples:
  $ nvsec nvs generate-key --keyfile nvs_keys.bin
      writes ./keys/nvs_keys.bin; flash it to the nvs_keys partition, then:
  $ nvsec nvs encrypt nvs.csv nvs_encr.bin 0x6000 --inputkey keys/nvs_keys.bin
  $ nvsec nvs generate-key --keyfile k --outdir build --key_protect_hmac --kp_hmac_keygen
      writes build/keys/k.bin and the HMAC key build/keys/hmac-k.bin (burn that one into the eFuse)
  $ nvsec nvs generate-key --key_protect_hmac --kp_hmac_inputkey hmac_key.bin --json
`;

/**
 * Registers `nvs generate-key`: the esp-idf-nvs-partition-gen `generate-key` command
 * (`[--keyfile NAME] [--outdir DIR] [--key_protect_hmac (--kp_hmac_inputkey F | --kp_hmac_keygen
 * [--kp_hmac_keyfile NAME])]`, plus `--json`), with keys from the OS CSPRNG.
 *
 * @throws never at registration; the action reports errors as one line and exit code 1 (2 for usage)
 * @example
 * registerNvsGenerateKeyCommand(program.command('nvs')); // nvsec nvs generate-key --keyfile keys.bin
 */
export function registerNvsGenerateKeyCommand(nvs: Command): void {
  const cmd = nvs
    .command('generate-key')
    .summary('generate an NVS encryption keys partition (esp-idf-nvs-partition-gen compatible)')
    .description('Generate the XTS-AES-256 keys of an encrypted NVS partition as an nvs_keys partition image, from the OS CSPRNG or derived from an HMAC key.')
    .option('--keyfile <name>', 'key file name, written under <outdir>/keys/ (default keys-<MM-DD_HH-MM>.bin; .bin added when missing)');
  addKeyProtectOptions(cmd)
    .option('--outdir <dir>', 'folder whose keys/ sub-folder receives the files, created if missing (default: current directory)')
    .option('--json', 'print the result (paths, no key bytes) as one JSON object')
    .addHelpText('after', HELP_AFTER)
    .action(
      runAction((opts: KeyProtectOptions & { keyfile?: string; outdir?: string; json?: boolean }, command: Command) => {
        const plan = planKeygen(command, opts, opts.outdir);
        const made = makeKeys(plan);
        try {
          writeKeyFiles(plan, made);
        } finally {
          zeroizeKeys(made);
        }
        if (opts.json) {
          console.log(
            JSON.stringify({
              keyfile: plan.keyfile,
              bytes: 4096,
              scheme: plan.scheme,
              hmacInputkey: plan.hmacInputkey === null ? null : path.resolve(plan.hmacInputkey),
              hmacKeyfile: plan.hmacKeyfile,
            }),
          );
          return;
        }
        console.log(`Created NVS keys ${plan.keyfile} (4096 bytes, mode 0600${plan.scheme === 'hmac' ? ', derived from the HMAC key' : ''}): keep it secret.`);
        if (plan.hmacKeyfile !== null) {
          console.log(`Created HMAC key ${plan.hmacKeyfile} (32 bytes, mode 0600): burn it into an eFuse key block (purpose HMAC_UP); keep it secret.`);
        }
      }),
    );
}

/** `MM-DD_HH-MM` in local time, as the tool's default key file name uses. */
function timestamp(d: Date): string {
  const two = (n: number) => String(n).padStart(2, '0');
  return `${two(d.getMonth() + 1)}-${two(d.getDate())}_${two(d.getHours())}-${two(d.getMinutes())}`;
}
