// Human and --json renderings of the membership answers (cluster join/leave/remove/replace, plan,
// commit, clear, status). Pure: message in, text out. uint64 fields follow format-anti-entropy.ts:
// a JSON number when exact, else a decimal string.
import type { Change, ClusterStatus, NodeMovement, Plan, Ring, Transfer } from '@ringstore/proto';
import { jsonInteger } from './format-anti-entropy.js';
import { formatTable, partitionsPerNode } from './format.js';
import { formatBytes, formatCount } from './format-units.js';

/** The order a transfer goes through its states, for counts per state. */
export const transferStates = ['pending', 'streaming', 'catch-up', 'read-new', 'done'] as const;

/** term.version, the order in which ring documents supersede each other. */
export function ringVersion(ring: Pick<Ring, 'term' | 'version'> | undefined): string {
  return ring === undefined ? '?' : `${ring.term}.${ring.version}`;
}

/** One change as a person says it: "join n4 at 127.0.0.1:7004 in zone z1". */
export function describeChange(change: Change): string {
  const kind = change.kind;
  if (kind === undefined) return '(empty change)';
  const zone = (z: string): string => (z === '' ? '' : ` in zone ${z}`);
  switch (kind.$case) {
    case 'join':
      return `join ${kind.value.id} at ${kind.value.address}${zone(kind.value.zone)}`;
    case 'leave':
      return `leave ${kind.value.id}`;
    case 'remove':
      return `remove ${kind.value.id}`;
    case 'replace': {
      const { old, id, address, dead } = kind.value;
      const gone = dead ? ' (dead)' : '';
      return `replace ${old} with ${id} at ${address}${zone(kind.value.zone)}${gone}`;
    }
  }
}

export function changeJson(change: Change): unknown {
  const kind = change.kind;
  if (kind === undefined) return { type: null };
  return { type: kind.$case, ...kind.value };
}

function plural(count: number, one: string, many = `${one}s`): string {
  return `${count} ${count === 1 ? one : many}`;
}

/** The change just staged, how many are staged, and (when more than one) every one of them. */
export function formatStagedHuman(staged: readonly Change[]): string {
  const last = staged.at(-1);
  const lines = [
    `staged: ${last === undefined ? 'nothing' : describeChange(last)} ` +
      `(${plural(staged.length, 'change')} staged; run \`ringctl cluster plan\`)`,
  ];
  if (staged.length > 1) lines.push(...staged.map((change) => `  ${describeChange(change)}`));
  return lines.join('\n') + '\n';
}

export function stagedJson(staged: readonly Change[]): unknown {
  return { staged: staged.map(changeJson) };
}

interface OwnedRow {
  readonly id: string;
  readonly statusBefore: string | undefined;
  readonly statusAfter: string | undefined;
  readonly before: number;
  readonly after: number;
}

/** Per node of either ring: its status and the partitions it first-owns, before and after. */
function ownedBeforeAfter(before: Ring | undefined, after: Ring | undefined): OwnedRow[] {
  const ids = [...(before?.nodes ?? []), ...(after?.nodes ?? [])].map((node) => node.id);
  const look = (ring: Ring | undefined, id: string) => {
    const index = ring?.nodes.findIndex((node) => node.id === id) ?? -1;
    if (ring === undefined || index < 0) return { status: undefined, owned: 0 };
    return { status: ring.nodes[index]?.status, owned: partitionsPerNode(ring)[index] ?? 0 };
  };
  return [...new Set(ids)].map((id) => {
    const b = look(before, id);
    const a = look(after, id);
    return { id, statusBefore: b.status, statusAfter: a.status, before: b.owned, after: a.owned };
  });
}

function statusChange(row: OwnedRow): string {
  const before = row.statusBefore ?? '-';
  const after = row.statusAfter ?? '-';
  return before === after ? before : `${before} -> ${after}`;
}

function formatMovementTable(movement: readonly NodeMovement[]): string {
  const header = ['NODE', 'IN', 'OUT', 'OBJECTS IN', 'BYTES IN', 'OBJECTS OUT', 'BYTES OUT'];
  const rows = movement.map((m) => [
    m.node,
    String(m.partitionsIn),
    String(m.partitionsOut),
    formatCount(m.objectsIn),
    formatBytes(m.bytesIn),
    formatCount(m.objectsOut),
    formatBytes(m.bytesOut),
  ]);
  return formatTable(header, rows);
}

/**
 * The staged changes, partitions owned per node before -> after, the partitions whose replica sets
 * change, replica-partitions in and out per node with estimated objects and bytes, the warnings.
 */
