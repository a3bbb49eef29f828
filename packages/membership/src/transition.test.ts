import { primaryReplicas, type Ring } from '@ringstore/ring';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type {
  ChangeCommand,
  ChangeRefusal,
  PartitionTransfer,
  RingDocument,
  TransferState,
} from './index.js';
import {
  advanceTransfers,
  checkRingDocument,
  compareVersions,
  completeTransition,
  initialDocument,
  lastChange,
  partitionReplicas,
  stage,
  transferStates,
} from './index.js';
import {
  allUp,
  committedOf,
  deepFreeze,
  documentOf,
  downOnly,
  join,
  leave,
  remove,
  stagedOf,
  withTransferStates,
} from './test-support/documents.js';
import { seededRng } from './test-support/rng.js';

const seed = 20251204;
const numRuns = 100;
const n = 3;

type Outcome = { ok: true } | { ok: false; refusal: ChangeRefusal };

/** Refused as failed-precondition, naming the problem, with the document exactly as it was. */
function expectRefused(doc: RingDocument, run: () => Outcome, problem: RegExp): void {
  const before = structuredClone(doc);
  const outcome = run();
  expect(outcome.ok).toBe(false);
  if (outcome.ok) return;
  expect(outcome.refusal.code).toBe('failed-precondition');
  expect(outcome.refusal.message).toMatch(problem);
  expect(doc).toEqual(before);
}

function advanced(
  doc: RingDocument,
  partitions: readonly number[],
  from: TransferState,
): RingDocument {
  const outcome = advanceTransfers(doc, partitions, from);
  if (!outcome.ok) throw new Error(`setup refused: ${outcome.refusal.message}`);
  return deepFreeze(outcome.document);
}

/** A transfer without its state: what must not change while it runs. */
function replicasOf({ partition, added, removed }: PartitionTransfer) {
  return { partition, added, removed };
}

function stateOf(doc: RingDocument, partition: number): TransferState | undefined {
  return doc.transfers.find((t) => t.partition === partition)?.state;
}

function range(count: number): number[] {
  return Array.from({ length: count }, (_, i) => i);
}

// n5 joins n1..n4 (Q=16): every partition whose replicas change gains n5 and loses an old replica.
const doc4 = documentOf(4);
const joined = committedOf(doc4, stagedOf(doc4, [join('n5')]));
const running = joined.document;
const changes = joined.plan.partitions;
const moving = changes.map((c) => c.partition);
const unmoved = range(doc4.ring.partitionCount).filter((p) => !moving.includes(p));
const [first, second, third] = moving as [number, number, number, ...number[]];

