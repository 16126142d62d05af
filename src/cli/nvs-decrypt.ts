import * as fs from 'node:fs';
import * as path from 'node:path';
import type { Command } from 'commander';
import { NvsecError } from '../errors/nvsec-error.js';
import { writeFileAtomic } from '../node/atomic-file.js';
import { nodeCrypto } from '../node/node-crypto.js';
import { diagnoseNvsDecryption, type NvsDecryptionDiagnosis } from '../nvs/crypto/diagnose.js';
import { NvsEntryCipher } from '../nvs/crypto/entry-cipher.js';
import { decryptNvsImage } from '../nvs/crypto/image-cipher.js';
import { NvsError } from '../nvs/esp-err.js';
import { readBinaryFile } from './_files.js';
import { outputPath, readKeysFile, requireBinExtension } from './_nvs-args.js';
import { runAction } from './_run.js';

interface DecryptOptions {
  outdir?: string;
  json?: boolean;
}

/** Stable error codes for the verdicts that stop a decryption. */
const VERDICT_CODES = Object.freeze({
  'wrong-key': 'NVS_WRONG_KEY',
  plaintext: 'NVS_PLAINTEXT_IMAGE',
  'wrong-offset': 'NVS_WRONG_OFFSET',
});

const HELP_AFTER = `
Arguments are those of esp-idf-nvs-partition-gen 0.2.0 "decrypt": the encrypted image, the keys
(an nvs_keys partition image) and the output file; all three end in .bin, and a relative OUTPUT
goes under --outdir. The output is the plain image, byte-identical to the tool's (and to
"nvsec nvs generate" on the same CSV for generated images).

Unlike the tool, the key file is validated first (erased: ESP_ERR_NVS_KEYS_NOT_INITIALIZED; bad
CRC: ESP_ERR_NVS_CORRUPT_KEY_PART, with the likely cause), the entries to decrypt are taken from
each page's bitmap (right for images the device wrote, too), and the key is checked before
anything is written: NVS encryption has no MAC, but every entry has a CRC. When (nearly) no
written entry passes its CRC after decryption, nothing is written, the exit status is 1, and the
message says which of wrong key, plaintext image or wrong partition offset (the image read from
the wrong flash address) is most likely, with the counts per page.

Examples:
  $ nvsec nvs decrypt nvs_encr.bin keys/nvs_keys.bin nvs_plain.bin
  $ nvsec nvs decrypt readback.bin nvs_keys.bin plain.bin --outdir out --json
  $ esptool.py read_flash 0x9000 0x6000 readback.bin && nvsec nvs decrypt readback.bin nvs_keys.bin plain.bin
`;

/**
 * Registers `nvs decrypt <image> <keys> <output>`: the esp-idf-nvs-partition-gen `decrypt`
 * command (`IMAGE.bin KEYS.bin OUTPUT.bin [--outdir DIR]`, plus `--json`), which first checks
 * the key against the entries' CRCs and refuses, with a diagnosis, to write garbage.
 *
 * @throws never at registration; the action reports errors as one line and exit code 1
 * @example
 * registerNvsDecryptCommand(program.command('nvs')); // nvsec nvs decrypt enc.bin keys.bin plain.bin
 */
export function registerNvsDecryptCommand(nvs: Command): void {
  nvs
    .command('decrypt')
    .summary('decrypt an encrypted NVS partition image (esp-idf-nvs-partition-gen compatible)')
    .description(
      'Decrypt an XTS-AES-256 encrypted ESP-IDF NVS partition image, after checking that the key fits (wrong key, plaintext image and wrong partition offset are told apart).',
    )
    .argument('<image>', 'encrypted NVS partition image (.bin)')
    .argument('<keys>', 'nvs_keys partition image with the XTS keys (.bin)')
    .argument('<output>', 'plain image to write (.bin); relative paths go under --outdir')
    .option('--outdir <dir>', 'directory for the output file, created if missing (default: current directory)')
    .option('--json', 'print the result (paths, verdict, counts per page; no key bytes) as one JSON object')
    .addHelpText('after', HELP_AFTER)
    .action(
      runAction((image: string, keys: string, output: string, opts: DecryptOptions) => {
        decryptCommand(image, keys, output, opts);
      }),
    );
}

function decryptCommand(input: string, keyFile: string, output: string, opts: DecryptOptions): void {
  requireBinExtension(input, 'IMAGE');
  requireBinExtension(keyFile, 'KEYS');
  const target = outputPath(opts.outdir, output, 'OUTPUT');
  const keys = readKeysFile(keyFile, 'key file');
  let cipher: NvsEntryCipher;
  try {
    cipher = new NvsEntryCipher(nodeCrypto, keys);
  } finally {
    keys.eky.fill(0);
    keys.tky.fill(0);
  }
  try {
    const image = readBinaryFile(input, 'image');
    if (image.length === 0) {
      throw new NvsError('ESP_ERR_INVALID_SIZE', `The image "${input}" is empty (0 bytes), as a failed generator run can leave it: use the complete partition image`);
    }
    const d = diagnoseNvsDecryption(image, cipher);
    const facts = { input: path.resolve(input), keyfile: path.resolve(keyFile), bytes: image.length };
    if (d.verdict !== 'ok' && d.verdict !== 'no-data') {
      if (opts.json) console.log(JSON.stringify({ ...facts, output: null, ...diagnosisJson(d) }));
      throw new NvsecError(VERDICT_CODES[d.verdict], `${d.message} Nothing was written.`);
    }
    const plain = decryptNvsImage(image, cipher);
    try {
      fs.mkdirSync(path.dirname(target), { recursive: true });
      writeFileAtomic(target, plain, { mode: 0o600 });
    } finally {
      plain.fill(0);
    }
    if (opts.json) {
      console.log(JSON.stringify({ ...facts, output: target, ...diagnosisJson(d) }));
      return;
    }
    if (d.verdict === 'no-data') console.error(`nvsec: note: ${d.message}`);
    else if (d.passingEntries < d.writtenEntries) console.error(`nvsec: warning: ${d.message}`);
    const how =
      d.verdict === 'no-data'
        ? 'no written entries, copied as it is'
        : `${d.passingEntries} of ${d.writtenEntries} written entries pass their CRC (the key fits)`;
    console.log(`Created ${target}: ${plain.length} bytes decrypted from ${input}; ${how}`);
  } finally {
    cipher.destroy();
  }
}

function diagnosisJson(d: NvsDecryptionDiagnosis): Record<string, unknown> {
  return {
    verdict: d.verdict,
    writtenEntries: d.writtenEntries,
    passingEntries: d.passingEntries,
    plaintextPassing: d.plaintextPassing,
    bestOffset: d.bestOffset,
    pages: d.pages,
    message: d.message,
  };
}
