import * as fs from 'node:fs';
import type BetterSqlite3 from 'better-sqlite3';
import { errorMessage } from '../errors/error-message.js';
import {
  type AuditEntry,
  type AuditFilter,
  type BatchRecord,
  type DeviceFilter,
  type DeviceRecord,
  type DeviceRegistry,
  DUPLICATE_CODES,
  type NewBatch,
  type NewDevice,
  REGISTRY_ACTIONS,
  type RegistryAction,
  RegistryError,
  type RegistryUniqueField,
  type VoidedCertificate,
  canonicalSerial,
  checkNewBatch,
  checkNewDevice,
  checkPaging,
  checkRegistryText,
} from '../provision/registry.js';

/** The schema version this code writes and reads (PRAGMA user_version). */
export const SQLITE_REGISTRY_SCHEMA_VERSION = 1;

/** PRAGMA application_id of an nvsec registry: "nvRG". */
export const SQLITE_REGISTRY_APPLICATION_ID = 0x6e765247;

/** Options of {@link openSqliteRegistry}. */
export interface SqliteRegistryOptions {
  /** Create the file (mode 0600) and schema when missing (default true); false throws REGISTRY_NOT_FOUND instead. */
  readonly create?: boolean;
  /** How long to wait for another process's write lock, in ms (default 10000). */
  readonly busyTimeoutMs?: number;
  /** The clock for created/revoked times and audit rows (default: the system clock). */
  readonly now?: () => Date;
}

/** What {@link SqliteRegistry.settings} reports. */
export interface SqliteRegistrySettings {
  /** `wal`. */
  readonly journalMode: string;
  /** PRAGMA synchronous: 2 is FULL (the WAL is synced at every commit). */
  readonly synchronous: number;
  readonly foreignKeys: boolean;
  readonly busyTimeoutMs: number;
  /** PRAGMA user_version. */
  readonly schemaVersion: number;
}

/** A parsed `--registry` value. */
export interface RegistrySpec {
  readonly scheme: 'sqlite';
  /** The database file. */
  readonly path: string;
}

/**
 * Parses a registry location as the CLI takes it: `sqlite:PATH`. Other schemes (`postgres:` …)
 * are reserved for server databases.
 * @throws {RegistryError} REGISTRY_UNSUPPORTED for another scheme or a missing one.
 * @example parseRegistrySpec('sqlite:factory/registry.db') // { scheme: 'sqlite', path: 'factory/registry.db' }
 */
export function parseRegistrySpec(spec: string): RegistrySpec {
  if (typeof spec !== 'string') throw new TypeError(`registry must be a string like "sqlite:PATH", got ${typeof spec}`);
  const m = /^([a-z][a-z0-9+.-]*):(.*)$/i.exec(spec);
  if (m === null || /^[a-z]:[\\/]/i.test(spec)) {
    throw new RegistryError('REGISTRY_UNSUPPORTED', `Registry "${spec}" has no scheme: write sqlite:PATH (e.g. sqlite:factory/registry.db)`);
  }
  const scheme = m[1]!.toLowerCase();
  const rest = m[2]!;
  if (scheme !== 'sqlite') {
    throw new RegistryError('REGISTRY_UNSUPPORTED', `Registry scheme "${scheme}:" is not supported yet: only sqlite:PATH is (a server database is planned)`);
  }
  if (rest.length === 0) throw new RegistryError('REGISTRY_UNSUPPORTED', 'Registry "sqlite:" names no file: write sqlite:PATH');
  return { scheme: 'sqlite', path: rest };
}

/**
 * Opens the registry `spec` names (see {@link parseRegistrySpec}).
 * @throws {RegistryError} as {@link parseRegistrySpec} and {@link openSqliteRegistry} do.
 * @example const registry = await openRegistry('sqlite:factory/registry.db');
 */
export async function openRegistry(spec: string, options: SqliteRegistryOptions = {}): Promise<DeviceRegistry> {
  return openSqliteRegistry(parseRegistrySpec(spec).path, options);
}

