// The harness end to end on real ringstore-node processes (loopback, process faults only), kept
// short for npm test; `npm run chaos:smoke` is the longer run with partitions that CI does.
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { liveChildPids } from '../node-process.js';
import { parseChaosArgs } from './options.js';
import { runChaos } from './run.js';

describe('runChaos on a real 3-node cluster (loopback)', () => {
  let dir: string | undefined;
  afterEach(() => {
    if (dir !== undefined) rmSync(dir, { recursive: true, force: true });
    dir = undefined;
  });

  it('kills and pauses nodes under both workloads, loses no acknowledged write, writes the report and leaves no process behind', async () => {
    dir = mkdtempSync(join(tmpdir(), 'ringstore-chaos-'));
    const argv = [
      '--net',
      'loopback',
      '--nodes',
      '3',
      '--nemesis',
      'kill,pause',
      '--duration',
      '11s',
      '--fault-ms',
      '2500',
      '--quiet-ms',
      '2000',
    ];
    // 16 partitions: with 3 nodes every node replicates every partition, and an anti-entropy round
    // (one partition per 250 ms) is what repairs the node that missed writes while paused.
    const options = parseChaosArgs(
      [
        ...argv,
        '--partitions',
        '16',
        '--rate',
        '20',
        '--settle-ms',
        '30000',
        '--out',
        dir,
        '--keep-data',
      ],
      20261130,
    );
    const lines: string[] = [];
    const report = await runChaos(
      options,
      { log: (line) => lines.push(line) },
      new AbortController().signal,
    );

    expect(report.verdict, lines.join('\n')).toMatchObject({ pass: true, exitCode: 0 });
    expect(report.windows.map((w) => [w.kind, w.error])).toEqual([
      ['kill', undefined],
      ['pause', undefined],
    ]);
    for (const w of report.windows) expect(w.healedMs).toBeGreaterThan(w.appliedMs ?? Infinity);
    for (const w of report.workloads) {
      expect(w.acknowledged).toBeGreaterThan(20);
      expect(w.lost).toBe(0);
    }
    expect(report.convergence.converged).toBe(true);
    expect(lines.join('\n')).toContain('seed 20261130');
    for (const file of ['report.json', 'report.md', 'timeline.svg', 'history.jsonl', 'logs/n1.log'])
      expect(existsSync(join(dir, file)), file).toBe(true);
    const history = readFileSync(join(dir, 'history.jsonl'), 'utf8').trim().split('\n');
    expect(history.length).toBe(2 * report.workloads.reduce((n, w) => n + w.attempted, 0));
    expect(liveChildPids()).toEqual([]);
  }, 90_000);

  it('--tls: a secured cluster (TLS on both ports, client certificates, tokens) through a join and a kill, nothing lost', async () => {
    dir = mkdtempSync(join(tmpdir(), 'ringstore-chaos-tls-'));
    const options = parseChaosArgs(
      [
        ...['--tls', '--net', 'loopback', '--nodes', '3', '--partitions', '16'],
        ...['--nemesis', 'membership,kill', '--membership-changes', 'join', '--rate', '20'],
        ...['--duration', '10s', '--fault-ms', '2500', '--quiet-ms', '2000', '--end-on-fault'],
        ...['--settle-ms', '30000', '--out', dir],
      ],
      20261207,
    );
    const lines: string[] = [];
    const report = await runChaos(
      options,
      { log: (line) => lines.push(line) },
      new AbortController().signal,
    );

    expect(report.verdict, lines.join('\n')).toMatchObject({ pass: true, exitCode: 0 });
    expect(report.security.tls).toBe(true);
    expect(report.windows.map((w) => [w.kind, w.error])).toEqual([
      ['membership', undefined],
      ['kill', undefined],
    ]);
    expect(report.ring.members).toEqual(['n1', 'n2', 'n3', 'n4']);
    // When a write fails, the message names it: when, which workload and the SDK's error.
    const failures = readFileSync(join(dir, 'history.jsonl'), 'utf8')
      .trim()
      .split('\n')
      .filter((line) => line.includes('"type":"fail"'));
    for (const w of report.workloads) {
      expect(w.acknowledged).toBeGreaterThan(20);
      expect(w, [...failures, ...lines].join('\n')).toMatchObject({
        lost: 0,
        failed: 0,
        overloaded: 0,
      });
    }
    // Every node, the one the join added too, ran with its own certificate and without --insecure.
    for (const id of ['n1', 'n4']) {
      const log = readFileSync(join(dir, 'logs', `${id}.log`), 'utf8');
      expect(log).toContain(`--peer-cert-file ${join(dir, 'pki', `${id}.pem`)}`);
      expect(log).not.toContain('--insecure');
    }
    expect(liveChildPids()).toEqual([]);
  }, 120_000);
});
