import { connect, createServer, type Socket } from 'node:net';
import { concatBytes } from '../../src/bytes/concat.js';
import type { CryptoProvider } from '../../src/crypto/provider.js';
import { expandLabel, u16, vec } from '../../src/tls/_wire.js';
import type { TlsTransport } from '../../src/tls/tls-client.js';
import type { TlsCrypto } from '../../src/tls/tls-crypto.js';

/** A man in the middle between the client and a real server, for injecting bytes or ending the stream towards the client. */
export interface InjectingProxy {
  readonly port: number;
  /** The client side of the latest connection: write to inject, end() to send a bare FIN. */
  toClient(): Socket;
  close(): void;
}

/** Listens on a free port and relays every connection to 127.0.0.1:`target` unchanged. */
export async function injectingProxy(target: number): Promise<InjectingProxy> {
  let last: Socket | undefined;
  const sockets: Socket[] = [];
  const server = createServer((client) => {
    last = client;
    const upstream = connect(target, '127.0.0.1');
    sockets.push(client, upstream);
    client.pipe(upstream);
    upstream.pipe(client);
    client.on('error', () => undefined);
    upstream.on('error', () => undefined);
    client.on('close', () => upstream.destroy());
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  return {
    port: (server.address() as { port: number }).port,
    toClient: () => {
      if (last === undefined) throw new Error('no connection through the proxy yet');
      return last;
    },
    close: () => {
      for (const s of sockets) s.destroy();
      server.close();
    },
  };
}

/**
 * A scripted server in memory for what a real server will not send: the client's code is real, but
 * `tlsCrypto` is a fake (fixed ECDH secret, AEAD = plaintext + 16 zero bytes, every signature valid),
 * so the script can write protected records itself. The handshake it plays is correct for
 * TLS_AES_128_GCM_SHA256 with `chain` as the server's certificates; after it, `sendProtected` and
 * `sendRaw` inject records.
 */
export interface ScriptedServer {
  readonly transport: TlsTransport;
  readonly tlsCrypto: TlsCrypto;
  /** A record of inner content type `type` under the fake AEAD. */
  sendProtected(type: number, inner: Uint8Array): void;
  sendRaw(bytes: Uint8Array): void;
  /** What the client wrote, one entry per transport write. */
  readonly written: Uint8Array[];
  readonly closed: () => boolean;
}

/** See {@link ScriptedServer}; `serverChain` is sent in the Certificate message (leaf first, DER). */
export function scriptedServer(crypto: CryptoProvider, serverChain: readonly Uint8Array[]): ScriptedServer {
  const inbox: Uint8Array[] = [];
  const written: Uint8Array[] = [];
  let wake: (() => void) | undefined;
  let closed = false;
  const push = (b: Uint8Array): void => {
    inbox.push(b);
    const w = wake;
    wake = undefined;
    w?.();
  };
  const hs = (t: number, body: Uint8Array): Uint8Array => concatBytes(Uint8Array.of(t), vec(3, body));
  const protectedRecord = (type: number, inner: Uint8Array): Uint8Array => concatBytes(Uint8Array.of(23, 3, 3), u16(inner.length + 17), inner, Uint8Array.of(type), new Uint8Array(16));
  const H = (b: Uint8Array): Uint8Array => crypto.digest('sha256', b);
  const flight = (clientHello: Uint8Array): void => {
    const shExt = concatBytes(u16(43), vec(2, u16(0x0304)), u16(51), vec(2, concatBytes(u16(0x17), vec(2, new Uint8Array(65).fill(4)))));
    const sh = hs(2, concatBytes(u16(0x0303), new Uint8Array(32).fill(1), vec(1, new Uint8Array(0)), u16(0x1301), Uint8Array.of(0), vec(2, shExt)));
    const zeros = new Uint8Array(32);
    const early = crypto.hmac('sha256', zeros, zeros);
    const hsSecret = crypto.hmac('sha256', expandLabel(crypto, 'sha256', early, 'derived', H(new Uint8Array(0)), 32), new Uint8Array(32).fill(7));
    const sHs = expandLabel(crypto, 'sha256', hsSecret, 's hs traffic', H(concatBytes(clientHello, sh)), 32);
    const ee = hs(8, vec(2, new Uint8Array(0)));
    const cert = hs(11, concatBytes(vec(1, new Uint8Array(0)), vec(3, concatBytes(...serverChain.map((d) => concatBytes(vec(3, d), vec(2, new Uint8Array(0))))))));
    const cv = hs(15, concatBytes(u16(0x0403), vec(2, new Uint8Array(70))));
    const fin = hs(20, crypto.hmac('sha256', expandLabel(crypto, 'sha256', sHs, 'finished', new Uint8Array(0), 32), H(concatBytes(clientHello, sh, ee, cert, cv))));
    push(concatBytes(Uint8Array.of(22, 3, 3), u16(sh.length), sh));
    const rest = concatBytes(ee, cert, cv, fin);
    for (let at = 0; at < rest.length; at += 16384) push(protectedRecord(22, rest.subarray(at, at + 16384)));
  };
  const tlsCrypto: TlsCrypto = {
    keyShare: async () => ({ publicKey: new Uint8Array(65).fill(4), deriveSecret: async () => new Uint8Array(32).fill(7), destroy: () => undefined }),
    aesGcm: () => ({
      seal: async (_n, p) => concatBytes(p, new Uint8Array(16)),
      open: async (_n, c) => {
        if (c.length < 16 || c.subarray(c.length - 16).some((b) => b !== 0)) throw new Error('fake tag mismatch');
        return c.slice(0, -16);
      },
      destroy: () => undefined,
    }),
    verify: async () => true,
  };
  return {
    transport: {
      write: async (b) => {
        written.push(b);
        if (written.length === 1) flight(b.slice(5));
      },
      read: async () => {
        for (;;) {
          const c = inbox.shift();
          if (c !== undefined) return c;
          if (closed) return null;
          await new Promise<void>((r) => (wake = r));
        }
      },
      close: () => {
        closed = true;
        wake?.();
      },
    },
    tlsCrypto,
    sendProtected: (type, inner) => push(protectedRecord(type, inner)),
    sendRaw: push,
    written,
    closed: () => closed,
  };
}
