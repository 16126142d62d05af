import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { type Flash, SECTOR_SIZE } from '../../src/flash/flash.js';
import { MemoryFlash } from '../../src/flash/memory-flash.js';
import { NvsError } from '../../src/nvs/esp-err.js';
import { type NvsInitOptions, NvsStorage } from '../../src/nvs/store/storage.js';
import { DEFAULT_OBJECTS } from '../../src/pkcs11/pal/default-labels.js';
import { NVS_NEXT_HANDLE_KEY, NvsObjectStore, nvsKeyOfHandle } from '../../src/pkcs11/pal/nvs-object-store.js';
import { encodeObjectRecord } from '../../src/pkcs11/pal/object-record.js';
import { PalError } from '../../src/pkcs11/pal/pal-error.js';
import { type PalApply, runPalPowerCutCampaign } from '../_support/pal-power-cut-campaign.js';
import { nvsEnc } from './_backends.js';

const bytes = (n: number, seed = 1) => Uint8Array.from({ length: n }, (_, i) => (i * 31 + seed * 17 + (i >> 8)) & 0xff);
const open = (flash: Flash, init?: NvsInitOptions, mode: 'readonly' | 'readwrite' = 'readwrite') => new NvsObjectStore(NvsStorage.init(flash, init).open('pkcs11', mode));

/** A window of a larger flash: one partition of a flash chip. */
class PartitionWindow implements Flash {
  readonly sectorSize = SECTOR_SIZE;
  constructor(
    private readonly chip: Flash,
    private readonly offset: number,
    readonly size: number,
  ) {}
  private at(address: number, length: number): number {
    if (address < 0 || address + length > this.size) throw new RangeError(`access ${address}+${length} outside the ${this.size}-byte partition`);
    return this.offset + address;
  }
  read(address: number, dest: Uint8Array): void {
    this.chip.read(this.at(address, dest.length), dest);
  }
  write(address: number, data: Uint8Array): void {
    this.chip.write(this.at(address, data.length), data);
  }
  eraseSector(sector: number): void {
    this.at(sector * SECTOR_SIZE, SECTOR_SIZE);
    this.chip.eraseSector(this.offset / SECTOR_SIZE + sector);
  }
}

/** True when `needle` occurs in `hay`. */
function contains(hay: Uint8Array, needle: Uint8Array): boolean {
  return Buffer.from(hay).indexOf(Buffer.from(needle)) >= 0;
}

