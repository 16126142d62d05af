import type { CryptoProvider } from '../../crypto/provider.js';
import { ENTRY_COUNT, ENTRY_SIZE, FORMAT_VERSION, ItemType, MAX_KEY_LENGTH, PAGE_SIZE } from '../format/constants.js';
import { encodeFixedValue } from '../format/entry.js';
import { MAX_CHUNKS, PageWriter, PartitionFull, TooManyChunks } from './_layout.js';
import {
  asciiStrip,
  codePointLength,
  decodeBase64Into,
  decodeHexInto,
  type FillEncoding,
  isAscii,
  latin1,
  parseFillEncoding,
  pyInt,
  pyStrip,
  Scratch,
} from './_values.js';
import { type NvsCsvRow, parseCsv } from './csv.js';
import { type NvsGenerateErrorCode, type NvsGenerateErrorContext, NvsGenerateError } from './generate-error.js';
import { errorMessage } from '../../errors/error-message.js';

/** Options of {@link generateNvsPartition}. */
export interface GenerateOptions {
  /** Partition size in bytes: a multiple of 4096, at least 4096 (0x1000 and 0x2000 are read-only sizes). */
  size: number;
  /** Format version: 2 (default, multi-page blobs) or 1 (single-page blobs, 1984-byte limit). */
  version?: 1 | 2;
  /** Needed only when the CSV sets the Wi-Fi AP keys, for the `ap.pmk_info` PBKDF2-HMAC-SHA1. */
  crypto?: CryptoProvider;
  /** Reads the file named by a `file` row (the CLI resolves it against the working directory). */
  readFile?: (path: string) => Uint8Array;
  /** Names of the CSV inputs (file names) for error messages; default `CSV`, or `input N` when several. */
  inputNames?: string[];
}

/** What {@link generateNvsPartition} produced. */
export interface GenerateResult {
  /**
   * The partition image: exactly `size` bytes, except for the read-only sizes 0x1000 and 0x2000
   * where, like the reference tool, it holds only the pages actually used.
   */
  image: Uint8Array;
  /** Whether SIZE is a read-only size (0x1000 or 0x2000): no spare page, the file holds only the pages used. */
  readOnly: boolean;
  /** Pages in the partition (SIZE / 4096). */
  pagesTotal: number;
  /** Pages that carry a header (FULL pages plus the one ACTIVE page). */
  pagesUsed: number;
  /** Entries marked written, over all pages (namespace entries and payload entries included). */
  entriesUsed: number;
  /** Namespaces created, in index order (index 1 first). */
  namespaces: string[];
  /** Key-value items written (a blob counts once), including the Wi-Fi entries the tool adds. */
  items: number;
}

/** Largest string or version-2-layout single-page item the generator can place (124 payload entries). */
const MAX_SINGLE_PAGE = (ENTRY_COUNT - 2) * ENTRY_SIZE;
/** The generator's limit for strings and blobs in format version 1. */
const MAX_V1_SIZE = 1984;
/** The generator refuses strings above this size outright (3969..4000 crash it instead). */
const MAX_STRING_V2 = 4000;
/** Pages a failed run is replayed into to tell how large the partition must be (16 MiB). */
const PROBE_PAGES = 4096;
/** Namespace indices 1..254; 0 is the namespace table and 255 the wildcard. */
const MAX_NAMESPACES = 254;

const INT_TYPES: Readonly<Record<string, { type: number; min: bigint; max: bigint }>> = Object.freeze({
  u8: { type: ItemType.U8, min: 0n, max: 0xffn },
  i8: { type: ItemType.I8, min: -0x80n, max: 0x7fn },
  u16: { type: ItemType.U16, min: 0n, max: 0xffffn },
  i16: { type: ItemType.I16, min: -0x8000n, max: 0x7fffn },
  u32: { type: ItemType.U32, min: 0n, max: 0xffffffffn },
  i32: { type: ItemType.I32, min: -0x80000000n, max: 0x7fffffffn },
  u64: { type: ItemType.U64, min: 0n, max: 0xffffffffffffffffn },
  i64: { type: ItemType.I64, min: -0x8000000000000000n, max: 0x7fffffffffffffffn },
});

