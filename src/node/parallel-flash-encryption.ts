import * as os from 'node:os';
import { Worker } from 'node:worker_threads';
import { _reverseUnits } from '../boot/_byte-order.js';
import { _blockKeys, _tweakMasks } from '../boot/_esp32-tweak.js';
import { _checkEsp32Input, Esp32FlashCipher } from '../boot/flash-encryption-esp32.js';
import { nodeCrypto } from './node-crypto.js';

/** Options of {@link esp32FlashCryptParallel}. */
export interface ParallelFlashCryptOptions {
  /** Worker threads to use; default: the available parallelism, at most 8. 1 = this thread only. */
  threads?: number;
  /** Below this many bytes the work stays on this thread (starting a worker costs ~20 ms). Default 256 KiB. */
  minParallelBytes?: number;
}

/**
 * The worker's code: AES-256-ECB of each 32-byte run under its own key, straight on node:crypto
 * (the keys were derived on the main thread). Flash encryption uses AES decryption. The keys and
 * data it was sent are zeroized before it answers.
 */
const WORKER = `
const { parentPort } = require('node:worker_threads');
const crypto = require('node:crypto');
parentPort.on('message', ({ keys, spans, data, encrypt }) => {
  const k = new Uint8Array(keys);
  const s = new Uint32Array(spans);
  const d = new Uint8Array(data);
  const out = new Uint8Array(d.length);
  try {
    for (let i = 0; i < s.length; i += 2) {
      const key = k.subarray(i * 16, i * 16 + 32);
      const c = encrypt ? crypto.createDecipheriv('aes-256-ecb', key, null) : crypto.createCipheriv('aes-256-ecb', key, null);
      c.setAutoPadding(false);
      const y = c.update(d.subarray(s[i], s[i + 1]));
      out.set(y, s[i]);
      y.fill(0);
    }
    parentPort.postMessage({ out: out.buffer }, [out.buffer]);
  } catch (e) {
    out.fill(0);
    parentPort.postMessage({ error: String(e && e.message || e) });
  } finally {
    k.fill(0);
    d.fill(0);
  }
});
`;

/**
 * ESP32 flash encryption (or decryption) of `data` at flash `address`, spread over worker
 * threads: the ESP32 scheme needs one AES key setup per 32 bytes, which bounds one thread to
 * ~15 MB/s in Node; the keys are derived here and the AES calls are split between `threads - 1`
 * workers and this thread. Same bytes and the same checks as {@link Esp32FlashCipher} (the workers
 * start and stop within the call).
 *
 * @param key the 32-byte ESP32 key (a 24-byte file goes through loadFlashEncryptionKey first)
 * @throws {FlashEncryptionError} FLASH_ENC_BAD_CONFIG, FLASH_ENC_BAD_ADDRESS, FLASH_ENC_BAD_LENGTH
 * @throws {RangeError} when the key is not 32 bytes
 * @throws {Error} when a worker fails
 * @example
 * const ct = await esp32FlashCryptParallel(key, 0xf, image, 0x10000, 'encrypt');
 */
export async function esp32FlashCryptParallel(
  key: Uint8Array,
  flashCryptConf: number,
  data: Uint8Array,
  address: number,
  direction: 'encrypt' | 'decrypt',
  options: ParallelFlashCryptOptions = {},
): Promise<Uint8Array> {
  const encrypt = direction === 'encrypt';
  const check = new Esp32FlashCipher(nodeCrypto, key, flashCryptConf); // checks key and conf
  _checkEsp32Input(data, address, encrypt);
  const threads = Math.max(1, Math.min(options.threads ?? Math.min(os.availableParallelism(), 8), 64));
  if (threads === 1 || flashCryptConf === 0 || data.length < (options.minParallelBytes ?? 0x40000)) {
    try {
      return encrypt ? check.encrypt(data, address) : check.decrypt(data, address);
    } finally {
      check.destroy();
    }
  }
  check.destroy();
  // Workers boot (~20 ms) while this thread derives the keys.
  const workers = Array.from({ length: threads - 1 }, () => new Worker(WORKER, { eval: true }));

  // Keys of every 32-byte run, and where each run starts and ends in the data.
  const base = new Uint32Array(new Uint8Array(key).buffer);
  const { keys, spans } = _blockKeys(base, _tweakMasks(flashCryptConf), flashCryptConf, address, data.length);
  const n = spans.length / 2;
  base.fill(0);
  const x = new Uint8Array(data);
  _reverseUnits(x, 16);

  const out = new Uint8Array(data.length);
  const per = Math.ceil(n / threads);
  const jobs: Array<Promise<void>> = [];
  let busy = 0;
  try {
    // Workers take the first chunks; this thread does the last one while they run.
    for (let first = 0; first + per < n; first += per, busy++) {
      const last = first + per;
      const from = spans[first * 2]!;
      const to = spans[last * 2 - 1]!;
      const part = spans.slice(first * 2, last * 2);
      for (let i = 0; i < part.length; i++) part[i]! -= from;
      const w = workers[busy]!;
      const msg = { keys: keys.slice(first * 32, last * 32).buffer, spans: part.buffer, data: x.slice(from, to).buffer, encrypt };
      jobs.push(
        new Promise<void>((resolve, reject) => {
          w.once('message', (m: { out?: ArrayBuffer; error?: string }) => {
            if (m.out === undefined) return reject(new Error(`flash-encryption worker failed: ${m.error ?? 'no output'}`));
            const y = new Uint8Array(m.out);
            out.set(y, from);
            y.fill(0);
            resolve();
          });
          w.once('error', reject);
          w.once('exit', (code) => reject(new Error(`flash-encryption worker exited with code ${code} before answering`)));
        }),
      );
      w.postMessage(msg, [msg.keys, msg.spans, msg.data]);
    }
    // This thread's share: the last runs.
    const first = busy * per;
    if (first < n) {
      const from = spans[first * 2]!;
      const mine = spans.slice(first * 2);
      for (let i = 0; i < mine.length; i++) mine[i]! -= from;
      const y = nodeCrypto.aesEcbPerSpan(keys.subarray(first * 32), 32, mine, x.subarray(from, spans[spans.length - 1]!), encrypt ? 'decrypt' : 'encrypt');
      out.set(y, from);
      y.fill(0);
    }
    await Promise.all(jobs);
  } catch (e) {
    out.fill(0); // a partial result may be decrypted flash
    throw e;
  } finally {
    keys.fill(0);
    x.fill(0);
    await Promise.all(workers.map((w) => w.terminate()));
  }
  _reverseUnits(out, 16);
  return out;
}
