import { SUBTYPES, TYPES } from './constants.js';
import { PartitionTableError } from './partition-table-error.js';

/** A subtype keyword added with `--extra-partition-subtypes` (ESP-IDF's extra_partition_subtypes.inc). */
export interface ExtraSubtype {
  /** Type keyword the subtype belongs to: app, data, bootloader or partition_table. */
  readonly type: string;
  /** The new keyword. */
  readonly name: string;
  /** Its value. */
  readonly subtype: number;
}

/** Subtype keyword tables per type code, in the tool's order. */
export type SubtypeTable = Readonly<Record<number, Readonly<Record<string, number>>>>;

/**
 * Reads `--extra-partition-subtypes` arguments in the tool's format `TYPE,NAME,HEXVALUE`
 * (e.g. `data,my_store,0x40`; the value is hexadecimal with or without 0x).
 *
 * @throws {PartitionTableError} `PT_CONFIG` when an argument has fewer than three fields or its
 *   value is not hexadecimal
 * @example
 * parseExtraSubtypes(['data,my_store,40']); // [{ type: 'data', name: 'my_store', subtype: 0x40 }]
 */
export function parseExtraSubtypes(specs: readonly string[]): ExtraSubtype[] {
  return specs.map((spec) => {
    const fields = spec.split(',').map((f) => f.trim());
    if (fields.length < 3) {
      throw new PartitionTableError('PT_CONFIG', `Error parsing custom subtypes: '${spec}' must be TYPE,NAME,HEXVALUE (e.g. data,my_store,0x40)`);
    }
    const m = /^([+-]?)(?:0[xX])?((?:_?[0-9a-fA-F])+)$/.exec(fields[2]!);
    if (!m || m[2]!.startsWith('_')) {
      throw new PartitionTableError('PT_CONFIG', `Error parsing custom subtypes: value '${fields[2]}' of '${spec}' is not hexadecimal`);
    }
    const value = Number.parseInt(m[2]!.replace(/_/g, ''), 16) * (m[1] === '-' ? -1 : 1);
    return { type: fields[0]!, name: fields[1]!, subtype: value };
  });
}

/**
 * The subtype keyword tables with `extra` added in order, as the tool extends its table: a value
 * already used by that type is refused, an existing name gets the new value.
 *
 * @throws {PartitionTableError} `PT_CONFIG` "Error parsing custom subtypes: Invalid partition
 *   type" for a type that is not a keyword, "Found duplicate value in partition subtype" for a
 *   value the type already has
 * @example
 * subtypeTable([{ type: 'data', name: 'my_store', subtype: 0x40 }])[1]!['my_store']; // 0x40
 */
export function subtypeTable(extra: readonly ExtraSubtype[] = []): SubtypeTable {
  if (extra.length === 0) return SUBTYPES;
  const table: Record<number, Record<string, number>> = {};
  for (const [k, v] of Object.entries(SUBTYPES)) table[Number(k)] = { ...v };
  for (const x of extra) {
    if (!Object.prototype.hasOwnProperty.call(TYPES, x.type)) {
      throw new PartitionTableError('PT_CONFIG', 'Error parsing custom subtypes: Invalid partition type');
    }
    const names = table[TYPES[x.type]!]!;
    if (Object.values(names).includes(x.subtype)) {
      throw new PartitionTableError('PT_CONFIG', 'Found duplicate value in partition subtype');
    }
    names[x.name] = x.subtype;
  }
  for (const v of Object.values(table)) Object.freeze(v);
  return Object.freeze(table);
}