describe('partitionReplicas', () => {
  it('without a transition: the ring primaries read, nothing pending', () => {
    for (let p = 0; p < doc4.ring.partitionCount; p++)
      expect(partitionReplicas(doc4, p)).toEqual({
        read: primaryReplicas(doc4.ring, p, n),
        pending: [],
      });
  });

  it('the committed join moves some partitions and leaves others, each losing an old replica', () => {
    expect(moving.length).toBeGreaterThanOrEqual(3);
    expect(unmoved.length).toBeGreaterThan(0);
    for (const c of changes) {
      expect(c.added).toContain('n5');
      expect(c.removed.length).toBeGreaterThan(0);
    }
  });

  for (const state of ['pending', 'streaming', 'catch-up'] as const)
    it(`${state}: the old primaries read, the added replicas pending`, () => {
      const doc = withTransferStates(running, state);
      for (const c of changes)
        expect(partitionReplicas(doc, c.partition)).toEqual({ read: c.before, pending: c.added });
    });

  it("read-new: the next ring's primaries read, the removed replicas pending", () => {
    const doc = withTransferStates(running, 'read-new');
    for (const c of changes)
      expect(partitionReplicas(doc, c.partition)).toEqual({ read: c.after, pending: c.removed });
  });

  it("done: the next ring's primaries read, nothing pending", () => {
    const doc = withTransferStates(running, 'done');
    for (const c of changes)
      expect(partitionReplicas(doc, c.partition)).toEqual({ read: c.after, pending: [] });
  });

  it('partitions without a transfer keep their primaries in every state', () => {
    for (const state of transferStates) {
      const doc = withTransferStates(running, state);
      for (const p of unmoved) {
        const read = primaryReplicas(running.ring, p, n);
        expect(partitionReplicas(doc, p)).toEqual({ read, pending: [] });
        expect([...read].sort()).toEqual([...primaryReplicas(joined.plan.next, p, n)].sort());
      }
    }
  });

  it('a removed (dead) node: read until read-new, then nowhere (never a write it cannot ack)', () => {
    const doc = documentOf(5);
    const { document } = committedOf(doc, stagedOf(doc, [remove('n5')], downOnly('n5')));
    const gone = document.transfers.filter((t) => t.removed.includes('n5'));
    expect(gone.length).toBeGreaterThan(0);
    const whereN5: Record<TransferState, string[]> = {
      pending: ['read'],
      streaming: ['read'],
      'catch-up': ['read'],
      'read-new': [],
      done: [],
    };
    for (const state of transferStates) {
      const inState = withTransferStates(document, state);
      for (const { partition } of gone) {
        const { read, pending } = partitionReplicas(inState, partition);
        const where = Object.entries({ read, pending }).filter(([, ids]) => ids.includes('n5'));
        expect(
          where.map(([name]) => name),
          `${state}, partition ${partition}`,
        ).toEqual(whereN5[state]);
      }
    }
  });

  it("each partition follows its own transfer's state", () => {
    let doc = running;
    changes.forEach((c, i) => {
      doc = withTransferStates(doc, transferStates[i % transferStates.length]!, [c.partition]);
    });
    changes.forEach((c, i) => {
      const state = transferStates[i % transferStates.length];
      const readNew = state === 'read-new' || state === 'done';
      const pending = state === 'read-new' ? c.removed : state === 'done' ? [] : c.added;
      expect(partitionReplicas(doc, c.partition)).toEqual({
        read: readNew ? c.after : c.before,
        pending,
      });
    });
  });
});

describe('advanceTransfers', () => {
  it('moves every arrow in order, pending -> streaming -> catch-up -> read-new -> done', () => {
    let doc = running;
    for (let i = 1; i < transferStates.length; i++) {
      doc = advanced(doc, moving, transferStates[i - 1]!);
      expect(doc.transfers.map((t) => t.state)).toEqual(moving.map(() => transferStates[i]));
      expect(doc.version).toBe(running.version + i);
    }
  });

  it('writes version + 1 and moves only the named partitions', () => {
    const doc = advanced(running, [first, third], 'pending');
    expect({ term: doc.term, version: doc.version }).toEqual({
      term: running.term,
      version: running.version + 1,
    });
    for (const p of moving)
      expect(stateOf(doc, p), `partition ${p}`).toBe(
        p === first || p === third ? 'streaming' : 'pending',
      );
    expect(doc.transfers.map(replicasOf)).toEqual(running.transfers.map(replicasOf));
    expect([doc.ring, doc.next, doc.nodes, doc.claimant]).toEqual([
      running.ring,
      running.next,
      running.nodes,
      running.claimant,
    ]);
  });

  it('refuses the whole step when a named partition has no transfer', () => {
    const [still] = unmoved as [number];
    expectRefused(
      running,
      () => advanceTransfers(running, [first, still], 'pending'),
      new RegExp(`partition ${still} has no transfer`),
    );
    expectRefused(doc4, () => advanceTransfers(doc4, [first], 'pending'), /has no transfer/);
  });

  it('refuses a repeated report: a partition already past that state', () => {
    const doc = advanced(running, [first], 'pending');
    expectRefused(
      doc,
      () => advanceTransfers(doc, [second, first], 'pending'),
      new RegExp(`partition ${first} is streaming, not pending`),
    );
  });

  it('refuses a report ahead of the state: a partition not there yet', () => {
    const doc = advanced(running, [first], 'pending');
    expectRefused(
      doc,
      () => advanceTransfers(doc, [first, second], 'streaming'),
      new RegExp(`partition ${second} is pending, not streaming`),
    );
  });

  it('refuses to advance from done: there is no next state', () => {
    const doc = withTransferStates(running, 'done');
    expectRefused(
      doc,
      () => advanceTransfers(doc, moving, 'done'),
      /a transfer in state done has no next state/,
    );
  });

  it('refuses an empty list of partitions', () => {
    expectRefused(
      running,
      () => advanceTransfers(running, [], 'pending'),
      /no partitions to advance/,
    );
  });
});

