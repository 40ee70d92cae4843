import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ApiError, ConfigError, errorCode } from '../../src/errors.js';

test('errors carry stable codes and names (what logs and callers match on)', () => {
  const config = new ConfigError('PORT: must be 1-65535');
  assert.equal(config.code, 'TSM_CONFIG');
  assert.equal(config.name, 'ConfigError');
  assert.equal(String(config), 'ConfigError: PORT: must be 1-65535');
  const api = new ApiError('devices', 'http_status', 'HTTP 503', 503);
  assert.equal(api.code, 'TSM_API');
  assert.equal(api.name, 'ApiError');
  assert.equal(api.message, 'devices: HTTP 503');
  assert.equal(api.status, 503);
});

test("errorCode: a system call error's string code, nothing for anything else", () => {
  assert.equal(errorCode(Object.assign(new Error('open'), { code: 'ENOENT' })), 'ENOENT');
  assert.equal(errorCode(new Error('no code')), undefined);
  assert.equal(errorCode(Object.assign(new Error('numeric'), { code: 5 })), undefined);
  // Not an Error: a plain object that looks like one is not trusted.
  assert.equal(errorCode({ code: 'ENOENT' }), undefined);
  assert.equal(errorCode('ENOENT'), undefined);
  assert.equal(errorCode(undefined), undefined);
});
