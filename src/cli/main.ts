#!/usr/bin/env node
import { Command } from 'commander';
import { registerDemoCommand } from './demo.js';
import { registerNvsCommands } from './nvs.js';

/** Builds the `nvsec` command tree (exported for tests). */
export function buildProgram(): Command {
  const program = new Command('nvsec')
    .description('Root of trust for IoT devices and the factories that build them')
    .version('0.1.0')
    // Sub-commands keep their own options: `nvs generate … --version 1` is the NVS format
    // version (as in esp-idf-nvs-partition-gen), not nvsec's --version.
    .enablePositionalOptions()
    .showHelpAfterError('(run with --help for usage)');
  registerNvsCommands(program);
  registerDemoCommand(program);
  return program;
}

await buildProgram().parseAsync(process.argv);