/** A decimal integer that a double holds exactly (at most 15 digits, no sign '+', no underscores). */
const PLAIN_INT = /^-?[0-9]{1,15}$/;

const STA_TRIGGERS = new Set(['sta.ssid', 'sta.pswd']);
const AP_KEYS = new Set(['ap.ssid', 'ap.passwd', 'ap.authmode']);

/**
 * Generates an ESP-IDF NVS partition image from generator CSV, byte-identical to
 * `esp-idf-nvs-partition-gen` 0.2.0 (`generate INPUT… OUTPUT SIZE [--version]`). Several CSV texts
 * are processed in order into one image, like the tool's several inputs. The tool's layout and
 * quirks are reproduced (strict page fit for strings, empty blob chunks, a repeated namespace row
 * not switching back, rows before any namespace going to index 0, the Wi-Fi keys it adds, upper-case
 * encodings skipping conversion). Where the tool crashes or leaves an empty file, this throws a
 * clear error instead; it also refuses a few inputs the tool would turn into a corrupt image
 * (non-ASCII keys, non-ASCII text stored unconverted, blobs of more than 127 chunks).
 *
 * @param csv one CSV text, or several processed in order
 * @throws {TypeError} when `csv` is not a string or an array of strings, or an option has the wrong type
 * @throws {RangeError} when `options.version` is not 1 or 2
 * @throws {NvsGenerateError} `NVS_BAD_SIZE`, `NVS_CSV_SYNTAX`, `NVS_CSV_BAD_VALUE`,
 *   `NVS_UNKNOWN_ENCODING`, `NVS_KEY_TOO_LONG`, `NVS_BAD_KEY`, `NVS_VALUE_TOO_LONG`,
 *   `NVS_TOO_MANY_NAMESPACES`, `NVS_PARTITION_TOO_SMALL`, `NVS_FILE_READ`, `NVS_CRYPTO_REQUIRED`
 * @example
 * const { image, pagesUsed } = generateNvsPartition(
 *   'key,type,encoding,value\nstorage,namespace,,\nboot_count,data,u32,0\nname,data,string,device-1\n',
 *   { size: 0x3000 },
 * );
 * // image.length === 0x3000, pagesUsed === 1
 */
export function generateNvsPartition(csv: string | string[], options: GenerateOptions): GenerateResult {
  const texts = typeof csv === 'string' ? [csv] : csv;
  if (!Array.isArray(texts) || texts.some((t) => typeof t !== 'string')) {
    throw new TypeError('generateNvsPartition: csv must be a string or an array of strings');
  }
  if (options === null || typeof options !== 'object') {
    throw new TypeError('generateNvsPartition: options must be an object with at least { size }');
  }
  const { size } = options;
  if (typeof size !== 'number') throw new TypeError(`generateNvsPartition: options.size must be a number, got ${typeof size}`);
  checkPartitionSize(size);
  const version = options.version ?? 2;
  if (version !== 1 && version !== 2) {
    throw new RangeError(`generateNvsPartition: options.version must be 1 or 2, got ${String(version)}`);
  }
  if (options.readFile !== undefined && typeof options.readFile !== 'function') {
    throw new TypeError('generateNvsPartition: options.readFile must be a function');
  }

  const readOnly = size < 3 * PAGE_SIZE;
  const dataPages = readOnly ? size / PAGE_SIZE : size / PAGE_SIZE - 1;
  const gen = new Generator(options, version, readOnly ? dataPages * PAGE_SIZE : size, dataPages, texts.length);
  try {
    gen.run(texts);
  } catch (e) {
    if (e instanceof PartitionFull) throw gen.tooSmall(texts);
    throw e;
  }
  return gen.result(readOnly);
}

