import * as fs from 'node:fs';
import { type Flash, FlashStats, SECTOR_SIZE } from '../flash/flash.js';
import { checkNorWrite, checkRange, checkSector, FlashError } from '../flash/flash-error.js';
import { writeFully } from './_io.js';
import { writeFileAtomic } from './atomic-file.js';

/** Options for {@link FileFlash.open}. */
export interface FileFlashOptions {
  /**
   * Size in bytes (a positive multiple of 4096) of an erased (0xFF) image to create when the file
   * is missing. An existing file is opened as it is, whatever its size.
   */
  create?: number;
  /** Open the image for reading only: every write and erase throws FLASH_READ_ONLY. */
  readOnly?: boolean;
}

/**
 * Flash backed by an image file, with the NOR semantics and {@link FlashStats} of MemoryFlash:
 * an erase sets a sector to 0xFF, a write may only clear bits. Every access goes straight to the
 * file with positional reads and writes (nothing is cached), so another process can inspect the
 * image between operations; call {@link FileFlash.sync} to make the writes durable.
 *
 * @example
 * const flash = FileFlash.open('nvs.bin', { create: 0x6000 });
 * try {
 *   flash.write(0, Uint8Array.of(0xfe));
 *   flash.sync();
 * } finally {
 *   flash.close();
 * }
 */
export class FileFlash implements Flash {
  readonly sectorSize = SECTOR_SIZE;
  readonly size: number;
  readonly stats: FlashStats;
  /** The image file this flash reads and writes. */
  readonly path: string;
  /** True when opened with `readOnly`: writes and erases throw. */
  readonly readOnly: boolean;
  private fd: number | null;

  private constructor(path: string, fd: number, size: number, readOnly: boolean) {
    this.path = path;
    this.fd = fd;
    this.size = size;
    this.readOnly = readOnly;
    this.stats = new FlashStats(size / SECTOR_SIZE);
  }

  /**
   * Opens the image at `path`, first creating an erased one of `options.create` bytes if the file
   * does not exist.
   *
   * @throws {FlashError} FLASH_BAD_SIZE when `options.create` or the file's length is not a positive
   *   multiple of 4096
   * @throws the file system's error (e.g. ENOENT) when the file cannot be opened or created
   */
  static open(path: string, options: FileFlashOptions = {}): FileFlash {
    const readOnly = options.readOnly ?? false;
    if (options.create !== undefined) {
      const size = options.create;
      if (!Number.isInteger(size) || size <= 0 || size % SECTOR_SIZE !== 0) {
        throw new FlashError(
          'FLASH_BAD_SIZE',
          `Cannot create flash image "${path}" of ${size} bytes: the size must be a positive multiple of ${SECTOR_SIZE}`,
        );
      }
      createErased(path, size);
    }
    const fd = fs.openSync(path, readOnly ? 'r' : 'r+');
    try {
      const size = fs.fstatSync(fd).size;
      if (size <= 0 || size % SECTOR_SIZE !== 0) {
        throw new FlashError(
          'FLASH_BAD_SIZE',
          `Flash image "${path}" is ${size} bytes, not a positive multiple of ${SECTOR_SIZE}: ` +
            'it is not a whole number of flash sectors (a truncated file, or not a flash image?)',
        );
      }
      return new FileFlash(path, fd, size, readOnly);
    } catch (e) {
      fs.closeSync(fd);
      throw e;
    }
  }

  read(address: number, dest: Uint8Array): void {
    const fd = this.handle('read');
    checkRange(this, address, dest.length, 'read');
    readFully(fd, dest, address);
    this.stats.reads++;
    this.stats.bytesRead += dest.length;
  }

  write(address: number, data: Uint8Array): void {
    const fd = this.writableHandle('write');
    checkRange(this, address, data.length, 'write');
    const current = new Uint8Array(data.length);
    readFully(fd, current, address);
    checkNorWrite(current, data, address);
    writeFully(fd, data, address);
    this.stats.writes++;
    this.stats.bytesWritten += data.length;
  }

  eraseSector(sector: number): void {
    const fd = this.writableHandle('erase');
    checkSector(this, sector);
    writeFully(fd, new Uint8Array(SECTOR_SIZE).fill(0xff), sector * SECTOR_SIZE);
    this.stats.erases++;
    this.stats.eraseCounts[sector]!++;
  }

  /**
   * Flushes the image to the storage device (fsync), so that the writes so far survive a crash.
   * Does nothing on a read-only flash.
   */
  sync(): void {
    const fd = this.handle('sync');
    if (!this.readOnly) fs.fsyncSync(fd);
  }

  /**
   * Closes the file. Later reads, writes and erases throw FLASH_CLOSED; closing again does nothing.
   * It does not fsync: call {@link FileFlash.sync} first when the writes must be durable.
   */
  close(): void {
    if (this.fd === null) return;
    const fd = this.fd;
    this.fd = null;
    fs.closeSync(fd);
  }

  private handle(what: string): number {
    if (this.fd === null) {
      throw new FlashError('FLASH_CLOSED', `Cannot ${what} flash image "${this.path}": it was closed; open it again with FileFlash.open()`);
    }
    return this.fd;
  }

  private writableHandle(what: 'write' | 'erase'): number {
    const fd = this.handle(what);
    if (this.readOnly) {
      throw new FlashError(
        'FLASH_READ_ONLY',
        `Cannot ${what} flash image "${this.path}": it was opened read-only; open it without readOnly to change it`,
      );
    }
    return fd;
  }
}

/** Creates `path` as `size` bytes of 0xFF unless it already exists; removes a half-made file on failure. */
function createErased(path: string, size: number): void {
  if (fs.existsSync(path)) return;
  try {
    // Atomic and 0600: a crash never leaves a short file that would open as a smaller flash.
    writeFileAtomic(path, new Uint8Array(size).fill(0xff), { exclusive: true });
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
  }
}

/** Reads exactly `dest.length` bytes at `position`; a short file is an error, not zeros. */
function readFully(fd: number, dest: Uint8Array, position: number): void {
  let done = 0;
  while (done < dest.length) {
    const n = fs.readSync(fd, dest, done, dest.length - done, position + done);
    if (n === 0) {
      throw new FlashError(
        'FLASH_OUT_OF_BOUNDS',
        `Cannot read 0x${(position + done).toString(16)}: the image file ended early (was it truncated while open?)`,
      );
    }
    done += n;
  }
}

/** Writes all of `data` at `position`. */
