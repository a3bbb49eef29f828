// Human and --json renderings of `cluster transfers` and `cluster limits`. Pure: answers (and the
// current time) in, text out. uint64 fields in JSON as in format-anti-entropy.ts.
import type { Ring, TransferLimits, TransferProgress } from '@ringstore/proto';
import { formatLastExchange, jsonInteger } from './format-anti-entropy.js';
import { formatTransferCounts, ringVersion } from './format-cluster.js';
import { formatTable } from './format.js';
import { formatBytes } from './format-units.js';

/** One inbound transfer: its progress as the receiver reports it, or only its state. */
export interface TransferRow {
  readonly partition: number;
  readonly to: string;
  readonly state: string;
  /** undefined: no node reported progress for it (the row shows the ring's state only). */
  readonly progress: TransferProgress | undefined;
}

/** What one look at the cluster found: the ring --node holds, every transfer, who failed. */
export interface TransfersRound {
  readonly ring: Ring;
  readonly rows: TransferRow[];
  readonly failures: MemberFailure[];
}

/** A node of the ring that could not be asked, or that refused. */
export interface MemberFailure {
  readonly node: string;
  readonly address: string;
  /** "unreachable (UNAVAILABLE: ...)" or the refusal, "INVALID_ARGUMENT: ...". */
  readonly problem: string;
}

/**
 * Every reported transfer, plus one state-only row per receiver of Ring.transfers that reported
 * nothing for the partition (down, unreachable, or not started): the ring says it is still to do.
 * Sorted by partition, then receiver.
 */
export function transferRows(ring: Ring, reported: readonly TransferProgress[]): TransferRow[] {
  const rows: TransferRow[] = reported.map((progress) => ({
    partition: progress.partition,
    to: progress.to,
    state: progress.state,
    progress,
  }));
  const seen = new Set(rows.map((row) => `${row.partition}/${row.to}`));
  for (const transfer of ring.transfers) {
    const receivers = transfer.added.length === 0 ? [''] : transfer.added;
    for (const to of receivers) {
      if (seen.has(`${transfer.partition}/${to}`)) continue;
      rows.push({ partition: transfer.partition, to, state: transfer.state, progress: undefined });
    }
  }
  return rows.sort((a, b) => a.partition - b.partition || a.to.localeCompare(b.to));
}

/** States a transfer is in once its receiver has streamed the whole partition. */
const streamedStates: ReadonlySet<string> = new Set(['catch-up', 'read-new', 'done']);

/**
 * Objects and bytes to receive; undefined while unknown. The source's estimate is 0 until it has
 * made one, and stays 0 for an empty partition: once streaming is over, what came is the total.
 */
export function knownTotals(p: TransferProgress): {
  objects: bigint | undefined;
  bytes: bigint | undefined;
} {
  const streamed = streamedStates.has(p.state);
  const known = (total: bigint, done: bigint) => (total > 0n ? total : streamed ? done : undefined);
  return { objects: known(p.objectsTotal, p.objectsDone), bytes: known(p.bytesTotal, p.bytesDone) };
}

/** "done/total" of objects and of bytes; "?" for a total not known yet. */
export function formatProgress(p: TransferProgress): { objects: string; bytes: string } {
  const totals = knownTotals(p);
  const objectsTotal = totals.objects === undefined ? '?' : totals.objects.toString();
  const bytesTotal = totals.bytes === undefined ? '?' : formatBytes(totals.bytes);
  return {
    objects: `${p.objectsDone}/${objectsTotal}`,
    bytes: `${formatBytes(p.bytesDone)}/${bytesTotal}`,
  };
}

function rowCells(row: TransferRow, nowMs: number): string[] {
  const p = row.progress;
  if (p === undefined)
    return [String(row.partition), '-', row.to || '-', row.state, '-', '-', '-', '-', '-'];
  const { objects, bytes } = formatProgress(p);
  return [
    String(row.partition),
    p.from || '-',
    p.to || '-',
    p.state,
    objects,
    bytes,
    `${Math.round(p.objectsPerSecond)}/s`,
    formatLastExchange(p.lastProgressMs, nowMs),
    p.stalled || '-',
  ];
}

