import assert from 'node:assert/strict';
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { nodeCrypto } from '../../src/node/node-crypto.js';
import { type P11KitServer, serveP11Kit } from '../../src/node/p11-kit-server.js';
import { CKF_SESSION, CKR } from '../../src/pkcs11/constants.js';
import { MemoryObjectStore } from '../../src/pkcs11/pal/memory-object-store.js';
import { RPC_CALL } from '../../src/pkcs11/rpc/calls.js';
import { FrameDecoder, encodeFrame } from '../../src/pkcs11/rpc/frames.js';
import { createTokenDrbg } from '../../src/pkcs11/token/token-drbg.js';
import { Token } from '../../src/pkcs11/token/token.js';
import { NO_KEYS } from './_token.js';
import { decodeBody, errorRv, initializeArgs, request } from './_rpc.js';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const CLIENT_MODULE = '/usr/lib/x86_64-linux-gnu/pkcs11/p11-kit-client.so';
const hasTool = (cmd: string): boolean => spawnSync('sh', ['-c', `command -v ${cmd}`]).status === 0;
const NATIVE = fs.existsSync(CLIENT_MODULE) && hasTool('pkcs11-tool') && hasTool('openssl');

/** A raw protocol client on a unix socket: one request at a time. */
class SocketClient {
  private readonly socket: net.Socket;
  private readonly frames = new FrameDecoder();
  /** Callers waiting for a response, in request order (calls may be pipelined). */
  private readonly waiting: ((b: Uint8Array | null) => void)[] = [];
  private versionSeen = false;
  private code = 0x10;
  closed = false;

  constructor(socketPath: string) {
    this.socket = net.connect(socketPath);
    this.socket.on('data', (chunk: Buffer) => {
      let data: Uint8Array = chunk;
      if (!this.versionSeen) {
        this.versionSeen = true;
        data = data.subarray(1);
        if (data.length === 0) return this.resolve(Uint8Array.of(chunk[0]!));
      }
      for (const f of this.frames.push(data)) this.resolve(f.body);
    });
    this.socket.on('close', () => {
      this.closed = true;
      while (this.waiting.length > 0) this.resolve(null);
    });
  }

  private resolve(b: Uint8Array | null): void {
    this.waiting.shift()?.(b);
  }

  private next(): Promise<Uint8Array | null> {
    return new Promise((resolve) => void this.waiting.push(resolve));
  }

  async init(): Promise<void> {
    const v = this.next();
    this.socket.write(Uint8Array.of(0));
    assert.deepEqual(await v, Uint8Array.of(0));
    assert.equal(errorRv((await this.call(request(1, initializeArgs)))!), null);
  }

  call(body: Uint8Array): Promise<Uint8Array | null> {
    const r = this.next();
    this.socket.write(encodeFrame(this.code++, body, new TextEncoder().encode('client')));
    return r;
  }

  raw(bytes: Uint8Array): Promise<Uint8Array | null> {
    const r = this.next();
    this.socket.write(bytes);
    return r;
  }

  end(): void {
    this.socket.destroy();
  }
}

describe('p11-kit server on a unix socket', () => {
  let dir: string;
  let server: P11KitServer;
  let token: Token;

  before(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'nvsec-rpc-'));
    token = new Token({ store: new MemoryObjectStore(), crypto: nodeCrypto, keys: NO_KEYS, random: createTokenDrbg(nodeCrypto), pinIterations: 1000 });
    server = await serveP11Kit(token, { socket: path.join(dir, 'tok.sock') });
  });
  after(async () => {
    await server.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('listens with mode 0600 and gives a unix:path= address', () => {
    const sock = path.join(dir, 'tok.sock');
    assert.equal(fs.statSync(sock).mode & 0o777, 0o600);
    assert.equal(server.address, `unix:path=${sock}`);
  });

  it('serves two clients at once, each with its own sessions, and drops a client sending garbage without harming them', async () => {
    const sock = path.join(dir, 'tok.sock');
    const a = new SocketClient(sock);
    const b = new SocketClient(sock);
    await Promise.all([a.init(), b.init()]);
    const open = async (c: SocketClient): Promise<number> => decodeBody((await c.call(request(RPC_CALL.C_OpenSession!, (w) => w.u64(1).u64(CKF_SESSION.CKF_SERIAL_SESSION))))!, 'response').values[0]!.value as number;
    const [sa, sb] = await Promise.all([open(a), open(b)]);
    assert.notEqual(sa, sb);
    const garbage = new SocketClient(sock);
    await garbage.init();
    const dropped = await garbage.raw(Uint8Array.from({ length: 64 }, (_, i) => (i * 37) & 0xff));
    assert.equal(dropped, null);
    assert.equal(garbage.closed, true);
    const infos = await Promise.all([
      a.call(request(RPC_CALL.C_GetSessionInfo!, (w) => w.u64(sa))),
      b.call(request(RPC_CALL.C_GetSessionInfo!, (w) => w.u64(sb))),
      a.call(request(RPC_CALL.C_GetSessionInfo!, (w) => w.u64(sb))),
    ]);
    assert.equal(errorRv(infos[0]!), null);
    assert.equal(errorRv(infos[1]!), null);
    assert.equal(errorRv(infos[2]!), CKR.CKR_SESSION_HANDLE_INVALID);
    a.end();
    b.end();
    await new Promise((r) => setTimeout(r, 50));
    assert.equal(token.getTokenInfo(1).sessionCount, 0);
  });
});

