import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { SingleBar } from 'cli-progress';
import type { Command } from 'commander';
import { bootDevice, type BootedDevice } from '../device/boot.js';
import { connectDevice } from '../device/connect.js';
import { readCaKey } from '../node/ca-key.js';
import { readDeviceBundle } from '../node/device-bundle.js';
import { FACTORY_FILES, initFactory, nodeCertificates } from '../node/factory.js';
import { FileFlash } from '../node/file-flash.js';
import { nodeCrypto } from '../node/node-crypto.js';
import { loadNodeKeyCrypto } from '../node/node-key-crypto.js';
import { nodeTlsCrypto } from '../node/node-tls-crypto.js';
import { provisionBatch } from '../node/provision-batch.js';
import { openSqliteRegistry } from '../node/sqlite-registry.js';
import { nodeTcpTransport } from '../node/tcp-transport.js';
import type { DeviceRegistry } from '../provision/registry.js';
import { runAction } from './_run.js';

const DEVICES = 5;

/** `nvsec demo`: the main job end to end (what `npm start` runs). */
export function registerDemoCommand(program: Command): void {
  program
    .command('demo')
    .description('Run the main job end to end: factory, 5 devices, boot one, connect it over mutual TLS to a local server')
    .option('--out <dir>', 'folder for everything it makes (default: a new temporary folder)')
    .action(runAction((opts: { out?: string }) => demo(opts.out ?? fs.mkdtempSync(path.join(os.tmpdir(), 'nvsec-demo-')))));
}

async function demo(out: string): Promise<void> {
  fs.mkdirSync(out, { recursive: true });
  const factoryDir = path.join(out, 'factory');
  const batchDir = path.join(out, 'batch');
  // A passphrase for this demo only; a real factory reads it from NVSEC_FACTORY_PASSPHRASE or a file.
  const passphrase = crypto.randomBytes(18).toString('base64url');

  step(1, `Set up a factory in ${factoryDir}`);
  const m = await initFactory(factoryDir, { passphrase, organization: 'nvsec demo', idPrefix: 'demo' });
  say(`root CA          ${m.rootCa.subject} (offline; it signs only the manufacturing CA)`);
  say(`manufacturing CA ${m.intermediateCa.subject}: signs device certificates; also the JITP certificate a cloud registers`);
  say(`code signing     RSA-3072 Secure Boot V2 key; ${m.app.signed} is the app it signed`);
  say(`flash            ${m.chip}, ${m.flash.size / 1048576} MiB: nvs, encrypted nvs_keys, encrypted factory app`);

  step(2, `Provision ${DEVICES} devices into ${batchDir}`);
  say('each: its own NV seed, P-256 key generated inside its own token, certificate, encrypted NVS and flash, eFuses');
  const registry = await openSqliteRegistry(path.join(factoryDir, FACTORY_FILES.registry));
  try {
    const bar = process.stdout.isTTY ? new SingleBar({ format: '   devices [{bar}] {value}/{total}', hideCursor: true }) : null;
    bar?.start(DEVICES, 0);
    const result = await provisionBatch({
      factoryDir,
      passphrase,
      outDir: batchDir,
      count: DEVICES,
      registry,
      workers: Math.min(2, os.availableParallelism()),
      onProgress: (p) => bar?.update(p.done),
    });
    bar?.stop();
    const devices = await registry.devicesOfBatch(result.batchId);
    for (const d of devices) say(`${d.id}  serial ${d.serial.slice(0, 16)}…  seed hash ${d.seedHash.slice(0, 12)}…`);
    say(`recorded in ${path.join(factoryDir, FACTORY_FILES.registry)} only after each bundle was flushed (${result.seconds.toFixed(1)} s)`);
    const [first, second] = devices;
    if (first === undefined || second === undefined) throw new Error('the batch recorded fewer than two devices');

    step(3, `Boot ${first.id} from its bundle`);
    const bundle = readDeviceBundle(path.join(batchDir, first.bundlePath));
    const keys = await loadNodeKeyCrypto();
    const flash = FileFlash.open(bundle.flashFile);
    let device: BootedDevice;
    try {
      device = await bootDevice({ flash, efuse: bundle.efuse, crypto: nodeCrypto, keys, pin: m.token.userPin });
      flash.sync();
    } catch (e) {
      flash.close();
      bundle.efuse.destroy();
      throw e;
    }
    try {
      for (const s of device.report.stages) say(`${s.stage.padEnd(15)} ${s.detail}`);

      step(4, 'Start a local TLS 1.3 server that requires a client certificate from the factory CA');
      const server = await startServer(factoryDir, passphrase, registry);
      try {
        say(`listening on 127.0.0.1:${server.port}; trusts ${FACTORY_FILES.rootCertificate}; refuses devices revoked in the registry`);

        step(5, `Connect ${first.id}: it validates the server against the pinned root and signs with its token key`);
        say(await talk(device, server.port, factoryDir));

        step(6, `Revoke ${second.id} in the registry, then try to connect it`);
        await registry.revoke(second.id, 'demo: reported stolen', 'demo');
        const bundle2 = readDeviceBundle(path.join(batchDir, second.bundlePath));
        const flash2 = FileFlash.open(bundle2.flashFile);
        try {
          const device2 = await bootDevice({ flash: flash2, efuse: bundle2.efuse, crypto: nodeCrypto, keys, pin: m.token.userPin });
          try {
            say(await talk(device2, server.port, factoryDir).catch((e: unknown) => `the connection failed: ${(e as Error).message}`));
            say('(a production server gets the same answer inside the handshake from the CRL: nvsec registry crl)');
          } finally {
            device2.close();
          }
        } finally {
          flash2.close();
          bundle2.efuse.destroy();
        }
      } finally {
        server.close();
      }
    } finally {
      device.close();
      flash.close();
      bundle.efuse.destroy();
    }
  } finally {
    await registry.close();
  }

  step(7, 'Done');
  say(`everything is in ${out}. Try:`);
  say(`  nvsec device boot ${path.join(batchDir, '<device-id>')} --pin <the firmware PIN: token.userPin in ${path.join(factoryDir, FACTORY_FILES.manifest)}>`);
  say(`  nvsec registry list --registry sqlite:${path.join(factoryDir, FACTORY_FILES.registry)}`);
}

