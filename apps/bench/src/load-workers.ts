// --client-procs K > 1: the load of each cell comes from K load worker processes (load-worker.ts)
// instead of the bench process, so that one Node process's CPU is not the ceiling of what the
// bench can offer. Each worker has its own driver (its own SDK client and channels), a share of
// the in-flight requests and of an operation count, its own seed and its own insert numbers;
// the bench merges what they counted into one PhaseResult: sums, the common window, and latency
// percentiles of the merged histograms (never averaged percentiles).
import { fork, spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import {
  addTallyData,
  newTally,
  phaseResult,
  type InsertSequence,
  type PhaseResult,
  type Stop,
  type TallyData,
} from './harness.js';
import type { DriverSpec } from './targets/target.js';
import { workloads, type Distribution, type WorkloadName } from './workload.js';

/** The built worker (tsc output), from src or dist alike. */
export const loadWorkerScript = fileURLToPath(new URL('../dist/load-worker.js', import.meta.url));
/**
 * The C-core load worker (--load-generator c-core): the same protocol over Node's JSON IPC
 * channel, from Python grpcio (gRPC's C core), a client that is not ours.
 */
export const cCoreWorkerScript = fileURLToPath(new URL('../py/load_worker.py', import.meta.url));
/** Where the C-core worker's Python may be: Debian's, whose python3-grpcio it imports, first. */
export const pythonCandidates: readonly string[] = ['/usr/bin/python3', 'python3'];
export const cCoreInstallHint =
  "install Debian's python3-grpcio (apt-get install python3-grpcio), which /usr/bin/python3 imports";
/** Bound on the check that a Python imports grpc (its start and the import on a loaded machine). */
const pythonCheckMs = 20_000;

/** What sends the load: Node processes with the SDK or grpc-js, or Python grpcio's C core. */
export type LoadGenerator = 'node' | 'c-core';
export const loadGenerators: readonly LoadGenerator[] = ['node', 'c-core'];

/** The first of `candidates` that runs and imports grpc; throws with the install hint otherwise. */
export function findGrpcPython(candidates: readonly string[] = pythonCandidates): string {
  for (const candidate of candidates) {
    const r = spawnSync(candidate, ['-c', 'import grpc.aio'], {
      stdio: 'ignore',
      timeout: pythonCheckMs,
    });
    if (r.status === 0) return candidate;
  }
  throw new Error(`no Python with grpcio (tried ${candidates.join(', ')}): ${cCoreInstallHint}`);
}

/** Most load workers: each is a Node process (about 60 MB); beyond 16 the scheduler is measured. */
export const clientProcsMax = 16;
/**
 * Margin of every wait on a worker beyond what its work may take (the request deadline, the
 * phase's duration): Node's start and the SDK's connect on a loaded CI machine, IPC, a GC pause.
 */
export const workerAnswerMarginMs = 30_000;
/** Time a worker gets to close its driver and exit after 'close' before SIGKILL to its pid. */
export const workerExitMs = 2_000;
/** Time a worker gets to be reaped after SIGKILL: the kernel's, not the worker's. */
export const workerKillWaitMs = 5_000;

/** A phase as the bench asks for it, before it is split between the workers. */
export interface LoadPhase {
  readonly workload: WorkloadName;
  readonly distribution: Distribution;
  readonly records: number;
  readonly valueBytes: number;
  /** Requests in flight, all workers together. */
  readonly concurrency: number;
  /** A duration holds for each worker; an operation count is split between them. */
  readonly stop: Stop;
  readonly seed: number;
}

/** One worker's share of a phase. */
export interface WorkerPhase extends LoadPhase {
  /** The workload's proportions of read, update and insert (the C-core worker has no table). */
  readonly mix: { readonly read: number; readonly update: number; readonly insert: number };
  /** The worker's first insert record number; it takes every insertsStep-th from there. */
  readonly insertsFrom: number;
  readonly insertsStep: number;
}

/** What a worker sends back after its share of a phase. */
export interface WorkerPhaseDone {
  readonly pid: number;
  readonly tally: TallyData;
  /** The phase's start and end, milliseconds since the epoch: comparable between processes. */
  readonly startedAtMs: number;
  readonly endedAtMs: number;
  /** As the worker's harness measured it (its monotonic clock). */
  readonly durationMs: number;
  /** User + system CPU of the worker process over the phase, microseconds. */
  readonly cpuUs: number;
  /** The worker's next insert record number: the bench's sequence continues past it. */
  readonly insertsNext: number;
}

export type ToLoadWorker =
  | { readonly kind: 'connect'; readonly spec: DriverSpec; readonly batch: number }
  | { readonly kind: 'phase'; readonly phase: WorkerPhase }
  | { readonly kind: 'close' };

export type FromLoadWorker =
  | { readonly kind: 'ready'; readonly batch: number }
  | { readonly kind: 'progress'; readonly done: number }
  | { readonly kind: 'done'; readonly done: WorkerPhaseDone }
  | { readonly kind: 'error'; readonly message: string };

/** What one worker did in a measured phase, for the report. */
export interface WorkerShare {
  readonly pid: number;
  /** Its requests in flight. */
  readonly concurrency: number;
  readonly operations: number;
  readonly errors: number;
  /** Successful operations per second over its own window. */
  readonly opsPerSecond: number;
  readonly durationMs: number;
  /** User + system CPU over its phase, microseconds. */
  readonly cpuUs: number;
}

/** A phase run by the workers: the merged result, what each did, and their CPU together. */
export interface WorkersResult {
  readonly result: PhaseResult;
  readonly workers: readonly WorkerShare[];
  readonly cpuUs: number;
}

/** `total` split into `parts` shares as equal as can be (the first ones one larger). */
export function splitEvenly(total: number, parts: number): number[] {
  return Array.from(
    { length: parts },
    (_, i) => Math.floor(total / parts) + (i < total % parts ? 1 : 0),
  );
}

/**
 * Each worker's share of `phase`: the in-flight requests split evenly (so K workers keep as many
 * in flight as one process would; at least one each), an operation count split the same way, a
 * duration as it is, the seed plus the worker's index, and every `workers`-th insert number.
 */
export function workerPhases(
  phase: LoadPhase,
  workers: number,
  insertsFrom: number,
): WorkerPhase[] {
  const concurrency = splitEvenly(phase.concurrency, workers).map((c) => Math.max(1, c));
  const operations =
    'operations' in phase.stop ? splitEvenly(phase.stop.operations, workers) : undefined;
  const { read, update, insert } = workloads[phase.workload];
  return concurrency.map((c, i) => ({
    ...phase,
    mix: { read, update, insert },
    concurrency: c,
    stop: operations === undefined ? phase.stop : { operations: operations[i] ?? 0 },
    seed: phase.seed + i,
    insertsFrom: insertsFrom + i,
    insertsStep: workers,
  }));
}

/**
 * The workers' answers as one phase: operations, errors and histograms summed, throughput over
 * the common window (the first worker's start to the last one's end, so a late starter cannot
 * inflate it), latency percentiles from the merged histograms.
 */
export function mergeWorkerResults(
  dones: readonly WorkerPhaseDone[],
  concurrency: readonly number[],
): WorkersResult {
  if (dones.length === 0) throw new Error('assertion failed: no worker results to merge');
  const tally = newTally();
  for (const d of dones) addTallyData(tally, d.tally);
  const windowMs =
    Math.max(...dones.map((d) => d.endedAtMs)) - Math.min(...dones.map((d) => d.startedAtMs));
  const workers = dones.map((d, i) => ({
    pid: d.pid,
    concurrency: concurrency[i] ?? 0,
    operations: d.tally.ok + d.tally.errors,
    errors: d.tally.errors,
    opsPerSecond: d.durationMs > 0 ? Math.round((d.tally.ok * 1000) / d.durationMs) : 0,
    durationMs: Math.round(d.durationMs),
    cpuUs: d.cpuUs,
  }));
  return {
    result: phaseResult(tally, windowMs),
    workers,
    cpuUs: dones.reduce((sum, d) => sum + d.cpuUs, 0),
  };
}

/** K load worker processes, each with a connected driver of one target. */
export interface LoadWorkers {
  readonly pids: readonly number[];
  /** Operations gathered per batch call in the workers (--batch; 1 where the target has none). */
  readonly batch: number;
  /**
   * Runs `phase` split between the workers, taking insert numbers from `inserts` (which then
   * continues past every number a worker reached), and merges their answers.
   */
  run(
    phase: LoadPhase,
    inserts: InsertSequence,
    onProgress?: (done: number) => void,
  ): Promise<WorkersResult>;
  /** Stops every worker by pid ('close', a bounded wait, SIGKILL); again is harmless. */
  stop(): Promise<void>;
}

const hasExited = (child: ChildProcess): boolean =>
  child.exitCode !== null || child.signalCode !== null;

/**
 * How long a wait on a worker may take: in all (undefined: an operation count, which may take
 * hours, bounded by idleMs alone), and without an operation finishing.
 */
interface Bounds {
  readonly totalMs: number | undefined;
  readonly idleMs: number;
}

/**
 * The worker's next answer of `kind`, bounded; rejects on its 'error', its exit, or a bound.
 * Progress resets the idle bound while the count of finished operations grows (every request
 * has its deadline, so a worker that finishes none for longer is stuck) and is passed on.
 */
function answer<K extends 'ready' | 'done'>(
  child: ChildProcess,
  kind: K,
  bounds: Bounds,
  onProgress?: (done: number) => void,
): Promise<Extract<FromLoadWorker, { kind: K }>> {
  return new Promise((resolve, reject) => {
    const who = `load worker pid ${child.pid}`;
    let lastDone = -1;
    const cleanup = (): void => {
      clearTimeout(total);
      clearTimeout(idle);
      child.off('message', onMessage);
      child.off('exit', onExit);
      child.off('error', onError);
    };
    const fail = (message: string): void => {
      cleanup();
      reject(new Error(`${who}: ${message}`));
    };
    const onMessage = (m: FromLoadWorker): void => {
      if (m.kind === 'error') fail(m.message);
      else if (m.kind === 'progress') {
        if (m.done > lastDone) idle.refresh();
        lastDone = Math.max(lastDone, m.done);
        onProgress?.(m.done);
      } else if (m.kind === kind) {
        cleanup();
        resolve(m as Extract<FromLoadWorker, { kind: K }>);
      }
    };
    const onExit = (code: number | null, signal: NodeJS.Signals | null): void =>
      fail(`exited (${signal ?? `code ${code}`}) before its '${kind}'`);
    // A fork that failed (no pid) has an 'error' and may have no 'exit'.
    const onError = (e: Error): void => fail(e.message);
    const totalMs = bounds.totalMs;
    const total =
      totalMs === undefined
        ? undefined
        : setTimeout(() => fail(`no '${kind}' within ${totalMs} ms`), totalMs);
    const idle = setTimeout(
      () => fail(`no operation finished within ${bounds.idleMs} ms`),
      bounds.idleMs,
    );
    child.on('message', onMessage);
    child.once('exit', onExit);
    child.once('error', onError);
    if (hasExited(child)) onExit(child.exitCode, child.signalCode);
  });
}

function sendTo(child: ChildProcess, message: ToLoadWorker): void {
  // A worker that is gone fails the answer awaited from it (its 'exit'): nothing to do here.
  if (child.connected) child.send(message, () => undefined);
}

/** Resolves true when the child exits within `ms`, false otherwise. */
function exitWithin(child: ChildProcess, ms: number): Promise<boolean> {
  if (hasExited(child)) return Promise.resolve(true);
  return new Promise((resolve) => {
    const timer = setTimeout(() => {
      child.off('exit', onExit);
      resolve(false);
    }, ms);
    const onExit = (): void => {
      clearTimeout(timer);
      resolve(true);
    };
    child.once('exit', onExit);
  });
}

/** 'close' to the worker, a bounded wait, then SIGKILL to its pid and a bounded wait again. */
async function stopWorker(child: ChildProcess): Promise<void> {
  if (child.pid === undefined || hasExited(child)) return;
  sendTo(child, { kind: 'close' });
  if (await exitWithin(child, workerExitMs)) return;
  child.kill('SIGKILL');
  if (!(await exitWithin(child, workerKillWaitMs)))
    throw new Error(
      `load worker pid ${child.pid} still there ${workerKillWaitMs} ms after SIGKILL`,
    );
}

/** A load worker process of `generator`, its IPC channel open. */
function startWorker(generator: LoadGenerator, python: string | undefined): ChildProcess {
  if (generator === 'c-core')
    return spawn(python ?? 'python3', [cCoreWorkerScript], {
      serialization: 'json',
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    });
  return fork(loadWorkerScript, [], {
    serialization: 'advanced',
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    // Not the parent's flags (a test runner's loaders): the worker is plain built JavaScript.
    execArgv: [],
  });
}

/**
 * Why the C-core worker cannot drive `spec`, or undefined: it sends plaintext unary calls, one
 * operation each (no KV.Session, no TLS or token, no batches).
 */
export function cCoreRefusal(spec: DriverSpec, batch: number): string | undefined {
  if (batch > 1) return 'it sends one operation per call (no --batch)';
  if (spec.kind === 'echo' && spec.session)
    return 'it sends unary calls (not echo-session or echo-quorum-session)';
  if (spec.kind === 'ringstore') {
    if (spec.sessions) return "it sends unary calls (ringstore-unary, not the SDK's KV.Session)";
    if (spec.security.tls !== undefined || spec.security.token !== undefined)
      return 'it is plaintext only (not --tls or ringstore-tls)';
  }
  return undefined;
}

/**
 * Starts `count` load workers of `generator` (Node with the target's driver, or Python grpcio)
 * and has each connect a driver of `spec` (gathering `batch` operations per call where the
 * target can); stops them all if any fails to.
 */
export async function startLoadWorkers(
  count: number,
  spec: DriverSpec,
  batch: number,
  generator: LoadGenerator = 'node',
): Promise<LoadWorkers> {
  const least = generator === 'node' ? 2 : 1;
  if (!Number.isInteger(count) || count < least || count > clientProcsMax)
    throw new RangeError(`${generator} load workers must be in ${least}..${clientProcsMax}`);
  let python: string | undefined;
  if (generator === 'c-core') {
    const refusal = cCoreRefusal(spec, batch);
    if (refusal !== undefined) throw new Error(`the c-core load generator: ${refusal}`);
    python = findGrpcPython();
  } else if (!existsSync(loadWorkerScript))
    throw new Error(`${loadWorkerScript} is missing: build first (npm run build)`);
  const children: ChildProcess[] = [];
  const stop = async (): Promise<void> => {
    await Promise.all(children.map((c) => stopWorker(c)));
  };
  const replyBounds = {
    totalMs: spec.deadlineMs + workerAnswerMarginMs,
    idleMs: spec.deadlineMs + workerAnswerMarginMs,
  };
  let readies: Extract<FromLoadWorker, { kind: 'ready' }>[];
  try {
    for (let i = 0; i < count; i++) {
      const child = startWorker(generator, python);
      // A failed fork or send is an 'error' event; the exit it comes with fails the wait.
      child.on('error', () => undefined);
      children.push(child);
    }
    readies = await Promise.all(
      children.map((child) => {
        const ready = answer(child, 'ready', replyBounds);
        sendTo(child, { kind: 'connect', spec, batch });
        return ready;
      }),
    );
  } catch (e) {
    await stop();
    throw e;
  }
  return {
    pids: children.map((c) => c.pid ?? -1),
    batch: Math.min(...readies.map((r) => r.batch)),
    run: async (phase, inserts, onProgress) => {
      const shares = workerPhases(phase, children.length, inserts.issued);
      const doneSoFar = shares.map(() => 0);
      const totalMs =
        'durationMs' in phase.stop
          ? phase.stop.durationMs + spec.deadlineMs + workerAnswerMarginMs
          : undefined;
      const answers = children.map((child, i) => {
        const done = answer(
          child,
          'done',
          { totalMs, idleMs: spec.deadlineMs + workerAnswerMarginMs },
          (n) => {
            doneSoFar[i] = n;
            onProgress?.(doneSoFar.reduce((a, b) => a + b, 0));
          },
        );
        sendTo(child, { kind: 'phase', phase: shares[i]! });
        return done;
      });
      const dones = (await Promise.all(answers)).map((m) => m.done);
      for (const [i, d] of dones.entries())
        if (d.insertsNext > shares[i]!.insertsFrom) inserts.passTo(d.insertsNext);
      return mergeWorkerResults(
        dones,
        shares.map((s) => s.concurrency),
      );
    },
    stop,
  };
}