/**
 * Checks a partition size the way the tool's `check_size` does.
 * @throws {NvsGenerateError} `NVS_BAD_SIZE`
 */
export function checkPartitionSize(size: number): void {
  const shown = Number.isFinite(size) ? `${size} (0x${size.toString(16)})` : String(size);
  if (!Number.isSafeInteger(size) || size % PAGE_SIZE !== 0) {
    throw new NvsGenerateError(
      'NVS_BAD_SIZE',
      `Partition size ${shown} is not a multiple of 4096: give the size of the nvs partition from the partition table, e.g. 0x6000`,
    );
  }
  if (size < PAGE_SIZE) {
    throw new NvsGenerateError(
      'NVS_BAD_SIZE',
      `Partition size ${shown} is too small: the minimum is 0x3000 for a read/write NVS partition and 0x1000 for a read-only one`,
    );
  }
}

interface RowContext {
  source: string;
  input: number | undefined;
  line: number;
  key: string | undefined;
}

/** One generation run: the tool's NVS object state plus the row handling. */
class Generator {
  private readonly writer: PageWriter;
  private readonly options: GenerateOptions;
  private readonly v1: boolean;
  private readonly inputCount: number;
  private readonly scratch = new Scratch();
  private readonly data8 = new Uint8Array(8);
  private readonly keyBuf = new Uint8Array(16);
  private readonly namespaceIndex = new Map<string, number>();
  private readonly namespaces: string[] = [];
  private items = 0;
  private staAdded = false;
  private pmkAdded = false;
  private readonly ap = new Map<string, string | Uint8Array>();
  private readonly ctx: RowContext = { source: 'CSV', input: undefined, line: 0, key: undefined };
  private readonly dataPages: number;

  constructor(options: GenerateOptions, version: 1 | 2, imageSize: number, dataPages: number, inputCount: number) {
    this.options = options;
    this.v1 = version === 1;
    this.inputCount = inputCount;
    this.dataPages = dataPages;
    this.writer = new PageWriter(imageSize, dataPages, version === 1 ? FORMAT_VERSION.V1 : FORMAT_VERSION.V2);
  }

  run(texts: string[]): void {
    this.writer.openPage(); // the tool opens the first page before reading any row
    for (let i = 0; i < texts.length; i++) {
      const input = this.inputCount > 1 ? i + 1 : undefined;
      const source = this.options.inputNames?.[i] ?? (input === undefined ? 'CSV' : `input ${input}`);
      const rows = parseCsv(texts[i]!, { source, ...(input === undefined ? {} : { input }) });
      const ctx = this.ctx;
      ctx.source = source;
      ctx.input = input;
      for (const row of rows) {
        ctx.line = row.line;
        ctx.key = row.key ?? undefined;
        this.row(row);
      }
    }
  }

  result(readOnly: boolean): GenerateResult {
    const w = this.writer;
    const image = readOnly ? w.image.slice(0, w.pages * PAGE_SIZE) : w.image;
    return {
      image,
      readOnly,
      pagesTotal: this.options.size / PAGE_SIZE,
      pagesUsed: w.pages,
      entriesUsed: w.entriesUsed,
      namespaces: [...this.namespaces],
      items: this.items,
    };
  }

  /** The error for data that does not fit, with the size that would be needed when it can be measured. */
  tooSmall(texts: string[]): NvsGenerateError {
    const size = this.options.size;
    const hold = this.dataPages === 1 ? '1 page' : `${this.dataPages} pages`;
    const spare = size >= 3 * PAGE_SIZE ? ' (one page is kept free for the runtime)' : '';
    let need = '';
    try {
      const probe = new Generator(this.options, this.v1 ? 1 : 2, PAGE_SIZE * 16, PROBE_PAGES, texts.length);
      probe.run(texts);
      const pages = probe.writer.pages;
      const least = Math.max(3, pages + 1) * PAGE_SIZE;
      need = `: the data needs ${pages} pages, so use a size of at least 0x${least.toString(16)}`;
    } catch (e) {
      // The probe fails only where the real run would (a bad row is reported by that run itself).
      if (!(e instanceof PartitionFull || e instanceof NvsGenerateError || e instanceof TooManyChunks)) throw e;
      need = ': use a larger size';
    }
    return this.fail(
      'NVS_PARTITION_TOO_SMALL',
      `the data does not fit in a 0x${size.toString(16)}-byte partition, which holds ${hold} of data${spare}${need}`,
    );
  }

