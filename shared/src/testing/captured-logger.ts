import { Writable } from 'node:stream';
import { createLogger, type Logger } from '../logger.js';

export interface LogLine {
  level: string;
  msg: string;
  [field: string]: unknown;
}

/** A real logger (levels, redaction, child bindings) whose lines a test reads back, parsed. */
export function capturedLogger(level = 'debug'): { logger: Logger; lines: LogLine[] } {
  const lines: LogLine[] = [];
  const destination = new Writable({
    write(chunk: Buffer, _encoding, done) {
      for (const line of chunk.toString('utf8').split('\n')) if (line) lines.push(JSON.parse(line) as LogLine);
      done();
    },
  });
  return { logger: createLogger({ level, service: 'test', destination }), lines };
}
