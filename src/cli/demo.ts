import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import type { Command } from 'commander';
import { generateNvsPartition } from '../nvs/generator/generate.js';
import { readNvsPartition } from '../nvs/inspect.js';
import { NvsStorage } from '../nvs/store/storage.js';
import { FileFlash } from '../node/file-flash.js';
import { nodeCrypto } from '../node/node-crypto.js';
import { writeFileAtomic } from '../node/atomic-file.js';
import { formatDump } from './_dump-format.js';
import { packageRoot } from './_package.js';
import { runAction } from './_run.js';


/** `nvsec demo`: the main job end to end on bundled example data (what `npm start` runs). */
export function registerDemoCommand(program: Command): void {
  program
    .command('demo')
    .description('Run the main job on bundled example data: generate an NVS partition from a CSV, dump it, update it with the runtime')
    .option('--out <dir>', 'folder for the files it writes (default: a new temporary folder)')
    .action(
      runAction((opts: { out?: string }) => {
        const EXAMPLES = path.join(packageRoot(), 'examples');
        const out = opts.out ?? fs.mkdtempSync(path.join(os.tmpdir(), 'nvsec-demo-'));
        fs.mkdirSync(out, { recursive: true });
        const csvPath = path.join(EXAMPLES, 'nvs-example.csv');
        const image = path.join(out, 'nvs.bin');
        const size = 0x6000;

        step(1, `Generate an NVS partition (${size} bytes) from ${csvPath}`);
        const result = generateNvsPartition(fs.readFileSync(csvPath, 'utf8'), {
          size,
          crypto: nodeCrypto,
          readFile: (p) => new Uint8Array(fs.readFileSync(path.resolve(EXAMPLES, p))),
        });
        writeFileAtomic(image, result.image, { mode: 0o600 });
        console.log(`   wrote ${image}: ${result.items} items in ${result.namespaces.length} namespaces, ${result.pagesUsed} page(s) used`);

        step(2, `Dump it (nvsec nvs dump ${image})`);
        const dump = readNvsPartition(result.image);
        process.stdout.write(indent(formatDump(image, result.image.length, dump)));

        step(3, 'Open it with the NVS runtime, as firmware would, and count a boot');
        const flash = FileFlash.open(image);
        try {
          const nvs = NvsStorage.init(flash);
          const h = nvs.open('device', 'readwrite');
          const before = h.getU32('boot_count');
          h.setU32('boot_count', before + 1);
          h.commit();
          flash.sync();
          console.log(`   device/boot_count: ${before} -> ${h.getU32('boot_count')} (written in place; the old entry is marked erased)`);
        } finally {
          flash.close();
        }
        const after = readNvsPartition(new Uint8Array(fs.readFileSync(image)));
        const v = after.namespaces.device?.boot_count;
        console.log(`   re-read from the file: device/boot_count = ${v && 'value' in v ? v.value : '?'}, ${after.errors.length} problems`);

        step(4, 'Done');
        console.log(`   files are in ${out}; try: nvsec nvs dump ${image} --json`);
      }),
    );
}

function step(n: number, text: string): void {
  console.log(`\n[${n}] ${text}`);
}

function indent(text: string): string {
  return text
    .split('\n')
    .map((l) => (l ? `   ${l}` : l))
    .join('\n');
}
