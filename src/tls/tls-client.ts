import type { CryptoProvider, HashName } from '../crypto/provider.js';
import { NvsecError } from '../errors/nvsec-error.js';
import { concatBytes } from '../bytes/concat.js';
import { expandLabel, readExtensions, u16, vec, WireReader } from './_wire.js';
import { loadX509 } from '../crypto/x509-library.js';
import { certificateVerifyContent } from './certificate-verify.js';
import { verifyServerChain } from './server-chain.js';
import { TLS_SIGNATURE_SCHEMES, type TlsSigner } from './token-signer.js';
import type { Aead, TlsCrypto } from './tls-crypto.js';

/** A connected byte stream (TCP in `nvsec/node`; a WebSocket or serial link elsewhere). */
export interface TlsTransport {
  write(bytes: Uint8Array): Promise<void>;
  /** The next bytes, or null at end of stream. */
  read(): Promise<Uint8Array | null>;
  close(): void;
}

/** What {@link connectTls} needs. */
export interface TlsClientOptions {
  /** Opens the transport; called only after the options passed their checks. */
  readonly connect: () => Promise<TlsTransport>;
  /** The server's identity: SNI (for DNS names) and the name its certificate must carry. */
  readonly serverName: string;
  /** Pinned CA certificates, DER. Required: there is no default trust store. */
  readonly trustAnchors: readonly Uint8Array[];
  /** The device certificate first, then its intermediates (DER); sent when the server asks. */
  readonly clientChain?: readonly Uint8Array[];
  /** Signs the client CertificateVerify with the key of `clientChain[0]` (e.g. {@link tokenSigner}). */
  readonly signer?: TlsSigner;
  /** Time for validity checks; default now. */
  readonly now?: Date;
  readonly crypto: CryptoProvider;
  readonly tlsCrypto: TlsCrypto;
  /** The whole handshake (after `connect`) must finish within this many milliseconds; default 30 000. */
  readonly handshakeTimeoutMs?: number;
}

/** What the handshake itself uses of {@link TlsClientOptions}. */
type HandshakeOptions = Omit<TlsClientOptions, 'connect'>;

/** An established TLS 1.3 connection. */
export interface TlsConnection {
  write(data: Uint8Array): Promise<void>;
  /**
   * The next application data, or null once the server sent an authenticated close_notify.
   * @throws NvsecError `TLS_CLOSED` when the stream ends without close_notify (truncated), `TLS_PROTOCOL`
   *   for an unprotected record (e.g. an injected plaintext alert), `TLS_BAD_RECORD`, `TLS_ALERT`.
   */
  read(): Promise<Uint8Array | null>;
  /** Sends close_notify and closes the transport. */
  close(): Promise<void>;
  /** The server's validated path, leaf first, anchor last (DER). */
  readonly serverPath: readonly Uint8Array[];
  readonly cipherSuite: string;
  /** Whether the server asked for a client certificate. */
  readonly clientAuthRequested: boolean;
}

