// JSON-lines logger with levels. Every line is run through the secret masker once,
// whole (it knows values JSON-escaped too), so a token that slips into an error message
// or a field is still not printed.
import { maskSecrets } from '../secrets.js';

export type LogLevel = 'debug' | 'info' | 'warn' | 'error';
const rank: Record<LogLevel, number> = { debug: 10, info: 20, warn: 30, error: 40 };

export interface Logger {
  debug(msg: string, fields?: Record<string, unknown>): void;
  info(msg: string, fields?: Record<string, unknown>): void;
  warn(msg: string, fields?: Record<string, unknown>): void;
  error(msg: string, fields?: Record<string, unknown>): void;
  child(fields: Record<string, unknown>): Logger;
  enabled(level: LogLevel): boolean;
}

export function isLogLevel(value: string): value is LogLevel {
  return value in rank;
}

function serialise(value: unknown): unknown {
  if (value instanceof Error) {
    const out: Record<string, unknown> = { message: value.message };
    if ('code' in value && value.code !== undefined) out.code = value.code;
    if (value.cause !== undefined) out.cause = serialise(value.cause);
    return out;
  }
  return value;
}

/**
 * Writes lines to stderr gathered per event-loop turn: one write for all the lines a
 * turn logged instead of one each (stderr on a pipe is synchronous, and a busy turn
 * logs many). What is pending when the process exits is written then, so the line
 * logged just before an exit is not lost.
 */
export function batchedStderr(stream: Pick<NodeJS.WriteStream, 'write'> = process.stderr): (line: string) => void {
  let pending: string[] = [];
  const flush = () => {
    if (pending.length === 0) return;
    const text = pending.join('');
    pending = [];
    stream.write(text);
  };
  process.on('exit', flush);
  return (line) => {
    if (pending.push(line) === 1) setImmediate(flush);
  };
}

export function createLogger(
  level: LogLevel = 'info',
  write: (line: string) => void = batchedStderr(),
  base: Record<string, unknown> = {},
): Logger {
  const emit = (lvl: LogLevel, msg: string, fields?: Record<string, unknown>) => {
    if (rank[lvl] < rank[level]) return;
    const record: Record<string, unknown> = { time: new Date().toISOString(), level: lvl, msg, ...base };
    for (const [key, value] of Object.entries(fields ?? {})) record[key] = serialise(value);
    let line: string;
    try {
      line = JSON.stringify(record);
    } catch {
      line = JSON.stringify({ time: record.time, level: lvl, msg: record.msg, note: 'fields not serialisable' });
    }
    write(`${maskSecrets(line)}\n`);
  };
  return {
    debug: (msg, fields) => emit('debug', msg, fields),
    info: (msg, fields) => emit('info', msg, fields),
    warn: (msg, fields) => emit('warn', msg, fields),
    error: (msg, fields) => emit('error', msg, fields),
    child: (fields) => createLogger(level, write, { ...base, ...fields }),
    enabled: (lvl) => rank[lvl] >= rank[level],
  };
}

/** A logger that drops everything, for pure code paths in tests. */
export const silentLogger: Logger = createLogger('error', () => undefined);
