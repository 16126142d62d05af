// One p11-kit RPC connection over a Token (spec §3, pitfalls P1–P16), independent of the
// transport: the caller feeds received bytes in and writes what `send` is given out.
import { CK_UNAVAILABLE_INFORMATION, CKR } from '../constants.js';
import { Pkcs11Error, pkcs11Error } from '../pkcs11-error.js';
import type { RawAttribute } from '../token/attribute-map.js';
import { MECHANISM_INFO } from '../token/mechanisms.js';
import type { Mechanism, Output, Token } from '../token/token.js';
import { RPC_CALL_ERROR, RPC_CALLS, RPC_HANDSHAKE, RPC_PROTOCOL_MAX, RPC_V0_LAST_CALL } from './calls.js';
import { type Frame, FrameDecoder, type FrameLimits, encodeFrame } from './frames.js';
import {
  type MechanismFormat,
  type WireAttribute,
  type WireAttributeRequest,
  WireError,
  type WireMechanism,
  WireReader,
  WireWriter,
  mechanismFormatFor,
} from './wire.js';

/** Options of {@link RpcConnection}. */
export interface RpcConnectionOptions extends FrameLimits {
  /** Told why a connection was dropped or a call failed unexpectedly (never key material or PINs). */
  readonly log?: (message: string) => void;
  /** Largest C_GenerateRandom answered (bytes); larger requests get CKR_ARGUMENTS_BAD. Default 1 MiB. */
  readonly maxRandom?: number;
}

/** A parsed request argument, by signature letter. */
type Arg = number | string | Uint8Array | null | WireAttribute[] | WireAttributeRequest[] | WireMechanism | { major: number; minor: number };

/** What a call handler gets: the arguments in signature order and the response writer (call id and signature already written). */
type Handler = (args: readonly Arg[], w: WireWriter) => void;

const OK = CKR.CKR_OK;

/**
 * The server side of one p11-kit RPC connection over a shared {@link Token}: the version byte
 * (answered with min(client, 0), P1), framing (P9), the C_Initialize handshake check (P12), then
 * every protocol-0 call dispatched onto the token, C semantics preserved: size queries and
 * CKR_BUFFER_TOO_SMALL as successful responses (P6), errors as an ERROR message (P7),
 * C_GetAttributeValue with its trailing rv. Functions the token lacks (encryption, wrapping,
 * derivation, dual functions, operation state, slot events) answer CKR_FUNCTION_NOT_SUPPORTED;
 * the 3.0 calls (ids 66–89) too. Sessions opened here are this connection's: other connections'
 * handles are CKR_SESSION_HANDLE_INVALID, and {@link RpcConnection.end} closes them (P10).
 * A malformed frame (bad lengths, unknown call, wrong signature string, short or trailing bytes)
 * drops the connection (`close` is called) and nothing else.
 *
 * Received chunks are read in place, and PIN bytes in them are zeroized once used.
 *
 * @example
 * const conn = new RpcConnection(token, (b) => socket.write(b), () => socket.destroy());
 * socket.on('data', (chunk) => conn.receive(chunk));
 * socket.on('close', () => conn.end());
 */
/**
 * The client that holds each token's login. A PKCS#11 login belongs to the application that made
 * it, and each RPC connection is an application, but the token keeps one login: so while one
 * client is logged in, the others may only make the calls in {@link OPEN_WHILE_LOGGED_IN}; the
 * login ends with the holder's C_Logout, its last session, C_Finalize or its connection.
 */
const LOGIN_HOLDERS = new WeakMap<Token, RpcConnection>();
/** Calls that reveal and change nothing a login protects: open to every client at any time. */
const OPEN_WHILE_LOGGED_IN: ReadonlySet<number> = new Set([1, 2, 3, 4, 5, 6, 7, 8, 10, 11, 12, 63, 64]);
const C_LOGIN = 18;
const C_LOGOUT = 19;

export class RpcConnection {
  private readonly frames: FrameDecoder;
  private readonly log: (message: string) => void;
  private readonly maxRandom: number;
  private offered: number | null = null;
  private format: MechanismFormat = 'legacy';
  private initialized = false;
  private dead = false;
  private readonly sessions = new Set<number>();
  private readonly handlers: ReadonlyMap<number, Handler>;

  constructor(
    private readonly token: Token,
    private readonly send: (bytes: Uint8Array) => void,
    private readonly close: () => void,
    options: RpcConnectionOptions = {},
  ) {
    this.frames = new FrameDecoder(options);
    this.log = options.log ?? (() => undefined);
    this.maxRandom = options.maxRandom ?? 1024 * 1024;
    this.handlers = this.makeHandlers();
  }

