import { status } from '@grpc/grpc-js';
import {
  advanceTransfers,
  initialDocument,
  stage,
  type ChangeCommand,
  type RingDocument,
} from '@ringstore/membership';
import type { PushRingRequest, PushRingResponse, TransferReport } from '@ringstore/proto';
import { openMemoryEngine, type StorageEngine } from '@ringstore/storage';
import { afterEach, describe, expect, it } from 'vitest';
import { ClusterView } from '../../cluster-view.js';
import { RingstoreError, grpcCodeOf } from '../../errors.js';
import { createLogger } from '../../logger.js';
import type { Peers } from '../../peer/peers.js';
import { decodeDocument } from '../../ring/document-codec.js';
import { RingKeeper } from '../../ring/ring-keeper.js';
import { FakeLiveness } from '../../test-support/fake-liveness.js';
import { Claimant, changeMessage } from './claimant.js';

const log = createLogger({ level: 'silent', nodeId: 't', pretty: false });
/** The meta row ring-keeper.ts persists the document in. */
const ringMeta = 'ring_document';
const allUp = (): boolean => true;

/** n1..n3 at 127.0.0.1:7001.. (peer ports 127.0.0.1:7101..), claimant n1, Q=16, N=3: version 1. */
function founded(): RingDocument {
  return initialDocument({
    clusterId: 'c1',
    claimant: 'n1',
    partitionCount: 16,
    replicas: 3,
    nodes: ['n1', 'n2', 'n3'].map((id, i) => ({
      id,
      address: `127.0.0.1:${7_001 + i}`,
      peerAddress: `127.0.0.1:${7_101 + i}`,
      zone: '',
    })),
  });
}

const join = (id: string): ChangeCommand => ({
  kind: 'join',
  id,
  address: `127.0.0.1:${7_000 + Number(id.slice(1))}`,
  peerAddress: `127.0.0.1:${7_100 + Number(id.slice(1))}`,
  zone: '',
});

/** Every push answered with the version pushed, as a node that applied it. */
class PushPeers {
  readonly pushes: { nodeId: string; version: bigint }[] = [];

  asPeers(): Peers {
    return this as unknown as Peers;
  }

  pushRing(nodeId: string, req: PushRingRequest, _timeoutMs: number): Promise<PushRingResponse> {
    const { term, version } = req.document!;
    this.pushes.push({ nodeId, version });
    return Promise.resolve({ term, version });
  }
}

interface Fixture {
  readonly storage: StorageEngine;
  readonly view: ClusterView;
  readonly keeper: RingKeeper;
  readonly peers: PushPeers;
  readonly liveness: FakeLiveness;
  readonly claimant: Claimant;
}

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0)) await cleanup();
});

/**
 * `selfId`'s claimant role over a real view and keeper on a memory engine. No request deadline to
 * wait out: these tests are about staging and reports, not the claimant's waits.
 */
