// Human and --json renderings of the anti-entropy answers (ae status, ae trigger). Pure: message
// and the current time in, text out.
//
// JSON numbers: every uint64 counter is written as a JSON number when it is a safe integer
// (at most 2^53 - 1, so JSON.parse reads it back exactly) and as a decimal string above that. The
// rule is the same for every such field of both commands; a consumer that must handle any value
// accepts number | string.
import type { PartitionAntiEntropy, TriggerAntiEntropyResponse } from '@ringstore/proto';
import { formatTable } from './format.js';

/** Hex digits of a partition's Merkle root shown in the human table (enough to compare replicas). */
export const rootHexShownMax = 12;

const msPerSecond = 1_000;
const msPerMinute = 60 * msPerSecond;
const msPerHour = 60 * msPerMinute;
const msPerDay = 24 * msPerHour;
/** Ages below this are shown in hours, at or above it in days. */
const hoursShownMaxMs = 48 * msPerHour;

/** A uint64 as JSON: a number when exact, else a decimal string (see the module comment). */
export function jsonInteger(value: bigint): number | string {
  return value <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(value) : value.toString();
}

/**
 * How long ago lastExchangeMs was, as "12s ago", "5m ago", "3h ago" or "2d ago" (rounded down);
 * "never" for 0. A time after nowMs (the node's clock ahead of ours) shows as "0s ago".
 */
export function formatLastExchange(lastExchangeMs: bigint, nowMs: number): string {
  if (lastExchangeMs === 0n) return 'never';
  const ageMs = Math.max(0, nowMs - Number(lastExchangeMs));
  if (ageMs < msPerMinute) return `${Math.floor(ageMs / msPerSecond)}s ago`;
  if (ageMs < msPerHour) return `${Math.floor(ageMs / msPerMinute)}m ago`;
  if (ageMs < hoursShownMaxMs) return `${Math.floor(ageMs / msPerHour)}h ago`;
  return `${Math.floor(ageMs / msPerDay)}d ago`;
}

/** The partitions in ascending order (the node's order is not part of the contract). */
function byPartition(partitions: readonly PartitionAntiEntropy[]): PartitionAntiEntropy[] {
  return [...partitions].sort((a, b) => a.partition - b.partition);
}

function total(
  partitions: readonly PartitionAntiEntropy[],
  field: 'repairs' | 'differences',
): bigint {
  return partitions.reduce((sum, partition) => sum + partition[field], 0n);
}

/** What `ae status` shows: the node's partitions and its --ae-interval-ms (0: on demand only). */
export interface AntiEntropyStatus {
  readonly partitions: readonly PartitionAntiEntropy[];
  readonly intervalMs: number;
}

/** Partitions with at least one finished exchange. */
function exchangedCount(partitions: readonly PartitionAntiEntropy[]): number {
  return partitions.filter((partition) => partition.lastExchangeMs !== 0n).length;
}

/**
 * How long the node takes to exchange every partition once: one partition per interval, so
 * partitions x interval (exchanges themselves add a little). undefined when periodic exchanges
 * are off (interval 0).
 */
export function fullRoundMs(partitionCount: number, intervalMs: number): number | undefined {
  return intervalMs === 0 ? undefined : partitionCount * intervalMs;
}

/** A duration as "45s", "42m 40s", "2h 5m" or "3d 4h": two units at most, the last rounded. */
export function formatDuration(ms: number): string {
  const split = (total: number, per: number, big: string, small: string) => {
    const rest = total % per;
    return `${Math.floor(total / per)}${big}${rest === 0 ? '' : ` ${rest}${small}`}`;
  };
  const seconds = Math.round(ms / msPerSecond);
  if (seconds < 60) return `${seconds}s`;
  if (seconds < 3_600) return split(seconds, 60, 'm', 's');
  const minutes = Math.round(ms / msPerMinute);
  if (minutes < 24 * 60) return split(minutes, 60, 'h', 'm');
  return split(Math.round(ms / msPerHour), 24, 'd', 'h');
}

