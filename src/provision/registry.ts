import { NvsecError } from '../errors/nvsec-error.js';

/** Status of a device in the registry. */
export type DeviceStatus = 'active' | 'revoked';

/** State of a provisioning batch: `open` while devices are being made, `complete` once all are recorded. */
export type BatchState = 'open' | 'complete';

/** What the provisioning pipeline records for a device once its bundle is complete and flushed. */
export interface NewDevice {
  /** The device id, unique in the registry (e.g. `dev-000001` or a UUID). */
  readonly id: string;
  /** The device certificate's serial number as hex (any case, leading zeros allowed; stored canonical). */
  readonly serial: string;
  /** SHA-256 (64 hex digits) of the device's NV seed: never the seed itself. */
  readonly seedHash: string;
  /** SHA-256 (64 hex digits) of the device certificate's DER. */
  readonly certSha256: string;
  /** The batch the device belongs to (opened with {@link DeviceRegistry.openBatch}). */
  readonly batchId: string;
  /** The device's bundle folder, relative to the batch's output folder (e.g. `dev-000001`). */
  readonly bundlePath: string;
}

/** A device as the registry holds it. Times are ISO 8601 strings in UTC. */
export interface DeviceRecord extends NewDevice {
  /** Canonical serial: lowercase hex without leading zeros (see {@link canonicalSerial}). */
  readonly serial: string;
  readonly status: DeviceStatus;
  readonly createdAt: string;
  /** When the device was revoked, or null while it is active. */
  readonly revokedAt: string | null;
  /** Why the device was revoked, or null while it is active. */
  readonly revokeReason: string | null;
}

/** What {@link DeviceRegistry.openBatch} needs to open a batch. */
export interface NewBatch {
  /** The batch id, unique in the registry. */
  readonly id: string;
  /** The factory (`factory.json` id) that makes the batch. */
  readonly factoryId: string;
  /** How many devices the batch is meant to hold. */
  readonly requestedCount: number;
}

/** A certificate issued for a device that was never recorded (see {@link DeviceRegistry.voidCertificate}). */
export interface VoidedCertificate {
  /** The id the device would have had. */
  readonly deviceId: string;
  /** The certificate's serial (hex). */
  readonly serial: string;
  /** SHA-256 (64 hex digits) of the certificate's DER, or null when only the serial is known. */
  readonly certSha256: string | null;
  readonly batchId: string;
  /** Why it is void, e.g. "bundle never recorded (resume)". */
  readonly reason: string;
}

/** A provisioning batch as the registry holds it. Times are ISO 8601 strings in UTC. */
export interface BatchRecord {
  readonly id: string;
  readonly factoryId: string;
  readonly requestedCount: number;
  readonly state: BatchState;
  readonly createdAt: string;
  /** When the batch was completed, or null while it is open. */
  readonly completedAt: string | null;
}

/** Actions the registry writes to its audit log. */
export const REGISTRY_ACTIONS = Object.freeze({
  BATCH_OPEN: 'batch.open',
  DEVICE_RECORD: 'device.record',
  DEVICE_REVOKE: 'device.revoke',
  BATCH_COMPLETE: 'batch.complete',
  CERTIFICATE_VOID: 'certificate.void',
} as const);

/** One of {@link REGISTRY_ACTIONS}' values. */
export type RegistryAction = (typeof REGISTRY_ACTIONS)[keyof typeof REGISTRY_ACTIONS];

/** A JSON value, as audit details hold them. */
export type JsonValue = string | number | boolean | null | readonly JsonValue[] | { readonly [key: string]: JsonValue };

/** One row of the append-only audit log. */
export interface AuditEntry {
  /** Position in the log (1, 2, …): increasing in the order rows were written. */
  readonly seq: number;
  readonly time: string;
  /** Who did it: an operator name, `provision`, `cli:<user>`. */
  readonly actor: string;
  readonly action: RegistryAction;
  /** The device the row is about, or null for batch rows. */
  readonly deviceId: string | null;
  /** The batch the row is about (for device rows, the device's batch). */
  readonly batchId: string;
  /** Facts of the action (never a secret), as JSON. */
  readonly detail: { readonly [key: string]: JsonValue };
}

