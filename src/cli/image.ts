import * as path from 'node:path';
import { type Command, Option } from 'commander';
import { toHex } from '../bytes/hex.js';
import { buildAppImage } from '../boot/app-image-build.js';
import { type ChipInfo, chipByName } from '../boot/app-image-chips.js';
import { readElfForImage } from '../boot/app-image-elf.js';
import { FLASH_SIZES, IMAGE_FORMAT, SPI_MODES } from '../boot/app-image-header.js';
import { type AppImage, parseAppImage } from '../boot/app-image.js';
import { NvsecError } from '../errors/nvsec-error.js';
import { writeFileAtomic } from '../node/atomic-file.js';
import { nodeCrypto } from '../node/node-crypto.js';
import { readBinaryFile } from './_files.js';
import { EXIT, runAction, usageError } from './_run.js';

interface InfoOptions {
  json?: boolean;
  chip?: string;
}

/** Errors that mean "this file is not an image" (esptool exits 2 for these). */
const NOT_AN_IMAGE = new Set(['IMAGE_BAD_MAGIC', 'IMAGE_TRUNCATED']);

interface BuildOptions {
  chip: string;
  output?: string;
  flashMode: string;
  flashFreq?: string;
  flashSize: string;
  minRev: string;
  minRevFull: string;
  maxRevFull: string;
  securePadV2?: boolean;
  padToSize?: string;
  elfSha256Offset?: string;
  dontAppendDigest?: boolean;
  flashMmuPageSize?: string;
  json?: boolean;
}

const BUILD_HELP_AFTER = `
Converts an ESP-IDF app ELF into a flashable image, byte-identical to "esptool elf2image" 5.3.1
(same option names): loadable sections (PROGBITS, INIT/FINI/PREINIT_ARRAY with an address) become
segments, adjacent ones are merged, flash-mapped segments are placed at their load address's
offset in the 64 KiB MMU page (RAM segments moved or split into the gap, else a zero padding
segment), ESP32 flash segments get the 0x24 tail rule, then checksum and SHA-256.
The ELF's SHA-256 is patched into esp_app_desc_t (offset 0xb0) when the ELF has a .flash.appdesc
section, or at --elf-sha256-offset. The image is checked (parsed back) before it is written, and
written atomically: a failed run leaves no file.

Exit status: 0 on success; 2 for bad input (not an ELF, two flash sections in one MMU page, more
than 16 segments, an unknown chip or option value), as esptool does; 1 when a file cannot be
read or written.

Examples:
  $ nvsec image build --chip esp32c3 --flash-mode dio --flash-freq 80m --flash-size 4MB app.elf
      writes app.bin
  $ nvsec image elf2image --chip esp32 --min-rev-full 300 --max-rev-full 399 -o build/app.bin app.elf
  $ nvsec image build --chip esp32s3 --secure-pad-v2 -o app-padded.bin app.elf   (for Secure Boot V2 signing)
`;

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
  const image = program.command('image').description('ESP app images (esptool elf2image format): decode and check, build from an ELF');
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
            usageError(command, `--chip: ${(e as Error).message.replace(/^chip: /, '')}`);
          }
        }
        const bytes = readBinaryFile(file, 'image');
        const parsed = parseAppImage(nodeCrypto, bytes, chip ? { chip } : {});
        if (opts.json) process.stdout.write(`${JSON.stringify(imageToJson(parsed, bytes.length), null, 1)}\n`);
        else process.stdout.write(formatImage(parsed, bytes.length));
        if (parsed.problems.length > 0) {
          const more = parsed.problems.length > 1 ? ` (and ${parsed.problems.length - 1} more problem(s))` : '';
          console.error(`nvsec: error: ${file} is not a valid image: ${parsed.problems[0]!.message}${more}`);
          process.exitCode = EXIT.PROBLEMS;
        }
      }, { rejects: (e) => e instanceof NvsecError && NOT_AN_IMAGE.has(e.code) }),
    );
  image
    .command('build')
    .alias('elf2image')
    .summary('make an app image from an ELF (esptool elf2image)')
    .description('Create an ESP app image (.bin) from an app ELF, byte-identical to esptool elf2image 5.3.1')
    .argument('<input>', 'the app ELF file')
    .requiredOption('--chip <chip>', 'target chip: esp32, esp32s2, esp32s3, esp32c3, esp32c2, esp32c6, esp32h2, esp32p4, esp32c5, esp32h4')
    .option('-o, --output <file>', 'output image (default: the input name with .bin)')
    .addOption(new Option('--flash-mode <mode>', 'SPI flash mode').choices(['qio', 'qout', 'dio', 'dout']).default('qio'))
    .option('--flash-freq <freq>', "SPI flash clock, e.g. 80m, 40m (chip specific; default: header value 0, the chip's default)")
    .option('--flash-size <size>', 'flash size: 1MB, 2MB, 4MB, 8MB, 16MB, 32MB, 64MB, 128MB', '1MB')
    .option('-r, --min-rev <n>', 'legacy minimum chip revision (header byte 14)', '0')
    .option('--min-rev-full <n>', 'minimum chip revision, major*100 + minor', '0')
    .option('--max-rev-full <n>', 'maximum chip revision, major*100 + minor (65535 = no limit)', '65535')
    .option('--secure-pad-v2', 'pad the image to a multiple of 64 KiB so a Secure Boot V2 signature sector can follow')
    .option('--pad-to-size <size>', 'append 0xFF up to a multiple of this size (bytes, 0x…, or 4KB / 1MB)')
    .option('--elf-sha256-offset <offset>', 'image offset to store the ELF SHA-256 at (default 0xb0 when the ELF has .flash.appdesc)')
    .option('--dont-append-digest', 'do not append the SHA-256 of the image (header byte 23 = 0)')
    .option('--flash-mmu-page-size <size>', 'MMU page size for flash-mapped alignment (default 64KB)')
    .option('--json', 'print {"output", "size", "segments", "sha256", "elfSha256"} as JSON')
    .addHelpText('after', BUILD_HELP_AFTER)
    .action(
      runAction((input: string, opts: BuildOptions, command: Command) => buildCommand(command, input, opts), {
        rejects: (e) => e instanceof NvsecError && (e.code.startsWith('IMAGE_') || e.code === 'ELF_INVALID'),
      }),
    );
}

