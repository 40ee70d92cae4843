// Errors of tsnet mode. Start-up problems the operator must fix (binaries missing, the node lacks the
// required tags) are exit code 2, like a bad configuration; the rest are runtime failures.

export type TsnetErrorCode =
  'TSM_TSNET_BINARY' | 'TSM_TSNET_TAGS' | 'TSM_TSNET_START' | 'TSM_TSNET_LOCALAPI' | 'TSM_TSNET_DOWN';

export class TsnetError extends Error {
  override readonly name: string = 'TsnetError';
  constructor(
    readonly code: TsnetErrorCode,
    message: string,
    /** The process exit code the caller should use when this stops start-up: 2 = fix the setup. */
    readonly exitCode: 1 | 2,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

/** tailscaled or tailscale is not installed (or the configured path is not an executable). */
export class TsnetBinaryNotFoundError extends TsnetError {
  override readonly name = 'TsnetBinaryNotFoundError';
  constructor(
    message: string,
    readonly missing: readonly string[],
  ) {
    super('TSM_TSNET_BINARY', message, 2);
  }
}

/** The node is up but does not carry the tags REQUIRE_EXPORTER_TAG demands. */
export class TsnetTagError extends TsnetError {
  override readonly name = 'TsnetTagError';
  constructor(
    message: string,
    readonly required: readonly string[],
    readonly actual: readonly string[],
  ) {
    super('TSM_TSNET_TAGS', message, 2);
  }
}

/** tailscaled did not come up: it exited, its socket never appeared, or `tailscale up` failed. */
export class TsnetStartError extends TsnetError {
  override readonly name = 'TsnetStartError';
  constructor(message: string, options?: { cause?: unknown }) {
    super('TSM_TSNET_START', message, 1, options);
  }
}

/** A LocalAPI call failed: no answer, a non-200 status, or a body that is not the expected JSON. */
export class LocalApiError extends TsnetError {
  override readonly name = 'LocalApiError';
  constructor(
    readonly path: string,
    message: string,
    readonly status?: number,
    options?: { cause?: unknown },
  ) {
    super('TSM_TSNET_LOCALAPI', `LocalAPI ${path}: ${message}`, 1, options);
  }
}
