import { codePointLength } from './_values.js';
import { NvsGenerateError } from './generate-error.js';

/**
 * One data row of a generator CSV, as Python's `csv.DictReader` hands it to
 * `esp-idf-nvs-partition-gen`: the four columns by header name, `null` where the row has fewer
 * fields than the header (DictReader's `restval`). Nothing is trimmed.
 */
export interface NvsCsvRow {
  /** 1-based physical line, in the original text, where the row starts. */
  line: number;
  key: string | null;
  type: string | null;
  encoding: string | null;
  value: string | null;
}

/** Options of {@link parseCsv}. */
export interface ParseCsvOptions {
  /** Name of the input used in error messages (a file name, or `input 2`). Default `CSV`. */
  source?: string;
  /** 1-based input index recorded in errors, when several inputs are processed. */
  input?: number;
}

/** Python's `csv.field_size_limit()` default: a longer field makes the reference tool crash. */
export const CSV_FIELD_LIMIT = 131072;

const QUOTE = 0x22;
const COMMA = 0x2c;
const HASH = 0x23;
const LF = 0x0a;
const CR = 0x0d;

// States of CPython's _csv reader (excel dialect: no escape char, doublequote, not strict).
const START_RECORD = 0;
const START_FIELD = 1;
const IN_FIELD = 2;
const IN_QUOTED_FIELD = 3;
const QUOTE_IN_QUOTED_FIELD = 4;
const EAT_CRNL = 5;

const COLUMNS = ['key', 'type', 'encoding', 'value'] as const;

interface RawRecord {
  line: number;
  fields: string[];
}

/**
 * Parses generator CSV text exactly the way `esp-idf-nvs-partition-gen` 0.2.0 reads it: the text
 * is split into lines with universal newlines (`\r\n`, `\r` and `\n` all end a line and read as
 * `\n`), every line whose first character is `#` is dropped (even inside a quoted value), and the
 * rest goes through Python's `csv.DictReader`: `,` separator, `"` quoting with `""` for a quote,
 * quoted values may hold commas and newlines, blank lines are skipped, nothing is trimmed. The
 * first record is the header; columns are matched by name, so their order is free and extra
 * columns are ignored. A header without `key`, `type`, `encoding` and `value` is an error only
 * when data rows follow (the tool fails on the first row).
 *
 * @param text the CSV text (already decoded from UTF-8)
 * @returns the data rows in order, with the line each starts on
 * @throws {TypeError} when `text` is not a string
 * @throws {NvsGenerateError} `NVS_CSV_SYNTAX` for a header that lacks a column, or a field longer
 *   than 131072 characters (Python's csv limit)
 * @example
 * parseCsv('key,type,encoding,value\nns,namespace,,\ngreeting,data,string,"hi, ""you"""\n');
 * // → [{ line: 2, key: 'ns', type: 'namespace', … }, { line: 3, key: 'greeting', value: 'hi, "you"', … }]
 */
export function parseCsv(text: string, options: ParseCsvOptions = {}): NvsCsvRow[] {
  if (typeof text !== 'string') throw new TypeError(`parseCsv: text must be a string, got ${typeof text}`);
  const source = options.source ?? 'CSV';
  const records = readRecords(text, source, options.input);
  if (records.length === 0) return [];
  const header = records[0]!.fields;
  const rows: NvsCsvRow[] = [];
  let columns: number[] | null = null;
  for (let r = 1; r < records.length; r++) {
    const rec = records[r]!;
    if (rec.fields.length === 0) continue; // DictReader skips blank rows
    columns ??= headerColumns(header, source, records[0]!.line, options.input);
    const f = rec.fields;
    rows.push({
      line: rec.line,
      key: f[columns[0]!] ?? null,
      type: f[columns[1]!] ?? null,
      encoding: f[columns[2]!] ?? null,
      value: f[columns[3]!] ?? null,
    });
  }
  return rows;
}

/**
 * Column index of key, type, encoding and value, the way `dict(zip(header, row))` resolves them:
 * with a repeated name the last column wins.
 */
function headerColumns(header: string[], source: string, line: number, input: number | undefined): number[] {
  const out: number[] = [];
  const missing: string[] = [];
  for (const name of COLUMNS) {
    const idx = header.lastIndexOf(name);
    if (idx < 0) missing.push(name);
    out.push(idx);
  }
  if (missing.length > 0) {
    const found = header.length === 0 ? 'an empty line' : JSON.stringify(header.join(','));
    const bom = header[0]?.startsWith('\ufeff') ? ' (it starts with a UTF-8 byte-order mark: save the file without one)' : '';
    throw new NvsGenerateError(
      'NVS_CSV_SYNTAX',
      `${source} line ${line}: the header must name the columns key,type,encoding,value; found ${found}${bom}, missing ${missing.join(', ')}. Put the line "key,type,encoding,value" first`,
      { ...(input === undefined ? {} : { input }), line },
    );
  }
  return out;
}

