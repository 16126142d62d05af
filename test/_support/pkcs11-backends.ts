import type * as pkcs11js from 'pkcs11js';
import { createRequire } from 'node:module';
import { SECTOR_SIZE } from '../../src/flash/flash.js';
import { MemoryFlash } from '../../src/flash/memory-flash.js';
import { type NodeTokenOptions, openCryptoki } from '../../src/node/node-token.js';
import { NvsStorage } from '../../src/nvs/store/storage.js';
import { NVS_OBJECT_NAMESPACE, NvsObjectStore } from '../../src/pkcs11/pal/nvs-object-store.js';
import { nvsEnc } from '../pkcs11/_backends.js';
import { createSoftHsmToken, softHsmUnavailable } from './softhsm.js';

/**
 * The PKCS#11 backends one behavioural suite runs against: SoftHSMv2 through pkcs11js, and nvsec's
 * in-process token, whose class has exactly pkcs11js 2.1.7's method names and shapes (handles are
 * `Buffer`s of a CK_ULONG, output buffers are passed in and a slice is returned, failures throw with
 * the CKR). {@link ckrOf} reads the CKR from either backend's errors.
 */

type AsyncMethodName = Extract<keyof pkcs11js.PKCS11, `${string}Async`>;

/**
 * The Cryptoki surface the suite drives: pkcs11js' `PKCS11` without `load`/`close`. The `…Async`
 * variants (libuv worker threads in pkcs11js) are optional: an in-process token need not have them.
 */
export type Cryptoki = Omit<pkcs11js.PKCS11, 'load' | 'close' | AsyncMethodName> & Partial<Pick<pkcs11js.PKCS11, AsyncMethodName>>;

/** One token to run the suite against; made once per test file. */
export interface Backend {
  readonly name: 'softhsm' | 'nvsec';
  /** The module, not initialised: every test calls C_Initialize and C_Finalize itself. */
  readonly p11: Cryptoki;
  /** Label the token was initialised with (unpadded). */
  readonly tokenLabel: string;
  readonly soPin: string;
  readonly userPin: string;
  /** Finalizes if still initialised, unloads, removes temporary files. */
  dispose(): void;
}

/** A backend the suite can make, or the reason it is not run. */
export type BackendKind = { name: Backend['name']; make: () => Backend } | { name: Backend['name']; skip: string };

/** PINs and label of every test token (not "0000": item 23 checks the configured PIN is the one used). */
export const TEST_TOKEN = Object.freeze({ label: 'nvsec conformance', soPin: '12345678', userPin: '87654321' });

const require = createRequire(import.meta.url);

/** pkcs11js' module object (CommonJS; loaded lazily so a missing native addon only fails the softhsm run). */
export function pkcs11jsModule(): typeof pkcs11js {
  return require('pkcs11js') as typeof pkcs11js;
}

/**
 * The CKR number of an error thrown by either backend: nvsec's `Pkcs11Error.ckr`, or pkcs11js'
 * `code` (its `message` is the CKR name), or the `"CKR_NAME:number"` message pkcs11js leaves on the
 * errors of the three methods it does not wrap. Undefined for anything else (a TypeError, an assertion).
 *
 * @example
 * try { p11.C_Login(s, CKU.CKU_USER, 'wrong'); } catch (e) { ckrOf(e) === CKR.CKR_PIN_INCORRECT; }
 */
export function ckrOf(e: unknown): number | undefined {
  if (typeof e !== 'object' || e === null) return undefined;
  const { ckr, code, message } = e as { ckr?: unknown; code?: unknown; message?: unknown };
  if (typeof ckr === 'number') return ckr;
  if (typeof code === 'number' && typeof message === 'string' && /^CKR_[A-Z0-9_]+$/.test(message)) return code;
  // pkcs11js' C_CreateObject/C_CopyObject/C_SetAttributeValue throw the native error unwrapped: "CKR_NAME:number"
  const raw = typeof message === 'string' ? /^(CKR_[A-Z0-9_]+):(\d+)$/.exec(message) : null;
  return raw === null ? undefined : Number(raw[2]);
}