describe('completeTransition', () => {
  it('refuses when no transition is running', () => {
    expectRefused(doc4, () => completeTransition(doc4), /no transition is running/);
  });

  it('refuses while any transfer is not done, naming how many and the first', () => {
    expectRefused(
      running,
      () => completeTransition(running),
      new RegExp(`${moving.length} transfers are not done \\(first: partition ${first}\\)`),
    );
    const last = moving[moving.length - 1]!;
    for (const state of transferStates.filter((s) => s !== 'done')) {
      const doc = withTransferStates(withTransferStates(running, 'done'), state, [last]);
      expectRefused(
        doc,
        () => completeTransition(doc),
        new RegExp(`1 transfers are not done \\(first: partition ${last}\\)`),
      );
    }
  });

  describe('once every transfer is done', () => {
    // One transition with each kind of departure: n6 joins, n2 leaves, n5 (dead) is removed.
    const doc5 = documentOf(5);
    const isUp = downOnly('n5');
    const { plan: p, document: committed } = committedOf(
      doc5,
      stagedOf(doc5, [join('n6'), leave('n2'), remove('n5')], isUp),
    );
    const allDone = withTransferStates(committed, 'done');
    const outcome = completeTransition(allDone);
    if (!outcome.ok) throw new Error(`setup refused: ${outcome.refusal.message}`);
    const done = deepFreeze(outcome.document);

    it('reads the former next ring, with nothing moving, in version + 1', () => {
      expect(done.ring).toEqual(p.next);
      expect(done.next).toBeUndefined();
      expect(done.transfers).toEqual([]);
      expect({ term: done.term, version: done.version }).toEqual({
        term: allDone.term,
        version: allDone.version + 1,
      });
      expect(checkRingDocument(done)).toBeUndefined();
    });

    it('makes the joiner valid and the leaver left; the removed node stays removed', () => {
      const statuses = Object.fromEntries(done.nodes.map((node) => [node.id, node.status]));
      expect(statuses).toEqual({
        n1: 'valid',
        n2: 'left',
        n3: 'valid',
        n4: 'valid',
        n5: 'removed',
        n6: 'valid',
      });
      expect(done.ring.members.map((m) => m.id)).toEqual(['n1', 'n3', 'n4', 'n6']);
    });

    it('lets a new change be staged and committed again', () => {
      const staged = stage(done, undefined, join('n7'), isUp);
      expect(staged.ok ? 'ok' : staged.refusal.message).toBe('ok');
      const again = committedOf(done, stagedOf(done, [leave('n3')], isUp)).document;
      expect(again.version).toBe(done.version + 1);
      expect(again.transfers.length).toBeGreaterThan(0);
    });
  });
});

// ---------------------------------------------------------------------------------------------
// The invariants of MEMBERSHIP.md section 4 over random runs of the claimant's steps.

const zones = ['a', 'b', 'c'];
const changeKinds = ['join', 'leave', 'remove', 'replace', 'dead-replace'] as const;
/** Steps per run: two or three transitions at Q=64 advanced in random subsets, ~15 ms a run. */
const stepsMax = 80;
/** The states in which the read set is still the old ring's. */
const readsOld: readonly TransferState[] = ['pending', 'streaming', 'catch-up'];

interface Op {
  readonly kind: (typeof changeKinds)[number];
  readonly target: number;
  readonly zone: number;
  readonly state: number;
  readonly subset: number;
}

/** What one run has done so far, and what the test has seen across runs (so none is vacuous). */
interface Run {
  readonly zoned: boolean;
  joins: number;
  planned: Ring | undefined;
  readonly seen: Seen;
}

interface Seen {
  readonly kinds: Set<string>;
  completed: number;
  removedInRead: number;
}