describe('NvsObjectStore layout', () => {
  it('keeps the default labels under their short NVS keys and other labels under p11_o<handle>', () => {
    const flash = new MemoryFlash(6 * SECTOR_SIZE);
    const nvs = NvsStorage.init(flash);
    const store = new NvsObjectStore(nvs.open('pkcs11', 'readwrite'));
    for (const o of DEFAULT_OBJECTS) store.save(o.label, bytes(20, o.handle), { isPrivate: o.secret });
    const dyn = store.save('fleet token', bytes(20), { isPrivate: true });
    const h = nvs.open('pkcs11', 'readonly');
    const keys = [...h.entries('blob')].map((e) => e.key).sort();
    const expected = ['p11_key', 'p11_pubkey', 'p11_cert', 'p11_codesign', 'p11_hmac', 'p11_cmac', 'p11_claim_key', 'p11_claim_cert', 'p11_root_cert', 'p11_jitp_cert'];
    assert.deepEqual(keys, [...expected, `p11_o${dyn.toString(16).padStart(8, '0')}`].sort());
    for (const k of keys) assert.ok(k.length <= 15, k);
    assert.equal(h.getU32(NVS_NEXT_HANDLE_KEY), dyn + 1);
    assert.equal(nvsKeyOfHandle(1), 'p11_key');
    assert.equal(nvsKeyOfHandle(0x1234), 'p11_o00001234');
    // One blob per object: header (handle, label, flag) + value + CRC, readable with the record codec.
    assert.deepEqual(h.getBlob('p11_cert'), encodeObjectRecord({ handle: 3, label: 'Device Cert', isPrivate: false }, bytes(20, 3)));
  });

  it('keeps values XTS-encrypted at rest on an encrypted partition (and in clear on a plain one)', () => {
    const secret = new TextEncoder().encode('-----PRIVATE KEY MATERIAL 0123456789-----');
    for (const [init, visible] of [[nvsEnc(), false], [undefined, true]] as const) {
      const flash = new MemoryFlash(4 * SECTOR_SIZE);
      const store = open(flash, init);
      store.save('Device Priv TLS Key', secret, { isPrivate: true });
      store.save('JITP Cert', secret, { isPrivate: false });
      assert.equal(contains(flash.bytes, secret), visible);
      assert.equal(contains(flash.bytes, new TextEncoder().encode('Device Priv TLS Key')), visible, 'labels too');
      assert.deepEqual(open(flash, init).get(1).data, secret);
    }
  });

  it('keeps every object when another partition of the same flash (the app) is reprogrammed', () => {
    const chip = new MemoryFlash(0x50000);
    const NVS_AT = 0x9000;
    const NVS_SIZE = 0x6000;
    const APP_AT = 0x10000;
    const nvsPart = new PartitionWindow(chip, NVS_AT, NVS_SIZE);
    const store = open(nvsPart, nvsEnc());
    const objects = new Map<string, Uint8Array>();
    for (const o of DEFAULT_OBJECTS) objects.set(o.label, bytes(300 + o.handle * 50, o.handle));
    objects.set('extra object', bytes(2000, 99));
    for (const [label, data] of objects) store.save(label, data, { isPrivate: DEFAULT_OBJECTS.find((o) => o.label === label)?.secret ?? true });
    const nvsBefore = chip.bytes.slice(NVS_AT, NVS_AT + NVS_SIZE);
    // Reprogram the app partition twice (erase + write a new image), as a flasher would.
    for (const seed of [1, 2]) {
      for (let s = APP_AT / SECTOR_SIZE; s < chip.size / SECTOR_SIZE; s++) chip.eraseSector(s);
      const app = bytes(chip.size - APP_AT, seed + 50);
      chip.write(APP_AT, app);
      assert.deepEqual(chip.bytes.subarray(APP_AT), app);
    }
    assert.deepEqual(chip.bytes.slice(NVS_AT, NVS_AT + NVS_SIZE), nvsBefore, 'the NVS partition is untouched');
    const again = open(new PartitionWindow(chip, NVS_AT, NVS_SIZE), nvsEnc());
    assert.deepEqual(new Set(again.labels()), new Set(objects.keys()));
    for (const [label, data] of objects) assert.deepEqual(again.get(again.find(label)!).data, data, label);
  });
});

