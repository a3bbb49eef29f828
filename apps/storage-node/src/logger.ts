import { hash } from 'node:crypto';
import { pino, type Logger } from 'pino';

export type { Logger } from 'pino';

/** Structured logs: pretty in a terminal, JSON lines otherwise (for collectors). */
export function createLogger(options: { level: string; nodeId: string; pretty?: boolean }): Logger {
  const pretty = options.pretty ?? process.stdout.isTTY;
  const base = { level: options.level, base: { node: options.nodeId } };
  if (!pretty) return pino(base);
  return pino({
    ...base,
    transport: {
      target: 'pino-pretty',
      options: { colorize: true, translateTime: 'HH:MM:ss.l', ignore: 'pid,hostname' },
    },
  });
}

/**
 * How logs name a key: a short digest, never the key itself (keys are data and may be personal or
 * secret; docs/security.md). The same key always gets the same tag, so log lines can be matched
 * up, and `ringctl` can compute it for a key it knows.
 */
export function keyTag(key: Uint8Array): string {
  return `sha256:${hash('sha256', key, 'hex').slice(0, 16)}`;
}
