import type { Command } from 'commander';
import { registerNvsDecryptCommand } from './nvs-decrypt.js';
import { registerNvsDumpCommand } from './nvs-dump.js';
import { registerNvsEncryptCommand } from './nvs-encrypt.js';
import { registerNvsGenerateKeyCommand } from './nvs-generate-key.js';
import { registerNvsGenerateCommand } from './nvs-generate.js';

/** `nvsec nvs …`: the ESP-IDF NVS partition tools. */
export function registerNvsCommands(program: Command): void {
  const nvs = program
    .command('nvs')
    .description('ESP-IDF NVS partitions: generate and encrypt from CSV, decrypt, keys (esp-idf-nvs-partition-gen compatible), dump');
  registerNvsGenerateCommand(nvs);
  registerNvsEncryptCommand(nvs);
  registerNvsDecryptCommand(nvs);
  registerNvsGenerateKeyCommand(nvs);
  registerNvsDumpCommand(nvs);
}
