import * as os from 'node:os';
import { type Command, Option } from 'commander';
import { NvsecError } from '../errors/nvsec-error.js';
import { openRegistry } from '../node/sqlite-registry.js';
import { type AuditEntry, type DeviceRecord, type DeviceRegistry, REGISTRY_ACTIONS, RegistryError } from '../provision/registry.js';
import { runAction } from './_run.js';
import { factoryPassphrase } from './factory.js';
import { writeFileAtomic } from '../node/atomic-file.js';
import { FACTORY_PASSPHRASE_ENV, loadFactory } from '../node/factory.js';
import type { RevokedCertificate } from '../provision/certificates.js';

interface RegistryOptions {
  registry: string;
  json?: boolean;
}

interface ListOptions extends RegistryOptions {
  status?: 'active' | 'revoked';
  batch?: string;
  limit?: string;
  offset?: string;
}

interface RevokeOptions extends RegistryOptions {
  reason: string;
  actor?: string;
}

/** Errors that refuse the user's input (exit 2): a registry location nvsec cannot open. */
const rejects = (e: unknown): boolean => e instanceof NvsecError && ['REGISTRY_UNSUPPORTED', 'CLI_BAD_OPTION', 'FACTORY_MISSING', 'FACTORY_NO_PASSPHRASE'].includes(e.code);

const HELP_AFTER = `
REGISTRY is sqlite:PATH, the factory's SQLite registry file (devices, their
certificate serials, the SHA-256 of their NV seeds, never the seeds, and an append-only audit log).
A second process may read it while provisioning writes to it.

Examples:
  $ nvsec registry list --registry sqlite:factory/registry.db --status revoked
  $ nvsec registry show dev-000042 --registry sqlite:factory/registry.db --json
  $ nvsec registry revoke dev-000042 --reason "returned, key exposed" --registry sqlite:factory/registry.db`;

/** `nvsec registry list|show|revoke`: the factory's device registry. */
export function registerRegistryCommands(program: Command): void {
  const group = program.command('registry').description("The factory's device registry: list devices, show one with its audit trail, revoke one, write the CRL").addHelpText('after', HELP_AFTER);
  const common = (cmd: Command): Command =>
    cmd.requiredOption('--registry <spec>', 'the registry: sqlite:PATH').option('--json', 'print the result as JSON');
  common(
    group
      .command('list')
      .description('List devices (id, serial, status, batch, created), oldest first')
      .addOption(new Option('--status <status>', 'only devices with this status').choices(['active', 'revoked']))
      .option('--batch <id>', 'only devices of this batch')
      .option('--limit <n>', 'at most N devices')
      .option('--offset <n>', 'skip the first N devices'),
  ).action(runAction((opts: ListOptions) => withRegistry(opts, (r) => listDevices(r, opts)), { rejects }));
  common(
    group
      .command('show')
      .argument('<id>', 'device id')
      .description('Show one device and its audit rows'),
  ).action(runAction((id: string, opts: RegistryOptions) => withRegistry(opts, (r) => showDevice(r, id, opts)), { rejects }));
  common(
    group
      .command('revoke')
      .argument('<id>', 'device id')
      .description('Mark a device revoked, with the reason, in the registry and its audit log')
      .requiredOption('--reason <text>', 'why (kept in the registry and the audit log)')
      .option('--actor <name>', 'who revokes, for the audit log (default: cli:<login name>)'),
  ).action(runAction((id: string, opts: RevokeOptions) => withRegistry(opts, (r) => revokeDevice(r, id, opts)), { rejects }));
  common(
    group
      .command('crl')
      .description("Write the manufacturing CA's CRL: every revoked device of the factory, and every certificate voided by provision --resume, signed by its intermediate CA")
      .requiredOption('--factory <dir>', 'the factory folder (its intermediate CA signs the CRL)')
      .requiredOption('--out <file>', 'where to write the CRL (PEM "X509 CRL"; .der for DER)')
      .option('--days <n>', 'days until the next CRL is due (nextUpdate)', '7')
      .option('--passphrase-file <file>', `file whose first line decrypts the factory keys (or ${FACTORY_PASSPHRASE_ENV})`)
      .addHelpText(
        'after',
        `
Give the CRL to the TLS servers your devices connect to, e.g.
  openssl s_server -Verify 1 -verify_return_error -CAfile factory/root-ca.pem -crl_check -CRL crl.pem …
A revoked device's handshake then fails with the alert certificate_revoked. Issue a new CRL after
each revocation and before nextUpdate.`,
      ),
  ).action(runAction((opts: CrlOptions) => withRegistry(opts, (r) => writeCrl(r, opts)), { rejects }));
}

interface CrlOptions extends RegistryOptions {
  factory: string;
  out: string;
  days: string;
  passphraseFile?: string;
}

