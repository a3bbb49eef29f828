import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  describeMembership,
  drawMembership,
  feasible,
  initialMembers,
  membershipChangeKinds,
  type MembershipFault,
  type MembershipScheduleOptions,
} from './membership-schedule.js';
import { createRng } from './prng.js';
import { generateSchedule, type FaultWindow, type ScheduleOptions } from './schedule.js';

const ids = ['n1', 'n2', 'n3', 'n4', 'n5'];
const membership: MembershipScheduleOptions = {
  replicas: 3,
  claimant: 'n1',
  changes: membershipChangeKinds,
  joinSize: 1,
  membersMax: 7,
  preludeMs: 0,
};
const base: ScheduleOptions = {
  seed: 5,
  durationMs: 600_000,
  nodeIds: ids,
  kinds: ['membership'],
  order: 'random',
  faultMs: 10_000,
  quietMs: 10_000,
  membership,
};

const changesOf = (windows: readonly FaultWindow[]): MembershipFault[] =>
  windows.flatMap((w) => (w.fault.kind === 'membership' ? [w.fault] : []));

/** Replays the changes on the starting members: every change names members that exist then. */
function replay(start: readonly string[], faults: readonly MembershipFault[]): string[][] {
  let members = [...start];
  const seen = new Set(start);
  const after: string[][] = [];
  for (const { change } of faults) {
    if (change.type === 'join') {
      for (const id of change.ids) expect(seen.has(id), `${id} is new`).toBe(false);
      members.push(...change.ids);
      change.ids.forEach((id) => seen.add(id));
    } else {
      const gone = change.type === 'leave' ? change.id : change.old;
      expect(members).toContain(gone);
      members = members.filter((id) => id !== gone);
      if (change.type === 'replace') {
        expect(seen.has(change.id)).toBe(false);
        members.push(change.id);
        seen.add(change.id);
      }
    }
    after.push([...members]);
  }
  return after;
}

