import * as fs from 'node:fs';
import type { Command } from 'commander';
import { fromHex, toHex } from '../bytes/hex.js';
import { Efuse, type EfuseValue } from '../boot/efuse.js';
import { EfuseError } from '../boot/efuse-error.js';
import { EFUSE_CHIPS, type EfuseChip } from '../boot/efuse-fields.js';
import type { BurnKeyPurpose } from '../boot/efuse-key-purpose.js';
import { loadEfuseFile, saveEfuseFile } from '../node/efuse-file.js';
import { readBinaryFile } from './_files.js';
import { isFileReadError, runAction, usageError } from './_run.js';

interface CommonOptions {
  file: string;
  chip?: string;
  codingScheme?: string;
  json?: boolean;
  doNotConfirm?: boolean;
}

interface BurnKeyCliOptions extends CommonOptions {
  noReadProtect?: boolean;
  noWriteProtect?: boolean;
}

const HELP_AFTER = `
A virtual eFuse set kept in a file, like espefuse's --virt --path-efuse-file: the same sub-command
and field names, the same rules (bits only go 0 -> 1, WR_DIS/RD_DIS protection, empty key blocks,
key purposes, byte reversal of XTS and ESP32 flash keys). The file is created blank on the first
burn (give --chip; --coding-scheme 3/4 for an ESP32 with 192-bit keys), saved atomically with mode
0600 (it holds keys in clear) and checked (CRC32) on every load. A refused burn changes nothing,
prints one line and exits 2, like espefuse. Key bytes are never printed: read-protected fields
show as ?? as in espefuse, and so do readable key blocks (other than secure boot digests) unless
--show-sensitive-info is given.

Examples:
  $ nvsec efuse burn-key BLOCK_KEY0 fe_key.bin XTS_AES_128_KEY --file c3.efuse --chip esp32c3
  $ nvsec efuse burn-key BLOCK_KEY0 fe_key_512.bin XTS_AES_256_KEY --file s3.efuse --chip esp32s3
  $ nvsec efuse burn-key-digest BLOCK_KEY1 key_digest.bin SECURE_BOOT_DIGEST0 --file c3.efuse
  $ nvsec efuse burn-efuse SPI_BOOT_CRYPT_CNT 1 SECURE_BOOT_EN 1 --file c3.efuse
  $ nvsec efuse burn-key flash_encryption fe_key_256.bin --file esp32.efuse --chip esp32
  $ nvsec efuse burn-key-digest key_digest.bin --file esp32.efuse       (ESP32: into BLOCK2)
  $ nvsec efuse summary --file c3.efuse --json
`;

/**
 * Registers `nvsec efuse summary|burn-key|burn-key-digest|burn-efuse|read-protect-efuse|write-protect-efuse`,
 * espefuse's sub-commands over an eFuse file (`--file F`).
 *
 * @throws never at registration; refused burns exit 2 with one line, other failures 1
 * @example
 * registerEfuseCommands(program); // nvsec efuse summary --file device.efuse
 */
