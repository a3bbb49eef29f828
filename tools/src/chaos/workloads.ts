// The client side of a run: workers that write unique keys (put at W) or add elements to a few
// sets (the SDK's update, read-merge-write), each operation recorded as invoke and ok / fail /
// unknown. A worker has its own SDK client, as independent application servers would.
import { setTimeout as sleep } from 'node:timers/promises';
import { status } from '@grpc/grpc-js';
import { connect, RingstoreClientError, type Client } from '@ringstore/client';
import type { CompletionType, History, WorkloadName } from './history.js';
import { mergeFor, type SetMerge } from './set-value.js';

export interface WorkloadOptions {
  readonly name: WorkloadName;
  /** Workers, each with its own client and at most one operation at a time. */
  readonly concurrency: number;
  /** Operations started per second, all workers together. */
  readonly ratePerSecond: number;
  /** Keys of the set workload. */
  readonly setKeys: number;
  readonly w: number;
  readonly deadlineMs: number;
  readonly merge: SetMerge;
}

export interface WorkloadDeps {
  readonly seeds: readonly string[];
  readonly history: History;
  /** Milliseconds since the start of the workload. */
  readonly nowMs: () => number;
  /** Wall clock, for the set values' last-writer-wins stamps. */
  readonly wallMs: () => number;
  /** A seeded choice of the set key for an element. */
  readonly pickKey: (count: number) => number;
}

/** Operations one worker runs at most: a day at 1,000 operations per second. */
export const opsPerWorkerMax = 86_400_000;

/** Most connect attempts of a worker: half-second tries for over 13 hours, past any run. */
export const connectAttemptsMax = 100_000;
/** Between connect attempts while every seed is down: a restarted node is found within it. */
export const connectRetryMs = 500;
/** How long a worker's client avoids a node that failed: a second, so one back is soon used. */
export const failedNodeMemoryMs = 1_000;

/** The set workload's keys. */
export function setKey(index: number): string {
  return `chaos-set-${index}`;
}

/**
 * How a failed operation ends in the history. Only an error that proves the write was not applied
 * (or an operation whose write never started) is 'fail'; everything else may have been applied.
 */
export function classifyError(e: unknown, writeMayHaveStarted: boolean): CompletionType {
  if (!writeMayHaveStarted) return 'fail';
  if (
    e instanceof RingstoreClientError &&
    (e.notApplied || e.code === Number(status.INVALID_ARGUMENT))
  )
    return 'fail';
  return 'unknown';
}

/** Runs the workload's workers until `stop` aborts. */
export async function runWorkload(
  options: WorkloadOptions,
  deps: WorkloadDeps,
  stop: AbortSignal,
): Promise<void> {
  const elements = { next: 0 };
  const intervalMs = (options.concurrency * 1000) / options.ratePerSecond;
  await Promise.all(
    Array.from({ length: options.concurrency }, (_, index) =>
      worker(index, { options, deps, elements, intervalMs }, stop),
    ),
  );
}

interface WorkerContext {
  readonly options: WorkloadOptions;
  readonly deps: WorkloadDeps;
  readonly elements: { next: number };
  readonly intervalMs: number;
}

async function worker(index: number, ctx: WorkerContext, stop: AbortSignal): Promise<void> {
  const client = await connectUntil(ctx.deps.seeds, ctx.options.deadlineMs, stop);
  if (client === undefined) return;
  try {
    // Workers start staggered over one interval, then each keeps its own pace.
    let dueMs = (ctx.intervalMs * index) / ctx.options.concurrency;
    for (let seq = 0; seq < opsPerWorkerMax && !stop.aborted; seq++) {
      const waitMs = dueMs - ctx.deps.nowMs();
      if (waitMs > 0) await sleep(waitMs);
      if (stop.aborted) break;
      await (ctx.options.name === 'unique-keys'
        ? writeUnique(client, index, seq, ctx)
        : addElement(client, index, ctx));
      // A worker that fell behind (a slow operation) does not burst to catch up.
      dueMs = Math.max(dueMs + ctx.intervalMs, ctx.deps.nowMs());
    }
  } finally {
    client.close();
  }
}

/** connect() retried every half second while every seed is down, until stop. */
async function connectUntil(
  seeds: readonly string[],
  deadlineMs: number,
  stop: AbortSignal,
): Promise<Client | undefined> {
  for (let attempt = 0; attempt < connectAttemptsMax && !stop.aborted; attempt++) {
    try {
      return await connect({ seeds, deadlineMs, failedNodeMemoryMs });
    } catch {
      await sleep(connectRetryMs);
    }
  }
  return undefined;
}

async function writeUnique(
  client: Client,
  worker: number,
  seq: number,
  ctx: WorkerContext,
): Promise<void> {
  const key = `chaos-u-${worker}-${seq}`;
  const value = `v-${worker}-${seq}`;
  const op = ctx.deps.history.invoke('unique-keys', worker, 'write', key, value);
  try {
    await client.put(key, value, { w: ctx.options.w, deadlineMs: ctx.options.deadlineMs });
    ctx.deps.history.complete(op, 'ok');
  } catch (e) {
    ctx.deps.history.complete(op, classifyError(e, true), describe(e));
  }
}

async function addElement(client: Client, worker: number, ctx: WorkerContext): Promise<void> {
  const key = setKey(ctx.deps.pickKey(ctx.options.setKeys));
  const element = String(ctx.elements.next++);
  const op = ctx.deps.history.invoke('set', worker, 'add', key, element);
  let merged = false;
  const merge = mergeFor(ctx.options.merge, element, ctx.deps.wallMs());
  try {
    await client.update(
      key,
      (values) => {
        merged = true;
        return merge(values);
      },
      { w: ctx.options.w, deadlineMs: ctx.options.deadlineMs },
    );
    ctx.deps.history.complete(op, 'ok');
  } catch (e) {
    // No merge call: no round got past its read, so nothing was written.
    ctx.deps.history.complete(op, classifyError(e, merged), describe(e));
  }
}

function describe(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}
