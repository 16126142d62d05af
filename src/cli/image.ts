import type { Command } from 'commander';
import { toHex } from '../bytes/hex.js';
import { type ChipInfo, chipByName } from '../boot/app-image-chips.js';
import { FLASH_SIZES, SPI_MODES } from '../boot/app-image-header.js';
import { type AppImage, parseAppImage } from '../boot/app-image.js';
import { NvsecError } from '../errors/nvsec-error.js';
import { nodeCrypto } from '../node/node-crypto.js';
import { readImage } from './nvs-dump.js';
import { EXIT, reportError, runAction } from './_run.js';

interface InfoOptions {
  json?: boolean;
  chip?: string;
}

/** Errors that mean "this file is not an image" (esptool exits 2 for these). */
const NOT_AN_IMAGE = new Set(['IMAGE_BAD_MAGIC', 'IMAGE_TRUNCATED']);

const HELP_AFTER = `
Decodes an app (or bootloader) image written by "esptool elf2image" and checks it like
"esptool image-info" does: the header and extended header, every segment (length, load address,
file offset, memory type), the XOR checksum, the appended SHA-256 and the esp_app_desc_t
(project, version, build time, ESP-IDF version, ELF SHA-256, secure_version, MMU page size).
A Secure Boot V2 signature sector after the image is reported with its offset and number of
blocks (not verified). Problems (wrong chip, misaligned flash segment, …) are listed.

--chip C   the chip the image must be for (esp32, esp32s2, esp32s3, esp32c3, esp32c2, esp32c6,
           esp32h2, esp32p4, esp32c5, …); default: the chip named in the header.

Exit status: 0 when the image is valid; 3 when it was decoded but has problems (checksum or
SHA-256 mismatch, wrong chip, …; the first one is printed on stderr); 2 when the file is not an
image (bad magic, truncated) or an option is wrong; 1 when the file cannot be read.

Examples:
  $ nvsec image info build/app.bin
  $ nvsec image info build/app.bin --chip esp32c3
  $ nvsec image info build/app.bin --json | jq '.appDesc.secureVersion'
`;

/**
 * Registers `nvsec image info IMAGE [--chip C] [--json]`: the counterpart of
 * `esptool image-info`.
 *
 * @throws never at registration; the action reports errors as one line (exit 2 when the file is
 *   not an image, 3 when it has problems, 1 when unreadable)
 * @example
 * registerImageCommands(program); // nvsec image info app.bin --json
 */
export function registerImageCommands(program: Command): void {
  const image = program.command('image').description('ESP app images (esptool elf2image format): decode and check');
  image
    .command('info')
    .alias('image-info')
    .summary('decode and check an app image (esptool image-info)')
    .description('Decode an ESP app image: header, segments, checksum, appended SHA-256, esp_app_desc_t; exit non-zero when it is not valid')
    .argument('<image>', 'app image (.bin) made by esptool elf2image or nvsec')
    .option('--chip <chip>', 'the chip the image must be for (default: from the header)')
    .option('--json', 'print {"header", "segments", "checksum", "sha256", "appDesc", …, "problems", "valid"} as JSON')
    .addHelpText('after', HELP_AFTER)
    .action(
      runAction((file: string, opts: InfoOptions, command: Command) => {
        let chip: ChipInfo | undefined;
        if (opts.chip !== undefined) {
          try {
            chip = chipByName(opts.chip);
          } catch (e) {
            command.error(`error: --chip: ${(e as Error).message.replace(/^chip: /, '')}`, { exitCode: EXIT.USAGE, code: 'nvsec.usage' });
          }
        }
        const bytes = readImage(file);
        let parsed: AppImage;
        try {
          parsed = parseAppImage(nodeCrypto, bytes, chip ? { chip } : {});
        } catch (e) {
          if (e instanceof NvsecError && NOT_AN_IMAGE.has(e.code)) {
            reportError(e);
            process.exitCode = EXIT.USAGE;
            return;
          }
          throw e;
        }
        if (opts.json) process.stdout.write(`${JSON.stringify(imageToJson(parsed, bytes.length), null, 1)}\n`);
        else process.stdout.write(formatImage(parsed, bytes.length));
        if (parsed.problems.length > 0) {
          const more = parsed.problems.length > 1 ? ` (and ${parsed.problems.length - 1} more problem(s))` : '';
          console.error(`nvsec: error: ${file} is not a valid image: ${parsed.problems[0]!.message}${more}`);
          process.exitCode = EXIT.PROBLEMS;
        }
      }),
    );
}

