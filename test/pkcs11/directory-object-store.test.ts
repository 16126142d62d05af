import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { after, describe, it } from 'node:test';
import { DIRECTORY_KEY_CHECK_FILE, DirectoryObjectStore, objectFileName } from '../../src/node/directory-object-store.js';
import { decodeObjectRecord, encodeObjectRecord } from '../../src/pkcs11/pal/object-record.js';
import { PalError } from '../../src/pkcs11/pal/pal-error.js';
import { runWithCrash } from '../_support/fs-crash.js';
import { cleanupBackends, tempDir, WRAP_KEY } from './_backends.js';

after(cleanupBackends);

const posixModes = process.platform === 'win32' ? 'no POSIX modes' : false;
const bytes = (n: number, seed = 1) => Uint8Array.from({ length: n }, (_, i) => (i * 13 + seed * 7) & 0xff);
const palError = (code: string, ckr?: number) => (e: unknown) => e instanceof PalError && e.code === code && (ckr === undefined || e.ckr === ckr);
const OTHER_KEY = new Uint8Array(32).fill(0x5a);
const SECRET = new TextEncoder().encode('MHcCAQEEIBv3 this would be a private key');

function rewrite(file: string, change: (rec: ReturnType<typeof decodeObjectRecord>) => { handle: number; label: string; isPrivate: boolean; payload: Uint8Array }): void {
  const rec = decodeObjectRecord(new Uint8Array(fs.readFileSync(file)), file);
  const next = change(rec);
  fs.writeFileSync(file, encodeObjectRecord(next, next.payload)); // a careful attacker keeps the CRC valid
}

describe('DirectoryObjectStore files', () => {
  it('names each file obj-<label UTF-8 in hex>.p11o', () => {
    // 'Device Cert' in ASCII: 44 65 76 69 63 65 20 43 65 72 74
    assert.equal(objectFileName('Device Cert'), 'obj-4465766963652043657274.p11o');
    // '../x' -> 2e 2e 2f 78; 'é' -> c3 a9
    assert.equal(objectFileName('../x'), 'obj-2e2e2f78.p11o');
    assert.equal(objectFileName('é'), 'obj-c3a9.p11o');
    assert.throws(() => objectFileName('k'.repeat(33)), RangeError);
  });

  it('keeps every object inside its directory, whatever the label (no path traversal)', () => {
    const parent = tempDir('traversal');
    const dir = path.join(parent, 'token');
    const store = new DirectoryObjectStore(dir, { wrappingKey: WRAP_KEY });
    const labels = ['../escape', '../../etc/passwd', '/abs', 'a/../../b', '..', '.', 'C:\\x', 'nul\u0000byte', 'LPT1', ' trailing. '];
    for (const l of labels) store.save(l, bytes(4), { isPrivate: false });
    assert.deepEqual(fs.readdirSync(parent), ['token']);
    const files = fs.readdirSync(dir);
    assert.equal(files.filter((f) => /^obj-[0-9a-f]+\.p11o$/.test(f)).length, labels.length);
    assert.deepEqual(files.filter((f) => !/^obj-[0-9a-f]+\.p11o$/.test(f)), ['next-handle.p11meta']);
    assert.deepEqual(new Set(new DirectoryObjectStore(dir).labels()), new Set(labels));
  });

  it('writes object files 0600 in a 0700 directory and leaves no temporary file', { skip: posixModes }, () => {
    const dir = path.join(tempDir('modes'), 'token');
    const store = new DirectoryObjectStore(dir, { wrappingKey: WRAP_KEY });
    store.save('Device Priv TLS Key', SECRET, { isPrivate: true });
    store.save('Device Cert', bytes(100), { isPrivate: false });
    store.save('Device Cert', bytes(120), { isPrivate: false });
    assert.equal(fs.statSync(dir).mode & 0o777, 0o700);
    for (const f of fs.readdirSync(dir)) {
      assert.ok(!f.endsWith('.tmp'), f);
      assert.equal(fs.statSync(path.join(dir, f)).mode & 0o777, 0o600, f);
    }
  });

  it('encrypts private objects at rest and keeps public ones readable', () => {
    const dir = tempDir('at-rest');
    const store = new DirectoryObjectStore(dir, { wrappingKey: WRAP_KEY });
    store.save('Device Priv TLS Key', SECRET, { isPrivate: true });
    store.save('Device Cert', SECRET, { isPrivate: false });
    const priv = fs.readFileSync(path.join(dir, objectFileName('Device Priv TLS Key')));
    const pub = fs.readFileSync(path.join(dir, objectFileName('Device Cert')));
    assert.equal(priv.indexOf(Buffer.from(SECRET)), -1);
    assert.ok(pub.indexOf(Buffer.from(SECRET)) >= 0);
    // nonce (12) + ciphertext (same length) + tag (16) behind the header
    assert.equal(decodeObjectRecord(new Uint8Array(priv), 'priv').payload.length, 12 + SECRET.length + 16);
    // Two saves of the same value differ (fresh nonce).
    store.save('Device Priv TLS Key', SECRET, { isPrivate: true });
    assert.notDeepEqual(fs.readFileSync(path.join(dir, objectFileName('Device Priv TLS Key'))), priv);
    assert.deepEqual(new DirectoryObjectStore(dir, { wrappingKey: WRAP_KEY }).get(1).data, SECRET);
  });

  it('decrypts with AES-256-GCM as specified: an independent decryption of the file gives the value', async () => {
    const { createDecipheriv } = await import('node:crypto');
    const dir = tempDir('gcm');
    new DirectoryObjectStore(dir, { wrappingKey: WRAP_KEY }).save('HMAC Key', SECRET, { isPrivate: true });
    const rec = decodeObjectRecord(new Uint8Array(fs.readFileSync(path.join(dir, objectFileName('HMAC Key')))), 'hmac');
    const p = rec.payload;
    const d = createDecipheriv('aes-256-gcm', WRAP_KEY, p.subarray(0, 12));
    d.setAAD(rec.header);
    d.setAuthTag(p.subarray(p.length - 16));
    assert.deepEqual(new Uint8Array(Buffer.concat([d.update(p.subarray(12, p.length - 16)), d.final()])), SECRET);
  });
});