export function formatPlanHuman(plan: Plan): string {
  const { current, next } = plan;
  const changes = plan.changes.map((change) => `  ${describeChange(change)}`);
  const owned = ownedBeforeAfter(current, next).map((row) => [
    row.id,
    statusChange(row),
    `${row.before} -> ${row.after}`,
  ]);
  const partitionCount = current?.partitionCount ?? next?.partitionCount ?? 0;
  const text = [
    `staged changes (${plan.changes.length}):`,
    ...changes,
    `ring version ${ringVersion(current)} -> ${ringVersion(next)}, ` +
      'partitions owned per node (before -> after):',
    formatTable(['NODE', 'STATUS', 'PARTITIONS'], owned).trimEnd(),
    `partitions whose replica sets change: ${plan.transfers.length} of ${partitionCount} ` +
      `(replica-partitions moving: ${plan.replicaPartitionsMoving})`,
    'replica-partitions in and out per node (estimated per partition: ' +
      `${formatCount(plan.objectsPerPartition)} object${plan.objectsPerPartition === 1n ? '' : 's'}, ` +
      `${formatBytes(plan.bytesPerPartition)}):`,
    formatMovementTable(plan.movement).trimEnd(),
    ...plan.warnings.map((warning) => `warning: ${warning}`),
    'run `ringctl cluster commit` to apply',
  ];
  return text.join('\n') + '\n';
}

function transferJson(transfer: Transfer): unknown {
  return {
    partition: transfer.partition,
    added: transfer.added,
    removed: transfer.removed,
    state: transfer.state,
    since: jsonInteger(transfer.since),
  };
}

function ringSideJson(ring: Ring | undefined, rows: readonly OwnedRow[], side: 'before' | 'after') {
  return {
    term: ring === undefined ? null : jsonInteger(ring.term),
    version: ring === undefined ? null : jsonInteger(ring.version),
    nodes: rows
      .filter((row) => (side === 'before' ? row.statusBefore : row.statusAfter) !== undefined)
      .map((row) => ({
        id: row.id,
        status: side === 'before' ? row.statusBefore : row.statusAfter,
        partitions: side === 'before' ? row.before : row.after,
      })),
  };
}

export function planJson(plan: Plan): unknown {
  const rows = ownedBeforeAfter(plan.current, plan.next);
  return {
    changes: plan.changes.map(changeJson),
    before: ringSideJson(plan.current, rows, 'before'),
    after: ringSideJson(plan.next, rows, 'after'),
    partitionsChanging: plan.transfers.length,
    replicaPartitionsMoving: plan.replicaPartitionsMoving,
    objectsPerPartition: jsonInteger(plan.objectsPerPartition),
    bytesPerPartition: jsonInteger(plan.bytesPerPartition),
    movement: plan.movement.map((m) => ({
      node: m.node,
      partitionsIn: m.partitionsIn,
      partitionsOut: m.partitionsOut,
      objectsIn: jsonInteger(m.objectsIn),
      bytesIn: jsonInteger(m.bytesIn),
      objectsOut: jsonInteger(m.objectsOut),
      bytesOut: jsonInteger(m.bytesOut),
    })),
    transfers: plan.transfers.map(transferJson),
    warnings: plan.warnings,
  };
}

/** The ring version the commit wrote and the transfers it created, one line each. */
export function formatCommitHuman(ring: Ring | undefined): string {
  const transfers = ring?.transfers ?? [];
  const rows = transfers.map((t) => [
    String(t.partition),
    t.added.join(',') || '-',
    t.removed.join(',') || '-',
    t.state,
  ]);
  const lines = [
    `committed: ring version ${ringVersion(ring)}; ${plural(transfers.length, 'transfer')} created`,
  ];
  if (rows.length > 0) {
    lines.push(formatTable(['PARTITION', 'ADDED', 'REMOVED', 'STATE'], rows).trimEnd());
    lines.push('run `ringctl cluster transfers --watch` to follow them');
  }
  return lines.join('\n') + '\n';
}

export function commitJson(ring: Ring | undefined): unknown {
  return {
    ...ringVersionJson(ring),
    transfers: (ring?.transfers ?? []).map(transferJson),
  };
}

export function ringVersionJson(ring: Ring | undefined): { term: unknown; version: unknown } {
  return {
    term: ring === undefined ? null : jsonInteger(ring.term),
    version: ring === undefined ? null : jsonInteger(ring.version),
  };
}

