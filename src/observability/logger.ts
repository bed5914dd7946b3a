// JSON-lines logger with levels. Every string that passes through it is run through
// the secret masker, so a token that slips into an error message is still not printed.
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
    const out: Record<string, unknown> = { message: maskSecrets(value.message) };
    if ('code' in value && value.code !== undefined) out.code = value.code;
    if (value.cause !== undefined) out.cause = serialise(value.cause);
    return out;
  }
  if (typeof value === 'string') return maskSecrets(value);
  return value;
}

export function createLogger(
  level: LogLevel = 'info',
  write: (line: string) => void = (line) => process.stderr.write(line),
  base: Record<string, unknown> = {},
): Logger {
  const emit = (lvl: LogLevel, msg: string, fields?: Record<string, unknown>) => {
    if (rank[lvl] < rank[level]) return;
    const record: Record<string, unknown> = { time: new Date().toISOString(), level: lvl, msg: maskSecrets(msg), ...base };
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
