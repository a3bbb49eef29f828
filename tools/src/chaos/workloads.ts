// The client side of a run: workers that write unique keys (put at W), add elements to a few
// sets (the SDK's update, read-merge-write), or write, delete and write again keys of their own
// (delete), each operation recorded as invoke and ok / fail / unknown, with the overload answers
// (RESOURCE_EXHAUSTED) its attempts got. A worker has its own SDK client, as independent
// application servers would, plaintext or TLS with a write token (--tls).
import { setTimeout as sleep } from 'node:timers/promises';
import { status } from '@grpc/grpc-js';
import {
  connect,
  OverloadedError,
  RingstoreClientError,
  type Client,
  type ConnectOptions,
} from '@ringstore/client';
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

/** How the workload's SDK clients reach the nodes: nothing (plaintext), or TLS and a token. */
export type ClientSecurity = Pick<ConnectOptions, 'tls' | 'token'>;

export interface WorkloadDeps {
  readonly seeds: readonly string[];
  readonly security: ClientSecurity;
  readonly history: History;
  /** Milliseconds since the start of the workload. */
  readonly nowMs: () => number;
  /** Wall clock, for the set values' last-writer-wins stamps. */
  readonly wallMs: () => number;
  /** A seeded choice in 0..count-1: the set key for an element, the delete workload's next step. */
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
  const client = await connectUntil(ctx.deps, ctx.options.deadlineMs, stop);
  if (client === undefined) return;
  const keys: DeleteKeys = { live: [], deleted: [] };
  try {
    // Workers start staggered over one interval, then each keeps its own pace.
    let dueMs = (ctx.intervalMs * index) / ctx.options.concurrency;
    for (let seq = 0; seq < opsPerWorkerMax && !stop.aborted; seq++) {
      const waitMs = dueMs - ctx.deps.nowMs();
      if (waitMs > 0) await sleep(waitMs);
      if (stop.aborted) break;
      if (ctx.options.name === 'unique-keys') await writeUnique(client, index, seq, ctx);
      else if (ctx.options.name === 'set') await addElement(client, index, ctx);
      else await deleteStep(client, { worker: index, seq, keys }, ctx);
      // A worker that fell behind (a slow operation) does not burst to catch up.
      dueMs = Math.max(dueMs + ctx.intervalMs, ctx.deps.nowMs());
    }
  } finally {
    client.close();
  }
}

