// Fuzzed messages of the client port: KV Get, Put, Delete, BatchGet and BatchPut, and every Cluster RPC. A generator
// returns the message encoded, whether byte-level mutations of it are safe (they may turn it into
// any other message of its type), and which nodes it may go to. Writes go only to keys that are
// not known keys, and nothing can commit a membership change: CommitPlan, CancelTransition and
// MoveClaimant (never forced) go only to nodes that are not the claimant, which refuse them.
import {
  BatchGetRequest,
  BatchPutRequest,
  ClusterService,
  DeleteRequest,
  GetRequest,
  KVService,
  MoveClaimantRequest,
  PutRequest,
  SetTransferLimitsRequest,
  StageChangeRequest,
  TriggerAntiEntropyRequest,
  type Change,
} from '@ringstore/proto';
import type { Rng } from '../chaos/prng.js';
import { chance, randomBytes, randomLength, randomText, uint32, uint64Edges } from './mutate.js';
import { randomContext } from './wire.js';
import { anyKey, anyPartition, nodeId, writableKey, type FuzzWorld, type Port } from './world.js';

export interface Generated {
  readonly body: Buffer;
  /** Byte-level mutations and random bytes may be sent instead (they cannot harm known keys). */
  readonly mutable: boolean;
}

export interface RpcSpec {
  readonly rpc: string;
  readonly path: string;
  readonly port: Port;
  /** Relative frequency among all RPCs. */
  readonly weight: number;
  readonly deadlineMs: number;
  /** Nodes it may be sent to; all when undefined. */
  readonly targets?: (world: FuzzWorld) => readonly string[];
  /** `from`: the caller the request will claim to be (peer port), for messages that name it. */
  generate(rng: Rng, world: FuzzWorld, target: string, from: string | undefined): Generated;
}

/** Deadline of a fuzzed call: far above a node's request timeout (1 s by default). */
export const callDeadlineMs = 3_000;
/** TriggerAntiEntropy runs whole exchanges. */
const antiEntropyDeadlineMs = 10_000;

const quorum = (rng: Rng): number => uint32(rng, () => rng.int(0, 4));

function context(rng: Rng, world: FuzzWorld): Buffer {
  const r = rng.next();
  if (r < 0.3) return Buffer.alloc(0);
  if (r < 0.6 && world.contexts.length > 0) return rng.pick(world.contexts);
  if (r < 0.85) return randomContext(rng, world.actors);
  return randomBytes(rng, randomLength(rng));
}

function value(rng: Rng): Buffer {
  if (chance(rng, 0.005)) return randomBytes(rng, rng.int(1024 * 1024 - 64, 1024 * 1024 + 70_000));
  return randomBytes(rng, rng.int(0, 200));
}

const encode = (bytes: Uint8Array): Buffer => Buffer.from(bytes);

function kvSpecs(): RpcSpec[] {
  const spec = (name: 'get' | 'put' | 'delete' | 'batchGet' | 'batchPut', weight: number) => ({
    rpc: `KV.${name[0]?.toUpperCase()}${name.slice(1)}`,
    path: KVService[name].path,
    port: 'client' as const,
    weight,
    deadlineMs: callDeadlineMs,
  });
  return [
    {
      ...spec('get', 8),
      generate: (rng, world) => ({
        body: encode(
          GetRequest.encode({
            key: anyKey(rng, world),
            r: quorum(rng),
            strictQuorum: chance(rng, 0.3),
          }).finish(),
        ),
        mutable: true, // a Get cannot write, whatever its bytes say
      }),
    },
    {
      ...spec('put', 8),
      generate: (rng, world) => ({
        body: encode(
          PutRequest.encode({
            key: writableKey(rng, world),
            value: value(rng),
            context: context(rng, world),
            w: quorum(rng),
            strictQuorum: chance(rng, 0.3),
          }).finish(),
        ),
        mutable: true,
      }),
    },
    {
      ...spec('delete', 4),
      generate: (rng, world) => ({
        body: encode(
          DeleteRequest.encode({
            key: writableKey(rng, world),
            context: context(rng, world),
            w: quorum(rng),
            strictQuorum: chance(rng, 0.3),
          }).finish(),
        ),
        mutable: true,
      }),
    },
    {
      ...spec('batchGet', 2),
      generate: (rng, world) => ({
        body: encode(
          BatchGetRequest.encode({
            // 0..110: empty and over-the-limit batches too; keys may repeat.
            items: Array.from({ length: batchCount(rng, 100) }, () => ({
              key: anyKey(rng, world),
              r: quorum(rng),
              strictQuorum: chance(rng, 0.3),
            })),
          }).finish(),
        ),
        mutable: true,
      }),
    },
    {
      ...spec('batchPut', 2),
      generate: (rng, world) => ({
        body: encode(
          BatchPutRequest.encode({
            items: Array.from({ length: batchCount(rng, 25) }, () => {
              const key = writableKey(rng, world);
              const w = quorum(rng);
              const strictQuorum = chance(rng, 0.3);
              return chance(rng, 0.7)
                ? {
                    write: {
                      $case: 'put' as const,
                      value: {
                        key,
                        value: randomBytes(rng, rng.int(0, 200)),
                        context: context(rng, world),
                        w,
                        strictQuorum,
                      },
                    },
                  }
                : {
                    write: {
                      $case: 'delete' as const,
                      value: { key, context: context(rng, world), w, strictQuorum },
                    },
                  };
            }),
          }).finish(),
        ),
        mutable: true,
      }),
    },
  ];
}

