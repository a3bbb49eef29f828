// Runs the fault schedule against a live cluster: at each window's start the fault is put in place,
// at its end it is healed. A fault this machine cannot do is skipped with the reason, never faked.
import { setTimeout as sleep } from 'node:timers/promises';
import type { Cluster } from '../cluster.js';
import type { Network } from './network.js';
import type { WindowRecord } from './report.js';
import { describeFault, type Fault, type FaultWindow } from './schedule.js';

export interface NemesisDeps {
  readonly cluster: Cluster;
  readonly network: Network;
  /** Milliseconds since the start of the workload. */
  readonly nowMs: () => number;
  readonly log: (line: string) => void;
}

/** Puts a fault in place. */
export async function applyFault(fault: Fault, deps: NemesisDeps): Promise<void> {
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
export async function healFault(fault: Fault, deps: NemesisDeps): Promise<void> {
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
 * `stop` aborts is healed before returning. Returns what happened to each window.
 */
export async function runSchedule(
  windows: readonly FaultWindow[],
  deps: NemesisDeps,
  stop: AbortSignal,
): Promise<WindowRecord[]> {
  const records: WindowRecord[] = [];
  for (const window of windows) {
    if (stop.aborted) break;
    await sleepUntil(window.startMs, deps, stop);
    if (stop.aborted) break;
    records.push(await runWindow(window, deps, stop));
  }
  return records;
}

async function runWindow(
  window: FaultWindow,
  deps: NemesisDeps,
  stop: AbortSignal,
): Promise<WindowRecord> {
  const method =
    window.fault.kind === 'link' && !deps.network.linkMethod.startsWith('tc netem')
      ? ` (done here as ${deps.network.linkMethod})`
      : '';
  const base = {
    index: window.index,
    kind: window.fault.kind,
    description: `${describeFault(window.fault)}${method}`,
    startMs: window.startMs,
    endMs: window.endMs,
  };
  const skipped = deps.network.unavailable(window.fault.kind);
  if (skipped !== undefined) {
    deps.log(`nemesis ${window.index}: skipped ${base.description}: ${skipped}`);
    // The load runs through the window as if healthy: the run keeps the schedule's timing.
    await sleepUntil(window.endMs, deps, stop);
    return { ...base, skipped };
  }
  deps.log(`nemesis ${window.index} at ${(deps.nowMs() / 1000).toFixed(1)} s: ${base.description}`);
  let appliedMs: number | undefined;
  let error: string | undefined;
  try {
    await applyFault(window.fault, deps);
    appliedMs = deps.nowMs();
    await sleepUntil(window.endMs, deps, stop);
  } catch (e) {
    error = `apply: ${(e as Error).message}`;
    deps.log(`nemesis ${window.index}: ${error}`);
  }
  try {
    await healFault(window.fault, deps);
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