/** CPython's csv reader over the comment-filtered lines: every record, blank ones included. */
function readRecords(text: string, source: string, input: number | undefined): RawRecord[] {
  const records: RawRecord[] = [];
  let fields: string[] = [];
  let field = '';
  let state = START_RECORD;
  let recordLine = 1;
  let lineNo = 0;
  let pos = 0;
  const len = text.length;

  const save = (): void => {
    if (field.length > CSV_FIELD_LIMIT && codePointLength(field) > CSV_FIELD_LIMIT) {
      throw new NvsGenerateError(
        'NVS_CSV_SYNTAX',
        `${source} row ${recordLine}: field ${fields.length + 1} is longer than ${CSV_FIELD_LIMIT} characters, which the reference tool's CSV reader refuses. Put large values in a file and use a "file" row`,
        { ...(input === undefined ? {} : { input }), line: recordLine },
      );
    }
    fields.push(field);
    field = '';
  };

  const hasCR = text.indexOf('\r') >= 0;
  while (pos < len) {
    lineNo++;
    const start = pos;
    let end: number;
    if (hasCR) {
      end = start;
      while (end < len) {
        const c = text.charCodeAt(end);
        if (c === LF || c === CR) break;
        end++;
      }
    } else {
      end = text.indexOf('\n', start);
      if (end < 0) end = len;
    }
    const hasNewline = end < len;
    pos = end;
    if (hasNewline) pos += text.charCodeAt(end) === CR && text.charCodeAt(end + 1) === LF ? 2 : 1;
    if (text.charCodeAt(start) === HASH) continue; // comment line, dropped before CSV parsing
    if (state === START_RECORD) recordLine = lineNo;

    let i = start;
    while (i < end) {
      switch (state) {
        case START_RECORD:
        case START_FIELD: {
          const c = text.charCodeAt(i);
          if (c === QUOTE) {
            state = IN_QUOTED_FIELD;
            i++;
          } else if (c === COMMA) {
            save();
            state = START_FIELD;
            i++;
          } else {
            state = IN_FIELD; // the character is read again as part of the field
          }
          break;
        }
        case IN_FIELD: {
          let j = text.indexOf(',', i);
          if (j < 0 || j > end) j = end;
          field += text.slice(i, j);
          if (j < end) {
            save();
            state = START_FIELD;
            i = j + 1;
          } else {
            i = end;
          }
          break;
        }
        case IN_QUOTED_FIELD: {
          let j = text.indexOf('"', i);
          if (j < 0 || j > end) j = end;
          field += text.slice(i, j);
          if (j < end) {
            state = QUOTE_IN_QUOTED_FIELD;
            i = j + 1;
          } else {
            i = end;
          }
          break;
        }
        case QUOTE_IN_QUOTED_FIELD: {
          const c = text.charCodeAt(i);
          if (c === QUOTE) {
            field += '"';
            state = IN_QUOTED_FIELD;
            i++;
          } else if (c === COMMA) {
            save();
            state = START_FIELD;
            i++;
          } else {
            state = IN_FIELD; // not strict: the character is kept and the field goes on unquoted
          }
          break;
        }
        default:
          // EAT_CRNL cannot see an ordinary character: every line ends with a newline and EOL.
          throw new Error('unreachable csv state');
      }
    }

    // The line's newline, read as "\n" (universal newlines), then the end-of-line marker.
    if (hasNewline) {
      switch (state) {
        case START_RECORD:
          state = EAT_CRNL;
          break;
        case START_FIELD:
        case IN_FIELD:
        case QUOTE_IN_QUOTED_FIELD:
          save();
          state = EAT_CRNL;
          break;
        case IN_QUOTED_FIELD:
          field += '\n';
          break;
      }
    }
    switch (state) {
      case START_FIELD:
      case IN_FIELD:
      case QUOTE_IN_QUOTED_FIELD:
        save();
        state = START_RECORD;
        break;
      case EAT_CRNL:
        state = START_RECORD;
        break;
    }
    if (state === START_RECORD) {
      records.push({ line: recordLine, fields });
      fields = [];
    }
  }
  // End of input inside a quoted field: Python (not strict) keeps what it has.
  if (state === IN_QUOTED_FIELD || field.length > 0) {
    save();
    records.push({ line: recordLine, fields });
  }
  return records;
}
