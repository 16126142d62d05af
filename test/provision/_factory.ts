// A factory in a temporary folder for the provisioning tests (initFactory takes about a second:
// the RSA-3072 code-signing key).
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { type FactoryManifest, initFactory } from '../../src/node/factory.js';

export const PASSPHRASE = 'factory passphrase 1';

export interface TestFactory {
  readonly root: string;
  readonly dir: string;
  readonly manifest: FactoryManifest;
  cleanup(): void;
}

/** A fresh factory (organization "Acme Test", id prefix "t") in a new temporary folder. */
export async function makeTestFactory(): Promise<TestFactory> {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'nvsec-factory-'));
  const dir = path.join(root, 'factory');
  const manifest = await initFactory(dir, { passphrase: PASSPHRASE, organization: 'Acme Test', idPrefix: 't', userPin: 'firmware-pin-1' });
  return { root, dir, manifest, cleanup: () => fs.rmSync(root, { recursive: true, force: true }) };
}