/**
 * Opens (or creates, mode 0600) the SQLite device registry in file `path`: WAL journal,
 * synchronous=FULL (a row is on disk when recordDevice returns), a busy timeout so a second
 * process waits for the lock instead of failing, foreign keys on. better-sqlite3 (a native addon)
 * is loaded on the first call only.
 * @throws {RegistryError} REGISTRY_NOT_FOUND when the file is missing and `create` is false,
 * REGISTRY_SCHEMA for a database of a newer nvsec or not a registry, REGISTRY_IO when it cannot be opened.
 * @example
 * const registry = await openSqliteRegistry('factory/registry.db');
 * try { console.log(await registry.list({ status: 'revoked' })); } finally { await registry.close(); }
 */
export async function openSqliteRegistry(path: string, options: SqliteRegistryOptions = {}): Promise<SqliteRegistry> {
  if (typeof path !== 'string' || path.length === 0) throw new TypeError('path must be a non-empty string');
  const { create = true, busyTimeoutMs = 10_000, now = () => new Date() } = options;
  if (!Number.isSafeInteger(busyTimeoutMs) || busyTimeoutMs < 0) throw new RangeError(`busyTimeoutMs must be a whole number >= 0, got ${busyTimeoutMs}`);
  if (!create && !fs.existsSync(path)) {
    throw new RegistryError('REGISTRY_NOT_FOUND', `No registry at "${path}": check the path`);
  }
  if (create) {
    // Create the file ourselves so it is 0600 from its first byte; SQLite gives its -wal and -shm
    // files the database file's mode.
    try {
      fs.closeSync(fs.openSync(path, fs.constants.O_CREAT | fs.constants.O_EXCL | fs.constants.O_WRONLY, 0o600));
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw new RegistryError('REGISTRY_IO', `Cannot create registry "${path}": ${errorMessage(e)}`, { cause: e });
    }
  }
  const { default: Database } = await import('better-sqlite3');
  let db: BetterSqlite3.Database;
  try {
    db = new Database(path, { fileMustExist: true, timeout: busyTimeoutMs });
  } catch (e) {
    throw new RegistryError('REGISTRY_IO', `Cannot open registry "${path}": ${errorMessage(e)}`, { cause: e });
  }
  try {
    // Check the schema before configuring: a foreign or newer file is refused without a change
    // (journal_mode=WAL would rewrite its header).
    const isNew = !schemaIsCurrent(db, path);
    configure(db, path);
    if (isNew) createSchema(db, path);
  } catch (e) {
    db.close();
    if (e instanceof RegistryError) throw e;
    throw new RegistryError('REGISTRY_IO', `Cannot open registry "${path}": ${errorMessage(e)}`, { cause: e });
  }
  return new SqliteRegistry(db, path, now);
}

function configure(db: BetterSqlite3.Database, path: string): void {
  // journal_mode=WAL needs the write lock the first time: busy_timeout (set by the constructor) covers a racing process.
  const mode = db.pragma('journal_mode = WAL', { simple: true });
  if (mode !== 'wal') throw new RegistryError('REGISTRY_IO', `Registry "${path}" cannot use WAL (journal mode stays "${String(mode)}"): put it on a local file system`);
  db.pragma('synchronous = FULL');
  db.pragma('foreign_keys = ON');
}

const SCHEMA_V1 = `
CREATE TABLE batches (
  id TEXT PRIMARY KEY,
  factory_id TEXT NOT NULL,
  requested_count INTEGER NOT NULL CHECK (requested_count > 0),
  state TEXT NOT NULL CHECK (state IN ('open', 'complete')),
  created_at TEXT NOT NULL,
  completed_at TEXT,
  CHECK ((state = 'complete') = (completed_at IS NOT NULL))
) STRICT;
CREATE TABLE devices (
  id TEXT PRIMARY KEY,
  serial TEXT NOT NULL UNIQUE,
  seed_hash TEXT NOT NULL UNIQUE,
  cert_sha256 TEXT NOT NULL,
  batch_id TEXT NOT NULL REFERENCES batches (id),
  bundle_path TEXT NOT NULL,
  status TEXT NOT NULL CHECK (status IN ('active', 'revoked')),
  created_at TEXT NOT NULL,
  revoked_at TEXT,
  revoke_reason TEXT,
  CHECK ((status = 'revoked') = (revoked_at IS NOT NULL))
) STRICT;
CREATE INDEX devices_by_batch ON devices (batch_id);
CREATE INDEX devices_by_status ON devices (status);
CREATE TABLE audit_log (
  seq INTEGER PRIMARY KEY AUTOINCREMENT,
  time TEXT NOT NULL,
  actor TEXT NOT NULL,
  action TEXT NOT NULL,
  device_id TEXT,
  batch_id TEXT NOT NULL,
  detail TEXT NOT NULL CHECK (json_valid(detail))
) STRICT;
CREATE INDEX audit_by_device ON audit_log (device_id);
CREATE TRIGGER audit_log_no_update BEFORE UPDATE ON audit_log BEGIN SELECT RAISE(ABORT, 'audit_log is append-only'); END;
CREATE TRIGGER audit_log_no_delete BEFORE DELETE ON audit_log BEGIN SELECT RAISE(ABORT, 'audit_log is append-only'); END;
CREATE TRIGGER devices_no_delete BEFORE DELETE ON devices BEGIN SELECT RAISE(ABORT, 'devices are revoked, never deleted'); END;
`;