const clusters = fc
  .record({
    size: fc.integer({ min: 3, max: 10 }),
    partitionCount: fc.constantFrom(16, 64),
    claimantIndex: fc.nat(),
    zoned: fc.boolean(),
    zoneIndexes: fc.array(fc.nat(zones.length - 1), { minLength: 10, maxLength: 10 }),
  })
  .map(({ size, partitionCount, claimantIndex, zoned, zoneIndexes }) => {
    const nodes = Array.from({ length: size }, (_, i) => ({
      id: `m${String(i).padStart(2, '0')}`,
      address: `10.1.0.${i}:7000`,
      peerAddress: `10.1.0.${i}:8000`,
      zone: zoned ? (zones[zoneIndexes[i] ?? 0] ?? '') : '',
    }));
    const claimant = nodes[claimantIndex % size]?.id ?? 'm00';
    const doc = initialDocument({ clusterId: 'c1', claimant, partitionCount, replicas: n, nodes });
    return { doc: deepFreeze(doc), zoned };
  });

const ops = fc.array(
  fc.record({
    kind: fc.constantFrom(...changeKinds),
    target: fc.nat(),
    zone: fc.nat(zones.length - 1),
    state: fc.nat(),
    subset: fc.nat(),
  }),
  // size 'max': fast-check's default would keep runs to about ten steps, one transition.
  { minLength: 1, maxLength: stepsMax, size: 'max' },
);

/**
 * A valid change for an idle document. A leave or remove that would leave fewer than N owners is
 * refused by stage (tested there), so it becomes a join; the claimant never departs.
 */
function changeFor(
  doc: RingDocument,
  op: Op,
  run: Run,
): { command: ChangeCommand; isUp: (id: string) => boolean } {
  const owners = doc.nodes.filter((node) => node.status === 'valid');
  const departing = owners.filter((node) => node.id !== doc.claimant);
  const target = departing[op.target % departing.length]?.id ?? '';
  run.joins += 1;
  const zone = run.zoned ? (zones[op.zone] ?? '') : '';
  const fresh = {
    id: `j${run.joins}`,
    address: `10.2.0.${run.joins}:7000`,
    peerAddress: `10.2.0.${run.joins}:8000`,
    zone,
  };
  const tooFew = owners.length <= n && (op.kind === 'leave' || op.kind === 'remove');
  const kind = tooFew ? 'join' : op.kind;
  run.seen.kinds.add(kind);
  switch (kind) {
    case 'join':
      return { command: { kind: 'join', ...fresh }, isUp: allUp };
    case 'leave':
      return { command: { kind: 'leave', id: target }, isUp: allUp };
    case 'remove':
      return { command: { kind: 'remove', id: target }, isUp: downOnly(target) };
    case 'replace':
    case 'dead-replace': {
      const dead = kind === 'dead-replace';
      const command: ChangeCommand = { kind: 'replace', old: target, ...fresh, dead };
      return { command, isUp: dead ? downOnly(target) : allUp };
    }
  }
}

/** Advances a random non-empty subset of the partitions in one random state. */
function advanceSome(doc: RingDocument, open: readonly PartitionTransfer[], op: Op): RingDocument {
  const states = transferStates.filter((s) => open.some((t) => t.state === s));
  const from = states[op.state % states.length]!;
  const candidates = open.filter((t) => t.state === from).map((t) => t.partition);
  const rng = seededRng(op.subset);
  const chosen = candidates.filter(() => rng() < 0.5);
  return advanced(doc, chosen.length > 0 ? chosen : [candidates[0]!], from);
}

function complete(doc: RingDocument, run: Run): RingDocument {
  const outcome = completeTransition(doc);
  if (!outcome.ok) throw new Error(`complete refused: ${outcome.refusal.message}`);
  // The transition ends where its plan said it would.
  expect(outcome.document.ring).toEqual(run.planned);
  run.planned = undefined;
  run.seen.completed += 1;
  return deepFreeze(outcome.document);
}

