import { commit, plan, stage, type NodeStatus, type RingDocument } from '@ringstore/membership';
import type {
  PushRingRequest,
  PushRingResponse,
  RingDocument as DocumentMessage,
} from '@ringstore/proto';
import { openMemoryEngine, type StorageEngine } from '@ringstore/storage';
import { afterEach, describe, expect, it } from 'vitest';
import { ClusterView } from '../cluster-view.js';
import { ConfigError, loadConfig, type NodeConfig } from '../config.js';
import { RingstoreError } from '../errors.js';
import { createLogger } from '../logger.js';
import type { Peers } from '../peer/peers.js';
import { decodeDocument, documentFromMessage, documentToMessage } from './document-codec.js';
import { RingKeeper, documentOfNodes, loadDocument } from './ring-keeper.js';

const log = createLogger({ level: 'silent', nodeId: 't', pretty: false });
/** The meta row ring-keeper.ts persists the document in. */
const ringMeta = 'ring_document';
// Consecutive client ports: each peer port is named (the default, client + 1, would collide).
const members = [
  'n1=127.0.0.1:7001/127.0.0.1:7101',
  'n2=127.0.0.1:7002/127.0.0.1:7102',
  'n3=127.0.0.1:7003/127.0.0.1:7103',
];

function configOf(id: string, nodes: readonly string[] = members): NodeConfig {
  return loadConfig(['--id', id, '--data', '/unused', '--nodes', nodes.join(',')], {});
}

const storages: StorageEngine[] = [];
afterEach(async () => {
  for (const s of storages.splice(0)) await s.close();
});

function memory(): StorageEngine {
  const s = openMemoryEngine();
  storages.push(s);
  return s;
}

/** `doc` one version on, with n4 staged, planned and committed (a transition starts). */
function joined(doc: RingDocument): RingDocument {
  const join = {
    kind: 'join',
    id: 'n4',
    address: '127.0.0.1:7004',
    peerAddress: '127.0.0.1:7104',
    zone: '',
  } as const;
  const staged = stage(doc, undefined, join, () => true);
  if (!staged.ok) throw new Error(staged.refusal.message);
  const outcome = commit(doc, staged.staged, plan(doc, staged.staged));
  if (!outcome.ok) throw new Error(outcome.refusal.message);
  return outcome.document;
}

function withStatus(doc: RingDocument, id: string, status: NodeStatus): RingDocument {
  const nodes = doc.nodes.map((n) => (n.id === id ? { ...n, status } : n));
  return { ...doc, version: doc.version + 1, nodes };
}

/** The two ring RPCs the keeper makes, answered from what each fake peer holds. */
class RingPeers {
  readonly pushes: { nodeId: string; version: number }[] = [];
  readonly fetches: string[] = [];
  /** What a peer answers FetchRing with; a push of a newer document replaces it. */
  readonly held = new Map<string, RingDocument>();
  readonly failing = new Set<string>();
  /** Resolves a pending fetch: set while one is held back. */
  release: (() => void) | undefined;
  holdFetches = false;

  asPeers(): Peers {
    return this as unknown as Peers;
  }

  pushRing(nodeId: string, req: PushRingRequest, _timeoutMs: number): Promise<PushRingResponse> {
    const doc = documentFromMessage(req.document!);
    this.pushes.push({ nodeId, version: doc.version });
    if (this.failing.has(nodeId)) return Promise.reject(new Error(`${nodeId} is down`));
    const mine = this.held.get(nodeId);
    const kept = mine !== undefined && mine.version > doc.version ? mine : doc;
    this.held.set(nodeId, kept);
    return Promise.resolve({ term: BigInt(kept.term), version: BigInt(kept.version) });
  }

  async fetchRing(nodeId: string, _timeoutMs: number): Promise<DocumentMessage> {
    this.fetches.push(nodeId);
    if (this.holdFetches) await new Promise<void>((r) => (this.release = r));
    const doc = this.held.get(nodeId);
    if (doc === undefined || this.failing.has(nodeId)) throw new Error(`${nodeId} is down`);
    return documentToMessage(doc);
  }
}

interface Fixture {
  readonly storage: StorageEngine;
  readonly view: ClusterView;
  readonly peers: RingPeers;
  readonly keeper: RingKeeper;
}

/** n1's keeper over a memory engine, starting from the document its --nodes makes. */
async function fixture(selfId = 'n1'): Promise<Fixture> {
  const storage = memory();
  const doc = await loadDocument(configOf(selfId), storage, log);
  const view = new ClusterView(selfId, doc);
  const peers = new RingPeers();
  const keeper = new RingKeeper(selfId, view, storage, peers.asPeers(), log);
  return { storage, view, peers, keeper };
}

function refusalOf(f: () => unknown): RingstoreError {
  try {
    f();
  } catch (e) {
    expect(e).toBeInstanceOf(RingstoreError);
    return e as RingstoreError;
  }
  throw new Error('expected a refusal');
}

function persisted(storage: StorageEngine): RingDocument {
  return decodeDocument(storage.getMeta(ringMeta)!);
}

