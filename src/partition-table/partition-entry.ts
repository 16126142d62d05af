/** The flags of a partition entry (binary flags word: bit 0 encrypted, bit 1 readonly). */
export interface PartitionFlags {
  /** Flash encryption encrypts this partition (the `encrypted` CSV flag). */
  readonly encrypted: boolean;
  /** The partition is mounted read-only (the `readonly` CSV flag). */
  readonly readonly: boolean;
}

/**
 * One partition of a table, as the CSV describes it and the binary stores it: every number is
 * resolved (offset filled in, negative size turned into a length).
 *
 * @example
 * const nvs: PartitionEntry = { name: 'nvs', type: 1, subtype: 2, offset: 0x9000, size: 0x6000,
 *   flags: { encrypted: false, readonly: false } };
 */
export interface PartitionEntry {
  /** Label (at most 16 bytes of UTF-8 are stored; longer names are truncated in the binary). */
  readonly name: string;
  /** Type code: 0 app, 1 data, 2 bootloader, 3 partition_table, 0x40..0xFE custom. */
  readonly type: number;
  /** Subtype code (see SUBTYPES). */
  readonly subtype: number;
  /** Absolute flash offset in bytes. */
  readonly offset: number;
  /** Length in bytes. */
  readonly size: number;
  /** Flags. */
  readonly flags: PartitionFlags;
  /** 1-based CSV line the entry came from (absent for entries decoded from a binary). */
  readonly line?: number;
}

/** Flags with neither bit set. */
export const NO_FLAGS: PartitionFlags = Object.freeze({ encrypted: false, readonly: false });
