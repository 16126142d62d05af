import * as crypto from 'node:crypto';
import type { Command } from 'commander';
import { type BootedDevice, bootDevice } from '../device/boot.js';
import { certificateFacts } from '../device/certificate-facts.js';
import { connectDevice } from '../device/connect.js';
import { DeviceBootError } from '../device/device-boot-error.js';
import { errorMessage } from '../errors/error-message.js';
import { NvsecError } from '../errors/nvsec-error.js';
import { readDeviceBundle } from '../node/device-bundle.js';
import { FileFlash } from '../node/file-flash.js';
import { nodeCrypto } from '../node/node-crypto.js';
import { loadNodeKeyCrypto } from '../node/node-key-crypto.js';
import { nodeTlsCrypto } from '../node/node-tls-crypto.js';
import { nodeTcpTransport } from '../node/tcp-transport.js';
import type { TlsConnection } from '../tls/tls-client.js';
import { readBinaryFile } from './_files.js';
import { requirePin, USER_PIN } from './_token-input.js';
import { runAction, usageError } from './_run.js';

interface ConnectOptions {
  host?: string;
  port?: string;
  ca?: string;
  servername?: string;
  pin?: string;
  pinFile?: string;
  send?: string;
  json?: boolean;
  timeout?: string;
}

/** The steps of `device connect`, in order; a failure names the one it stopped at. */
export const CONNECT_STEPS = Object.freeze(['input', 'boot', 'tcp', 'tls-handshake', 'client-certificate', 'exchange'] as const);
type ConnectStep = (typeof CONNECT_STEPS)[number];

/** How long the server may stay silent before `device connect` stops listening (after the handshake or --send). */
const IDLE_MS = 1500;
/** At most this much of the server's answer is kept. */
const MAX_RECEIVED = 1 << 20;
/** Alerts by which a TLS 1.3 server refuses the client certificate (they come after the client's Finished). */
const CLIENT_CERT_ALERTS = ['bad_certificate', 'unsupported_certificate', 'certificate_revoked', 'certificate_expired', 'certificate_unknown', 'unknown_ca', 'access_denied', 'certificate_required'];

/** A failed step: the code of what failed, the step, and for boot failures the boot stage. */
class ConnectError extends NvsecError {
  constructor(
    readonly step: ConnectStep,
    readonly inner: unknown,
    why: string,
  ) {
    const code = inner instanceof NvsecError ? inner.code : 'DEVICE_CONNECT_FAILED';
    super(code, `device connect failed at step ${step}: ${why}${why === '' ? '' : ': '}${errorMessage(inner)}`, { cause: inner });
    this.name = 'ConnectError';
  }
}

