import { DEFAULT_OBJECTS, type DefaultObject, FIRST_DYNAMIC_HANDLE, MAX_HANDLE } from './default-labels.js';
import type { ObjectInfo } from './object-store.js';
import { PalError } from './pal-error.js';

/** One label known to a store: stored (`present`) or destroyed in this session (a tombstone). */
export interface IndexEntry {
  readonly handle: number;
  readonly label: string;
  isPrivate: boolean;
  present: boolean;
  /** Backend data: the NVS key, the file name... */
  location: string;
  /** Why the stored object cannot be read, when a backend found it broken while opening. */
  broken?: string;
}

const DEFAULT_BY_LABEL = new Map<string, DefaultObject>(DEFAULT_OBJECTS.map((o) => [o.label, o]));
const DEFAULT_BY_HANDLE = new Map<number, DefaultObject>(DEFAULT_OBJECTS.map((o) => [o.handle, o]));

/** The default slot of a label, if it has one. */
export function defaultObjectOf(label: string): DefaultObject | undefined {
  return DEFAULT_BY_LABEL.get(label);
}

/**
 * The in-memory index every backend keeps: label ↔ handle, privacy, presence, and the dynamic
 * handle high-water mark. find() is a Map lookup, whatever the number of objects.
 */
export class ObjectIndex {
  private readonly byLabel = new Map<string, IndexEntry>();
  private readonly byHandle = new Map<number, IndexEntry>();
  /** The next dynamic handle to give out. */
  nextHandle = FIRST_DYNAMIC_HANDLE;
  /** Problems found while loading (duplicates, misplaced objects), in words. */
  readonly notes: string[] = [];

  constructor(defaultLocation: (o: DefaultObject) => string) {
    for (const o of DEFAULT_OBJECTS) this.put({ handle: o.handle, label: o.label, isPrivate: o.secret, present: false, location: defaultLocation(o) });
  }

  private put(e: IndexEntry): void {
    this.byLabel.set(e.label, e);
    this.byHandle.set(e.handle, e);
  }

  /**
   * Registers an object found in storage. Returns false (with a note) when it conflicts with one
   * already loaded or with the fixed handle table, so the backend leaves it alone.
   */
  load(handle: number, label: string, isPrivate: boolean, location: string, broken?: string): boolean {
    const def = DEFAULT_BY_LABEL.get(label) ?? DEFAULT_BY_HANDLE.get(handle);
    if (def && (def.label !== label || def.handle !== handle)) {
      this.notes.push(`${location}: label "${label}" with handle ${handle} conflicts with the fixed slot "${def.label}" = ${def.handle}; ignored`);
      return false;
    }
    if (!def && handle < FIRST_DYNAMIC_HANDLE) {
      this.notes.push(`${location}: handle ${handle} of "${label}" is in the reserved range below ${FIRST_DYNAMIC_HANDLE}; ignored`);
      return false;
    }
    const old = this.byLabel.get(label) ?? this.byHandle.get(handle);
    if (old?.present) {
      this.notes.push(`${location}: "${label}" (handle ${handle}) duplicates ${old.location} ("${old.label}", handle ${old.handle}); ignored`);
      return false;
    }
    const e: IndexEntry = { handle, label, isPrivate, present: true, location };
    if (broken !== undefined) e.broken = broken;
    if (def) e.location = old!.location;
    this.put(e);
    if (!def && handle >= this.nextHandle) this.nextHandle = handle + 1;
    return true;
  }

  /** The entry of a label (stored or not), if the store knows it. */
  entryOf(label: string): IndexEntry | undefined {
    return this.byLabel.get(label);
  }

  /** The handle of a stored label, or null. */
  find(label: string): number | null {
    const e = this.byLabel.get(label);
    return e?.present ? e.handle : null;
  }

  /**
   * The entry of a handle.
   * @throws {PalError} PAL_HANDLE_INVALID for a handle this store never issued
   */
  entry(handle: unknown): IndexEntry {
    const e = typeof handle === 'number' ? this.byHandle.get(handle) : undefined;
    if (!e) {
      throw new PalError(
        'PAL_HANDLE_INVALID',
        `Object handle ${String(handle)} was never issued by this store (0 is never valid); use find(label) to get a handle`,
      );
    }
    return e;
  }

  /**
   * The entry of a stored object.
   * @throws {PalError} PAL_HANDLE_INVALID, PAL_OBJECT_ABSENT
   */
  present(handle: unknown): IndexEntry {
    const e = this.entry(handle);
    if (!e.present) throw new PalError('PAL_OBJECT_ABSENT', `No object is stored under "${e.label}" (handle ${e.handle}); save it first`);
    return e;
  }

  /**
   * The handle a save of `label` will use: its known handle, or the next dynamic one (not yet
   * taken: call {@link ObjectIndex.commitNew} once the object is stored).
   * @throws {PalError} PAL_STORE_FULL when no dynamic handle is left
   */
  handleFor(label: string): { handle: number; isNew: boolean } {
    const e = this.byLabel.get(label);
    if (e) return { handle: e.handle, isNew: false };
    if (this.nextHandle > MAX_HANDLE) throw new PalError('PAL_STORE_FULL', 'Every object handle has been used; re-initialise the token');
    return { handle: this.nextHandle, isNew: true };
  }

  /** Records a stored object (new or replaced). */
  stored(handle: number, label: string, isPrivate: boolean, location: string): void {
    const e = this.byLabel.get(label);
    if (e) {
      e.isPrivate = isPrivate;
      e.present = true;
      delete e.broken;
      return;
    }
    this.put({ handle, label, isPrivate, present: true, location });
    if (handle >= this.nextHandle) this.nextHandle = handle + 1;
  }

  /** Records a destroyed object; its handle stays known (destroy again is a no-op). */
  destroyed(e: IndexEntry): void {
    e.present = false;
    delete e.broken;
  }

  /** Stored objects in handle order. */
  list(): ObjectInfo[] {
    const out: ObjectInfo[] = [];
    for (const e of this.byHandle.values()) if (e.present) out.push({ handle: e.handle, label: e.label, isPrivate: e.isPrivate });
    return out.sort((a, b) => a.handle - b.handle);
  }

  /** Number of stored objects. */
  get size(): number {
    let n = 0;
    for (const e of this.byHandle.values()) if (e.present) n++;
    return n;
  }
}

/**
 * Secret default labels (private key, HMAC/CMAC key, claim key) must be saved private.
 * @throws {PalError} PAL_PRIVATE_REQUIRED
 */
export function requirePrivate(label: string, isPrivate: boolean): void {
  const def = defaultObjectOf(label);
  if (def?.secret && !isPrivate) {
    throw new PalError('PAL_PRIVATE_REQUIRED', `"${label}" (${def.macro}) holds a secret and must be saved with isPrivate: true`);
  }
}