  private fail(code: NvsGenerateErrorCode, what: string, cause?: unknown): NvsGenerateError {
    const { source, input, line, key } = this.ctx;
    const where = key === undefined ? `${source} row ${line}` : `${source} row ${line} (key "${key}")`;
    const context: NvsGenerateErrorContext = { line };
    if (input !== undefined) context.input = input;
    if (key !== undefined) context.key = key;
    return new NvsGenerateError(code, `${where}: ${what}`, context, cause);
  }

  private row(row: NvsCsvRow): void {
    const key = row.key;
    if (key === null) throw this.fail('NVS_CSV_SYNTAX', 'the row has no key field: give all four columns key,type,encoding,value');
    if (codePointLength(key) > MAX_KEY_LENGTH) {
      throw this.fail(
        'NVS_KEY_TOO_LONG',
        `the key is ${codePointLength(key)} characters long; keys and namespace names may have at most ${MAX_KEY_LENGTH}: shorten it`,
      );
    }
    if (!isAscii(key)) {
      throw this.fail(
        'NVS_BAD_KEY',
        'the key is not plain ASCII, and the reference tool writes a corrupt entry for such keys: use ASCII letters, digits and punctuation only',
      );
    }
    let value: string | Uint8Array | null = row.value;
    if (row.type === 'file') value = this.readFile(row.value);
    if (row.type === 'namespace') {
      this.namespace(key);
      return;
    }
    const encoding = row.encoding;
    if (encoding === null) {
      throw this.fail('NVS_CSV_SYNTAX', 'the row has no encoding field: give all four columns key,type,encoding,value');
    }
    if (AP_KEYS.has(key) && value !== null) {
      this.ap.set(key, value);
      this.maybeAddPmkInfo();
    }
    this.data(key, value, encoding);
    if (STA_TRIGGERS.has(key) && !this.staAdded) {
      this.staAdded = true;
      const info = this.scratch.ensure(140).fill(0xff, 0, 140);
      this.blob(this.key('sta.apinfo'), info, 0, 140);
      this.blob(this.key('sta.pmk'), this.scratch.ensure(32).fill(0, 0, 32), 0, 32);
      this.blob(this.key('sta.apsw'), this.scratch.ensure(2).fill(0, 0, 2), 0, 2);
    }
  }

  /** The 16-byte, zero-padded key field of an ASCII key (reused buffer: valid until the next call). */
  private key(key: string): Uint8Array {
    const out = this.keyBuf.fill(0);
    for (let i = 0; i < key.length; i++) out[i] = key.charCodeAt(i);
    return out;
  }

  private readFile(path: string | null): Uint8Array {
    if (path === null) throw this.fail('NVS_CSV_SYNTAX', 'the file row has no value field: give the path of the file');
    const read = this.options.readFile;
    if (read === undefined) {
      throw this.fail(
        'NVS_FILE_READ',
        `the row reads the file "${path}" but no readFile option was given: pass one (the CLI reads files relative to the working directory)`,
      );
    }
    let bytes: unknown;
    try {
      bytes = read(path);
    } catch (e) {
      const reason = errorMessage(e);
      throw this.fail('NVS_FILE_READ', `cannot read the file "${path}" (${reason}): check the path; it is relative to the working directory`, e);
    }
    if (!(bytes instanceof Uint8Array)) {
      throw new TypeError(`generateNvsPartition: readFile("${path}") must return a Uint8Array`);
    }
    return bytes;
  }