/** connect() retried every half second while every seed is down, until stop. */
async function connectUntil(
  deps: WorkloadDeps,
  deadlineMs: number,
  stop: AbortSignal,
): Promise<Client | undefined> {
  const seeds = [...deps.seeds];
  for (let attempt = 0; attempt < connectAttemptsMax && !stop.aborted; attempt++) {
    try {
      return await connect({ seeds, deadlineMs, failedNodeMemoryMs, ...deps.security });
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
  const done = completion(ctx.deps.history, client, op);
  try {
    await client.put(key, value, { w: ctx.options.w, deadlineMs: ctx.options.deadlineMs });
    done('ok');
  } catch (e) {
    done(classifyError(e, true), e);
  }
}

async function addElement(client: Client, worker: number, ctx: WorkerContext): Promise<void> {
  const key = setKey(ctx.deps.pickKey(ctx.options.setKeys));
  const element = String(ctx.elements.next++);
  const op = ctx.deps.history.invoke('set', worker, 'add', key, element);
  const done = completion(ctx.deps.history, client, op);
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
    done('ok');
  } catch (e) {
    // No merge call: no round got past its read, so nothing was written.
    done(classifyError(e, merged), e);
  }
}

/** A delete-workload worker's keys: written and not deleted (to delete), deleted (to write again). */
interface DeleteKeys {
  readonly live: string[];
  readonly deleted: string[];
}

/** Keys a worker remembers of each kind; older ones are no longer chosen (bounds its memory). */
export const deleteKeysMax = 1_000;
/** Out of 100 steps: deletes of a live key, then writes again of a deleted key; the rest write a new key. */
const deletePercent = 40;
const rewritePercent = 15;

interface DeleteStep {
  readonly worker: number;
  readonly seq: number;
  readonly keys: DeleteKeys;
}

/**
 * One step of the delete workload. A delete and a write-again read the key first and carry that
 * read's context: the history records the values it covered, which the checker then expects gone.
 */
async function deleteStep(client: Client, step: DeleteStep, ctx: WorkerContext): Promise<void> {
  const roll = ctx.deps.pickKey(100);
  const { live, deleted } = step.keys;
  if (roll < deletePercent && live.length > 0) return deleteKey(client, step, take(live, ctx), ctx);
  if (roll < deletePercent + rewritePercent && deleted.length > 0)
    return writeKey(client, step, take(deleted, ctx), ctx);
  return writeKey(client, step, undefined, ctx);
}

function take(keys: string[], ctx: WorkerContext): string {
  return keys.splice(ctx.deps.pickKey(keys.length), 1)[0] as string;
}

function remember(keys: string[], key: string): void {
  keys.push(key);
  if (keys.length > deleteKeysMax) keys.shift();
}

/** The live values of a read, and its context; undefined when the read failed (nothing is recorded). */
async function readFirst(
  client: Client,
  key: string,
  ctx: WorkerContext,
): Promise<{ covers: string[]; context: Buffer } | undefined> {
  try {
    const read = await client.get(key, { r: ctx.options.w, deadlineMs: ctx.options.deadlineMs });
    const covers = read.siblings.filter((s) => !s.deleted).map((s) => s.value.toString('utf8'));
    return { covers, context: read.context };
  } catch {
    return undefined;
  }
}

async function deleteKey(
  client: Client,
  step: DeleteStep,
  key: string,
  ctx: WorkerContext,
): Promise<void> {
  const overloadedBefore = client.stats().overloaded;
  const read = await readFirst(client, key, ctx);
  if (read === undefined) return remember(step.keys.live, key);
  const element = `tomb-${step.worker}-${step.seq}`;
  const history = ctx.deps.history;
  const op = history.invoke('delete', step.worker, 'delete', key, element, read.covers);
  const done = completion(history, client, op, overloadedBefore);
  try {
    await client.delete(key, {
      context: read.context,
      w: ctx.options.w,
      deadlineMs: ctx.options.deadlineMs,
    });
    done('ok');
    remember(step.keys.deleted, key);
  } catch (e) {
    const type = classifyError(e, true);
    done(type, e);
    // A delete that may have been applied leaves the key out of both lists.
    if (type === 'fail') remember(step.keys.live, key);
  }
}

/** A new key (`again` undefined), or a deleted key written again with its read's context. */
async function writeKey(
  client: Client,
  step: DeleteStep,
  again: string | undefined,
  ctx: WorkerContext,
): Promise<void> {
  const key = again ?? `chaos-d-${step.worker}-${step.seq}`;
  const overloadedBefore = client.stats().overloaded;
  const read =
    again === undefined ? { covers: [], context: undefined } : await readFirst(client, again, ctx);
  if (read === undefined) return remember(step.keys.deleted, key);
  const value = `d-${step.worker}-${step.seq}`;
  const history = ctx.deps.history;
  const op = history.invoke('delete', step.worker, 'write', key, value, read.covers);
  const done = completion(history, client, op, overloadedBefore);
  try {
    await client.put(key, value, {
      context: read.context,
      w: ctx.options.w,
      deadlineMs: ctx.options.deadlineMs,
    });
    done('ok');
    remember(step.keys.live, key);
  } catch (e) {
    done(classifyError(e, true), e);
  }
}

/**
 * Completes `op` in the history: its type, the error, whether it ended refused as overloaded, and
 * the overload answers its attempts got (the worker's client runs one operation at a time, so its
 * counter's growth since `overloadedBefore` is this operation's).
 */
function completion(
  history: History,
  client: Client,
  op: number,
  overloadedBefore = client.stats().overloaded,
): (type: CompletionType, e?: unknown) => void {
  return (type, e) =>
    history.complete(op, type, {
      error: e === undefined ? undefined : describe(e),
      overloadAnswers: client.stats().overloaded - overloadedBefore,
      overloaded: e instanceof OverloadedError,
    });
}

function describe(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}