  /** The protocol version the client offered (null before its first byte). */
  get clientVersion(): number | null {
    return this.offered;
  }

  /** True once the connection was dropped or ended. */
  get closed(): boolean {
    return this.dead;
  }

  /** Sessions this connection has open. */
  get openSessions(): readonly number[] {
    return [...this.sessions];
  }

  /** Bytes received from the client. Never throws: a protocol violation drops the connection. */
  receive(chunk: Uint8Array): void {
    if (this.dead) return;
    try {
      let data = chunk;
      if (this.offered === null) {
        if (data.length === 0) return;
        this.offered = data[0]!;
        this.format = mechanismFormatFor(this.offered);
        this.send(Uint8Array.of(Math.min(this.offered, RPC_PROTOCOL_MAX)));
        data = data.subarray(1);
      }
      for (const frame of this.frames.push(data)) {
        if (this.dead) return;
        this.handle(frame);
      }
    } catch (e) {
      this.drop(e instanceof WireError ? e.message : `internal error: ${e instanceof Error ? e.message : String(e)}`);
    }
  }

  /** The transport closed: closes this connection's sessions (their session objects go with them). */
  end(): void {
    this.dead = true;
    this.closeOwnSessions();
  }

  private drop(reason: string): void {
    if (this.dead) return;
    this.log(`p11-kit RPC: dropping the connection: ${reason}`);
    this.end();
    this.close();
  }

  /** Ends this client's login, if it holds the token's: the next client must log in itself. */
  private releaseLogin(): void {
    if (LOGIN_HOLDERS.get(this.token) !== this) return;
    LOGIN_HOLDERS.delete(this.token);
    const s = this.sessions.values().next().value;
    if (s === undefined) return;
    try {
      this.token.logout(s);
    } catch {
      // already logged out (C_InitToken, or the token closed the sessions): nothing to end
    }
  }

  private closeOwnSessions(): void {
    this.releaseLogin();
    for (const s of [...this.sessions]) {
      this.sessions.delete(s);
      try {
        this.token.closeSession(s);
      } catch {
        // The token no longer knows it (closed by C_InitToken's rules or a finalize): nothing to close.
      }
    }
  }

  private handle(frame: Frame): void {
    const r = new WireReader(frame.body);
    const id = r.u32();
    const call = RPC_CALLS[id];
    if (call === undefined || call.request === null) throw new WireError(`unknown call id ${id}`);
    const signature = r.signature();
    if (signature !== call.request) throw new WireError(`${call.name}: signature "${signature}", expected "${call.request}"`);
    const args = readArgs(r, call.request, this.format);
    r.end();
    const w = new WireWriter();
    w.u32(id).signature(call.response);
    let body: Uint8Array;
    try {
      if (id > RPC_V0_LAST_CALL) throw pkcs11Error(CKR.CKR_FUNCTION_NOT_SUPPORTED, `${call.name} (protocol ${call.since}) is not served`);
      if (id !== 1 && !this.initialized) throw pkcs11Error(CKR.CKR_CRYPTOKI_NOT_INITIALIZED, `${call.name}: call C_Initialize first`);
      const handler = this.handlers.get(id);
      if (handler === undefined) throw pkcs11Error(CKR.CKR_FUNCTION_NOT_SUPPORTED, `${call.name} is not supported by this token`);
      const holder = LOGIN_HOLDERS.get(this.token);
      if (holder !== undefined && holder !== this && !OPEN_WHILE_LOGGED_IN.has(id)) {
        throw pkcs11Error(CKR.CKR_USER_ANOTHER_ALREADY_LOGGED_IN, `${call.name}: another client is logged in to this token, and its login is not shared`);
      }
      handler(args, w);
      if (id === C_LOGIN) LOGIN_HOLDERS.set(this.token, this);
      if (id === C_LOGOUT && holder === this) LOGIN_HOLDERS.delete(this.token);
      body = w.finish();
    } catch (e) {
      body = errorBody(this.rvOf(e, call.name));
    }
    this.send(encodeFrame(frame.code, body));
  }

  private rvOf(e: unknown, name: string): number {
    if (e instanceof Pkcs11Error) return e.ckr;
    if (e instanceof WireError) throw e;
    this.log(`p11-kit RPC: ${name} failed unexpectedly: ${e instanceof Error ? e.message : String(e)}`);
    return CKR.CKR_GENERAL_ERROR;
  }

