import * as crypto from 'node:crypto';
import type { Command } from 'commander';
import { NvsecError } from '../errors/nvsec-error.js';
import { writeFileAtomic } from '../node/atomic-file.js';
import { nodeCrypto } from '../node/node-crypto.js';
import { nodeTlsCrypto } from '../node/node-tls-crypto.js';
import { nodeTcpTransport } from '../node/tcp-transport.js';
import { fetchServerChain } from '../tls/tls-client.js';
import { runAction, usageError } from './_run.js';

interface FetchCaOptions {
  out?: string;
  servername?: string;
  force?: boolean;
  json?: boolean;
}

/** `nvsec tls fetch-ca`: the chain a TLS server sends, and its top certificate saved for pinning. */
export function registerTlsCommands(program: Command): void {
  const tls = program.command('tls').description('TLS helpers: fetch the CA chain a server sends (for pinning)');
  tls
    .command('fetch-ca')
    .argument('<host:port>', 'server address, e.g. mqtt.example.com:8883 or [::1]:8883')
    .description('Print the certificate chain a TLS 1.3 server sends and save its top certificate (the root when the server sends it) as PEM')
    .option('--out <file>', 'where to save the top certificate (PEM); not written when omitted')
    .option('--servername <name>', 'SNI to send (default: the host)')
    .option('--force', 'replace an existing --out file')
    .option('--json', 'print the chain as JSON')
    .addHelpText(
      'after',
      `
Like \`openssl s_client -showcerts\`: nothing is validated except that the server holds its
certificate's key, and the connection is closed before the handshake completes. Trust on first
use: compare the SHA-256 fingerprint with one obtained another way before pinning the file with
\`--ca\`. Servers usually do not send their root; then the top certificate sent is saved and the
output says which issuer to get instead.

Examples:
  nvsec tls fetch-ca localhost:8883 --out ca.pem
  nvsec tls fetch-ca 192.0.2.10:443 --servername broker.example.com --json`,
    )
    .action(
      runAction(async (address: string, opts: FetchCaOptions, cmd: Command) => {
        const m = /^(?:\[([^\]]+)\]|([^:]+)):(\d{1,5})$/.exec(address);
        const host = m?.[1] ?? m?.[2];
        const port = Number(m?.[3]);
        if (host === undefined || !(port > 0 && port < 65536)) usageError(cmd, `"${address}" is not HOST:PORT`);
        await fetchCa(host, port, opts);
      }),
    );
}

async function fetchCa(host: string, port: number, opts: FetchCaOptions): Promise<void> {
  const der = await fetchServerChain({ connect: () => nodeTcpTransport(host, port), serverName: opts.servername ?? host, crypto: nodeCrypto, tlsCrypto: nodeTlsCrypto });
  const chain = der.map((d) => new crypto.X509Certificate(d));
  const top = chain[chain.length - 1];
  if (top === undefined) throw new NvsecError('TLS_NO_SERVER_CERT', `${host}:${port} sent no certificate`);
  const selfSigned = top.checkIssued(top) && top.verify(top.publicKey);
  if (opts.out !== undefined) {
    try {
      writeFileAtomic(opts.out, new TextEncoder().encode(top.toString()), { mode: 0o644, exclusive: opts.force !== true });
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'EEXIST') throw new NvsecError('CLI_FILE_EXISTS', `${opts.out} exists: pass --force to replace it`, { cause: e });
      throw e;
    }
  }
  const facts = chain.map((c, i) => ({
    depth: i,
    subject: c.subject.replaceAll('\n', ', '),
    issuer: c.issuer.replaceAll('\n', ', '),
    notBefore: new Date(c.validFrom).toISOString(),
    notAfter: new Date(c.validTo).toISOString(),
    sha256: c.fingerprint256,
  }));
  if (opts.json === true) {
    process.stdout.write(`${JSON.stringify({ host, port, chain: facts, rootSent: selfSigned, saved: opts.out ?? null }, null, 2)}\n`);
    return;
  }
  for (const f of facts) {
    process.stdout.write(`${f.depth} s: ${f.subject}\n  i: ${f.issuer}\n  valid ${f.notBefore} .. ${f.notAfter}\n  SHA-256 ${f.sha256}\n`);
  }
  const note = selfSigned
    ? `the top certificate is the self-signed root "${facts[facts.length - 1]!.subject}"`
    : `the server did not send its root: the top certificate is issued by "${facts[facts.length - 1]!.issuer}"; pin that root instead if you can get it`;
  process.stdout.write(`${note}${opts.out === undefined ? '' : `; saved to ${opts.out}`}\n`);
}