function fixture(selfId = 'n1', doc = founded()): Fixture {
  const storage = openMemoryEngine();
  const view = new ClusterView(selfId, doc);
  const peers = new PushPeers();
  const keeper = new RingKeeper(selfId, view, storage, peers.asPeers(), log);
  const liveness = new FakeLiveness();
  const claimant = new Claimant({
    selfId,
    view,
    keeper,
    liveness,
    log,
    requestTimeoutMs: 0,
    limits: { concurrency: 2 },
    transferStallMs: 600_000,
    perPartition: () => ({ objects: 10, bytes: 1_000 }),
  });
  cleanups.push(async () => {
    claimant.stop();
    await storage.close();
  });
  return { storage, view, keeper, peers, liveness, claimant };
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

const stageOf = (c: ChangeCommand): { change: ReturnType<typeof changeMessage> } => ({
  change: changeMessage(c),
});

/** Lets pushes resolve and a report's coalesced look (setImmediate) run. */
function settle(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}

/** n4 staged, planned and committed at n1: the transition's first version (2), all pending. */
function committed(f: Fixture): RingDocument {
  f.claimant.stageChange(stageOf(join('n4')));
  f.claimant.planChanges();
  return f.claimant.commitPlan();
}

describe('Claimant: only the claimant takes membership changes', () => {
  it('refuses every change call elsewhere with FAILED_PRECONDITION, naming the claimant and its address', () => {
    const f = fixture('n2');
    const calls = [
      () => f.claimant.stageChange(stageOf(join('n4'))),
      () => f.claimant.planChanges(),
      () => f.claimant.commitPlan(),
      () => f.claimant.clearChanges(),
    ];
    for (const call of calls) {
      const e = refusalOf(call);
      expect(grpcCodeOf(e.code)).toBe(status.FAILED_PRECONDITION);
      expect(e.message).toBe('not the claimant: membership changes go to n1 at 127.0.0.1:7001');
    }
    expect(f.view.document.version).toBe(1);
  });
});

describe('Claimant: staging, planning, committing', () => {
  it('answers every staged change, this one last', () => {
    const f = fixture();
    expect(f.claimant.stageChange(stageOf(join('n4')))).toEqual([changeMessage(join('n4'))]);
    expect(f.claimant.stageChange(stageOf(join('n5')))).toEqual(
      [join('n4'), join('n5')].map(changeMessage),
    );
    expect(f.claimant.status().staged).toEqual([join('n4'), join('n5')].map(changeMessage));
  });

  it.each([
    ['a join of an existing id', join('n2'), 'failed-precondition'],
    ['a leave of an unknown node', { kind: 'leave', id: 'n9' } as const, 'invalid-argument'],
    [
      "a join at a member's peer address",
      {
        kind: 'join',
        id: 'n5',
        address: '127.0.0.1:7005',
        peerAddress: '127.0.0.1:7102',
        zone: '',
      } as const,
      'invalid-argument',
    ],
  ] as const)('refuses %s with the staging message, staging nothing', (_, command, code) => {
    const f = fixture();
    f.claimant.stageChange(stageOf(join('n4')));
    const expected = stage(f.view.document, undefined, command, allUp);
    if (expected.ok) throw new Error('setup: the change should be refused');
    const e = refusalOf(() => f.claimant.stageChange(stageOf(command)));
    expect([e.code, e.message]).toEqual([code, expected.refusal.message]);
    expect(f.claimant.status().staged).toEqual([changeMessage(join('n4'))]);
    expect(f.claimant.clearChanges()).toBe(1);
  });

  it('stages a join or replace naming no peer address at the client port + 1', () => {
    const f = fixture();
    const join4 = { id: 'n4', address: '127.0.0.1:7004', peerAddress: '', zone: '' };
    const replace3 = { old: 'n3', id: 'n5', address: '127.0.0.1:7007', peerAddress: '', zone: '' };
    f.claimant.stageChange({ change: { kind: { $case: 'join', value: join4 } } });
    const staged = f.claimant.stageChange({
      change: { kind: { $case: 'replace', value: { ...replace3, dead: false } } },
    });
    expect(staged).toEqual(
      [
        { ...join4, kind: 'join', peerAddress: '127.0.0.1:7005' } as const,
        { ...replace3, kind: 'replace', peerAddress: '127.0.0.1:7008', dead: false } as const,
      ].map(changeMessage),
    );
  });

  it('refuses a change request without a change', () => {
    const f = fixture();
    const e = refusalOf(() => f.claimant.stageChange({ change: undefined }));
    expect([e.code, e.message]).toEqual(['invalid-argument', 'no change given']);
  });

  it('refuses to plan with nothing staged', () => {
    const f = fixture();
    const e = refusalOf(() => f.claimant.planChanges());
    expect([e.code, e.message]).toEqual(['failed-precondition', 'nothing is staged']);
  });

  it('refuses to commit without a plan, writing nothing', () => {
    const f = fixture();
    const nothing = refusalOf(() => f.claimant.commitPlan());
    expect([nothing.code, nothing.message]).toEqual(['failed-precondition', 'nothing is staged']);
    f.claimant.stageChange(stageOf(join('n4')));
    const noPlan = refusalOf(() => f.claimant.commitPlan());
    expect([noPlan.code, noPlan.message]).toEqual([
      'failed-precondition',
      'no plan: run cluster plan first',
    ]);
    expect(f.view.document.version).toBe(1);
    expect(f.storage.getMeta(ringMeta)).toBeUndefined();
  });

  it('commits the plan as version + 1 with its transfers, persisted and pushed, and clears the staged changes', async () => {
    const f = fixture();
    f.claimant.stageChange(stageOf(join('n4')));
    const planned = f.claimant.planChanges();
    expect(planned.current!.version).toBe(1n);
    expect(planned.transfers.length).toBeGreaterThan(0);
    expect(planned.transfers.every((t) => t.state === 'pending' && t.since === 2n)).toBe(true);
    const doc = f.claimant.commitPlan();
    expect(f.view.document).toBe(doc);
    expect({ version: doc.version, transition: doc.transition }).toEqual({
      version: 2,
      transition: 2,
    });
    expect(doc.next).toBeDefined();
    expect(doc.nodes.find((n) => n.id === 'n4')?.status).toBe('joining');
    expect(doc.transfers.map((t) => [t.partition, [...t.added], [...t.removed]])).toEqual(
      planned.transfers.map((t) => [t.partition, t.added, t.removed]),
    );
    expect(doc.transfers.every((t) => t.state === 'pending' && t.since === 2)).toBe(true);
    expect(decodeDocument(f.storage.getMeta(ringMeta)!)).toEqual(doc);
    expect(f.claimant.status().staged).toEqual([]);
    expect(f.claimant.clearChanges()).toBe(0);
    await settle();
    expect(f.peers.pushes.map((p) => p.nodeId).sort()).toEqual(['n2', 'n3', 'n4']);
    expect(f.peers.pushes.every((p) => p.version === 2n)).toBe(true);
    // The plan went with the commit: committing again needs a new one.
    expect(refusalOf(() => f.claimant.commitPlan()).message).toBe('nothing is staged');
  });

  it('clears the staged changes, answering how many, and the plan with them', () => {
    const f = fixture();
    f.claimant.stageChange(stageOf(join('n4')));
    f.claimant.stageChange(stageOf(join('n5')));
    f.claimant.planChanges();
    expect(f.claimant.clearChanges()).toBe(2);
    expect(f.claimant.clearChanges()).toBe(0);
    expect(refusalOf(() => f.claimant.planChanges()).message).toBe('nothing is staged');
    f.claimant.stageChange(stageOf(join('n4')));
    expect(refusalOf(() => f.claimant.commitPlan()).message).toBe(
      'no plan: run cluster plan first',
    );
  });
});

describe('Claimant: transfer reports', () => {
  /** n4's transition with every transfer streaming (version 3), written by the claimant n1. */
  async function streaming(): Promise<{ f: Fixture; doc: RingDocument }> {
    const f = fixture();
    const first = committed(f);
    const all = first.transfers.map((t) => t.partition);
    const next = advanceTransfers(first, all, 'pending');
    if (!next.ok) throw new Error(next.refusal.message);
    f.keeper.write(next.document);
    await settle();
    return { f, doc: next.document };
  }

  function report(doc: RingDocument, partition: number, finished: string): TransferReport {
    return { transition: BigInt(doc.transition), partition, finished };
  }

  const from = (id: string) => ({ from: id, deadlineMs: Number.MAX_SAFE_INTEGER });

  it("takes a receiver's report of the current state of the current transition", async () => {
    const { f, doc } = await streaming();
    const p = doc.transfers[0]!.partition;
    expect(doc.transfers[0]!.added).toEqual(['n4']);
    const answer = await f.claimant.handlers.transferReport(
      report(doc, p, 'streaming'),
      from('n4'),
    );
    expect(answer).toEqual({ accepted: true });
  });

  it('refuses stale reports: another transition, another state, a node that is not receiving', async () => {
    const { f, doc } = await streaming();
    const p = doc.transfers[0]!.partition;
    const moving = new Set(doc.transfers.map((t) => t.partition));
    const still = [...Array(16).keys()].find((q) => !moving.has(q))!;
    const stale: [TransferReport, string][] = [
      [{ ...report(doc, p, 'streaming'), transition: BigInt(doc.transition + 1) }, 'n4'],
      [{ ...report(doc, p, 'streaming'), transition: 0n }, 'n4'],
      [report(doc, p, 'pending'), 'n4'],
      [report(doc, p, 'catch-up'), 'n4'],
      [report(doc, p, 'streaming'), doc.transfers[0]!.removed[0]!],
      [report(doc, p, 'streaming'), 'n2'],
      [report(doc, still, 'streaming'), 'n4'],
    ];
    for (const [req, sender] of stale)
      expect(
        await f.claimant.handlers.transferReport(req, from(sender)),
        `${req.finished} of ${req.partition} in transition ${req.transition} from ${sender}`,
      ).toEqual({ accepted: false });
    await settle();
    // None of them moved anything.
    expect(f.view.document).toBe(doc);
  });

  it('refuses every report at a node that is not the claimant', async () => {
    const { doc } = await streaming();
    const other = fixture('n2', doc);
    const p = doc.transfers[0]!.partition;
    const answer = await other.claimant.handlers.transferReport(
      report(doc, p, 'streaming'),
      from('n4'),
    );
    expect(answer).toEqual({ accepted: false });
  });

  it('moves a partition on once its receiver reported it (and only then)', async () => {
    const { f, doc } = await streaming();
    const [first, second] = doc.transfers;
    await f.claimant.handlers.transferReport(
      report(doc, first!.partition, 'streaming'),
      from('n4'),
    );
    await settle();
    const after = f.view.document;
    expect(after.version).toBe(doc.version + 1);
    const stateOf = (p: number): string | undefined =>
      after.transfers.find((t) => t.partition === p)?.state;
    expect(stateOf(first!.partition)).toBe('catch-up');
    expect(stateOf(second!.partition)).toBe('streaming');
    // The report of a state the transfer has left is stale now.
    const late = await f.claimant.handlers.transferReport(
      report(after, first!.partition, 'streaming'),
      from('n4'),
    );
    expect(late).toEqual({ accepted: false });
  });
});
