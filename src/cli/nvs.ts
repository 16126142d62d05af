import type { Command } from 'commander';
import { registerNvsDumpCommand } from './nvs-dump.js';
import { registerNvsGenerateCommand } from './nvs-generate.js';

/** `nvsec nvs …`: the ESP-IDF NVS partition tools. */
export function registerNvsCommands(program: Command): void {
  const nvs = program
    .command('nvs')
    .description('ESP-IDF NVS partitions: generate from CSV (esp-idf-nvs-partition-gen compatible) and dump');
  registerNvsGenerateCommand(nvs);
  registerNvsDumpCommand(nvs);
}
