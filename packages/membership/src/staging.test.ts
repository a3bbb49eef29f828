import { partitionsReplicatedBy, primaryReplicas, type Ring } from '@ringstore/ring';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { ChangeCommand, ChangeRefusal, RingDocument, Staged } from './index.js';
import {
  checkRingDocument,
  commit,
  mergeDocument,
  plan,
  relabel,
  stage,
  stagedChangesMax,
} from './index.js';
import { initialDocument } from './ring-document.js';
import {
  allUp,
  committedOf,
  deepFreeze,
  documentOf,
  downOnly,
  join,
  leave,
  remove,
  replace,
  stagedOf,
  withRetiredNodes,
} from './test-support/documents.js';

const seed = 20251203;
const numRuns = 150;
const n = 3;

const staged = stagedOf;
const committed = committedOf;

type Outcome = { ok: true } | { ok: false; refusal: ChangeRefusal };

/**
 * A refusal with this code whose message names the problem, and the document exactly as it was
 * (it is frozen too, so a mutation would already have thrown).
 */
function expectRefused(
  doc: RingDocument,
  run: () => Outcome,
  code: ChangeRefusal['code'],
  problem: RegExp,
): void {
  const before = structuredClone(doc);
  const outcome = run();
  expect(outcome.ok).toBe(false);
  if (outcome.ok) return;
  expect(outcome.refusal.code).toBe(code);
  expect(outcome.refusal.message).toMatch(problem);
  expect(doc).toEqual(before);
}

function ownerIds(ring: Ring): string[] {
  return ring.owners.map((o) => ring.members[o]?.id ?? '?');
}

function expectNDistinctPrimaries(ring: Ring): void {
  for (let p = 0; p < ring.partitionCount; p++)
    expect(new Set(primaryReplicas(ring, p, n)).size, `partition ${p}`).toBe(n);
}

const doc3 = documentOf(3);
const doc4 = documentOf(4);
const doc5 = documentOf(5);
// n6 left and n7 was removed: their ids stay taken, their addresses (client and peer) are free
// again.
const withRetired = withRetiredNodes(doc4, [
  { id: 'n6', address: '10.0.0.6:7000', peerAddress: '10.0.0.6:7001', zone: '', status: 'left' },
  { id: 'n7', address: '10.0.0.7:7000', peerAddress: '10.0.0.7:7001', zone: '', status: 'removed' },
]);