export function registerEfuseCommands(program: Command): void {
  const efuse = program
    .command('efuse')
    .description('Virtual eFuses in a file (espefuse --virt compatible names and rules): summary, burn keys, digests and fields')
    .addHelpText('after', HELP_AFTER);
  const common = (cmd: Command) =>
    cmd
      .requiredOption('--file <path>', 'the eFuse file (like espefuse --path-efuse-file)')
      .option('--chip <chip>', `chip of a new file: ${Object.keys(EFUSE_CHIPS).join(', ')} (checked against an existing file)`)
      .option('--coding-scheme <scheme>', "ESP32 only, for a new file: 'none' (default) or '3/4'")
      .option('--do-not-confirm', 'accepted for espefuse compatibility (a virtual file needs no confirmation)')
      .option('--json', 'print the result as one JSON object');

  common(
    efuse
      .command('summary')
      .description('List every field with its value and R/W protection (read-protected values and keys show as ??)')
      .option('--show-sensitive-info', 'also print readable key blocks (never read-protected ones: software cannot read them)'),
  ).action(
    runAction((opts: CommonOptions & { showSensitiveInfo?: boolean }, cmd: Command) => {
      const model = open(opts, cmd, false);
      try {
        printSummary(model, opts.json === true, opts.showSensitiveInfo === true);
      } finally {
        model.destroy();
      }
    }),
  );

  common(
    efuse
      .command('burn-key')
      .description('Burn keys into empty key blocks: BLOCK KEYFILE [PURPOSE] … (PURPOSE on C3/S3 only)')
      .argument('<args...>', 'C3/S3: BLOCK_KEYn KEYFILE PURPOSE [...]; ESP32: flash_encryption|secure_boot_v1|BLOCK3 KEYFILE [...]')
      .option('--no-read-protect', 'C3/S3: leave XTS/HMAC keys readable by software')
      .option('--no-write-protect', 'C3/S3: leave key blocks burnable (their purposes are locked anyway, as espefuse does)')
      .option('--no-protect-key', 'ESP32: leave the key readable and burnable (espefuse esp32 flag)'),
  ).action(
    runAction((args: string[], opts: BurnKeyCliOptions, cmd: Command) => {
      mutate(opts, cmd, (model) => {
        const step = model.chip === 'esp32' ? 2 : 3;
        if (args.length % step !== 0) usageError(cmd, model.chip === 'esp32' ? 'expected BLOCK KEYFILE pairs' : 'expected BLOCK KEYFILE PURPOSE triples');
        const done: string[] = [];
        for (let i = 0; i < args.length; i += step) {
          const key = readBinaryFile(args[i + 1]!, 'key file');
          try {
            const purpose = step === 3 ? (args[i + 2] as BurnKeyPurpose) : undefined;
            // commander turns --no-read-protect into readProtect: false
            const o = opts as unknown as { readProtect?: boolean; writeProtect?: boolean; protectKey?: boolean };
            const all = o.protectKey === false;
            model.burnKey(args[i]!, key, purpose, { noReadProtect: all || o.readProtect === false, noWriteProtect: all || o.writeProtect === false });
          } finally {
            key.fill(0);
          }
          done.push(step === 3 ? `${args[i]} (${args[i + 2]})` : args[i]!);
        }
        return { burned: done };
      });
    }, REJECTS),
  );

  common(
    efuse
      .command('burn-key-digest')
      .description('Burn a Secure Boot V2 public-key digest (32-byte file from espsecure digest-sbv2-public-key)')
      .argument('<args...>', 'C3/S3: BLOCK_KEYn DIGESTFILE SECURE_BOOT_DIGESTn; ESP32: DIGESTFILE (goes to BLOCK2)')
      .option('--no-write-protect', 'leave the digest block burnable')
      .option('--no-protect-key', 'ESP32: same as --no-write-protect (espefuse esp32 flag)'),
  ).action(
    runAction((args: string[], opts: BurnKeyCliOptions, cmd: Command) => {
      mutate(opts, cmd, (model) => {
        const o = opts as unknown as { writeProtect?: boolean; protectKey?: boolean };
        const noWriteProtect = o.writeProtect === false || o.protectKey === false;
        if (model.chip === 'esp32') {
          if (args.length !== 1) usageError(cmd, 'on the ESP32 give one DIGESTFILE (it goes to BLOCK2)');
          model.burnKeyDigest(readBinaryFile(args[0]!, 'digest file'), undefined, undefined, { noWriteProtect });
          return { burned: ['BLOCK2'] };
        }
        if (args.length !== 3) usageError(cmd, 'expected BLOCK_KEYn DIGESTFILE SECURE_BOOT_DIGESTn');
        model.burnKeyDigest(readBinaryFile(args[1]!, 'digest file'), args[0]!, args[2] as 'SECURE_BOOT_DIGEST0', { noWriteProtect });
        return { burned: [`${args[0]} (${args[2]})`] };
      });
    }, REJECTS),
  );

  common(
    efuse
      .command('burn-efuse')
      .description('Burn fields: NAME VALUE [NAME VALUE …]; numbers as decimal, 0x or 0b, byte fields as hex')
      .argument('<args...>', 'NAME VALUE pairs'),
  ).action(
    runAction((args: string[], opts: CommonOptions, cmd: Command) => {
      mutate(opts, cmd, (model) => {
        if (args.length % 2 !== 0) usageError(cmd, 'expected NAME VALUE pairs');
        for (let i = 0; i < args.length; i += 2) model.burn(args[i]!, parseValue(model, cmd, args[i]!, args[i + 1]!));
        return { burned: args.filter((_, i) => i % 2 === 0) };
      });
    }, REJECTS),
  );

  for (const [name, what] of [
    ['read-protect-efuse', 'Read-protect fields (burn their RD_DIS bits): software then reads zeros'],
    ['write-protect-efuse', 'Write-protect fields (burn their WR_DIS bits)'],
  ] as const) {
    common(efuse.command(name).description(what).argument('<names...>', 'field names')).action(
      runAction((names: string[], opts: CommonOptions, cmd: Command) => {
        mutate(opts, cmd, (model) => {
          for (const n of names) if (name === 'read-protect-efuse') model.readProtect(n);
          else model.writeProtect(n);
          return { protected: names };
        });
      }, REJECTS),
    );
  }
}



/** Loads the file (or, when `create`, a blank model of --chip when it is missing), checking --chip. */
function open(opts: CommonOptions, cmd: Command, create: boolean): Efuse {
  const chip = opts.chip;
  if (chip !== undefined && !Object.hasOwn(EFUSE_CHIPS, chip)) usageError(cmd, `--chip must be one of ${Object.keys(EFUSE_CHIPS).join(', ')}, got "${chip}"`);
  if (create && !fs.existsSync(opts.file)) {
    if (chip === undefined) usageError(cmd, `"${opts.file}" does not exist: give --chip to create a blank eFuse file`);
    const scheme = opts.codingScheme ?? 'none';
    if (scheme !== 'none' && scheme !== '3/4') usageError(cmd, `--coding-scheme must be 'none' or '3/4', got "${scheme}"`);
    return Efuse.create(chip as EfuseChip, { codingScheme: scheme });
  }
  const model = loadEfuseFile(opts.file);
  if (chip !== undefined && model.chip !== chip) {
    model.destroy();
    usageError(cmd, `"${opts.file}" holds ${model.chip} eFuses, not ${chip}`);
  }
  if (opts.codingScheme !== undefined) console.error('nvsec: warning: --coding-scheme only applies when a new file is created; ignored');
  return model;
}

