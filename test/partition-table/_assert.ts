import assert from 'node:assert/strict';
import { PartitionTableError, type PartitionTableErrorCode } from '../../src/partition-table/index.js';

/** Asserts that `fn` throws a PartitionTableError with this code and exactly this message. */
export function assertPtError(fn: () => unknown, code: PartitionTableErrorCode, message: string, context?: readonly string[]): void {
  assert.throws(fn, (e: unknown) => {
    assert.ok(e instanceof PartitionTableError, `expected a PartitionTableError, got ${String(e)}`);
    assert.equal(e.code, code);
    assert.equal(e.message, message);
    if (context !== undefined) assert.deepEqual(e.context, context);
    return true;
  });
}