describe('stage refuses, naming the problem, with the ring unchanged', () => {
  it('a join with an id that exists, valid, left or removed', () => {
    expect(checkRingDocument(withRetired)).toBeUndefined();
    const cases: [string, RegExp][] = [
      ['n2', /node n2 exists already \(valid\)/],
      ['n6', /node n6 exists already \(left\)/],
      ['n7', /node n7 exists already \(removed\)/],
    ];
    for (const [id, problem] of cases)
      expectRefused(
        withRetired,
        () => stage(withRetired, undefined, join(id, '10.0.9.9:7000'), allUp),
        'failed-precondition',
        problem,
      );
  });

  it('a join at an address already in the ring, or staged for another joiner', () => {
    expectRefused(
      doc4,
      () => stage(doc4, undefined, join('n5', '10.0.0.2:7000'), allUp),
      'invalid-argument',
      /address 10\.0\.0\.2:7000 is already in the ring \(node n2\)/,
    );
    const s = staged(doc4, [join('n5', '10.0.2.5:7000')]);
    expectRefused(
      doc4,
      () => stage(doc4, s, join('n6', '10.0.2.5:7000'), allUp),
      'invalid-argument',
      /address 10\.0\.2\.5:7000 is already in the ring \(node n5\)/,
    );
  });

  it('a join whose client or peer address is either address of a member or staged joiner', () => {
    // n2 is at 10.0.0.2:7000, its peer port 10.0.0.2:7001.
    const cases: [client: string, peer: string, taken: string][] = [
      ['10.0.2.5:7000', '10.0.0.2:7001', '10.0.0.2:7001'],
      ['10.0.2.5:7000', '10.0.0.2:7000', '10.0.0.2:7000'],
      ['10.0.0.2:7001', '10.0.2.5:7001', '10.0.0.2:7001'],
    ];
    for (const [client, peer, taken] of cases)
      expectRefused(
        doc4,
        () => stage(doc4, undefined, join('n5', client, peer), allUp),
        'invalid-argument',
        new RegExp(`address ${taken.replace(/\./g, '\\.')} is already in the ring \\(node n2\\)`),
      );
    const s = staged(doc4, [join('n5', '10.0.2.5:7000', '10.0.2.5:9000')]);
    expectRefused(
      doc4,
      () => stage(doc4, s, join('n6', '10.0.2.6:7000', '10.0.2.5:9000'), allUp),
      'invalid-argument',
      /address 10\.0\.2\.5:9000 is already in the ring \(node n5\)/,
    );
  });

  it('but not a join at the addresses of a node that left (a new id is a new actor)', () => {
    const outcome = stage(withRetired, undefined, join('n8', '10.0.0.6:7000'), allUp);
    expect(outcome.ok && outcome.staged.changes).toEqual([join('n8', '10.0.0.6:7000')]);
    const peerOfRemoved = join('n8', '10.0.2.8:7000', '10.0.0.7:7001');
    expect(stage(withRetired, undefined, peerOfRemoved, allUp).ok).toBe(true);
  });

  it('a leave or remove that would leave fewer than N nodes, staged changes counted', () => {
    expectRefused(
      doc3,
      () => stage(doc3, undefined, leave('n2'), allUp),
      'failed-precondition',
      /without n2 the ring would have 2 nodes, fewer than N=3/,
    );
    expectRefused(
      doc3,
      () => stage(doc3, undefined, remove('n3'), downOnly('n3')),
      'failed-precondition',
      /without n3 the ring would have 2 nodes, fewer than N=3/,
    );
    const s = staged(doc4, [leave('n4')]);
    expectRefused(
      doc4,
      () => stage(doc4, s, remove('n3'), downOnly('n3')),
      'failed-precondition',
      /without n3 the ring would have 2 nodes/,
    );
  });

  it('a leave of the claimant', () => {
    expectRefused(
      doc4,
      () => stage(doc4, undefined, leave('n1'), allUp),
      'failed-precondition',
      /node n1 is the claimant/,
    );
  });

  it('a live replace of the claimant: it would be leaving, as after a leave', () => {
    expectRefused(
      doc4,
      () => stage(doc4, undefined, replace('n1', 'n5', false), allUp),
      'failed-precondition',
      /node n1 is the claimant/,
    );
  });

  it('a remove or a dead replace of the claimant: no take-over is built, nobody would write', () => {
    const n1Down = (id: string): boolean => id !== 'n1';
    expectRefused(
      doc4,
      () => stage(doc4, undefined, remove('n1'), n1Down),
      'failed-precondition',
      /node n1 is the claimant/,
    );
    expectRefused(
      doc4,
      () => stage(doc4, undefined, replace('n1', 'n5', true), n1Down),
      'failed-precondition',
      /node n1 is the claimant/,
    );
  });

  it('a remove of a live node', () => {
    expectRefused(
      doc4,
      () => stage(doc4, undefined, remove('n4'), allUp),
      'failed-precondition',
      /node n4 is up/,
    );
  });

  it('a leave, remove or replace of an unknown node (invalid-argument)', () => {
    const commands = [leave('n9'), remove('n9'), replace('n9', 'n8', true)];
    for (const command of commands)
      expectRefused(
        doc4,
        () => stage(doc4, undefined, command, downOnly('n9')),
        'invalid-argument',
        /unknown node n9/,
      );
  });

  it('a leave or remove of a node that is not valid (left already)', () => {
    expectRefused(
      withRetired,
      () => stage(withRetired, undefined, leave('n6'), allUp),
      'failed-precondition',
      /node n6 is left, not valid/,
    );
  });

  it('a replace with an address already in the ring', () => {
    expectRefused(
      doc4,
      () => stage(doc4, undefined, replace('n4', 'n5', false, '10.0.0.2:7000'), allUp),
      'invalid-argument',
      /address 10\.0\.0\.2:7000 is already in the ring \(node n2\)/,
    );
    // The old node's own peer address too: it is leaving, still a member.
    const atPeerOfOld = replace('n4', 'n5', false, '10.0.2.5:7000', '10.0.0.4:7001');
    expectRefused(
      doc4,
      () => stage(doc4, undefined, atPeerOfOld, allUp),
      'invalid-argument',
      /address 10\.0\.0\.4:7001 is already in the ring \(node n4\)/,
    );
  });

  it('a replace with an id that exists', () => {
    expectRefused(
      withRetired,
      () => stage(withRetired, undefined, replace('n4', 'n6', false), allUp),
      'failed-precondition',
      /node n6 exists already \(left\)/,
    );
  });

  it('a replace of a node that is not valid (left already)', () => {
    expectRefused(
      withRetired,
      () => stage(withRetired, undefined, replace('n6', 'n8', true), downOnly('n6')),
      'failed-precondition',
      /node n6 is left, not valid/,
    );
  });

  it('a dead replace of a live node, and a live replace of a down one', () => {
    expectRefused(
      doc4,
      () => stage(doc4, undefined, replace('n4', 'n5', true), allUp),
      'failed-precondition',
      /node n4 is up: replace it without --dead/,
    );
    expectRefused(
      doc4,
      () => stage(doc4, undefined, replace('n4', 'n5', false), downOnly('n4')),
      'failed-precondition',
      /node n4 is down: it cannot hand over; use --dead/,
    );
  });

  it('a second change for a node that already has one staged', () => {
    const cases: [Staged, ChangeCommand, RegExp][] = [
      [staged(doc5, [leave('n4')]), remove('n4'), /n4 already has a staged change/],
      [staged(doc5, [join('n6')]), replace('n4', 'n6', false), /n6 already has a staged change/],
      [staged(doc5, [replace('n4', 'n6', false)]), leave('n4'), /n4 already has a staged change/],
      [staged(doc5, [replace('n4', 'n6', false)]), leave('n6'), /n6 already has a staged change/],
    ];
    for (const [s, command, problem] of cases)
      expectRefused(
        doc5,
        () => stage(doc5, s, command, downOnly('n4')),
        'failed-precondition',
        problem,
      );
  });

  it('any change while a transition runs', () => {
    const running = committed(doc4, staged(doc4, [join('n5')])).document;
    expect(running.next).toBeDefined();
    const commands = [join('n6'), leave('n4'), remove('n4'), replace('n4', 'n6', true)];
    for (const command of commands)
      expectRefused(
        running,
        () => stage(running, undefined, command, downOnly('n4')),
        'failed-precondition',
        /a transition is running \(\d+ partitions moving\)/,
      );
  });

  it('a change staged on a ring that has changed since', () => {
    const s = staged(doc4, [join('n5')]);
    const newer = deepFreeze({ ...doc4, version: 2 });
    expectRefused(
      newer,
      () => stage(newer, s, join('n6'), allUp),
      'failed-precondition',
      /the ring changed since these changes were staged \(version 1 -> 2\)/,
    );
    const newTerm = deepFreeze({ ...doc4, term: 2 });
    expectRefused(
      newTerm,
      () => stage(newTerm, s, join('n6'), allUp),
      'failed-precondition',
      /the ring changed since/,
    );
  });

  it(`more than ${stagedChangesMax} changes in one transition`, () => {
    const joins = Array.from({ length: stagedChangesMax }, (_, i) =>
      join(`j${i}`, `10.0.3.${i}:7000`),
    );
    const s = staged(doc3, joins);
    expect(s.changes).toHaveLength(stagedChangesMax);
    expectRefused(
      doc3,
      () => stage(doc3, s, join('j99', '10.0.4.1:7000'), allUp),
      'failed-precondition',
      new RegExp(`at most ${stagedChangesMax} changes`),
    );
  });

  it('a malformed id, address or zone (invalid-argument)', () => {
    const cases: [ChangeCommand, RegExp][] = [
      [join('', '10.0.5.1:7000'), /node id "" is not/],
      [join('n 5', '10.0.5.1:7000'), /node id "n 5" is not/],
      [join('n5', 'no-port'), /address "no-port" is not HOST:PORT/],
      [join('n5', '10.0.5.1:7000', 'no-port'), /address "no-port" is not HOST:PORT/],
      [join('n5', '10.0.5.1:7000', ''), /address "" is not HOST:PORT/],
      [join('n5', '10.0.5.1:7000', '10.0.5.1:65536'), /address "10.0.5.1:65536" is not/],
      [join('n5', '10.0.5.1:7000', '10.0.5.1:7000'), /client and peer address are both/],
      [replace('n4', 'n5', false, '10.0.5.1:7000', ':7001'), /address ":7001" is not/],
      [{ ...join('n5', '10.0.5.1:7000'), zone: 'z'.repeat(65) } as ChangeCommand, /zone/],
      [replace('n4', 'n/5', false), /node id "n\/5" is not/],
    ];
    for (const [command, problem] of cases)
      expectRefused(
        doc4,
        () => stage(doc4, undefined, command, allUp),
        'invalid-argument',
        problem,
      );
  });

  it('without touching the staged changes it was given', () => {
    const s = staged(doc4, [join('n5')]);
    const before = structuredClone(s);
    const outcome = stage(doc4, s, join('n6'), allUp);
    expect(outcome.ok && outcome.staged.changes.map((c) => c.id)).toEqual(['n5', 'n6']);
    expect(s).toEqual(before);
  });
});

