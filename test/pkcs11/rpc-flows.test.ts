import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { pkcs11jsModule } from '../_support/pkcs11-backends.js';
import { startOpensslServer, stopOpensslServers } from '../_support/openssl-server.js';
import {
  findP11KitClient,
  findPkcs11Engine,
  type ServedToken,
  serverKindFromEnv,
  servedTokenUnavailable,
  startServedToken,
} from '../_support/p11kit-server.js';

// Issue 8's acceptance flows: unmodified native PKCS#11 programs use a token served over p11-kit's
// RPC protocol through Debian's p11-kit-client.so (../shared/specs/pkcs11-and-p11kit.md §3).
// The server under test is chosen by NVSEC_RPC_SERVER: `nvsec` (default; `nvsec token serve`) or
// `softhsm` (the reference, `p11-kit server` fronting SoftHSMv2). The tests run in order on one
// token: -L, -M, --init-token, --init-pin, --login, --keypairgen, --sign/--verify, --read-object,
// --test, p11tool, OpenSSL mutual TLS, pkcs11js. Every outcome is checked by another program than
// the one that produced it (OpenSSL verifies pkcs11-tool's signatures, pkcs11js sees the slot
// pkcs11-tool listed, s_server checks the certificate the engine signed…). Slot ids are discovered,
// never assumed: p11-kit's server re-numbers them (P16).
//
//   NVSEC_RPC_SERVER=softhsm node --import tsx --test test/pkcs11/rpc-flows.test.ts   (the reference)
//   node --import tsx --test test/pkcs11/rpc-flows.test.ts                            (nvsec token serve)

const KIND = serverKindFromEnv();
const UNAVAILABLE = servedTokenUnavailable(KIND, ['pkcs11-tool', 'p11tool', 'openssl-engine']);

const LABEL = 'rpc-flows';
const SO_PIN = '12345678';
const USER_PIN = '123456';
const KEY_LABEL = 'flows-key';
/** CKA_ID of the key pair, as pkcs11-tool's --id takes it (hex). */
const KEY_ID = 'a1b2';
/** DER of the P-256 OID 1.2.840.10045.3.1.7 (RFC 5480 §2.1.1.1 secp256r1): the CKA_EC_PARAMS of a P-256 key. */
const P256_OID_DER_HEX = '06082a8648ce3d030107';
/** Common name of the client certificate made with the token key. */
const CLIENT_CN = 'rpc-flows-client';
/** CKS_RW_USER_FUNCTIONS (PKCS#11 2.40 base §5.6 table 9). */
const CKS_RW_USER_FUNCTIONS = 3;

const CLIENT_MODULE = findP11KitClient() ?? '';
let served: ServedToken;
let work: string;

interface Run {
  status: number | null;
  stdout: string;
  stderr: string;
  /** stdout and stderr together, for matching and for failure messages. */
  all: string;
}

/** Runs a native tool with the server's address in its environment (60 s at most). */
function run(cmd: string, args: readonly string[], extraEnv: Record<string, string> = {}, input?: string): Run {
  const r = spawnSync(cmd, args, {
    cwd: work,
    encoding: 'utf8',
    env: { ...process.env, ...served.env, ...extraEnv },
    timeout: 60_000,
    ...(input === undefined ? {} : { input }),
  });
  if (r.error !== undefined) throw new Error(`${cmd} ${args.join(' ')}: ${r.error.message}`);
  return { status: r.status, stdout: r.stdout, stderr: r.stderr, all: `${r.stdout}\n${r.stderr}` };
}

/** `run` that must exit 0; the output is in the assertion message otherwise. */
function ok(cmd: string, args: readonly string[], extraEnv: Record<string, string> = {}, input?: string): Run {
  const r = run(cmd, args, extraEnv, input);
  assert.equal(r.status, 0, `${cmd} ${args.join(' ')} exited with ${r.status}:\n${r.all}\nserver stderr: ${served.stderr()}`);
  return r;
}

const pkcs11Tool = (args: readonly string[]): Run => ok('pkcs11-tool', ['--module', CLIENT_MODULE, ...args]);