describe('NvsObjectStore failures', () => {
  it('reports a full partition as PAL_STORE_FULL (CKR_DEVICE_MEMORY) and keeps every earlier object', () => {
    const flash = new MemoryFlash(3 * SECTOR_SIZE);
    const store = open(flash, nvsEnc());
    const saved = new Map<string, Uint8Array>();
    let full: unknown;
    for (let i = 0; i < 50 && !full; i++) {
      try {
        store.save(`obj ${i}`, bytes(900, i), { isPrivate: true });
        saved.set(`obj ${i}`, bytes(900, i));
      } catch (e) {
        full = e;
      }
    }
    assert.ok(full instanceof PalError && full.code === 'PAL_STORE_FULL' && full.ckr === 0x31 && full.cause instanceof NvsError, String(full));
    assert.ok(saved.size >= 3);
    const again = open(flash, nvsEnc());
    assert.deepEqual(again.labels().sort(), [...saved.keys()].sort());
    for (const [label, data] of saved) assert.deepEqual(again.get(again.find(label)!).data, data);
    again.destroy(again.find('obj 0')!);
    again.save('after destroy', bytes(100), { isPrivate: false });
  });

  it('refuses to write through a read-only namespace handle with PAL_IO_FAILED and the NVS error as cause', () => {
    const flash = new MemoryFlash(3 * SECTOR_SIZE);
    open(flash).save('Root Cert', bytes(10), { isPrivate: false });
    const ro = open(flash, undefined, 'readonly');
    assert.deepEqual(ro.get(9).data, bytes(10));
    assert.throws(
      () => ro.save('Root Cert', bytes(11), { isPrivate: false }),
      (e) => e instanceof PalError && e.code === 'PAL_IO_FAILED' && e.ckr === 0x6 && e.cause instanceof NvsError && e.cause.code === 'ESP_ERR_NVS_READ_ONLY',
    );
  });

  it('keeps a damaged default object findable, reports it on get, and lets a save repair it', () => {
    const flash = new MemoryFlash(3 * SECTOR_SIZE);
    const nvs = NvsStorage.init(flash);
    const h = nvs.open('pkcs11', 'readwrite');
    h.setBlob('p11_cert', Uint8Array.of(1, 2, 3)); // not a record
    const store = new NvsObjectStore(h);
    assert.equal(store.find('Device Cert'), 3);
    assert.throws(() => store.get(3), (e) => e instanceof PalError && e.code === 'PAL_OBJECT_CORRUPT' && /p11_cert/.test(e.message));
    store.save('Device Cert', bytes(40), { isPrivate: false });
    assert.deepEqual(store.get(3).data, bytes(40));
  });

  it('ignores, with a note, an object stored under another object\'s key', () => {
    const flash = new MemoryFlash(3 * SECTOR_SIZE);
    const nvs = NvsStorage.init(flash);
    const h = nvs.open('pkcs11', 'readwrite');
    h.setBlob('p11_cert', encodeObjectRecord({ handle: 9, label: 'Root Cert', isPrivate: false }, bytes(5)));
    h.setBlob('p11_o00000100', encodeObjectRecord({ handle: 0x101, label: 'moved', isPrivate: false }, bytes(5)));
    h.setStr('unrelated', 'left alone');
    const store = new NvsObjectStore(h);
    assert.deepEqual(store.labels(), []);
    assert.equal(store.notes.length, 2);
    assert.match(store.notes.join('\n'), /p11_cert.*belongs under "p11_root_cert"/);
  });
});

describe('NvsObjectStore under power cuts', () => {
  const TEARS = [0, 1, 19, 2048];
  for (const [kind, init] of [['plain', () => undefined], ['XTS-encrypted', nvsEnc]] as const) {
    it(`leaves every label old or new after a clean or torn cut at every flash operation of replacing and creating saves (${kind})`, (t) => {
      const r = runPalPowerCutCampaign({ steps: 40, seed: 6, pages: 4, tears: TEARS, init });
      assert.deepEqual(r.failures.slice(0, 10), []);
      assert.ok(r.erases >= 3, `the workload must reclaim pages (erases: ${r.erases})`);
      assert.ok(r.counts.replace > 0 && r.counts.create > 0 && r.counts.destroy > 0);
      t.diagnostic(
        `NvsObjectStore power cuts (${kind}): ${r.steps} steps, ${r.cutPoints} cut points (replace ${r.counts.replace}, create ${r.counts.create}, destroy ${r.counts.destroy}) ` +
          `x ${TEARS.length} tears = ${r.checks} recoveries checked, ${r.continued} continued after recovery, ${r.erases} page erases, 0 failures`,
      );
    });
  }

  it('catches a save that is not atomic (erase the old object, then write the new one): the campaign can fail', () => {
    const eraseThenSave: PalApply = (store, step) => {
      const h = store.find(step.label);
      if (h !== null) store.destroy(h);
      if (!('destroy' in step)) store.save(step.label, step.data, { isPrivate: step.isPrivate });
    };
    const r = runPalPowerCutCampaign({ steps: 12, seed: 6, pages: 4, tears: [0], init: () => undefined, apply: eraseThenSave });
    assert.ok(r.failures.some((f) => /replace .*neither old nor new \(nothing\)/.test(f)), r.failures.slice(0, 3).join('\n'));
  });
});
