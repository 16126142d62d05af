import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { Efuse } from '../../src/boot/efuse.js';
import { EfuseError } from '../../src/boot/efuse-error.js';
import type { EfuseChip } from '../../src/boot/efuse-fields.js';
import type { BurnKeyPurpose } from '../../src/boot/efuse-key-purpose.js';

type Op =
  | { kind: 'burn'; hot: boolean; field: number; seed: number; bytes: Uint8Array; keep: boolean }
  | { kind: 'writeProtect' | 'readProtect'; field: number }
  | { kind: 'burnKey'; block: number; purpose: number; key: Uint8Array }
  | { kind: 'enableFE'; release: boolean }
  | { kind: 'disableFE' }
  | { kind: 'revoke'; slot: number }
  | { kind: 'secureBoot' }
  | { kind: 'secureVersion'; version: number };

const opArb: fc.Arbitrary<Op> = fc.oneof(
  fc.record({
    kind: fc.constant('burn' as const),
    hot: fc.boolean(),
    field: fc.nat(),
    seed: fc.nat(),
    bytes: fc.uint8Array({ minLength: 32, maxLength: 32 }),
    keep: fc.boolean(),
  }),
  fc.record({ kind: fc.constantFrom('writeProtect' as const, 'readProtect' as const), field: fc.nat() }),
  fc.record({ kind: fc.constant('burnKey' as const), block: fc.nat({ max: 5 }), purpose: fc.nat(), key: fc.uint8Array({ minLength: 64, maxLength: 64 }) }),
  fc.record({ kind: fc.constant('enableFE' as const), release: fc.boolean() }),
  fc.record({ kind: fc.constant('disableFE' as const) }),
  fc.record({ kind: fc.constant('revoke' as const), slot: fc.nat({ max: 2 }) }),
  fc.record({ kind: fc.constant('secureBoot' as const) }),
  fc.record({ kind: fc.constant('secureVersion' as const), version: fc.nat({ max: 16 }) }),
);

const PURPOSES: BurnKeyPurpose[] = ['USER', 'XTS_AES_128_KEY', 'XTS_AES_256_KEY', 'HMAC_UP', 'SECURE_BOOT_DIGEST0', 'SECURE_BOOT_DIGEST1', 'SECURE_BOOT_DIGEST2'];

/** Fields worth hitting often, so that burns land on fields that already hold bits. */
const HOT: Record<EfuseChip, string[]> = {
  esp32: ['FLASH_CRYPT_CNT', 'BLOCK1', 'BLOCK3', 'WR_DIS', 'RD_DIS', 'FLASH_CRYPT_CONFIG'],
  esp32c3: ['SPI_BOOT_CRYPT_CNT', 'BLOCK_KEY0', 'BLOCK_KEY1', 'WR_DIS', 'RD_DIS', 'KEY_PURPOSE_0', 'SECURE_VERSION'],
  esp32s3: ['SPI_BOOT_CRYPT_CNT', 'BLOCK_KEY0', 'BLOCK_KEY1', 'WR_DIS', 'RD_DIS', 'KEY_PURPOSE_0', 'SECURE_VERSION'],
};

/** A value for field `name`: random, or (with `keep`) random OR the current value, so the burn is legal. */
function valueFor(efuse: Efuse, name: string, op: Extract<Op, { kind: 'burn' }>): boolean | number | Uint8Array {
  const f = efuse.field(name);
  const current = efuse.hardware.read(name);
  if (current instanceof Uint8Array) return op.bytes.subarray(0, current.length).map((b, i) => (op.keep ? b | current[i]! : b));
  if (typeof current === 'boolean') return op.keep || op.seed % 2 === 1;
  const v = op.seed % 2 ** Math.min(f.len, 31);
  return op.keep ? Number((BigInt(v) | BigInt(current)) & ((1n << BigInt(f.len)) - 1n)) : v;
}

function apply(efuse: Efuse, op: Op): void {
  const names = efuse.fieldNames();
  switch (op.kind) {
    case 'burn': {
      const hot = HOT[efuse.chip];
      const name = op.hot ? hot[op.field % hot.length]! : names[op.field % names.length]!;
      efuse.burn(name, valueFor(efuse, name, op));
      return;
    }
    case 'writeProtect':
      efuse.writeProtect(names[op.field % names.length]!);
      return;
    case 'readProtect':
      efuse.readProtect(names[op.field % names.length]!);
      return;
    case 'burnKey': {
      const purpose = PURPOSES[op.purpose % PURPOSES.length]!;
      if (efuse.chip === 'esp32') efuse.burnKey(['flash_encryption', 'secure_boot_v1', 'BLOCK3'][op.block % 3]!, op.key.subarray(0, 32));
      else efuse.burnKey(`BLOCK_KEY${op.block}`, purpose === 'XTS_AES_256_KEY' ? op.key : op.key.subarray(0, 32), purpose);
      return;
    }
    case 'enableFE':
      efuse.enableFlashEncryption({ release: op.release });
      return;
    case 'disableFE':
      efuse.disableFlashEncryption();
      return;
    case 'revoke':
      efuse.revokeKey(op.slot);
      return;
    case 'secureBoot':
      efuse.enableSecureBoot();
      return;
    case 'secureVersion':
      efuse.burnSecureVersion(op.version);
      return;
  }
}

const allBlocks = (efuse: Efuse) => efuse.layout.blockNames.map((_, i) => efuse.hardware.readBlock(i));

describe('eFuse model properties', () => {
  it('never clears a bit, whatever sequence of burns, protections and mode changes is tried; a refused operation changes nothing', () => {
    fc.assert(
      fc.property(fc.constantFrom<EfuseChip>('esp32', 'esp32c3', 'esp32s3'), fc.array(opArb, { maxLength: 40 }), (chip, ops) => {
        const efuse = Efuse.create(chip);
        let before = allBlocks(efuse);
        for (const op of ops) {
          let refused = false;
          try {
            apply(efuse, op);
          } catch (e) {
            if (!(e instanceof EfuseError || e instanceof RangeError)) throw e;
            refused = true;
          }
          const after = allBlocks(efuse);
          after.forEach((block, b) =>
            block.forEach((byte, i) => {
              const was = before[b]![i]!;
              assert.equal(byte & was, was, `${op.kind} cleared a bit in block ${b} byte ${i}`);
              if (refused) assert.equal(byte, was, `a refused ${op.kind} changed block ${b} byte ${i}`);
            }),
          );
          before = after;
        }
        // persistence round trip of whatever state was reached
        const copy = Efuse.fromImage(efuse.toImage());
        assert.deepEqual(allBlocks(copy), before);
      }),
      { numRuns: 300 },
    );
  });
});