/** The claimant's next step: commit a change when idle, else advance, else complete. */
function nextDocument(doc: RingDocument, op: Op, run: Run): RingDocument {
  if (doc.next === undefined) {
    const { command, isUp } = changeFor(doc, op, run);
    const committed = committedOf(doc, stagedOf(doc, [command], isUp));
    run.planned = committed.plan.next;
    return committed.document;
  }
  const open = doc.transfers.filter((t) => t.state !== 'done');
  return open.length === 0 ? complete(doc, run) : advanceSome(doc, open, op);
}

/** Drives a running transition to its end: all of the least advanced state at a time. */
function settleStep(doc: RingDocument, run: Run): RingDocument {
  const open = doc.transfers.filter((t) => t.state !== 'done');
  const from = transferStates.find((s) => open.some((t) => t.state === s));
  if (from === undefined) return complete(doc, run);
  const partitions = open.filter((t) => t.state === from).map((t) => t.partition);
  return advanced(doc, partitions, from);
}

function zoneCount(doc: RingDocument, ring: Ring): number {
  const zoneOf = new Map(doc.nodes.map((node) => [node.id, node.zone]));
  return new Set(ring.owners.map((o) => zoneOf.get(ring.members[o]?.id ?? ''))).size;
}

/**
 * Where a node that no longer owns anything may still be named. A left node: nowhere (it leaves
 * only when its transition completes). A removed (dead) node: in the read set of the partitions it
 * was a replica of until read-new (reads to it fail over as to any down node); never pending, since
 * every write would then need an ack it cannot give.
 */
function retiredProblem(
  doc: RingDocument,
  id: string,
  inRead: boolean,
  transfer: PartitionTransfer | undefined,
  seen: Seen,
): string | undefined {
  const status = doc.nodes.find((node) => node.id === id)?.status;
  if (status === undefined) return `${id} is not a node`;
  if (status === 'left') return `${id} is left`;
  if (status !== 'removed') return undefined;
  const state = transfer?.state;
  const listed = transfer?.removed.includes(id) === true;
  const allowed = listed && inRead && state !== undefined && readsOld.includes(state);
  if (allowed) seen.removedInRead += 1;
  return allowed ? undefined : `${id} is removed, ${inRead ? 'read' : 'pending'} in ${state}`;
}

/**
 * Invariant 3 on one document: each partition reads N distinct nodes (the walk never has fewer
 * than N owners: stage refuses it), in distinct zones where both rings have N zones; read and
 * pending are disjoint and without repeats; no retired node where it may not be.
 */
function documentProblems(doc: RingDocument, seen: Seen): string[] {
  const problems: string[] = [];
  const malformed = checkRingDocument(doc);
  if (malformed !== undefined) problems.push(malformed.message);
  const zonesDistinct = Math.min(zoneCount(doc, doc.ring), zoneCount(doc, doc.next ?? doc.ring));
  const zoneOf = new Map(doc.nodes.map((node) => [node.id, node.zone]));
  for (let p = 0; p < doc.ring.partitionCount; p++) {
    const { read, pending } = partitionReplicas(doc, p);
    const writes = [...read, ...pending];
    const at = `v${doc.version} partition ${p} (read ${read.join()}, pending ${pending.join()})`;
    if (read.length !== n || new Set(read).size !== n) problems.push(`${at}: not N distinct`);
    if (new Set(writes).size !== writes.length) problems.push(`${at}: overlap or repeat`);
    const readZones = new Set(read.map((id) => zoneOf.get(id))).size;
    if (zonesDistinct >= n && readZones !== n) problems.push(`${at}: zones not distinct`);
    const transfer = doc.transfers.find((t) => t.partition === p);
    for (const id of writes) {
      const problem = retiredProblem(doc, id, read.includes(id), transfer, seen);
      if (problem !== undefined) problems.push(`${at}: ${problem}`);
    }
  }
  return problems;
}

/**
 * Invariant 5 and the window between versions. Nodes may be one version apart on a partition (the
 * barrier before each step waits for its replicas), so a coordinator on either of two consecutive
 * documents d1, d2 must write to every replica a reader on the other reads. For each partition:
 * read(d2) within read(d1) + pending(d1), and read(d1) within read(d2) + pending(d2), except a
 * removed (dead) node in read(d1): nobody can write to it, and readers on d1 meet it as down.
 * Within one transition, a transfer keeps its replicas and moves at most one arrow per version.
 */
