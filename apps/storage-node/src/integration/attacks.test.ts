// The attacks the security review found (docs/security.md, "Peer messages are checked, not
// trusted"), each replayed against a real plaintext 3-node cluster on 127.0.0.1 (N = 3, so every
// node replicates every key). On loopback the peer port names its caller by the x-ringstore-from
// header (by design; with mTLS the certificate does, secured.test.ts), so a test speaks as n2 by
// setting that header: what a compromised node holding a certificate could send.
//
// "Old code" below is 1343767, the last commit before the review's fixes (334598a and e580892:
// two ports and the client port's limits; fbfbf39: peer messages checked), where the Peer service
// shared the client port with KV. Each comment says what that code did with the same message, as
// seen by running this file against it (its peer calls sent to the client port there).
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  Client,
  Metadata,
  credentials,
  status,
  type ClientDuplexStream,
  type ServiceError,
} from '@grpc/grpc-js';
import {
  ClusterService,
  KVService,
  PeerClient,
  PeerService,
  type GossipRequest,
  type GossipResponse,
  type LinkFrame,
  type LinkMessage,
  type Member,
  type MemberState,
  type Ring,
} from '@ringstore/proto';
import { partitionOf } from '@ringstore/ring';
import { freePorts, startCluster, type Cluster } from '@ringstore/tools';
import {
  decodeObject,
  encodeObject,
  fresh,
  join as joinClock,
  update,
  type DVVSet,
  type StoredValue,
} from '@ringstore/vclock';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { eventually } from '../test-support/eventually.js';
import { listServices } from '../test-support/grpc-probes.js';
import {
  connectNode,
  listMembers,
  siblingValues,
  statusOf,
  type NodeClient,
} from '../test-support/kv-client.js';

const ids = ['n1', 'n2', 'n3'] as const;
type NodeId = (typeof ids)[number];
const callDeadlineMs = 5_000;
const testTimeoutMs = 30_000;
/** Fast gossip, so a node wrongly seen down shows within the few seconds each test watches. */
const gossipIntervalMs = 250;

let dir: string;
let cluster: Cluster;
let metricsPorts: number[];
const clients = new Map<NodeId, NodeClient>();

function client(id: NodeId): NodeClient {
  let c = clients.get(id);
  if (c === undefined) {
    c = connectNode(cluster.node(id).address);
    clients.set(id, c);
  }
  return c;
}

/** The header a plaintext peer port goes by; `from` must be a ring member for most calls. */
function as(from: string): Metadata {
  const md = new Metadata();
  md.set('x-ringstore-from', from);
  return md;
}

/** Some other member than `id`, to speak as towards it. */
function otherThan(id: NodeId): NodeId {
  return id === 'n2' ? 'n1' : 'n2';
}

function deadline(): Date {
  return new Date(Date.now() + callDeadlineMs);
}

function codeOf(p: Promise<unknown>): Promise<number> {
  return p.then(
    () => status.OK,
    (e: ServiceError) => e.code,
  );
}

/** A unary call with the body sent as given (it need not decode); the error, if any. */
function rawCall(address: string, path: string, body: Buffer, md = new Metadata()) {
  const raw = new Client(address, credentials.createInsecure());
  return new Promise<ServiceError | undefined>((resolve) =>
    raw.makeUnaryRequest(
      path,
      (b: Buffer) => b,
      (b: Buffer) => b,
      body,
      md,
      { deadline: deadline() },
      (e) => {
        raw.close();
        resolve(e ?? undefined);
      },
    ),
  );
}

type Body = NonNullable<LinkMessage['body']>;

/**
 * One Link stream to a node's peer port, as a peer opens it: request frames out, replies matched
 * by request id. Each request has its own deadline; the stream closes with close().
 */
class LinkSession {
  private readonly peer: PeerClient;
  private readonly stream: ClientDuplexStream<LinkFrame, LinkFrame>;
  private readonly pending = new Map<bigint, (body: Body | Error) => void>();
  private nextId = 1n;
  /** The status the stream ended with, if it did. */
  ended: ServiceError | undefined;