/** `nvsec device connect`: boot a bundle and connect it to a TLS server with its token-held key. */
export function registerDeviceConnectCommand(device: Command): void {
  device
    .command('connect')
    .argument('<bundle>', 'device bundle folder (DIR/<device-id> with flash.bin, efuse.bin, manifest.json)')
    .description('Boot a device bundle and connect it to a TLS 1.3 server: the server is checked against --ca, the device proves who it is with the key in its token')
    .option('--host <host>', 'server host name or IP address')
    .option('--port <port>', 'server TCP port')
    .option('--ca <file>', 'CA certificate(s) that issued the server certificate (PEM, several allowed, or DER): required')
    .option('--servername <name>', 'name the server certificate must carry, sent as SNI (default: --host)')
    .option('--pin <pin>', `user PIN: unlocks the device key (or --pin-file, or ${USER_PIN.env})`)
    .option('--pin-file <file>', 'file whose first line is the user PIN')
    .option('--send <text>', 'send this after the handshake (\\r, \\n, \\t and \\\\ are understood) and print what comes back')
    .option('--timeout <ms>', 'limit for the TCP connection and for the TLS handshake, each', '10000')
    .option('--json', 'print the result as JSON (also when it fails)')
    .addHelpText(
      'after',
      `
Steps, in order: input, boot (the stages of \`device boot\`; the boot refreshes the NV seed in
flash.bin as \`device boot\` does), tcp, tls-handshake (the server certificate must chain to --ca
and carry the host name), client-certificate (a TLS 1.3 server judges the device certificate
after the handshake: its refusal, e.g. certificate_revoked or unknown_ca, arrives then), exchange.
A failure names its step and cause and exits 1; with --json the result says {"ok": false, "step", …}.

There is no way to skip the server check: --ca is required (esp_tls connects unchecked when it
has no CA; nvsec never does). Get the CA with \`nvsec tls fetch-ca\`. The device presents its
certificate and its issuers from the token, without the root, and signs with "Device Priv TLS
Key" inside the token; the PIN unlocks it. After the handshake (and --send), what the server
sends is printed until it closes or is silent for ${IDLE_MS} ms.

Examples:
  nvsec device connect out/dev-000001 --host broker.local --port 8883 --ca server-ca.pem --pin-file pin.txt
  nvsec device connect out/dev-000001 --host 127.0.0.1 --port 4433 --servername localhost --ca ca.pem \\
      --pin 1234 --send 'GET / HTTP/1.0\\r\\n\\r\\n'
  NVSEC_PIN=1234 nvsec device connect out/dev-000001 --host 127.0.0.1 --port 4433 --ca ca.pem --json`,
    )
    .action(
      runAction(async (bundle: string, opts: ConnectOptions, cmd: Command) => {
        if (opts.ca === undefined) usageError(cmd, '--ca CA.pem is required: nvsec never connects to a server it cannot validate (get the CA with `nvsec tls fetch-ca HOST:PORT --out ca.pem`)');
        if (opts.host === undefined || opts.host === '') usageError(cmd, '--host is required');
        const port = Number(opts.port);
        if (!Number.isInteger(port) || port < 1 || port > 65535) usageError(cmd, `--port must be a TCP port (1 to 65535), got ${JSON.stringify(opts.port ?? null)}`);
        const timeout = Number(opts.timeout);
        if (!Number.isInteger(timeout) || timeout < 1) usageError(cmd, `--timeout must be a positive number of milliseconds, got ${JSON.stringify(opts.timeout)}`);
        await connect(bundle, { host: opts.host, port, ca: opts.ca, serverName: opts.servername ?? opts.host.replace(/^\[(.*)\]$/, '$1'), timeout, opts });
      }),
    );
}

/** The certificates of a CA file: every PEM block, or one DER certificate; checked by OpenSSL. */
function readCaFile(file: string): Uint8Array[] {
  const bytes = readBinaryFile(file, '--ca file');
  const text = Buffer.from(bytes).toString('latin1');
  const blocks = text.match(/-----BEGIN CERTIFICATE-----[^-]+-----END CERTIFICATE-----/g);
  const inputs: Buffer[] = blocks === null ? [Buffer.from(bytes)] : blocks.map((b) => Buffer.from(b, 'latin1'));
  if (blocks === null && text.includes('-----BEGIN ')) throw new NvsecError('CLI_BAD_CA', `"${file}" holds no "BEGIN CERTIFICATE" block: --ca takes the CA certificate(s), PEM or DER`);
  return inputs.map((input, i) => {
    try {
      return new Uint8Array(new crypto.X509Certificate(input).raw);
    } catch (e) {
      throw new NvsecError('CLI_BAD_CA', `"${file}"${inputs.length > 1 ? ` (certificate ${i + 1})` : ''} is not an X.509 certificate: ${(e as Error).message}`, { cause: e });
    }
  });
}

/** `\r`, `\n`, `\t` and `\\` in --send become the characters. */
function unescape(text: string): string {
  return text.replace(/\\([rnt\\])/g, (_m, c: string) => ({ r: '\r', n: '\n', t: '\t', '\\': '\\' })[c] ?? c);
}