/** The line saying how long a full round takes, and on what setting that rests. */
function roundLine(partitionCount: number, intervalMs: number): string {
  const roundMs = fullRoundMs(partitionCount, intervalMs);
  if (roundMs === undefined)
    return 'periodic exchanges are off (--ae-interval-ms 0): only `ringctl ae trigger` runs them';
  return (
    `a full round (each partition exchanged once, one every interval) takes about ` +
    `${formatDuration(roundMs)}: ${partitionCount} partitions at --ae-interval-ms ${intervalMs}`
  );
}

/** The summary lines of `ae status`. */
export function formatAntiEntropySummary(status: AntiEntropyStatus): string {
  const { partitions } = status;
  const exchanged = exchangedCount(partitions);
  const lines = [
    `partitions: ${partitions.length}, exchanged: ${exchanged}, ` +
      `never exchanged: ${partitions.length - exchanged}`,
    `differences found: ${total(partitions, 'differences')}, ` +
      `repairs: ${total(partitions, 'repairs')}`,
    roundLine(partitions.length, status.intervalMs),
  ];
  return lines.join('\n') + '\n';
}

/** The summary; then, with `all`, a header and one line per partition. */
export function formatAntiEntropyHuman(
  status: AntiEntropyStatus,
  nowMs: number,
  all: boolean,
): string {
  const summary = formatAntiEntropySummary(status);
  if (!all) return summary + 'per partition: ringctl ae --all\n';
  return summary + formatAntiEntropyTable(status.partitions, nowMs);
}

const tableHeader = [
  'PARTITION',
  'KEYS',
  'LAST EXCHANGE',
  'PEER',
  'EXCHANGES',
  'DIFFERENCES',
  'REPAIRS',
  'REAPED',
  'ROOT',
];

function formatAntiEntropyTable(
  partitions: readonly PartitionAntiEntropy[],
  nowMs: number,
): string {
  const rows = byPartition(partitions).map((partition) => [
    String(partition.partition),
    partition.keys.toString(),
    formatLastExchange(partition.lastExchangeMs, nowMs),
    partition.lastPeer || '-',
    partition.exchanges.toString(),
    partition.differences.toString(),
    partition.repairs.toString(),
    partition.tombstonesReaped.toString(),
    partition.root.slice(0, rootHexShownMax) || '-',
  ]);
  return formatTable(tableHeader, rows);
}

export function antiEntropyJson(status: AntiEntropyStatus): unknown {
  const { partitions, intervalMs } = status;
  const exchanged = exchangedCount(partitions);
  return {
    partitions: byPartition(partitions).map((partition) => ({
      partition: partition.partition,
      keys: jsonInteger(partition.keys),
      // ms since the epoch; null: no exchange yet (the proto's 0).
      lastExchangeMs:
        partition.lastExchangeMs === 0n ? null : jsonInteger(partition.lastExchangeMs),
      lastPeer: partition.lastPeer,
      exchanges: jsonInteger(partition.exchanges),
      differences: jsonInteger(partition.differences),
      repairs: jsonInteger(partition.repairs),
      tombstonesReaped: jsonInteger(partition.tombstonesReaped),
      // The whole root, in hex.
      root: partition.root,
    })),
    summary: {
      partitions: partitions.length,
      exchanged,
      neverExchanged: partitions.length - exchanged,
      differences: jsonInteger(total(partitions, 'differences')),
      repairs: jsonInteger(total(partitions, 'repairs')),
      // The node's --ae-interval-ms (0: exchanges on demand only).
      intervalMs,
      // null: exchanges off.
      fullRoundMs: fullRoundMs(partitions.length, intervalMs) ?? null,
    },
  };
}

export function formatTriggerHuman(response: TriggerAntiEntropyResponse): string {
  return (
    `exchanges: ${response.exchanges}, differences: ${response.differences}, repairs: ${response.repairs}, ` +
    `bytes transferred: ${response.bytesTransferred}, tombstones reaped: ${response.tombstonesReaped}\n`
  );
}

export function triggerJson(response: TriggerAntiEntropyResponse): unknown {
  return {
    exchanges: response.exchanges,
    differences: jsonInteger(response.differences),
    repairs: jsonInteger(response.repairs),
    bytesTransferred: jsonInteger(response.bytesTransferred),
    tombstonesReaped: jsonInteger(response.tombstonesReaped),
  };
}
