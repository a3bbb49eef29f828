import { hash } from 'node:crypto';
import { pino, type LogFn, type Logger } from 'pino';
import { recentWarnings } from './console/warnings.js';

export type { Logger } from 'pino';

/**
 * Structured logs: JSON lines for collectors (time in epoch ms), or pretty for people: one line per
 * event with the local date and time, the fields appended as JSON (default: pretty in a terminal).
 */
export function createLogger(options: { level: string; nodeId: string; pretty?: boolean }): Logger {
  const pretty = options.pretty ?? process.stdout.isTTY;
  const base = {
    level: options.level,
    base: { node: options.nodeId },
    // Warnings and errors also go to the web console's recent warnings (console/warnings.ts).
    hooks: {
      logMethod(this: Logger, args: Parameters<LogFn>, method: LogFn, level: number) {
        if (level >= 40) {
          const [first, second] = args as unknown[];
          const msg = typeof first === 'string' ? first : typeof second === 'string' ? second : '';
          recentWarnings.add(level, typeof first === 'object' ? first : undefined, msg);
        }
        method.apply(this, args);
      },
    },
  };
  if (!pretty) return pino(base);
  return pino({
    ...base,
    transport: {
      target: 'pino-pretty',
      options: {
        colorize: process.stdout.isTTY === true,
        // SYS: the machine's time zone; without it pino-pretty shows UTC.
        translateTime: 'SYS:yyyy-mm-dd HH:MM:ss.l',
        ignore: 'pid,hostname,node',
        messageFormat: '{node}: {msg}',
        singleLine: true,
      },
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

/** A start-up failure the operator can fix (a port in use, a bad data directory): no stack. */
export interface StartFailure {
  /** Stable code: the system's (EADDRINUSE, ENOTDIR) or the storage engine's (schema, io). */
  readonly code: string;
  /** One line, naming what failed, why, and the code. */
  readonly message: string;
}

/** The node's listeners by role, to say which one could not listen. */
export interface Listeners {
  readonly client: string;
  readonly peer: string;
  readonly admin: string;
}

/** What the system's error codes mean, in the words of the one-line report. */
const systemCodeText: Readonly<Record<string, string>> = {
  EADDRINUSE: 'address in use',
  EADDRNOTAVAIL: 'address not available on this machine',
  EACCES: 'permission denied',
  EPERM: 'operation not permitted',
  ENOENT: 'no such file or directory',
  ENOTDIR: 'a path component is not a directory',
  EEXIST: 'exists and is not a directory',
  EISDIR: 'is a directory',
  EROFS: 'read-only file system',
  ENOSPC: 'no space left on device',
};

/**
 * The one-line report of a start-up failure that is an operating error, or undefined for anything
 * else (a bug: logged with its stack). grpc-js reports a failed bind as text only, so its listen
 * errors are recognized by their message; every other kind by its code.
 */
export function describeStartFailure(
  error: unknown,
  listeners: Listeners,
): StartFailure | undefined {
  if (!(error instanceof Error)) return undefined;
  const grpcBind = /\[listen (E[A-Z]+): [^\]]*?(\S+:\d+)\]/.exec(error.message);
  if (grpcBind !== null) return listenFailure(grpcBind[1]!, grpcBind[2]!, listeners);
  const code = (error as { code?: unknown }).code;
  if (error.name === 'StorageError' && typeof code === 'string')
    return { code, message: `cannot open storage: ${error.message} (${code})` };
  if (typeof code !== 'string' || !(code in systemCodeText)) return undefined;
  const { syscall, address, port, path } = error as {
    syscall?: string;
    address?: string;
    port?: number;
    path?: string;
  };
  if (syscall === 'listen' && address !== undefined)
    return listenFailure(code, `${address}:${port ?? '?'}`, listeners);
  const what = path === undefined ? (syscall ?? 'start') : `${syscall ?? 'open'} ${path}`;
  return { code, message: `cannot ${what}: ${systemCodeText[code]} (${code})` };
}

function listenFailure(code: string, address: string, listeners: Listeners): StartFailure {
  const port = address.slice(address.lastIndexOf(':'));
  const role = (['client', 'peer', 'admin'] as const).find((r) => listeners[r].endsWith(port));
  const named = role === undefined ? '' : ` (${role})`;
  const why = systemCodeText[code] ?? code;
  return { code, message: `cannot listen on ${address}${named}: ${why} (${code})` };
}
