// Before the fuzzing: the known keys written (and read back), and what the generators need of the
// cluster (FuzzWorld), each with ordinary, valid calls. After it: waiting for every node to see
// every other up again, and the known keys read back. Every call has a deadline.
import { Metadata, credentials, type ServiceError } from '@grpc/grpc-js';
import {
  ClusterClient,
  KVClient,
  PeerClient,
  type GetResponse,
  type GossipResponse,
  type LinkFrame,
  type Member,
  type Ring,
  type RingDocument,
} from '@ringstore/proto';
import type { Cluster, ClusterNode } from '../cluster.js';
import { actorsOf, partitionOf } from './wire.js';
import { knownKeyPrefix, type FuzzWorld } from './world.js';

/** Deadline of each setup and check call. */
const setupCallMs = 5_000;
/** Known keys written before the run (enough to cover many partitions, few enough to be quick). */
export const knownKeyCount = 24;
/** Attempts at a known key's write: a repeat goes with the context of a read, so never doubles. */
const knownWriteAttempts = 5;
const retryPauseMs = 300;
/** Objects read over the Link to serve as templates. */
const templateObjects = 8;

function deadline(): Date {
  return new Date(Date.now() + setupCallMs);
}

function call<T>(fn: (cb: (e: ServiceError | null, r: T) => void) => void): Promise<T> {
  return new Promise<T>((resolve, reject) => fn((e, r) => (e === null ? resolve(r) : reject(e))));
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export interface KnownKey {
  readonly key: Buffer;
  readonly value: Buffer;
}

export function knownKeys(seed: number): KnownKey[] {
  return Array.from({ length: knownKeyCount }, (_, i) => ({
    key: Buffer.from(`${knownKeyPrefix}${String(i).padStart(3, '0')}-${seed}`),
    value: Buffer.from(`value ${i} of seed ${seed}`),
  }));
}

/** Clients of the nodes' client ports for the setup and the checks. */
export class Probe {
  private readonly kv = new Map<string, KVClient>();
  private readonly cluster = new Map<string, ClusterClient>();

  close(): void {
    for (const c of [...this.kv.values(), ...this.cluster.values()]) c.close();
  }

  private kvOf(address: string): KVClient {
    let c = this.kv.get(address);
    if (c === undefined)
      this.kv.set(address, (c = new KVClient(address, credentials.createInsecure())));
    return c;
  }

  private clusterOf(address: string): ClusterClient {
    let c = this.cluster.get(address);
    if (c === undefined)
      this.cluster.set(address, (c = new ClusterClient(address, credentials.createInsecure())));
    return c;
  }

  get(address: string, key: Buffer, r: number): Promise<GetResponse> {
    const req = { key, r, strictQuorum: false };
    return call((cb) => this.kvOf(address).get(req, new Metadata(), { deadline: deadline() }, cb));
  }

  async put(
    address: string,
    key: Buffer,
    value: Buffer,
    context: Buffer,
    w: number,
  ): Promise<void> {
    const req = { key, value, context, w, strictQuorum: false };
    await call((cb) => this.kvOf(address).put(req, new Metadata(), { deadline: deadline() }, cb));
  }

  ring(address: string): Promise<Ring> {
    return call((cb) =>
      this.clusterOf(address).getRing({}, new Metadata(), { deadline: deadline() }, cb),
    );
  }

  async members(address: string): Promise<Member[]> {
    const res = await call<{ members: Member[] }>((cb) =>
      this.clusterOf(address).listMembers({}, new Metadata(), { deadline: deadline() }, cb),
    );
    return res.members;
  }
}

/** Which nodes some node sees down ("n1 sees n3 down"), or has not heard an incarnation of. */
export async function notUp(probe: Probe, nodes: readonly ClusterNode[]): Promise<string[]> {
  const views = await Promise.all(
    nodes.map(async (n) => {
      try {
        const members = await probe.members(n.address);
        const bad = members.filter((m) => !m.alive || m.generation === 0n);
        const missing = nodes.length - members.length;
        return [
          ...bad.map((m) => `${n.id} sees ${m.node?.id ?? '?'} down`),
          ...(missing > 0 ? [`${n.id} lists ${members.length} members`] : []),
        ];
      } catch (e) {
        return [`${n.id} did not answer ListMembers: ${(e as Error).message}`];
      }
    }),
  );
  return views.flat();
}

/** Waits until every node sees every node up; the problems left at the end ([] when settled). */
export async function waitAllUp(
  probe: Probe,
  nodes: readonly ClusterNode[],
  timeoutMs: number,
): Promise<string[]> {
  const endMs = Date.now() + timeoutMs;
  for (;;) {
    const problems = await notUp(probe, nodes);
    if (problems.length === 0 || Date.now() >= endMs) return problems;
    await sleep(250);
  }
}

/** Writes each known key at W = 3 (a repeat supersedes what a failed attempt may have left). */
export async function writeKnownKeys(
  probe: Probe,
  nodes: readonly ClusterNode[],
  keys: readonly KnownKey[],
): Promise<void> {
  for (const [i, { key, value }] of keys.entries()) {
    const address = nodes[i % nodes.length]!.address;
    let last: unknown;
    for (let attempt = 0; attempt < knownWriteAttempts; attempt++) {
      try {
        const context =
          attempt === 0 ? Buffer.alloc(0) : (await probe.get(address, key, 3)).context;
        await probe.put(address, key, value, context, 3);
        last = undefined;
        break;
      } catch (e) {
        last = e;
        await sleep(retryPauseMs);
      }
    }
    if (last !== undefined)
      throw new Error(`writing known key ${key.toString()}: ${(last as Error).message}`);
  }
}

/** What a known key reads at R = 3 when it is not exactly its value ([] when all are). */
export async function checkKnownKeys(
  probe: Probe,
  nodes: readonly ClusterNode[],
  keys: readonly KnownKey[],
  retryForMs: number,
): Promise<string[]> {
  const problems: string[] = [];
  for (const [i, { key, value }] of keys.entries()) {
    const node = nodes[i % nodes.length]!;
    const endMs = Date.now() + retryForMs;
    for (;;) {
      try {
        const res = await probe.get(node.address, key, 3);
        const got = res.siblings.map((s) => (s.deleted ? '<deleted>' : s.value.toString()));
        if (got.length !== 1 || got[0] !== value.toString())
          problems.push(
            `${key.toString()} via ${node.id}: ${JSON.stringify(got)}, expected ${JSON.stringify(value.toString())}`,
          );
        break;
      } catch (e) {
        if (Date.now() >= endMs) {
          problems.push(`${key.toString()} via ${node.id}: ${(e as ServiceError).message}`);
          break;
        }
        await sleep(retryPauseMs);
      }
    }
  }
  return problems;
}

/** One request over a Link to a peer port, as `from`: the reply body. */
async function linkRead(
  peerAddress: string,
  from: string,
  key: Buffer,
  ring: Ring,
): Promise<Buffer | undefined> {
  const peer = new PeerClient(peerAddress, credentials.createInsecure());
  const md = new Metadata();
  md.set('x-ringstore-from', from);
  const stream = peer.link(md);
  try {
    return await new Promise<Buffer | undefined>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error('link read timed out')), setupCallMs);
      stream.on('data', (frame: LinkFrame) => {
        clearTimeout(timer);
        const body = frame.messages[0]?.body;
        resolve(body?.$case === 'readReply' && body.value.found ? body.value.object : undefined);
      });
      stream.on('error', (e: Error) => {
        clearTimeout(timer);
        reject(e);
      });
      const partition = partitionOf(key, ring.partitionCount);
      const read = { partition, key, ringTerm: ring.term, ringVersion: ring.version };
      stream.write({
        messages: [{ requestId: 1n, timeoutMs: setupCallMs, body: { $case: 'read', value: read } }],
        sentMs: performance.now(),
      });
    });
  } finally {
    stream.cancel();
    peer.close();
  }
}

