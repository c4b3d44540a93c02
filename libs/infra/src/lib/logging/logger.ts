import type { LoggerService } from '@nestjs/common';
import pino, { type Logger } from 'pino';
import type { DashConfig } from '../config/config';

/** Header and field names whose values are never written to a log, wherever they appear. */
const REDACT = ['authorization', 'token', 'signingSecret', 'secret', 'password', '*.authorization', '*.token', '*.signingSecret', '*.secret', '*.password', 'headers.cookie', '*.headers.cookie'];

// A query parameter is redacted when its name, decoded as the page and the API decode it (and a
// few times more: double encoding), lowercased and reduced to its letters, contains one of these.
const SECRET_NAME_PARTS = ['token', 'secret', 'password', 'authorization', 'apikey', 'signature'];

/** Percent-decoding that never throws: a malformed escape stays as it is. */
function decodeLoosely(text: string): string {
  return text.replace(/\+/g, ' ').replace(/(%[0-9a-f]{2})+/gi, (run) => {
    try {
      return decodeURIComponent(run);
    } catch {
      return run;
    }
  });
}

function isSecretName(raw: string): boolean {
  let name = raw;
  for (let i = 0; i < 3; i++) {
    const decoded = decodeLoosely(name);
    if (decoded === name) break;
    name = decoded;
  }
  const letters = name.toLowerCase().replace(/[^a-z]/g, '');
  return SECRET_NAME_PARTS.some((part) => letters.includes(part));
}

/**
 * A URL as it may be logged: the values of query parameters named like a secret are redacted,
 * judged by the decoded name (`?%74oken=` is `?token=` to the page that reads it), whatever its
 * case or encoding.
 */
export function loggableUrl(url: string): string {
  const q = url.indexOf('?');
  if (q < 0) return url;
  const query = url
    .slice(q + 1)
    .split('&')
    .map((pair) => {
      const eq = pair.indexOf('=');
      const name = eq < 0 ? pair : pair.slice(0, eq);
      return isSecretName(name) ? `${name}=[redacted]` : pair;
    })
    .join('&');
  return url.slice(0, q + 1) + query;
}

/**
 * The process's pino logger: one JSON object a line with `level` (its name), `time` (ISO 8601),
 * `msg`, `role` and `node`; `LOG_FORMAT=pretty` (pino-pretty, colours) is for a person at a terminal.
 */
export function createLogger(config: Pick<DashConfig, 'role' | 'nodeId' | 'log'>): Logger {
  const options: pino.LoggerOptions = {
    level: config.log.level,
    base: { role: config.role, node: config.nodeId },
    timestamp: pino.stdTimeFunctions.isoTime,
    formatters: { level: (label) => ({ level: label }) },
    redact: { paths: REDACT, censor: '[redacted]' },
  };
  if (config.log.format === 'pretty') {
    // Required only when asked for: production never loads it.
    const pretty = require('pino-pretty') as (options: Record<string, unknown>) => NodeJS.WritableStream;
    return pino(options, pretty({ colorize: true, sync: true, ignore: 'pid,hostname' }));
  }
  return pino(options, pino.destination({ fd: 1, sync: true }));
}

/** Nest's start-up chatter (every module and route) goes to `debug`; the rest keeps its level. */
const QUIET_CONTEXTS = new Set(['InstanceLoader', 'RoutesResolver', 'RouterExplorer', 'NestFactory', 'NestMicroservice', 'WebSocketsController', 'ServerRedis']);

/** Nest's `LoggerService` on pino (`app.useLogger`): Nest's and the app's `Logger` lines become JSON lines. */
export class PinoNestLogger implements LoggerService {
  constructor(readonly pino: Logger) {}

  log(message: unknown, ...params: unknown[]): void {
    const context = contextOf(params);
    this.write(QUIET_CONTEXTS.has(context ?? '') ? 'debug' : 'info', message, context);
  }

  error(message: unknown, ...params: unknown[]): void {
    // Nest passes (message, stack?, context?).
    const context = contextOf(params);
    const stack = params.length > 1 && typeof params[0] === 'string' ? params[0] : undefined;
    this.write('error', message, context, stack);
  }

  warn(message: unknown, ...params: unknown[]): void {
    this.write('warn', message, contextOf(params));
  }

  debug(message: unknown, ...params: unknown[]): void {
    this.write('debug', message, contextOf(params));
  }

  verbose(message: unknown, ...params: unknown[]): void {
    this.write('trace', message, contextOf(params));
  }

  fatal(message: unknown, ...params: unknown[]): void {
    this.write('fatal', message, contextOf(params));
  }

  private write(level: pino.Level, message: unknown, context: string | undefined, stack?: string): void {
    if (!this.pino.isLevelEnabled(level)) return;
    const fields: Record<string, unknown> = {};
    if (context) fields.context = context;
    if (stack) fields.stack = stack;
    if (message instanceof Error) {
      fields.err = message;
      this.pino[level](fields, message.message);
    } else if (typeof message === 'object' && message !== null) {
      this.pino[level]({ ...fields, ...message });
    } else this.pino[level](fields, String(message));
  }
}

function contextOf(params: unknown[]): string | undefined {
  const last = params.at(-1);
  return typeof last === 'string' ? last : undefined;
}

/**
 * At most `perSecond` lines a second; the others are counted and the count goes with the next
 * line written. For what can come at intake rates (refused webhooks): a flood costs a few lines.
 */
export class LogSampler {
  private windowStart = 0;
  private written = 0;
  private suppressed = 0;

  constructor(private readonly perSecond: number) {}

  /** null: drop this one; else the number dropped since the last one written. */
  take(now = Date.now()): number | null {
    if (now - this.windowStart >= 1000) {
      this.windowStart = now;
      this.written = 0;
    }
    if (this.written >= this.perSecond) {
      this.suppressed += 1;
      return null;
    }
    this.written += 1;
    const dropped = this.suppressed;
    this.suppressed = 0;
    return dropped;
  }
}