/** Filter of {@link DeviceRegistry.list}; results are in creation order. */
export interface DeviceFilter {
  readonly status?: DeviceStatus;
  readonly batch?: string;
  /** At most this many rows (default: all). */
  readonly limit?: number;
  /** Skip this many rows first (default 0). */
  readonly offset?: number;
}

/** Filter of {@link DeviceRegistry.auditLog}; results are in log order. */
export interface AuditFilter {
  readonly deviceId?: string;
  readonly batchId?: string;
  readonly action?: RegistryAction;
  readonly limit?: number;
  readonly offset?: number;
}

/** Stable codes of {@link RegistryError}. */
export type RegistryErrorCode =
  | 'REGISTRY_DUPLICATE_ID'
  | 'REGISTRY_DUPLICATE_SERIAL'
  | 'REGISTRY_DUPLICATE_SEED_HASH'
  | 'REGISTRY_DUPLICATE_BATCH'
  | 'REGISTRY_BATCH_COMPLETE'
  | 'REGISTRY_BATCH_FULL'
  | 'REGISTRY_NOT_FOUND'
  | 'REGISTRY_ALREADY_REVOKED'
  | 'REGISTRY_IO'
  | 'REGISTRY_SCHEMA'
  | 'REGISTRY_UNSUPPORTED';

/** The device field a duplicate error is about. */
export type RegistryUniqueField = 'id' | 'serial' | 'seedHash';

/** Extra facts some {@link RegistryError}s carry. */
export interface RegistryErrorDetails {
  /** For the REGISTRY_DUPLICATE_* codes: the field whose value is already taken. */
  readonly field?: RegistryUniqueField;
  /** For REGISTRY_ALREADY_REVOKED: when the device was revoked. */
  readonly revokedAt?: string;
  readonly cause?: unknown;
}

/**
 * A registry operation failed. `code` says how: a unique value already taken
 * (REGISTRY_DUPLICATE_ID / _SERIAL / _SEED_HASH, with `field`; nothing was written), a missing
 * device or batch (REGISTRY_NOT_FOUND), a second revocation (REGISTRY_ALREADY_REVOKED, with
 * `revokedAt`), a batch id taken (REGISTRY_DUPLICATE_BATCH) or a batch already complete
 * (REGISTRY_BATCH_COMPLETE) or already holding the devices it was opened for (REGISTRY_BATCH_FULL), the database failing (REGISTRY_IO), a database this version does not
 * know (REGISTRY_SCHEMA), or a registry kind not supported yet (REGISTRY_UNSUPPORTED).
 *
 * @example
 * try { await registry.recordDevice(device, 'provision'); }
 * catch (e) { if (e instanceof RegistryError && e.field === 'seedHash') stopTheLine(); else throw e; }
 */
export class RegistryError extends NvsecError {
  override readonly code: RegistryErrorCode;
  readonly field: RegistryUniqueField | undefined;
  readonly revokedAt: string | undefined;

  constructor(code: RegistryErrorCode, message: string, details: RegistryErrorDetails = {}) {
    super(code, message, details.cause === undefined ? {} : { cause: details.cause });
    this.name = 'RegistryError';
    this.code = code;
    this.field = details.field;
    this.revokedAt = details.revokedAt;
  }
}

/** The duplicate error code of each unique device field. */
export const DUPLICATE_CODES: Readonly<Record<RegistryUniqueField, RegistryErrorCode>> = Object.freeze({
  id: 'REGISTRY_DUPLICATE_ID',
  serial: 'REGISTRY_DUPLICATE_SERIAL',
  seedHash: 'REGISTRY_DUPLICATE_SEED_HASH',
});

/**
 * Where a factory records its devices: batches, devices (id, certificate serial and NV seed hash
 * each unique) and an append-only audit log. Asynchronous so that a server database can stand in
 * for the embedded SQLite one (`openSqliteRegistry` in `nvsec/node`).
 *
 * @example
 * const registry = await openSqliteRegistry('factory/registry.db');
 * await registry.openBatch({ id: 'b1', factoryId: 'f1', requestedCount: 2 }, 'provision');
 * await registry.recordDevice({ id: 'dev-1', serial: '1f…', seedHash, certSha256, batchId: 'b1', bundlePath: 'dev-1' }, 'provision');
 * if (await registry.isRevoked('1f…')) throw new Error('revoked');
 * await registry.close();
 */
