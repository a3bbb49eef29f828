import { describe, expect, it } from 'vitest';
import type { CheckResult } from './checker.js';
import { decideVerdict, renderMarkdown, type ConvergenceResult, type RunReport } from './report.js';

function result(workload: CheckResult['workload'], fields: Partial<CheckResult> = {}): CheckResult {
  return {
    workload,
    attempted: 10,
    acknowledged: 8,
    failed: 1,
    overloaded: 0,
    overloadAnswers: 0,
    unknown: 1,
    lost: 0,
    lostEverywhere: 0,
    unverified: 0,
    unknownPresent: 1,
    failedPresent: 0,
    unexpected: 0,
    lostByReader: {},
    lostExamples: [],
    unexpectedExamples: [],
    resurrected: 0,
    resurrectedExamples: [],
    valid: true,
    ...fields,
  };
}

const converged: ConvergenceResult = {
  converged: true,
  convergenceMs: 300,
  sinceLastHealMs: 9_000,
  divergentPartitions: 0,
  partitionsChecked: 64,
  polls: 2,
  settleMs: 60_000,
};
const divergent: ConvergenceResult = {
  ...converged,
  converged: false,
  convergenceMs: null,
  sinceLastHealMs: null,
  divergentPartitions: 3,
};

describe('decideVerdict', () => {
  it('passes with nothing lost, and fails with exit code 1 on a lost, unverified or unexpected item', () => {
    expect(
      decideVerdict([result('unique-keys'), result('set')], converged, null, false),
    ).toMatchObject({ pass: true, exitCode: 0 });
    const lost = decideVerdict(
      [result('unique-keys', { lost: 2 }), result('set', { unexpected: 1 })],
      converged,
      null,
      false,
    );
    expect(lost).toMatchObject({ pass: false, exitCode: 1 });
    expect(lost.reasons).toEqual([
      'unique-keys: 2 acknowledged writes lost',
      'set: 1 items present that were never written',
    ]);
    expect(decideVerdict([result('set', { unverified: 1 })], converged, null, false).exitCode).toBe(
      1,
    );
  });

  it('fails on divergence after the settle time only when asked to', () => {
    expect(decideVerdict([result('set')], divergent, null, false).exitCode).toBe(0);
    expect(decideVerdict([result('set')], divergent, null, true)).toMatchObject({
      exitCode: 1,
      reasons: ['3 partitions still divergent after 60000 ms'],
    });
  });

  it('inverts for the last-writer-wins self-test: losses reported pass, none found fails', () => {
    expect(
      decideVerdict([result('set', { lost: 5, valid: false })], converged, 'lww', false),
    ).toMatchObject({ pass: true, exitCode: 0 });
    expect(decideVerdict([result('set')], converged, 'lww', false)).toMatchObject({
      pass: false,
      exitCode: 1,
    });
  });

  it('inverts for the catch-up self-test on the unique-keys workload', () => {
    const lost = [result('unique-keys', { lost: 40, valid: false })];
    expect(decideVerdict(lost, converged, 'catch-up', false)).toMatchObject({
      pass: true,
      reasons: [
        'self-test: flipping without the catch-up lost 40 acknowledged writes and the checker reported them',
      ],
    });
    // A set loss is not what this self-test provokes: it proves nothing about the catch-up.
    const other = [result('unique-keys'), result('set', { lost: 3, valid: false })];
    expect(decideVerdict(other, converged, 'catch-up', false)).toMatchObject({ exitCode: 1 });
  });

  it('fails on resurrected values and on every ring problem, each named', () => {
    const verdict = decideVerdict(
      [result('delete', { resurrected: 2, valid: false })],
      converged,
      null,
      false,
      ['n3 still has 4 transfers'],
    );
    expect(verdict).toMatchObject({ pass: false, exitCode: 1 });
    expect(verdict.reasons).toEqual([
      'delete: 2 deleted values resurrected',
      'ring: n3 still has 4 transfers',
    ]);
  });
});

describe('renderMarkdown', () => {
  it('shows the figures, the replay command, skipped nemeses and lost examples, with table cells escaped', () => {
    const report: RunReport = {
      tool: 'ringstore-chaos',
      version: 1,
      seed: 99,
      replay: 'npm run chaos -- --smoke --seed 99',
      startedAt: '2026-11-30T00:00:00.000Z',
      network: 'loopback',
      networkNote: 'not running as root',
      security: { tls: true, note: 'TLS on both ports, tokens' },
      nodes: 5,
      replicas: 3,
      partitions: 64,
      writeQuorum: 2,
      durationMs: 62_000,
      nemeses: ['partition', 'kill'],
      order: 'cycle',
      unavailable: [{ kind: 'partition', reason: 'needs netns' }],
      windows: [
        {
          index: 0,
          kind: 'partition',
          description: 'partition majority [n1] | [n2]',
          startMs: 8_000,
          endMs: 18_000,
          skipped: 'needs netns',
        },
      ],
      workloads: [
        result('unique-keys', {
          lost: 1,
          overloaded: 2,
          overloadAnswers: 7,
          lostExamples: [{ item: 'k=v', ackedAtMs: 1_000, missingAt: ['n3'] }],
        }),
      ],
      convergence: converged,
      ring: {
        version: 7,
        members: ['n1', 'n2', 'n3', 'n4', 'n5', 'n6'],
        problems: [],
        waitedMs: 10,
        transitions: 2,
        tombstonesReaped: 12,
      },
      selfTest: null,
      failOnDivergence: false,
      verdict: { pass: false, exitCode: 1, reasons: ['unique-keys: 1 acknowledged writes lost'] },
      throughput: {
        healthyOpsPerSecond: 150.5,
        windows: [{ index: 1, label: 'pause n3', opsPerSecond: 120.4, ofHealthy: 0.8 }],
      },
      wallMs: 80_000,
    };
    const md = renderMarkdown(report, 'timeline.svg');
    expect(md).toContain('seed 99: FAIL');
    expect(md).toContain('`npm run chaos -- --smoke --seed 99`');
    expect(md).toContain('| unique-keys | 10 | 8 | 1 | 2 | 7 | 1 | **1** | **0** |');
    expect(md).toContain('- Security: TLS on both ports, tokens');
    expect(md).toContain(
      'Ring: 2 membership transitions; at the end v7 on every live node, members n1 n2 n3 n4 n5 n6',
    );
    expect(md).toContain('partition majority [n1] \\| [n2]');
    expect(md).toContain('Not available here, skipped: partition: needs netns');
    expect(md).toContain('k=v: acknowledged at 1.0 s, missing at n3');
    expect(md).toContain('![timeline](timeline.svg)');
    expect(md).toContain(
      'Acknowledged operations per second: healthy 150.5; #1 pause n3 120.4 (80%).',
    );
  });
});