export function formatCancelHuman(ring: Ring | undefined): string {
  return (
    `cancelled: ring version ${ringVersion(ring)}; the ring stays as it was ` +
    '(joining nodes removed, leaving ones valid again)\n'
  );
}

export function formatClaimantHuman(ring: Ring | undefined, force: boolean): string {
  const how = force ? 'taken over (a new term)' : 'handed over';
  return `claimant ${ring?.claimant || '?'}: ${how}, ring version ${ringVersion(ring)}\n`;
}

export function formatClearHuman(cleared: number): string {
  return cleared === 0 ? 'nothing was staged\n' : `cleared ${plural(cleared, 'staged change')}\n`;
}

/** Transfers per state, states in the order a transfer goes through them, unknown ones last. */
export function transfersByState(
  transfers: readonly Pick<Transfer, 'state'>[],
): Map<string, number> {
  const counts = new Map<string, number>(transferStates.map((state) => [state, 0]));
  for (const { state } of transfers) counts.set(state, (counts.get(state) ?? 0) + 1);
  for (const [state, count] of counts) if (count === 0) counts.delete(state);
  return counts;
}

/** "48 transfers (40 pending, 8 streaming)". */
export function formatTransferCounts(transfers: readonly Pick<Transfer, 'state'>[]): string {
  const parts = [...transfersByState(transfers)].map(([state, count]) => `${count} ${state}`);
  const suffix = parts.length === 0 ? '' : ` (${parts.join(', ')})`;
  return `${plural(transfers.length, 'transfer')}${suffix}`;
}

function appliedOf(status: ClusterStatus, id: string): string {
  const applied = status.applied.find((entry) => entry.node === id);
  // 0: the answering node has heard nothing from it yet.
  return applied === undefined || applied.version === 0n ? '-' : ringVersion(applied);
}

/** Staged changes are known to the claimant only; elsewhere say where to ask. */
function stagedLines(status: ClusterStatus, ring: Ring): string[] {
  if (status.node !== ring.claimant) {
    const address = ring.nodes.find((node) => node.id === ring.claimant)?.address ?? '?';
    return [
      `staged changes: known to the claimant only (ringctl --node ${address} cluster status)`,
    ];
  }
  if (status.staged.length === 0) return ['staged changes: none'];
  return [
    `staged changes (${status.staged.length}):`,
    ...status.staged.map((change) => `  ${describeChange(change)}`),
  ];
}

export function formatStatusHuman(status: ClusterStatus): string {
  const ring = status.ring;
  if (ring === undefined) return `node ${status.node || '?'} answered without a ring\n`;
  const rows = ring.nodes.map((node) => [
    node.id,
    node.address || '?',
    node.zone || '-',
    node.status || '?',
    appliedOf(status, node.id),
  ]);
  const lines = [
    `cluster ${ring.clusterId || '?'}: ring version ${ringVersion(ring)}, ` +
      `claimant ${ring.claimant || '?'} (as ${status.node || '?'} sees it)`,
    formatTable(['ID', 'ADDRESS', 'ZONE', 'STATUS', 'RING VERSION'], rows).trimEnd(),
    ...stagedLines(status, ring),
  ];
  if (ring.transfers.length > 0 || ring.nextOwners.length > 0)
    lines.push(`transition running: ${formatTransferCounts(ring.transfers)}`);
  return lines.join('\n') + '\n';
}

export function statusJson(status: ClusterStatus): unknown {
  const ring = status.ring;
  const isClaimant = ring !== undefined && status.node === ring.claimant;
  return {
    node: status.node,
    clusterId: ring?.clusterId ?? null,
    term: ring === undefined ? null : jsonInteger(ring.term),
    version: ring === undefined ? null : jsonInteger(ring.version),
    claimant: ring?.claimant ?? null,
    members: (ring?.nodes ?? []).map((node) => {
      const applied = status.applied.find((entry) => entry.node === node.id);
      return {
        ...node,
        applied:
          applied === undefined || applied.version === 0n
            ? null
            : { term: jsonInteger(applied.term), version: jsonInteger(applied.version) },
      };
    }),
    // null: the answering node is not the claimant and does not know what is staged.
    staged: isClaimant ? status.staged.map(changeJson) : null,
    transition:
      ring === undefined || (ring.transfers.length === 0 && ring.nextOwners.length === 0)
        ? null
        : {
            transfers: ring.transfers.length,
            byState: Object.fromEntries(transfersByState(ring.transfers)),
          },
  };
}
