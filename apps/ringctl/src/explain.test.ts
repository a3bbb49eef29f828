import type { Dot, InspectedSibling, KeyInspection } from '@ringstore/proto';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { explainKey, unionClock, type Answer } from './explain.js';
import { explainJson, formatExplainHuman } from './format-explain.js';
import { startFakeNode, type FakeNode } from './test-support/fake-node.js';
import { runCli } from './test-support/run-cli.js';

const a = 'n1.aaaaaa/1';
const b = 'n2.bbbbbb/1';
const dot = (actor: string, counter: number): Dot => ({ actor, counter: BigInt(counter) });
const value = (d: Dot, tombstone = false): InspectedSibling => ({
  dot: d,
  tombstone,
  valueBytes: tombstone ? 0n : 5n,
  timestampMs: 1_700_000_000_000n,
});

const upList = [
  { node: 'n1', hintFor: '' },
  { node: 'n2', hintFor: '' },
  { node: 'n3', hintFor: '' },
];

/** n1's answer unless fields say otherwise: a found copy at a:1, every primary up. */
function inspection(node: string, fields: Partial<KeyInspection> = {}): KeyInspection {
  return {
    node,
    position: '0123456789abcdef0123456789abcdef',
    partition: 5,
    ringTerm: 1n,
    ringVersion: 3n,
    primaries: ['n1', 'n2', 'n3'],
    preferenceList: upList,
    replica: true,
    pending: false,
    objectState: 'found',
    corruptReason: '',
    clock: [dot(a, 1)],
    siblings: [value(dot(a, 1))],
    objectBytes: 60n,
    objectDigest: 'digest-a1',
    hints: [],
    hintsTruncated: false,
    treeBuilt: true,
    segment: 7,
    segmentHash: 'segment-a1',
    ...fields,
  };
}

const ok = (i: KeyInspection): Answer => ({ node: i.node, ok: true, inspection: i });
const down = (node: string): Answer => ({
  node,
  ok: false,
  unreachable: true,
  status: 'UNAVAILABLE',
  error: 'UNAVAILABLE: No connection established',
});
const missing = (node: string): KeyInspection =>
  inspection(node, {
    objectState: 'missing',
    clock: [],
    siblings: [],
    objectBytes: 0n,
    objectDigest: '',
  });

function explain(...answers: Answer[]) {
  const first = answers[0];
  if (first === undefined || !first.ok) throw new Error('the asked node answers first');
  return explainKey(first.inspection, answers);
}