/** A slot as `pkcs11-tool -L` prints it. */
interface ListedSlot {
  id: bigint;
  /** The id as pkcs11-tool prints it and --slot takes it, e.g. `0x11`. */
  hex: string;
  label?: string;
  flags?: string;
  /** pkcs11-tool prints "token state: uninitialized" instead of label and flags for an uninitialised token. */
  uninitialised: boolean;
}

/** Parses `pkcs11-tool -L`: "Slot N (0xID): description" followed by indented "key : value" lines. */
function listSlots(): ListedSlot[] {
  const out = pkcs11Tool(['-L']).stdout;
  const slots: ListedSlot[] = [];
  for (const block of out.split(/^(?=Slot \d+ \()/m).slice(1)) {
    const head = /^Slot \d+ \((0x[0-9a-f]+)\):/i.exec(block);
    assert.ok(head !== null, `unparseable pkcs11-tool -L block:\n${block}`);
    const slot: ListedSlot = { id: BigInt(head[1]!), hex: head[1]!, uninitialised: /^\s+token state:\s+uninitialized/m.test(block) };
    const label = /^\s+token label\s+:\s(.*)$/m.exec(block);
    if (label !== null) slot.label = label[1]!.trim();
    const flags = /^\s+token flags\s+:\s(.*)$/m.exec(block);
    if (flags !== null) slot.flags = flags[1]!.trim();
    slots.push(slot);
  }
  return slots;
}

/** The one slot the server exposes (p11-kit's server and nvsec's serve one token each). */
function theSlot(): ListedSlot {
  const slots = listSlots();
  assert.equal(slots.length, 1, `expected one slot through p11-kit-client.so, got ${JSON.stringify(slots, (_k, v: unknown) => (typeof v === 'bigint' ? v.toString(16) : v))}`);
  return slots[0]!;
}

/** The openssl config that loads libp11's engine with p11-kit-client.so as its module (OpenSSL 3.0 engine API). */
function writeEngineConfig(): string {
  const conf = path.join(work, 'openssl-pkcs11.cnf');
  fs.writeFileSync(
    conf,
    [
      'openssl_conf = openssl_init',
      '[openssl_init]',
      'engines = engine_section',
      '[engine_section]',
      'pkcs11 = pkcs11_section',
      '[pkcs11_section]',
      'engine_id = pkcs11',
      `dynamic_path = ${findPkcs11Engine()}`,
      `MODULE_PATH = ${CLIENT_MODULE}`,
      'init = 0',
      '[req]',
      'distinguished_name = req_dn',
      '[req_dn]',
      '',
    ].join('\n'),
  );
  return conf;
}

/** The token's private key as an RFC 7512 `pkcs11:` URI with the user PIN (for the engine). */
const KEY_URI = `pkcs11:token=${LABEL};object=${KEY_LABEL};type=private;pin-value=${USER_PIN}`;

describe(`native PKCS#11 programs use a token through p11-kit-client.so (server: ${KIND})`, { skip: UNAVAILABLE ?? false }, () => {
  let slot: ListedSlot;
  /** The message signed by pkcs11-tool, and its SHA-256 computed by OpenSSL (CKM_ECDSA signs a hash). */
  let message: string;
  let hash: string;
  let signature: string;
  let publicKeyDer: string;

  before(async () => {
    work = fs.mkdtempSync(path.join(os.tmpdir(), 'nvsec-rpc-flows-'));
    served = await startServedToken({ kind: KIND, label: LABEL, soPin: SO_PIN, userPin: USER_PIN });
    message = path.join(work, 'message.txt');
    fs.writeFileSync(message, 'a message signed by the served token\n');
    hash = path.join(work, 'message.sha256');
    signature = path.join(work, 'message.sig.der');
    publicKeyDer = path.join(work, 'public-key.der');
  });

  after(async () => {
    stopOpensslServers();
    await served?.stop();
    fs.rmSync(work, { recursive: true, force: true });
  });

  it('pkcs11-tool -L lists the served token in one slot, with a discovered id', () => {
    slot = theSlot();
    assert.ok(slot.id >= 0n);
    if (served.initialised) {
      assert.equal(slot.label, LABEL);
      assert.match(slot.flags ?? '', /token initialized/);
    } else {
      // nvsec serves a fresh directory store: a token present but not initialised.
      assert.ok(slot.uninitialised, `expected "token state: uninitialized" for a fresh store, got ${JSON.stringify(slot.flags)}`);
    }
  });

  it('pkcs11-tool -M lists CKM_ECDSA and CKM_EC_KEY_PAIR_GEN, and not CKM_ECDSA_SHA256 (p11-kit 0.24.1 client whitelist, P3)', () => {
    const out = pkcs11Tool(['--slot', slot.hex, '-M']).stdout;
    const names = [...out.matchAll(/^ {2}(\S+?)[,\s]/gm)].map((m) => m[1]!);
    assert.ok(names.includes('ECDSA'), `no ECDSA in:\n${out}`);
    assert.ok(names.includes('ECDSA-KEY-PAIR-GEN'), `no ECDSA-KEY-PAIR-GEN in:\n${out}`);
    assert.ok(!names.includes('ECDSA-SHA256'), `ECDSA-SHA256 passed the client's whitelist:\n${out}`);
    const ecdsa = out.split('\n').find((l) => /^ {2}ECDSA,/.test(l)) ?? '';
    assert.match(ecdsa, /\bsign\b/);
    assert.match(ecdsa, /\bverify\b/);
  });

  it('pkcs11-tool --init-token gives the token its label and marks it initialised', () => {
    const r = pkcs11Tool(['--slot', slot.hex, '--init-token', '--label', LABEL, '--so-pin', SO_PIN]);
    assert.match(r.all, /Token successfully initialized/);
    slot = theSlot();
    assert.ok(!slot.uninitialised);
    assert.equal(slot.label, LABEL);
    assert.match(slot.flags ?? '', /token initialized/);
  });

  it('pkcs11-tool --init-pin sets the user PIN, and -L then shows "PIN initialized"', () => {
    const r = pkcs11Tool(['--slot', slot.hex, '--init-pin', '--login', '--login-type', 'so', '--so-pin', SO_PIN, '--pin', USER_PIN]);
    assert.match(r.all, /User PIN successfully initialized/);
    slot = theSlot();
    assert.match(slot.flags ?? '', /PIN initialized/);
  });

  it('pkcs11-tool --login accepts the user PIN and refuses a wrong one with CKR_PIN_INCORRECT', () => {
    const wrong = run('pkcs11-tool', ['--module', CLIENT_MODULE, '--slot', slot.hex, '--login', '--pin', '999999', '-O']);
    assert.notEqual(wrong.status, 0);
    assert.match(wrong.all, /CKR_PIN_INCORRECT/);
    const r = pkcs11Tool(['--slot', slot.hex, '--login', '--pin', USER_PIN, '-O']);
    assert.doesNotMatch(r.all, /CKR_/);
  });

  it('pkcs11-tool --keypairgen --key-type EC:prime256v1 makes a P-256 key pair on the token', () => {
    const r = pkcs11Tool(['--slot', slot.hex, '--login', '--pin', USER_PIN, '--keypairgen', '--key-type', 'EC:prime256v1', '--label', KEY_LABEL, '--id', KEY_ID]);
    assert.match(r.all, /Key pair generated/);
    assert.match(r.all, /Private Key Object; EC/);
    assert.match(r.all, new RegExp(`EC_PARAMS:\\s+${P256_OID_DER_HEX}`));
    // The objects are on the token: a second connection finds them.
    const objects = pkcs11Tool(['--slot', slot.hex, '--login', '--pin', USER_PIN, '-O']).stdout;
    assert.match(objects, new RegExp(`Private Key Object; EC[\\s\\S]*label:\\s+${KEY_LABEL}`));
    assert.match(objects, new RegExp(`Public Key Object; EC[\\s\\S]*ID:\\s+${KEY_ID}`));
  });

  it('pkcs11-tool --sign -m ECDSA signs an OpenSSL-made SHA-256 hash, and --verify accepts it and refuses another hash', () => {
    ok('openssl', ['dgst', '-sha256', '-binary', '-out', hash, message]);
    assert.equal(fs.statSync(hash).size, 32);
    pkcs11Tool(['--slot', slot.hex, '--login', '--pin', USER_PIN, '--sign', '-m', 'ECDSA', '--id', KEY_ID, '-i', hash, '-o', signature, '--signature-format', 'openssl']);
    // An X9.62 Ecdsa-Sig-Value: SEQUENCE { INTEGER r, INTEGER s } (RFC 3279 §2.2.3), as OpenSSL parses it.
    const asn1 = ok('openssl', ['asn1parse', '-inform', 'DER', '-in', signature]).stdout;
    assert.equal([...asn1.matchAll(/prim: INTEGER/g)].length, 2, asn1);
    const valid = pkcs11Tool(['--slot', slot.hex, '--login', '--pin', USER_PIN, '--verify', '-m', 'ECDSA', '--id', KEY_ID, '-i', hash, '--signature-file', signature, '--signature-format', 'openssl']);
    assert.match(valid.all, /Signature is valid/);
    // pkcs11-tool exits 0 for an invalid signature too; its words tell.
    const other = path.join(work, 'other.sha256');
    fs.writeFileSync(other, crypto.createHash('sha256').update('another message').digest());
    const invalid = run('pkcs11-tool', ['--module', CLIENT_MODULE, '--slot', slot.hex, '--login', '--pin', USER_PIN, '--verify', '-m', 'ECDSA', '--id', KEY_ID, '-i', other, '--signature-file', signature, '--signature-format', 'openssl']);
    assert.match(invalid.all, /Invalid signature/);
  });

  it('pkcs11-tool --read-object of the public key gives an SPKI with which openssl dgst -sha256 -verify accepts the signature', () => {
    pkcs11Tool(['--slot', slot.hex, '--read-object', '--type', 'pubkey', '--id', KEY_ID, '-o', publicKeyDer]);
    const text = ok('openssl', ['pkey', '-pubin', '-inform', 'DER', '-in', publicKeyDer, '-noout', '-text']).stdout;
    assert.match(text, /ASN1 OID: prime256v1/);
    const verified = ok('openssl', ['dgst', '-sha256', '-verify', publicKeyDer, '-keyform', 'DER', '-signature', signature, message]);
    assert.match(verified.stdout, /Verified OK/);
    const tampered = path.join(work, 'tampered.txt');
    fs.writeFileSync(tampered, 'a message NOT signed by the served token\n');
    const refused = run('openssl', ['dgst', '-sha256', '-verify', publicKeyDer, '-keyform', 'DER', '-signature', signature, tampered]);
    assert.notEqual(refused.status, 0);
    assert.match(refused.all, /Verification failure/);
  });

  it('pkcs11-tool --test --login reports "No errors"', () => {
    const r = pkcs11Tool(['--slot', slot.hex, '--test', '--login', '--pin', USER_PIN]);
    assert.match(r.all, /Digests:|C_SeedRandom\(\) and C_GenerateRandom\(\)/, r.all);
    if (KIND === 'nvsec') {
      assert.match(r.all, /No errors/, r.all);
    } else {
      // The reference fails one check through any RPC client: p11-kit sends C_GenerateRandom(buf, 0)
      // as "capacity 0" = NULL (spec §3.7, P5) and SoftHSM answers CKR_ARGUMENTS_BAD. Everything
      // else must pass.
      const errors = r.all.split('\n').filter((l) => /ERR:/.test(l));
      assert.ok(errors.every((l) => /C_GenerateRandom\(buf1,0\) failed: CKR_ARGUMENTS_BAD/.test(l)), r.all);
      assert.match(r.all, errors.length === 0 ? /No errors/ : new RegExp(`\\b${errors.length} errors`), r.all);
    }
  });

  it('p11tool --list-all (GnuTLS, --provider p11-kit-client.so) shows the public key, and the private key after --login', () => {
    const pub = ok('p11tool', ['--provider', CLIENT_MODULE, '--list-all', `pkcs11:token=${LABEL}`]).stdout;
    assert.match(pub, new RegExp(`URL: pkcs11:.*token=${LABEL};.*object=${KEY_LABEL};type=public`));
    assert.match(pub, /Type: Public key \(EC\/ECDSA-SECP256R1\)/);
    assert.doesNotMatch(pub, /type=private/);
    const all = ok('p11tool', ['--provider', CLIENT_MODULE, '--login', '--list-all', `pkcs11:token=${LABEL}`], { GNUTLS_PIN: USER_PIN }).stdout;
    assert.match(all, new RegExp(`URL: pkcs11:.*token=${LABEL};.*object=${KEY_LABEL};type=private`));
    assert.match(all, /Type: Private key \(EC\/ECDSA-SECP256R1\)/);
    assert.match(all, /CKA_SENSITIVE/);
  });

  it('OpenSSL signs a certificate with the token key (pkcs11: URI, engine pkcs11) and uses it for mutual TLS with s_server -Verify 1', async () => {
    const engineEnv = { OPENSSL_CONF: writeEngineConfig() };
    const clientCert = path.join(work, 'client.pem');
    ok('openssl', ['req', '-new', '-x509', '-engine', 'pkcs11', '-keyform', 'engine', '-key', KEY_URI, '-subj', `/CN=${CLIENT_CN}`, '-days', '1', '-sha256', '-out', clientCert], engineEnv);
    // The certificate carries the token's public key (as pkcs11-tool read it) and its self-signature verifies.
    const certKey = ok('openssl', ['x509', '-in', clientCert, '-noout', '-pubkey']).stdout;
    const tokenKey = ok('openssl', ['pkey', '-pubin', '-inform', 'DER', '-in', publicKeyDer]).stdout;
    assert.equal(certKey, tokenKey);
    assert.match(ok('openssl', ['verify', '-CAfile', clientCert, clientCert]).stdout, /: OK/);

    const serverKey = path.join(work, 'server.key');
    const serverCert = path.join(work, 'server.pem');
    ok('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-subj', '/CN=localhost', '-days', '1', '-keyout', serverKey, '-out', serverCert]);
    const server = await startOpensslServer(work, ['-naccept', '1', '-cert', serverCert, '-key', serverKey, '-Verify', '1', '-verify_return_error', '-CAfile', clientCert]);
    const greeting = 'hello from the token key';
    const client = run(
      'openssl',
      ['s_client', '-connect', `127.0.0.1:${server.port}`, '-engine', 'pkcs11', '-keyform', 'engine', '-key', KEY_URI, '-cert', clientCert, '-CAfile', serverCert, '-verify_return_error'],
      engineEnv,
      `${greeting}\n`,
    );
    assert.equal(client.status, 0, client.all);
    assert.match(client.stdout, /Verify return code: 0 \(ok\)/);
    // s_server verified the client's chain (depth 0 = our certificate) and got the data over the session.
    const deadline = Date.now() + 10_000;
    while (!server.log().includes(greeting) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    const log = server.log();
    assert.match(log, new RegExp(`depth=0 CN = ${CLIENT_CN}\\s+verify return:1`), log);
    assert.match(log, new RegExp(`subject=CN = ${CLIENT_CN}`), log);
    assert.ok(log.includes(greeting), log);

    // Without the token key the server refuses the handshake: the certificate alone proves nothing.
    const server2 = await startOpensslServer(work, ['-naccept', '1', '-cert', serverCert, '-key', serverKey, '-Verify', '1', '-verify_return_error', '-CAfile', clientCert]);
    const anonymous = run('openssl', ['s_client', '-connect', `127.0.0.1:${server2.port}`, '-CAfile', serverCert], {}, `${greeting}\n`);
    const deadline2 = Date.now() + 10_000;
    while (!/peer did not return a certificate|PEER_DID_NOT_RETURN_A_CERTIFICATE/i.test(server2.log()) && Date.now() < deadline2) await new Promise((r) => setTimeout(r, 50));
    assert.match(server2.log(), /peer did not return a certificate/i, `${server2.log()}\n${anonymous.all}`);
    assert.ok(!server2.log().includes(greeting));
  });

  it('pkcs11js (C_Initialize with CKF_OS_LOCKING_OK, P13) finds the slot pkcs11-tool listed, reads the key and signs a hash Node verifies', () => {
    const pkcs11js = pkcs11jsModule();
    const previous = process.env.P11_KIT_SERVER_ADDRESS;
    process.env.P11_KIT_SERVER_ADDRESS = served.address;
    const p11 = new pkcs11js.PKCS11();
    p11.load(CLIENT_MODULE);
    p11.C_Initialize({ flags: pkcs11js.CKF_OS_LOCKING_OK });
    try {
      const slots = p11.C_GetSlotList(true);
      assert.equal(slots.length, 1);
      const handle = slots[0]!;
      assert.equal(handle.readBigUInt64LE(0), slot.id, 'pkcs11js and pkcs11-tool see different slot ids');
      assert.equal(p11.C_GetTokenInfo(handle).label.trim(), LABEL);
      assert.ok(p11.C_GetMechanismList(handle).includes(pkcs11js.CKM_ECDSA));

      const session = p11.C_OpenSession(handle, pkcs11js.CKF_SERIAL_SESSION | pkcs11js.CKF_RW_SESSION);
      try {
        p11.C_Login(session, pkcs11js.CKU_USER, USER_PIN);
        assert.equal(p11.C_GetSessionInfo(session).state, CKS_RW_USER_FUNCTIONS);
        const id = Buffer.from(KEY_ID, 'hex');
        const find = (cls: number): Buffer => {
          p11.C_FindObjectsInit(session, [
            { type: pkcs11js.CKA_CLASS, value: cls },
            { type: pkcs11js.CKA_ID, value: id },
          ]);
          const found = p11.C_FindObjects(session, 10);
          p11.C_FindObjectsFinal(session);
          assert.equal(found.length, 1, `objects of class ${cls} with CKA_ID ${KEY_ID}`);
          return found[0]!;
        };
        const priv = find(pkcs11js.CKO_PRIVATE_KEY);
        const pub = find(pkcs11js.CKO_PUBLIC_KEY);

        // CKA_EC_POINT is a DER OCTET STRING holding the uncompressed point; it must be the point in
        // the SPKI pkcs11-tool read (RFC 5480 §2.2: the BIT STRING's last 65 bytes).
        const [point] = p11.C_GetAttributeValue(session, pub, [{ type: pkcs11js.CKA_EC_POINT }]);
        const spki = fs.readFileSync(publicKeyDer);
        const raw = spki.subarray(spki.length - 65);
        assert.equal(raw[0], 0x04);
        assert.deepEqual(point!.value, Buffer.concat([Buffer.of(0x04, 65), raw]));
        const [sensitive] = p11.C_GetAttributeValue(session, priv, [{ type: pkcs11js.CKA_SENSITIVE }]);
        assert.deepEqual(sensitive!.value, Buffer.of(1));

        const random = p11.C_GenerateRandom(session, Buffer.alloc(32));
        assert.equal(random.length, 32);

        const data = Buffer.from('signed by pkcs11js through p11-kit-client.so');
        const digest = crypto.createHash('sha256').update(data).digest();
        p11.C_SignInit(session, { mechanism: pkcs11js.CKM_ECDSA }, priv);
        const sig = p11.C_Sign(session, digest, Buffer.alloc(64));
        assert.equal(sig.length, 64);
        const key = crypto.createPublicKey({ key: spki, format: 'der', type: 'spki' });
        assert.ok(crypto.verify('sha256', data, { key, dsaEncoding: 'ieee-p1363' }, sig), 'Node does not verify the token signature');
        assert.ok(!crypto.verify('sha256', Buffer.from('other data'), { key, dsaEncoding: 'ieee-p1363' }, sig));
        p11.C_Logout(session);
      } finally {
        p11.C_CloseSession(session);
      }
    } finally {
      p11.C_Finalize();
      p11.close();
      if (previous === undefined) delete process.env.P11_KIT_SERVER_ADDRESS;
      else process.env.P11_KIT_SERVER_ADDRESS = previous;
    }
  });
});