const transfersHeader = [
  'PARTITION',
  'FROM',
  'TO',
  'STATE',
  'OBJECTS',
  'BYTES',
  'RATE',
  'LAST PROGRESS',
  'STALLED',
];

/** "ring version 1.7: 48 transfers (...)", then one row per inbound transfer. */
export function formatTransfersHuman(
  ring: Ring,
  rows: readonly TransferRow[],
  nowMs: number,
): string {
  if (ring.transfers.length === 0 && rows.length === 0)
    return `ring version ${ringVersion(ring)}: no transfers, no transition is running\n`;
  const summary = `ring version ${ringVersion(ring)}: ${formatTransferCounts(ring.transfers)}\n`;
  return (
    summary +
    formatTable(
      transfersHeader,
      rows.map((row) => rowCells(row, nowMs)),
    )
  );
}

function progressJson(p: TransferProgress) {
  const totals = knownTotals(p);
  return {
    from: p.from,
    objectsDone: jsonInteger(p.objectsDone),
    // null: the source has not estimated it yet.
    objectsTotal: totals.objects === undefined ? null : jsonInteger(totals.objects),
    bytesDone: jsonInteger(p.bytesDone),
    bytesTotal: totals.bytes === undefined ? null : jsonInteger(totals.bytes),
    objectsPerSecond: p.objectsPerSecond,
    bytesPerSecond: p.bytesPerSecond,
    lastProgressMs: p.lastProgressMs === 0n ? null : jsonInteger(p.lastProgressMs),
    stalled: p.stalled === '' ? null : p.stalled,
    pages: jsonInteger(p.pages),
  };
}

export function transfersJson(
  ring: Ring,
  rows: readonly TransferRow[],
  failures: readonly MemberFailure[],
): unknown {
  return {
    term: jsonInteger(ring.term),
    version: jsonInteger(ring.version),
    // The ring lists no transfer: the transition (if one ran) is complete.
    complete: ring.transfers.length === 0,
    transfers: rows.map((row) => ({
      partition: row.partition,
      to: row.to,
      state: row.state,
      // null: no node reported progress for it.
      progress: row.progress === undefined ? null : progressJson(row.progress),
    })),
    failures,
  };
}

/** "n3: unreachable (UNAVAILABLE: ...)", one line per node. */
export function formatFailures(failures: readonly MemberFailure[]): string {
  return failures.map((failure) => `${failure.node}: ${failure.problem}\n`).join('');
}

export interface NodeLimits {
  readonly node: string;
  readonly address: string;
  readonly limits: TransferLimits;
}

function rateCell(perSecond: bigint, shown: (n: bigint) => string): string {
  return perSecond === 0n ? 'unlimited' : `${shown(perSecond)}/s`;
}

export function formatLimitsHuman(nodes: readonly NodeLimits[]): string {
  const rows = nodes.map(({ node, limits }) => [
    node,
    String(limits.concurrency),
    rateCell(limits.objectsPerSecond, String),
    rateCell(limits.bytesPerSecond, formatBytes),
  ]);
  return formatTable(['NODE', 'CONCURRENCY', 'OBJECT RATE', 'BYTE RATE'], rows);
}

export function limitsJson(
  nodes: readonly NodeLimits[],
  failures: readonly MemberFailure[],
): unknown {
  return {
    nodes: nodes.map(({ node, address, limits }) => ({
      node,
      address,
      concurrency: limits.concurrency,
      // 0: unlimited.
      objectsPerSecond: jsonInteger(limits.objectsPerSecond),
      bytesPerSecond: jsonInteger(limits.bytesPerSecond),
    })),
    failures,
  };
}
