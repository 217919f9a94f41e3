/**
 * `serve --log-level/--log-format`: structured logs (pino) on stderr. `json` is one pino object
 * per line for a log pipeline; `pretty` (the default) is one short line per event for people.
 * The default level is `warn`, so an ordinary run prints what it printed before: its addresses
 * and, at the end, its counters.
 */
import { Writable } from 'node:stream';
import { pino, type Logger } from 'pino';

export const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];
export const LOG_FORMATS = ['pretty', 'json'] as const;
export type LogFormat = (typeof LOG_FORMATS)[number];

/** Field names that could hold a secret: never logged even if passed by mistake. */
const REDACT = ['auth', 'token', 'resumeToken', 'secret', 'password', '*.auth', '*.token', '*.resumeToken', '*.secret', '*.password'];

const LEVEL_NAMES: Record<number, string> = { 10: 'TRACE', 20: 'DEBUG', 30: 'INFO', 40: 'WARN', 50: 'ERROR', 60: 'FATAL' };

/** pino JSON line → `12:00:01.123 WARN  message key=value …`. */
export function prettyLine(line: string): string {
  let record: Record<string, unknown>;
  try {
    record = JSON.parse(line) as Record<string, unknown>;
  } catch {
    return line;
  }
  const { level, time, msg, ...fields } = record;
  const at = typeof time === 'number' ? new Date(time).toISOString().slice(11, 23) : '';
  const rest = Object.entries(fields)
    .map(([key, value]) => `${key}=${typeof value === 'string' && !/\s/.test(value) ? value : JSON.stringify(value)}`)
    .join(' ');
  return `${at} ${(LEVEL_NAMES[level as number] ?? String(level)).padEnd(5)} ${String(msg ?? '')}${rest === '' ? '' : ` ${rest}`}`;
}

export function createServeLogger(level: LogLevel, format: LogFormat, stderr: NodeJS.WritableStream): Logger {
  const options = { level, base: null, redact: { paths: REDACT, censor: '[redacted]' } };
  if (format === 'json') return pino(options, stderr as unknown as Writable);
  let pending = '';
  const pretty = new Writable({
    write(chunk: Buffer, _encoding, done) {
      pending += chunk.toString();
      let newline = pending.indexOf('\n');
      while (newline >= 0) {
        stderr.write(`${prettyLine(pending.slice(0, newline))}\n`);
        pending = pending.slice(newline + 1);
        newline = pending.indexOf('\n');
      }
      done();
    },
  });
  return pino(options, pretty);
}
