import { errors as undiciErrors } from 'undici';

// Error classes with stable codes. Expected runtime failures (a device down, an API 503) are values,
// not exceptions; these are for start-up problems and for the API client's failure results.

/** Bad configuration: the message is one line that names the variable; the process exits 2. */
export class ConfigError extends Error {
  readonly code = 'TSM_CONFIG';
  override readonly name = 'ConfigError';
}

export type ApiErrorReason = 'timeout' | 'network' | 'http_status' | 'rate_limited' | 'auth' | 'invalid_response';

/** A failed Tailscale API call. The message names the endpoint and status, never a credential. */
export class ApiError extends Error {
  readonly code = 'TSM_API';
  override readonly name = 'ApiError';
  constructor(
    readonly endpoint: string,
    readonly reason: ApiErrorReason,
    message: string,
    readonly status?: number,
    options?: { cause?: unknown },
  ) {
    super(`${endpoint}: ${message}`, options);
  }
}

/** A request that ran out of time: undici's connect/headers/body timeouts, or an AbortSignal deadline. */
export function isTimeout(err: unknown): boolean {
  return (
    err instanceof undiciErrors.HeadersTimeoutError ||
    err instanceof undiciErrors.BodyTimeoutError ||
    err instanceof undiciErrors.ConnectTimeoutError ||
    (err instanceof Error && err.name === 'TimeoutError')
  );
}

/** The `code` of a failed system call (ENOENT, EACCES, …), if the error has one. */
export function errorCode(err: unknown): string | undefined {
  return err instanceof Error && 'code' in err && typeof err.code === 'string' ? err.code : undefined;
}