  private namespace(name: string): void {
    if (this.namespaceIndex.has(name)) return; // the tool only looks the index up and keeps using the newest
    if (this.namespaces.length >= MAX_NAMESPACES) {
      throw this.fail('NVS_TOO_MANY_NAMESPACES', `a partition holds at most ${MAX_NAMESPACES} namespaces: merge some of them`);
    }
    const index = this.namespaces.length + 1;
    this.namespaceIndex.set(name, index);
    this.namespaces.push(name);
    this.writer.writeFixed(0, ItemType.U8, this.key(name), encodeFixedValue(ItemType.U8, index, this.data8));
  }

  /** Namespace index of data rows: always the newest namespace created (0 before any). */
  private get nsIndex(): number {
    return this.namespaces.length;
  }

  private data(key: string, value: string | Uint8Array | null, encoding: string): void {
    const fill = parseFillEncoding(encoding);
    if (typeof fill === 'string') throw this.fail('NVS_UNKNOWN_ENCODING', `bad fill encoding "${encoding}": ${fill}`);
    if (fill === null && Object.hasOwn(INT_TYPES, encoding.toLowerCase())) {
      this.integer(key, value, encoding);
      return;
    }
    const lower = encoding.toLowerCase();
    if (fill === null && lower !== 'string' && lower !== 'hex2bin' && lower !== 'base64' && lower !== 'binary') {
      throw this.fail(
        'NVS_UNKNOWN_ENCODING',
        `unknown encoding "${encoding}": use u8, i8, u16, i16, u32, i32, u64, i64, string, hex2bin, base64, binary, blob_fill(N;0xPP) or blob_sz_fill(N;0xPP)`,
      );
    }
    if (value === null) throw this.fail('NVS_CSV_SYNTAX', 'the row has no value field: give all four columns key,type,encoding,value');
    const keyBytes = this.key(key);
    if (fill !== null) {
      const n = this.fillValue(value, fill);
      this.blob(keyBytes, this.scratch.buf, 0, n);
    } else if (encoding === 'string') {
      const n = this.stringValue(value);
      this.string(keyBytes, this.scratch.buf, 0, n);
    } else if (lower === 'string') {
      // An upper-case STRING skips the conversion: the text itself, without a NUL.
      const [src, n] = this.rawValue(value, encoding);
      this.string(keyBytes, src, 0, n);
    } else if (encoding === 'hex2bin') {
      const n = this.hexValue(value);
      this.blob(keyBytes, this.scratch.buf, 0, n);
    } else if (encoding === 'base64') {
      const n = this.base64Value(value);
      this.blob(keyBytes, this.scratch.buf, 0, n);
    } else {
      // binary, and upper-case HEX2BIN/BASE64/BINARY, which store the text itself.
      const [src, n] = this.rawValue(value, encoding);
      this.blob(keyBytes, src, 0, n);
    }
  }

  private integer(key: string, value: string | Uint8Array | null, encoding: string): void {
    const spec = INT_TYPES[encoding.toLowerCase()]!;
    const name = encoding.toLowerCase();
    if (value === null) throw this.fail('NVS_CSV_SYNTAX', 'the row has no value field: give all four columns key,type,encoding,value');
    const text = typeof value === 'string' ? value : latin1(value);
    if (PLAIN_INT.test(text)) {
      // Fast path for plain decimals (almost every row): exact as a double, checked as a bigint.
      const n = Number(text);
      const v = spec.type === ItemType.U64 || spec.type === ItemType.I64 ? BigInt(n) : n;
      if (v >= spec.min && v <= spec.max) {
        this.writer.writeFixed(this.nsIndex, spec.type, this.key(key), encodeFixedValue(spec.type, v, this.data8));
        this.items++;
        return;
      }
    }
    const parsed = pyInt(text, typeof value !== 'string');
    if (typeof parsed === 'string') {
      throw this.fail('NVS_CSV_BAD_VALUE', `cannot read ${JSON.stringify(text.slice(0, 40))} as ${name}: ${parsed}; write it in decimal, e.g. 16 rather than 0x10`);
    }
    if (parsed < spec.min || parsed > spec.max) {
      throw this.fail('NVS_CSV_BAD_VALUE', `${parsed} is out of range for ${name} (${spec.min}..${spec.max}): use a wider type or fix the value`);
    }
    this.writer.writeFixed(this.nsIndex, spec.type, this.key(key), encodeFixedValue(spec.type, parsed, this.data8));
    this.items++;
  }

