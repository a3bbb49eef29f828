import { describe, expect, it } from 'vitest';
import { claimantStep, type ClaimantView, type RingDocument, transferParties } from './index.js';
import { committedOf, documentOf, join, stagedOf } from './test-support/documents.js';

/** A claimant view where every node is up, has applied `doc`, and has reported everything. */
function viewOf(doc: RingDocument, overrides: Partial<ClaimantView> = {}): ClaimantView {
  const everyone = new Set(doc.nodes.map((n) => n.id));
  return {
    reported: () => everyone,
    applied: () => doc.version,
    isUp: () => true,
    concurrency: 2,
    elapsedSince: () => true,
    appliedEverywhereFor: () => true,
    requestTimeoutMs: 1_000,
    ...overrides,
  };
}

function stepped(doc: RingDocument, view: ClaimantView = viewOf(doc)): RingDocument {
  const outcome = claimantStep(doc, view);
  if (outcome === undefined) throw new Error('no step');
  if (!outcome.ok) throw new Error(outcome.refusal.message);
  return outcome.document;
}

const idle = documentOf(4);
const joined = committedOf(idle, stagedOf(idle, [join('n5')])).document;

describe('claimantStep', () => {
  it('does nothing while idle', () => {
    expect(claimantStep(idle, viewOf(idle))).toBeUndefined();
  });

  it('runs a join to completion, flipping every partition to read-new in one version', () => {
    let doc = joined;
    const states: string[] = [];
    for (let i = 0; i < 100 && doc.next !== undefined; i++) {
      doc = stepped(doc);
      states.push([...new Set(doc.transfers.map((t) => t.state))].join('+'));
    }
    expect(doc.next).toBeUndefined();
    expect(doc.nodes.find((n) => n.id === 'n5')?.status).toBe('valid');
    // One flip: read-new appears only for all transfers at once, never mixed with another state.
    expect(states.filter((s) => s.includes('read-new'))).toEqual(['read-new']);
    expect(states.filter((s) => s.includes('done'))).toEqual(['done']);
  });

  it('finishes with concurrency 1: a caught-up transfer waiting for the flip frees its slot', () => {
    let doc = joined;
    for (let i = 0; i < 500 && doc.next !== undefined; i++)
      doc = stepped(doc, viewOf(doc, { concurrency: 1 }));
    expect(doc.next).toBeUndefined();
  });

  it('starts at most `concurrency` transfers per node', () => {
    const doc = stepped(joined, viewOf(joined, { concurrency: 1 }));
    const active = doc.transfers.filter((t) => t.state === 'streaming');
    expect(active).toHaveLength(1);
    expect(doc.transfers.filter((t) => t.state === 'pending').length).toBeGreaterThan(0);
  });

  it('waits for every live party of a transfer to apply its version (the barrier)', () => {
    const first = joined.transfers[0]!;
    const lagging = transferParties(joined, first)[0]!;
    const behind = viewOf(joined, { applied: (id) => (id === lagging ? 1 : joined.version) });
    const doc = stepped(joined, behind);
    const stateOf = (p: number) => doc.transfers.find((t) => t.partition === p)?.state;
    expect(stateOf(first.partition)).toBe('pending');
    // The same node down does not hold the partition back: it is fenced when it returns.
    const down = viewOf(joined, { applied: behind.applied, isUp: (id) => id !== lagging });
    const started = stepped(joined, down);
    expect(started.transfers.find((t) => t.partition === first.partition)?.state).toBe('streaming');
  });

  it('moves a streamed partition only when every receiver reported it', () => {
    const streaming = stepped(joined);
    const none = viewOf(streaming, { reported: () => new Set() });
    expect(claimantStep(streaming, none)).toBeUndefined();
  });

  it('starts catch-up only one request deadline after every node held the commit', () => {
    const streaming = stepped(joined);
    const early = viewOf(streaming, { appliedEverywhereFor: () => false });
    const outcome = claimantStep(streaming, early);
    // Nothing may move to catch-up yet; what moves (if anything) is more transfers starting.
    if (outcome?.ok === true)
      expect(outcome.document.transfers.some((t) => t.state === 'catch-up')).toBe(false);
  });

  it('does not flip while one transfer still streams', () => {
    let doc = joined;
    while (!doc.transfers.every((t) => t.state === 'catch-up')) doc = stepped(doc);
    const holdOut = doc.transfers[0]!.partition;
    const partial = viewOf(doc, {
      reported: (p) => (p === holdOut ? new Set() : new Set(doc.nodes.map((n) => n.id))),
    });
    expect(claimantStep(doc, partial)).toBeUndefined();
  });

  it('keeps outgoing replicas written for one request deadline after read-new', () => {
    let doc = joined;
    while (!doc.transfers.every((t) => t.state === 'read-new')) doc = stepped(doc);
    const early = viewOf(doc, { elapsedSince: () => false });
    expect(claimantStep(doc, early)).toBeUndefined();
    expect(stepped(doc).transfers.every((t) => t.state === 'done')).toBe(true);
  });
});