const CT = Object.freeze({ CHANGE_CIPHER_SPEC: 20, ALERT: 21, HANDSHAKE: 22, APPLICATION_DATA: 23 });
const HS = Object.freeze({ CLIENT_HELLO: 1, SERVER_HELLO: 2, NEW_SESSION_TICKET: 4, ENCRYPTED_EXTENSIONS: 8, CERTIFICATE: 11, CERTIFICATE_REQUEST: 13, CERTIFICATE_VERIFY: 15, FINISHED: 20, KEY_UPDATE: 24 });
const EXT = Object.freeze({ SERVER_NAME: 0, SUPPORTED_GROUPS: 10, SIGNATURE_ALGORITHMS: 13, SUPPORTED_VERSIONS: 43, KEY_SHARE: 51 });
const SECP256R1 = 0x0017;
const TLS13 = 0x0304;
const SUITES: Readonly<Record<number, { name: string; hash: HashName; keyLength: 16 | 32 }>> = Object.freeze({
  0x1301: { name: 'TLS_AES_128_GCM_SHA256', hash: 'sha256', keyLength: 16 },
  0x1302: { name: 'TLS_AES_256_GCM_SHA384', hash: 'sha384', keyLength: 32 },
});
/** Server CertificateVerify schemes offered (RFC 8446 §4.2.3). */
const OFFERED_SCHEMES = [0x0403, 0x0503, 0x0804, 0x0805, 0x0806] as const;
const HRR_RANDOM = 'cf21ad74e59a6111be1d8c021e65b891c2a211167abb8c5e079e09e2c8a8339c';
const MAX_RECORD = 16384;
/** Largest handshake message accepted (a long certificate chain fits; more is a decode_error). */
const MAX_HANDSHAKE_MESSAGE = 1 << 18;
/** Largest message accepted after the handshake (NewSessionTicket, KeyUpdate): they are small. */
const MAX_POST_HANDSHAKE_MESSAGE = 1 << 16;
/** Most certificates accepted in the server's Certificate message. */
const MAX_SERVER_CHAIN = 10;
/** Alert descriptions (RFC 8446 §6), by their names. */
export const TLS_ALERTS: Readonly<Record<number, string>> = Object.freeze({
  0: 'close_notify', 10: 'unexpected_message', 20: 'bad_record_mac', 22: 'record_overflow', 40: 'handshake_failure', 42: 'bad_certificate',
  43: 'unsupported_certificate', 44: 'certificate_revoked', 45: 'certificate_expired', 46: 'certificate_unknown', 47: 'illegal_parameter',
  48: 'unknown_ca', 49: 'access_denied', 50: 'decode_error', 51: 'decrypt_error', 70: 'protocol_version', 71: 'insufficient_security',
  80: 'internal_error', 86: 'inappropriate_fallback', 90: 'user_canceled', 109: 'missing_extension', 110: 'unsupported_extension',
  112: 'unrecognized_name', 113: 'bad_certificate_status_response', 115: 'unknown_psk_identity', 116: 'certificate_required', 120: 'no_application_protocol',
});
const ALERT_FOR_CODE: Readonly<Record<string, number>> = Object.freeze({ TLS_BAD_RECORD: 20, TLS_UNTRUSTED_SERVER: 48, TLS_CERT_EXPIRED: 45, TLS_BAD_SIGNATURE: 51, TLS_BAD_FINISHED: 51, TLS_PROTOCOL: 50 });

/**
 * Handshake messages split over records, kept as a list of chunks: joined once per complete message,
 * so a message trickled in many small records costs linear time, and refused as soon as its header
 * announces more than `max` bytes.
 */
class MessageBuffer {
  private parts: Uint8Array[] = [];
  private size = 0;
  get length(): number {
    return this.size;
  }
  push(data: Uint8Array): void {
    if (data.length === 0) return;
    this.parts.push(data);
    this.size += data.length;
  }
  /** The next complete message (header included), or undefined while it is incomplete. */
  next(max: number, when: string): Uint8Array | undefined {
    if (this.size < 4) return undefined;
    const head = this.parts[0]!.length >= 4 ? this.parts[0]! : this.join();
    const length = (head[1]! << 16) | (head[2]! << 8) | head[3]!;
    if (length > max) throw new NvsecError('TLS_PROTOCOL', `handshake message of ${length} bytes ${when} is over the ${max}-byte limit`);
    if (this.size < 4 + length) return undefined;
    const all = this.join();
    const raw = all.slice(0, 4 + length);
    this.parts = all.length > raw.length ? [all.subarray(4 + length)] : [];
    this.size -= raw.length;
    return raw;
  }
  private join(): Uint8Array {
    const all = this.parts.length === 1 ? this.parts[0]! : concatBytes(...this.parts);
    this.parts = [all];
    return all;
  }
}

/** The record layer: plaintext until keys are set, then AEAD-protected records (RFC 8446 §5). */
class RecordLayer {
  private buffer: Uint8Array = new Uint8Array(0);
  private reader: { aead: Aead; iv: Uint8Array; seq: bigint } | undefined;
  private writer: { aead: Aead; iv: Uint8Array; seq: bigint } | undefined;
  private writes: Promise<void> = Promise.resolve();
  private reads: Promise<unknown> = Promise.resolve();
  /** A plaintext ChangeCipherSpec is tolerated between ClientHello and the server's Finished only. */
  ccsAllowed = true;
  constructor(readonly transport: TlsTransport) {}

  setReadKey(aead: Aead, iv: Uint8Array): void {
    this.reader?.aead.destroy();
    this.reader = { aead, iv, seq: 0n };
  }
  setWriteKey(aead: Aead, iv: Uint8Array): void {
    this.writer?.aead.destroy();
    this.writer = { aead, iv, seq: 0n };
  }