  private session(h: number): number {
    if (!this.sessions.has(h)) throw pkcs11Error(CKR.CKR_SESSION_HANDLE_INVALID, `session ${h} is not open on this connection`);
    return h;
  }

  private makeHandlers(): Map<number, Handler> {
    const t = this.token;
    const m = new Map<number, Handler>();
    const on = (id: number, h: Handler): void => void m.set(id, h);
    const sess = (args: readonly Arg[], i = 0): number => this.session(num(args, i));

    on(1, (a) => {
      // C_Initialize "ayyay": handshake, reserved-present flag, reserved string (P12).
      const handshake = bytes(a, 0);
      if (handshake.length !== RPC_HANDSHAKE.length || [...handshake].some((c, i) => c !== RPC_HANDSHAKE.charCodeAt(i))) {
        throw pkcs11Error(CKR.CKR_GENERAL_ERROR, 'C_Initialize: wrong handshake string');
      }
      if (this.initialized) throw pkcs11Error(CKR.CKR_CRYPTOKI_ALREADY_INITIALIZED, 'C_Initialize');
      if (!t.isInitialized) t.initialize();
      this.initialized = true;
    });
    on(2, () => {
      this.closeOwnSessions();
      this.initialized = false;
    });
    on(3, (_a, w) => {
      const i = t.getInfo();
      w.version(i.cryptokiVersion).spaceString(i.manufacturerID, 32).u64(i.flags).spaceString(i.libraryDescription, 32).version(i.libraryVersion);
    });
    on(4, (a, w) => list(w, t.getSlotList(num(a, 0) !== 0), cap(a, 1)));
    on(5, (a, w) => {
      const i = t.getSlotInfo(num(a, 0));
      w.spaceString(i.slotDescription, 64).spaceString(i.manufacturerID, 32).u64(i.flags).version(i.hardwareVersion).version(i.firmwareVersion);
    });
    on(6, (a, w) => {
      const i = t.getTokenInfo(num(a, 0));
      w.spaceString(i.label, 32).spaceString(i.manufacturerID, 32).spaceString(i.model, 16).spaceString(i.serialNumber, 16);
      for (const v of [i.flags, i.maxSessionCount, i.sessionCount, i.maxRwSessionCount, i.rwSessionCount, i.maxPinLen, i.minPinLen]) w.ulongInfo(v);
      for (const v of [i.totalPublicMemory, i.freePublicMemory, i.totalPrivateMemory, i.freePrivateMemory]) w.ulongInfo(v);
      w.version(i.hardwareVersion).version(i.firmwareVersion).spaceString(i.utcTime, 16);
    });
    on(7, (a, w) => list(w, t.getMechanismList(num(a, 0)), cap(a, 1)));
    on(8, (a, w) => {
      const i = t.getMechanismInfo(num(a, 0), num(a, 1));
      w.u64(i.minKeySize).u64(i.maxKeySize).u64(i.flags);
    });
    on(9, (a) => {
      const pin = bytes(a, 1);
      try {
        t.initToken(num(a, 0), pin, label32(str(a, 2)));
      } finally {
        pin.fill(0);
      }
    });
    on(10, (a, w) => {
      const h = t.openSession(num(a, 0), num(a, 1));
      this.sessions.add(h);
      w.u64(h);
    });
    on(11, (a) => {
      const h = sess(a);
      if (this.sessions.size === 1) this.releaseLogin(); // an application's login ends with its last session
      t.closeSession(h);
      this.sessions.delete(h);
    });
    on(12, (a) => {
      t.getSlotInfo(num(a, 0));
      this.closeOwnSessions();
    });
    on(13, (a, w) => {
      const i = t.getSessionInfo(sess(a));
      w.u64(i.slotID).u64(i.state).u64(i.flags).u64(i.deviceError);
    });
    on(14, (a) => withPins([bytes(a, 1)], ([pin]) => t.initPin(sess(a), pin!)));
    on(15, (a) => withPins([bytes(a, 1), bytes(a, 2)], ([o, n]) => t.setPin(sess(a), o!, n!)));
    on(18, (a) => withPins([bytes(a, 2)], ([pin]) => t.loginAs(sess(a), num(a, 1), pin!)));
    on(19, (a) => t.logout(sess(a)));
    on(20, (a, w) => void w.u64(t.createObject(sess(a), template(attrs(a, 1)))));
    on(21, (a, w) => void w.u64(t.copyObject(sess(a), num(a, 1), template(attrs(a, 2)))));
    on(22, (a) => t.destroyObject(sess(a), num(a, 1)));
    on(23, (a, w) => void w.u64(t.getObjectSize(sess(a), num(a, 1))));
    on(24, (a, w) => {
      const { rv, attributes } = t.getAttributeValue(sess(a), num(a, 1), requests(a, 2));
      w.attributes(attributes.map(toWireAttribute)).u64(rv);
    });
    on(25, (a) => t.setAttributeValue(sess(a), num(a, 1), template(attrs(a, 2))));
    on(26, (a) => t.findObjectsInit(sess(a), template(attrs(a, 1))));
    on(27, (a, w) => {
      const found = t.findObjects(sess(a), cap(a, 1) ?? 0);
      w.ulongs(found);
    });
    on(28, (a) => t.findObjectsFinal(sess(a)));
    on(37, (a) => t.digestInit(sess(a), mechanism(a, 1)));
    on(38, (a, w) => output(w, t.digest(sess(a), bytes(a, 1), cap(a, 2))));
    on(39, (a) => t.digestUpdate(sess(a), bytes(a, 1)));
    on(41, (a, w) => output(w, t.digestFinal(sess(a), cap(a, 1))));
    on(42, (a) => t.signInit(sess(a), mechanism(a, 1), num(a, 2)));
    on(43, (a, w) => output(w, t.sign(sess(a), bytes(a, 1), cap(a, 2))));
    on(44, (a) => t.signUpdate(sess(a), bytes(a, 1)));
    on(45, (a, w) => output(w, t.signFinal(sess(a), cap(a, 1))));
    on(48, (a) => t.verifyInit(sess(a), mechanism(a, 1), num(a, 2)));
    on(49, (a) => t.verify(sess(a), bytes(a, 1), bytes(a, 2)));
    on(50, (a) => t.verifyUpdate(sess(a), bytes(a, 1)));
    on(51, (a) => t.verifyFinal(sess(a), bytes(a, 1)));
    on(59, (a, w) => {
      const { publicKey, privateKey } = t.generateKeyPair(sess(a), mechanism(a, 1), template(attrs(a, 2)), template(attrs(a, 3)));
      w.u64(publicKey).u64(privateKey);
    });
    on(63, (a) => t.seedRandom(sess(a), bytes(a, 1)));
    on(64, (a, w) => {
      const s = sess(a);
      const n = cap(a, 1);
      // The client sends NULL and zero-length buffers alike as capacity 0 (P5). SoftHSM refuses it
      // (CKR_ARGUMENTS_BAD); this server answers the zero-length request (CKR_OK, no bytes), which
      // PKCS#11 allows and `pkcs11-tool --test` requires, and which is harmless for a NULL buffer.
      if (n === null) {
        w.bytes(new Uint8Array(0));
        return;
      }
      if (n > this.maxRandom) throw pkcs11Error(CKR.CKR_ARGUMENTS_BAD, `C_GenerateRandom: at most ${this.maxRandom} bytes per call`);
      const out = t.generateRandom(s, n);
      w.bytes(out);
      out.fill(0);
    });
    return m;
  }
}

