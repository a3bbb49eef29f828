// Fuzzed messages of the peer port: the unary Peer RPCs and Link frames. Messages that could
// legitimately write (replicate, handoff, forwarded puts and deletes) name only keys outside the
// known set; reads, reaps (a known key's copy is live, never reapable) and the rest may name any.
// PushRing never offers a newer document of this cluster: a stale one, or one of another cluster.
import type { DeleteRequest, GetRequest, LinkFrame, PutRequest } from '@ringstore/proto';
import {
  GossipRequest,
  MerkleLevelRequest,
  PeerService,
  PushRingRequest,
  SegmentKeysRequest,
  type LinkMessage,
  type MemberState,
  type ReplicateRequest,
  type RingDocument,
} from '@ringstore/proto';
import type { Rng } from '../chaos/prng.js';
import { callDeadlineMs, type RpcSpec } from './generate-client.js';
import {
  chance,
  mutateBytes,
  randomBytes,
  randomLength,
  randomText,
  uint32,
  uint32Edges,
  uint64,
  uint64Edges,
} from './mutate.js';
import { oldTombstone, randomContext, randomObject } from './wire.js';
import {
  anyKey,
  anyPartition,
  fence,
  nodeId,
  partitionFor,
  writableKey,
  type FuzzWorld,
  type SentLinkMessage,
} from './world.js';

type Body = NonNullable<LinkMessage['body']>;

function object(rng: Rng, world: FuzzWorld): Buffer {
  const r = rng.next();
  if (r < 0.3 && world.objects.length > 0) return rng.pick(world.objects);
  if (r < 0.7) return randomObject(rng, world.actors);
  if (r < 0.8) return oldTombstone(rng, world.actors);
  if (r < 0.9 && world.objects.length > 0) return mutateBytes(rng, rng.pick(world.objects));
  return randomBytes(rng, randomLength(rng));
}

function hintFor(rng: Rng, world: FuzzWorld, target: string): string {
  const r = rng.next();
  if (r < 0.6) return '';
  if (r < 0.8) return rng.pick(world.nodeIds);
  if (r < 0.85) return target;
  return nodeId(rng, world);
}

/** A replicate of a key outside the known set (a valid one writes). */
function replicate(rng: Rng, world: FuzzWorld, target: string): ReplicateRequest {
  const key = writableKey(rng, world);
  return {
    partition: partitionFor(rng, world, key),
    key,
    object: object(rng, world),
    hintFor: hintFor(rng, world, target),
    ...fence(rng, world),
  };
}

function getRequest(rng: Rng, world: FuzzWorld): GetRequest {
  const r = uint32(rng, () => rng.int(0, 4));
  return { key: anyKey(rng, world), r, strictQuorum: chance(rng, 0.3) };
}

function contextBytes(rng: Rng, world: FuzzWorld): Buffer {
  if (chance(rng, 0.3)) return Buffer.alloc(0);
  if (chance(rng, 0.5) && world.contexts.length > 0) return rng.pick(world.contexts);
  return randomContext(rng, world.actors);
}

function writeBody(rng: Rng, world: FuzzWorld): Body {
  const key = writableKey(rng, world);
  const w = uint32(rng, () => rng.int(0, 4));
  const ctx = contextBytes(rng, world);
  const strictQuorum = chance(rng, 0.3);
  if (chance(rng, 0.6)) {
    const value = randomBytes(rng, rng.int(0, 200));
    const put: PutRequest = { key, value, context: ctx, w, strictQuorum };
    return { $case: 'forwardPut', value: put };
  }
  const del: DeleteRequest = { key, context: ctx, w, strictQuorum };
  return { $case: 'forwardDelete', value: del };
}

function keyedBody(rng: Rng, world: FuzzWorld, kind: 'read' | 'reap'): Body {
  const key = anyKey(rng, world);
  const partition = partitionFor(rng, world, key);
  if (kind === 'read') return { $case: 'read', value: { partition, key, ...fence(rng, world) } };
  return {
    $case: 'reap',
    value: { partition, key, object: object(rng, world), ...fence(rng, world) },
  };
}

function transferBody(rng: Rng, world: FuzzWorld): Body {
  const transition = uint64(rng, () => BigInt(rng.int(0, 3)));
  if (chance(rng, 0.5)) {
    const page = {
      partition: anyPartition(rng, world),
      afterKey: chance(rng, 0.5) ? Buffer.alloc(0) : anyKey(rng, world),
      objectsMax: uint32(rng, () => rng.int(0, 100)),
      bytesMax: uint32(rng, () => rng.int(0, 1 << 20)),
      transition,
    };
    return { $case: 'transferPage', value: page };
  }
  const finished = rng.pick(['streaming', 'catch-up', '', randomText(rng)]);
  const report = { transition, partition: anyPartition(rng, world), finished };
  return { $case: 'transferReport', value: report };
}