  constructor(address: string, from: string) {
    this.peer = new PeerClient(address, credentials.createInsecure());
    this.stream = this.peer.link(as(from));
    this.stream.on('data', (frame: LinkFrame) => {
      for (const m of frame.messages) {
        const settle = this.pending.get(m.requestId);
        this.pending.delete(m.requestId);
        if (settle !== undefined && m.body !== undefined) settle(m.body);
      }
    });
    this.stream.on('error', (e: ServiceError) => {
      this.ended = e;
      for (const settle of this.pending.values()) settle(e);
      this.pending.clear();
    });
  }

  request(body: Body): Promise<Body> {
    const requestId = this.nextId++;
    return new Promise<Body>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.pending.delete(requestId);
        reject(new Error(`no reply to ${body.$case} within ${callDeadlineMs} ms`));
      }, callDeadlineMs);
      this.pending.set(requestId, (reply) => {
        clearTimeout(timer);
        if (reply instanceof Error) reject(reply);
        else resolve(reply);
      });
      this.stream.write({
        messages: [{ requestId, timeoutMs: callDeadlineMs, body }],
        sentMs: performance.now(),
      });
    });
  }

  close(): void {
    this.stream.cancel();
    this.peer.close();
  }
}

/** One request on a fresh Link to `to`, spoken as `from`. */
async function linkRequest(to: NodeId, from: string, body: Body): Promise<Body> {
  const link = new LinkSession(cluster.node(to).peerAddress, from);
  try {
    return await link.request(body);
  } finally {
    link.close();
  }
}

/** The code and message of an error reply; OK and the reply's kind for any other reply. */
function refusal(reply: Body): { code: number; message: string } {
  return reply.$case === 'error' ? reply.value : { code: status.OK, message: reply.$case };
}

function replyCode(reply: Body): number {
  return refusal(reply).code;
}

async function ring(): Promise<Ring> {
  return client('n1').ring();
}

function fenceOf(r: Ring): { ringTerm: bigint; ringVersion: bigint } {
  return { ringTerm: r.term, ringVersion: r.version };
}

/** The object bytes `id` stores for the key (a peer's read over the Link). */
async function storedObject(id: NodeId, key: Buffer, r: Ring): Promise<Buffer> {
  const partition = partitionOf(key, r.partitionCount);
  const reply = await linkRequest(id, otherThan(id), {
    $case: 'read',
    value: { partition, key, ...fenceOf(r) },
  });
  if (reply.$case !== 'readReply' || !reply.value.found)
    throw new Error(`read of ${key.toString()} at ${id}: ${JSON.stringify(reply.$case)}`);
  return reply.value.object;
}

/** The key's values read at R=3 through `id`. */
async function valuesAt(id: NodeId, key: Buffer): Promise<string[]> {
  return siblingValues(await client(id).get(key, { r: 3 }));
}

async function putAll(key: Buffer, value: string): Promise<void> {
  await eventually(() => client('n1').put(key, value, { w: 3 }), 10_000, 250);
}

function uniqueKey(name: string): Buffer {
  return Buffer.from(`${name}-${randomBytes(4).toString('hex')}`);
}

/** An object superseding `current` (a write with its context) through a made-up actor. */
function supersede(current: DVVSet<StoredValue>, value: StoredValue): Buffer {
  const written = update(fresh(value, joinClock(current)), current, 'intruder.1/1');
  return Buffer.from(encodeObject(written));
}

function httpGet(url: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const req = request(url, { timeout: callDeadlineMs }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => (body += chunk));
      res.on('end', () => resolve(body));
    });
    req.on('timeout', () => req.destroy(new Error('timed out')));
    req.on('error', reject);
    req.end();
  });
}

/** Unsigned LEB128, as the object codec writes counters. */
function varint(n: bigint): number[] {
  const out: number[] = [];
  let rest = n;
  while (rest >= 128n) {
    out.push(Number(rest & 0x7fn) | 0x80);
    rest >>= 7n;
  }
  out.push(Number(rest));
  return out;
}