  /** UTF-8 of a `string` value plus a NUL, into the scratch buffer. */
  private stringValue(value: string | Uint8Array): number {
    if (typeof value !== 'string') {
      try {
        utf8Strict.decode(value);
      } catch (e) {
        throw this.fail('NVS_CSV_BAD_VALUE', 'the file is not valid UTF-8 text, which the string encoding needs: use binary, or save the file as UTF-8', e);
      }
      const out = this.scratch.ensure(value.length + 1);
      out.set(value);
      out[value.length] = 0;
      return value.length + 1;
    }
    const out = this.scratch.ensure(value.length * 3 + 1);
    const { written } = utf8.encodeInto(value, out);
    out[written] = 0;
    return written + 1;
  }

  /** The value stored as is (upper-case encodings, binary): file bytes, or ASCII text. */
  private rawValue(value: string | Uint8Array, encoding: string): [Uint8Array, number] {
    if (typeof value !== 'string') return [value, value.length];
    if (!isAscii(value)) {
      throw this.fail(
        'NVS_CSV_BAD_VALUE',
        `the ${encoding} encoding stores the text as is, and the reference tool writes a wrong size for non-ASCII text: use the lower-case string encoding, hex2bin or base64, or a file row`,
      );
    }
    const out = this.scratch.ensure(value.length);
    for (let i = 0; i < value.length; i++) out[i] = value.charCodeAt(i);
    return [out, value.length];
  }

  private hexValue(value: string | Uint8Array): number {
    const text = typeof value === 'string' ? pyStrip(value) : asciiStrip(latin1(value));
    // Python checks len() in code points; a text where that differs from .length is not hex anyway.
    if (text.length % 2 !== 0) {
      throw this.fail('NVS_CSV_BAD_VALUE', `the hex2bin value has an odd number of digits (${text.length}): hex needs two digits per byte`);
    }
    const n = decodeHexInto(text, this.scratch.ensure(text.length >>> 1));
    if (typeof n === 'string') throw this.fail('NVS_CSV_BAD_VALUE', `the hex2bin value is not hex: ${n}`);
    return n;
  }

  private base64Value(value: string | Uint8Array): number {
    const text = typeof value === 'string' ? value : latin1(value);
    const n = decodeBase64Into(text, this.scratch.ensure(Math.ceil((text.length * 3) / 4) + 3), typeof value !== 'string');
    if (typeof n === 'string') throw this.fail('NVS_CSV_BAD_VALUE', `the base64 value cannot be decoded: ${n}`);
    return n;
  }

  /** A fill encoding's bytes (value padded to N, after a u32 length for blob_sz_fill), into the scratch buffer. */
  private fillValue(value: string | Uint8Array, fill: FillEncoding): number {
    const bytes = typeof value === 'string' ? utf8.encode(value) : value;
    if (bytes.length > fill.size) {
      throw this.fail(
        'NVS_CSV_BAD_VALUE',
        `the value is ${bytes.length} bytes, longer than the ${fill.size} bytes of its fill encoding: shorten the value or raise N`,
      );
    }
    const head = fill.withSize ? 4 : 0;
    const total = head + fill.size;
    if (total > this.dataPages * PAGE_SIZE) throw new PartitionFull();
    const out = this.scratch.ensure(total);
    if (fill.withSize) {
      out[0] = bytes.length & 0xff;
      out[1] = (bytes.length >>> 8) & 0xff;
      out[2] = (bytes.length >>> 16) & 0xff;
      out[3] = (bytes.length >>> 24) & 0xff;
    }
    out.set(bytes, head);
    out.fill(fill.fill, head + bytes.length, total);
    return total;
  }