function peerCall<T>(
  address: string,
  from: string,
  fn: (p: PeerClient, md: Metadata, cb: (e: ServiceError | null, r: T) => void) => void,
): Promise<T> {
  const peer = new PeerClient(address, credentials.createInsecure());
  const md = new Metadata();
  md.set('x-ringstore-from', from);
  return call<T>((cb) => fn(peer, md, cb)).finally(() => peer.close());
}

/** What the generators use: the ring, its document, gossip entries, stored objects, contexts. */
export async function learnWorld(
  probe: Probe,
  cluster: Cluster,
  keys: readonly KnownKey[],
): Promise<FuzzWorld> {
  const nodes = cluster.nodes;
  const [first, second] = [nodes[0]!, nodes[1]!];
  const ring = await probe.ring(first.address);
  const ringDocument = await peerCall<RingDocument>(first.peerAddress, second.id, (p, md, cb) =>
    p.fetchRing({}, md, { deadline: deadline() }, cb),
  );
  const gossip = await peerCall<GossipResponse>(first.peerAddress, second.id, (p, md, cb) =>
    p.gossip({ from: second.id, members: [], ring: undefined }, md, { deadline: deadline() }, cb),
  );
  const objects: Buffer[] = [];
  for (const [i, { key }] of keys.slice(0, templateObjects).entries()) {
    const to = nodes[i % nodes.length]!;
    const from = nodes[(i + 1) % nodes.length]!;
    const object = await linkRead(to.peerAddress, from.id, key, ring);
    if (object !== undefined) objects.push(object);
  }
  const contexts = await Promise.all(
    keys
      .slice(0, templateObjects)
      .map(async ({ key }) => (await probe.get(first.address, key, 1)).context),
  );
  return {
    nodeIds: nodes.map((n) => n.id),
    claimant: ring.claimant,
    partitionCount: ring.partitionCount,
    ringTerm: ring.term,
    ringVersion: ring.version,
    ringDocument,
    knownKeys: keys.map((k) => k.key),
    objects,
    contexts,
    actors: [...new Set(objects.flatMap(actorsOf))],
    members: gossip.members,
    startedAtMs: BigInt(Date.now()),
  };
}
