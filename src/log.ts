import { pino, type Logger } from 'pino';
import pretty from 'pino-pretty';

export interface LogOptions {
  readonly level: 'debug' | 'info' | 'warn' | 'error';
  readonly format: 'text' | 'json';
  /** Where lines go; stderr by default (stdout stays free for `--print-*` style output). */
  readonly destination?: NodeJS.WritableStream;
}

// Paths that could ever carry a credential are censored even if a future log call passes them by mistake.
const REDACT = [
  'authorization',
  '*.authorization',
  'headers.authorization',
  '*.headers.authorization',
  'clientSecret',
  '*.clientSecret',
  'client_secret',
  '*.client_secret',
  'apiKey',
  '*.apiKey',
  'authKey',
  '*.authKey',
  'access_token',
  '*.access_token',
];

export function createLogger(options: LogOptions): Logger {
  const destination = options.destination ?? process.stderr;
  const base = {
    level: options.level,
    base: { service: 'tsmetrics' },
    redact: { paths: REDACT, censor: '<redacted>' },
  };
  if (options.format === 'json') {
    return options.destination
      ? pino(base, options.destination)
      : pino(base, pino.destination({ dest: 2, sync: true }));
  }
  // Synchronous pretty stream (no worker thread): one line per event, no colours in files or journald.
  return pino(
    base,
    pretty({
      colorize: false,
      sync: true,
      destination,
      translateTime: 'SYS:standard',
      ignore: 'pid,hostname,service',
      singleLine: true,
    }),
  );
}