export interface DeviceRegistry {
  /**
   * Opens a new batch (audited as `batch.open`).
   * @throws {RegistryError} REGISTRY_DUPLICATE_BATCH when the id is taken (resume with {@link batch} instead).
   */
  openBatch(batch: NewBatch, actor: string): Promise<BatchRecord>;
  /** The batch `id`, or null when there is none. */
  batch(id: string): Promise<BatchRecord | null>;
  /**
   * The devices recorded in batch `batchId`, in creation order: what `provision --resume` skips.
   * @throws {RegistryError} REGISTRY_NOT_FOUND when there is no such batch.
   */
  devicesOfBatch(batchId: string): Promise<DeviceRecord[]>;
  /**
   * Records a device and its `device.record` audit row in ONE transaction: both or neither.
   * @throws {RegistryError} REGISTRY_DUPLICATE_ID / _SERIAL / _SEED_HASH (with `field`) when a unique
   * value is taken, REGISTRY_NOT_FOUND for an unknown batch, REGISTRY_BATCH_COMPLETE for a complete
   * one, REGISTRY_BATCH_FULL when the batch already holds its `requestedCount` devices; nothing is
   * written in any of these cases.
   */
  recordDevice(device: NewDevice, actor: string): Promise<DeviceRecord>;
  /**
   * Records several devices, each with its audit row, in ONE transaction: all or none. One disk
   * sync for the group instead of one per device (SQLite: ~300 devices/s one by one, thousands in
   * groups of 20), for devices whose bundles are already complete and flushed.
   * @throws {RegistryError} as {@link recordDevice}, for the first device that fails (duplicates
   * within `devices` count); nothing is written then.
   */
  recordDevices(devices: readonly NewDevice[], actor: string): Promise<DeviceRecord[]>;
  /** The device `id`, or null when there is none. */
  get(id: string): Promise<DeviceRecord | null>;
  /** The device whose certificate has serial `serial` (hex, any case), or null. */
  getBySerial(serial: string): Promise<DeviceRecord | null>;
  /** Devices matching `filter`, in creation order. */
  list(filter?: DeviceFilter): Promise<DeviceRecord[]>;
  /**
   * Revokes device `id` (audited as `device.revoke`, with the reason).
   * @throws {RegistryError} REGISTRY_NOT_FOUND for an unknown id, REGISTRY_ALREADY_REVOKED (with `revokedAt`) the second time.
   */
  revoke(id: string, reason: string, actor: string): Promise<DeviceRecord>;
  /**
   * True when the device holding the certificate with serial `serial` is revoked. A serial the
   * registry never issued is not "revoked": use {@link getBySerial} to tell unknown from active.
   */
  isRevoked(serial: string): Promise<boolean>;
  /** Audit rows matching `filter`, in log order. */
  auditLog(filter?: AuditFilter): Promise<AuditEntry[]>;
  /**
   * Marks batch `id` complete (audited as `batch.complete`, with the number of devices recorded).
   * @throws {RegistryError} REGISTRY_NOT_FOUND for an unknown batch, REGISTRY_BATCH_COMPLETE the second time.
   */
  completeBatch(id: string, actor: string): Promise<BatchRecord>;
  /**
   * Records that a certificate was issued for a device that was never recorded and whose bundle
   * is being destroyed (a crash between the bundle and the registry; `--resume` makes the device
   * again with a new key and serial). Audited as `certificate.void` with the serial, so the CRL
   * can list it: a copy of the destroyed bundle never becomes a valid identity.
   * @throws {RegistryError} REGISTRY_NOT_FOUND for an unknown batch; REGISTRY_DUPLICATE_SERIAL when
   *   a recorded device holds that serial (it is not an orphan).
   */
  voidCertificate(certificate: VoidedCertificate, actor: string): Promise<void>;
  /** Closes the registry; later calls throw REGISTRY_IO. Closing twice is harmless. */
  close(): Promise<void>;
}

const HEX = /^[0-9a-f]+$/;
const SHA256_HEX = /^[0-9a-f]{64}$/;

/**
 * The canonical form of a certificate serial: lowercase hex without leading zeros ("0" for zero),
 * so `00A1` (DER's sign byte) and `a1` are the same serial.
 * @throws {TypeError} when `serial` is not a string of hex digits (an optional `0x` prefix and `:` separators are accepted).
 * @example canonicalSerial('00:A1') // 'a1'
 */