describe('DirectoryObjectStore keys and tampering', () => {
  it('rejects a wrong wrapping key when opened (PAL_WRONG_KEY) and a key that is not 32 bytes', () => {
    const dir = tempDir('wrong-key');
    new DirectoryObjectStore(dir, { wrappingKey: WRAP_KEY }).save('Claim Key', SECRET, { isPrivate: true });
    assert.ok(fs.existsSync(path.join(dir, DIRECTORY_KEY_CHECK_FILE)));
    assert.throws(() => new DirectoryObjectStore(dir, { wrappingKey: OTHER_KEY }), palError('PAL_WRONG_KEY', 0x6));
    assert.throws(() => new DirectoryObjectStore(dir, { wrappingKey: new Uint8Array(16) }), RangeError);
    assert.throws(() => new DirectoryObjectStore(dir, { wrappingKey: 'k' as never }), TypeError);
  });

  it('lists and finds private objects without a key but neither reads nor saves them (PAL_LOCKED) until a key is set', () => {
    const dir = tempDir('locked');
    new DirectoryObjectStore(dir, { wrappingKey: WRAP_KEY }).save('Device Priv TLS Key', SECRET, { isPrivate: true });
    const store = new DirectoryObjectStore(dir);
    assert.deepEqual(store.list(), [{ handle: 1, label: 'Device Priv TLS Key', isPrivate: true }]);
    assert.throws(() => store.get(1), palError('PAL_LOCKED', 0x101));
    assert.throws(() => store.save('HMAC Key', bytes(32), { isPrivate: true }), palError('PAL_LOCKED', 0x101));
    store.save('Root Cert', bytes(10), { isPrivate: false });
    assert.throws(() => store.setWrappingKey(OTHER_KEY), palError('PAL_WRONG_KEY'));
    const key = WRAP_KEY.slice();
    store.setWrappingKey(key);
    key.fill(0); // the store keeps its own copy
    assert.deepEqual(store.get(1).data, SECRET);
    store.setWrappingKey(null);
    assert.throws(() => store.get(1), palError('PAL_LOCKED'));
    store.close();
    assert.throws(() => store.get(9), palError('PAL_CLOSED'));
  });

  it('detects a modified ciphertext even when the CRC was fixed up', () => {
    const dir = tempDir('tamper');
    new DirectoryObjectStore(dir, { wrappingKey: WRAP_KEY }).save('Device Priv TLS Key', SECRET, { isPrivate: true });
    const file = path.join(dir, objectFileName('Device Priv TLS Key'));
    rewrite(file, (r) => {
      const payload = r.payload.slice();
      payload[20]! ^= 1;
      return { handle: r.handle, label: r.label, isPrivate: r.isPrivate, payload };
    });
    const store = new DirectoryObjectStore(dir, { wrappingKey: WRAP_KEY });
    assert.equal(store.find('Device Priv TLS Key'), 1);
    assert.throws(() => store.get(1), (e) => palError('PAL_OBJECT_CORRUPT', 0x6)(e) && /fails authentication/.test((e as Error).message));
  });

  it('detects a torn or bit-flipped file by its CRC, keeps it findable, and lets a save replace it', () => {
    const dir = tempDir('torn');
    new DirectoryObjectStore(dir, { wrappingKey: WRAP_KEY }).save('Device Cert', bytes(200), { isPrivate: false });
    const file = path.join(dir, objectFileName('Device Cert'));
    fs.truncateSync(file, 100);
    const store = new DirectoryObjectStore(dir, { wrappingKey: WRAP_KEY });
    assert.equal(store.find('Device Cert'), 3);
    assert.throws(() => store.get(3), (e) => palError('PAL_OBJECT_CORRUPT')(e) && /CRC|too short/.test((e as Error).message));
    store.save('Device Cert', bytes(50), { isPrivate: false });
    assert.deepEqual(store.get(3).data, bytes(50));
  });

  it('detects a private file moved to another label, as is or with its header relabelled', () => {
    const dir = tempDir('swap');
    const s = new DirectoryObjectStore(dir, { wrappingKey: WRAP_KEY });
    s.save('Device Priv TLS Key', SECRET, { isPrivate: true });
    s.save('Claim Key', bytes(32), { isPrivate: true });
    const from = path.join(dir, objectFileName('Device Priv TLS Key'));
    const to = path.join(dir, objectFileName('Claim Key'));
    fs.copyFileSync(from, to);
    const moved = new DirectoryObjectStore(dir, { wrappingKey: WRAP_KEY });
    assert.throws(() => moved.get(7), (e) => palError('PAL_OBJECT_CORRUPT')(e) && /renamed or copied/.test((e as Error).message));
    rewrite(to, (r) => ({ handle: 7, label: 'Claim Key', isPrivate: true, payload: r.payload }));
    const relabelled = new DirectoryObjectStore(dir, { wrappingKey: WRAP_KEY });
    assert.throws(() => relabelled.get(7), (e) => palError('PAL_OBJECT_CORRUPT')(e) && /fails authentication/.test((e as Error).message));
    assert.deepEqual(relabelled.get(1).data, SECRET, 'the untouched object still reads');
  });

  it('detects an object copied from a store with another wrapping key', () => {
    const a = tempDir('store-a');
    const b = tempDir('store-b');
    new DirectoryObjectStore(a, { wrappingKey: OTHER_KEY }).save('HMAC Key', SECRET, { isPrivate: true });
    new DirectoryObjectStore(b, { wrappingKey: WRAP_KEY }).save('CMAC Key', bytes(16), { isPrivate: true });
    fs.copyFileSync(path.join(a, objectFileName('HMAC Key')), path.join(b, objectFileName('HMAC Key')));
    const store = new DirectoryObjectStore(b, { wrappingKey: WRAP_KEY });
    assert.throws(() => store.get(5), (e) => palError('PAL_OBJECT_CORRUPT')(e) && /another wrapping key/.test((e as Error).message));
  });

  it('ignores files it does not own and temporary files a crash left behind', () => {
    const dir = tempDir('foreign');
    new DirectoryObjectStore(dir, { wrappingKey: WRAP_KEY }).save('Root Cert', bytes(10), { isPrivate: false });
    fs.writeFileSync(path.join(dir, `.${objectFileName('Root Cert')}.0123456789ab.tmp`), 'half');
    fs.writeFileSync(path.join(dir, 'README'), 'x');
    fs.writeFileSync(path.join(dir, 'obj-zz.p11o'), 'x');
    fs.writeFileSync(path.join(dir, 'obj-ff.p11o'), 'x'); // 0xff is not UTF-8
    const store = new DirectoryObjectStore(dir);
    assert.deepEqual(store.labels(), ['Root Cert']);
    assert.deepEqual(store.get(9).data, bytes(10));
    assert.equal(store.notes.length, 1);
  });
});

