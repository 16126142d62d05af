import { Socket } from 'node:net';
import { NvsecError } from '../errors/nvsec-error.js';
import type { TlsTransport } from '../tls/tls-client.js';

/**
 * A {@link TlsTransport} over a TCP connection to `host`:`port`; `timeoutMs` limits the connecting only.
 *
 * @throws NvsecError `TLS_CONNECT` when the connection cannot be made (refused, unreachable, timeout).
 * @example
 * const conn = await connectTls({ connect: () => nodeTcpTransport('127.0.0.1', 8883), ... });
 */
export function nodeTcpTransport(host: string, port: number, timeoutMs = 10_000): Promise<TlsTransport> {
  const socket = new Socket();
  const chunks: Uint8Array[] = [];
  let ended = false;
  let failure: Error | undefined;
  let wake: (() => void) | undefined;
  const notify = (): void => {
    const w = wake;
    wake = undefined;
    w?.();
  };
  socket.on('data', (d: Buffer) => {
    chunks.push(new Uint8Array(d.buffer, d.byteOffset, d.length));
    notify();
  });
  socket.on('end', () => {
    ended = true;
    notify();
  });
  socket.on('close', () => {
    ended = true;
    notify();
  });
  return new Promise<TlsTransport>((resolve, reject) => {
    const onError = (e: Error): void => reject(new NvsecError('TLS_CONNECT', `cannot connect to ${host}:${port}: ${e.message}`, { cause: e }));
    socket.once('error', onError);
    socket.setTimeout(timeoutMs, () => socket.destroy(new Error(`no answer within ${timeoutMs} ms`)));
    socket.connect(port, host, () => {
      socket.setTimeout(0); // the timeout is for connecting; an idle TLS session must stay open
      socket.off('error', onError);
      socket.on('error', (e) => {
        failure = e;
        notify();
      });
      resolve({
        write: (bytes) =>
          new Promise<void>((res, rej) => {
            socket.write(bytes, (e) => (e ? rej(e) : res()));
          }),
        async read(): Promise<Uint8Array | null> {
          for (;;) {
            const c = chunks.shift();
            if (c !== undefined) return c;
            if (failure !== undefined) throw new NvsecError('TLS_CLOSED', `connection to ${host}:${port} failed: ${failure.message}`, { cause: failure });
            if (ended) return null;
            await new Promise<void>((r) => (wake = r));
          }
        },
        close: () => {
          socket.destroy();
        },
      });
    });
  });
}
