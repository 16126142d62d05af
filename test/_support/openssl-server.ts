// `openssl s_server` for TLS tests: started on a free port (-accept 0), its output kept, killed by stopOpensslServers().
import { type ChildProcess, spawn } from 'node:child_process';

export interface OpensslServer {
  readonly port: number;
  /** Everything the server printed so far (stdout and stderr). */
  log(): string;
}

const children: ChildProcess[] = [];

/** Starts `openssl s_server -accept 0 …args` in `cwd` and resolves with the port it listens on. */
export async function startOpensslServer(cwd: string, args: readonly string[]): Promise<OpensslServer> {
  const child = spawn('openssl', ['s_server', '-accept', '0', ...args], { cwd });
  children.push(child);
  let out = '';
  child.stderr!.on('data', (d: Buffer) => (out += d.toString()));
  const port = await new Promise<number>((resolve, reject) => {
    child.stdout!.on('data', (d: Buffer) => {
      out += d.toString();
      const m = /ACCEPT \S*:(\d+)/.exec(out);
      if (m) resolve(Number(m[1]));
    });
    child.once('exit', (code) => reject(new Error(`openssl s_server exited with ${code}: ${out}`)));
  });
  return { port, log: () => out };
}

/** Kills every server started by this process. */
export function stopOpensslServers(): void {
  for (const c of children.splice(0)) c.kill();
}