/** True for a registry of this schema version, false for an empty database; throws REGISTRY_SCHEMA otherwise. */
function schemaIsCurrent(db: BetterSqlite3.Database, path: string): boolean {
  const version = db.pragma('user_version', { simple: true }) as number;
  const appId = db.pragma('application_id', { simple: true }) as number;
  if (version === 0 && appId === 0) {
    const tables = db.prepare("SELECT count(*) AS n FROM sqlite_master WHERE name NOT LIKE 'sqlite_%'").get() as { n: number };
    if (tables.n === 0) return false; // empty: create the schema
  }
  if (appId !== SQLITE_REGISTRY_APPLICATION_ID) {
    throw new RegistryError('REGISTRY_SCHEMA', `"${path}" is an SQLite database but not an nvsec registry (application_id ${appId}): name a registry file or a new file`);
  }
  if (version > SQLITE_REGISTRY_SCHEMA_VERSION) {
    throw new RegistryError(
      'REGISTRY_SCHEMA',
      `Registry "${path}" has schema version ${version}, written by a newer nvsec; this nvsec reads version ${SQLITE_REGISTRY_SCHEMA_VERSION}: upgrade nvsec (the file was not changed)`,
    );
  }
  if (version !== SQLITE_REGISTRY_SCHEMA_VERSION) {
    throw new RegistryError('REGISTRY_SCHEMA', `Registry "${path}" has unknown schema version ${version} (this nvsec reads version ${SQLITE_REGISTRY_SCHEMA_VERSION}): the file was not changed`);
  }
  return true;
}

function createSchema(db: BetterSqlite3.Database, path: string): void {
  // Two processes may create the same new file: the write lock makes one create and the other see it.
  db.transaction(() => {
    if (schemaIsCurrent(db, path)) return;
    db.exec(SCHEMA_V1);
    db.pragma(`application_id = ${SQLITE_REGISTRY_APPLICATION_ID}`);
    db.pragma(`user_version = ${SQLITE_REGISTRY_SCHEMA_VERSION}`);
  }).immediate();
}

interface DeviceRow {
  id: string;
  serial: string;
  seed_hash: string;
  cert_sha256: string;
  batch_id: string;
  bundle_path: string;
  status: 'active' | 'revoked';
  created_at: string;
  revoked_at: string | null;
  revoke_reason: string | null;
}

interface BatchRow {
  id: string;
  factory_id: string;
  requested_count: number;
  state: 'open' | 'complete';
  created_at: string;
  completed_at: string | null;
}

interface AuditRow {
  seq: number;
  time: string;
  actor: string;
  action: RegistryAction;
  device_id: string | null;
  batch_id: string;
  detail: string;
}

const toDevice = (r: DeviceRow): DeviceRecord => ({
  id: r.id,
  serial: r.serial,
  seedHash: r.seed_hash,
  certSha256: r.cert_sha256,
  batchId: r.batch_id,
  bundlePath: r.bundle_path,
  status: r.status,
  createdAt: r.created_at,
  revokedAt: r.revoked_at,
  revokeReason: r.revoke_reason,
});

const toBatch = (r: BatchRow): BatchRecord => ({
  id: r.id,
  factoryId: r.factory_id,
  requestedCount: r.requested_count,
  state: r.state,
  createdAt: r.created_at,
  completedAt: r.completed_at,
});

