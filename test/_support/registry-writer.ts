// A child process for the registry tests: records devices into a SQLite registry in a loop and
// prints "recorded <id>" after each recordDevice call returns.
// Usage: node --import tsx registry-writer.ts DB BATCH PREFIX COUNT (COUNT 0 = until killed)
import * as crypto from 'node:crypto';
import { openSqliteRegistry } from '../../src/node/sqlite-registry.js';

const [dbPath, batchId, prefix, countText] = process.argv.slice(2);
if (dbPath === undefined || batchId === undefined || prefix === undefined || countText === undefined) {
  throw new Error('usage: registry-writer.ts DB BATCH PREFIX COUNT');
}
const count = Number(countText);
const registry = await openSqliteRegistry(dbPath);
if ((await registry.batch(batchId)) === null) {
  try {
    await registry.openBatch({ id: batchId, factoryId: 'test-factory', requestedCount: 1_000_000 }, 'writer');
  } catch (e) {
    if ((e as { code?: string }).code !== 'REGISTRY_DUPLICATE_BATCH') throw e; // the other writer opened it first
  }
}
const sha = (b: Uint8Array): string => crypto.createHash('sha256').update(b).digest('hex');
for (let i = 1; count === 0 || i <= count; i++) {
  const id = `${prefix}-${i}`;
  await registry.recordDevice(
    {
      id,
      serial: crypto.randomBytes(16).toString('hex'),
      seedHash: sha(crypto.randomBytes(64)),
      certSha256: sha(crypto.randomBytes(300)),
      batchId,
      bundlePath: id,
    },
    `writer-${prefix}`,
  );
  process.stdout.write(`recorded ${id}\n`);
}
await registry.close();