  /** The next record's content type and content, or null at end of stream. */
  async read(): Promise<{ type: number; data: Uint8Array } | null> {
    for (;;) {
      if (!(await this.fill(5))) return null;
      const length = ((this.buffer[3] ?? 0) << 8) | (this.buffer[4] ?? 0);
      if (length > MAX_RECORD + 256) throw new NvsecError('TLS_PROTOCOL', `record of ${length} bytes is over the limit (record_overflow)`);
      if (!(await this.fill(5 + length))) throw new NvsecError('TLS_CLOSED', 'the server closed the connection in the middle of a record');
      const header = this.buffer.slice(0, 5);
      const fragment = this.buffer.slice(5, 5 + length);
      this.buffer = this.buffer.slice(5 + length);
      const type = header[0]!;
      if (type === CT.CHANGE_CIPHER_SPEC && length === 1 && fragment[0] === 1 && this.ccsAllowed) continue; // middlebox compatibility, ignored during the handshake only (RFC 8446 §5)
      if (this.reader === undefined) return { type, data: fragment }; // an alert before the server had keys comes in clear
      // once keys are set, everything (alerts too) must be protected: a plaintext close_notify is an injection
      if (type !== CT.APPLICATION_DATA) throw new NvsecError('TLS_PROTOCOL', `unprotected record of type ${type} after the keys were set (unexpected_message): the connection was tampered with`);
      const reader = this.reader;
      const seq = reader.seq++; // taken before any await
      let inner: Uint8Array;
      try {
        inner = await reader.aead.open(nonce(reader.iv, seq), fragment, header);
      } catch (e) {
        throw new NvsecError('TLS_BAD_RECORD', 'a record from the server does not authenticate (bad_record_mac): the connection was tampered with or the keys disagree', { cause: e });
      }
      let end = inner.length;
      while (end > 0 && inner[end - 1] === 0) end--;
      if (end === 0) throw new NvsecError('TLS_PROTOCOL', 'a protected record has no content type');
      return { type: inner[end - 1]!, data: inner.subarray(0, end - 1) };
    }
  }

  /**
   * Sends `data` as records of `type`. Writes are queued: each record takes its sequence number
   * before anything is awaited, so overlapping calls never share an AES-GCM nonce. `then` runs in
   * the queue right after the last record (a KeyUpdate reply switches the key there).
   */
  write(type: number, data: Uint8Array, then?: () => void): Promise<void> {
    const job = this.writes.then(async () => {
      for (let at = 0; at < data.length || at === 0; at += MAX_RECORD) {
        const chunk = data.subarray(at, at + MAX_RECORD);
        const writer = this.writer;
        if (writer === undefined) {
          await this.transport.write(concatBytes(Uint8Array.of(type, 3, type === CT.HANDSHAKE ? 1 : 3), vec(2, chunk)));
        } else {
          const seq = writer.seq++; // taken before any await
          const inner = concatBytes(chunk, Uint8Array.of(type));
          const header = concatBytes(Uint8Array.of(CT.APPLICATION_DATA, 3, 3), u16(inner.length + 16));
          const sealed = await writer.aead.seal(nonce(writer.iv, seq), inner, header);
          await this.transport.write(concatBytes(header, sealed));
        }
        if (data.length === 0) break;
      }
      then?.();
    });
    this.writes = job.catch(() => undefined);
    return job;
  }

  /** Runs `fn` after every read started before it has finished, so records are opened in order. */
  serialRead<T>(fn: () => Promise<T>): Promise<T> {
    const job = this.reads.then(fn);
    this.reads = job.catch(() => undefined);
    return job;
  }

  destroy(): void {
    this.reader?.aead.destroy();
    this.writer?.aead.destroy();
    this.reader?.iv.fill(0);
    this.writer?.iv.fill(0);
    this.reader = this.writer = undefined;
  }

  private async fill(n: number): Promise<boolean> {
    while (this.buffer.length < n) {
      const more = await this.transport.read();
      if (more === null) return false;
      this.buffer = concatBytes(this.buffer, more);
    }
    return true;
  }
}

/** Equality without an early exit, for MAC values. */
function macEqual(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  let diff = 0;
  for (let i = 0; i < a.length; i++) diff |= (a[i] ?? 0) ^ (b[i] ?? 0);
  return diff === 0;
}