const toAudit = (r: AuditRow): AuditEntry => ({
  seq: r.seq,
  time: r.time,
  actor: r.actor,
  action: r.action,
  deviceId: r.device_id,
  batchId: r.batch_id,
  detail: JSON.parse(r.detail) as AuditEntry['detail'],
});

const COLUMN_FIELDS: Readonly<Record<string, RegistryUniqueField>> = { 'devices.id': 'id', 'devices.serial': 'serial', 'devices.seed_hash': 'seedHash' };

/**
 * The {@link DeviceRegistry} over an SQLite file (better-sqlite3). Open it with
 * {@link openSqliteRegistry}; every method runs synchronously inside and returns a settled promise.
 * Methods throw {@link RegistryError}s as {@link DeviceRegistry} documents, and REGISTRY_IO when
 * SQLite fails (a full disk, a lock held past the busy timeout) or the registry is closed.
 *
 * @example
 * const registry = await openSqliteRegistry('factory/registry.db');
 * const revoked = await registry.list({ status: 'revoked' });
 * await registry.close();
 */
export class SqliteRegistry implements DeviceRegistry {
  #db: BetterSqlite3.Database | null;
  readonly #statements = new Map<string, BetterSqlite3.Statement>();

  /** @internal Use {@link openSqliteRegistry}. */
  constructor(
    db: BetterSqlite3.Database,
    /** The database file. */
    readonly path: string,
    private readonly now: () => Date,
  ) {
    this.#db = db;
  }

  async openBatch(batch: NewBatch, actor: string): Promise<BatchRecord> {
    const b = checkNewBatch(batch);
    const who = checkRegistryText(actor, 'actor');
    return this.#run('open batch', (db) =>
      db.transaction((): BatchRecord => {
        if (this.#stmt(db, 'SELECT 1 FROM batches WHERE id = ?').get(b.id) !== undefined) {
          throw new RegistryError('REGISTRY_DUPLICATE_BATCH', `Batch "${b.id}" already exists: resume it (provision --resume) or choose a new batch id`);
        }
        const time = this.#time();
        this.#stmt(db, "INSERT INTO batches (id, factory_id, requested_count, state, created_at) VALUES (?, ?, ?, 'open', ?)").run(b.id, b.factoryId, b.requestedCount, time);
        this.#audit(db, time, who, REGISTRY_ACTIONS.BATCH_OPEN, null, b.id, { factoryId: b.factoryId, requestedCount: b.requestedCount });
        return toBatch(this.#stmt(db, 'SELECT * FROM batches WHERE id = ?').get(b.id) as BatchRow);
      }).immediate(),
    );
  }