function buildCommand(command: Command, input: string, opts: BuildOptions): void {
  const usage = (message: string): never => usageError(command, message);
  let chip: ChipInfo;
  try {
    chip = chipByName(opts.chip);
  } catch (e) {
    return usage(`--chip: ${(e as Error).message.replace(/^chip: /, '')}`);
  }
  const spiSize = FLASH_SIZES.indexOf(opts.flashSize.toUpperCase());
  if (spiSize < 0) usage(`--flash-size: "${opts.flashSize}" is not one of ${FLASH_SIZES.join(', ')}`);
  let spiSpeed = 0;
  if (opts.flashFreq !== undefined) {
    const code = chip.flashFreqs[opts.flashFreq.toLowerCase()];
    if (code === undefined) usage(`--flash-freq: ${chip.displayName} supports ${Object.keys(chip.flashFreqs).join(', ') || 'no known frequencies'}, not "${opts.flashFreq}"`);
    spiSpeed = code!;
  }
  const num = (name: string, text: string, max: number): number => {
    const n = /^(0x[0-9a-f]+|\d+)$/i.test(text.trim()) ? Number(text.trim()) : Number.NaN;
    if (!Number.isInteger(n) || n < 0 || n > max) usage(`${name}: "${text}" is not a number in 0..${max}`);
    return n;
  };
  const size = (name: string, text: string): number => {
    const m = /^(\d+)\s*(KB|MB)$/i.exec(text.trim());
    const n = m ? Number(m[1]) * (m[2]!.toUpperCase() === 'KB' ? 1024 : 1024 * 1024) : num(name, text, 0x7fffffff);
    if (n <= 0) usage(`${name}: must be positive`);
    return n;
  };
  const mmuPageSize = opts.flashMmuPageSize !== undefined ? size('--flash-mmu-page-size', opts.flashMmuPageSize) : IMAGE_FORMAT.DEFAULT_MMU_PAGE_SIZE;
  if (!chip.mmuPageSizes.includes(mmuPageSize)) usage(`--flash-mmu-page-size: ${chip.displayName} supports ${chip.mmuPageSizes.map((p) => `${p / 1024}KB`).join(', ')}`);
  if (opts.securePadV2 && opts.dontAppendDigest) usage('--secure-pad-v2 needs the appended SHA-256: drop --dont-append-digest');

  const elfBytes = readBinaryFile(input, 'ELF file');
  const elf = readElfForImage(elfBytes);
  const hasAppDesc = elf.sections.some((s) => s.name === '.flash.appdesc');
  const elfShaOffset = opts.elfSha256Offset !== undefined ? num('--elf-sha256-offset', opts.elfSha256Offset, 0xffffffff) : hasAppDesc ? IMAGE_FORMAT.ELF_SHA256_OFFSET : undefined;
  const elfSha256 = nodeCrypto.digest('sha256', elfBytes);
  const image = buildAppImage(nodeCrypto, {
    header: {
      chipId: chip.chipId,
      entryAddr: elf.entryAddr,
      spiMode: SPI_MODES.indexOf(opts.flashMode.toUpperCase()),
      spiSpeed,
      spiSize,
      minChipRevLegacy: num('--min-rev', opts.minRev, 0xff),
      minChipRevFull: num('--min-rev-full', opts.minRevFull, 0xffff),
      maxChipRevFull: num('--max-rev-full', opts.maxRevFull, 0xffff),
    },
    segments: elf.sections,
    hashAppended: !opts.dontAppendDigest,
    mmuPageSize,
    ...(opts.securePadV2 ? { securePadV2: true } : {}),
    ...(opts.padToSize !== undefined ? { padToSize: size('--pad-to-size', opts.padToSize) } : {}),
    ...(elfShaOffset !== undefined ? { elfSha256, elfSha256Offset: elfShaOffset } : {}),
  });
  // Never write an image we would not accept ourselves.
  const check = parseAppImage(nodeCrypto, image, { chip, mmuPageSize });
  if (check.problems.length > 0) throw new NvsecError('IMAGE_BUILD_CHECK', `built image failed its own check: ${check.problems[0]!.message}`);
  const output = opts.output ?? path.join(path.dirname(input), `${path.basename(input, path.extname(input))}.bin`);
  writeFileAtomic(output, image, { mode: 0o644 });
  if (opts.json) {
    const summary = {
      output,
      chip: chip.name,
      size: image.length,
      segments: check.segments.map((s) => ({ loadAddr: `0x${s.loadAddr.toString(16).padStart(8, '0')}`, length: s.length, dataOffset: s.dataOffset, memory: s.memory })),
      sha256: check.sha256 ? toHex(check.sha256.stored) : null,
      elfSha256: elfShaOffset !== undefined ? toHex(elfSha256) : null,
    };
    process.stdout.write(`${JSON.stringify(summary, null, 1)}\n`);
  } else {
    console.log(`Created ${chip.displayName} image ${output}: ${image.length} bytes, ${check.segments.length} segments${check.sha256 ? ', SHA-256 appended' : ''}`);
  }
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
