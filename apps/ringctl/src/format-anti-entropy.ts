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

function totalRepairs(partitions: readonly PartitionAntiEntropy[]): bigint {
  return partitions.reduce((sum, partition) => sum + partition.repairs, 0n);
}

/** A header, one line per partition, and "partitions: N, total repairs: N". */
export function formatAntiEntropyHuman(
  partitions: readonly PartitionAntiEntropy[],
  nowMs: number,
): string {
  const header = [
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
  const summary = `partitions: ${partitions.length}, total repairs: ${totalRepairs(partitions)}\n`;
  return formatTable(header, rows) + summary;
}

export function antiEntropyJson(partitions: readonly PartitionAntiEntropy[]): unknown {
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
    summary: { partitions: partitions.length, repairs: jsonInteger(totalRepairs(partitions)) },
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
