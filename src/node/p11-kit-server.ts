import * as fs from 'node:fs';
import * as net from 'node:net';
import * as path from 'node:path';
import { NvsecError } from '../errors/nvsec-error.js';
import { RpcConnection, type RpcConnectionOptions } from '../pkcs11/rpc/server.js';
import type { Token } from '../pkcs11/token/token.js';

/** Options of {@link serveP11Kit}. */
export interface P11KitServerOptions extends RpcConnectionOptions {
  /** Unix socket path; an existing socket file there is replaced, any other file is refused. */
  readonly socket: string;
}

/** A running p11-kit RPC server. */
export interface P11KitServer {
  /** `unix:path=…` for `P11_KIT_SERVER_ADDRESS` (path percent-encoded, absolute). */
  readonly address: string;
  /** Connections open now. */
  readonly connections: number;
  /** Stops accepting, drops every connection (their sessions are closed), removes the socket file. */
  close(): Promise<void>;
}

/**
 * Serves `token` to p11-kit's client module (`p11-kit-client.so`) on a unix socket (mode 0600):
 * each connection gets its own {@link RpcConnection} (its own sessions) over the one shared token,
 * so many native programs can use it at once. The token is C_Initialize'd on the first client's
 * C_Initialize if it is not already.
 *
 * @throws {NvsecError} `RPC_SOCKET` when the path holds a file that is not a socket, or cannot be listened on
 * @example
 * const server = await serveP11Kit(p11.token, { socket: 'token.sock' });
 * console.log(`P11_KIT_SERVER_ADDRESS=${server.address}`);
 * // P11_KIT_SERVER_ADDRESS=unix:path=/…/token.sock pkcs11-tool --module p11-kit-client.so -L
 */
export async function serveP11Kit(token: Token, options: P11KitServerOptions): Promise<P11KitServer> {
  const socketPath = path.resolve(options.socket);
  if (fs.existsSync(socketPath)) {
    if (!fs.lstatSync(socketPath).isSocket()) throw new NvsecError('RPC_SOCKET', `"${options.socket}" exists and is not a socket: choose another --socket path`);
    fs.unlinkSync(socketPath);
  }
  const live = new Set<net.Socket>();
  const server = net.createServer((socket) => {
    live.add(socket);
    const conn = new RpcConnection(
      token,
      (bytes) => void socket.write(bytes),
      () => socket.destroy(),
      options,
    );
    socket.on('data', (chunk: Buffer) => conn.receive(chunk));
    socket.on('error', () => undefined);
    socket.on('close', () => {
      live.delete(socket);
      conn.end();
    });
  });
  // Created with no group/other bits at all, so no other user can connect even for an instant.
  const oldMask = process.umask(0o177);
  try {
    await new Promise<void>((resolve, reject) => {
      server.once('error', (e) => reject(new NvsecError('RPC_SOCKET', `Cannot listen on "${options.socket}": ${e.message}`, { cause: e })));
      server.listen(socketPath, () => resolve());
    });
  } finally {
    process.umask(oldMask);
  }
  fs.chmodSync(socketPath, 0o600);
  return {
    address: `unix:path=${encodeAddressPath(socketPath)}`,
    get connections() {
      return live.size;
    },
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of live) s.destroy();
        server.close(() => {
          fs.rmSync(socketPath, { force: true });
          resolve();
        });
      }),
  };
}

/** Percent-encodes what p11-kit's address parser does not take literally (it keeps [A-Za-z0-9_-/.]). */
function encodeAddressPath(p: string): string {
  return p.replace(/[^A-Za-z0-9_\-/.]/g, (c) => [...Buffer.from(c)].map((b) => `%${b.toString(16).padStart(2, '0')}`).join(''));
}
