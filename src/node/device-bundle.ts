import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { Efuse } from '../boot/efuse.js';
import type { EfuseChip } from '../boot/efuse-fields.js';
import { toHex } from '../bytes/hex.js';
import { certificateFacts } from '../device/certificate-facts.js';
import type { DeviceFlashLayout } from '../device/flash-layout.js';
import { NvsecError } from '../errors/nvsec-error.js';
import { syncDir, writeFully } from './_io.js';
import { loadEfuseFile } from './efuse-file.js';

/** File names inside a bundle folder. */
export const DEVICE_BUNDLE_FILES = Object.freeze({
  flash: 'flash.bin',
  efuse: 'efuse.bin',
  efuseSummary: 'efuse.json',
  manifest: 'manifest.json',
});

/** `format` of a bundle manifest. */
export const DEVICE_BUNDLE_FORMAT = 'nvsec-device-bundle';

/** manifest.json of a device bundle: what the device is, never a secret. */
export interface DeviceManifest {
  readonly format: typeof DEVICE_BUNDLE_FORMAT;
  readonly version: 1;
  readonly id: string;
  readonly chip: EfuseChip;
  readonly layout: {
    readonly name: string;
    readonly flashSize: number;
    readonly partitions: readonly { name: string; type: number; subtype: number; offset: number; size: number; encrypted: boolean }[];
  };
  /** flash.bin as the factory wrote it: its SHA-256 (the device changes its flash as it runs: NV seed, token). */
  readonly flash: { readonly file: string; readonly size: number; readonly sha256: string };
  readonly efuse: { readonly file: string; readonly summary: string };
  /** The device certificate: its names, serial and the SHA-256 of its DER (what the registry records as certSha256). */
  readonly certificate: { readonly subject: string; readonly issuer: string; readonly serial: string; readonly sha256: string };
  readonly createdAt: string;
}

/** Options of {@link writeDeviceBundle}. */
export interface WriteDeviceBundleOptions {
  /** The device id: the bundle's folder name (letters, digits, `.`, `_`, `-`). */
  readonly id: string;
  readonly layout: DeviceFlashLayout;
  /** The whole flash image (buildDeviceFlash). */
  readonly flash: Uint8Array;
  /** The device's eFuses (deviceEfuse). */
  readonly efuse: Efuse;
  /** The device certificate (DER), for the manifest's subject, issuer and serial. */
  readonly certificate: Uint8Array;
  /** Clock for `createdAt` (default now). */
  readonly now?: () => Date;
}

const ID = /^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/;
const TMP_MARK = '.tmp-';

/**
 * Writes `DIR/<id>/` atomically: the files go into `DIR/<id>.tmp-<random>/`, each is fsynced, the
 * folder is fsynced, renamed to `DIR/<id>` and `DIR` is fsynced. A crash leaves either no bundle
 * or a complete one (and maybe a `.tmp-` folder, which {@link removeBundleTemps} clears). Files
 * holding secrets (flash.bin: NVS and keys, encrypted with keys the eFuses hold; efuse.bin: the
 * flash encryption key in clear) get mode 0600, the folder 0700; efuse.json (the software view:
 * read-protected keys read as zeros) and manifest.json hold none.
 *
 * @returns the bundle folder
 * @throws {NvsecError} DEVICE_BUNDLE_EXISTS when `DIR/<id>` exists (a bundle is never overwritten)
 * @throws {RangeError} for an id that is not a safe folder name
 * @throws the file system's error, with a message naming the path; nothing is left at `DIR/<id>`
 * @example
 * writeDeviceBundle('out', { id: 'dev-000001', layout, flash, efuse, certificate: certDer });
 */
export function writeDeviceBundle(dir: string, options: WriteDeviceBundleOptions): string {
  return commitDeviceBundles(dir, [stageDeviceBundle(dir, options)])[0]!;
}

/** A bundle written into its temporary folder by {@link stageDeviceBundle}, not yet durable or visible. */
export interface StagedBundle {
  /** Where the bundle goes: `DIR/<id>`. */
  readonly final: string;
  /** Where it is now: `DIR/<id>.tmp-<random>`. */
  readonly tmp: string;
}

/**
 * The first half of {@link writeDeviceBundle}: writes the bundle's files into a new temporary
 * folder beside its place, without syncing them. Stage several bundles, then make them all
 * durable and visible with one {@link commitDeviceBundles}: the disk is synced once per group
 * instead of six times per bundle.
 *
 * @throws as {@link writeDeviceBundle}; nothing is left behind on failure
 * @example
 * const staged = devices.map((d) => stageDeviceBundle('out', d));
 * commitDeviceBundles('out', staged);
 */
