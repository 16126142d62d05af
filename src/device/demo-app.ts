import { buildAppImage } from '../boot/app-image-build.js';
import { APP_DESC } from '../boot/app-image-desc.js';
import { CHIPS } from '../boot/app-image-chips.js';
import type { CryptoProvider } from '../crypto/provider.js';

/** Options of {@link buildDemoApp}. */
export interface DemoAppOptions {
  /** esp_app_desc_t version string (at most 31 bytes). Default "1.0.0". */
  readonly version?: string;
  /** esp_app_desc_t project name (at most 31 bytes). Default "nvsec_demo". */
  readonly projectName?: string;
}

const DESC_VERSION = 16;
const DESC_PROJECT = 48;
const DESC_MMU_PAGE_LOG2 = 180;

/**
 * A small unsigned ESP32-C3 app image that stands in for real firmware in the factory demo and
 * the tests: an image header, an esp_app_desc_t (magic, version, project name, 64 KiB MMU pages)
 * in the first DROM segment, one data segment, the checksum and the appended SHA-256. Sign it with
 * `signImage` like any app; the device boot parses and verifies it as the bootloader would.
 *
 * @throws {RangeError} when the version or project name is longer than 31 bytes
 * @example
 * const signed = (await signImage(nodeCrypto, buildDemoApp(nodeCrypto, { version: '2.0.0' }), [signer])).image;
 */
export function buildDemoApp(crypto: CryptoProvider, options: DemoAppOptions = {}): Uint8Array {
  const chip = CHIPS.esp32c3;
  const desc = new Uint8Array(APP_DESC.SIZE);
  new DataView(desc.buffer).setUint32(0, APP_DESC.MAGIC_WORD, true);
  desc.set(field(options.version ?? '1.0.0', 'version'), DESC_VERSION);
  desc.set(field(options.projectName ?? 'nvsec_demo', 'projectName'), DESC_PROJECT);
  desc[DESC_MMU_PAGE_LOG2] = 16;
  const code = new TextEncoder().encode('nvsec demo firmware: boots, seeds its DRBG from the NV seed, opens its token, talks TLS. '.repeat(32));
  return buildAppImage(crypto, {
    header: { chipId: chip.chipId, entryAddr: 0x40380000 },
    segments: [
      { loadAddr: chip.drom!.start + 0x20, data: desc },
      { loadAddr: 0x3fc88000, data: code },
    ],
  });
}

function field(text: string, name: string): Uint8Array {
  const bytes = new TextEncoder().encode(text);
  if (bytes.length > 31) throw new RangeError(`"${name}" must be at most 31 bytes, got ${bytes.length}`);
  return bytes;
}