describe('loadDocument', () => {
  it('makes the --nodes document of a new data directory and persists it', async () => {
    const storage = memory();
    const config = configOf('n2');
    const doc = await loadDocument(config, storage, log);
    expect(doc).toEqual(documentOfNodes(config));
    expect({ term: doc.term, version: doc.version, claimant: doc.claimant }).toEqual({
      term: 1,
      version: 1,
      claimant: 'n1',
    });
    expect(doc.nodes.map((n) => [n.id, n.address, n.peerAddress, n.status])).toEqual([
      ['n1', '127.0.0.1:7001', '127.0.0.1:7101', 'valid'],
      ['n2', '127.0.0.1:7002', '127.0.0.1:7102', 'valid'],
      ['n3', '127.0.0.1:7003', '127.0.0.1:7103', 'valid'],
    ]);
    expect(persisted(storage)).toEqual(doc);
  });

  it('gives every founder the same document, whatever order its --nodes lists them in', () => {
    const docs = [
      documentOfNodes(configOf('n1')),
      documentOfNodes(configOf('n3', [...members].reverse())),
      documentOfNodes(configOf('n2', [members[1]!, members[2]!, members[0]!])),
    ];
    for (const d of docs.slice(1)) expect(d).toEqual(docs[0]);
    expect(docs[0]!.clusterId).toMatch(/^[0-9a-f]{16}$/);
    // The cluster id is made of the member list: another list is another cluster.
    const moved = documentOfNodes(configOf('n1', [members[0]!, members[1]!, 'n3=127.0.0.1:7009']));
    expect(moved.nodes.find((n) => n.id === 'n3')?.peerAddress).toBe('127.0.0.1:7010');
    expect(moved.clusterId).not.toBe(docs[0]!.clusterId);
    const fewer = documentOfNodes(configOf('n1', members.slice(0, 2)));
    expect(fewer.clusterId).not.toBe(docs[0]!.clusterId);
  });

  it('on a restart loads the persisted document, not --nodes', async () => {
    const f = await fixture();
    const next = joined(f.view.document);
    expect(f.keeper.offer(next, 'n2')).toBe(true);
    const other = configOf('n1', [members[0]!, 'n5=127.0.0.1:7005/127.0.0.1:7105']);
    expect(await loadDocument(other, f.storage, log)).toEqual(next);
    expect(persisted(f.storage)).toEqual(next);
  });

  it.each(['left', 'removed'] as const)(
    'refuses a data directory whose node is %s, naming it',
    async (status) => {
      const f = await fixture('n3');
      f.keeper.offer(withStatus(f.view.document, 'n3', status), 'n1');
      const clusterId = f.view.document.clusterId;
      const e: unknown = await loadDocument(configOf('n3'), f.storage, log).catch(
        (x: unknown) => x,
      );
      expect(e).toBeInstanceOf(ConfigError);
      expect((e as Error).message).toContain(`node n3 is ${status} in cluster ${clusterId}`);
      // The same document does not stop a node that is still a member.
      expect((await loadDocument(configOf('n1'), f.storage, log)).version).toBe(2);
    },
  );
});

describe('RingKeeper.offer', () => {
  it('applies a newer version, persisted before the view changes', async () => {
    const f = await fixture();
    const next = joined(f.view.document);
    const seen: RingDocument[] = [];
    f.view.onChange((doc) => seen.push(doc, persisted(f.storage)));
    expect(f.keeper.offer(next, 'n2')).toBe(true);
    expect(seen).toEqual([next, next]);
    expect(f.keeper.document).toBe(next);
  });

  it('keeps its document for the same or an older version', async () => {
    const f = await fixture();
    const first = f.view.document;
    const next = joined(first);
    f.keeper.offer(next, 'n2');
    let changes = 0;
    f.view.onChange(() => changes++);
    expect(f.keeper.offer(first, 'n3')).toBe(false);
    expect(f.keeper.offer(structuredClone(next), 'n3')).toBe(false);
    expect(changes).toBe(0);
    expect(f.keeper.document).toBe(next);
    expect(persisted(f.storage)).toEqual(next);
  });

  it("refuses another cluster's document and a second document of the same version", async () => {
    const f = await fixture();
    const first = f.view.document;
    const foreign = { ...joined(first), clusterId: 'elsewhere' };
    const other = refusalOf(() => f.keeper.offer(foreign, 'n2'));
    expect([other.code, other.message]).toEqual([
      'invalid-argument',
      `ring document of cluster elsewhere, this node is in ${first.clusterId}`,
    ]);
    const next = joined(first);
    f.keeper.offer(next, 'n2');
    const forged = { ...next, claimant: 'n2' };
    const conflict = refusalOf(() => f.keeper.offer(forged, 'n3'));
    expect([conflict.code, conflict.message]).toEqual([
      'invalid-argument',
      'two ring documents claim term 1 version 2',
    ]);
    expect(f.keeper.document).toBe(next);
    expect(persisted(f.storage)).toEqual(next);
  });
});

