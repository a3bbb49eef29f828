// cluster transfers [--watch]: n1, n2 and the joining n4 are fake nodes, n3 an address nothing
// listens on. The ring comes from n2 (--node); every member is asked for what it receives.
import { createServer } from 'node:net';
import { PassThrough } from 'node:stream';
import * as grpc from '@grpc/grpc-js';
import type { Ring } from '@ringstore/proto';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { startFakeNode, type FakeNode } from './test-support/fake-node.js';
import { progress, ringWithN4, threeNodeRing } from './test-support/membership-fixtures.js';
import { runCli, type CliInput } from './test-support/run-cli.js';

/** Each test's own bound: a watch that never ends fails its test instead of the run. */
const testTimeoutMs = 5_000;
const nowMs = 1_700_000_000_000;

let n1: FakeNode;
let n2: FakeNode;
let n4: FakeNode;
let n3Address: string;
/** The ring every fake answers: n4 joining, partitions 0-3 in transfer. */
let ring: Ring;

async function unusedAddress(): Promise<string> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  await new Promise<void>((resolve) => server.close(() => resolve()));
  if (address === null || typeof address === 'string') throw new Error('no TCP address');
  return `127.0.0.1:${address.port}`;
}

/** Every fake answers GetRing with `next`. */
function setRing(next: Ring): void {
  ring = next;
  for (const fake of [n1, n2, n4]) fake.ring = next;
}

/** n3's status in the ring: 'removed' takes it out of the members asked. */
function withN3(status: string): Ring {
  return { ...ring, nodes: ring.nodes.map((n) => (n.id === 'n3' ? { ...n, status } : n)) };
}

beforeEach(async () => {
  [n1, n2, n4] = await Promise.all([startFakeNode(), startFakeNode(), startFakeNode()]);
  n3Address = await unusedAddress();
  const base = ringWithN4(threeNodeRing([n1.address, n2.address, n3Address]), [
    'streaming',
    'catch-up',
    'streaming',
    'pending',
  ]);
  setRing({
    ...base,
    nodes: base.nodes.map((n) => (n.id === 'n4' ? { ...n, address: n4.address } : n)),
  });
  n2.id = 'n2';
  n4.id = 'n4';
  n4.transfers = [
    progress(0, {
      objectsDone: 500n,
      objectsTotal: 1200n,
      bytesDone: 1_500_000n,
      bytesTotal: 3_670_016n,
      objectsPerSecond: 250.4,
      lastProgressMs: BigInt(nowMs - 2_000),
      pages: 3n,
    }),
    progress(2, { lastProgressMs: BigInt(nowMs - 90_000), stalled: 'source n3 unreachable' }),
  ];
});
afterEach(async () => {
  await Promise.all([n1.stop(), n2.stop(), n4.stop()]);
});

const cli = (argv: readonly string[], input: CliInput = {}) =>
  runCli(['--node', n2.address, ...argv], { nowMs, ...input });
const calls = (fake: FakeNode, method: string) =>
  fake.requests.filter((r) => r.method === method).length;

const table = [
  'ring version 1.6: 4 transfers (1 pending, 2 streaming, 1 catch-up)',
  'PARTITION  FROM  TO  STATE      OBJECTS   BYTES            RATE   LAST PROGRESS  STALLED',
  '0          n1    n4  streaming  500/1200  1.4 MiB/3.5 MiB  250/s  2s ago         -',
  '1          -     n4  catch-up   -         -                -      -              -',
  '2          n3    n4  streaming  0/?       0 B/?            0/s    1m ago         source n3 unreachable',
  '3          -     n4  pending    -         -                -      -              -',
];

