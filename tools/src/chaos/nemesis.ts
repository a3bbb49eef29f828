// Runs the fault schedule against a live cluster: at each window's start the fault is put in place,
// at its end it is healed. A fault this machine cannot do is skipped with the reason, never faked.
import { setTimeout as sleep } from 'node:timers/promises';
import type { Cluster } from '../cluster.js';
import { changeMembership, type MembershipDeps } from './membership.js';
import type { MembershipFault } from './membership-schedule.js';
import type { WindowRecord } from './report.js';
import { describeFault, type Fault, type FaultWindow } from './schedule.js';

/** The cluster, its network, the clock and log, the departed nodes, the Cluster RPCs. */
export type NemesisDeps = MembershipDeps;

type HealingFault = Exclude<Fault, MembershipFault>;

/** Puts a fault in place. */
export async function applyFault(fault: HealingFault, deps: NemesisDeps): Promise<void> {
  switch (fault.kind) {
    case 'partition':
      return deps.network.drop(fault.drops);
    case 'kill':
      await Promise.all(fault.nodes.map((id) => deps.cluster.kill(id)));
      return;
    case 'pause':
      for (const id of fault.nodes) signal(deps.cluster, id, 'SIGSTOP');
      return;
    case 'link':
      for (const id of fault.nodes) await deps.network.slowLink(id, fault);
      return;
  }
}

/** Undoes a fault: heals the network, restarts killed nodes, resumes paused ones. */
export async function healFault(fault: HealingFault, deps: NemesisDeps): Promise<void> {
  switch (fault.kind) {
    case 'partition':
      return deps.network.heal();
    case 'kill':
      await Promise.all(fault.nodes.map((id) => deps.cluster.restart(id)));
      return;
    case 'pause':
      for (const id of fault.nodes) signal(deps.cluster, id, 'SIGCONT');
      return;
    case 'link':
      for (const id of fault.nodes) await deps.network.healLink(id);
      return;
  }
}

function signal(cluster: Cluster, id: string, name: NodeJS.Signals): void {
  const node = cluster.node(id);
  if (!node.running || node.pid <= 0)
    throw new Error(`node ${id} is not running: cannot send ${name}`);
  process.kill(node.pid, name);
}

/**
 * Runs every window in turn until the schedule ends or `stop` aborts; a window under way when
 * `stop` aborts is healed before returning. A membership window lasts until its transition ends:
 * when that is past the window's end, every later window moves by as much, so the quiet time
 * between faults stays. Returns what happened to each window.
 */
export async function runSchedule(
  windows: readonly FaultWindow[],
  deps: NemesisDeps,
  stop: AbortSignal,
): Promise<WindowRecord[]> {
  const records: WindowRecord[] = [];
  let lateMs = 0;
  for (const window of windows) {
    if (stop.aborted) break;
    await sleepUntil(window.startMs + lateMs, deps, stop);
    if (stop.aborted) break;
    const record =
      window.fault.kind === 'membership'
        ? await runMembershipWindow(window, window.fault, deps, lateMs, stop)
        : await runWindow(window, window.fault, deps, lateMs, stop);
    if (window.fault.kind === 'membership')
      lateMs = Math.max(lateMs, (record.healedMs ?? 0) - window.endMs);
    records.push(record);
  }
  return records;
}

/** Changes the membership; heals (ends) when the transition has ended, at the window's end at the earliest. */
async function runMembershipWindow(
  window: FaultWindow,
  fault: MembershipFault,
  deps: NemesisDeps,
  lateMs: number,
  stop: AbortSignal,
): Promise<WindowRecord> {
  const description = describeFault(fault);
  deps.log(`nemesis ${window.index} at ${(deps.nowMs() / 1000).toFixed(1)} s: ${description}`);
  const transition = await changeMembership(fault, deps);
  if (transition.midTransfer !== undefined)
    deps.log(`nemesis ${window.index}: ${transition.midTransfer}`);
  if (transition.error !== undefined) deps.log(`nemesis ${window.index}: ${transition.error}`);
  await sleepUntil(window.endMs + lateMs, deps, stop);
  const healedMs = deps.nowMs();
  deps.log(
    `nemesis ${window.index} ended at ${(healedMs / 1000).toFixed(1)} s (ring v${transition.versionBefore ?? '?'} -> v${transition.versionAfter ?? '?'})`,
  );
  return {
    index: window.index,
    kind: 'membership',
    description,
    startMs: window.startMs,
    endMs: window.endMs,
    appliedMs: transition.committedMs,
    healedMs,
    error: transition.error,
    transition,
  };
}

async function runWindow(
  window: FaultWindow,
  fault: HealingFault,
  deps: NemesisDeps,
  lateMs: number,
  stop: AbortSignal,
): Promise<WindowRecord> {
  const method =
    fault.kind === 'link' && !deps.network.linkMethod.startsWith('tc netem')
      ? ` (done here as ${deps.network.linkMethod})`
      : '';
  const base = {
    index: window.index,
    kind: fault.kind,
    description: `${describeFault(fault)}${method}`,
    startMs: window.startMs,
    endMs: window.endMs,
  };
  const skipped = deps.network.unavailable(fault.kind);
  if (skipped !== undefined) {
    deps.log(`nemesis ${window.index}: skipped ${base.description}: ${skipped}`);
    // The load runs through the window as if healthy: the run keeps the schedule's timing.
    await sleepUntil(window.endMs + lateMs, deps, stop);
    return { ...base, skipped };
  }
  deps.log(`nemesis ${window.index} at ${(deps.nowMs() / 1000).toFixed(1)} s: ${base.description}`);
  let appliedMs: number | undefined;
  let error: string | undefined;
  try {
    await applyFault(fault, deps);
    appliedMs = deps.nowMs();
    await sleepUntil(window.endMs + lateMs, deps, stop);
  } catch (e) {
    error = `apply: ${(e as Error).message}`;
    deps.log(`nemesis ${window.index}: ${error}`);
  }
  try {
    await healFault(fault, deps);
  } catch (e) {
    error = `${error === undefined ? '' : `${error}; `}heal: ${(e as Error).message}`;
    deps.log(`nemesis ${window.index}: ${error}`);
  }
  const healedMs = deps.nowMs();
  deps.log(`nemesis ${window.index} healed at ${(healedMs / 1000).toFixed(1)} s`);
  return { ...base, appliedMs, healedMs, error };
}

/** Most a single sleep lasts before checking again: keeps the wait bounded and abortable. */
const sleepSliceMs = 500;
/** Most slices of one wait: 10 million half seconds (58 days) is past any schedule. */
const sleepSlicesMax = 10_000_000;

async function sleepUntil(atMs: number, deps: NemesisDeps, stop: AbortSignal): Promise<void> {
  for (let i = 0; i < sleepSlicesMax && !stop.aborted; i++) {
    const leftMs = atMs - deps.nowMs();
    if (leftMs <= 0) return;
    // An abort ends the sleep at once (the rejection is the signal, not an error).
    await sleep(Math.min(leftMs, sleepSliceMs), undefined, { signal: stop }).catch(() => undefined);
  }
}