describe('the membership nemesis schedule', () => {
  it('is the same for the same seed and replays the member set: never the claimant, never fewer than N, never more than the bound, ids never reused', () => {
    expect(generateSchedule(base)).toEqual(generateSchedule(base));
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 0xffff_ffff }), (seed) => {
        const faults = changesOf(generateSchedule({ ...base, seed }));
        expect(faults.length).toBeGreaterThan(10);
        for (const members of replay(ids, faults)) {
          expect(members).toContain('n1');
          expect(members.length).toBeGreaterThanOrEqual(3);
          expect(members.length).toBeLessThanOrEqual(7);
        }
      }),
      { seed: 12, numRuns: 100 },
    );
  });

  it('draws every change kind, and in random order puts a mid-transfer fault on about half', () => {
    const faults = changesOf(generateSchedule(base));
    const kinds = new Set(
      faults.map(({ change }) =>
        change.type === 'replace' ? (change.dead ? 'dead-replace' : 'replace') : change.type,
      ),
    );
    expect([...kinds].sort()).toEqual(['dead-replace', 'join', 'leave', 'replace']);
    const combined = faults.filter((f) => f.midTransfer !== undefined);
    expect(combined.length / faults.length).toBeGreaterThan(0.3);
    expect(combined.length / faults.length).toBeLessThan(0.7);
    expect(new Set(combined.map((f) => f.midTransfer?.kind))).toEqual(
      new Set(['kill', 'pause', 'partition']),
    );
    for (const f of combined) {
      const holdMs = f.midTransfer?.holdMs ?? 0;
      expect(Number.isInteger(holdMs) && holdMs >= 1_000 && holdMs <= 5_000, `${holdMs}`).toBe(
        true,
      );
    }
  });

  it('cycles the changes in order without mid-transfer faults (the smoke: a join, then a leave)', () => {
    const smoke = generateSchedule({
      ...base,
      kinds: ['membership', 'partition', 'kill', 'pause'],
      order: 'cycle',
      durationMs: 90_000,
      faultMs: 10_000,
      quietMs: 8_000,
      endOnFault: true,
      membership: { ...membership, changes: ['join', 'leave'] },
    });
    expect(smoke.map((w) => [w.startMs, describeFaultKind(w)])).toEqual([
      [8_000, 'membership: join n6'],
      [26_000, 'partition'],
      [44_000, 'kill'],
      [62_000, 'pause'],
      [80_000, expect.stringMatching(/^membership: leave n[2-6]$/)],
    ]);
    for (const f of changesOf(smoke)) expect(f.midTransfer).toBeUndefined();
  });

  it('draws later faults from the members as the changes leave them', () => {
    const windows = generateSchedule({
      ...base,
      kinds: ['membership', 'kill'],
      order: 'cycle',
      membership: { ...membership, changes: ['replace'] },
    });
    let members = [...ids];
    for (const w of windows) {
      if (w.fault.kind === 'membership' && w.fault.change.type === 'replace') {
        const { old, id } = w.fault.change;
        members = [...members.filter((m) => m !== old), id];
      } else if (w.fault.kind === 'kill')
        for (const id of w.fault.nodes) expect(members).toContain(id);
    }
    expect(members.some((m) => !ids.includes(m))).toBe(true);
  });

  it('leaves a window out when no change is possible, and refuses a leave at N members', () => {
    const three = { ...membership, changes: ['leave'] as const };
    expect(feasible('leave', initialMembers(['n1', 'n2', 'n3']), three)).toBe(false);
    expect(feasible('leave', initialMembers(['n1', 'n2', 'n3', 'n4']), three)).toBe(true);
    const windows = generateSchedule({
      ...base,
      nodeIds: ['n1', 'n2', 'n3', 'n4', 'n5'],
      order: 'cycle',
      membership: three,
    });
    // Two leaves take 5 members to N=3; nothing else is possible afterwards.
    expect(windows.map((w) => w.index)).toEqual([0, 1]);
    expect(windows.map((w) => w.startMs)).toEqual([10_000, 30_000]);
  });

  it('joins joinSize nodes in one change, with the prelude when asked (the catch-up self-test)', () => {
    const fault = drawMembership(
      initialMembers(['n1', 'n2', 'n3']),
      { ...membership, changes: ['join'], joinSize: 3, preludeMs: 3_000 },
      'cycle',
      10_000,
      createRng(1),
    );
    expect(fault).toEqual({
      kind: 'membership',
      change: { type: 'join', ids: ['n4', 'n5', 'n6'] },
      preludeMs: 3_000,
    });
    expect(describeMembership(fault as MembershipFault)).toBe(
      'membership: join n4 n5 n6, after kill -9 of each member in turn for 3000 ms',
    );
  });

  it('describes each change and its mid-transfer fault', () => {
    const d = (f: Omit<MembershipFault, 'kind'>): string =>
      describeMembership({ kind: 'membership', ...f });
    expect(d({ change: { type: 'leave', id: 'n3' } })).toBe('membership: leave n3');
    expect(
      d({
        change: { type: 'replace', old: 'n2', id: 'n7', dead: true },
        midTransfer: { kind: 'kill', party: 'source', holdMs: 2_000 },
      }),
    ).toBe(
      'membership: dead replace n2 by n7 (kill -9 n2 first); kill -9 the source mid-transfer, restart after 2000 ms',
    );
    expect(
      d({
        change: { type: 'replace', old: 'n2', id: 'n7', dead: false },
        midTransfer: { kind: 'partition', party: 'receiver', holdMs: 3_000 },
      }),
    ).toBe('membership: replace n2 by n7; cut the receiver off mid-transfer for 3000 ms');
  });
});

function describeFaultKind(w: FaultWindow): string {
  return w.fault.kind === 'membership' ? describeMembership(w.fault) : w.fault.kind;
}
