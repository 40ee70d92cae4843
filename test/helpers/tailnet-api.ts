import type { LogPollView } from '../../src/control/log-window.js';
import type { TailnetJson } from '../../src/control/inventory.js';
import { ApiError } from '../../src/errors.js';

/**
 * A tailnet API answering `answers` by exact path (an Error answer is thrown), 404 for any other path; and the
 * (endpoint, path) of every call made.
 */
export function fakeTailnetApi(
  answers: Record<string, unknown>,
  tailnet: string,
): { api: TailnetJson; calls: Array<[endpoint: string, path: string]> } {
  const calls: Array<[endpoint: string, path: string]> = [];
  const api: TailnetJson = {
    tailnet,
    getJson(endpoint, path) {
      calls.push([endpoint, path]);
      if (!(path in answers)) return Promise.reject(new ApiError(endpoint, 'http_status', 'HTTP 404', 404));
      const answer = answers[path];
      return answer instanceof Error ? Promise.reject(answer) : Promise.resolve(answer);
    },
  };
  return { api, calls };
}

/** A log poller's view with nothing counted yet (state `ok`), changed by `o`. */
export const pollView = (o: Partial<LogPollView> = {}): LogPollView => ({
  state: 'ok',
  polls: new Map(),
  records: 0,
  duplicates: 0,
  invalid: 0,
  dedupKeys: 0,
  dedupEvictions: 0,
  windowEndSeconds: undefined,
  skippedSeconds: 0,
  newestRecordSeconds: undefined,
  durationSeconds: 0,
  ...o,
});
