// Parsing and validation of flag values. Pure: each function takes the raw text and returns the
// value or throws UsageError, so every bad flag becomes exit code 2 with one clear sentence.
import type { RoutingMode } from '@ringstore/client';
import { UsageError } from './errors.js';

/** Node contacted when neither --node nor RINGSTORE_NODE is given. */
export const nodeAddressDefault = '127.0.0.1:7001';
/** How the data commands pick a node for the key, unless --routing says otherwise. */
export const routingDefault: RoutingMode = 'zero-hop';
/** The --routing values, as the SDK names them. */
const routingModes: readonly RoutingMode[] = ['zero-hop', 'any-node'];
/**
 * Deadline of every cluster RPC, and of each data operation with all its attempts, unless
 * --deadline-ms says otherwise.
 */
export const deadlineMsDefault = 5_000;
/**
 * Deadline of `ae trigger` unless --deadline-ms is given: the node answers only when every exchange
 * is done, and a full exchange (or a rebuild from storage) of many partitions takes far longer
 * than a read.
 */
export const aeTriggerDeadlineMsDefault = 60_000;
/** Largest partition number: rings have at most 65536 partitions. */
export const partitionMax = 0xffff;
/** Longest deadline accepted: a CLI call that waits longer than ten minutes is a mistake. */
export const deadlineMsMax = 600_000;
/** r and w travel as uint32; the node rejects values above its replica count. */
export const quorumMax = 0xffff_ffff;
/**
 * Largest value put accepts, so a runaway pipe fails fast instead of filling memory. gRPC's default
 * message limit is 4 MiB; leave room for key, context and framing.
 */
export const valueBytesMax = 4 * 1024 * 1024 - 64 * 1024;

const hexPattern = /^(?:[0-9A-Fa-f]{2})*$/;
const decimalPattern = /^[0-9]+$/;
const base64Pattern = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;
// host:port, host being a name, an IPv4 address or a bracketed IPv6 address.
const addressPattern = /^(\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9.-]+):([0-9]{1,5})$/;

export function parseIntegerInRange(flag: string, text: string, min: number, max: number): number {
  const value = decimalPattern.test(text) ? Number(text) : Number.NaN;
  if (!Number.isSafeInteger(value) || value < min || value > max) {
    throw new UsageError(`${flag} must be an integer from ${min} to ${max}, got '${text}'`);
  }
  return value;
}

/** r or w: a positive integer. */
export function parseQuorum(flag: string, text: string): number {
  return parseIntegerInRange(flag, text, 1, quorumMax);
}

export function parseDeadlineMs(text: string): number {
  return parseIntegerInRange('--deadline-ms', text, 1, deadlineMsMax);
}

/**
 * The --partition values of `ae trigger`, in the order given, each once (a repeat would only make
 * the node exchange the partition twice). None: every partition the node replicates.
 */
export function parsePartitions(texts: readonly string[]): number[] {
  const partitions = texts.map((text) => parseIntegerInRange('--partition', text, 0, partitionMax));
  return [...new Set(partitions)];
}

/** A context as printed by get and put: standard base64 with padding. Empty means "seen nothing". */
export function parseContext(text: string): Buffer {
  if (!base64Pattern.test(text)) {
    throw new UsageError(`--context must be base64 as printed by get or put, got '${text}'`);
  }
  return Buffer.from(text, 'base64');
}

/** Bytes written as hex digits, two per byte (e.g. 00ff10). */
export function parseHex(what: string, text: string): Buffer {
  if (!hexPattern.test(text)) {
    throw new UsageError(`${what} must be hex digits, two per byte, got '${text}'`);
  }
  return Buffer.from(text, 'hex');
}

export function parseRouting(text: string): RoutingMode {
  const mode = routingModes.find((candidate) => candidate === text);
  if (mode === undefined)
    throw new UsageError(`--routing must be ${routingModes.join(' or ')}, got '${text}'`);
  return mode;
}

export function parseNodeAddress(source: string, text: string): string {
  const match = addressPattern.exec(text);
  const port = match?.[2] === undefined ? 0 : Number(match[2]);
  if (port < 1 || port > 65_535) {
    throw new UsageError(`${source} must be host:port (e.g. ${nodeAddressDefault}), got '${text}'`);
  }
  return text;
}
