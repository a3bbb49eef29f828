import { assert } from './assert.js';
import type { PreferenceEntry } from '@ringstore/ring';
import { targetsMax } from './types.js';

/** Checks what the shell passes in; every violation is a bug in the caller. */
export function checkTargets(targets: readonly PreferenceEntry[]): ReadonlySet<string> {
  assert(targets.length <= targetsMax, `${targets.length} targets exceed targetsMax=${targetsMax}`);
  const ids = new Set<string>();
  for (const target of targets) {
    assert(target.nodeId.length > 0, 'a target has an empty nodeId');
    assert(!ids.has(target.nodeId), `target ${target.nodeId} is named twice`);
    assert(target.hintFor !== target.nodeId, `target ${target.nodeId} is a fallback for itself`);
    ids.add(target.nodeId);
  }
  return ids;
}

/**
 * Pending replicas are written besides the preference list, never instead of an entry of it, and
 * the coordinator is never one: it writes first and serves reads, which a pending replica must not.
 */
export function checkPending(
  pending: readonly PreferenceEntry[],
  preferenceIds: ReadonlySet<string>,
  localNodeId: string,
): void {
  for (const entry of pending) {
    assert(entry.nodeId !== localNodeId, `coordinator ${localNodeId} is a pending replica`);
    assert(
      !preferenceIds.has(entry.nodeId),
      `pending replica ${entry.nodeId} is also in the preference list`,
    );
  }
}

export function checkQuorum(name: 'W' | 'R', value: number): void {
  assert(Number.isInteger(value) && value >= 1, `${name}=${value} must be an integer >= 1`);
}

export function checkDurationMs(name: string, valueMs: number, min: number): void {
  assert(
    Number.isFinite(valueMs) && valueMs >= min,
    `${name}=${valueMs} must be finite and >= ${min}`,
  );
}
