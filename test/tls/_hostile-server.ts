import { connect, createServer, type Socket } from 'node:net';

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