/**
 * SoftHSMv2 (Debian softhsm2 2.6.1 here and in CI) through pkcs11js, on a fresh token in a
 * temporary directory.
 *
 * @throws Error when SoftHSM or pkcs11js cannot be loaded, or the token cannot be created.
 * @example
 * const b = softhsmBackend();
 * try { b.p11.C_Initialize(); ... } finally { b.dispose(); }
 */
export function softhsmBackend(): Backend {
  const token = createSoftHsmToken(TEST_TOKEN);
  try {
    const p11 = new (pkcs11jsModule().PKCS11)();
    p11.load(token.library);
    return {
      name: 'softhsm',
      p11,
      tokenLabel: token.label,
      soPin: token.soPin,
      userPin: token.userPin,
      dispose() {
        try {
          p11.C_Finalize();
        } catch {
          // not initialised: nothing to finalize
        }
        p11.close();
        token.dispose();
      },
    };
  } catch (e) {
    token.dispose();
    throw e;
  }
}

/** Pages of the NVS partition the nvsec token runs on: room for about a hundred objects, so item 33 finds its end. */
const NVSEC_PAGES = 16;

/**
 * nvsec's token as a device runs it: an NVS partition on XTS-encrypted flash (in memory), through
 * the pkcs11js-shaped {@link Cryptoki} from `openCryptoki`. It starts uninitialised and is set up
 * the standard way (C_InitToken, then C_InitPIN as SO), so the suite starts from the same state
 * on both backends. PINs use 10,000 PBKDF2 iterations (the default is 100,000) to keep the suite fast.
 * `options.errors` makes it throw pkcs11js' own `Pkcs11Error`s (for graphene-pk11).
 */
export async function nvsecBackend(options: Pick<NodeTokenOptions, 'errors'> = {}): Promise<Backend> {
  const flash = new MemoryFlash(NVSEC_PAGES * SECTOR_SIZE);
  const store = new NvsObjectStore(NvsStorage.init(flash, nvsEnc()).open(NVS_OBJECT_NAMESPACE, 'readwrite'));
  const p11 = (await openCryptoki(store, { ...options, pinIterations: 10_000 })) as unknown as Cryptoki & { close?: () => void };
  provisionIfNeeded(p11);
  return {
    name: 'nvsec',
    p11,
    tokenLabel: TEST_TOKEN.label,
    soPin: TEST_TOKEN.soPin,
    userPin: TEST_TOKEN.userPin,
    dispose() {
      try {
        p11.C_Finalize();
      } catch {
        // not initialised: nothing to finalize
      }
      p11.close?.();
    },
  };
}

const CKF_TOKEN_INITIALIZED = 0x400;
const CKF_USER_PIN_INITIALIZED = 0x8;

function provisionIfNeeded(p11: Cryptoki): void {
  p11.C_Initialize();
  try {
    const slot = p11.C_GetSlotList(true)[0];
    if (slot === undefined) throw new Error('nvsec token: C_GetSlotList(true) returned no slot');
    if ((p11.C_GetTokenInfo(slot).flags & CKF_TOKEN_INITIALIZED) === 0) p11.C_InitToken(slot, TEST_TOKEN.soPin, TEST_TOKEN.label.padEnd(32, ' '));
    if ((p11.C_GetTokenInfo(slot).flags & CKF_USER_PIN_INITIALIZED) === 0) {
      const session = p11.C_OpenSession(slot, 0x2 | 0x4);
      p11.C_Login(session, 0 /* CKU_SO */, TEST_TOKEN.soPin);
      p11.C_InitPIN(session, TEST_TOKEN.userPin);
      p11.C_Logout(session);
      p11.C_CloseSession(session);
    }
  } finally {
    p11.C_Finalize();
  }
}

/**
 * The backends of this run: SoftHSM (skipped with a reason when not installed, an error under CI) and
 * nvsec (made with `nvsecOptions`).
 */
export async function conformanceBackends(nvsecOptions: Pick<NodeTokenOptions, 'errors'> = {}): Promise<BackendKind[]> {
  const softhsmSkip = softHsmUnavailable();
  const nvsec = await nvsecBackend(nvsecOptions);
  return [softhsmSkip === null ? { name: 'softhsm', make: softhsmBackend } : { name: 'softhsm', skip: softhsmSkip }, { name: 'nvsec', make: () => nvsec }];
}