describe('RingKeeper: FetchRing and PushRing', () => {
  it('serves its document on FetchRing', async () => {
    const f = await fixture();
    f.keeper.offer(joined(f.view.document), 'n2');
    expect(documentFromMessage(f.keeper.fetchRing())).toEqual(f.view.document);
  });

  it('applies a newer push and answers the version it holds after it', async () => {
    const f = await fixture();
    const first = f.view.document;
    const next = joined(first);
    expect(f.keeper.pushRing({ document: documentToMessage(next) })).toEqual({
      term: 1n,
      version: 2n,
    });
    expect(f.keeper.document).toEqual(next);
    // An older push changes nothing; the answer tells the pusher it is behind.
    expect(f.keeper.pushRing({ document: documentToMessage(first) })).toEqual({
      term: 1n,
      version: 2n,
    });
    expect(f.keeper.document).toEqual(next);
  });

  it('refuses a push without a document or with a malformed one', async () => {
    const f = await fixture();
    const none = refusalOf(() => f.keeper.pushRing({ document: undefined }));
    expect([none.code, none.message]).toEqual(['invalid-argument', 'no document']);
    const bad = { ...documentToMessage(joined(f.view.document)), claimant: 'n9' };
    const malformed = refusalOf(() => f.keeper.pushRing({ document: bad }));
    expect(malformed.code).toBe('invalid-argument');
    expect(f.keeper.document.version).toBe(1);
  });

  it('pushes to every node but itself and the removed, noting what each applied', async () => {
    const f = await fixture();
    const next = withStatus(joined(f.view.document), 'n3', 'removed');
    f.keeper.offer(next, 'n1');
    f.peers.failing.add('n4');
    await f.keeper.pushAll();
    expect(f.peers.pushes.map((p) => p.nodeId).sort()).toEqual(['n2', 'n4']);
    expect(f.peers.pushes.every((p) => p.version === next.version)).toBe(true);
    expect(f.keeper.applied('n2')).toBe(next.version);
    // A failed push is not an error of the keeper: n4 is simply not known to have applied it.
    expect(f.keeper.applied('n4')).toBe(0);
    expect(f.keeper.applied('n3')).toBe(0);
  });
});

describe('RingKeeper: pulls', () => {
  it('pulls from a peer seen ahead in gossip, one fetch at a time per peer', async () => {
    const f = await fixture();
    const next = joined(f.view.document);
    f.peers.held.set('n2', next);
    f.peers.holdFetches = true;
    const applied = new Promise<RingDocument>((r) => f.view.onChange((doc) => r(doc)));
    f.keeper.pullIfBehind('n2', { term: 1, version: 2 });
    f.keeper.pullIfBehind('n2', { term: 1, version: 2 });
    expect(f.peers.fetches).toEqual(['n2']);
    f.peers.release!();
    expect(await applied).toEqual(next);
    // Not behind any more (and a peer at our version is never fetched from).
    f.keeper.pullIfBehind('n2', { term: 1, version: 2 });
    f.keeper.pullIfBehind('n3', { term: 1, version: 1 });
    expect(f.peers.fetches).toEqual(['n2']);
  });

  it('pullNow: true at once when not behind, else after fetching a ring that new', async () => {
    const f = await fixture();
    const next = joined(f.view.document);
    expect(await f.keeper.pullNow('n2', { term: 1, version: 1 }, 1_000)).toBe(true);
    expect(f.peers.fetches).toEqual([]);
    f.peers.held.set('n2', f.view.document);
    expect(await f.keeper.pullNow('n2', { term: 1, version: 2 }, 1_000)).toBe(false);
    f.peers.held.set('n2', next);
    expect(await f.keeper.pullNow('n2', { term: 1, version: 2 }, 1_000)).toBe(true);
    expect(f.keeper.document).toEqual(next);
    f.peers.failing.add('n3');
    expect(await f.keeper.pullNow('n3', { term: 1, version: 3 }, 1_000)).toBe(false);
  });
});

describe('RingKeeper: applied versions per term', () => {
  it('knows its own version, the highest noted for others, 0 when unknown', async () => {
    const f = await fixture();
    expect(f.keeper.applied('n1')).toBe(1);
    expect(f.keeper.applied('n2')).toBe(0);
    f.keeper.noteApplied('n2', { term: 1, version: 3 });
    f.keeper.noteApplied('n2', { term: 1, version: 2 });
    expect(f.keeper.applied('n2')).toBe(3);
    // A version of another term says nothing about this one.
    f.keeper.noteApplied('n3', { term: 2, version: 5 });
    expect(f.keeper.applied('n3')).toBe(0);
  });

  it('counts afresh once a new term is applied', async () => {
    const f = await fixture();
    f.keeper.noteApplied('n2', { term: 1, version: 1 });
    const forced = { ...f.view.document, term: 2, claimant: 'n2' };
    expect(f.keeper.offer(forced, 'n2')).toBe(true);
    expect(f.keeper.applied('n2')).toBe(0);
    expect(f.keeper.applied('n1')).toBe(1);
    f.keeper.noteApplied('n2', { term: 1, version: 7 });
    f.keeper.noteApplied('n3', { term: 2, version: 1 });
    expect([f.keeper.applied('n2'), f.keeper.applied('n3')]).toEqual([0, 1]);
  });
});