describe('native tools through p11-kit-client.so against nvsec token serve', { skip: NATIVE ? false : 'pkcs11-tool, openssl or p11-kit-client.so missing (apt-get install opensc p11-kit-modules)' }, () => {
  let dir: string;
  let child: ChildProcess;
  let env: NodeJS.ProcessEnv;

  const tool = (...args: string[]): { out: string; status: number | null } => {
    const r = spawnSync('pkcs11-tool', ['--module', CLIENT_MODULE, ...args], { env, cwd: dir, encoding: 'utf8', timeout: 60_000 });
    return { out: `${r.stdout}${r.stderr}`, status: r.status };
  };

  before(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'nvsec-rpc-native-'));
    const sock = path.join(dir, 'tok.sock');
    child = spawn(process.execPath, ['--import', 'tsx', path.join(ROOT, 'src', 'cli', 'main.ts'), 'token', 'serve', '--store', path.join(dir, 'tok'), '--socket', sock, '--pin-iterations', '1000'], {
      cwd: ROOT,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const address = await new Promise<string>((resolve, reject) => {
      let out = '';
      child.stdout!.on('data', (d: Buffer) => {
        out += d.toString();
        const m = /^P11_KIT_SERVER_ADDRESS=(\S+)$/m.exec(out);
        if (m) resolve(m[1]!);
      });
      child.once('exit', (code) => reject(new Error(`nvsec token serve exited with ${code}`)));
    });
    assert.equal(address, `unix:path=${sock}`);
    env = { ...process.env, P11_KIT_SERVER_ADDRESS: address };
  });

  after(async () => {
    const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
    child.kill('SIGTERM');
    assert.equal(await exited, 0);
    assert.equal(fs.existsSync(path.join(dir, 'tok.sock')), false);
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('pkcs11-tool -L shows the uninitialised nvsec token of a new directory store', () => {
    const r = tool('-L');
    assert.equal(r.status, 0, r.out);
    assert.match(r.out, /nvsec token slot/);
    assert.match(r.out, /token state:\s+uninitialized/);
  });

  it('pkcs11-tool -M lists ECDSA and the key pair generator (what the 0.24.1 client lets through)', () => {
    const r = tool('-M');
    assert.equal(r.status, 0, r.out);
    assert.match(r.out, /ECDSA-KEY-PAIR-GEN/);
    assert.match(r.out, /^\s+ECDSA, /m);
    assert.match(r.out, /SHA256, digest/);
  });

  it('--init-token, --init-pin, --keypairgen EC:prime256v1 and --sign -m ECDSA give a signature openssl verifies', () => {
    let r = tool('--init-token', '--label', 'served', '--so-pin', '87654321');
    assert.equal(r.status, 0, r.out);
    r = tool('--init-pin', '--login', '--so-pin', '87654321', '--pin', '123456');
    assert.equal(r.status, 0, r.out);
    r = tool('--login', '--pin', '123456', '--keypairgen', '--key-type', 'EC:prime256v1', '--label', 'k1', '--id', '01');
    assert.equal(r.status, 0, r.out);
    assert.match(r.out, /EC_PARAMS:\s+06082a8648ce3d030107/);
    const msg = Buffer.from('signed through p11-kit');
    fs.writeFileSync(path.join(dir, 'msg'), msg);
    fs.writeFileSync(path.join(dir, 'hash'), nodeCrypto.digest('sha256', msg));
    r = tool('--login', '--pin', '123456', '--sign', '-m', 'ECDSA', '--id', '01', '-i', 'hash', '-o', 'sig', '--signature-format', 'openssl');
    assert.equal(r.status, 0, r.out);
    r = tool('--read-object', '--type', 'pubkey', '--id', '01', '-o', 'pub.der');
    assert.equal(r.status, 0, r.out);
    const v = spawnSync('openssl', ['dgst', '-sha256', '-verify', 'pub.der', '-keyform', 'DER', '-signature', 'sig', 'msg'], { cwd: dir, encoding: 'utf8' });
    assert.equal(v.stdout.trim(), 'Verified OK', v.stderr);
    r = tool('-L');
    assert.match(r.out, /token label\s+:\s+served/);
  });

  it('pkcs11-tool --test --login reports "No errors" (C_GenerateRandom of 0 bytes included)', () => {
    const r = tool('--test', '--login', '--pin', '123456');
    assert.equal(r.status, 0, r.out);
    assert.match(r.out, /^No errors$/m);
  });

  it('a wrong PIN through the client is CKR_PIN_INCORRECT', () => {
    const r = tool('--login', '--pin', '999999', '-O');
    assert.notEqual(r.status, 0);
    assert.match(r.out, /CKR_PIN_INCORRECT/);
  });
});