export function stageDeviceBundle(dir: string, options: WriteDeviceBundleOptions): StagedBundle {
  const { id, layout, flash, efuse } = options;
  if (typeof id !== 'string' || !ID.test(id)) throw new RangeError(`"id" must be 1..128 letters, digits, ".", "_" or "-" (starting with a letter or digit), got ${JSON.stringify(id)}`);
  if (flash.length !== layout.flashSize) throw new RangeError(`"flash" is ${flash.length} bytes but the layout's flash is ${layout.flashSize}`);
  if (efuse.chip !== layout.chip) throw new RangeError(`The eFuses are ${efuse.chip} but the layout is for ${layout.chip}`);
  const facts = certificateFacts(options.certificate);
  const final = path.join(dir, id);
  if (fs.existsSync(final)) throw new NvsecError('DEVICE_BUNDLE_EXISTS', `A bundle already exists at "${final}": bundles are never overwritten; remove it or choose another id`);
  fs.mkdirSync(dir, { recursive: true });
  const tmp = path.join(dir, `${id}${TMP_MARK}${crypto.randomBytes(6).toString('hex')}`);
  fs.mkdirSync(tmp, { mode: 0o700 });
  try {
    const manifest: DeviceManifest = {
      format: DEVICE_BUNDLE_FORMAT,
      version: 1,
      id,
      chip: layout.chip,
      layout: {
        name: layout.name,
        flashSize: layout.flashSize,
        partitions: layout.entries.map((e) => ({ name: e.name, type: e.type, subtype: e.subtype, offset: e.offset, size: e.size, encrypted: e.flags.encrypted })),
      },
      flash: { file: DEVICE_BUNDLE_FILES.flash, size: flash.length, sha256: crypto.createHash('sha256').update(flash).digest('hex') },
      efuse: { file: DEVICE_BUNDLE_FILES.efuse, summary: DEVICE_BUNDLE_FILES.efuseSummary },
      certificate: { subject: facts.subject, issuer: facts.issuer, serial: facts.serial, sha256: crypto.createHash('sha256').update(options.certificate).digest('hex') },
      createdAt: (options.now?.() ?? new Date()).toISOString(),
    };
    writeNew(path.join(tmp, DEVICE_BUNDLE_FILES.flash), flash, 0o600);
    const image = efuse.toImage();
    try {
      writeNew(path.join(tmp, DEVICE_BUNDLE_FILES.efuse), image, 0o600);
    } finally {
      image.fill(0);
    }
    writeNew(path.join(tmp, DEVICE_BUNDLE_FILES.efuseSummary), json(efuseSummary(efuse)), 0o644);
    writeNew(path.join(tmp, DEVICE_BUNDLE_FILES.manifest), json(manifest), 0o644);
  } catch (e) {
    fs.rmSync(tmp, { recursive: true, force: true });
    throw bundleError(e, final);
  }
  return { final, tmp };
}

/**
 * The second half of {@link writeDeviceBundle}: fsyncs every file and folder of the staged
 * bundles, renames each into place, then fsyncs `dir` once. When it returns, every bundle is
 * complete and on disk: only then may the devices be recorded.
 *
 * @returns the bundle folders, in order
 * @throws the file system's error; the bundles not yet renamed are removed, those renamed are complete
 */
export function commitDeviceBundles(dir: string, staged: readonly StagedBundle[]): string[] {
  let renamed = 0;
  try {
    for (const b of staged) {
      for (const name of Object.values(DEVICE_BUNDLE_FILES)) syncFile(path.join(b.tmp, name));
      syncDir(b.tmp);
    }
    for (const b of staged) {
      fs.renameSync(b.tmp, b.final);
      renamed++;
    }
  } catch (e) {
    removeStaged(staged.slice(renamed));
    throw bundleError(e, staged[renamed]?.final ?? dir);
  }
  syncDir(dir);
  return staged.map((b) => b.final);
}

/** Removes staged bundles that will not be committed (best effort). */
export function removeStaged(staged: readonly StagedBundle[]): void {
  for (const b of staged) fs.rmSync(b.tmp, { recursive: true, force: true });
}

function bundleError(e: unknown, final: string): unknown {
  if (e instanceof Error && !(e instanceof NvsecError)) {
    const code = (e as NodeJS.ErrnoException).code;
    e.message = `Cannot write the device bundle "${final}": ${code ?? e.message}${code === 'ENOTEMPTY' || code === 'EEXIST' ? ' (it already exists)' : ''}`;
  }
  return e;
}