/** Members as `to` gossips them (a Gossip call with nothing to merge). */
function gossip(to: NodeId, from: string, members: MemberState[]): Promise<GossipResponse> {
  const peer = new PeerClient(cluster.node(to).peerAddress, credentials.createInsecure());
  const req: GossipRequest = { from, members, ring: undefined };
  return new Promise<GossipResponse>((resolve, reject) =>
    peer.gossip(req, as(from), { deadline: deadline() }, (e, r) => {
      peer.close();
      if (e === null) resolve(r);
      else reject(e);
    }),
  );
}

/** Which real members each node sees down (ListMembers alive false), as "n1 sees n3 down". */
async function downViews(): Promise<string[]> {
  const views = await Promise.all(
    ids.map(async (id) => ({ id, members: await listMembers(cluster.node(id).address) })),
  );
  const real = (m: Member): boolean => ids.some((id) => id === m.node?.id);
  return views.flatMap(({ id, members }) =>
    members.filter((m) => real(m) && !m.alive).map((m) => `${id} sees ${m.node?.id} down`),
  );
}

/** A write at W=3 and a read at R=3, through every node. */
async function quorumRoundTrip(name: string): Promise<void> {
  for (const id of ids) {
    const key = uniqueKey(`${name}-${id}`);
    await client(id).put(key, 'ok', { w: 3 });
    expect(await valuesAt(id, key)).toEqual(['ok']);
  }
}

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'ringstore-attacks-'));
  metricsPorts = await freePorts(ids.length, '127.0.0.1');
  cluster = await startCluster({
    nodes: ids.length,
    basePort: 0,
    dataDir: join(dir, 'data'),
    logDir: join(dir, 'logs'),
    extraArgs: ['--gossip-interval-ms', String(gossipIntervalMs)],
    nodeArgs: (id) => ['--metrics-listen', `127.0.0.1:${metricsPorts[ids.indexOf(id as NodeId)]}`],
  });
  // Every node has heard every other's incarnation, so a W=3 write right away does not meet a
  // channel still in the reconnect backoff of a dial made before its peer listened.
  await eventually(async () => {
    expect(await downViews()).toEqual([]);
    for (const id of ids) {
      const members = await listMembers(cluster.node(id).address);
      expect(members.every((m) => m.generation > 0n)).toBe(true);
    }
  }, 30_000);
}, 60_000);

afterAll(async () => {
  for (const c of clients.values()) c.close();
  clients.clear();
  try {
    await cluster?.stop();
  } finally {
    if (dir !== undefined) rmSync(dir, { recursive: true, force: true });
  }
}, 30_000);

describe('the Peer service is not on the client port', () => {
  // Old code: the client port served Peer to anyone: every call here was answered (OK; PushRing
  // without a document INVALID_ARGUMENT), so anyone could list keys (SegmentKeys), read raw
  // objects and overwrite any key (Link read and replicate).
  it(
    'answers every Peer method on the client port UNIMPLEMENTED, and reflection there does not list it',
    async () => {
      const address = cluster.node('n1').address;
      // Empty bodies: the default of every request message, so each would reach its handler.
      const codes: Record<string, number> = {};
      for (const [name, method] of Object.entries(PeerService)) {
        if (method.requestStream) continue;
        codes[name] =
          (await rawCall(address, method.path, Buffer.alloc(0), as('n2')))?.code ?? status.OK;
      }
      const link = new LinkSession(address, 'n2');
      const linkCode = await codeOf(
        link.request({ $case: 'hintsHeld', value: { partition: 0 } }),
      ).finally(() => link.close());
      expect({ ...codes, link: link.ended?.code ?? linkCode }).toEqual({
        gossip: status.UNIMPLEMENTED,
        merkleLevel: status.UNIMPLEMENTED,
        segmentKeys: status.UNIMPLEMENTED,
        fetchRing: status.UNIMPLEMENTED,
        pushRing: status.UNIMPLEMENTED,
        link: status.UNIMPLEMENTED,
      });
      const services = await listServices(address);
      expect(services).toContain('ringstore.v1.KV');
      expect(services).not.toContain('ringstore.v1.Peer');
      // The same Link request on the peer port is answered: the refusal above is the port's.
      const reply = await linkRequest('n1', 'n2', { $case: 'hintsHeld', value: { partition: 0 } });
      expect(reply.$case).toBe('hintsHeldReply');
    },
    testTimeoutMs,
  );
});