async function writeCrl(registry: DeviceRegistry, opts: CrlOptions): Promise<void> {
  const days = count(opts.days, '--days');
  if (days === undefined || days < 1) throw new NvsecError('CLI_BAD_OPTION', `--days must be at least 1, got "${opts.days}"`);
  const factory = await loadFactory(opts.factory, factoryPassphrase(opts));
  try {
    const revoked: RevokedCertificate[] = [];
    const factoryOfBatch = new Map<string, string | null>();
    const ours = async (batchId: string): Promise<boolean> => {
      if (!factoryOfBatch.has(batchId)) factoryOfBatch.set(batchId, (await registry.batch(batchId))?.factoryId ?? null);
      return factoryOfBatch.get(batchId) === factory.manifest.id; // another factory's devices are its own CA's to list
    };
    for (const d of await registry.list({ status: 'revoked' })) {
      if (await ours(d.batchId)) revoked.push({ serial: d.serial, revokedAt: new Date(d.revokedAt ?? d.createdAt) });
    }
    // Certificates of devices never recorded (removed by provision --resume): superseded by the device made again.
    for (const v of await registry.auditLog({ action: REGISTRY_ACTIONS.CERTIFICATE_VOID })) {
      if (typeof v.detail.serial === 'string' && (await ours(v.batchId))) revoked.push({ serial: v.detail.serial, revokedAt: new Date(v.time), reason: 'superseded' });
    }
    const now = new Date();
    const crl = await factory.certificates.createCrl({ issuer: factory.profile.issuer, revoked, thisUpdate: now, nextUpdate: new Date(now.getTime() + days * 86_400_000) });
    const bytes = opts.out.toLowerCase().endsWith('.der') ? crl.der : new TextEncoder().encode(crl.pem);
    writeFileAtomic(opts.out, bytes, { mode: 0o644 });
    const summary = { out: opts.out, issuer: factory.profile.issuer.certificate.subject, revoked: revoked.map((r) => r.serial), thisUpdate: now.toISOString(), nextUpdate: new Date(now.getTime() + days * 86_400_000).toISOString() };
    if (opts.json === true) console.log(JSON.stringify(summary, null, 1));
    else console.log(`Wrote ${opts.out}: ${revoked.length} revoked certificate(s), signed by ${summary.issuer}, next update due ${summary.nextUpdate}`);
  } finally {
    factory.close();
  }
}

async function withRegistry(opts: RegistryOptions, fn: (registry: DeviceRegistry) => Promise<void>): Promise<void> {
  // Reading commands must not create an empty registry at a mistyped path.
  const registry = await openRegistry(opts.registry, { create: false });
  try {
    await fn(registry);
  } finally {
    await registry.close();
  }
}

function count(text: string | undefined, what: string): number | undefined {
  if (text === undefined) return undefined;
  const n = Number(text);
  if (!/^\d+$/.test(text.trim()) || !Number.isSafeInteger(n)) throw new NvsecError('CLI_BAD_OPTION', `${what} must be a whole number >= 0, got "${text}"`);
  return n;
}

/** Left-aligned text columns separated by two spaces. */
function table(header: readonly string[], rows: readonly (readonly string[])[]): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: readonly string[]): string =>
    cells
      .map((c, i) => c.padEnd(widths[i] ?? 0))
      .join('  ')
      .trimEnd();
  return [line(header), ...rows.map(line)].join('\n');
}

async function listDevices(registry: DeviceRegistry, opts: ListOptions): Promise<void> {
  const limit = count(opts.limit, '--limit');
  const offset = count(opts.offset, '--offset');
  const devices = await registry.list({
    ...(opts.status === undefined ? {} : { status: opts.status }),
    ...(opts.batch === undefined ? {} : { batch: opts.batch }),
    ...(limit === undefined ? {} : { limit }),
    ...(offset === undefined ? {} : { offset }),
  });
  if (opts.json === true) {
    console.log(JSON.stringify({ count: devices.length, devices }, null, 1));
    return;
  }
  if (devices.length === 0) {
    console.log('No devices match');
    return;
  }
  console.log(table(['ID', 'SERIAL', 'STATUS', 'BATCH', 'CREATED'], devices.map((d) => [d.id, d.serial, d.status, d.batchId, d.createdAt])));
}

function notFound(id: string): RegistryError {
  return new RegistryError('REGISTRY_NOT_FOUND', `No device "${id}" in the registry: check the id (nvsec registry list)`);
}

function deviceText(d: DeviceRecord): string[] {
  return [
    `device ${d.id}: ${d.status}${d.revokedAt === null ? '' : ` since ${d.revokedAt} (reason: ${d.revokeReason ?? ''})`}`,
    `  serial       ${d.serial}`,
    `  cert sha256  ${d.certSha256}`,
    `  seed sha256  ${d.seedHash}`,
    `  batch        ${d.batchId}`,
    `  bundle       ${d.bundlePath}`,
    `  created      ${d.createdAt}`,
  ];
}

const auditText = (a: AuditEntry): string => `  #${a.seq} ${a.time} ${a.action} by ${a.actor} ${JSON.stringify(a.detail)}`;

async function showDevice(registry: DeviceRegistry, id: string, opts: RegistryOptions): Promise<void> {
  const device = await registry.get(id);
  if (device === null) throw notFound(id);
  const audit = await registry.auditLog({ deviceId: id });
  if (opts.json === true) console.log(JSON.stringify({ device, audit }, null, 1));
  else console.log([...deviceText(device), 'audit:', ...audit.map(auditText)].join('\n'));
}

function defaultActor(): string {
  let user: string | undefined;
  try {
    user = os.userInfo().username;
  } catch {
    user = process.env.USER ?? process.env.LOGNAME; // no passwd entry (some containers)
  }
  return `cli:${user ?? 'unknown'}`;
}

async function revokeDevice(registry: DeviceRegistry, id: string, opts: RevokeOptions): Promise<void> {
  const device = await registry.revoke(id, opts.reason, opts.actor ?? defaultActor());
  if (opts.json === true) console.log(JSON.stringify({ revoked: true, device }, null, 1));
  else console.log(`Revoked device ${device.id} (serial ${device.serial}) at ${device.revokedAt ?? ''}: ${device.revokeReason ?? ''}`);
}
