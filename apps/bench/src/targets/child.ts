import { setTimeout as sleep } from 'node:timers/promises';
import {
  describeExit,
  readLogTail,
  spawnChild,
  stopChild,
  type ChildHandle,
} from '@ringstore/tools';
import { cpuSeconds } from '../overload/proc.js';

/**
 * The user + system CPU seconds the processes have used so far (/proc/PID/stat): a target's
 * server CPU, read before and after each measured window. Rejects when one is gone, so a
 * crashed server never reads as a cheap one.
 */
export function processesCpuSeconds(processes: readonly ServerProcess[]): () => Promise<number> {
  return () => {
    let sum = 0;
    for (const p of processes) {
      const s = cpuSeconds(p.child.pid);
      if (s === undefined)
        return Promise.reject(new Error(`server pid ${p.child.pid} is gone: no CPU reading`));
      sum += s;
    }
    return Promise.resolve(sum);
  };
}

/** A server process the bench starts: logs to a file, stopped by pid (SIGTERM, then SIGKILL). */
export interface ServerProcess {
  readonly child: ChildHandle;
  readonly logFile: string;
  stop(): Promise<void>;
}

/** A server's time to exit after SIGTERM before SIGKILL: etcd flushes its WAL, grpc-js drains. */
export const serverStopTimeoutMs = 10_000;
/** Deadline of one readiness probe: a local server that serves answers in milliseconds. */
export const probeDeadlineMs = 1_000;
/** Between readiness probes: a start is noticed within a tenth of a second, at little cost. */
export const readyPollMs = 100;
/** Log lines shown when a server fails to start: its last error, with some context. */
export const readyLogTailLines = 20;

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
          `${what} exited (${describeExit(exit)}) before it was ready; end of ${p.logFile}:\n${await readLogTail(p.logFile, readyLogTailLines)}`,
        );
    }
    try {
      await probe();
      return;
    } catch (e) {
      last = e;
    }
    await sleep(readyPollMs);
  }
  const tails = await Promise.all(
    processes.map(
      async (p) => `--- ${p.logFile}\n${await readLogTail(p.logFile, readyLogTailLines)}`,
    ),
  );
  throw new Error(
    `${what} not ready after ${timeoutMs} ms (last error: ${last instanceof Error ? last.message : String(last)})\n${tails.join('\n')}`,
  );
}
