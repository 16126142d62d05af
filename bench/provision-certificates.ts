// Factory certificate throughput, one process, one core: `node --import tsx bench/provision-certificates.ts [--count N]`.
// Not wired into bench/run.ts yet (the provisioning group will own that): prints certificates per
// second for
//   - csr:          createCsr with the device key in a token (P-256), the signer checked
//   - issue:        issueDeviceCertificate from a ready CSR (CSR check + signing), CA key in memory (P-256)
//   - issue-p384:   the same under a P-384 intermediate (key in memory)
//   - issue-token:  the same with the intermediate's key held by an nvsec token (CKM_ECDSA)
//   - csr+issue:    createCsr with the device key in a token, then issue: the factory's per-device certificate work
// Every certificate of a run is checked by node:crypto against the intermediate's key, every
// request by openssl's rules through node:crypto (outside the timing). The CSR given to the
// issue rows is a fresh parse of DER bytes, so they include the CSR's signature check.
import * as crypto from 'node:crypto';
import { parseArgs } from 'node:util';
import { nodeCrypto } from '../src/node/node-crypto.js';
import { loadNodeKeyCrypto } from '../src/node/node-key-crypto.js';
import { generateSigningKey, readSigningKey } from '../src/node/signing-key.js';
import { CKF_SESSION, CKU } from '../src/pkcs11/constants.js';
import { MemoryObjectStore } from '../src/pkcs11/pal/memory-object-store.js';
import { createTokenDrbg } from '../src/pkcs11/token/token-drbg.js';
import { Token } from '../src/pkcs11/token/token.js';
import { TokenSession } from '../src/pkcs11/token-session.js';
import { tokenPublicKey, tokenSigner } from '../src/pkcs11/token-signer.js';
import { type Certificate, type Issuer, loadCertificates } from '../src/provision/certificates.js';

const { values } = parseArgs({ options: { count: { type: 'string', default: '1000' } } });
const count = Number(values.count);
const enc = new TextEncoder();

async function openTokenSession(): Promise<TokenSession> {
  const token = new Token({ store: new MemoryObjectStore(), crypto: nodeCrypto, keys: await loadNodeKeyCrypto(), random: createTokenDrbg(nodeCrypto), pinIterations: 1000 });
  token.initialize();
  token.initToken(token.slotId, enc.encode('87654321'), 'bench');
  const so = token.openSession(token.slotId, CKF_SESSION.CKF_SERIAL_SESSION | CKF_SESSION.CKF_RW_SESSION);
  token.loginAs(so, CKU.CKU_SO, enc.encode('87654321'));
  token.initPin(so, enc.encode('12345678'));
  token.closeSession(so);
  const s = TokenSession.open(token, { readWrite: true });
  s.login('12345678');
  return s;
}