describe('DirectoryObjectStore under crashes', () => {
  type Op = { name: string; run: (s: DirectoryObjectStore) => void; after: Map<string, Uint8Array> };
  const before = new Map<string, Uint8Array>([
    ['Device Priv TLS Key', bytes(120, 1)],
    ['Device Cert', bytes(300, 2)],
    ['fleet token', bytes(40, 3)],
  ]);
  const isPrivate = (label: string) => label !== 'Device Cert';
  const with_ = (label: string, data: Uint8Array | null) => {
    const m = new Map(before);
    if (data) m.set(label, data);
    else m.delete(label);
    return m;
  };
  const OPS: Op[] = [
    { name: 'replace a private object', run: (s) => s.save('Device Priv TLS Key', bytes(130, 9), { isPrivate: true }), after: with_('Device Priv TLS Key', bytes(130, 9)) },
    { name: 'replace a public object', run: (s) => s.save('Device Cert', bytes(10, 8), { isPrivate: false }), after: with_('Device Cert', bytes(10, 8)) },
    { name: 'create an object (new handle)', run: (s) => s.save('new label', bytes(50, 7), { isPrivate: true }), after: with_('new label', bytes(50, 7)) },
    { name: 'destroy an object', run: (s) => s.destroy(s.find('fleet token')!), after: with_('fleet token', null) },
  ];

  /** Runs each op with a crash at each of its fs steps (clean, and torn writes) on a copy of a seeded store; checks old-or-new. */
  function crashCampaign(ops: Op[]): { trials: number; failures: string[] } {
    const base = tempDir('crash-base');
    const seed = new DirectoryObjectStore(base, { wrappingKey: WRAP_KEY });
    for (const [label, data] of before) seed.save(label, data, { isPrivate: isPrivate(label) });
    let trials = 0;
    const failures: string[] = [];
    for (const op of ops) {
      const countDir = tempDir('crash-count');
      fs.cpSync(base, countDir, { recursive: true });
      const store = new DirectoryObjectStore(countDir, { wrappingKey: WRAP_KEY });
      const steps = runWithCrash(null, () => op.run(store));
      for (let at = 1; at <= steps.length; at++) {
        for (const tear of steps[at - 1] === 'writeSync' ? [0, 1, 20] : [0]) {
          const dir = tempDir('crash');
          fs.cpSync(base, dir, { recursive: true });
          const s = new DirectoryObjectStore(dir, { wrappingKey: WRAP_KEY });
          runWithCrash({ at, tear }, () => op.run(s));
          trials++;
          const where = `${op.name}, crash at step ${at} (${steps[at - 1]}${tear ? `, torn after ${tear} bytes` : ''})`;
          let again: DirectoryObjectStore;
          try {
            again = new DirectoryObjectStore(dir, { wrappingKey: WRAP_KEY });
          } catch (e) {
            failures.push(`${where}: does not open: ${(e as Error).message}`);
            continue;
          }
          if (again.notes.length) failures.push(`${where}: notes ${again.notes.join('; ')}`);
          for (const label of new Set([...before.keys(), ...op.after.keys()])) {
            const h = again.find(label);
            let got: Uint8Array | null = null;
            try {
              got = h === null ? null : again.get(h).data;
            } catch (e) {
              failures.push(`${where}: ${label}: ${(e as Error).message}`);
              continue;
            }
            const ok = (m: Map<string, Uint8Array>) => (m.has(label) ? got !== null && Buffer.compare(got, m.get(label)!) === 0 : got === null);
            if (!ok(before) && !ok(op.after)) failures.push(`${where}: ${label} is neither old nor new`);
          }
        }
      }
    }
    return { trials, failures };
  }

  it('leaves every label old or new, and the store openable, after a crash at every file system step (clean and torn)', (t) => {
    const { trials, failures } = crashCampaign(OPS);
    assert.deepEqual(failures, []);
    assert.ok(trials > 20);
    t.diagnostic(`DirectoryObjectStore crashes: ${OPS.length} operations, ${trials} crash points (clean and torn) checked, 0 failures`);
  });

  it('catches a replace that is not atomic (destroy, then save): the crash campaign can fail', () => {
    const { failures } = crashCampaign([
      {
        name: 'destroy then save',
        run: (s) => {
          s.destroy(s.find('Device Cert')!);
          s.save('Device Cert', bytes(10, 8), { isPrivate: false });
        },
        after: with_('Device Cert', bytes(10, 8)),
      },
    ]);
    assert.ok(failures.some((f) => /Device Cert is neither old nor new/.test(f)), failures.join('\n'));
  });
});