/** A bundle read back: its manifest, where its flash image is, and its eFuses. */
export interface DeviceBundle {
  readonly dir: string;
  readonly manifest: DeviceManifest;
  /** Path of flash.bin (open it with FileFlash to boot: the boot writes to it). */
  readonly flashFile: string;
  /** The eFuse model (holds keys: destroy it when done). */
  readonly efuse: Efuse;
}

/**
 * Opens a bundle folder: checks the manifest and that flash.bin has the size it names, loads the eFuses.
 *
 * @throws {NvsecError} DEVICE_BUNDLE_INVALID when the folder, a file or the manifest is missing or wrong
 * @throws {EfuseError} EFUSE_IMAGE_CORRUPT when efuse.bin is damaged
 * @example
 * const bundle = readDeviceBundle('out/dev-000001');
 */
export function readDeviceBundle(dir: string): DeviceBundle {
  const bad = (why: string): NvsecError => new NvsecError('DEVICE_BUNDLE_INVALID', `"${dir}" is not a device bundle: ${why}`);
  if (!fs.existsSync(dir) || !fs.statSync(dir).isDirectory()) throw bad('no such folder');
  let manifest: DeviceManifest;
  try {
    manifest = JSON.parse(fs.readFileSync(path.join(dir, DEVICE_BUNDLE_FILES.manifest), 'utf8')) as DeviceManifest;
  } catch (e) {
    throw bad(`${DEVICE_BUNDLE_FILES.manifest} cannot be read (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`);
  }
  if (manifest.format !== DEVICE_BUNDLE_FORMAT || manifest.version !== 1) throw bad(`${DEVICE_BUNDLE_FILES.manifest} is not a version 1 ${DEVICE_BUNDLE_FORMAT} manifest`);
  const flashFile = path.join(dir, DEVICE_BUNDLE_FILES.flash);
  let size: number;
  try {
    size = fs.statSync(flashFile).size;
  } catch {
    throw bad(`${DEVICE_BUNDLE_FILES.flash} is missing`);
  }
  if (size !== manifest.flash.size) throw bad(`${DEVICE_BUNDLE_FILES.flash} is ${size} bytes; the manifest says ${manifest.flash.size}`);
  const efuseFile = path.join(dir, DEVICE_BUNDLE_FILES.efuse);
  if (!fs.existsSync(efuseFile)) throw bad(`${DEVICE_BUNDLE_FILES.efuse} is missing`);
  const efuse = loadEfuseFile(efuseFile);
  if (efuse.chip !== manifest.chip) {
    efuse.destroy();
    throw bad(`${DEVICE_BUNDLE_FILES.efuse} holds ${efuse.chip} eFuses but the manifest says ${manifest.chip}`);
  }
  return { dir, manifest, flashFile, efuse };
}

/**
 * Removes the `<id>.tmp-…` folders a crashed {@link writeDeviceBundle} left in `dir`.
 *
 * @returns the names removed
 * @example
 * removeBundleTemps('out'); // before resuming a batch
 */
export function removeBundleTemps(dir: string): string[] {
  if (!fs.existsSync(dir)) return [];
  const removed: string[] = [];
  for (const name of fs.readdirSync(dir)) {
    if (!name.includes(TMP_MARK)) continue;
    fs.rmSync(path.join(dir, name), { recursive: true, force: true });
    removed.push(name);
  }
  if (removed.length > 0) syncDir(dir);
  return removed;
}

/** The software view of every eFuse field (read-protected keys read as zeros), for efuse.json. */
function efuseSummary(efuse: Efuse): unknown {
  return {
    chip: efuse.chip,
    flashEncryption: { enabled: efuse.flashEncryptionEnabled(), releaseMode: efuse.flashEncryptionReleaseMode() },
    secureBoot: { enabled: efuse.secureBootEnabled(), digests: efuse.secureBootDigests().map((d) => ({ slot: d.slot, digest: toHex(d.digest), revoked: d.revoked })) },
    fields: efuse.summary().map((r) => ({ ...r, value: r.value instanceof Uint8Array ? toHex(r.value) : r.value })),
  };
}

const json = (value: unknown): Uint8Array => new TextEncoder().encode(`${JSON.stringify(value, null, 2)}\n`);

function writeNew(file: string, data: Uint8Array, mode: number): void {
  const fd = fs.openSync(file, 'wx', mode);
  try {
    writeFully(fd, data);
  } finally {
    fs.closeSync(fd);
  }
}

function syncFile(file: string): void {
  const fd = fs.openSync(file, 'r');
  try {
    fs.fsyncSync(fd);
  } finally {
    fs.closeSync(fd);
  }
}

