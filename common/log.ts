/**
 * Structured logs: one JSON object a line on stderr. Context fields (`build`, `attempt`,
 * `agent`, ...) are bound with `child` and carried on every line after.
 */
export type LogLevel = 'debug' | 'info' | 'warn' | 'error';

const ORDER: Record<LogLevel, number> = { debug: 10, info: 20, warn: 30, error: 40 };

export interface Logger {
  debug(msg: string, fields?: Record<string, unknown>): void;
  info(msg: string, fields?: Record<string, unknown>): void;
  warn(msg: string, fields?: Record<string, unknown>): void;
  error(msg: string, fields?: Record<string, unknown>): void;
  child(fields: Record<string, unknown>): Logger;
}

export interface LoggerOptions {
  level?: LogLevel;
  /** Where lines go; stderr unless told. */
  write?: (line: string) => void;
  clock?: () => Date;
}

export function createLogger(context: Record<string, unknown> = {}, options: LoggerOptions = {}): Logger {
  const level = ORDER[options.level ?? 'info'];
  const write = options.write ?? ((line: string) => process.stderr.write(line + '\n'));
  const clock = options.clock ?? (() => new Date());
  const emit = (lvl: LogLevel, msg: string, fields?: Record<string, unknown>) => {
    if (ORDER[lvl] < level) return;
    const rec: Record<string, unknown> = { time: clock().toISOString(), level: lvl, msg, ...context, ...fields };
    for (const [k, v] of Object.entries(rec)) if (v instanceof Error) rec[k] = v.message;
    write(JSON.stringify(rec));
  };
  return {
    debug: (m, f) => emit('debug', m, f),
    info: (m, f) => emit('info', m, f),
    warn: (m, f) => emit('warn', m, f),
    error: (m, f) => emit('error', m, f),
    child: (fields) => createLogger({ ...context, ...fields }, options),
  };
}

/** A logger that drops everything; for tests that don't care. */
export const silentLogger: Logger = createLogger({}, { write: () => {} });
