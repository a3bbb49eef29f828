// The closed-loop load generator: `concurrency` workers, each sending its next operation as soon
// as the previous one answered, until an operation count or a duration is reached. Latency of
// every successful operation goes to an HDR histogram per operation kind; errors are counted by
// gRPC status.
import { performance } from 'node:perf_hooks';
import {
  chooseOperation,
  keyChooser,
  recordKey,
  seededRandom,
  type Distribution,
  type Operation,
  type Workload,
} from './workload.js';
import { Latency, errorKind, type LatencyCounts, type LatencySummary } from './stats.js';

/** What a target must do for the harness; every call has its own deadline inside. */
export interface Driver {
  read(key: Buffer): Promise<void>;
  update(key: Buffer, value: Buffer): Promise<void>;
  insert(key: Buffer, value: Buffer): Promise<void>;
  close(): Promise<void>;
  /** Many reads in one call (--batch): each key's error, or undefined, in order. */
  readMany?(keys: readonly Buffer[]): Promise<(Error | undefined)[]>;
  /** Many writes in one call (--batch): each item's error, or undefined, in order. */
  writeMany?(items: readonly BatchWriteItem[]): Promise<(Error | undefined)[]>;
}

/** One write of a batch: an update (with the context last read) or an insert (without). */
export interface BatchWriteItem {
  readonly key: Buffer;
  readonly value: Buffer;
  readonly insert: boolean;
}

/** Most workers: far past the point where one client process saturates. */
export const concurrencyMax = 4096;
/** Longest measured phase: an hour; longer runs belong to a soak test, not a benchmark. */
export const durationMsMax = 3_600_000;
/** Most operations of one phase: hours at the rates a laptop cluster reaches. */
export const operationsMax = 1_000_000_000;
/** Largest value: 4 MiB, gRPC's default message limit. */
export const valueBytesMax = 4 * 1024 * 1024;

/** When a phase ends: after this many operations were started, or this much time. */
export type Stop = { readonly operations: number } | { readonly durationMs: number };

export interface PhaseOptions {
  readonly driver: Driver;
  readonly workload: Workload;
  readonly distribution: Distribution;
  /** Records loaded before: reads and updates choose among [0, records). */
  readonly records: number;
  /** Record numbers for inserts, shared by every phase against the same data. */
  readonly inserts: InsertSequence;
  readonly valueBytes: number;
  readonly concurrency: number;
  readonly stop: Stop;
  readonly seed: number;
  /** Called with operations done so far, every progressIntervalMs and once at the end. */
  readonly onProgress?: ((done: number) => void) | undefined;
}

export interface PhaseResult {
  readonly operations: number;
  readonly ok: number;
  readonly errors: number;
  readonly errorsByStatus: Record<string, number>;
  readonly durationMs: number;
  /** Successful operations per second. */
  readonly opsPerSecond: number;
  readonly latency: LatencySummary;
  readonly byOperation: Partial<Record<Operation, LatencySummary>>;
}

/**
 * Hands out fresh record numbers for inserts, so no two inserts write the same key. Load workers
 * (--client-procs) each take every `step`th number from their own start, so theirs never meet;
 * afterwards the bench's sequence passes every number they reached.
 */
export class InsertSequence {
  constructor(
    private next: number,
    private readonly step = 1,
  ) {
    if (!Number.isSafeInteger(step) || step < 1)
      throw new RangeError(`insert sequence step must be a positive integer, not ${step}`);
  }
  take(): number {
    const n = this.next;
    this.next += this.step;
    return n;
  }
  get issued(): number {
    return this.next;
  }
  /** Continues at `next` unless already past it: after numbers another process took. */
  passTo(next: number): void {
    this.next = Math.max(this.next, next);
  }
}

/** A value of the given size, different per call (so no layer can dedupe writes). */
export function valueMaker(bytes: number, random: () => number): () => Buffer {
  const base = Buffer.alloc(bytes, 0x61);
  return () => {
    const v = Buffer.from(base);
    if (bytes >= 4) v.writeUInt32LE(Math.floor(random() * 0x1_0000_0000), 0);
    return v;
  };
}

/** How often onProgress hears the count: a smooth progress bar, at no measurable cost. */
export const progressIntervalMs = 200;

