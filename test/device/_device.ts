// Builds a provisioned device by hand, as a factory would, for the device tests: XTS key, NVS keys,
// an encrypted NVS partition holding an initialised token (device key pair generated inside it,
// certificates made by OpenSSL), the NV seed and the device id, an app signed with a fresh RSA-3072
// key, the eFuses and the whole flash image.
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import type { Efuse } from '../../src/boot/efuse.js';
import { signImage } from '../../src/boot/secure-boot-v2.js';
import { publicKeyDigest } from '../../src/boot/signature-block.js';
import type { Signer } from '../../src/crypto/signer.js';
import { buildDemoApp } from '../../src/device/demo-app.js';
import { buildDeviceFlash, deviceEfuse } from '../../src/device/device-image.js';
import { defaultFlashLayout, partitionNamed } from '../../src/device/flash-layout.js';
import { NvsSeedStore } from '../../src/entropy/nvs-seed-store.js';
import { MemoryFlash } from '../../src/flash/memory-flash.js';
import { nodeCrypto } from '../../src/node/node-crypto.js';
import { openCryptoki } from '../../src/node/node-token.js';
import { generateSigningKey, readSigningKey } from '../../src/node/signing-key.js';
import { buildKeysPartition, generateNvsKeys, type NvsKeys } from '../../src/nvs/crypto/keys-partition.js';
import { NvsStorage } from '../../src/nvs/store/storage.js';
import { CKA, CKF, CKU } from '../../src/pkcs11/constants.js';
import { NvsObjectStore } from '../../src/pkcs11/pal/nvs-object-store.js';
import { TokenSession } from '../../src/pkcs11/token-session.js';

export const USER_PIN = 'user-pin-1234';
export const DEVICE_ID = 'nvsec-0001';

/** What OpenSSL says about a certificate (the independent expectation). */
export interface OpensslFacts {
  subject: string;
  issuer: string;
  serial: string;
}

export interface HandBuiltDevice {
  flash: Uint8Array;
  efuse: Efuse;
  xtsKey: Uint8Array;
  nvsKeys: NvsKeys;
  nvsPartition: Uint8Array;
  signer: Signer;
  signApp: (version: string) => Promise<Uint8Array>;
  app: Uint8Array;
  device: OpensslFacts;
  jitp: OpensslFacts;
  root: OpensslFacts;
  /** The PEMs OpenSSL made (device, JITP and root certificates) and the JITP CA's private key, for TLS servers and CRLs. */
  pem: { device: string; jitp: string; root: string; jitpKey: string };
}

/** An ESP32-C3 app image with an esp_app_desc_t naming `version` (the factory's demo app). */
export function appImage(version: string): Uint8Array {
  return buildDemoApp(nodeCrypto, { version, projectName: 'nvsec_device_test' });
}

const openssl = (dir: string, args: string[]): string => execFileSync('openssl', args, { cwd: dir, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });

function facts(dir: string, pem: string): OpensslFacts {
  const out = openssl(dir, ['x509', '-in', pem, '-noout', '-subject', '-issuer', '-serial', '-nameopt', 'RFC2253']);
  const field = (name: string): string => {
    const line = out.split('\n').find((l) => l.startsWith(`${name}=`));
    if (!line) throw new Error(`openssl printed no ${name}`);
    return line.slice(name.length + 1);
  };
  return { subject: field('subject'), issuer: field('issuer'), serial: field('serial') };
}

const der = (dir: string, pem: string): Uint8Array => new Uint8Array(execFileSync('openssl', ['x509', '-in', pem, '-outform', 'DER'], { cwd: dir }));

let cachedSigningKey: string | null = null;