/** Refused input exits 2 like espefuse: a rule the eFuses enforce, a value of the wrong size, a missing file. */
const REJECTS = { rejects: (e: unknown) => e instanceof EfuseError || e instanceof RangeError || e instanceof TypeError || isFileReadError(e) };

/** Load (or create), apply, save atomically; a refused burn saves nothing (and exits 2, see REJECTS). */
function mutate(opts: CommonOptions, cmd: Command, apply: (model: Efuse) => Record<string, unknown>): void {
  let model: Efuse | undefined;
  try {
    model = open(opts, cmd, true);
    const result = apply(model);
    saveEfuseFile(opts.file, model);
    if (opts.json) console.log(JSON.stringify({ file: opts.file, chip: model.chip, ...result }));
    else console.log(`${Object.values(result).flat().join(', ')}: burned into ${opts.file} (${model.chip})`);
  } finally {
    model?.destroy();
  }
}

function parseValue(model: Efuse, cmd: Command, name: string, text: string): EfuseValue {
  const f = model.field(name);
  if (f.type === 'bytes') {
    const hex = text.replace(/^0x/i, '').replace(/[:\s]/g, '');
    if (!/^([0-9a-f]{2})*$/i.test(hex)) usageError(cmd, `${name} takes hex bytes, got "${text}"`);
    return fromHex(hex);
  }
  const t = text.trim().toLowerCase();
  const n = /^0x[0-9a-f]+$/.test(t) ? parseInt(t.slice(2), 16) : /^0b[01]+$/.test(t) ? parseInt(t.slice(2), 2) : /^\d+$/.test(t) ? Number(t) : NaN;
  if (Number.isNaN(n)) usageError(cmd, `${name} takes a number (decimal, 0x… or 0b…), got "${text}"`);
  if (f.type === 'bool' && n > 1) usageError(cmd, `${name} is a single bit: give 0 or 1, got "${text}"`);
  return f.type === 'bool' ? n === 1 : n;
}

/** Whole key-block fields, which may hold a readable key (USER, `--no-read-protect`, ESP32 BLOCKn names). */
const KEY_BLOCK_FIELDS = /^(BLOCK[1-3]|BLOCK_KEY[0-5])$/;

function printSummary(model: Efuse, json: boolean, showSensitive: boolean): void {
  const digestBlocks = new Set(model.secureBootDigests().map((d) => (model.chip === 'esp32' ? 'BLOCK2' : d.block)));
  const hidden = (name: string, value: Uint8Array) => !showSensitive && KEY_BLOCK_FIELDS.test(name) && !digestBlocks.has(name) && value.some((x) => x !== 0);
  const rows = model.summary().map((r) => ({
    name: r.name,
    block: r.block,
    value: r.value instanceof Uint8Array && (r.readProtected || hidden(r.name, r.value)) ? null : r.value instanceof Uint8Array ? toHex(r.value) : r.value,
    readProtected: r.readProtected,
    writeProtected: r.writeProtected,
  }));
  const state = {
    flashEncryption: model.flashEncryptionEnabled(),
    flashEncryptionReleaseMode: model.flashEncryptionReleaseMode(),
    secureBoot: model.secureBootEnabled(),
    secureBootDigests: model.secureBootDigests().map((d) => ({ slot: d.slot, block: d.block, revoked: d.revoked, digest: toHex(d.digest) })),
    secureVersion: model.chip === 'esp32' ? null : model.secureVersion(),
  };
  if (json) {
    console.log(JSON.stringify({ chip: model.chip, fields: rows, state }));
    return;
  }
  const width = Math.max(...rows.map((r) => r.name.length + r.block.length + 3));
  for (const r of rows) {
    const rw = `${r.readProtected ? '-' : 'R'}/${r.writeProtected ? '-' : 'W'}`;
    const value =
      r.value === null
        ? Array(Math.ceil(model.field(r.name).len / 8)).fill('??').join(' ')
        : typeof r.value === 'number' && r.value > 9
          ? `${r.value} (0x${r.value.toString(16)})`
          : String(r.value);
    console.log(`${`${r.name} (${r.block})`.padEnd(width)} = ${value} ${rw}`);
  }
  console.log(
    `\nFlash encryption: ${state.flashEncryption ? 'enabled' : 'disabled'}${state.flashEncryptionReleaseMode ? ' (release mode)' : ''}; ` +
      `secure boot: ${state.secureBoot ? 'enabled' : 'disabled'}; digests: ${state.secureBootDigests.map((d) => `slot ${d.slot}${d.revoked ? ' (revoked)' : ''}`).join(', ') || 'none'}` +
      (state.secureVersion === null ? '' : `; secure version: ${state.secureVersion}`),
  );
}