/** What the workers of one phase have done so far. */
export interface Tally {
  started: number;
  ok: number;
  errors: number;
  readonly errorsByStatus: Record<string, number>;
  readonly latency: Partial<Record<Operation, Latency>>;
}

export function newTally(): Tally {
  return { started: 0, ok: 0, errors: 0, errorsByStatus: {}, latency: {} };
}

/** A tally as data (structured-clone safe): what a load worker sends back after a phase. */
export interface TallyData {
  readonly started: number;
  readonly ok: number;
  readonly errors: number;
  readonly errorsByStatus: Readonly<Record<string, number>>;
  readonly latency: Partial<Record<Operation, LatencyCounts>>;
}

export function tallyToData(tally: Tally): TallyData {
  const latency: Partial<Record<Operation, LatencyCounts>> = {};
  for (const [op, l] of Object.entries(tally.latency) as [Operation, Latency][])
    latency[op] = l.toCounts();
  const { started, ok, errors } = tally;
  return { started, ok, errors, errorsByStatus: { ...tally.errorsByStatus }, latency };
}

/** Adds what `data` counted to `tally`: counts summed, histograms merged bucket by bucket. */
export function addTallyData(tally: Tally, data: TallyData): void {
  tally.started += data.started;
  tally.ok += data.ok;
  tally.errors += data.errors;
  for (const [kind, n] of Object.entries(data.errorsByStatus))
    tally.errorsByStatus[kind] = (tally.errorsByStatus[kind] ?? 0) + n;
  for (const [op, counts] of Object.entries(data.latency) as [Operation, LatencyCounts][])
    (tally.latency[op] ??= new Latency()).add(Latency.fromCounts(counts));
}

export function recordOk(tally: Tally, op: Operation, latencyNs: bigint | number): void {
  (tally.latency[op] ??= new Latency()).recordNs(latencyNs);
  tally.ok++;
}

export function recordError(tally: Tally, e: unknown): void {
  tally.errors++;
  const kind = errorKind(e);
  tally.errorsByStatus[kind] = (tally.errorsByStatus[kind] ?? 0) + 1;
}

/** What one operation of a workload needs, whoever paces it (closed loop or fixed rate). */
export type OperationOptions = Pick<
  PhaseOptions,
  'driver' | 'workload' | 'distribution' | 'records' | 'inserts' | 'valueBytes'
>;

/** The next operation, its key and value already chosen; `send` performs it. */
export interface PlannedOperation {
  readonly op: Operation;
  readonly send: () => Promise<void>;
}

/**
 * A seeded stream of operations: kind, then key, then value, drawn in that order from one
 * generator (the order the harness has always drawn them in, so a seed replays the same run).
 */
export function operationMaker(options: OperationOptions, seed: number): () => PlannedOperation {
  const { driver, workload } = options;
  const random = seededRandom(seed);
  const chooseKey =
    options.records > 0 ? keyChooser(options.distribution, options.records, random) : () => 0;
  const makeValue = valueMaker(options.valueBytes, random);
  return () => {
    let op = chooseOperation(workload, random);
    if (op !== 'insert' && options.records === 0) op = 'insert';
    if (op === 'read') {
      const key = recordKey(chooseKey());
      return { op, send: () => driver.read(key) };
    }
    const key = recordKey(op === 'update' ? chooseKey() : options.inserts.take());
    const value = makeValue();
    return op === 'update'
      ? { op, send: () => driver.update(key, value) }
      : { op, send: () => driver.insert(key, value) };
  };
}

export async function runPhase(options: PhaseOptions): Promise<PhaseResult> {
  const { tally, durationMs } = await runPhaseTally(options);
  return phaseResult(tally, durationMs);
}