/** An ERROR message body: call id 0, signature "u", the CK_RV (P7). */
function errorBody(rv: number): Uint8Array {
  return new WireWriter().u32(RPC_CALL_ERROR).signature('u').u64(rv === OK ? CKR.CKR_GENERAL_ERROR : rv).finish();
}

/** Splits a signature string into its parts: `y`, `u`, `ay`, `aA`, `fy`, `fA`, `M`, … */
export function signatureParts(signature: string): string[] {
  const parts: string[] = [];
  for (let i = 0; i < signature.length; i++) {
    const c = signature[i]!;
    if ((c === 'a' || c === 'f') && i + 1 < signature.length) {
      parts.push(c + signature[i + 1]!);
      i++;
    } else parts.push(c);
  }
  return parts;
}

const PARTS_CACHE = new Map<string, string[]>();

function readArgs(r: WireReader, signature: string, format: MechanismFormat): Arg[] {
  let parts = PARTS_CACHE.get(signature);
  if (parts === undefined) {
    parts = signatureParts(signature);
    PARTS_CACHE.set(signature, parts);
  }
  return parts.map((p): Arg => {
    switch (p) {
      case 'y':
        return r.byte();
      case 'u':
        return r.u64();
      case 'v':
        return r.version();
      case 's':
        return r.spaceString();
      case 'z':
        return r.zeroString();
      case 'ay':
        return r.bytesArg();
      case 'aA':
        return r.attributes();
      case 'fy':
      case 'fu':
        return r.capacity();
      case 'fA':
        return r.attributeRequests();
      case 'M':
        return r.mechanism(format);
      default:
        throw new WireError(`signature part "${p}" cannot appear in a request`);
    }
  });
}