  async batch(id: string): Promise<BatchRecord | null> {
    checkRegistryText(id, 'id');
    return this.#run('read batch', (db) => {
      const row = this.#stmt(db, 'SELECT * FROM batches WHERE id = ?').get(id) as BatchRow | undefined;
      return row === undefined ? null : toBatch(row);
    });
  }

  async devicesOfBatch(batchId: string): Promise<DeviceRecord[]> {
    checkRegistryText(batchId, 'batchId');
    return this.#run('read batch', (db) =>
      db.transaction(() => {
        if (this.#stmt(db, 'SELECT 1 FROM batches WHERE id = ?').get(batchId) === undefined) throw notFound('batch', batchId);
        return (this.#stmt(db, 'SELECT * FROM devices WHERE batch_id = ? ORDER BY rowid').all(batchId) as DeviceRow[]).map(toDevice);
      }).deferred(),
    );
  }

  async recordDevice(device: NewDevice, actor: string): Promise<DeviceRecord> {
    const d = checkNewDevice(device);
    const who = checkRegistryText(actor, 'actor');
    return this.#run('record device', (db) => db.transaction((): DeviceRecord => this.#insertDevice(db, d, who)).immediate());
  }

  /**
   * Records several devices (each with its audit row) in ONE transaction and one disk sync: all
   * or none. For a pipeline that records the devices whose bundles are flushed, a few at a time,
   * faster than one {@link recordDevice} call each.
   * @throws {RegistryError} as {@link recordDevice} does, for the first device that fails (named in
   * the message, and duplicates within `devices` count); nothing is written then.
   * @example await registry.recordDevices([deviceA, deviceB], 'provision');
   */
  async recordDevices(devices: readonly NewDevice[], actor: string): Promise<DeviceRecord[]> {
    if (!Array.isArray(devices)) throw new TypeError('devices must be an array');
    const checked = devices.map((d) => checkNewDevice(d));
    const who = checkRegistryText(actor, 'actor');
    return this.#run('record devices', (db) => db.transaction((): DeviceRecord[] => checked.map((d) => this.#insertDevice(db, d, who))).immediate());
  }

  /** Inserts a checked device and its audit row; call inside a write transaction. */
  #insertDevice(db: BetterSqlite3.Database, d: NewDevice, who: string): DeviceRecord {
    const batch = this.#stmt(db, 'SELECT state, requested_count, (SELECT COUNT(*) FROM devices WHERE batch_id = batches.id) AS recorded FROM batches WHERE id = ?').get(d.batchId) as
      | { state: string; requested_count: number; recorded: number }
      | undefined;
    if (batch === undefined) throw notFound('batch', d.batchId);
    if (batch.state === 'complete') throw new RegistryError('REGISTRY_BATCH_COMPLETE', `Batch "${d.batchId}" is complete: record device "${d.id}" in a new batch`);
    if (batch.recorded >= batch.requested_count) {
      throw new RegistryError('REGISTRY_BATCH_FULL', `Batch "${d.batchId}" already holds the ${batch.requested_count} devices it was opened for: device "${d.id}" would be one too many`);
    }
    const taken =
      this.#stmt(db, 'SELECT 1 FROM devices WHERE id = ?').get(d.id) !== undefined
        ? 'id'
        : this.#stmt(db, 'SELECT 1 FROM devices WHERE serial = ?').get(d.serial) !== undefined
          ? 'serial'
          : this.#stmt(db, 'SELECT 1 FROM devices WHERE seed_hash = ?').get(d.seedHash) !== undefined
            ? 'seedHash'
            : null;
    if (taken !== null) throw duplicate(taken, d);
    const time = this.#time();
    this.#stmt(
      db,
      "INSERT INTO devices (id, serial, seed_hash, cert_sha256, batch_id, bundle_path, status, created_at) VALUES (?, ?, ?, ?, ?, ?, 'active', ?)",
    ).run(d.id, d.serial, d.seedHash, d.certSha256, d.batchId, d.bundlePath, time);
    this.#audit(db, time, who, REGISTRY_ACTIONS.DEVICE_RECORD, d.id, d.batchId, { serial: d.serial, certSha256: d.certSha256, bundlePath: d.bundlePath });
    return toDevice(this.#stmt(db, 'SELECT * FROM devices WHERE id = ?').get(d.id) as DeviceRow);
  }

  async get(id: string): Promise<DeviceRecord | null> {
    checkRegistryText(id, 'id');
    return this.#run('read device', (db) => {
      const row = this.#stmt(db, 'SELECT * FROM devices WHERE id = ?').get(id) as DeviceRow | undefined;
      return row === undefined ? null : toDevice(row);
    });
  }

  async getBySerial(serial: string): Promise<DeviceRecord | null> {
    const s = canonicalSerial(serial);
    return this.#run('read device', (db) => {
      const row = this.#stmt(db, 'SELECT * FROM devices WHERE serial = ?').get(s) as DeviceRow | undefined;
      return row === undefined ? null : toDevice(row);
    });
  }

  async list(filter: DeviceFilter = {}): Promise<DeviceRecord[]> {
    const { limit, offset } = checkPaging(filter);
    if (filter.status !== undefined && filter.status !== 'active' && filter.status !== 'revoked') {
      throw new TypeError(`status must be "active" or "revoked", got ${JSON.stringify(filter.status)}`);
    }
    if (filter.batch !== undefined) checkRegistryText(filter.batch, 'batch');
    return this.#run('list devices', (db) => {
      const rows = db
        .prepare('SELECT * FROM devices WHERE (@status IS NULL OR status = @status) AND (@batch IS NULL OR batch_id = @batch) ORDER BY rowid LIMIT @limit OFFSET @offset')
        .all({ status: filter.status ?? null, batch: filter.batch ?? null, limit, offset }) as DeviceRow[];
      return rows.map(toDevice);
    });
  }

  async revoke(id: string, reason: string, actor: string): Promise<DeviceRecord> {
    checkRegistryText(id, 'id');
    const why = checkRegistryText(reason, 'reason');
    const who = checkRegistryText(actor, 'actor');
    return this.#run('revoke device', (db) =>
      db.transaction((): DeviceRecord => {
        const row = this.#stmt(db, 'SELECT * FROM devices WHERE id = ?').get(id) as DeviceRow | undefined;
        if (row === undefined) throw notFound('device', id);
        if (row.status === 'revoked') {
          throw new RegistryError('REGISTRY_ALREADY_REVOKED', `Device "${id}" was already revoked at ${row.revoked_at} (reason: ${row.revoke_reason}): nothing changed`, {
            revokedAt: row.revoked_at ?? '',
          });
        }
        const time = this.#time();
        this.#stmt(db, "UPDATE devices SET status = 'revoked', revoked_at = ?, revoke_reason = ? WHERE id = ?").run(time, why, id);
        this.#audit(db, time, who, REGISTRY_ACTIONS.DEVICE_REVOKE, id, row.batch_id, { reason: why, serial: row.serial });
        return toDevice(this.#stmt(db, 'SELECT * FROM devices WHERE id = ?').get(id) as DeviceRow);
      }).immediate(),
    );
  }

  async voidCertificate(certificate: VoidedCertificate, actor: string): Promise<void> {
    const serial = canonicalSerial(certificate.serial);
    const deviceId = checkRegistryText(certificate.deviceId, 'deviceId');
    const reason = checkRegistryText(certificate.reason, 'reason');
    const who = checkRegistryText(actor, 'actor');
    if (certificate.certSha256 !== null && !/^[0-9a-f]{64}$/.test(certificate.certSha256)) throw new TypeError('certSha256 must be 64 lower-case hex digits or null');
    this.#run('void certificate', (db) =>
      db
        .transaction(() => {
          if (this.#stmt(db, 'SELECT 1 FROM batches WHERE id = ?').get(certificate.batchId) === undefined) throw notFound('batch', certificate.batchId);
          const holder = this.#stmt(db, 'SELECT id FROM devices WHERE serial = ?').get(serial) as { id: string } | undefined;
          if (holder !== undefined) {
            throw new RegistryError('REGISTRY_DUPLICATE_SERIAL', `Serial ${serial} belongs to recorded device "${holder.id}": it is not a void certificate`, { field: 'serial' });
          }
          this.#audit(db, this.#time(), who, REGISTRY_ACTIONS.CERTIFICATE_VOID, deviceId, certificate.batchId, { serial, certSha256: certificate.certSha256, reason });
        })
        .immediate(),
    );
  }

  async isRevoked(serial: string): Promise<boolean> {
    const s = canonicalSerial(serial);
    return this.#run('read device', (db) => this.#stmt(db, "SELECT 1 FROM devices WHERE serial = ? AND status = 'revoked'").get(s) !== undefined);
  }

  async auditLog(filter: AuditFilter = {}): Promise<AuditEntry[]> {
    const { limit, offset } = checkPaging(filter);
    return this.#run('read audit log', (db) => {
      const rows = db
        .prepare('SELECT * FROM audit_log WHERE (@device IS NULL OR device_id = @device) AND (@batch IS NULL OR batch_id = @batch) AND (@action IS NULL OR action = @action) ORDER BY seq LIMIT @limit OFFSET @offset')
        .all({ device: filter.deviceId ?? null, batch: filter.batchId ?? null, action: filter.action ?? null, limit, offset }) as AuditRow[];
      return rows.map(toAudit);
    });
  }

  async completeBatch(id: string, actor: string): Promise<BatchRecord> {
    checkRegistryText(id, 'id');
    const who = checkRegistryText(actor, 'actor');
    return this.#run('complete batch', (db) =>
      db.transaction((): BatchRecord => {
        const row = this.#stmt(db, 'SELECT * FROM batches WHERE id = ?').get(id) as BatchRow | undefined;
        if (row === undefined) throw notFound('batch', id);
        if (row.state === 'complete') throw new RegistryError('REGISTRY_BATCH_COMPLETE', `Batch "${id}" was already completed at ${row.completed_at}`);
        const time = this.#time();
        const { n } = this.#stmt(db, 'SELECT count(*) AS n FROM devices WHERE batch_id = ?').get(id) as { n: number };
        this.#stmt(db, "UPDATE batches SET state = 'complete', completed_at = ? WHERE id = ?").run(time, id);
        this.#audit(db, time, who, REGISTRY_ACTIONS.BATCH_COMPLETE, null, id, { devices: n, requestedCount: row.requested_count });
        return toBatch(this.#stmt(db, 'SELECT * FROM batches WHERE id = ?').get(id) as BatchRow);
      }).immediate(),
    );
  }

  /**
   * The connection's settings as SQLite reports them: for checks and `doctor`-style output.
   * @throws {RegistryError} REGISTRY_IO when the registry is closed.
   * @example (await registry.settings()).synchronous // 2 (FULL)
   */
  async settings(): Promise<SqliteRegistrySettings> {
    return this.#run('read settings', (db) => ({
      journalMode: String(db.pragma('journal_mode', { simple: true })),
      synchronous: Number(db.pragma('synchronous', { simple: true })),
      foreignKeys: Number(db.pragma('foreign_keys', { simple: true })) === 1,
      busyTimeoutMs: Number(db.pragma('busy_timeout', { simple: true })),
      schemaVersion: Number(db.pragma('user_version', { simple: true })),
    }));
  }

  async close(): Promise<void> {
    const db = this.#db;
    this.#db = null;
    this.#statements.clear();
    db?.close();
  }

  /** The prepared statement for `sql`, prepared once per connection. */
  #stmt(db: BetterSqlite3.Database, sql: string): BetterSqlite3.Statement {
    let stmt = this.#statements.get(sql);
    if (stmt === undefined) {
      stmt = db.prepare(sql);
      this.#statements.set(sql, stmt);
    }
    return stmt;
  }

  #time(): string {
    return this.now().toISOString();
  }

  #audit(db: BetterSqlite3.Database, time: string, actor: string, action: RegistryAction, deviceId: string | null, batchId: string, detail: object): void {
    this.#stmt(db, 'INSERT INTO audit_log (time, actor, action, device_id, batch_id, detail) VALUES (?, ?, ?, ?, ?, ?)').run(time, actor, action, deviceId, batchId, JSON.stringify(detail));
  }

  /** Runs `fn` on the open database, turning SQLite failures into REGISTRY_* errors. */
  #run<T>(what: string, fn: (db: BetterSqlite3.Database) => T): T {
    const db = this.#db;
    if (db === null) throw new RegistryError('REGISTRY_IO', `Cannot ${what}: the registry "${this.path}" is closed`);
    try {
      return fn(db);
    } catch (e) {
      if (e instanceof RegistryError || e instanceof TypeError || e instanceof RangeError) throw e;
      const code = (e as { code?: unknown }).code;
      const message = errorMessage(e);
      if (typeof code === 'string' && code.startsWith('SQLITE_CONSTRAINT')) {
        // A race the checks above cannot see (they run inside the write lock) or a bug: still name the field.
        const column = /constraint failed: (\S+)/.exec(message)?.[1];
        const field = column === undefined ? undefined : COLUMN_FIELDS[column];
        if (field !== undefined) throw new RegistryError(DUPLICATE_CODES[field], `Cannot ${what}: ${field} already recorded (${message})`, { field, cause: e });
      }
      const hint = code === 'SQLITE_BUSY' ? ': another process held the registry longer than the busy timeout; try again' : '';
      throw new RegistryError('REGISTRY_IO', `Cannot ${what} in registry "${this.path}": ${message}${hint}`, { cause: e });
    }
  }
}

function notFound(kind: 'batch' | 'device', id: string): RegistryError {
  return new RegistryError('REGISTRY_NOT_FOUND', kind === 'batch' ? `No batch "${id}" in the registry: open it first` : `No device "${id}" in the registry: check the id (nvsec registry list)`);
}

function duplicate(field: RegistryUniqueField, d: NewDevice): RegistryError {
  const what = { id: `device id "${d.id}"`, serial: `certificate serial ${d.serial}`, seedHash: `NV seed hash ${d.seedHash}` }[field];
  const hint =
    field === 'seedHash'
      ? 'two devices got the same NV seed: the random generator cannot be trusted; stop the line'
      : field === 'serial'
        ? 'the CA issued a serial twice: stop the line and check the CA'
        : 'the device is already recorded (resume skips recorded devices)';
  return new RegistryError(DUPLICATE_CODES[field], `Cannot record device "${d.id}": ${what} is already in the registry (${hint}); nothing was written`, { field });
}