/** Builds the device. `keysPartitionKeys` replaces the keys written to nvs_keys (the wrong-keys case). */
export async function buildHandMadeDevice(options: { keysPartitionKeys?: NvsKeys } = {}): Promise<HandBuiltDevice> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'nvsec-device-'));
  try {
    const layout = defaultFlashLayout();
    const xtsKey = nodeCrypto.randomBytes(32);
    const nvsKeys = generateNvsKeys(nodeCrypto);

    // NVS: an initialised token with the device key pair generated inside it, then certificates.
    const nvsFlash = new MemoryFlash(partitionNamed(layout, 'nvs').size);
    const nvs = NvsStorage.init(nvsFlash, { encryption: { keys: nvsKeys, crypto: nodeCrypto } });
    new NvsSeedStore(nvs.open('entropy', 'readwrite')).write(nodeCrypto.randomBytes(64));
    nvs.open('device', 'readwrite').setStr('id', DEVICE_ID);
    const p11 = await openCryptoki(new NvsObjectStore(nvs.open('pkcs11', 'readwrite')), { pinIterations: 1000 });
    p11.C_Initialize();
    const slot = p11.C_GetSlotList(true)[0]!;
    p11.C_InitToken(slot, 'so-pin-5678', 'device token');
    const h = p11.C_OpenSession(slot, CKF.CKF_SERIAL_SESSION | CKF.CKF_RW_SESSION);
    p11.C_Login(h, CKU.CKU_SO, 'so-pin-5678');
    p11.C_InitPIN(h, USER_PIN);
    p11.C_CloseSession(h);
    const s = TokenSession.open(p11.token, { readWrite: true });
    s.login(USER_PIN);
    const { publicKey } = s.generateKeyPair({ type: 'ec', curve: 'P-256' }, { label: 'Device Priv TLS Key' });
    const point = s.attribute(publicKey, CKA.CKA_EC_POINT); // DER OCTET STRING around 04‖X‖Y
    const spki = Buffer.concat([Buffer.from('3059301306072a8648ce3d020106082a8648ce3d030107034200', 'hex'), Buffer.from(point.subarray(2))]);
    fs.writeFileSync(path.join(dir, 'dev.pub'), `-----BEGIN PUBLIC KEY-----\n${spki.toString('base64')}\n-----END PUBLIC KEY-----\n`);

    // OpenSSL: root CA -> JITP (intermediate) CA -> device certificate on the token's public key.
    openssl(dir, ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', 'root.key', '-subj', '/C=DE/O=Acme/CN=Acme Root CA', '-days', '30', '-out', 'root.pem']);
    openssl(dir, ['req', '-new', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', 'jitp.key', '-subj', '/O=Acme/CN=Acme JITP CA', '-out', 'jitp.csr']);
    fs.writeFileSync(path.join(dir, 'ca.ext'), 'basicConstraints=critical,CA:TRUE\n');
    openssl(dir, ['x509', '-req', '-in', 'jitp.csr', '-CA', 'root.pem', '-CAkey', 'root.key', '-set_serial', '0x1001', '-days', '30', '-extfile', 'ca.ext', '-out', 'jitp.pem']);
    openssl(dir, ['x509', '-new', '-subj', `/O=Acme, Inc./CN=${DEVICE_ID}`, '-force_pubkey', 'dev.pub', '-CA', 'jitp.pem', '-CAkey', 'jitp.key', '-days', '30', '-out', 'dev.pem']);
    s.importCertificate(der(dir, 'dev.pem'), { label: 'Device Cert' });
    s.importCertificate(der(dir, 'jitp.pem'), { label: 'JITP Cert' });
    s.importCertificate(der(dir, 'root.pem'), { label: 'Root Cert' });
    s.close();
    p11.close();
    nvs.close();
    const nvsPartition = nvsFlash.bytes.slice();

    // Secure Boot V2: an RSA-3072 key (the C3 ROM's scheme), its digest, a signed app.
    cachedSigningKey ??= generateSigningKey('rsa3072');
    const key = readSigningKey(cachedSigningKey);
    const signer = key.signer!;
    const signApp = async (version: string): Promise<Uint8Array> => (await signImage(nodeCrypto, appImage(version), [signer])).image;
    const app = await signApp('1.0.0');

    const efuse = deviceEfuse({ chip: 'esp32c3', flashEncryptionKey: xtsKey, secureBootKeyDigest: publicKeyDigest(nodeCrypto, key.publicKey) });
    const flash = buildDeviceFlash({
      crypto: nodeCrypto,
      chip: 'esp32c3',
      appImage: app,
      nvsPartition,
      nvsKeysPartition: buildKeysPartition(options.keysPartitionKeys ?? nvsKeys),
      flashEncryptionKey: xtsKey,
      layout,
    });
    const read = (name: string): string => fs.readFileSync(path.join(dir, name), 'utf8');
    const pem = { device: read('dev.pem'), jitp: read('jitp.pem'), root: read('root.pem'), jitpKey: read('jitp.key') };
    return { flash, efuse, xtsKey, nvsKeys, nvsPartition, signer, signApp, app, device: facts(dir, 'dev.pem'), jitp: facts(dir, 'jitp.pem'), root: facts(dir, 'root.pem'), pem };
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}