describe('cluster transfers', () => {
  it(
    'one row per inbound transfer from every member; ring transfers nobody reports show their state',
    async () => {
      setRing(withN3('removed'));
      const result = await cli(['cluster', 'transfers']);
      expect(result).toEqual({ code: 0, stdout: table.join('\n') + '\n', stderr: '' });
      for (const fake of [n1, n2, n4]) expect(calls(fake, 'listTransfers')).toBe(1);
      expect(n2.requests.map((r) => r.method)).toEqual(['getRing', 'listTransfers']);
    },
    testTimeoutMs,
  );

  it(
    'an empty partition streamed to its end shows totals of 0, not unknown ones',
    async () => {
      setRing(withN3('removed'));
      n4.transfers = [progress(3, { state: 'catch-up', from: 'n1' })];
      const result = await cli(['cluster', 'transfers']);
      expect(result.stdout.split('\n')).toContain(
        '3          n1    n4  catch-up   0/0      0 B/0 B  0/s   never          -',
      );
      const json = await cli(['cluster', 'transfers', '--json']);
      const document = JSON.parse(json.stdout) as {
        transfers: { partition: number; progress: Record<string, unknown> | null }[];
      };
      expect(document.transfers.find((t) => t.partition === 3)?.progress).toMatchObject({
        objectsTotal: 0,
        bytesTotal: 0,
      });
    },
    testTimeoutMs,
  );

  it(
    'names a member that cannot be asked on stderr, shows the rest, and exits 1',
    async () => {
      const result = await cli(['cluster', 'transfers']);
      expect(result.code).toBe(1);
      expect(result.stdout).toBe(table.join('\n') + '\n');
      expect(result.stderr).toMatch(/^n3: unreachable \(UNAVAILABLE: [^\n]*\)\n$/);
    },
    testTimeoutMs,
  );

  it(
    'asks no left or removed member, and says when no transition runs',
    async () => {
      setRing({ ...withN3('left'), transfers: [], nextOwners: [] });
      n4.transfers = [];
      const result = await cli(['cluster', 'transfers']);
      expect(result).toEqual({
        code: 0,
        stdout: 'ring version 1.6: no transfers, no transition is running\n',
        stderr: '',
      });
    },
    testTimeoutMs,
  );

  it(
    '--json: one document with every row (null progress when nobody reports) and the failures',
    async () => {
      const result = await cli(['cluster', 'transfers', '--json']);
      expect(result.code).toBe(1);
      expect(result.stdout.trimEnd().split('\n')).toHaveLength(1);
      const document = JSON.parse(result.stdout) as {
        transfers: unknown[];
        failures: { node: string; address: string; problem: string }[];
      };
      expect(document).toMatchObject({ term: 1, version: 6, complete: false });
      expect(document.transfers).toHaveLength(4);
      expect(document.transfers[0]).toEqual({
        partition: 0,
        to: 'n4',
        state: 'streaming',
        progress: {
          from: 'n1',
          objectsDone: 500,
          objectsTotal: 1200,
          bytesDone: 1_500_000,
          bytesTotal: 3_670_016,
          objectsPerSecond: 250.4,
          bytesPerSecond: 0,
          lastProgressMs: nowMs - 2_000,
          stalled: null,
          pages: 3,
        },
      });
      expect(document.transfers[1]).toEqual({
        partition: 1,
        to: 'n4',
        state: 'catch-up',
        progress: null,
      });
      expect(document.failures.map(({ node, address }) => ({ node, address }))).toEqual([
        { node: 'n3', address: n3Address },
      ]);
      expect(document.failures[0]?.problem).toMatch(/^unreachable \(UNAVAILABLE: /);
    },
    testTimeoutMs,
  );
});

describe('cluster transfers --watch', () => {
  /** After `looks` GetRing calls at n2, the transition completes (the ring lists no transfer). */
  function completeAfter(looks: number): void {
    let seen = 0;
    n2.onCall = (method) => {
      if (method !== 'getRing') return;
      seen += 1;
      if (seen === looks) {
        n2.ring = { ...ring, transfers: [], nextOwners: [] };
        n4.transfers = [];
      }
    };
  }

  it(
    'prints the table every interval until the ring lists no transfer, then exits 0',
    async () => {
      setRing(withN3('removed'));
      completeAfter(3);
      const result = await cli(['cluster', 'transfers', '--watch', '--interval-ms', '20']);
      expect(result).toEqual({
        code: 0,
        stdout:
          [...table, '', ...table].join('\n') + '\nno transfers: the transition is complete\n',
        stderr: '',
      });
      expect(calls(n2, 'getRing')).toBe(3);
    },
    testTimeoutMs,
  );

  it(
    '--json: one document per look, the last one complete',
    async () => {
      setRing(withN3('removed'));
      completeAfter(2);
      const result = await cli([
        '--json',
        'cluster',
        'transfers',
        '--watch',
        '--interval-ms',
        '20',
      ]);
      expect(result.code).toBe(0);
      const documents = result.stdout
        .trimEnd()
        .split('\n')
        .map((line) => JSON.parse(line) as { complete: boolean; transfers: unknown[] });
      expect(documents.map((d) => [d.complete, d.transfers.length])).toEqual([
        [false, 4],
        [true, 0],
      ]);
    },
    testTimeoutMs,
  );

  it(
    'gives up after --timeout-ms with exit 1, naming the members it could not ask each look',
    async () => {
      const startMs = performance.now();
      const result = await cli([
        'cluster',
        'transfers',
        '--watch',
        '--interval-ms',
        '40',
        '--timeout-ms',
        '150',
      ]);
      const elapsedMs = performance.now() - startMs;
      expect(result.code).toBe(1);
      expect(elapsedMs).toBeGreaterThanOrEqual(150);
      const errors = result.stderr.trimEnd().split('\n');
      expect(errors.at(-1)).toBe(
        'error: the transition did not complete within --timeout-ms 150 (4 transfers left)',
      );
      const looks = calls(n2, 'getRing');
      // At least the first look; one that outlasts --timeout-ms (a loaded CI machine: it asks
      // an unreachable member too) is the last, so no second look is certain.
      expect(looks).toBeGreaterThanOrEqual(1);
      expect(errors.filter((line) => line.startsWith('n3: unreachable'))).toHaveLength(looks);
      expect(result.stdout.split('ring version 1.6').length - 1).toBe(looks);
    },
    testTimeoutMs,
  );

  it(
    'a look whose ring cannot be fetched is reported, and the watch goes on',
    async () => {
      setRing(withN3('removed'));
      n2.failNext = { code: grpc.status.UNAVAILABLE, details: 'restarting', method: 'getRing' };
      completeAfter(3);
      const result = await cli(['cluster', 'transfers', '--watch', '--interval-ms', '20']);
      expect(result.code).toBe(0);
      expect(result.stderr).toBe(`${n2.address}: UNAVAILABLE: restarting\n`);
      expect(result.stdout).toBe(table.join('\n') + '\nno transfers: the transition is complete\n');
    },
    testTimeoutMs,
  );

  it(
    'on a terminal draws a summary line and one progress bar per reported transfer',
    async () => {
      setRing(withN3('removed'));
      completeAfter(3);
      const terminal = Object.assign(new PassThrough(), { isTTY: true, columns: 160 });
      let drawn = '';
      terminal.on('data', (chunk: Buffer) => (drawn += chunk.toString()));
      const result = await cli(['cluster', 'transfers', '--watch', '--interval-ms', '20'], {
        terminal,
      });
      expect(result).toEqual({
        code: 0,
        stdout: 'no transfers: the transition is complete\n',
        stderr: '',
      });
      // eslint-disable-next-line no-control-regex
      const text = drawn.replace(/\x1b\[[0-9;?]*[A-Za-z]|\x1b[78]/g, '');
      expect(text).toContain('ring version 1.6: 4 transfers (1 pending, 2 streaming, 1 catch-up)');
      expect(text).toMatch(
        / {4}0 n1->n4 streaming \[=+-+\] 500\/1200 objects 1\.4 MiB\/3\.5 MiB 250\/s 2s ago/,
      );
      expect(text).toContain(
        '    2 n3->n4 streaming [------------------------] 0/? objects 0 B/? 0/s 1m ago stalled: source n3 unreachable',
      );
      expect(text).not.toMatch(/ {4}1 /);
    },
    testTimeoutMs,
  );

  it(
    'draws no more bars than the terminal has lines for, stalled ones first, and says so',
    async () => {
      setRing(withN3('removed'));
      n4.transfers = [...n4.transfers, progress(3, { state: 'catch-up' })];
      completeAfter(2);
      // 5 lines: the summary, two bars, and room for the prompt.
      const terminal = Object.assign(new PassThrough(), { isTTY: true, columns: 160, rows: 5 });
      let drawn = '';
      terminal.on('data', (chunk: Buffer) => (drawn += chunk.toString()));
      const result = await cli(['cluster', 'transfers', '--watch', '--interval-ms', '20'], {
        terminal,
      });
      expect(result.code).toBe(0);
      // eslint-disable-next-line no-control-regex
      const text = drawn.replace(/\x1b\[[0-9;?]*[A-Za-z]|\x1b[78]/g, '');
      expect(text).toContain('; bars for 2 of 3 (cluster transfers lists all)');
      expect(text.indexOf('    2 n3->n4')).toBeGreaterThan(-1);
      expect(text.indexOf('    2 n3->n4')).toBeLessThan(text.indexOf('    0 n1->n4'));
      expect(text).not.toContain('    3 n1->n4');
    },
    testTimeoutMs,
  );
});
