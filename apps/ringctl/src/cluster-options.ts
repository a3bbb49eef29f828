// Parsing and validation of the arguments of the `cluster` commands. Pure, like options.ts: raw
// text in, a value out or a UsageError, so a bad argument is exit code 2 before any RPC.
import type { Change, SetTransferLimitsRequest } from '@ringstore/proto';
import { UsageError } from './errors.js';
import { parseIntegerInRange, parseNodeAddress } from './options.js';

/**
 * Node ids as a storage node accepts them for --id (1-64 letters, digits, _ . -, starting with a
 * letter or digit): a usage error here saves a round trip to a refusal.
 */
const nodeIdPattern = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$/;
/** Longest --zone: zones are labels like "rack-3" or "eu-west-1a"; longer is a mistake. */
export const zoneLengthMax = 64;

/** How often `cluster transfers --watch` asks again, unless --interval-ms says otherwise. */
export const watchIntervalMsDefault = 1_000;
/** Longest --interval-ms: an hour between two looks is no longer watching. */
export const watchIntervalMsMax = 3_600_000;
/** How long `cluster transfers --watch` waits for the transition to complete (one hour). */
export const watchTimeoutMsDefault = 3_600_000;
/**
 * Longest --timeout-ms, a week: a transition moves at thousands of objects per second, so one that
 * has not completed in a week is stuck and wants a person, not a longer wait.
 */
export const watchTimeoutMsMax = 7 * 24 * 3_600_000;
/** Largest --concurrency: the field is a uint32 (the node refuses more than it allows). */
export const transferConcurrencyMax = 0xffff_ffff;
/** Largest rate accepted: exact as a JS number (the node refuses more than it allows). */
export const transferRateMax = Number.MAX_SAFE_INTEGER;

export function parseNodeId(what: string, text: string): string {
  if (text.length === 0) throw new UsageError(`${what} must not be empty`);
  if (!nodeIdPattern.test(text)) {
    throw new UsageError(
      `${what} must be 1-64 letters, digits, _ . - (starting with a letter or digit), ` +
        `got '${text}'`,
    );
  }
  return text;
}

export interface MemberSpec {
  readonly id: string;
  readonly address: string;
  /** '' when not given: the node's client port + 1. */
  readonly peerAddress: string;
}

/**
 * ID=HOST:PORT[/PEER_HOST:PEER_PORT], as `cluster join` and `cluster replace` take the new node:
 * its client address and, when not the client port + 1, its peer address.
 */
export function parseMemberSpec(text: string): MemberSpec {
  const equals = text.indexOf('=');
  if (equals < 0) {
    throw new UsageError(
      `expected ID=HOST:PORT[/PEER_HOST:PEER_PORT] (e.g. n4=127.0.0.1:7007/127.0.0.1:7008), got '${text}'`,
    );
  }
  const id = parseNodeId(`the node id in '${text}'`, text.slice(0, equals));
  const [client = '', peer, ...rest] = text.slice(equals + 1).split('/');
  if (rest.length > 0) throw new UsageError(`expected one '/' at most in '${text}'`);
  const address = parseNodeAddress(`the address of ${id}`, client);
  const peerAddress = peer === undefined ? '' : parseNodeAddress(`the peer address of ${id}`, peer);
  if (peerAddress === address)
    throw new UsageError(`the peer address of ${id} must differ from its client address`);
  return { id, address, peerAddress };
}

export function parseZone(text: string | undefined): string {
  if (text === undefined) return '';
  if (text.length === 0 || text.length > zoneLengthMax || text.trim() !== text) {
    throw new UsageError(
      `--zone must be 1-${zoneLengthMax} characters without surrounding spaces, got '${text}'`,
    );
  }
  return text;
}

export function joinChange(specText: string, zoneText: string | undefined): Change {
  const { id, address, peerAddress } = parseMemberSpec(specText);
  return {
    kind: { $case: 'join', value: { id, address, peerAddress, zone: parseZone(zoneText) } },
  };
}

export function leaveChange(idText: string): Change {
  return { kind: { $case: 'leave', value: { id: parseNodeId('the node id', idText) } } };
}

export function removeChange(idText: string): Change {
  return { kind: { $case: 'remove', value: { id: parseNodeId('the node id', idText) } } };
}

export function replaceChange(
  oldText: string,
  specText: string,
  zoneText: string | undefined,
  dead: boolean,
): Change {
  const old = parseNodeId('the node to replace', oldText);
  const { id, address, peerAddress } = parseMemberSpec(specText);
  if (id === old) throw new UsageError(`the replacement needs a new id, not ${old} again`);
  const zone = parseZone(zoneText);
  return {
    kind: { $case: 'replace', value: { old, id, address, peerAddress, zone, dead } },
  };
}

export interface WatchArgs {
  readonly watch: boolean;
  readonly intervalMs: number;
  readonly timeoutMs: number;
}

export function parseWatchArgs(raw: {
  watch?: boolean | undefined;
  intervalMs?: string | undefined;
  timeoutMs?: string | undefined;
}): WatchArgs {
  const watch = raw.watch === true;
  if (!watch && (raw.intervalMs !== undefined || raw.timeoutMs !== undefined)) {
    throw new UsageError('--interval-ms and --timeout-ms go with --watch');
  }
  return {
    watch,
    intervalMs:
      raw.intervalMs === undefined
        ? watchIntervalMsDefault
        : parseIntegerInRange('--interval-ms', raw.intervalMs, 1, watchIntervalMsMax),
    timeoutMs:
      raw.timeoutMs === undefined
        ? watchTimeoutMsDefault
        : parseIntegerInRange('--timeout-ms', raw.timeoutMs, 1, watchTimeoutMsMax),
  };
}

/** The limits to set; a flag not given stays unset, so the node keeps what it has. */
export function parseLimits(raw: {
  concurrency?: string | undefined;
  objectsPerSecond?: string | undefined;
  bytesPerSecond?: string | undefined;
}): SetTransferLimitsRequest {
  const limits: SetTransferLimitsRequest = {};
  if (raw.concurrency !== undefined)
    limits.concurrency = parseIntegerInRange(
      '--concurrency',
      raw.concurrency,
      1,
      transferConcurrencyMax,
    );
  if (raw.objectsPerSecond !== undefined)
    limits.objectsPerSecond = BigInt(
      parseIntegerInRange('--objects-per-second', raw.objectsPerSecond, 0, transferRateMax),
    );
  if (raw.bytesPerSecond !== undefined)
    limits.bytesPerSecond = BigInt(
      parseIntegerInRange('--bytes-per-second', raw.bytesPerSecond, 0, transferRateMax),
    );
  return limits;
}