function nonce(iv: Uint8Array, seq: bigint): Uint8Array {
  const out = iv.slice();
  for (let i = 0; i < 8; i++) out[out.length - 1 - i]! ^= Number((seq >> BigInt(8 * i)) & 0xffn);
  return out;
}

/** The fatal alert that tells the server why we end the connection; none when the server ended it or the transport failed. */
function alertFor(e: unknown): number | undefined {
  if (!(e instanceof NvsecError) || !e.code.startsWith('TLS_') || e.code === 'TLS_ALERT' || e.code === 'TLS_CLOSED' || e.code === 'TLS_TIMEOUT') return undefined;
  return ALERT_FOR_CODE[e.code] ?? 42;
}

function alertError(data: Uint8Array, when: string): NvsecError {
  const description = data[1] ?? -1;
  const name = TLS_ALERTS[description] ?? `alert ${description}`;
  const hint =
    name === 'unknown_ca' || name === 'bad_certificate' || name === 'certificate_required'
      ? ': the server does not accept the device certificate (issued by another CA, revoked, or not sent)'
      : name === 'protocol_version'
        ? ': the server does not speak TLS 1.3, the only version nvsec offers'
        : '';
  return new NvsecError('TLS_ALERT', `the server sent ${name} ${when}${hint}`);
}

/**
 * Opens a TLS 1.3 connection (RFC 8446; client side; AES-GCM suites, secp256r1 key exchange) that
 * trusts only `trustAnchors`, checks the server's host name, and, when the server asks, presents
 * `clientChain` with a CertificateVerify made by `signer` — so the device key can stay in its token.
 * Nothing is sent before the options pass their checks; no application data flows before the
 * server's chain, CertificateVerify and Finished have been verified.
 *
 * @throws NvsecError `TLS_CA_REQUIRED` (before connecting), the codes of {@link verifyServerChain},
 *   `TLS_BAD_SIGNATURE`, `TLS_BAD_FINISHED`, `TLS_PROTOCOL` (also: the server does not speak TLS 1.3
 *   or chose a group other than secp256r1), `TLS_NO_COMMON_SIGNATURE`, `TLS_ALERT` (the server's
 *   refusal, by name: e.g. unknown_ca when it rejects the device certificate), `TLS_CLOSED`,
 *   `TLS_TIMEOUT` (no finished handshake within `handshakeTimeoutMs`).
 * @example
 * const conn = await connectTls({
 *   connect: () => nodeTcpTransport('127.0.0.1', 8883), serverName: 'localhost',
 *   trustAnchors: [caDer], clientChain: [deviceCertDer], signer: tokenSigner(session, privateKey),
 *   crypto: nodeCrypto, tlsCrypto: nodeTlsCrypto,
 * });
 * await conn.write(new TextEncoder().encode('hello\n'));
 */
export async function connectTls(options: TlsClientOptions): Promise<TlsConnection> {
  if (options.trustAnchors.length === 0) {
    throw new NvsecError('TLS_CA_REQUIRED', 'no CA given: refusing to connect to a server that cannot be validated (pass the CA that issued the server certificate, e.g. from `nvsec tls fetch-ca`)');
  }
  if (options.serverName.length === 0) throw new TypeError('serverName must not be empty');
  const chain = options.clientChain ?? [];
  if ((chain.length > 0) !== (options.signer !== undefined)) throw new TypeError('clientChain and signer go together: give both or neither');
  const timeoutMs = options.handshakeTimeoutMs ?? 30_000;
  if (!(timeoutMs > 0)) throw new RangeError(`handshakeTimeoutMs must be positive, got ${timeoutMs}`);
  const transport = await options.connect();
  const io = new RecordLayer(transport);
  let timer: ReturnType<typeof setTimeout> | undefined;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new NvsecError('TLS_TIMEOUT', `the TLS handshake did not finish within ${timeoutMs} ms: the server is silent or too slow (raise handshakeTimeoutMs if it is only slow)`)), timeoutMs);
  });
  try {
    return await Promise.race([handshake(options, io, chain, false), deadline]);
  } catch (e) {
    const alert = alertFor(e);
    if (alert !== undefined) await io.write(CT.ALERT, Uint8Array.of(2, alert)).catch(() => undefined);
    io.destroy();
    transport.close();
    throw e;
  } finally {
    clearTimeout(timer);
  }
}

