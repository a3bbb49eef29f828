// What the fuzzer knows of the cluster it attacks (learned once, before the first fuzzed request),
// what one fuzzed request is, and the choices every generator shares: keys, partitions, ring
// fences, caller ids.
import type { MemberState, RingDocument } from '@ringstore/proto';
import type { Rng } from '../chaos/prng.js';
import { chance, randomBytes, randomText, uint32Edges, uint64, uint64Edges } from './mutate.js';
import { partitionOf } from './wire.js';

export interface FuzzWorld {
  /** n1, n2, ...: the nodes requests go to. */
  readonly nodeIds: readonly string[];
  /** The claimant at the start: it never receives a request that could commit a change. */
  readonly claimant: string;
  readonly partitionCount: number;
  readonly ringTerm: bigint;
  readonly ringVersion: bigint;
  /** The ring document as FetchRing gave it. */
  readonly ringDocument: RingDocument;
  /** Keys written before the run whose values the end checks read back: never written to. */
  readonly knownKeys: readonly Buffer[];
  /** Objects as the nodes store them (Link reads of known keys): templates for replicates. */
  readonly objects: readonly Buffer[];
  /** Contexts the nodes handed out (KV Gets of known keys). */
  readonly contexts: readonly Buffer[];
  /** Actors found in those objects, so made-up objects name real ones too. */
  readonly actors: readonly string[];
  /** Gossip entries as a node sends them. */
  readonly members: readonly MemberState[];
  /** Wall-clock time (ms) when the fuzzing began: made-up generations are near it. */
  readonly startedAtMs: bigint;
}

export type Port = 'client' | 'peer';

/** How the body was made: a message (fields chosen to be odd or not), or raw bytes. */
export type Variant = 'message' | 'truncated' | 'byte-mutated' | 'random-bytes' | 'empty';

/** One Link message as sent: its request id and kind (the oneof case, or 'none'). */
export interface SentLinkMessage {
  readonly id: bigint;
  readonly kind: string;
  /**
   * The node answers it: not a request with a timeout of 0 (a node drops a request that arrives
   * as late as its timeout, unanswered; anything that is not a request is answered at once).
   */
  readonly replyExpected: boolean;
}

export interface FuzzRequest {
  /** Position in the run's sequence: with the seed, what names the request to replay. */
  readonly index: number;
  /** 'KV.Put', 'Cluster.GetRing', 'Peer.Gossip', 'Peer.Link', ... */
  readonly rpc: string;
  readonly path: string;
  readonly port: Port;
  readonly node: string;
  /** The x-ringstore-from header (peer port); undefined: not sent. */
  readonly from: string | undefined;
  readonly variant: Variant;
  readonly body: Buffer;
  readonly deadlineMs: number;
  /** Peer.Link: the frame's messages, when the body is the frame as encoded (not raw bytes). */
  readonly link?: readonly SentLinkMessage[] | undefined;
}

/** Prefix of the keys fuzzed writes go to (never that of a known key). */
export const fuzzKeyPrefix = 'fz-';
/** Prefix of the known keys. */
export const knownKeyPrefix = 'known-';

export function isKnownKey(world: FuzzWorld, key: Uint8Array): boolean {
  const k = Buffer.from(key);
  return world.knownKeys.some((known) => known.equals(k));
}

/** A key fuzzed writes may use: any key but a known one (odd lengths included). */
export function writableKey(rng: Rng, world: FuzzWorld): Buffer {
  const r = rng.next();
  let key: Buffer;
  if (r < 0.6) key = Buffer.from(`${fuzzKeyPrefix}${rng.int(0, 500)}`);
  else if (r < 0.9) key = randomBytes(rng, rng.int(1, 64));
  else key = rng.pick([Buffer.alloc(0), Buffer.alloc(1024, 0x6b), Buffer.alloc(1025, 0x6b)]);
  if (chance(rng, 0.005)) key = Buffer.alloc(rng.int(65_536, 70_000), 0x6b);
  return isKnownKey(world, key) ? Buffer.from(`${fuzzKeyPrefix}${key.toString('hex')}`) : key;
}

/** A key for a request that cannot write it: known keys included. */
export function anyKey(rng: Rng, world: FuzzWorld): Buffer {
  return chance(rng, 0.4) ? rng.pick(world.knownKeys) : writableKey(rng, world);
}

/** The key's own partition mostly; else another one in range, or one out of range. */
export function partitionFor(rng: Rng, world: FuzzWorld, key: Buffer): number {
  const r = rng.next();
  if (r < 0.65 && key.length > 0) return partitionOf(key, world.partitionCount);
  if (r < 0.8) return rng.int(0, world.partitionCount - 1);
  return rng.pick([world.partitionCount, world.partitionCount + 1, ...uint32Edges]);
}

export function anyPartition(rng: Rng, world: FuzzWorld): number {
  return chance(rng, 0.8)
    ? rng.int(0, world.partitionCount - 1)
    : rng.pick([world.partitionCount, ...uint32Edges]);
}

/** A ring fence: the current one, none (0.0), a newer one, or odd numbers. */
export function fence(rng: Rng, world: FuzzWorld): { ringTerm: bigint; ringVersion: bigint } {
  const r = rng.next();
  if (r < 0.5) return { ringTerm: world.ringTerm, ringVersion: world.ringVersion };
  if (r < 0.7) return { ringTerm: 0n, ringVersion: 0n };
  if (r < 0.8) return { ringTerm: world.ringTerm, ringVersion: world.ringVersion + 1n };
  return { ringTerm: rng.pick(uint64Edges), ringVersion: uint64(rng, () => world.ringVersion) };
}

/** A node id: a member mostly, else made up, empty or long. */
export function nodeId(rng: Rng, world: FuzzWorld): string {
  const r = rng.next();
  if (r < 0.7) return rng.pick(world.nodeIds);
  if (r < 0.85) return `ghost-${rng.int(0, 99)}`;
  return rng.pick(['', randomText(rng)]);
}

/** The caller a peer request claims to be: another member mostly; itself, a stranger or none. */
export function caller(rng: Rng, world: FuzzWorld, target: string): string | undefined {
  const others = world.nodeIds.filter((id) => id !== target);
  const r = rng.next();
  if (r < 0.8 && others.length > 0) return rng.pick(others);
  if (r < 0.88) return target;
  if (r < 0.95) return `ghost-${rng.int(0, 9)}`;
  return chance(rng, 0.5)
    ? undefined
    : randomText(rng)
        .replace(/[^\x20-\x7e]/g, '?')
        .slice(0, 200);
}