/** Not a request: a reply kind, an error, or nothing (the node answers "not a request"). */
function notARequest(rng: Rng): Body | undefined {
  const bodies: (Body | undefined)[] = [
    undefined,
    { $case: 'replicateReply', value: {} },
    { $case: 'readReply', value: { found: true, object: Buffer.from('x'), corrupt: false } },
    { $case: 'reapReply', value: { reaped: true } },
    {
      $case: 'error',
      value: {
        code: rng.int(0, 20),
        message: randomText(rng),
        failure: undefined,
        ringStale: chance(rng, 0.5),
        ringTerm: rng.pick(uint64Edges),
        ringVersion: rng.pick(uint64Edges),
      },
    },
  ];
  return bodies[rng.int(0, bodies.length - 1)]; // undefined is one of them: not pick()
}

const requestKinds = new Set([
  'replicate',
  'read',
  'forwardGet',
  'forwardPut',
  'forwardDelete',
  'handoff',
  'reap',
  'hintsHeld',
  'transferPage',
  'transferReport',
]);

function isRequest(body: Body | undefined): boolean {
  return body !== undefined && requestKinds.has(body.$case);
}

function linkBody(rng: Rng, world: FuzzWorld, target: string): Body | undefined {
  const r = rng.int(0, 99);
  if (r < 22) return { $case: 'replicate', value: replicate(rng, world, target) };
  if (r < 34) return keyedBody(rng, world, 'read');
  if (r < 42) return { $case: 'forwardGet', value: getRequest(rng, world) };
  if (r < 52) return writeBody(rng, world);
  if (r < 60) {
    const count = chance(rng, 0.97) ? rng.int(0, 4) : rng.int(5, 300);
    const objects = Array.from({ length: count }, () => replicate(rng, world, target));
    return { $case: 'handoff', value: { objects } };
  }
  if (r < 70) return keyedBody(rng, world, 'reap');
  if (r < 76) return { $case: 'hintsHeld', value: { partition: anyPartition(rng, world) } };
  if (r < 94) return transferBody(rng, world);
  return notARequest(rng);
}

/** Request ids: fresh ones mostly, sometimes 0, the largest, or one repeated. */
function requestId(rng: Rng, index: number, i: number, previous: bigint | undefined): bigint {
  const r = rng.next();
  if (r < 0.9) return BigInt(index) * 1000n + BigInt(i) + 1n;
  if (r < 0.95 && previous !== undefined) return previous;
  return rng.pick(uint64Edges);
}

/** A Link frame of one to a few messages (rarely hundreds), and what it carries. */
export function linkFrame(
  rng: Rng,
  world: FuzzWorld,
  target: string,
  index: number,
): { frame: LinkFrame; sent: SentLinkMessage[] } {
  const count = chance(rng, 0.995) ? rng.int(1, 4) : rng.int(0, 600);
  const messages: LinkMessage[] = [];
  let previous: bigint | undefined;
  for (let i = 0; i < count; i++) {
    const id = requestId(rng, index, i, previous);
    previous = id;
    const timeoutMs = chance(rng, 0.93) ? rng.int(500, 3000) : rng.pick(uint32Edges);
    messages.push({ requestId: id, timeoutMs, body: linkBody(rng, world, target) });
  }
  const sentMs = chance(rng, 0.9)
    ? performanceNowLike(rng)
    : rng.pick([0, -1, Number.NaN, Infinity, -Infinity, 1e300, Number.MIN_VALUE]);
  const sent = messages.map((m) => ({
    id: m.requestId,
    kind: m.body?.$case ?? 'none',
    replyExpected: !isRequest(m.body) || m.timeoutMs > 0,
  }));
  return { frame: { messages, sentMs }, sent };
}

/**
 * A sender's monotonic time: the receiver keeps the smallest (arrival - sent) of a stream as its
 * baseline, and each fuzzed frame opens its own stream, so any value is its own baseline.
 */
function performanceNowLike(rng: Rng): number {
  return rng.int(0, 10_000_000) + rng.next();
}