describe('commit refuses, naming the problem, with the ring unchanged', () => {
  const s = staged(doc4, [join('n5')]);
  const p = deepFreeze(plan(doc4, s));

  it('with nothing staged', () => {
    expectRefused(doc4, () => commit(doc4, undefined, undefined), 'failed-precondition', /nothing/);
    const empty = deepFreeze({ basedOn: { term: 1, version: 1 }, changes: [] });
    expectRefused(doc4, () => commit(doc4, empty, p), 'failed-precondition', /nothing is staged/);
  });

  it('without a plan', () => {
    expectRefused(
      doc4,
      () => commit(doc4, s, undefined),
      'failed-precondition',
      /no plan: run cluster plan first/,
    );
  });

  it('after the ring changed since the plan', () => {
    for (const newer of [
      { ...doc4, version: 2 },
      { ...doc4, term: 2 },
    ]) {
      const frozen = deepFreeze(newer);
      expectRefused(
        frozen,
        () => commit(frozen, s, p),
        'failed-precondition',
        /the ring or the staged changes changed since the last plan/,
      );
      // The same commands staged again on the new ring: the plan itself is still the old one's.
      const restaged = deepFreeze({
        basedOn: { term: frozen.term, version: frozen.version },
        changes: s.changes,
      });
      expectRefused(
        frozen,
        () => commit(frozen, restaged, p),
        'failed-precondition',
        /the ring or the staged changes changed since the last plan/,
      );
    }
  });

  it('after more, or other, changes were staged since the plan', () => {
    const more = staged(doc4, [join('n5'), leave('n4')]);
    const rebuilt = { ...s, changes: [...s.changes, leave('n4')] };
    const other = staged(doc4, [join('n6')]);
    for (const later of [more, rebuilt, other])
      expectRefused(
        doc4,
        () => commit(doc4, later, p),
        'failed-precondition',
        /the ring or the staged changes changed since the last plan: run cluster plan again/,
      );
  });
});