/** Reads until the server closes (close_notify), stays silent for `idleMs`, or sent `max` bytes. */
async function readUntilIdle(conn: TlsConnection, idleMs: number, max: number): Promise<{ data: Uint8Array; end: 'closed' | 'idle' | 'limit' }> {
  const chunks: Uint8Array[] = [];
  let size = 0;
  let pending = conn.read();
  for (;;) {
    let timer: ReturnType<typeof setTimeout> | undefined;
    const idle = new Promise<'idle'>((resolve) => (timer = setTimeout(() => resolve('idle'), idleMs)));
    const next = await Promise.race([pending, idle]).finally(() => clearTimeout(timer));
    const end = next === 'idle' ? 'idle' : next === null ? 'closed' : size + next.length >= max ? 'limit' : null;
    if (next !== 'idle' && next !== null) {
      chunks.push(next.subarray(0, max - size));
      size += Math.min(next.length, max - size);
    }
    if (end !== null) {
      if (end !== 'closed') pending.catch(() => undefined); // ended by close() below; nothing more is wanted
      return { data: Buffer.concat(chunks), end };
    }
    pending = conn.read();
  }
}

interface ConnectPlan {
  host: string;
  port: number;
  ca: string;
  serverName: string;
  timeout: number;
  opts: ConnectOptions;
}

async function connect(dir: string, plan: ConnectPlan): Promise<void> {
  const { opts } = plan;
  let step: ConnectStep = 'input';
  let id: string | null = null;
  let device: BootedDevice | undefined;
  let flash: FileFlash | undefined;
  let efuse: { destroy(): void } | undefined;
  let conn: TlsConnection | undefined;
  try {
    const pin = requirePin(opts, USER_PIN, 'device connect');
    const trustAnchors = readCaFile(plan.ca);
    const send = opts.send === undefined ? null : unescape(opts.send);
    const bundle = readDeviceBundle(dir);
    id = bundle.manifest.id;
    efuse = bundle.efuse;
    flash = FileFlash.open(bundle.flashFile);
    const keys = await loadNodeKeyCrypto();

    step = 'boot';
    device = await bootDevice({ flash, efuse: bundle.efuse, crypto: nodeCrypto, keys, pin });
    flash.sync(); // the NV seed refresh is kept, as `device boot` keeps it
    const identity = device.report.identity;

    step = 'tcp';
    conn = await connectDevice(device, {
      connect: async () => {
        const transport = await nodeTcpTransport(plan.host, plan.port, plan.timeout);
        step = 'tls-handshake';
        return transport;
      },
      serverName: plan.serverName,
      trustAnchors,
      crypto: nodeCrypto,
      tlsCrypto: nodeTlsCrypto,
      handshakeTimeoutMs: plan.timeout,
    });

    // A TLS 1.3 server judges the client certificate after our Finished: its verdict (an alert)
    // comes with the first read. Send first, then listen until it closes or goes quiet.
    step = conn.clientAuthRequested ? 'client-certificate' : 'exchange';
    if (send !== null) await conn.write(new TextEncoder().encode(send));
    let received: { data: Uint8Array; end: 'closed' | 'idle' | 'limit' } | null = null;
    if (send !== null || conn.clientAuthRequested) {
      const first = await readUntilIdle(conn, IDLE_MS, MAX_RECEIVED).catch((e: unknown) => {
        if (step === 'client-certificate' && !isClientCertRefusal(e)) step = 'exchange';
        throw e;
      });
      received = first;
    }
    step = 'exchange';
    await conn.close();

    const serverChain = conn.serverPath.map((der, depth) => {
      const f = certificateFacts(der);
      return { depth, subject: f.subject, issuer: f.issuer };
    });
    const sentChain = identity.chain.filter((c, i) => i === 0 || !c.selfIssued).map((c) => c.subject);
    const text = received === null ? null : new TextDecoder('utf-8', { fatal: false }).decode(received.data);
    if (opts.json === true) {
      const result = {
        ok: true,
        id: identity.deviceId,
        server: { host: plan.host, port: plan.port, serverName: plan.serverName, chain: serverChain },
        cipherSuite: conn.cipherSuite,
        clientCertificate: { requested: conn.clientAuthRequested, sent: conn.clientAuthRequested ? sentChain : [] },
        sent: send,
        received: text,
        end: received === null ? 'closed-by-client' : received.end,
      };
      process.stdout.write(`${JSON.stringify(result, null, 2)}\n`);
      return;
    }
    const out: string[] = [];
    out.push(`device     ${identity.deviceId} (${identity.certificate.subject}, serial ${identity.certificate.serial})`);
    out.push(`server     ${plan.host}:${plan.port} as "${plan.serverName}", certificate chain verified against ${plan.ca}:`);
    for (const c of serverChain) out.push(`             ${c.depth} ${c.subject}`);
    out.push(`cipher     ${conn.cipherSuite} (TLS 1.3)`);
    out.push(
      conn.clientAuthRequested
        ? `client     the server asked for a certificate: sent ${sentChain.join(' <- ')}; signed in the token${received?.end === 'idle' && received.data.length === 0 ? ` (no objection within ${IDLE_MS} ms)` : ''}`
        : 'client     the server did not ask for a client certificate',
    );
    if (send !== null) out.push(`sent       ${JSON.stringify(send)}`);
    if (received !== null && (send !== null || received.data.length > 0)) {
      const how = received.end === 'closed' ? 'the server closed the connection' : received.end === 'idle' ? `silent for ${IDLE_MS} ms: closed` : `stopped after ${MAX_RECEIVED} bytes`;
      out.push(`received   ${received.data.length} bytes (${how})`);
    }
    process.stdout.write(`${out.join('\n')}\n`);
    if (text !== null && text.length > 0) process.stdout.write(text.endsWith('\n') ? text : `${text}\n`);
  } catch (e) {
    const err = e instanceof ConnectError ? e : new ConnectError(step, e, explain(step, e));
    if (opts.json === true) {
      const stage = e instanceof DeviceBootError ? e.stage : undefined;
      process.stdout.write(`${JSON.stringify({ ok: false, id, step: err.step, ...(stage === undefined ? {} : { stage }), code: err.code, error: err.message }, null, 2)}\n`);
    }
    throw err;
  } finally {
    if (conn !== undefined) await conn.close().catch(() => undefined);
    device?.close();
    flash?.close();
    efuse?.destroy();
  }
}