function member(rng: Rng, world: FuzzWorld, nowMs: bigint): MemberState {
  const real = world.members.length > 0 && chance(rng, 0.7) ? rng.pick(world.members) : undefined;
  const base: MemberState = real ?? {
    id: nodeId(rng, world),
    address: `127.0.0.1:${rng.int(1, 65_535)}`,
    peerAddress: '',
    zone: '',
    generation: nowMs,
    heartbeat: 1n,
    status: 'up',
    ringTerm: 0n,
    ringVersion: 0n,
  };
  const odd = chance(rng, 0.5);
  return {
    ...base,
    generation: odd
      ? uint64(rng, () => nowMs + BigInt(rng.int(0, 2 * 86_400_000)))
      : base.generation,
    heartbeat: odd ? uint64(rng, () => base.heartbeat + BigInt(rng.int(0, 100))) : base.heartbeat,
    status: chance(rng, 0.9)
      ? base.status
      : rng.pick(['joining', 'leaving', 'left', randomText(rng)]),
    ringVersion: chance(rng, 0.9) ? base.ringVersion : rng.pick(uint64Edges),
    zone: chance(rng, 0.95) ? base.zone : randomText(rng),
    address: chance(rng, 0.95) ? base.address : randomText(rng),
  };
}

/**
 * A document PushRing cannot apply: of another cluster (any version), or of this one no newer
 * than the node's (same term, version at most the current one). `foreign` says which, since only
 * a foreign one may be mutated byte by byte (a flipped bit could raise a version).
 */
function pushedDocument(rng: Rng, world: FuzzWorld): { document: RingDocument; foreign: boolean } {
  const real = world.ringDocument;
  const foreign = chance(rng, 0.5);
  const document: RingDocument = {
    ...real,
    clusterId: foreign ? `fuzz-foreign-cluster-${rng.int(0, 1e9)}` : real.clusterId,
    term: foreign ? rng.pick(uint64Edges) : real.term,
    version: foreign ? rng.pick(uint64Edges) : BigInt(rng.int(0, Number(real.version))),
    claimant: chance(rng, 0.8) ? real.claimant : nodeId(rng, world),
    replicas: chance(rng, 0.8) ? real.replicas : rng.pick(uint32Edges),
    partitionCount: chance(rng, 0.8) ? real.partitionCount : rng.pick(uint32Edges),
    transition: chance(rng, 0.9) ? real.transition : rng.pick(uint64Edges),
  };
  if (chance(rng, 0.1)) document.nodes = [];
  if (chance(rng, 0.1)) document.ring = undefined;
  return { document, foreign };
}

const encode = (bytes: Uint8Array): Buffer => Buffer.from(bytes);

export function peerSpecs(): RpcSpec[] {
  const spec = (rpc: string, path: string, weight: number) => ({
    rpc,
    path,
    port: 'peer' as const,
    weight,
    deadlineMs: callDeadlineMs,
  });
  return [
    {
      ...spec('Peer.Gossip', PeerService.gossip.path, 5),
      generate: (rng, world, _target, caller) => {
        const nowMs = world.startedAtMs;
        const count = chance(rng, 0.95) ? rng.int(0, 5) : rng.int(6, 1100);
        const members = Array.from({ length: count }, () => member(rng, world, nowMs));
        const from = caller !== undefined && chance(rng, 0.85) ? caller : nodeId(rng, world);
        const req: GossipRequest = { from, members, ring: undefined };
        return { body: encode(GossipRequest.encode(req).finish()), mutable: true };
      },
    },
    {
      ...spec('Peer.MerkleLevel', PeerService.merkleLevel.path, 4),
      generate: (rng, world) => {
        const count = chance(rng, 0.97) ? rng.int(0, 8) : rng.int(9, 5000);
        const req = {
          partition: anyPartition(rng, world),
          level: uint32(rng, () => rng.int(0, 12)),
          indexes: Array.from({ length: count }, () => uint32(rng, () => rng.int(0, 64))),
        };
        return { body: encode(MerkleLevelRequest.encode(req).finish()), mutable: true };
      },
    },
    {
      ...spec('Peer.SegmentKeys', PeerService.segmentKeys.path, 4),
      generate: (rng, world) => {
        const count = chance(rng, 0.97) ? rng.int(0, 8) : rng.int(9, 5000);
        const req = {
          partition: anyPartition(rng, world),
          segments: Array.from({ length: count }, () => uint32(rng, () => rng.int(0, 1100))),
        };
        return { body: encode(SegmentKeysRequest.encode(req).finish()), mutable: true };
      },
    },
    {
      ...spec('Peer.FetchRing', PeerService.fetchRing.path, 2),
      generate: () => ({ body: Buffer.alloc(0), mutable: true }),
    },
    {
      ...spec('Peer.PushRing', PeerService.pushRing.path, 3),
      generate: (rng, world) => {
        const { document, foreign } = pushedDocument(rng, world);
        const body = encode(PushRingRequest.encode({ document }).finish());
        return { body, mutable: foreign };
      },
    },
  ];
}
