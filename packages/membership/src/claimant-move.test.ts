import { describe, expect, it } from 'vitest';
import { compareVersions, handOverClaimant, mergeDocument, takeOverClaimant } from './index.js';
import {
  allUp,
  committedOf,
  documentOf,
  downOnly,
  join,
  stagedOf,
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
