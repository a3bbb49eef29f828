import { describe, expect, it } from 'vitest';
import {
  cancelTransition,
  checkRingDocument,
  compareVersions,
  handOverClaimant,
  mergeDocument,
  takeOverClaimant,
} from './index.js';
import {
  allUp,
  committedOf,
  documentOf,
  downOnly,
  join,
  leave,
  remove,
  stagedOf,
  withTransferStates,
} from './test-support/documents.js';

const idle = documentOf(4);

describe('handOverClaimant', () => {
  it('writes version + 1 naming the new claimant, same term', () => {
    const out = handOverClaimant(idle, 'n2', allUp);
    expect(out.ok && out.document).toMatchObject({ claimant: 'n2', term: 1, version: 2 });
  });

  it('refuses an unknown node, the claimant itself, a down node, and a running transition', () => {
    const running = committedOf(idle, stagedOf(idle, [join('n5')])).document;
    const cases: [ReturnType<typeof handOverClaimant>, RegExp][] = [
      [handOverClaimant(idle, 'n9', allUp), /unknown node n9/],
      [handOverClaimant(idle, 'n1', allUp), /claimant already/],
      [handOverClaimant(idle, 'n2', downOnly('n2')), /n2 is down/],
      [handOverClaimant(running, 'n2', allUp), /transition is running/],
      [handOverClaimant(running, 'n5', allUp), /n5 is joining/],
    ];
    for (const [out, message] of cases) {
      expect(out.ok).toBe(false);
      if (!out.ok) expect(out.refusal.message).toMatch(message);
    }
  });
});

describe('takeOverClaimant', () => {
  it('starts a new term that wins over any later version of the old claimant', () => {
    const out = takeOverClaimant(idle, 'n2', downOnly('n1'));
    if (!out.ok) throw new Error(out.refusal.message);
    expect(out.document).toMatchObject({ claimant: 'n2', term: 2 });
    // The old claimant, not dead after all, writes more versions in term 1: they lose.
    const stale = { ...idle, version: idle.version + 50 };
    expect(compareVersions(out.document, stale)).toBeGreaterThan(0);
    const merged = mergeDocument(stale, out.document);
    expect(merged.ok && merged.document.claimant).toBe('n2');
  });

  it('is refused while the old claimant is seen up', () => {
    const out = takeOverClaimant(idle, 'n2', allUp);
    expect(!out.ok && out.refusal.message).toMatch(/claimant n1 is up/);
  });

  it('keeps a running transition going under the new claimant', () => {
    const running = committedOf(idle, stagedOf(idle, [join('n5')])).document;
    const out = takeOverClaimant(running, 'n2', downOnly('n1'));
    expect(out.ok && out.document.transfers).toEqual(running.transfers);
  });
});

describe('cancelTransition', () => {
  const joined = committedOf(idle, stagedOf(idle, [join('n5')])).document;

  it('drops a join before the flip: same ring, the joiner removed, idle again', () => {
    const out = cancelTransition(joined);
    if (!out.ok) throw new Error(out.refusal.message);
    const d = out.document;
    expect([d.version, d.next, d.transfers, d.transition, d.settledAt]).toEqual([
      joined.version + 1,
      undefined,
      [],
      0,
      joined.version + 1,
    ]);
    expect(d.ring).toEqual(idle.ring);
    expect(d.nodes.find((n) => n.id === 'n5')?.status).toBe('removed');
    expect(checkRingDocument(d)).toBeUndefined();
  });

  it('gives a leaving node back its place', () => {
    const leaving = committedOf(idle, stagedOf(idle, [leave('n4')])).document;
    const out = cancelTransition(leaving);
    expect(out.ok && out.document.nodes.find((n) => n.id === 'n4')?.status).toBe('valid');
  });

  it('is refused while idle, after the flip, and for a transition that removes a node', () => {
    const flipped = withTransferStates(joined, 'read-new');
    const removing = committedOf(idle, stagedOf(idle, [remove('n4')], downOnly('n4'))).document;
    for (const [doc, message] of [
      [idle, /no transition/],
      [flipped, /flipped reads/],
      [removing, /removes a node/],
    ] as const) {
      const out = cancelTransition(doc);
      expect(!out.ok && out.refusal.message).toMatch(message);
    }
  });
});
