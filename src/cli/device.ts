import type { Command } from 'commander';
import { bootDevice, type BootReport } from '../device/boot.js';
import { DeviceBootError } from '../device/device-boot-error.js';
import { reprogramApp } from '../device/device-image.js';
import { readDeviceBundle } from '../node/device-bundle.js';
import { FileFlash } from '../node/file-flash.js';
import { nodeCrypto } from '../node/node-crypto.js';
import { loadNodeKeyCrypto } from '../node/node-key-crypto.js';
import { registerDeviceConnectCommand } from './device-connect.js';
import { readPin, USER_PIN } from './_token-input.js';
import { readBinaryFile } from './_files.js';
import { runAction } from './_run.js';

interface BootOptions {
  json?: boolean;
  pin?: string;
  pinFile?: string;
}

/**
 * The `device` command group, created on first use: `device boot` here, and the commands of
 * other modules (`device connect`) join the same group through this function.
 */
export function deviceCommandGroup(program: Command): Command {
  return (
    program.commands.find((c) => c.name() === 'device') ??
    program.command('device').description('An emulated device from its bundle (flash image and eFuses): boot it, re-flash its app, connect it')
  );
}

/** `nvsec device boot` (boot a provisioned device's bundle and print who it is), `device flash-app` and `device connect`. */
export function registerDeviceCommands(program: Command): void {
  const device = deviceCommandGroup(program);
  device
    .command('boot')
    .argument('<bundle>', 'device bundle folder (DIR/<device-id> with flash.bin, efuse.bin, manifest.json)')
    .description('Boot a device bundle: verify the signed app, decrypt flash, open NVS and the token, print the identity')
    .option('--json', 'print the boot report as JSON')
    .option('--pin <pin>', `user PIN: log the token in (or --pin-file, or ${USER_PIN.env})`)
    .option('--pin-file <file>', 'file whose first line is the user PIN')
    .addHelpText(
      'after',
      `
Stages, in order: partition-table, secure-boot, flash-decrypt, nvs-keys, nvs-init, nv-seed, drbg,
token, identity. A failure names its stage and cause and exits 1; every stage before nv-seed only
reads, so a device that fails to boot is left as it was. A successful boot writes to flash.bin as
the device would: the NV seed is refreshed (the next boot sees a new seed).

Examples:
  nvsec device boot out/dev-000001
  nvsec device boot out/dev-000001 --json --pin-file pin.txt`,
    )
    .action(runAction((bundle: string, opts: BootOptions) => boot(bundle, opts)));
  device
    .command('flash-app')
    .argument('<bundle>', 'device bundle folder')
    .argument('<app>', 'the new app image, signed with the factory code-signing key (app-signed.bin, espsecure sign-data output)')
    .description("Re-flash the device's app (an OTA update or a re-flash): checked against the eFuse digests, written flash-encrypted; NVS and the credentials stay")
    .option('--json', 'print the result as JSON')
    .addHelpText(
      'after',
      `
The app is verified as the bootloader would (Secure Boot V2 against the eFuse key digests) before
anything is written: an app the device would refuse to boot is refused here and flash.bin is left
as it was. Only the app partition changes; the NVS partitions, and with them the token's keys and
certificates, are untouched.

Example:
  nvsec device flash-app out/dev-000001 factory/app-signed.bin`,
    )
    .action(runAction((bundle: string, app: string, opts: { json?: boolean }) => flashApp(bundle, app, opts)));
  registerDeviceConnectCommand(device);
}

async function flashApp(dir: string, appFile: string, opts: { json?: boolean }): Promise<void> {
  const app = readBinaryFile(appFile, 'app image');
  const bundle = readDeviceBundle(dir);
  const flash = FileFlash.open(bundle.flashFile);
  try {
    await reprogramApp(flash, bundle.efuse, app, nodeCrypto);
    flash.sync();
  } finally {
    flash.close();
    bundle.efuse.destroy();
  }
  const result = { ok: true, id: bundle.manifest.id, app: appFile, bytes: app.length };
  if (opts.json) console.log(JSON.stringify(result, null, 2));
  else console.log(`${bundle.manifest.id}: wrote ${appFile} (${app.length} bytes) into the app partition, flash-encrypted; NVS and the credentials are unchanged`);
}

async function boot(dir: string, opts: BootOptions): Promise<void> {
  const pin = readPin(opts, USER_PIN);
  const bundle = readDeviceBundle(dir);
  const flash = FileFlash.open(bundle.flashFile);
  try {
    const keys = await loadNodeKeyCrypto();
    let report: BootReport;
    try {
      const device = await bootDevice({ flash, efuse: bundle.efuse, crypto: nodeCrypto, keys, ...(pin === null ? {} : { pin }) });
      report = device.report;
      device.close();
    } catch (e) {
      if (e instanceof DeviceBootError && opts.json) {
        console.log(JSON.stringify({ ok: false, id: bundle.manifest.id, stage: e.stage, error: e.message }, null, 2));
      }
      throw e;
    }
    flash.sync();
    if (opts.json) {
      console.log(JSON.stringify({ ok: true, id: bundle.manifest.id, ...report }, null, 2));
      return;
    }
    const id = report.identity;
    for (const s of report.stages) console.log(`${s.stage.padEnd(16)} ${s.ms.toFixed(1).padStart(7)} ms  ${s.detail}`);
    console.log('');
    console.log(`device     ${id.deviceId} (${report.chip}, app ${report.app.projectName ?? '?'} ${report.app.version ?? ''})`.trimEnd());
    console.log(`subject    ${id.certificate.subject}`);
    console.log(`serial     ${id.certificate.serial}`);
    id.chain.slice(1).forEach((c, i) => console.log(`${i === 0 ? 'issuers   ' : '          '} ${c.subject} [${c.label}]`));
    if (!id.chainComplete) console.log('chain      incomplete: no root certificate on the token');
    console.log(`booted in ${report.totalMs.toFixed(1)} ms`);
  } finally {
    flash.close();
    bundle.efuse.destroy();
  }
}