/**
 * The certificate chain a TLS 1.3 server sends (leaf first, DER), as `openssl s_client -showcerts`
 * shows it: nothing is validated except that the server holds the leaf's key (its
 * CertificateVerify), then the connection is closed before any client certificate or Finished is
 * sent. For bootstrapping a pinned CA: compare the fingerprint out of band before trusting it.
 *
 * @throws NvsecError `TLS_BAD_SIGNATURE`, `TLS_PROTOCOL`, `TLS_ALERT`, `TLS_CLOSED`, `TLS_CONNECT` (from the transport).
 * @example
 * const chain = await fetchServerChain({ connect: () => nodeTcpTransport('mqtt.example.com', 8883), serverName: 'mqtt.example.com', crypto: nodeCrypto, tlsCrypto: nodeTlsCrypto });
 */
export async function fetchServerChain(options: Pick<TlsClientOptions, 'connect' | 'serverName' | 'crypto' | 'tlsCrypto'>): Promise<Uint8Array[]> {
  if (options.serverName.length === 0) throw new TypeError('serverName must not be empty');
  const transport = await options.connect();
  const io = new RecordLayer(transport);
  try {
    const chain = await handshake({ ...options, trustAnchors: [] }, io, [], true);
    await io.write(CT.ALERT, Uint8Array.of(1, 90)).catch(() => undefined); // user_canceled: we only wanted the chain
    return chain;
  } finally {
    io.destroy();
    transport.close();
  }
}