/** One exchange over mutual TLS: send a line, return the server's answer. */
async function talk(device: BootedDevice, port: number, factoryDir: string): Promise<string> {
  const root = new crypto.X509Certificate(fs.readFileSync(path.join(factoryDir, FACTORY_FILES.rootCertificate))).raw;
  const conn = await connectDevice(device, {
    connect: () => nodeTcpTransport('127.0.0.1', port),
    serverName: 'localhost',
    trustAnchors: [new Uint8Array(root)],
    crypto: nodeCrypto,
    tlsCrypto: nodeTlsCrypto,
  });
  try {
    await conn.write(new TextEncoder().encode(`hello from ${device.report.identity.deviceId}\n`));
    const reply = await conn.read();
    if (reply === null) throw new Error('the server closed the connection without an answer');
    return `${conn.cipherSuite}; server said: ${new TextDecoder().decode(reply).trim()}`;
  } finally {
    await conn.close().catch(() => {});
  }
}

/**
 * A mutual-TLS server for the demo: client certificates checked by OpenSSL against the factory
 * root, then against the registry. Demo shortcuts, not to copy: the offline root key signs the
 * server's certificate here (a real server has its own CA, pinned with `device connect --ca`), and
 * revocation is answered after the handshake; a real server loads `nvsec registry crl` so OpenSSL
 * refuses a revoked device inside the handshake.
 */
async function startServer(factoryDir: string, passphrase: string, registry: DeviceRegistry): Promise<{ port: number; close(): void }> {
  const certs = await nodeCertificates();
  const rootKey = readCaKey(path.join(factoryDir, FACTORY_FILES.rootKey), passphrase);
  const { privateKey, publicKey } = crypto.generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
  const jwk = publicKey.export({ format: 'jwk' });
  const now = Date.now();
  const root = certs.parseCertificate(fs.readFileSync(path.join(factoryDir, FACTORY_FILES.rootCertificate), 'utf8'));
  const serverCert = await certs.issueServerCertificate({
    subject: 'O=nvsec demo, CN=localhost',
    publicKey: { kind: 'ec', curve: 'P-256', x: new Uint8Array(Buffer.from(jwk.x!, 'base64url')), y: new Uint8Array(Buffer.from(jwk.y!, 'base64url')) },
    issuer: { certificate: root, signer: rootKey.signer! },
    validity: { notBefore: new Date(now - 60_000), notAfter: new Date(now + 86_400_000) },
    dnsNames: ['localhost'],
    ipAddresses: ['127.0.0.1'],
  });
  rootKey.signer!.destroy?.();
  const tls = await import('node:tls'); // loaded here: it costs every other command ~10 ms of start-up
  const server = tls.createServer(
    {
      key: privateKey.export({ format: 'pem', type: 'pkcs8' }),
      cert: serverCert.pem,
      ca: [root.pem],
      requestCert: true,
      rejectUnauthorized: true,
      minVersion: 'TLSv1.3',
    },
    (socket) => {
      const peer = socket.getPeerCertificate();
      void registry.isRevoked(peer.serialNumber).then((revoked) => {
        socket.once('data', () =>
          socket.end(
            revoked
              ? `refused: certificate ${peer.serialNumber.slice(0, 16)}… of ${peer.subject.CN} is revoked in the registry\n`
              : `welcome ${peer.subject.CN}, your certificate ${peer.serialNumber.slice(0, 16)}… is active in the registry\n`,
          ),
        );
      });
    },
  );
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  if (address === null || typeof address === 'string') throw new Error('the demo server has no TCP port');
  return { port: address.port, close: () => server.close() };
}

function step(n: number, text: string): void {
  console.log(`\n[${n}] ${text}`);
}

function say(text: string): void {
  console.log(`    ${text}`);
}