describe('forged peer messages', () => {
  // Old code: the replica stored an object under whatever partition the message named (reply
  // OK), a row of the key in a partition it does not belong to, on every node it was sent to.
  it(
    "refuses a replicate naming another partition than the key's, INVALID_ARGUMENT; the value stays",
    async () => {
      const key = uniqueKey('misplaced');
      await putAll(key, 'real');
      const r = await ring();
      const own = partitionOf(key, r.partitionCount);
      const wrong = (own + 1) % r.partitionCount;
      const current = decodeObject(await storedObject('n1', key, r));
      const forged = supersede(current, {
        bytes: Buffer.from('forged'),
        tombstone: false,
        timestampMs: Date.now(),
      });
      for (const id of ids) {
        const reply = await linkRequest(id, otherThan(id), {
          $case: 'replicate',
          value: { partition: wrong, key, object: forged, hintFor: '', ...fenceOf(r) },
        });
        expect(refusal(reply).code).toBe(status.INVALID_ARGUMENT);
        expect(refusal(reply).message).toMatch(/belongs to/);
      }
      for (const id of ids) expect(await valuesAt(id, key)).toEqual(['real']);
    },
    testTimeoutMs,
  );

  // Old code: decodeObject took any counter up to 2^53 - 1 and every replica merged it (reply
  // OK); the next write through the actor's node overflowed the counter, an assertion, and failed
  // INTERNAL ("put failed on the coordinator: acked 0 of W=3"), for good.
  it(
    'refuses a replicate whose counter is 2^53 - 1 ("counter out of range"); the key stays writable',
    async () => {
      const key = uniqueKey('poisoned');
      await putAll(key, 'v1');
      const r = await ring();
      const partition = partitionOf(key, r.partitionCount);
      const current = decodeObject(await storedObject('n1', key, r));
      const entry = current.entries[0];
      expect(entry).toBeDefined();
      // The codec writes counters up to counterMax (2^53 - 2^32) and no further (an assertion):
      // encode the key's own object with its coordinator's counter at counterMax, then put the
      // eight varint bytes of 2^53 - 1 in place of counterMax's (the same length).
      const counterMax = Number.MAX_SAFE_INTEGER - 2 ** 32;
      const atMax = Buffer.from(
        encodeObject({
          entries: current.entries.map((e, i) => (i === 0 ? { ...e, counter: counterMax } : e)),
          anonymous: current.anonymous,
        }),
      );
      const from = Buffer.from(varint(BigInt(counterMax)));
      const to = Buffer.from(varint(BigInt(Number.MAX_SAFE_INTEGER)));
      const at = atMax.indexOf(from);
      expect([at >= 0, atMax.indexOf(from, at + 1), from.length]).toEqual([true, -1, to.length]);
      const poisoned = Buffer.concat([atMax.subarray(0, at), to, atMax.subarray(at + from.length)]);
      expect(() => decodeObject(poisoned)).toThrow(/counter out of range/);
      for (const id of ids) {
        const reply = await linkRequest(id, otherThan(id), {
          $case: 'replicate',
          value: { partition, key, object: poisoned, hintFor: '', ...fenceOf(r) },
        });
        expect(refusal(reply).code).toBe(status.INVALID_ARGUMENT);
        expect(refusal(reply).message).toMatch(/counter out of range|malformed/);
      }
      // Each node coordinates a write with the context of its read (the first under the actor
      // whose counter the forgery named), and it reads back everywhere.
      let last = 'v1';
      for (const id of ids) {
        const read = await client(id).get(key, { r: 3 });
        expect(siblingValues(read)).toEqual([last]);
        last = `v-${id}`;
        await client(id).put(key, last, { context: read.context, w: 3 });
        for (const reader of ids) expect(await valuesAt(reader, key)).toEqual([last]);
      }
    },
    testTimeoutMs,
  );

  // Old code: this message was refused there as well (the handler judged the request's bytes,
  // here a live object, not a tombstone; and the engine removes only a byte-equal copy), so this
  // test passes on 1343767: it guards the reap check's rewrite (it now judges the receiver's own
  // copy) rather than a hole that was open.
  it(
    'removes nothing on a reap naming a live key with its current object',
    async () => {
      const key = uniqueKey('live');
      await putAll(key, 'alive');
      const r = await ring();
      const partition = partitionOf(key, r.partitionCount);
      for (const id of ids) {
        const object = await storedObject(id, key, r);
        const reply = await linkRequest(id, otherThan(id), {
          $case: 'reap',
          value: { partition, key, object, ...fenceOf(r) },
        });
        if (reply.$case === 'reapReply') expect(reply.value.reaped).toBe(false);
        else expect(replyCode(reply)).toBe(status.INVALID_ARGUMENT);
      }
      for (const id of ids) {
        expect(await valuesAt(id, key)).toEqual(['alive']);
        expect((await storedObject(id, key, r)).length).toBeGreaterThan(0);
      }
    },
    testTimeoutMs,
  );

  // Old code: a fallback took a hint for any id (reply OK): it merged the object, kept a hint row
  // for the invented target and exported ringstore_hints_pending{target="<the invented id>"}, a
  // label (and a row) per id a peer cared to invent.
  it(
    'refuses a replicate whose hint names an id the ring does not know; no metric series for it',
    async () => {
      const key = uniqueKey('hinted');
      const r = await ring();
      const partition = partitionOf(key, r.partitionCount);
      const invented = `ghost-${randomBytes(3).toString('hex')}`;
      const object = Buffer.from(
        encodeObject(
          update(
            fresh({ bytes: Buffer.from('h'), tombstone: false, timestampMs: Date.now() }),
            undefined,
            'intruder.1/1',
          ),
        ),
      );
      const reply = await linkRequest('n1', 'n2', {
        $case: 'replicate',
        value: { partition, key, object, hintFor: invented, ...fenceOf(r) },
      });
      expect(reply.$case).toBe('error');
      expect([status.INVALID_ARGUMENT, status.FAILED_PRECONDITION]).toContain(replyCode(reply));
      for (const [i, id] of ids.entries()) {
        const text = await httpGet(`http://127.0.0.1:${metricsPorts[i]}/metrics`);
        expect(text).toContain('# TYPE ringstore_hints_pending');
        expect(text, id).not.toContain(`target="${invented}"`);
      }
      expect(await valuesAt('n1', key)).toEqual([]);
    },
    testTimeoutMs,
  );
});