describe('a join', () => {
  const s = staged(doc3, [join('n4')]);
  const p = plan(doc3, s);

  it('plans partitions for the new node to receive and none for it to hand over', () => {
    const n4 = p.movement.perNode.find((m) => m.nodeId === 'n4');
    expect(n4?.added).toBeGreaterThan(0);
    expect(n4?.removed).toBe(0);
    expect(p.movement.partitions).toBe(p.partitions.length);
    expect(p.partitions.every((c) => c.added.includes('n4'))).toBe(true);
    // Each replica-partition n4 takes is one some old node gives up.
    expect(p.movement.added).toBe(p.movement.removed);
    expect(p.basedOn).toEqual({ term: 1, version: 1 });
    expect(p.changes).toBe(s.changes);
    expect(p.warnings).toEqual([]);
  });

  it('keeps N distinct replicas on every partition of the next ring', () => {
    expect(p.next.members.map((m) => m.id)).toEqual(['n1', 'n2', 'n3', 'n4']);
    expectNDistinctPrimaries(p.next);
    expect(doc3.ring.members).toHaveLength(3);
  });

  it('gives a joiner its fair share of the next ring: floor or ceil of Q/S partitions', () => {
    const doc = documentOf(4, 64);
    const p = plan(doc, staged(doc, [join('n5')]));
    const owned = ownerIds(p.next).filter((id) => id === 'n5').length;
    expect([12, 13]).toContain(owned);
  });
});

