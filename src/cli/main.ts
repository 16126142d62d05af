#!/usr/bin/env node
import { Command, CommanderError } from 'commander';
import { packageVersion } from './_package.js';
import { EXIT } from './_run.js';
import { registerDemoCommand } from './demo.js';
import { registerDeviceCommands } from './device.js';
import { registerImageCommands } from './image.js';
import { registerEfuseCommands } from './efuse.js';
import { registerFactoryCommands } from './factory.js';
import { registerFlashEncryptionCommands } from './flash-encryption.js';
import { registerNvsCommands } from './nvs.js';
import { registerSecureBootCommands } from './secure-boot.js';
import { registerPartitionTableCommand } from './partition-table.js';
import { registerProvisionCommand } from './provision.js';
import { registerRegistryCommands } from './registry.js';
import { registerSeedCommands } from './seed.js';
import { registerSelftestCommand } from './selftest.js';
import { registerTokenCommands } from './token.js';
import { registerTlsCommands } from './tls.js';

/** Builds the `nvsec` command tree. */
function buildProgram(): Command {
  const program = new Command('nvsec')
    .description('Root of trust for IoT devices and the factories that build them')
    .version(packageVersion())
    // Sub-commands keep their own options: `nvs generate … --version 1` is the NVS format
    // version (as in esp-idf-nvs-partition-gen), not nvsec's --version.
    .enablePositionalOptions()
    .showHelpAfterError('(run with --help for usage)')
    // Usage errors look like every other error and exit with EXIT.USAGE (sub-commands inherit this).
    .exitOverride()
    .configureOutput({ outputError: (text, write) => write(`nvsec: ${text}`) });
  // Storage, then the token, then boot security, then entropy, then the demo: the order of `nvsec --help`.
  registerNvsCommands(program);
  registerTokenCommands(program);
  registerPartitionTableCommand(program);
  registerImageCommands(program);
  registerSecureBootCommands(program);
  registerFlashEncryptionCommands(program);
  registerEfuseCommands(program);
  registerSeedCommands(program);
  registerSelftestCommand(program);
  registerFactoryCommands(program);
  registerProvisionCommand(program);
  registerRegistryCommands(program);
  registerDeviceCommands(program);
  registerDemoCommand(program);
  registerTlsCommands(program);
  return program;
}

try {
  await buildProgram().parseAsync(process.argv);
} catch (e) {
  if (!(e instanceof CommanderError)) throw e;
  process.exitCode = e.exitCode === 0 ? EXIT.OK : EXIT.USAGE; // help and --version exit 0
}
