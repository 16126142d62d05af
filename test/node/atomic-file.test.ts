import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import fsModule from 'node:fs';
import { syncBuiltinESMExports } from 'node:module';
import * as os from 'node:os';
import * as path from 'node:path';
import { after, before, describe, it, mock } from 'node:test';
import { writeFileAtomic } from '../../src/node/atomic-file.js';

let dir = '';

before(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'nvsec-atomic-file-'));
});

after(() => {
  fs.rmSync(dir, { recursive: true, force: true });
});

const bytes = (text: string): Uint8Array => new TextEncoder().encode(text);

describe('writeFileAtomic', () => {
  it('writes exactly the given bytes to a new file', () => {
    const file = path.join(dir, 'new.bin');
    const data = Uint8Array.from({ length: 10_000 }, (_, i) => (i * 13) & 0xff);
    writeFileAtomic(file, data);
    assert.deepEqual(new Uint8Array(fs.readFileSync(file)), data);
  });

  it('gives the new file the requested mode 0o600', {
    skip: process.platform === 'win32' && 'no POSIX modes',
  }, () => {
    const file = path.join(dir, 'secret.key');
    writeFileAtomic(file, bytes('secret'), { mode: 0o600 });
    assert.equal(fs.statSync(file).mode & 0o777, 0o600);
  });

  it('replaces an existing file, including its mode', {
    skip: process.platform === 'win32' && 'no POSIX modes',
  }, () => {
    const file = path.join(dir, 'replace.txt');
    fs.writeFileSync(file, 'old contents that are longer than the new ones', { mode: 0o644 });
    writeFileAtomic(file, bytes('new'), { mode: 0o600 });
    assert.equal(fs.readFileSync(file, 'utf8'), 'new');
    assert.equal(fs.statSync(file).mode & 0o777, 0o600);
  });

  it('leaves no temporary file behind in the folder', () => {
    const sub = fs.mkdtempSync(path.join(dir, 'clean-'));
    const file = path.join(sub, 'data.bin');
    writeFileAtomic(file, bytes('one'));
    writeFileAtomic(file, bytes('two'));
    assert.deepEqual(fs.readdirSync(sub), ['data.bin']);
  });

  it('throws and leaves no temporary file when the target cannot be replaced', () => {
    const sub = fs.mkdtempSync(path.join(dir, 'fail-'));
    const target = path.join(sub, 'is-a-folder');
    fs.mkdirSync(path.join(target, 'child'), { recursive: true });
    assert.throws(() => writeFileAtomic(target, bytes('x')));
    assert.deepEqual(fs.readdirSync(sub), ['is-a-folder']);
    assert.ok(fs.statSync(target).isDirectory(), 'the existing folder is untouched');
  });

  it('makes new files readable by their owner only unless told otherwise', { skip: process.platform === 'win32' && 'no POSIX modes' }, () => {
    const file = path.join(dir, 'default-mode.bin');
    writeFileAtomic(file, bytes('wifi password'));
    assert.equal(fs.statSync(file).mode & 0o777, 0o600);
  });

  it('with exclusive, refuses to replace an existing file and leaves it as it was', () => {
    const file = path.join(dir, 'exclusive.bin');
    writeFileAtomic(file, bytes('first'));
    assert.throws(() => writeFileAtomic(file, bytes('second'), { exclusive: true }), (e: NodeJS.ErrnoException) => e.code === 'EEXIST');
    assert.equal(fs.readFileSync(file, 'utf8'), 'first');
    assert.deepEqual(fs.readdirSync(dir).filter((f) => f.endsWith('.tmp')), []);
  });

  it('names the target file, not its temporary file, when the write fails', () => {
    const file = path.join(dir, 'no-such-folder', 'out.bin');
    assert.throws(() => writeFileAtomic(file, bytes('x')), (e: Error) => e.message.includes(file) && !e.message.includes('.tmp'));
  });

  it('with exclusive, still places the file and still refuses an existing one where hard links are missing (FAT, exFAT)', () => {
    const sub = fs.mkdtempSync(path.join(dir, 'nolink-'));
    const link = mock.method(fsModule, 'linkSync', () => {
      throw Object.assign(new Error('operation not permitted'), { code: 'EPERM' });
    });
    syncBuiltinESMExports();
    try {
      const file = path.join(sub, 'seed.bin');
      writeFileAtomic(file, bytes('first'), { exclusive: true });
      assert.ok(link.mock.callCount() >= 1, 'the link path was not taken');
      assert.equal(fs.readFileSync(file, 'utf8'), 'first');
      assert.throws(() => writeFileAtomic(file, bytes('second'), { exclusive: true }), (e: unknown) => (e as NodeJS.ErrnoException).code === 'EEXIST');
      assert.equal(fs.readFileSync(file, 'utf8'), 'first');
      assert.deepEqual(fs.readdirSync(sub), ['seed.bin']);
    } finally {
      link.mock.restore();
      syncBuiltinESMExports();
    }
  });
});