const hex = (n: number, digits: number) => `0x${n.toString(16).padStart(digits, '0')}`;
const rev = (full: number) => `v${Math.floor(full / 100)}.${full % 100}`;

function flashFreqName(img: AppImage): string {
  const table = img.chip?.flashFreqs ?? {};
  const name = Object.entries(table).find(([, code]) => code === img.header.spiSpeed)?.[0];
  return name ?? `unknown (spi_speed ${hex(img.header.spiSpeed, 1)})`;
}

/** The decoded image as a plain JSON object (hex strings for addresses and bytes). */
function imageToJson(img: AppImage, fileSize: number): Record<string, unknown> {
  const h = img.header;
  return {
    fileSize,
    chip: img.chip?.name ?? null,
    header: {
      magic: hex(h.magic, 2),
      segmentCount: h.segmentCount,
      spiMode: h.spiMode,
      spiModeName: SPI_MODES[h.spiMode] ?? null,
      spiSpeed: h.spiSpeed,
      spiSize: h.spiSize,
      flashSize: FLASH_SIZES[h.spiSize] ?? null,
      flashFreq: flashFreqName(img),
      entryAddr: hex(h.entryAddr, 8),
      wpPin: hex(h.wpPin, 2),
      spiPinDrv: h.spiPinDrv,
      chipId: h.chipId,
      minChipRevLegacy: h.minChipRevLegacy,
      minChipRevFull: h.minChipRevFull,
      maxChipRevFull: h.maxChipRevFull,
      reserved: toHex(h.reserved),
      hashAppended: h.hashAppended,
    },
    segments: img.segments.map((s) => ({
      index: s.index,
      headerOffset: s.headerOffset,
      dataOffset: s.dataOffset,
      loadAddr: hex(s.loadAddr, 8),
      length: s.length,
      memory: s.memory,
    })),
    paddingBeforeChecksum: img.paddingBeforeChecksum,
    checksumOffset: img.checksumOffset,
    checksum: { stored: hex(img.checksum.stored, 2), calculated: hex(img.checksum.calculated, 2), valid: img.checksum.valid },
    sha256: img.sha256 && {
      offset: img.sha256.offset,
      stored: toHex(img.sha256.stored),
      calculated: toHex(img.sha256.calculated),
      valid: img.sha256.valid,
    },
    imageLength: img.imageLength,
    trailingBytes: img.trailingBytes,
    mmuPageSize: img.mmuPageSize,
    appDesc: img.appDesc && {
      offsetInImage: img.segments[0]!.dataOffset,
      magicWord: hex(img.appDesc.magicWord, 8),
      secureVersion: img.appDesc.secureVersion,
      version: img.appDesc.version,
      projectName: img.appDesc.projectName,
      time: img.appDesc.time,
      date: img.appDesc.date,
      idfVer: img.appDesc.idfVer,
      appElfSha256: toHex(img.appDesc.appElfSha256),
      minEfuseBlkRevFull: img.appDesc.minEfuseBlkRevFull,
      maxEfuseBlkRevFull: img.appDesc.maxEfuseBlkRevFull,
      mmuPageSizeLog2: img.appDesc.mmuPageSizeLog2,
      spiFlashMode: img.appDesc.spiFlashMode,
    },
    bootloaderDesc: img.bootloaderDesc,
    signatureSector: img.signatureSector,
    problems: img.problems,
    valid: img.problems.length === 0,
  };
}