/** The handshake; with `fetchOnly` it stops once the server proved it holds its certificate's key and returns the chain it sent, unvalidated. */
async function handshake(opts: HandshakeOptions, io: RecordLayer, clientChain: readonly Uint8Array[], fetchOnly: true): Promise<Uint8Array[]>;
async function handshake(opts: HandshakeOptions, io: RecordLayer, clientChain: readonly Uint8Array[], fetchOnly: false): Promise<TlsConnection>;
async function handshake(opts: HandshakeOptions, io: RecordLayer, clientChain: readonly Uint8Array[], fetchOnly: boolean): Promise<TlsConnection | Uint8Array[]> {
  const { crypto, tlsCrypto } = opts;
  const transport = io.transport;
  const transcript: Uint8Array[] = [];
  const pending = new MessageBuffer();
  const readMessage = async (when: string): Promise<{ type: number; body: Uint8Array }> => {
    for (;;) {
      const raw = pending.next(MAX_HANDSHAKE_MESSAGE, when);
      if (raw !== undefined) {
        transcript.push(raw);
        return { type: raw[0]!, body: raw.subarray(4) };
      }
      const record = await io.read();
      if (record === null) throw new NvsecError('TLS_CLOSED', `the server closed the connection ${when}`);
      if (record.type === CT.ALERT) throw alertError(record.data, when);
      if (record.type !== CT.HANDSHAKE) throw new NvsecError('TLS_PROTOCOL', `record of type ${record.type} ${when} (unexpected_message)`);
      pending.push(record.data.slice());
    }
  };
  const expect = async (type: number, name: string): Promise<Uint8Array> => {
    const m = await readMessage(`while waiting for ${name}`);
    if (m.type !== type) throw new NvsecError('TLS_PROTOCOL', `expected ${name}, the server sent handshake message ${m.type} (unexpected_message)`);
    return m.body;
  };
  const sendMessage = async (type: number, body: Uint8Array): Promise<void> => {
    const raw = concatBytes(Uint8Array.of(type), vec(3, body));
    transcript.push(raw);
    await io.write(CT.HANDSHAKE, raw);
  };

  // ClientHello
  const share = await tlsCrypto.keyShare('secp256r1');
  const isIp = /^\d{1,3}(\.\d{1,3}){3}$/.test(opts.serverName) || opts.serverName.includes(':');
  const enc = new TextEncoder();
  const ext = (type: number, body: Uint8Array): Uint8Array => concatBytes(u16(type), vec(2, body));
  const extensions = concatBytes(
    isIp ? new Uint8Array(0) : ext(EXT.SERVER_NAME, vec(2, concatBytes(Uint8Array.of(0), vec(2, enc.encode(opts.serverName.replace(/\.$/, '')))))),
    ext(EXT.SUPPORTED_VERSIONS, vec(1, u16(TLS13))),
    ext(EXT.SUPPORTED_GROUPS, vec(2, u16(SECP256R1))),
    ext(EXT.SIGNATURE_ALGORITHMS, vec(2, concatBytes(...OFFERED_SCHEMES.map(u16)))),
    ext(EXT.KEY_SHARE, vec(2, concatBytes(u16(SECP256R1), vec(2, share.publicKey)))),
  );
  const suites = Object.keys(SUITES).map(Number);
  await sendMessage(HS.CLIENT_HELLO, concatBytes(u16(0x0303), crypto.randomBytes(32), vec(1, new Uint8Array(0)), vec(2, concatBytes(...suites.map(u16))), vec(1, Uint8Array.of(0)), vec(2, extensions)));

  // ServerHello
  const sh = new WireReader(await expect(HS.SERVER_HELLO, 'ServerHello'), 'ServerHello');
  sh.uint(2);
  const serverRandom = sh.bytes(32);
  const sessionEcho = sh.vec(1);
  const suiteCode = sh.uint(2);
  const compression = sh.uint(1);
  if (sessionEcho.length !== 0 || compression !== 0) throw new NvsecError('TLS_PROTOCOL', 'the ServerHello echoes a session id or compression method that was not offered (illegal_parameter)');
  const shExt = readExtensions(sh.vec(2), 'ServerHello extensions');
  sh.end();
  const version = shExt.get(EXT.SUPPORTED_VERSIONS);
  if (version === undefined || new WireReader(version, 'supported_versions').uint(2) !== TLS13) {
    throw new NvsecError('TLS_PROTOCOL', 'the server did not choose TLS 1.3 (protocol_version): nvsec speaks TLS 1.3 only');
  }
  if (Array.from(serverRandom, (b) => b.toString(16).padStart(2, '0')).join('') === HRR_RANDOM) {
    throw new NvsecError('TLS_PROTOCOL', 'the server sent a HelloRetryRequest: it does not accept a secp256r1 key share, the only group nvsec offers');
  }
  const suite = SUITES[suiteCode];
  if (suite === undefined) throw new NvsecError('TLS_PROTOCOL', `the server chose cipher suite 0x${suiteCode.toString(16)}, which was not offered (illegal_parameter)`);
  const ks = new WireReader(shExt.get(EXT.KEY_SHARE) ?? new Uint8Array(0), 'key_share');
  if (ks.uint(2) !== SECP256R1) throw new NvsecError('TLS_PROTOCOL', 'the server answered with a key share for another group (illegal_parameter)');
  const ecdhe = await share.deriveSecret(ks.vec(2));
  share.destroy();

  // Key schedule (RFC 8446 §7.1)
  const { hash, keyLength } = suite;
  const hLen = hash === 'sha256' ? 32 : 48;
  const th = (): Uint8Array => crypto.digest(hash, concatBytes(...transcript));
  const emptyHash = crypto.digest(hash, new Uint8Array(0));
  const zeros = new Uint8Array(hLen);
  const early = crypto.hmac(hash, zeros, zeros);
  const hsSecret = crypto.hmac(hash, expandLabel(crypto, hash, early, 'derived', emptyHash, hLen), ecdhe);
  ecdhe.fill(0);
  const helloHash = th();
  const cHs = expandLabel(crypto, hash, hsSecret, 'c hs traffic', helloHash, hLen);
  const sHs = expandLabel(crypto, hash, hsSecret, 's hs traffic', helloHash, hLen);
  const keysOf = (secret: Uint8Array): [Aead, Uint8Array] => {
    const key = expandLabel(crypto, hash, secret, 'key', new Uint8Array(0), keyLength);
    const aead = tlsCrypto.aesGcm(key);
    key.fill(0);
    return [aead, expandLabel(crypto, hash, secret, 'iv', new Uint8Array(0), 12)];
  };
  const noSpan = (at: string): void => {
    if (pending.length > 0) throw new NvsecError('TLS_PROTOCOL', `a handshake message spans the key change ${at} (unexpected_message)`);
  };
  noSpan('after ServerHello');
  io.setReadKey(...keysOf(sHs));
  io.setWriteKey(...keysOf(cHs));

  // EncryptedExtensions, [CertificateRequest], Certificate, CertificateVerify, Finished
  await expect(HS.ENCRYPTED_EXTENSIONS, 'EncryptedExtensions');
  let next = await readMessage('after EncryptedExtensions');
  let request: { context: Uint8Array; schemes: number[] | null } | undefined;
  if (next.type === HS.CERTIFICATE_REQUEST) {
    const r = new WireReader(next.body, 'CertificateRequest');
    const context = r.vec(1);
    const crExt = readExtensions(r.vec(2), 'CertificateRequest extensions');
    r.end();
    const sa = crExt.get(EXT.SIGNATURE_ALGORITHMS);
    const schemes: number[] = [];
    if (sa !== undefined) for (let sr = new WireReader(new WireReader(sa, 'signature_algorithms').vec(2), 'signature_algorithms'); sr.remaining > 0; ) schemes.push(sr.uint(2));
    request = { context: context.slice(), schemes: sa === undefined ? null : schemes };
    next = await readMessage('after CertificateRequest');
  }
  if (next.type !== HS.CERTIFICATE) throw new NvsecError('TLS_PROTOCOL', `expected the server's Certificate, got handshake message ${next.type} (unexpected_message)`);
  const cr = new WireReader(next.body, 'Certificate');
  cr.vec(1);
  const serverChain: Uint8Array[] = [];
  for (const list = new WireReader(cr.vec(3), 'certificate_list'); list.remaining > 0; ) {
    if (serverChain.length === MAX_SERVER_CHAIN) throw new NvsecError('TLS_PROTOCOL', `the server sent more than ${MAX_SERVER_CHAIN} certificates (decode_error)`);
    serverChain.push(list.vec(3).slice());
    list.vec(2);
  }
  cr.end();
  const serverPath = fetchOnly ? serverChain : await verifyServerChain(serverChain, { trustAnchors: opts.trustAnchors, serverName: opts.serverName, ...(opts.now === undefined ? {} : { now: opts.now }) });

  const certHash = th();
  const cv = new WireReader(await expect(HS.CERTIFICATE_VERIFY, 'CertificateVerify'), 'CertificateVerify');
  const scheme = cv.uint(2);
  const signature = cv.vec(2);
  cv.end();
  if (!(OFFERED_SCHEMES as readonly number[]).includes(scheme)) throw new NvsecError('TLS_PROTOCOL', `the server signed with scheme 0x${scheme.toString(16)}, which was not offered (illegal_parameter)`);
  const x509 = await loadX509();
  const spki = new Uint8Array(new x509.X509Certificate(serverPath[0]!).publicKey.rawData);
  if (!(await tlsCrypto.verify(spki, scheme, certificateVerifyContent('server', certHash), signature))) {
    throw new NvsecError('TLS_BAD_SIGNATURE', 'the server\'s CertificateVerify does not verify under its certificate: it does not hold the certificate\'s key');
  }

  if (fetchOnly) return serverChain;
  const beforeFinished = th();
  const finished = await expect(HS.FINISHED, 'Finished');
  const sFinishedKey = expandLabel(crypto, hash, sHs, 'finished', new Uint8Array(0), hLen);
  if (!macEqual(finished, crypto.hmac(hash, sFinishedKey, beforeFinished))) {
    throw new NvsecError('TLS_BAD_FINISHED', 'the server\'s Finished does not match the handshake (decrypt_error): the handshake was tampered with');
  }
  sFinishedKey.fill(0);
  noSpan('after the server Finished');
  io.ccsAllowed = false;
  const serverFinishedHash = th();

  // Client authentication and Finished
  if (request !== undefined) {
    const entries = clientChain.map((der) => concatBytes(vec(3, der), vec(2, new Uint8Array(0))));
    await sendMessage(HS.CERTIFICATE, concatBytes(vec(1, request.context), vec(3, concatBytes(...entries))));
    if (clientChain.length > 0 && opts.signer !== undefined) {
      const code = TLS_SIGNATURE_SCHEMES[opts.signer.scheme];
      if (request.schemes !== null && !request.schemes.includes(code)) {
        throw new NvsecError('TLS_NO_COMMON_SIGNATURE', `the server does not accept ${opts.signer.scheme} signatures from clients (it accepts ${request.schemes.map((s) => `0x${s.toString(16)}`).join(', ')})`);
      }
      const clientSignature = await opts.signer.sign(certificateVerifyContent('client', th()));
      await sendMessage(HS.CERTIFICATE_VERIFY, concatBytes(u16(code), vec(2, clientSignature)));
    }
  }
  const cFinishedKey = expandLabel(crypto, hash, cHs, 'finished', new Uint8Array(0), hLen);
  await sendMessage(HS.FINISHED, crypto.hmac(hash, cFinishedKey, th()));
  cFinishedKey.fill(0);

  // Application traffic
  const master = crypto.hmac(hash, expandLabel(crypto, hash, hsSecret, 'derived', emptyHash, hLen), zeros);
  let cAp = expandLabel(crypto, hash, master, 'c ap traffic', serverFinishedHash, hLen);
  let sAp = expandLabel(crypto, hash, master, 's ap traffic', serverFinishedHash, hLen);
  for (const secret of [early, hsSecret, cHs, sHs, master]) secret.fill(0);
  io.setReadKey(...keysOf(sAp));
  io.setWriteKey(...keysOf(cAp));
  transcript.length = 0;

  let closed = false;
  let peerClosed = false;
  let failure: unknown;
  /** Ends the connection on the first error: the matching fatal alert, keys wiped, transport closed; the error is kept for every later call. */
  const fail = async (e: unknown): Promise<never> => {
    if (failure === undefined && !closed) {
      failure = e;
      closed = true;
      const alert = alertFor(e);
      if (alert !== undefined) await io.write(CT.ALERT, Uint8Array.of(2, alert)).catch(() => undefined);
      io.destroy();
      cAp.fill(0);
      sAp.fill(0);
      transport.close();
    }
    throw failure ?? e;
  };
  return {
    serverPath,
    cipherSuite: suite.name,
    clientAuthRequested: request !== undefined,
    async write(data: Uint8Array): Promise<void> {
      if (failure !== undefined) throw failure;
      if (closed) throw new NvsecError('TLS_CLOSED', 'write() after close()');
      await io.write(CT.APPLICATION_DATA, data).catch(fail);
    },
    async read(): Promise<Uint8Array | null> {
      if (failure !== undefined) throw failure;
      return io.serialRead(readRecord).catch(fail);
    },
    async close(): Promise<void> {
      if (closed) return;
      closed = true;
      await io.write(CT.ALERT, Uint8Array.of(1, 0)).catch(() => undefined);
      io.destroy();
      cAp.fill(0);
      sAp.fill(0);
      transport.close();
    },
  };

  async function readRecord(): Promise<Uint8Array | null> {
    for (;;) {
      if (failure !== undefined) throw failure;
      if (closed || peerClosed) return null;
      const record = await io.read();
      if (record === null) throw new NvsecError('TLS_CLOSED', 'the connection ended without the server\'s close_notify (truncated): the data received so far may be incomplete');
      if (record.type === CT.APPLICATION_DATA) {
        if (record.data.length > 0) return record.data.slice();
        continue;
      }
      if (record.type === CT.ALERT) {
        if (record.data[1] === 0) {
          peerClosed = true; // authenticated: alerts come only in protected records now
          return null;
        }
        throw alertError(record.data, 'after the handshake');
      }
      if (record.type !== CT.HANDSHAKE) throw new NvsecError('TLS_PROTOCOL', `record of type ${record.type} after the handshake`);
      pending.push(record.data.slice());
      for (let raw = pending.next(MAX_POST_HANDSHAKE_MESSAGE, 'after the handshake'); raw !== undefined; raw = pending.next(MAX_POST_HANDSHAKE_MESSAGE, 'after the handshake')) {
        const type = raw[0]!;
        const body = raw.subarray(4);
        if (type === HS.KEY_UPDATE) {
          const next = expandLabel(crypto, hash, sAp, 'traffic upd', new Uint8Array(0), hLen);
          sAp.fill(0);
          sAp = next;
          io.setReadKey(...keysOf(sAp));
          if (body[0] === 1) {
            // queued behind any write in flight; the new key takes over in the queue right after the reply
            void io.write(CT.HANDSHAKE, concatBytes(Uint8Array.of(HS.KEY_UPDATE), vec(3, Uint8Array.of(0))), () => {
              const nextC = expandLabel(crypto, hash, cAp, 'traffic upd', new Uint8Array(0), hLen);
              cAp.fill(0);
              cAp = nextC;
              io.setWriteKey(...keysOf(cAp));
            }).catch(fail).catch(() => undefined); // the failure is kept and thrown by the next call
          }
        } else if (type !== HS.NEW_SESSION_TICKET) {
          throw new NvsecError('TLS_PROTOCOL', `handshake message ${type} after the handshake (unexpected_message)`);
        }
      }
    }
  }
}
