import { createRequire, syncBuiltinESMExports } from 'node:module';

/*
 * Crash injection for code that writes files through node:fs (sync calls). The listed calls are
 * wrapped (node:fs exports, synced into the ESM namespace that src/node uses): the k-th call does
 * not happen (clean crash) or, for a data write, happens for only a prefix of its bytes (torn
 * write), and every later call fails as if the process had died there (closing a descriptor is
 * allowed: a dying process frees it without changing file contents).
 */
const requireCjs = createRequire(import.meta.url);
const fsCjs = requireCjs('node:fs') as Record<string, (...args: unknown[]) => unknown>;
const FS_STEPS = ['openSync', 'writeSync', 'fsyncSync', 'closeSync', 'renameSync', 'linkSync', 'rmSync', 'unlinkSync', 'ftruncateSync'];

// Node 20's rmSync loads an internal module that captures fs functions when first used: load it
// now, unpatched, so it never keeps a wrapper of one run alive into the next.
fsCjs.rmSync!('/nonexistent/nvsec-fs-crash-warm-up', { force: true });

/** The error a simulated crash throws. */
export class Crash extends Error {}

/**
 * Runs `work` with a crash at fs step `cut.at` (tearing a write after `cut.tear` bytes), or with no
 * crash when `cut` is null; returns the names of the steps that ran (the crashed one included).
 */
export function runWithCrash(cut: { at: number; tear: number } | null, work: () => void): string[] {
  const steps: string[] = [];
  let dead = false;
  const originals = new Map<string, (...args: unknown[]) => unknown>();
  for (const name of FS_STEPS) {
    const orig = fsCjs[name]!;
    originals.set(name, orig);
    fsCjs[name] = (...args: unknown[]) => {
      if (dead) {
        if (name === 'closeSync') orig(...args);
        throw new Crash('the process is dead');
      }
      steps.push(name);
      if (cut && steps.length === cut.at) {
        dead = true;
        if (name === 'writeSync' && cut.tear > 0) {
          const [fd, buf, offset, length, position] = args as [number, Uint8Array, number?, number?, (number | null)?];
          orig(fd, buf, offset ?? 0, Math.min(cut.tear, length ?? buf.length), position ?? null);
        }
        if (name === 'closeSync') orig(...args);
        throw new Crash(`crash at fs step ${cut.at} (${name})`);
      }
      return orig(...args);
    };
  }
  syncBuiltinESMExports();
  try {
    work();
  } catch (e) {
    if (!(e instanceof Crash) && !(e instanceof Error && e.cause instanceof Crash)) throw e;
  } finally {
    for (const [name, orig] of originals) fsCjs[name] = orig;
    syncBuiltinESMExports();
  }
  return steps;
}
