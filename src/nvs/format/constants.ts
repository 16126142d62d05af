/** Bytes in a page (one flash sector). */
export const PAGE_SIZE = 4096;
/** Bytes in an entry slot. */
export const ENTRY_SIZE = 32;
/** Entries per page. */
export const ENTRY_COUNT = 126;
/** Offset of the entry-state bitmap in a page. */
export const BITMAP_OFFSET = 32;
/** Offset of entry 0 in a page. */
export const ENTRY_DATA_OFFSET = 64;
/** Longest key or namespace name, in characters. */
export const MAX_KEY_LENGTH = 15;
/** Largest payload of one variable-length item (string, v1 blob or blob chunk). */
export const CHUNK_MAX_SIZE = 4000;
/** Largest string the runtime accepts, NUL included. */
export const MAX_STRING_SIZE = 4000;
/** Namespace index of the namespace table. */
export const NS_INDEX = 0;
/** Wildcard namespace index (memory only). */
export const NS_ANY = 255;
/** chunkIndex of every item that is not a BLOB_DATA chunk. */
export const CHUNK_ANY = 0xff;
/** Largest value of a BLOB_IDX totalSize (127 chunks of 125 entries). */
export const BLOB_MAX_TOTAL_SIZE = 127 * 125 * 32;

/** Format version byte in the page header: 0xFE = version 2 (chunked blobs), 0xFF = version 1. */
export const FORMAT_VERSION = Object.freeze({ V1: 0xff, V2: 0xfe });

/** Page state word values (a transition only clears bits). */
export const PageState = Object.freeze({
  UNINITIALIZED: 0xffffffff,
  ACTIVE: 0xfffffffe,
  FULL: 0xfffffffc,
  FREEING: 0xfffffff8,
  CORRUPT: 0xfffffff0,
});
export type PageStateName = keyof typeof PageState;

/** 2-bit entry states in the page bitmap. */
export const EntryState = Object.freeze({ EMPTY: 0b11, WRITTEN: 0b10, ERASED: 0b00, ILLEGAL: 0b01 });

/** Item type codes, with the reference names. The low nibble of a fixed-size type is its size. */
export const ItemType = Object.freeze({
  U8: 0x01,
  I8: 0x11,
  U16: 0x02,
  I16: 0x12,
  U32: 0x04,
  I32: 0x14,
  U64: 0x08,
  I64: 0x18,
  FLOAT: 0x24,
  DOUBLE: 0x28,
  SZ: 0x21,
  BLOB: 0x41,
  BLOB_DATA: 0x42,
  BLOB_IDX: 0x48,
  ANY: 0xff,
});

/** Blob version offsets (chunkStart of a BLOB_IDX). */
export const VerOffset = Object.freeze({ VER_0_OFFSET: 0x00, VER_1_OFFSET: 0x80, VER_ANY: 0xff });

/** True for SZ, BLOB and BLOB_DATA: a header entry followed by payload entries. */
export function isVariableLengthType(type: number): boolean {
  return type === ItemType.SZ || type === ItemType.BLOB || type === ItemType.BLOB_DATA;
}

/** True for the integer and floating-point types stored in the 8-byte data field. */
export function isFixedSizeType(type: number): boolean {
  switch (type) {
    case ItemType.U8:
    case ItemType.I8:
    case ItemType.U16:
    case ItemType.I16:
    case ItemType.U32:
    case ItemType.I32:
    case ItemType.U64:
    case ItemType.I64:
    case ItemType.FLOAT:
    case ItemType.DOUBLE:
      return true;
    default:
      return false;
  }
}

/** True for any type code a valid entry may carry. */
export function isKnownType(type: number): boolean {
  return isFixedSizeType(type) || isVariableLengthType(type) || type === ItemType.BLOB_IDX;
}
