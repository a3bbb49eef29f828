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