function num(a: readonly Arg[], i: number): number {
  const v = a[i];
  if (typeof v !== 'number') throw new WireError(`argument ${i} is not a number`);
  return v;
}

function cap(a: readonly Arg[], i: number): number | null {
  const v = a[i];
  if (v === null) return null;
  if (typeof v !== 'number') throw new WireError(`argument ${i} is not a capacity`);
  return v;
}

function bytes(a: readonly Arg[], i: number): Uint8Array {
  const v = a[i];
  if (!(v instanceof Uint8Array)) throw new WireError(`argument ${i} is not a byte array`);
  return v;
}

function str(a: readonly Arg[], i: number): string {
  const v = a[i];
  if (typeof v !== 'string') throw new WireError(`argument ${i} is not a string`);
  return v;
}

function attrs(a: readonly Arg[], i: number): WireAttribute[] {
  const v = a[i];
  if (!Array.isArray(v)) throw new WireError(`argument ${i} is not an attribute array`);
  return v as WireAttribute[];
}

function requests(a: readonly Arg[], i: number): WireAttributeRequest[] {
  const v = a[i];
  if (!Array.isArray(v)) throw new WireError(`argument ${i} is not an attribute request array`);
  return v as WireAttributeRequest[];
}

/** Runs `work` with PIN arguments, then zeroizes them. */
function withPins(pins: Uint8Array[], work: (pins: Uint8Array[]) => void): void {
  try {
    work(pins);
  } finally {
    for (const p of pins) p.fill(0);
  }
}

/** C_InitToken's label: at most 32 bytes (a 0.24.1 client sends the padded field and may run past it), trailing spaces trimmed. */
function label32(s: string): string {
  const raw = new TextEncoder().encode(s).subarray(0, 32);
  return new TextDecoder().decode(raw).replace(/\uFFFD+$/, '').replace(/ +$/, '');
}

function mechanism(a: readonly Arg[], i: number): Mechanism {
  const v = a[i];
  if (v === null || typeof v !== 'object' || !('type' in v) || !('parameter' in v)) throw new WireError(`argument ${i} is not a mechanism`);
  const p = v.parameter;
  if (p === null) return { mechanism: v.type, parameter: null };
  if (p.kind === 'bytes') return { mechanism: v.type, parameter: p.value };
  if (p.kind === 'pss') return { mechanism: v.type, parameter: { hashAlg: p.hashAlg, mgf: p.mgf, saltLen: p.saltLen } };
  if (!MECHANISM_INFO.has(v.type)) throw pkcs11Error(CKR.CKR_MECHANISM_INVALID, 'the token does not support this mechanism');
  throw pkcs11Error(CKR.CKR_MECHANISM_PARAM_INVALID, `the token takes no ${p.kind} parameter`);
}

/** Wire attributes as the token's raw template (values in its canonical form). */
function template(list: readonly WireAttribute[]): RawAttribute[] {
  return list.map((a) => {
    if (a.nested !== undefined) throw pkcs11Error(CKR.CKR_ATTRIBUTE_TYPE_INVALID, 'attribute templates inside attributes are not supported by this token');
    if (a.length === null) throw pkcs11Error(CKR.CKR_ATTRIBUTE_VALUE_INVALID, 'a template attribute has no value');
    return { type: a.type, value: a.value ?? new Uint8Array(0) };
  });
}

/** A C_GetAttributeValue answer on the wire: unavailable → invalid; a length query → length and NULL value. */
function toWireAttribute(a: { type: number; length: number; value: Uint8Array | null }): WireAttribute {
  if (a.length === CK_UNAVAILABLE_INFORMATION) return { type: a.type, length: null, value: null };
  return { type: a.type, length: a.length, value: a.value };
}

/** An `au` answer to a `fu` request: the list, or only its length for a size query or a buffer too small (P6). */
function list(w: WireWriter, values: readonly number[], capacity: number | null): void {
  if (capacity === null || capacity < values.length) w.ulongsLength(values.length);
  else w.ulongs(values);
}

/** An `ay` answer from the token's {@link Output}. */
function output(w: WireWriter, out: Output): void {
  if (out.rv === OK && out.value !== null) w.bytes(out.value);
  else w.bytesLength(out.length);
}

