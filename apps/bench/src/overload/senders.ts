// Who fires phase 1's waves: this process over one channel, or P wave workers (child processes,
// one channel each) that split every wave between them and fire at the same moment.
import { fork, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { KVClient } from '@ringstore/proto';
import {
  emptyTally,
  fireWave,
  mergeTally,
  waitConnected,
  waveClient,
  type WaveSpec,
  type WaveTally,
} from './wave.js';
import type { FromWorker, ToWorker } from './wave-worker.js';

/** The built worker (tsc output), from src/overload or dist/overload alike. */
export const waveWorkerScript = fileURLToPath(
  new URL('../../dist/overload/wave-worker.js', import.meta.url),
);
/** Bound on a sender's dial: a local node answers within milliseconds. */
export const connectTimeoutMs = 10_000;
/** Most wave workers: each is a Node process (about 50 MB); more than the cores gains nothing. */
export const clientProcessesMax = 16;
/** Bound on a worker's answer to a wave: every call has its deadline, the rest is margin. */
export const waveAnswerMarginMs = 30_000;
/** Time a worker gets to exit after 'close' before SIGKILL. */
export const workerExitMs = 2_000;

export interface Senders {
  /** Fires `count` puts (split between the senders) and merges what they saw. */
  fire(wave: number, count: number, valueBytes: number, deadlineMs: number): Promise<WaveTally>;
  /** Pids of the worker processes (none in-process). */
  readonly pids: readonly number[];
  close(): Promise<void>;
}

/** `count` split into `parts` shares as equal as can be (the first ones one larger). */
export function shares(count: number, parts: number): number[] {
  return Array.from(
    { length: parts },
    (_, i) => Math.floor(count / parts) + (i < count % parts ? 1 : 0),
  );
}

/** processes 0: this process fires; otherwise that many wave workers. */
export async function startSenders(address: string, processes: number): Promise<Senders> {
  if (processes === 0) return inProcess(address);
  return workers(address, processes);
}

async function inProcess(address: string): Promise<Senders> {
  const client: KVClient = waveClient(address);
  await waitConnected(client, connectTimeoutMs);
  return {
    pids: [],
    fire: (wave, count, valueBytes, deadlineMs) =>
      fireWave(client, { address, wave, part: 0, count, valueBytes, deadlineMs }),
    close: () => Promise.resolve(client.close()),
  };
}

/** The next message of a worker (bounded by timeoutMs); rejects on exit or an 'error'. */
function nextMessage(child: ChildProcess, timeoutMs: number): Promise<FromWorker> {
  return new Promise((resolve, reject) => {
    const cleanup = (): void => {
      clearTimeout(timer);
      child.off('message', onMessage);
      child.off('exit', onExit);
    };
    const onMessage = (m: FromWorker): void => {
      cleanup();
      if (m.kind === 'error') reject(new Error(`wave worker ${child.pid}: ${m.message}`));
      else resolve(m);
    };
    const onExit = (code: number | null): void => {
      cleanup();
      reject(new Error(`wave worker ${child.pid} exited (code ${code})`));
    };
    const timer = setTimeout(() => {
      cleanup();
      reject(new Error(`wave worker ${child.pid}: no answer within ${timeoutMs} ms`));
    }, timeoutMs);
    child.on('message', onMessage);
    child.once('exit', onExit);
  });
}

async function workers(address: string, processes: number): Promise<Senders> {
  if (!existsSync(waveWorkerScript))
    throw new Error(`${waveWorkerScript} is missing: build first (npm run build)`);
  const children = Array.from({ length: processes }, () =>
    fork(waveWorkerScript, [address], {
      serialization: 'advanced',
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
      // Not the parent's flags (a test runner's loaders): the worker is plain built JavaScript.
      execArgv: [],
    }),
  );
  const close = (): Promise<void> => stopWorkers(children);
  try {
    await Promise.all(children.map((c) => nextMessage(c, connectTimeoutMs)));
  } catch (e) {
    await close();
    throw e;
  }
  return {
    pids: children.map((c) => c.pid ?? -1),
    fire: async (wave, count, valueBytes, deadlineMs) => {
      const parts = shares(count, children.length);
      const answers = children.map((child, part) => {
        const answer = nextMessage(child, deadlineMs + waveAnswerMarginMs);
        const spec: WaveSpec = {
          address,
          wave,
          part,
          count: parts[part] ?? 0,
          valueBytes,
          deadlineMs,
        };
        child.send({ kind: 'fire', spec } satisfies ToWorker);
        return answer;
      });
      const merged = emptyTally();
      for (const m of await Promise.all(answers))
        if (m.kind === 'tally') mergeTally(merged, m.tally);
      return merged;
    },
    close,
  };
}

/** 'close' to each worker, a bounded wait, then SIGKILL to that worker's pid. */
async function stopWorkers(children: readonly ChildProcess[]): Promise<void> {
  await Promise.all(
    children.map(async (child) => {
      if (child.exitCode !== null || child.signalCode !== null) return;
      const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
      if (child.connected) child.send({ kind: 'close' } satisfies ToWorker);
      const timer = setTimeout(() => child.kill('SIGKILL'), workerExitMs);
      await exited;
      clearTimeout(timer);
    }),
  );
}