/** runPhase's phase, its tally as it stands at the end (what a load worker sends back). */
export async function runPhaseTally(
  options: PhaseOptions,
): Promise<{ tally: Tally; durationMs: number }> {
  if (
    !Number.isInteger(options.concurrency) ||
    options.concurrency < 1 ||
    options.concurrency > concurrencyMax
  )
    throw new RangeError(`concurrency must be in 1..${concurrencyMax}`);
  const tally = newTally();
  // Every worker's operation stream (its key chooser) is built before the clock starts: building
  // one is not part of the phase, and a stream built inside it once held the event loop while
  // other workers' requests were in flight.
  const streams = Array.from({ length: options.concurrency }, (_, i) =>
    operationMaker(options, options.seed + i * workerSeedStep),
  );
  // One monotonic clock both ends the phase and measures it: a deadline on the wall clock (whole
  // ms) once ended a 50 ms phase that hrtime measured as 49 ms.
  const startedMs = performance.now();
  const more = stopRule(options.stop, startedMs, tally);
  const progress = options.onProgress;
  const ticker = progress
    ? setInterval(() => progress(tally.ok + tally.errors), progressIntervalMs)
    : undefined;
  ticker?.unref();
  try {
    await Promise.all(streams.map((next) => phaseWorker(next, more, tally)));
  } finally {
    if (ticker) clearInterval(ticker);
  }
  progress?.(tally.ok + tally.errors);
  return { tally, durationMs: performance.now() - startedMs };
}

/** Whether a worker may start another operation, by the clock that measures the phase. */
function stopRule(stop: Stop, startedMs: number, tally: Tally): () => boolean {
  const endMs =
    'durationMs' in stop
      ? startedMs + Math.min(stop.durationMs, durationMsMax)
      : Number.POSITIVE_INFINITY;
  const operationsLimit =
    'operations' in stop ? Math.min(stop.operations, operationsMax) : Number.POSITIVE_INFINITY;
  return () => tally.started < operationsLimit && performance.now() < endMs;
}

/** Seed spacing between workers (2^32 over the golden ratio): their streams start far apart. */
const workerSeedStep = 0x9e3779b9;

/** One closed-loop worker: the next operation as soon as the last one answered, while `more`. */
async function phaseWorker(
  next: () => PlannedOperation,
  more: () => boolean,
  tally: Tally,
): Promise<void> {
  while (more()) {
    tally.started++;
    const { op, send } = next();
    const t0 = process.hrtime.bigint();
    try {
      await send();
      recordOk(tally, op, process.hrtime.bigint() - t0);
    } catch (e) {
      recordError(tally, e);
    }
  }
}

export function phaseResult(tally: Tally, durationMs: number): PhaseResult {
  const all = new Latency();
  const byOperation: Partial<Record<Operation, LatencySummary>> = {};
  for (const [op, l] of Object.entries(tally.latency) as [Operation, Latency][]) {
    all.add(l);
    byOperation[op] = l.summary();
  }
  const { ok, errors } = tally;
  return {
    operations: ok + errors,
    ok,
    errors,
    errorsByStatus: tally.errorsByStatus,
    durationMs: Math.round(durationMs),
    opsPerSecond: durationMs > 0 ? Math.round((ok * 1000) / durationMs) : 0,
    latency: all.summary(),
    byOperation,
  };
}

/** Tries per record in the load phase: a user retries a failed insert a few times, not forever. */
export const loadAttemptsMax = 3;

/**
 * The load phase: inserts records 0..records-1 once, `concurrency` at a time, each with the same
 * retries a user would make (bounded: `attempts` per record). Throws if any record could not be loaded.
 */
export async function loadRecords(
  driver: Driver,
  records: number,
  valueBytes: number,
  concurrency: number,
  seed: number,
  onProgress?: (done: number) => void,
  attempts = loadAttemptsMax,
): Promise<{ durationMs: number; retries: number }> {
  let next = 0;
  let done = 0;
  let retries = 0;
  const startedMs = performance.now();
  const ticker = onProgress ? setInterval(() => onProgress(done), progressIntervalMs) : undefined;
  ticker?.unref();
  const worker = async (index: number): Promise<void> => {
    const makeValue = valueMaker(valueBytes, seededRandom(seed ^ (index + 1)));
    while (next < records) {
      const i = next++;
      for (let attempt = 1; ; attempt++) {
        try {
          await driver.insert(recordKey(i), makeValue());
          break;
        } catch (e) {
          if (attempt >= attempts)
            throw new Error(
              `loading record ${i} failed ${attempts} times: ${e instanceof Error ? e.message : String(e)}`,
            );
          retries++;
        }
      }
      done++;
    }
  };
  try {
    await Promise.all(
      Array.from({ length: Math.max(1, Math.min(concurrency, records)) }, (_, i) => worker(i)),
    );
  } finally {
    if (ticker) clearInterval(ticker);
  }
  onProgress?.(done);
  return { durationMs: Math.round(performance.now() - startedMs), retries };
}