describe('commit', () => {
  // One transition with each kind of departure: n6 joins, n2 leaves, n5 (dead) is removed.
  const s = staged(doc5, [join('n6'), leave('n2'), remove('n5')], downOnly('n5'));
  const { plan: p, document: after } = committed(doc5, s);

  it('writes version + 1 of the same term, cluster and claimant', () => {
    expect({ term: after.term, version: after.version }).toEqual({ term: 1, version: 2 });
    expect([after.clusterId, after.claimant, after.replicas]).toEqual(['c1', 'n1', 3]);
  });

  it('marks the joiner joining, the leaver leaving and the dead node removed', () => {
    const statuses = Object.fromEntries(after.nodes.map((node) => [node.id, node.status]));
    expect(statuses).toEqual({
      n1: 'valid',
      n2: 'leaving',
      n3: 'valid',
      n4: 'valid',
      n5: 'removed',
      n6: 'joining',
    });
    expect(after.nodes.find((node) => node.id === 'n6')?.address).toBe('10.0.1.6:7000');
  });

  it('writes a joiner as a node and nothing more, so a decoded copy is the same document', () => {
    expect(after.nodes.find((node) => node.id === 'n6')).toEqual({
      id: 'n6',
      address: '10.0.1.6:7000',
      peerAddress: '10.0.1.6:7001',
      zone: '',
      status: 'joining',
    });
    // What a peer decodes: only the fields a RingNode has.
    const decoded: RingDocument = {
      ...after,
      nodes: after.nodes.map(({ id, address, peerAddress, zone, status }) => ({
        id,
        address,
        peerAddress,
        zone,
        status,
      })),
    };
    const outcome = mergeDocument(after, decoded);
    expect(outcome.ok ? 'ok' : outcome.problem.message).toBe('ok');
  });

  it("keeps reads on the old ring and moves to the plan's next ring", () => {
    expect(after.ring).toBe(doc5.ring);
    expect(after.next).toBe(p.next);
    expect(p.next.members.map((m) => m.id)).toEqual(['n1', 'n3', 'n4', 'n6']);
    expectNDistinctPrimaries(p.next);
  });

  it("transfers exactly the plan's partitions, each pending", () => {
    expect(p.partitions.length).toBeGreaterThan(0);
    expect(after.transfers).toEqual(
      p.partitions.map((c) => ({
        partition: c.partition,
        added: c.added,
        removed: c.removed,
        state: 'pending',
        since: after.version,
      })),
    );
    expect(after.transition).toBe(after.version);
    expect(checkRingDocument(after)).toBeUndefined();
  });
});

describe('replace', () => {
  it("moves exactly the old node's share to the new one", () => {
    const s = staged(doc4, [replace('n4', 'n5', false)]);
    const p = plan(doc4, s);
    expect(p.next).toEqual(relabel(doc4.ring, 'n4', { id: 'n5', zone: '' }));
    expect(p.partitions.length).toBeGreaterThan(0);
    for (const change of p.partitions) {
      expect(change.added).toEqual(['n5']);
      expect(change.removed).toEqual(['n4']);
    }
    expect(p.partitions.map((c) => c.partition)).toEqual(
      partitionsReplicatedBy(doc4.ring, 'n4', n),
    );
    expect(p.movement.perNode).toEqual([
      { nodeId: 'n4', added: 0, removed: p.partitions.length },
      { nodeId: 'n5', added: p.partitions.length, removed: 0 },
    ]);
  });

  it("keeps the owner of every partition but the old node's, whichever way the new id sorts", () => {
    for (const newId of ['a0', 'n2a', 'z9']) {
      const next = relabel(doc4.ring, 'n3', { id: newId, zone: '' });
      const ids = next.members.map((m) => m.id);
      expect(ids).toEqual([...ids].sort());
      expect(ids).not.toContain('n3');
      const was = ownerIds(doc4.ring);
      expect(ownerIds(next)).toEqual(was.map((id) => (id === 'n3' ? newId : id)));
    }
  });

  it('dead: the old node is removed and the new one joins', () => {
    const s = staged(doc4, [replace('n4', 'n5', true)], downOnly('n4'));
    const { document: after } = committed(doc4, s);
    const statusOf = (id: string) => after.nodes.find((node) => node.id === id)?.status;
    expect([statusOf('n4'), statusOf('n5')]).toEqual(['removed', 'joining']);
    expect(after.next?.members.map((m) => m.id)).toEqual(['n1', 'n2', 'n3', 'n5']);
  });

  it('alive: the old node leaves', () => {
    const s = staged(doc4, [replace('n4', 'n5', false)]);
    const { document: after } = committed(doc4, s);
    expect(after.nodes.find((node) => node.id === 'n4')?.status).toBe('leaving');
  });
});