export function canonicalSerial(serial: string): string {
  if (typeof serial !== 'string') throw new TypeError(`serial must be a hex string, got ${typeof serial}`);
  const hex = serial.trim().toLowerCase().replace(/^0x/, '').replaceAll(':', '');
  if (!HEX.test(hex)) throw new TypeError(`serial must be hex digits, got "${serial}"`);
  return hex.replace(/^0+(?=.)/, '');
}

function checkText(value: unknown, name: string, max = 256): string {
  if (typeof value !== 'string' || value.length === 0) throw new TypeError(`${name} must be a non-empty string, got ${JSON.stringify(value)}`);
  if (value.length > max) throw new RangeError(`${name} must be at most ${max} characters, got ${value.length}`);
  // eslint-disable-next-line no-control-regex
  if (/[\u0000-\u001f\u007f]/.test(value)) throw new TypeError(`${name} must not hold control characters, got ${JSON.stringify(value)}`);
  return value;
}

function checkSha256(value: unknown, name: string): string {
  if (typeof value !== 'string' || !SHA256_HEX.test(value.toLowerCase())) throw new TypeError(`${name} must be a SHA-256 as 64 hex digits, got ${JSON.stringify(value)}`);
  return value.toLowerCase();
}

/**
 * Checks a device before it is recorded and returns it with its hex fields in canonical form.
 * Shared by every {@link DeviceRegistry} implementation.
 * @throws {TypeError|RangeError} naming the bad field: empty or overlong text, bad hex, an absolute or escaping bundle path.
 * @example const d = checkNewDevice({ id: 'dev-1', serial: '0A', seedHash, certSha256, batchId: 'b1', bundlePath: 'dev-1' });
 */
export function checkNewDevice(device: NewDevice): NewDevice {
  if (typeof device !== 'object' || device === null) throw new TypeError('device must be an object');
  const bundlePath = checkText(device.bundlePath, 'device.bundlePath', 1024);
  const parts = bundlePath.split(/[\\/]/);
  if (/^([\\/]|[A-Za-z]:)/.test(bundlePath) || parts.includes('..')) {
    throw new TypeError(`device.bundlePath must be relative to the batch's output folder and stay inside it, got "${bundlePath}"`);
  }
  return {
    id: checkText(device.id, 'device.id'),
    serial: canonicalSerial(checkText(device.serial, 'device.serial', 128)),
    seedHash: checkSha256(device.seedHash, 'device.seedHash'),
    certSha256: checkSha256(device.certSha256, 'device.certSha256'),
    batchId: checkText(device.batchId, 'device.batchId'),
    bundlePath,
  };
}

/**
 * Checks a batch before it is opened.
 * @throws {TypeError|RangeError} naming the bad field.
 * @example checkNewBatch({ id: 'b1', factoryId: 'f1', requestedCount: 10 });
 */
export function checkNewBatch(batch: NewBatch): NewBatch {
  if (typeof batch !== 'object' || batch === null) throw new TypeError('batch must be an object');
  if (!Number.isSafeInteger(batch.requestedCount) || batch.requestedCount <= 0) {
    throw new RangeError(`batch.requestedCount must be a positive whole number, got ${String(batch.requestedCount)}`);
  }
  return { id: checkText(batch.id, 'batch.id'), factoryId: checkText(batch.factoryId, 'batch.factoryId'), requestedCount: batch.requestedCount };
}

/** @internal Checks an actor or reason argument. */
export function checkRegistryText(value: unknown, name: string, max = 1024): string {
  return checkText(value, name, max);
}

/** @internal Checks `limit`/`offset` of a filter. */
export function checkPaging(filter: { readonly limit?: number; readonly offset?: number }): { limit: number; offset: number } {
  const { limit = -1, offset = 0 } = filter;
  if (filter.limit !== undefined && (!Number.isSafeInteger(limit) || limit < 0)) throw new RangeError(`limit must be a whole number >= 0, got ${String(filter.limit)}`);
  if (!Number.isSafeInteger(offset) || offset < 0) throw new RangeError(`offset must be a whole number >= 0, got ${String(filter.offset)}`);
  return { limit, offset };
}
