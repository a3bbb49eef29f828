import { setTimeout as sleep } from 'node:timers/promises';
import {
  describeExit,
  readLogTail,
  spawnChild,
  stopChild,
  type ChildHandle,
} from '@ringstore/tools';

/** A server process the bench starts: logs to a file, stopped by pid (SIGTERM, then SIGKILL). */
export interface ServerProcess {
  readonly child: ChildHandle;
  readonly logFile: string;
  stop(): Promise<void>;
}

export const serverStopTimeoutMs = 10_000;

export function startServerProcess(
  command: string,
  args: readonly string[],
  logFile: string,
  cwd: string,
  env: Record<string, string | undefined> = {},
): ServerProcess {
  const child = spawnChild({
    command,
    args,
    logFile,
    cwd,
    env: { ...process.env, ...env },
    onExit: () => undefined,
  });
  return {
    child,
    logFile,
    stop: async () => {
      await stopChild(child, 'SIGTERM', serverStopTimeoutMs);
    },
  };
}

/**
 * Polls `probe` until it resolves (bounded by timeoutMs); fails early, with the end of the log,
 * if a process exits first.
 */
export async function waitReady(
  what: string,
  processes: readonly ServerProcess[],
  probe: () => Promise<void>,
  timeoutMs: number,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  while (Date.now() < deadline) {
    for (const p of processes) {
      const exit = p.child.exitInfo();
      if (exit)
        throw new Error(
          `${what} exited (${describeExit(exit)}) before it was ready; end of ${p.logFile}:\n${await readLogTail(p.logFile, 20)}`,
        );
    }
    try {
      await probe();
      return;
    } catch (e) {
      last = e;
    }
    await sleep(100);
  }
  const tails = await Promise.all(
    processes.map(async (p) => `--- ${p.logFile}\n${await readLogTail(p.logFile, 20)}`),
  );
  throw new Error(
    `${what} not ready after ${timeoutMs} ms (last error: ${last instanceof Error ? last.message : String(last)})\n${tails.join('\n')}`,
  );
}