/** Items of a fuzzed batch: mostly within the limit, sometimes none or over it. */
function batchCount(rng: Rng, max: number): number {
  const r = rng.next();
  if (r < 0.05) return 0;
  if (r < 0.1) return rng.int(max + 1, max + 10);
  return rng.int(1, Math.min(max, 12));
}

function change(rng: Rng, world: FuzzWorld): Change {
  const address = () => (chance(rng, 0.5) ? `127.0.0.1:${rng.int(0, 70_000)}` : randomText(rng));
  switch (rng.int(0, 4)) {
    case 0:
      return {
        kind: {
          $case: 'join',
          value: { id: nodeId(rng, world), address: address(), zone: '', peerAddress: address() },
        },
      };
    case 1:
      return { kind: { $case: 'leave', value: { id: nodeId(rng, world) } } };
    case 2:
      return { kind: { $case: 'remove', value: { id: nodeId(rng, world) } } };
    case 3: {
      const replace = {
        old: nodeId(rng, world),
        id: nodeId(rng, world),
        address: address(),
        zone: randomText(rng).slice(0, 80),
        dead: chance(rng, 0.5),
        peerAddress: address(),
      };
      return { kind: { $case: 'replace', value: replace } };
    }
    default:
      return { kind: undefined };
  }
}

function optionalBig(rng: Rng): bigint | undefined {
  if (chance(rng, 0.3)) return undefined;
  return chance(rng, 0.7) ? BigInt(rng.int(0, 100_000)) : rng.pick(uint64Edges);
}

/** Cluster RPCs whose request carries fields. */
function clusterFieldSpecs(): RpcSpec[] {
  const nonClaimants = (world: FuzzWorld) => world.nodeIds.filter((id) => id !== world.claimant);
  return [
    {
      rpc: 'Cluster.TriggerAntiEntropy',
      path: ClusterService.triggerAntiEntropy.path,
      port: 'client',
      weight: 0.5,
      deadlineMs: antiEntropyDeadlineMs,
      generate: (rng, world) => {
        const count = chance(rng, 0.97) ? rng.int(1, 4) : rng.int(0, 3000);
        const partitions = Array.from({ length: count }, () => anyPartition(rng, world));
        const req = { partitions, rebuild: chance(rng, 0.2) };
        return { body: encode(TriggerAntiEntropyRequest.encode(req).finish()), mutable: true };
      },
    },
    {
      rpc: 'Cluster.StageChange',
      path: ClusterService.stageChange.path,
      port: 'client',
      weight: 2,
      deadlineMs: callDeadlineMs,
      // Staging changes nothing until a commit, which only the claimant takes and never gets.
      generate: (rng, world) => ({
        body: encode(StageChangeRequest.encode({ change: change(rng, world) }).finish()),
        mutable: true,
      }),
    },
    {
      rpc: 'Cluster.MoveClaimant',
      path: ClusterService.moveClaimant.path,
      port: 'client',
      weight: 1,
      deadlineMs: callDeadlineMs,
      targets: nonClaimants,
      // Never forced, never byte-mutated (a flipped bit could set force): refused by a
      // non-claimant, so the claimant stays where it is for the whole run.
      generate: (rng, world) => ({
        body: encode(MoveClaimantRequest.encode({ to: nodeId(rng, world), force: false }).finish()),
        mutable: false,
      }),
    },
    {
      rpc: 'Cluster.SetTransferLimits',
      path: ClusterService.setTransferLimits.path,
      port: 'client',
      weight: 1,
      deadlineMs: callDeadlineMs,
      generate: (rng) => {
        const concurrency = chance(rng, 0.3) ? undefined : uint32(rng, () => rng.int(0, 70));
        const req = {
          concurrency,
          objectsPerSecond: optionalBig(rng),
          bytesPerSecond: optionalBig(rng),
        };
        return { body: encode(SetTransferLimitsRequest.encode(req).finish()), mutable: true };
      },
    },
  ];
}

/** Cluster RPCs with empty requests: only unknown fields and raw bytes can vary. */
function clusterEmptySpecs(): RpcSpec[] {
  const nonClaimants = (world: FuzzWorld) => world.nodeIds.filter((id) => id !== world.claimant);
  const empty = [
    ['getRing', 'GetRing'],
    ['listMembers', 'ListMembers'],
    ['getAntiEntropy', 'GetAntiEntropy'],
    ['getNodeStats', 'GetNodeStats'],
    ['planChanges', 'PlanChanges'],
    ['clearChanges', 'ClearChanges'],
    ['getClusterStatus', 'GetClusterStatus'],
    ['listTransfers', 'ListTransfers'],
    ['commitPlan', 'CommitPlan'],
    ['cancelTransition', 'CancelTransition'],
  ] as const;
  return empty.map(([method, name]) => ({
    rpc: `Cluster.${name}`,
    path: ClusterService[method].path,
    port: 'client' as const,
    weight: 1,
    deadlineMs: callDeadlineMs,
    ...(name === 'CommitPlan' || name === 'CancelTransition' ? { targets: nonClaimants } : {}),
    generate: () => ({ body: Buffer.alloc(0), mutable: true }),
  }));
}

export function clientSpecs(): RpcSpec[] {
  return [...kvSpecs(), ...clusterFieldSpecs(), ...clusterEmptySpecs()];
}