describe('undecodable and oversized requests', () => {
  const garbage = Buffer.from([0x0a, 0x10, 0x61]); // field 1, 16 bytes long, 1 byte given

  // Old code: grpc-js answers INTERNAL ("Error deserializing request") when a service's decoder
  // throws; the node never saw the request, so it could not say it was the caller's fault.
  it(
    'answers bytes that do not decode INVALID_ARGUMENT, never INTERNAL, on both ports',
    async () => {
      const n1 = cluster.node('n1');
      const outcomes: Record<string, number> = {};
      for (const method of [...Object.values(KVService), ...Object.values(ClusterService)]) {
        const e = await rawCall(n1.address, method.path, garbage);
        outcomes[method.path] = e?.code ?? status.OK;
      }
      for (const method of Object.values(PeerService)) {
        if (method.requestStream) continue;
        const e = await rawCall(n1.peerAddress, method.path, garbage, as('n2'));
        outcomes[method.path] = e?.code ?? status.OK;
      }
      const expected = Object.fromEntries(
        Object.keys(outcomes).map((path) => [path, status.INVALID_ARGUMENT]),
      );
      expect(outcomes).toEqual(expected);
      expect(outcomes['/ringstore.v1.KV/Put']).toBe(status.INVALID_ARGUMENT);
      // A Link frame that does not decode ends the stream INVALID_ARGUMENT.
      const raw = new Client(n1.peerAddress, credentials.createInsecure());
      const linkCode = await new Promise<number>((resolve) => {
        const stream = raw.makeBidiStreamRequest(
          PeerService.link.path,
          (b: Buffer) => b,
          (b: Buffer) => b,
          as('n2'),
          { deadline: deadline() },
        );
        stream.on('data', () => undefined);
        stream.on('error', (e: ServiceError) => resolve(e.code));
        stream.on('end', () => resolve(status.OK));
        stream.write(garbage);
      }).finally(() => raw.close());
      expect(linkCode).toBe(status.INVALID_ARGUMENT);
      expect(await valuesAt('n1', uniqueKey('after-garbage'))).toEqual([]);
    },
    testTimeoutMs,
  );

  // Old code: the client port took messages up to 64 MiB (the peer link's limit), buffered the
  // whole 5 MiB, then refused the value INVALID_ARGUMENT; now grpc-js refuses it as it arrives.
  it(
    'refuses a 5 MiB put on the client port RESOURCE_EXHAUSTED, and still serves',
    async () => {
      const key = uniqueKey('huge');
      const outcome = await statusOf(client('n2').put(key, Buffer.alloc(5 * 1024 * 1024, 7)));
      expect(outcome.code).toBe(status.RESOURCE_EXHAUSTED);
      await client('n2').put(key, 'small', { w: 3 });
      expect(await valuesAt('n2', key)).toEqual(['small']);
    },
    testTimeoutMs,
  );
});