  /** A string item (SZ) on one page. */
  private string(key: Uint8Array, src: Uint8Array, start: number, size: number): void {
    const limit = this.v1 ? MAX_V1_SIZE : MAX_SINGLE_PAGE;
    if (size > limit) {
      const why = this.v1
        ? 'format version 1 allows at most 1984 bytes'
        : `the generator places a string only on a single page, at most ${MAX_SINGLE_PAGE} bytes including the NUL${size <= MAX_STRING_V2 ? ' (the reference tool crashes on 3969..4000)' : ''}`;
      throw this.fail('NVS_VALUE_TOO_LONG', `the string is ${size} bytes; ${why}: store it as a blob (hex2bin, base64 or binary) instead`);
    }
    this.writer.writeSinglePage(this.nsIndex, ItemType.SZ, key, src, start, size);
    this.items++;
  }

  /** A blob: chunked (version 2) or one BLOB item (version 1). */
  private blob(key: Uint8Array, src: Uint8Array, start: number, size: number): void {
    if (this.v1) {
      if (size > MAX_V1_SIZE) {
        throw this.fail(
          'NVS_VALUE_TOO_LONG',
          `the blob is ${size} bytes; format version 1 allows at most ${MAX_V1_SIZE}: use --version 2 (multi-page blobs) or split the value`,
        );
      }
      this.writer.writeSinglePage(this.nsIndex, ItemType.BLOB, key, src, start, size);
    } else {
      if (size > this.dataPages * PAGE_SIZE) throw new PartitionFull();
      try {
        this.writer.writeBlobV2(this.nsIndex, key, src, start, size);
      } catch (e) {
        if (!(e instanceof TooManyChunks)) throw e;
        throw this.fail(
          'NVS_VALUE_TOO_LONG',
          `the blob is ${size} bytes and would need more than ${MAX_CHUNKS} chunks (about ${MAX_CHUNKS * 4000} bytes), which the NVS runtime rejects: split it into several keys`,
        );
      }
    }
    this.items++;
  }

  /** The tool's `ap.pmk_info`: once ap.ssid, ap.passwd and an ap.authmode other than "0" are known. */
  private maybeAddPmkInfo(): void {
    if (this.pmkAdded) return;
    const ssid = this.ap.get('ap.ssid');
    const passwd = this.ap.get('ap.passwd');
    const authmode = this.ap.get('ap.authmode');
    if (ssid === undefined || passwd === undefined || authmode === undefined) return;
    if ((typeof authmode === 'string' ? authmode : latin1(authmode)) === '0') return;
    const crypto = this.options.crypto;
    if (crypto === undefined) {
      throw this.fail(
        'NVS_CRYPTO_REQUIRED',
        'the Wi-Fi AP keys make the generator add ap.pmk_info (PBKDF2-HMAC-SHA1), which needs a crypto provider: pass options.crypto (nodeCrypto from nvsec/node)',
      );
    }
    this.pmkAdded = true;
    const bytes = (v: string | Uint8Array): Uint8Array => (typeof v === 'string' ? utf8.encode(v) : v);
    const pmk = crypto.pbkdf2('sha1', bytes(passwd), bytes(ssid), 4096, 32);
    const info = this.scratch.ensure(132).fill(0, 0, 100);
    info.set(pmk.subarray(0, 32), 100);
    pmk.fill(0);
    this.blob(this.key('ap.pmk_info'), info, 0, 132);
    info.fill(0, 0, 132);
    for (const v of this.ap.values()) if (v instanceof Uint8Array) v.fill(0);
    this.ap.clear();
  }
}

const utf8 = /* @__PURE__ */ new TextEncoder();
const utf8Strict = /* @__PURE__ */ new TextDecoder('utf-8', { fatal: true });