describe('over random clusters and one valid change', () => {
  const zones = ['', 'a', 'b', 'c'];
  const clusters = fc
    .record({
      size: fc.integer({ min: 3, max: 12 }),
      partitionCount: fc.constantFrom(16, 64),
      claimantIndex: fc.nat(),
      zoneIndexes: fc.array(fc.nat(zones.length - 1), { minLength: 12, maxLength: 12 }),
    })
    .map(({ size, partitionCount, claimantIndex, zoneIndexes }) => {
      const nodes = Array.from({ length: size }, (_, i) => ({
        id: `m${String(i).padStart(2, '0')}`,
        address: `10.1.0.${i}:7000`,
        peerAddress: `10.1.0.${i}:7001`,
        zone: zones[zoneIndexes[i] ?? 0] ?? '',
      }));
      const claimant = nodes[claimantIndex % size]?.id ?? 'm00';
      const doc = initialDocument({
        clusterId: 'c1',
        claimant,
        partitionCount,
        replicas: n,
        nodes,
      });
      return deepFreeze(doc);
    });
  const changes = fc.record({
    kind: fc.constantFrom('join', 'leave', 'remove', 'replace', 'dead-replace'),
    target: fc.nat(),
    zone: fc.constantFrom(...zones),
  });

  /** The command, who is up for it, and the ids that own partitions once it is done. */
  function scenario(
    doc: RingDocument,
    change: { kind: string; target: number; zone: string },
  ): { command: ChangeCommand; isUp: (id: string) => boolean; owners: string[] } | undefined {
    const ids = doc.nodes.map((node) => node.id);
    // The claimant may not depart by any staged change (leave, remove, replace): it writes
    // every version.
    const departing = ids.filter((id) => change.kind === 'join' || id !== doc.claimant);
    const target = departing[change.target % departing.length] ?? '';
    const others = ids.filter((id) => id !== target);
    const fresh = {
      id: 'new',
      address: '10.2.0.1:7000',
      peerAddress: '10.2.0.1:7001',
      zone: change.zone,
    };
    switch (change.kind) {
      case 'join':
        return { command: { kind: 'join', ...fresh }, isUp: allUp, owners: [...ids, 'new'] };
      case 'leave':
      case 'remove':
        if (ids.length <= n) return undefined; // refused: tested above
        return {
          command: { kind: change.kind, id: target },
          isUp: change.kind === 'remove' ? downOnly(target) : allUp,
          owners: others,
        };
      default: {
        const dead = change.kind === 'dead-replace';
        const command: ChangeCommand = { kind: 'replace', old: target, ...fresh, dead };
        return { command, isUp: dead ? downOnly(target) : allUp, owners: [...others, 'new'] };
      }
    }
  }

  it('plans a next ring of exactly the owners, N distinct replicas each, and then refuses more', () => {
    fc.assert(
      fc.property(clusters, changes, (doc, change) => {
        const c = scenario(doc, change);
        fc.pre(c !== undefined);
        if (c === undefined) return;
        const outcome = stage(doc, undefined, c.command, c.isUp);
        if (!outcome.ok) throw new Error(`refused: ${outcome.refusal.message}`);
        const p = plan(doc, outcome.staged);
        const owners = [...c.owners].sort();
        expect(p.next.members.map((m) => m.id)).toEqual(owners);
        expect([...new Set(ownerIds(p.next))].sort()).toEqual(owners);
        if (owners.length >= n) expectNDistinctPrimaries(p.next);
        const done = commit(doc, outcome.staged, p);
        if (!done.ok) throw new Error(`commit refused: ${done.refusal.message}`);
        const again = stage(done.document, undefined, join('x1', '10.3.0.1:7000'), allUp);
        expect(again.ok ? undefined : again.refusal.code).toBe('failed-precondition');
        expect(again.ok ? '' : again.refusal.message).toMatch(/a transition is running/);
      }),
      { seed, numRuns },
    );
  });
});