function isClientCertRefusal(e: unknown): boolean {
  return e instanceof NvsecError && e.code === 'TLS_ALERT' && CLIENT_CERT_ALERTS.some((a) => e.message.includes(` ${a} `));
}

/** A few words, per step and error code, on what the failure means for the user. */
function explain(step: ConnectStep, e: unknown): string {
  const code = e instanceof NvsecError ? e.code : '';
  switch (step) {
    case 'tcp':
      return `no TCP connection`;
    case 'tls-handshake':
      switch (code) {
        case 'TLS_UNTRUSTED_SERVER':
          return 'the server certificate failed verification: it does not chain to --ca';
        case 'TLS_CERT_EXPIRED':
          return 'the server certificate failed verification: it has expired or is not yet valid';
        case 'TLS_HOST_MISMATCH':
          return 'the server certificate failed verification: host name mismatch (check --host / --servername)';
        case 'TLS_ALERT':
          return 'the server refused the handshake';
        case 'TLS_TIMEOUT':
          return 'the handshake did not finish in time (--timeout)';
        case 'TLS_NO_SERVER_CERT':
        case 'TLS_NOT_A_CA':
        case 'TLS_WRONG_PURPOSE':
        case 'TLS_BAD_CERTIFICATE':
          return 'the server certificate failed verification';
        case 'TLS_BAD_SIGNATURE':
          return 'the server does not hold the key of its certificate';
        default:
          return 'the TLS handshake failed';
      }
    case 'client-certificate':
      return code === 'TLS_ALERT' && /certificate_revoked/.test(errorMessage(e))
        ? 'the server refused the device certificate: it is revoked'
        : 'the server refused the device certificate';
    default:
      return '';
  }
}