async function main(): Promise<void> {
  const certs = await loadCertificates({ webCrypto: globalThis.crypto, crypto: nodeCrypto });
  const validity = { notBefore: new Date('2026-01-01T00:00:00Z'), notAfter: new Date('2036-01-01T00:00:00Z') };
  const rootSigner = readSigningKey(generateSigningKey('ecdsa384')).signer!;
  const root = await certs.createRootCa({ subject: 'CN=Bench Root', signer: rootSigner, ...validity });
  const memSigner = readSigningKey(generateSigningKey('ecdsa256')).signer!;
  const memInter = await certs.createIntermediateCa({ subject: 'CN=Bench Line (memory key)', publicKey: memSigner.publicKey, issuer: { certificate: root, signer: rootSigner }, ...validity });
  const p384Signer = readSigningKey(generateSigningKey('ecdsa384')).signer!;
  const p384Inter = await certs.createIntermediateCa({ subject: 'CN=Bench Line (P-384 memory key)', publicKey: p384Signer.publicKey, issuer: { certificate: root, signer: rootSigner }, ...validity });

  const caSession = await openTokenSession();
  const caPair = caSession.generateKeyPair({ type: 'ec', curve: 'P-256' }, { label: 'line CA' });
  const caTokenSigner = tokenSigner(caSession, caPair.privateKey, tokenPublicKey(caSession, caPair.publicKey));
  const tokenInter = await certs.createIntermediateCa({ subject: 'CN=Bench Line (token key)', publicKey: caTokenSigner.publicKey, issuer: { certificate: root, signer: rootSigner }, ...validity });

  const deviceSession = await openTokenSession();
  const devPair = deviceSession.generateKeyPair({ type: 'ec', curve: 'P-256' }, { label: 'Device Priv TLS Key' });
  const deviceSigner = tokenSigner(deviceSession, devPair.privateKey, tokenPublicKey(deviceSession, devPair.publicKey));
  const csr = (await certs.createCsr({ subject: 'CN=device-bench', signer: deviceSigner })).der.slice();

  {
    for (let i = 0; i < 50; i++) await certs.createCsr({ subject: `CN=device-${i}, O=Bench`, signer: deviceSigner });
    const out = [];
    const t0 = process.hrtime.bigint();
    for (let i = 0; i < count; i++) out.push(await certs.createCsr({ subject: `CN=device-${i}, O=Bench`, signer: deviceSigner }));
    const s = Number(process.hrtime.bigint() - t0) / 1e9;
    const spki = crypto.createPublicKey({ key: { kty: 'EC', crv: 'P-256', x: Buffer.from(out[0]!.publicKey.x).toString('base64url'), y: Buffer.from(out[0]!.publicKey.y).toString('base64url') }, format: 'jwk' });
    for (const r of out) {
      // The signature over the CertificationRequestInfo (the first element of the outer SEQUENCE).
      const der = Buffer.from(r.der);
      const infoStart = der[1]! & 0x80 ? 2 + (der[1]! & 0x7f) : 2;
      const infoLen = der[infoStart + 1]! & 0x80 ? der.readUIntBE(infoStart + 2, der[infoStart + 1]! & 0x7f) + 2 + (der[infoStart + 1]! & 0x7f) : der[infoStart + 1]! + 2;
      const info = der.subarray(infoStart, infoStart + infoLen);
      const bitString = der.subarray(infoStart + infoLen + 12); // after AlgorithmIdentifier ecdsa-with-SHA256 (12 bytes)
      if (bitString[0] !== 0x03 || !crypto.verify('sha256', info, spki, bitString.subarray(3))) throw new Error('csr: a request does not verify');
    }
    console.log(`${'csr'.padEnd(12)} ${(count / s).toFixed(0).padStart(6)} requests/s      (${((s / count) * 1000).toFixed(2)} ms each, ${count} made, all verified)`);
  }

  const run = async (name: string, issuer: Issuer, work: () => Promise<Certificate>): Promise<void> => {
    for (let i = 0; i < 50; i++) await work();
    const out: Certificate[] = [];
    const t0 = process.hrtime.bigint();
    for (let i = 0; i < count; i++) out.push(await work());
    const s = Number(process.hrtime.bigint() - t0) / 1e9;
    const key = new crypto.X509Certificate(issuer.certificate.pem).publicKey;
    for (const c of out) if (!new crypto.X509Certificate(c.pem).verify(key)) throw new Error(`${name}: a certificate does not verify`);
    console.log(`${name.padEnd(12)} ${(count / s).toFixed(0).padStart(6)} certificates/s  (${((s / count) * 1000).toFixed(2)} ms each, ${count} issued, all verified)`);
  };
  const mem: Issuer = { certificate: memInter, signer: memSigner };
  const tok: Issuer = { certificate: tokenInter, signer: caTokenSigner };
  await run('issue', mem, () => certs.issueDeviceCertificate({ csr, issuer: mem, validity }));
  const p384: Issuer = { certificate: p384Inter, signer: p384Signer };
  await run('issue-p384', p384, () => certs.issueDeviceCertificate({ csr, issuer: p384, validity }));
  await run('issue-token', tok, () => certs.issueDeviceCertificate({ csr, issuer: tok, validity }));
  await run('csr+issue', mem, async () => certs.issueDeviceCertificate({ csr: await certs.createCsr({ subject: 'CN=device-bench', signer: deviceSigner }), issuer: mem, validity }));
  caSession.close();
  deviceSession.close();
}

await main();