describe('explainKey verdicts (pure)', () => {
  it('consistent on 3/3 when every primary holds the same clock and one value', () => {
    const e = explain(ok(inspection('n1')), ok(inspection('n2')), ok(inspection('n3')));
    expect(e.verdict).toBe('consistent on 3/3');
    expect(e.consistent).toBe(true);
    expect(e.segmentsAgree).toBe(true);
    expect(e.replicas.map((r) => [r.node, r.role, r.behindDots])).toEqual([
      ['n1', 'primary', 0],
      ['n2', 'primary', 0],
      ['n3', 'primary', 0],
    ]);
  });

  it('siblings: two concurrent values everywhere ask for a put with the context', () => {
    const both = { clock: [dot(a, 1), dot(b, 1)], siblings: [value(dot(a, 1)), value(dot(b, 1))] };
    const e = explain(
      ok(inspection('n1', both)),
      ok(inspection('n2', both)),
      ok(inspection('n3', both)),
    );
    expect(e.siblings).toBe(2);
    expect(e.consistent).toBe(false);
    expect(e.verdict).toBe('siblings: 2, resolve with a put carrying the context');
  });

  it('names the replica behind and by how many dots; a superseded value is not a sibling', () => {
    const newer = { clock: [dot(a, 2)], siblings: [value(dot(a, 2))], objectDigest: 'digest-a2' };
    const e = explain(
      ok(inspection('n1', newer)),
      ok(inspection('n2')),
      ok(inspection('n3', newer)),
    );
    expect(e.verdict).toBe('n2 behind by 1 dot: read repair or anti-entropy will fix it');
    expect(e.siblings).toBe(1);
    expect(e.replicas.find((r) => r.node === 'n2')?.missingDots).toEqual([dot(a, 1)]);
  });

  it('missing on n3 when the others hold it', () => {
    const e = explain(ok(inspection('n1')), ok(inspection('n2')), ok(missing('n3')));
    expect(e.verdict).toBe('missing on n3: read repair or anti-entropy will fix it');
  });

  it('a down primary: who answered, that they agree, and the hint a fallback holds for it', () => {
    const list = [upList[0]!, upList[1]!, { node: 'n4', hintFor: 'n3' }];
    const hint = { target: 'n3', createdAtMs: 1_700_000_000_000n, clock: [dot(a, 1)] };
    const asked = inspection('n1', { preferenceList: list });
    const e = explain(
      ok(asked),
      ok(inspection('n2')),
      down('n3'),
      ok(inspection('n4', { replica: false, treeBuilt: false, hints: [hint] })),
    );
    expect(e.verdict).toBe(
      'n3 down: 2/3 answered; the 2 that answered agree; ' +
        'hint for n3 held by n4: handoff delivers it once n3 is up',
    );
    expect(e.replicas.map((r) => [r.node, r.role, r.up, r.hintFor])).toEqual([
      ['n1', 'primary', true, undefined],
      ['n2', 'primary', true, undefined],
      ['n3', 'primary', false, undefined],
      ['n4', 'fallback', true, 'n3'],
    ]);
    expect(e.hints).toEqual([{ holder: 'n4', ...hint }]);
  });

  it('not found when no node holds a copy', () => {
    const e = explain(ok(missing('n1')), ok(missing('n2')), ok(missing('n3')));
    expect(e.verdict).toBe('not found on 3/3');
    expect(e.consistent).toBe(false);
  });

  it('a corrupt copy, and a refusal that is not unreachability', () => {
    const corrupt = inspection('n2', {
      objectState: 'corrupt',
      corruptReason: 'checksum mismatch',
      clock: [],
      siblings: [],
    });
    const refused: Answer = {
      node: 'n3',
      ok: false,
      unreachable: false,
      status: 'PERMISSION_DENIED',
      error: 'PERMISSION_DENIED: token t has role read',
    };
    const e = explain(ok(inspection('n1')), ok(corrupt), refused);
    expect(e.verdict).toBe(
      'n3 failed (PERMISSION_DENIED): 2/3 answered; ' +
        'corrupt on n2: read repair or anti-entropy will fix it',
    );
  });

  it('copies that diverged both ways: each behind, and the siblings a merge keeps', () => {
    const other = { clock: [dot(b, 1)], siblings: [value(dot(b, 1))], objectDigest: 'digest-b1' };
    const e = explain(ok(inspection('n1')), ok(inspection('n2', other)), ok(inspection('n3')));
    expect(e.clock).toEqual([dot(a, 1), dot(b, 1)]);
    expect(e.verdict).toBe(
      'n1 behind by 1 dot, n2 behind by 1 dot, n3 behind by 1 dot: ' +
        'read repair or anti-entropy will fix it; siblings: 2, resolve with a put carrying the context',
    );
  });

  it('same copies but different segment hashes: another key of the segment differs', () => {
    const e = explain(
      ok(inspection('n1')),
      ok(inspection('n2', { segmentHash: 'segment-other' })),
      ok(inspection('n3')),
    );
    expect(e.consistent).toBe(false);
    expect(e.segmentsAgree).toBe(false);
    expect(e.verdict).toBe(
      'Merkle segment differs (another key of the segment): anti-entropy will fix it',
    );
  });

  it('a deleted key: consistent, saying it is a tombstone', () => {
    const gone = { clock: [dot(a, 2)], siblings: [value(dot(a, 2), true)] };
    const e = explain(
      ok(inspection('n1', gone)),
      ok(inspection('n2', gone)),
      ok(inspection('n3', gone)),
    );
    expect(e.verdict).toBe('consistent on 3/3 (deleted: a tombstone)');
    expect(e.siblings).toBe(0);
  });

  it('unionClock keeps the highest counter per actor, sorted by actor', () => {
    expect(unionClock([[dot(b, 2), dot(a, 1)], [dot(a, 3)], []])).toEqual([dot(a, 3), dot(b, 2)]);
  });
});

