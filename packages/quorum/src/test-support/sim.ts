import {
  startGet,
  startPut,
  stepGet,
  stepPut,
  type GetEffect,
  type GetEvent,
  type GetOptions,
  type PutEffect,
  type PutEvent,
  type PutOptions,
} from '../index.js';
import { EventQueue, simEventsMax } from './event-queue.js';
import { createRng, intBetween } from './rng.js';
import type { Siblings } from './siblings.js';

/** How the fake network treats each request a coordinator sends. */
export interface NetworkModel {
  /** The request or its answer is lost: the replica never answers. */
  readonly dropProbability: number;
  /** The replica answers with an error (down, overloaded, refused). */
  readonly failProbability: number;
  /** The answer arrives twice (a retried frame). */
  readonly duplicateProbability: number;
  /** Each delivery takes a uniform 0..delayMaxMs; unequal delays reorder answers. */
  readonly delayMaxMs: number;
}

/** How the coordinator's own storage answers its local write (persist-local). */
export interface DiskModel {
  /** The write fails (disk full, storage closed): the coordinator reports local-failed. */
  readonly failProbability: number;
  /** The write answers after a uniform 0..delayMaxMs; longer than the deadline means it is late. */
  readonly delayMaxMs: number;
}

/** One step of a run: the event delivered (undefined for the start) and the effects it produced. */
export interface TraceEntry<Ev, Ef> {
  readonly atMs: number;
  readonly event: Ev | undefined;
  readonly effects: readonly Ef[];
}

export type Trace<Ev, Ef> = readonly TraceEntry<Ev, Ef>[];

/** What a replica holds, for a simulated get. */
export interface ReplicaCopy {
  readonly object: Siblings | undefined;
  readonly corrupt: boolean;
}

function deliverAnswer<E>(
  queue: EventQueue<E>,
  rng: () => number,
  net: NetworkModel,
  answer: (failed: boolean) => E,
): void {
  if (rng() < net.dropProbability) return;
  const event = answer(rng() < net.failProbability);
  const copies = rng() < net.duplicateProbability ? 2 : 1;
  for (let i = 0; i < copies; i += 1) queue.push(intBetween(rng, 0, net.delayMaxMs), event);
}

/**
 * Delivers events until none is left, timers included, and keeps going after 'done' so that stale
 * answers and timers reach the machine too (a real shell may race them the same way).
 */
function drive<S, Ev, Ef>(
  queue: EventQueue<Ev>,
  start: { state: S; effects: Ef[] },
  step: (state: S, event: Ev) => { state: S; effects: Ef[] },
  perform: (effect: Ef) => void,
): Trace<Ev, Ef> {
  const trace: TraceEntry<Ev, Ef>[] = [{ atMs: 0, event: undefined, effects: start.effects }];
  start.effects.forEach(perform);
  let state = start.state;
  for (let n = 0; n < simEventsMax; n += 1) {
    const event = queue.pop();
    if (event === undefined) return trace;
    const next = step(state, event);
    state = next.state;
    trace.push({ atMs: queue.nowMs, event, effects: next.effects });
    next.effects.forEach(perform);
  }
  throw new Error(`simulation exceeded simEventsMax=${simEventsMax}`);
}

/** The local write always answers, exactly once: it is this process's own storage, not a peer. */
function deliverLocal(queue: EventQueue<PutEvent>, rng: () => number, disk: DiskModel): void {
  const event: PutEvent =
    rng() < disk.failProbability
      ? { type: 'local-failed', reason: 'disk full' }
      : { type: 'local-written' };
  queue.push(intBetween(rng, 0, disk.delayMaxMs), event);
}

export function simulatePut(
  seed: number,
  options: PutOptions,
  net: NetworkModel,
  disk: DiskModel,
): Trace<PutEvent, PutEffect> {
  const rng = createRng(seed);
  const queue = new EventQueue<PutEvent>();
  const perform = (effect: PutEffect): void => {
    if (effect.type === 'schedule-timeout') queue.push(effect.afterMs, effect.fire);
    if (effect.type === 'persist-local') deliverLocal(queue, rng, disk);
    if (effect.type !== 'replicate') return;
    const { nodeId } = effect;
    deliverAnswer(queue, rng, net, (failed): PutEvent =>
      failed ? { type: 'fail', nodeId, reason: 'replica down' } : { type: 'ack', nodeId },
    );
  };
  return drive(queue, startPut(options), stepPut, perform);
}

export function simulateGet(
  seed: number,
  options: GetOptions<Siblings>,
  copies: ReadonlyMap<string, ReplicaCopy>,
  net: NetworkModel,
): Trace<GetEvent<Siblings>, GetEffect<Siblings>> {
  const rng = createRng(seed);
  const queue = new EventQueue<GetEvent<Siblings>>();
  const perform = (effect: GetEffect<Siblings>): void => {
    if (effect.type === 'schedule-timeout') queue.push(effect.afterMs, effect.fire);
    if (effect.type !== 'read') return;
    const { nodeId } = effect;
    const copy = copies.get(nodeId) ?? { object: undefined, corrupt: false };
    deliverAnswer(queue, rng, net, (failed): GetEvent<Siblings> =>
      failed
        ? { type: 'fail', nodeId, reason: 'replica down' }
        : {
            type: 'reply',
            nodeId,
            object: copy.corrupt ? undefined : copy.object,
            corrupt: copy.corrupt,
          },
    );
  };
  return drive(queue, startGet(options), stepGet<Siblings>, perform);
}
