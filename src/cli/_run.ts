import { type Command, CommanderError } from 'commander';
import { NvsecError } from '../errors/nvsec-error.js';

/** Exit codes of the CLI. */
export const EXIT = Object.freeze({ OK: 0, FAILURE: 1, USAGE: 2, PROBLEMS: 3 });

/** Options of {@link runAction}. */
export interface RunActionOptions {
  /**
   * Errors that reject the user's input the way the reference tool does with exit status 2 (a
   * bad key length, an image that is not one): reported the same way, but exit EXIT.USAGE.
   */
  rejects?: (e: unknown) => boolean;
}

/**
 * Runs a command action and turns any error into one line on stderr and a non-zero exit code:
 * never a stack trace (set NVSEC_DEBUG=1 to see one). Exit 1, or 2 for `options.rejects` errors.
 */
export function runAction<A extends unknown[]>(action: (...args: A) => void | Promise<void>, options: RunActionOptions = {}): (...args: A) => Promise<void> {
  return async (...args: A) => {
    try {
      await action(...args);
    } catch (e) {
      if (e instanceof CommanderError) throw e; // a usage error, already printed by commander
      reportError(e);
      process.exitCode = options.rejects?.(e) ? EXIT.USAGE : EXIT.FAILURE;
    }
  };
}

/** A file the user named cannot be read: a rejection of the input, exit 2 where the tools do so. */
export const isFileReadError = (e: unknown): boolean => e instanceof NvsecError && e.code === 'CLI_FILE_READ';

/** Prints an error as one line: `nvsec: <message>` (with the code for domain errors). */
export function reportError(e: unknown): void {
  if (process.env.NVSEC_DEBUG && e instanceof Error) console.error(e.stack);
  if (e instanceof NvsecError) {
    console.error(`nvsec: error: ${e.message}`);
  } else if (e instanceof Error) {
    const code = (e as NodeJS.ErrnoException).code;
    console.error(`nvsec: error: ${e.message}${code && !e.message.includes(code) ? ` (${code})` : ''}`);
  } else {
    console.error(`nvsec: error: ${String(e)}`);
  }
}

/** Reports a usage error the way commander does (one line, exit status 2); never returns. */
export function usageError(cmd: Command, message: string): never {
  cmd.error(`error: ${message}`, { exitCode: EXIT.USAGE, code: 'nvsec.usage' });
}
