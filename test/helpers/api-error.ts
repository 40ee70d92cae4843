import assert from 'node:assert/strict';
import { ApiError } from '../../src/errors.js';

/** The ApiError `p` rejects with; fails the test when it resolves or rejects with anything else. */
export async function apiFailure(p: Promise<unknown>): Promise<ApiError> {
  try {
    await p;
  } catch (err) {
    assert.ok(err instanceof ApiError, `expected an ApiError, got ${String(err)}`);
    return err;
  }
  assert.fail('expected an ApiError');
}