describe('forged gossip', () => {
  // Old code: a generation up to 2^53 - 1 was merged. n3's real gossip (its true, older
  // generation) then lost to the forgery everywhere, its heartbeat never advanced again, and every
  // other node saw n3 down for good (n3 dropped the entry about itself, so never refuted it).
  it(
    'ignores a generation of 2^53 - 1 claimed for n3: every node still sees n3 up; R=W=3 works',
    async () => {
      const { members } = await gossip('n1', 'n2', []);
      const n3 = members.find((m) => m.id === 'n3');
      expect(n3).toBeDefined();
      const forged: MemberState = {
        ...n3!,
        generation: BigInt(Number.MAX_SAFE_INTEGER),
        heartbeat: 1n,
      };
      for (const to of ['n1', 'n3'] as const) await gossip(to, 'n2', [forged]);
      // Long enough for a silenced member to be convicted (phi) many times over at 250 ms rounds.
      await new Promise((r) => setTimeout(r, 5_000));
      await eventually(async () => expect(await downViews()).toEqual([]), 5_000, 250);
      for (const id of ids) {
        const seen = (await listMembers(cluster.node(id).address)).find((m) => m.node?.id === 'n3');
        expect(seen?.generation).not.toBe(BigInt(Number.MAX_SAFE_INTEGER));
      }
      await quorumRoundTrip('after-forged-generation');
    },
    testTimeoutMs,
  );

  // Old code: 1343767 already left ids the ring does not name out of the merge (fa0667f), so this
  // test passes there. Before fa0667f the invented members were merged, filling the state to
  // membersMax (1,024 with the 3 real ones), and every node saw both real peers down within the
  // 10 s (this file run against fa0667f^ fails so).
  it(
    'survives one Gossip call with 1,021 invented members: no real peer seen down for 10 s',
    async () => {
      const nowMs = BigInt(Date.now());
      const invented: MemberState[] = Array.from({ length: 1_021 }, (_, i) => ({
        id: `phantom-${String(i).padStart(4, '0')}`,
        address: `127.0.0.1:${1 + (i % 1000)}`,
        peerAddress: `127.0.0.1:${2 + (i % 1000)}`,
        zone: '',
        generation: nowMs,
        heartbeat: 1n,
        status: 'up',
        ringTerm: 0n,
        ringVersion: 0n,
      }));
      await gossip('n1', 'n2', invented);
      const seenDown: string[] = [];
      const endMs = Date.now() + 10_000;
      while (Date.now() < endMs) {
        seenDown.push(...(await downViews()));
        await new Promise((r) => setTimeout(r, 500));
      }
      expect(seenDown).toEqual([]);
      for (const id of ids) expect(await listMembers(cluster.node(id).address)).toHaveLength(3);
      await quorumRoundTrip('after-flood');
    },
    testTimeoutMs,
  );
});
