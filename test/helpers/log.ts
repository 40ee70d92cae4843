import { Writable } from 'node:stream';
import type { Logger } from 'pino';
import { createLogger } from '../../src/log.js';

/** A JSON logger whose lines are kept in memory, for assertions (and secret greps) in tests. */
export function memoryLogger(level: 'debug' | 'info' | 'warn' | 'error' = 'debug'): { log: Logger; lines: string[] } {
  const lines: string[] = [];
  const destination = new Writable({
    write(chunk: Buffer, _enc, done) {
      for (const line of chunk.toString('utf8').split('\n')) if (line !== '') lines.push(line);
      done();
    },
  });
  return { log: createLogger({ level, format: 'json', destination }), lines };
}