describe('explain output', () => {
  const newer = { clock: [dot(a, 2)], siblings: [value(dot(a, 2))], objectDigest: 'digest-a2' };
  const e = () => explain(ok(inspection('n1', newer)), ok(inspection('n2')), down('n3'));

  it('prints the placement, each node, and the verdict last', () => {
    expect(formatExplainHuman('greeting', e())).toBe(
      [
        'key: greeting',
        'position: 0123456789abcdef0123456789abcdef (partition 5, ring term 1 version 3, as n1 sees it)',
        'preference list: n1 (up), n2 (up), n3 (up)',
        'n1 (primary, up): found, 1 value, 60 bytes, digest digest-a2',
        `  clock: ${a}:2`,
        `  siblings: ${a}:2 5 bytes`,
        '  merkle segment: 7 segment-a1 (agrees)',
        `n2 (primary, up): found, 1 value, 60 bytes, digest digest-a1, behind by 1 dot (lacks ${a}:1)`,
        `  clock: ${a}:1`,
        `  siblings: ${a}:1 5 bytes`,
        '  merkle segment: 7 segment-a1 (agrees)',
        'n3 (primary, up): no answer (UNAVAILABLE: No connection established)',
        'hints: none held for this key',
        'verdict: n3 down: 2/3 answered; n2 behind by 1 dot: read repair or anti-entropy will fix it',
        '',
      ].join('\n'),
    );
  });

  it('--json: one document with the placement, every replica and the verdict', () => {
    const doc = JSON.parse(JSON.stringify(explainJson('greeting', e()))) as Record<string, unknown>;
    expect(doc).toMatchObject({
      key: 'greeting',
      position: '0123456789abcdef0123456789abcdef',
      partition: 5,
      ring: { term: 1, version: 3 },
      askedNode: 'n1',
      primaries: ['n1', 'n2', 'n3'],
      clock: [{ actor: a, counter: 2 }],
      siblings: 1,
      consistent: false,
      hints: [],
    });
    const replicas = doc['replicas'] as Record<string, unknown>[];
    expect(replicas[1]).toMatchObject({
      node: 'n2',
      role: 'primary',
      answered: true,
      behindDots: 1,
      missingDots: [{ actor: a, counter: 1 }],
      object: {
        state: 'found',
        clock: [{ actor: a, counter: 1 }],
        siblings: [{ dot: { actor: a, counter: 1 }, tombstone: false, valueBytes: 5 }],
      },
      merkle: { segment: 7, segmentHash: 'segment-a1' },
    });
    expect(replicas[2]).toMatchObject({ node: 'n3', answered: false, object: null });
    expect(doc['verdict']).toMatch(/^n3 down: 2\/3 answered/);
  });
});

describe('ringctl explain (command line)', () => {
  let node: FakeNode;
  beforeEach(async () => {
    node = await startFakeNode();
  });
  afterEach(async () => {
    await node.stop();
  });

  it('refuses an empty key before asking any node (usage, exit 2)', async () => {
    const result = await runCli(['--node', node.address, 'explain', '']);
    expect(result.code).toBe(2);
    expect(result.stderr).toContain('the key must not be empty');
    expect(node.requests).toEqual([]);
  });

  it('refuses a key that is not hex with --key-hex', async () => {
    const result = await runCli(['--node', node.address, '--key-hex', 'explain', 'zz']);
    expect(result.code).toBe(2);
  });

  it("passes a node's refusal through with its status (a failing exit code)", async () => {
    const result = await runCli(['--node', node.address, 'explain', 'k']);
    expect([0, 2]).not.toContain(result.code);
    expect(result.stderr).toContain('UNIMPLEMENTED');
  });
});
