import { errorMessage } from '../errors/error-message.js';
import { NvsecError } from '../errors/nvsec-error.js';

/** The stages of {@link bootDevice}, in the order they run. */
export const BOOT_STAGES = Object.freeze([
  'partition-table',
  'secure-boot',
  'flash-decrypt',
  'nvs-keys',
  'nvs-init',
  'nv-seed',
  'drbg',
  'token',
  'identity',
] as const);

/** One stage of {@link bootDevice}. */
export type BootStage = (typeof BOOT_STAGES)[number];

/**
 * A device boot that stopped: `stage` says where, `cause` is the error the stage hit, and the
 * message names both (`device boot failed at stage secure-boot: …`). `code` is `DEVICE_BOOT_FAILED`.
 *
 * @example
 * try { await bootDevice(opts); } catch (e) { if (e instanceof DeviceBootError) console.log(e.stage); }
 */
export class DeviceBootError extends NvsecError {
  readonly stage: BootStage;

  /**
   * @param stage the stage that failed
   * @param cause what went wrong (an Error, or a sentence)
   */
  constructor(stage: BootStage, cause: unknown) {
    const inner = cause instanceof NvsecError ? cause : null;
    super('DEVICE_BOOT_FAILED', `device boot failed at stage ${stage}: ${errorMessage(cause)}`, {
      cause,
      ...(inner?.espErr === undefined ? {} : { espErr: inner.espErr }),
      ...(inner?.ckr === undefined ? {} : { ckr: inner.ckr }),
    });
    this.name = 'DeviceBootError';
    this.stage = stage;
  }
}