function stepProblems(d1: RingDocument, d2: RingDocument): string[] {
  const problems: string[] = [];
  if (compareVersions(d2, d1) <= 0 || d2.term !== d1.term || d2.version !== d1.version + 1)
    problems.push(`version ${d1.term}.${d1.version} -> ${d2.term}.${d2.version}`);
  for (let p = 0; p < d1.ring.partitionCount; p++) {
    const r1 = partitionReplicas(d1, p);
    const r2 = partitionReplicas(d2, p);
    const at = `v${d1.version} -> v${d2.version} partition ${p}`;
    const w1 = [...r1.read, ...r1.pending];
    const w2 = [...r2.read, ...r2.pending];
    if (!r2.read.every((id) => w1.includes(id)))
      problems.push(`${at}: read ${r2.read.join()} not written by ${w1.join()}`);
    const removed = (id: string): boolean =>
      d2.nodes.some((node) => node.id === id && node.status === 'removed');
    if (!r1.read.every((id) => w2.includes(id) || removed(id)))
      problems.push(`${at}: read ${r1.read.join()} not written by ${w2.join()}`);
    // The fence: a replica refuses requests made under a version older than lastChange, so it
    // must move whenever the sets do, and never go back.
    // As sets: the preference order of a partition no transfer touches may change with the ring.
    const asSets = (r: typeof r1): string =>
      JSON.stringify([[...r.read].sort(), [...r.pending].sort()]);
    const setsChanged = asSets(r1) !== asSets(r2);
    if (setsChanged && lastChange(d2, p) !== d2.version)
      problems.push(`${at}: sets changed but lastChange is ${lastChange(d2, p)}`);
    if (lastChange(d2, p) < lastChange(d1, p)) problems.push(`${at}: lastChange went back`);
  }
  if (d1.next !== undefined && d2.next !== undefined) problems.push(...transferSteps(d1, d2));
  return problems;
}

function transferSteps(d1: RingDocument, d2: RingDocument): string[] {
  const shape = (d: RingDocument): string => JSON.stringify(d.transfers.map(replicasOf));
  if (shape(d1) !== shape(d2)) return [`v${d2.version}: the transfers changed within a transition`];
  const index = (t: PartitionTransfer | undefined) => transferStates.indexOf(t?.state ?? 'done');
  return d1.transfers.flatMap((t, i) => {
    const arrows = index(d2.transfers[i]) - index(t);
    return arrows === 0 || arrows === 1
      ? []
      : [`v${d2.version} partition ${t.partition}: ${arrows}`];
  });
}

describe('a running cluster (random changes and steps)', () => {
  it('keeps N distinct replicas, read within write across versions, and ends on the plan', () => {
    const seen: Seen = { kinds: new Set(), completed: 0, removedInRead: 0 };
    fc.assert(
      fc.property(clusters, ops, ({ doc: start, zoned }, steps) => {
        const run: Run = { zoned, joins: 0, planned: undefined, seen };
        let doc = start;
        const check = (next: RingDocument): void => {
          const problems = [...stepProblems(doc, next), ...documentProblems(next, seen)];
          expect(problems.slice(0, 5)).toEqual([]);
          doc = next;
        };
        expect(documentProblems(doc, seen)).toEqual([]);
        for (const op of steps) check(nextDocument(doc, op, run));
        while (doc.next !== undefined) check(settleStep(doc, run));
        expect(run.planned).toBeUndefined();
      }),
      { seed, numRuns },
    );
    // Not vacuous: every kind of change ran to completion, and a removed node was seen in both.
    expect([...seen.kinds].sort()).toEqual([...changeKinds].sort());
    expect(seen.completed).toBeGreaterThan(numRuns);
    expect(seen.removedInRead).toBeGreaterThan(0);
  }, 30_000); // ~5 s alone; a whole-repo parallel run on two cores took 10.9 s
});
