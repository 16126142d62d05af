import { NvsecError } from '../errors/nvsec-error.js';

/** An ELF section that goes into an app image. */
export interface ElfSection {
  name: string;
  loadAddr: number;
  data: Uint8Array;
}

/** What {@link readElfForImage} extracts from an ELF file. */
export interface ElfImageInput {
  /** e_entry. */
  entryAddr: number;
  /** Loadable sections in section-header order (see readElfForImage for which ones). */
  sections: ElfSection[];
}

const SHT_PROGBITS = 1;
const SHT_INIT_ARRAY = 14;
const SHT_FINI_ARRAY = 15;
const SHT_PREINIT_ARRAY = 16;
const IMAGE_SECTION_TYPES = new Set([SHT_PROGBITS, SHT_INIT_ARRAY, SHT_FINI_ARRAY, SHT_PREINIT_ARRAY]);
const EHDR_LEN = 52;
const SHDR_LEN = 40;

/**
 * Reads the entry point and the sections `esptool elf2image` turns into image segments from a
 * 32-bit little-endian ELF file (Xtensa or RISC-V): sections of type PROGBITS, INIT_ARRAY,
 * FINI_ARRAY or PREINIT_ARRAY with a non-zero address and size (NOBITS such as .bss are left out).
 *
 * @throws {NvsecError} `ELF_INVALID` when the input is not a 32-bit little-endian ELF file or a
 *   section lies outside it
 * @example
 * const { entryAddr, sections } = readElfForImage(fs.readFileSync('app.elf'));
 */
export function readElfForImage(elf: Uint8Array): ElfImageInput {
  if (!(elf instanceof Uint8Array)) throw new TypeError('elf: expected a Uint8Array');
  const bad = (why: string): never => {
    throw new NvsecError('ELF_INVALID', `not a usable ELF file: ${why}; give the app's .elf from the build folder`);
  };
  if (elf.length < EHDR_LEN || elf[0] !== 0x7f || elf[1] !== 0x45 || elf[2] !== 0x4c || elf[3] !== 0x46) bad('no ELF magic (7f 45 4c 46)');
  if (elf[4] !== 1 || elf[5] !== 1) bad('only 32-bit little-endian ELF files are supported (ESP32 family)');
  const v = new DataView(elf.buffer, elf.byteOffset, elf.byteLength);
  const entryAddr = v.getUint32(24, true);
  const shoff = v.getUint32(32, true);
  const shentsize = v.getUint16(46, true);
  const shnum = v.getUint16(48, true);
  const shstrndx = v.getUint16(50, true);
  if (shnum === 0) bad('it has no section headers');
  if (shentsize < SHDR_LEN || shoff + shnum * shentsize > elf.length) bad(`section headers at offset ${shoff} run past the end of the file`);
  if (shstrndx >= shnum) bad('the section name table index is out of range');

  const header = (i: number) => {
    const at = shoff + i * shentsize;
    return {
      name: v.getUint32(at, true),
      type: v.getUint32(at + 4, true),
      addr: v.getUint32(at + 12, true),
      offset: v.getUint32(at + 16, true),
      size: v.getUint32(at + 20, true),
    };
  };
  const strtab = header(shstrndx);
  if (strtab.offset + strtab.size > elf.length) bad('the section name table runs past the end of the file');
  const names = elf.subarray(strtab.offset, strtab.offset + strtab.size);
  const nameAt = (off: number) => {
    const end = names.indexOf(0, off);
    return new TextDecoder().decode(names.subarray(off, end < 0 ? names.length : end));
  };

  const sections: ElfSection[] = [];
  for (let i = 0; i < shnum; i++) {
    const h = header(i);
    if (!IMAGE_SECTION_TYPES.has(h.type) || h.addr === 0 || h.size === 0) continue;
    const name = nameAt(h.name);
    if (h.offset + h.size > elf.length) bad(`section ${name} (offset ${h.offset}, size ${h.size}) runs past the end of the file`);
    sections.push({ name, loadAddr: h.addr, data: elf.slice(h.offset, h.offset + h.size) });
  }
  return { entryAddr, sections };
}