/** Human-readable report in the layout of `esptool image-info`. */
function formatImage(img: AppImage, fileSize: number): string {
  const h = img.header;
  const name = img.chip?.displayName ?? `chip id ${h.chipId}`;
  const title = (t: string) => `${t}\n${'='.repeat(t.length)}`;
  const drv = h.spiPinDrv;
  const lines = [
    `Image size: ${fileSize} bytes`,
    '',
    title(`${name} Image Header`),
    'Image version: 1',
    `Entry point: ${hex(h.entryAddr, 8)}`,
    `Segments: ${h.segmentCount}`,
    `Flash size: ${FLASH_SIZES[h.spiSize] ?? `unknown (${h.spiSize})`}`,
    `Flash freq: ${flashFreqName(img)}`,
    `Flash mode: ${SPI_MODES[h.spiMode] ?? `unknown (${h.spiMode})`}`,
    '',
    title(`${name} Extended Image Header`),
    `WP pin: ${hex(h.wpPin, 2)}${h.wpPin === 0xee ? ' (disabled)' : ''}`,
    `Flash pins drive settings: clk_drv: ${hex(drv[0] & 0xf, 1)}, q_drv: ${hex(drv[0] >> 4, 1)}, d_drv: ${hex(drv[1] & 0xf, 1)}, cs0_drv: ${hex(drv[1] >> 4, 1)}, hd_drv: ${hex(drv[2] & 0xf, 1)}, wp_drv: ${hex(drv[2] >> 4, 1)}`,
    `Chip ID: ${h.chipId}${img.chip ? ` (${img.chip.displayName})` : ' (unknown)'}`,
    `Minimal chip revision: ${rev(h.minChipRevFull)}, (legacy min_rev = ${h.minChipRevLegacy})`,
    `Maximal chip revision: ${rev(h.maxChipRevFull)}`,
    '',
    title('Segments Information'),
    'Segment   Length   Load addr   File offs  Memory types',
    '-------  -------  ----------  ----------  ------------',
    ...img.segments.map(
      (s) => `${String(s.index).padStart(7)}  ${hex(s.length, 5)}  ${hex(s.loadAddr, 8)}  ${hex(s.headerOffset, 8)}  ${s.memory ?? ''}`,
    ),
    '',
    title(`${name} Image Footer`),
    `Checksum: ${hex(img.checksum.stored, 2)} (${img.checksum.valid ? 'valid' : `invalid - calculated ${hex(img.checksum.calculated, 2)}`})`,
  ];
  if (img.sha256) {
    lines.push(`Validation hash: ${toHex(img.sha256.stored)} (${img.sha256.valid ? 'valid' : `invalid - calculated ${toHex(img.sha256.calculated)}`})`);
  }
  if (img.appDesc) {
    const d = img.appDesc;
    lines.push(
      '',
      title('Application Information'),
      `Project name: ${d.projectName}`,
      `App version: ${d.version}`,
      `Compile time: ${d.date} ${d.time}`,
      `ELF file SHA256: ${toHex(d.appElfSha256)}`,
      `ESP-IDF: ${d.idfVer}`,
      `Minimal eFuse block revision: ${Math.floor(d.minEfuseBlkRevFull / 100)}.${d.minEfuseBlkRevFull % 100}`,
      `Maximal eFuse block revision: ${Math.floor(d.maxEfuseBlkRevFull / 100)}.${d.maxEfuseBlkRevFull % 100}`,
    );
    if (d.mmuPageSizeLog2 > 0) lines.push(`MMU page size: ${2 ** d.mmuPageSizeLog2 / 1024} KB`);
    lines.push(`Secure version: ${d.secureVersion}`);
  } else if (img.bootloaderDesc) {
    const b = img.bootloaderDesc;
    lines.push('', title('Bootloader Information'), `Bootloader version: ${b.version}`, `ESP-IDF: ${b.idfVer}`, `Compile time: ${b.dateTime}`, `Secure version: ${b.secureVersion}`);
  }
  if (img.signatureSector) {
    const s = img.signatureSector;
    lines.push('', title('Secure Boot V2 Signature'), `Signature sector at offset ${hex(s.offset, 8)}: ${s.blockCount} block(s) (not verified here)`);
  } else if (img.trailingBytes > 0) {
    lines.push('', `${img.trailingBytes} byte(s) after the image end (${hex(img.imageLength, 8)}) are not part of it`);
  }
  if (img.problems.length > 0) lines.push('', title('Problems'), ...img.problems.map((p) => `${p.code}: ${p.message}`));
  return `${lines.join('\n')}\n`;
}
