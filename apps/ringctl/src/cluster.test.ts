// The membership commands against two fake nodes: n1 the claimant, n2 not. Changes given to n2
// (--node) must reach n1; n2 is asked only for its ring.
import { createServer } from 'node:net';
import * as grpc from '@grpc/grpc-js';
import type { Ring, SetTransferLimitsRequest, StageChangeRequest } from '@ringstore/proto';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { startFakeNode, type FakeNode } from './test-support/fake-node.js';
import { joinPlan, node, ringWithN4, threeNodeRing } from './test-support/membership-fixtures.js';
import { runCli } from './test-support/run-cli.js';

/** Each test's own bound: a hung call fails it instead of the whole run. */
const testTimeoutMs = 5_000;

let claimant: FakeNode;
let other: FakeNode;
/** What both fakes hold: n1 (claimant), n2, and n3 at an address nothing listens on. */
let ring: Ring;

/** A 127.0.0.1 address nothing listens on: a port just bound and released. */
async function unusedAddress(): Promise<string> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  await new Promise<void>((resolve) => server.close(() => resolve()));
  if (address === null || typeof address === 'string') throw new Error('no TCP address');
  return `127.0.0.1:${address.port}`;
}

beforeEach(async () => {
  claimant = await startFakeNode();
  other = await startFakeNode();
  ring = threeNodeRing([claimant.address, other.address, await unusedAddress()]);
  for (const fake of [claimant, other]) fake.ring = ring;
  other.id = 'n2';
  other.isClaimant = false;
});
afterEach(async () => {
  await claimant.stop();
  await other.stop();
});

/** ringctl asking n2, the node that is not the claimant. */
const cli = (argv: readonly string[]) => runCli(['--node', other.address, ...argv]);
const methods = (fake: FakeNode) => fake.requests.map((r) => r.method);
const stageRequests = () =>
  claimant.requests
    .filter((r) => r.method === 'stageChange')
    .map((r) => (r.request as StageChangeRequest).change);

describe('cluster join, leave, remove, replace', () => {
  it(
    'asks --node for the ring and stages the change at the claimant it names',
    async () => {
      const result = await cli(['cluster', 'join', 'n4=127.0.0.1:7004']);
      expect(result).toEqual({
        code: 0,
        stdout: 'staged: join n4 at 127.0.0.1:7004 (1 change staged; run `ringctl cluster plan`)\n',
        stderr: '',
      });
      expect(methods(other)).toEqual(['getRing']);
      expect(methods(claimant)).toEqual(['stageChange']);
      // No peer address given: '' (the claimant takes the client port + 1).
      expect(stageRequests()).toEqual([
        {
          kind: {
            $case: 'join',
            value: { id: 'n4', address: '127.0.0.1:7004', peerAddress: '', zone: '' },
          },
        },
      ]);
    },
    testTimeoutMs,
  );

  it(
    'sends the peer address given as ID=HOST:PORT/PEER_HOST:PEER_PORT',
    async () => {
      expect((await cli(['cluster', 'join', 'n4=127.0.0.1:7004/127.0.0.1:8004'])).code).toBe(0);
      expect(
        (await cli(['cluster', 'replace', 'n3', 'n5=127.0.0.1:7005/10.0.0.5:8005'])).code,
      ).toBe(0);
      expect(stageRequests()).toEqual([
        {
          kind: {
            $case: 'join',
            value: { id: 'n4', address: '127.0.0.1:7004', peerAddress: '127.0.0.1:8004', zone: '' },
          },
        },
        {
          kind: {
            $case: 'replace',
            value: {
              old: 'n3',
              id: 'n5',
              address: '127.0.0.1:7005',
              peerAddress: '10.0.0.5:8005',
              zone: '',
              dead: false,
            },
          },
        },
      ]);
    },
    testTimeoutMs,
  );

  it(
    'asked at the claimant itself, stages there',
    async () => {
      const result = await runCli(['--node', claimant.address, 'cluster', 'leave', 'n3']);
      expect(result.code).toBe(0);
      expect(methods(claimant)).toEqual(['getRing', 'stageChange']);
      expect(methods(other)).toEqual([]);
    },
    testTimeoutMs,
  );

  it(
    'sends leave, remove, and replace with --zone and --dead, and lists every staged change',
    async () => {
      expect((await cli(['cluster', 'leave', 'n3'])).code).toBe(0);
      expect((await cli(['cluster', 'remove', 'n2'])).code).toBe(0);
      const result = await cli([
        'cluster',
        'replace',
        'n3',
        'n5=127.0.0.1:7005',
        '--zone',
        'rack-2',
        '--dead',
      ]);
      expect(result.stdout).toBe(
        [
          'staged: replace n3 with n5 at 127.0.0.1:7005 in zone rack-2 (dead) (3 changes staged; ' +
            'run `ringctl cluster plan`)',
          '  leave n3',
          '  remove n2',
          '  replace n3 with n5 at 127.0.0.1:7005 in zone rack-2 (dead)',
          '',
        ].join('\n'),
      );
      expect(stageRequests()).toEqual([
        { kind: { $case: 'leave', value: { id: 'n3' } } },
        { kind: { $case: 'remove', value: { id: 'n2' } } },
        {
          kind: {
            $case: 'replace',
            value: {
              old: 'n3',
              id: 'n5',
              address: '127.0.0.1:7005',
              peerAddress: '',
              zone: 'rack-2',
              dead: true,
            },
          },
        },
      ]);
    },
    testTimeoutMs,
  );

  it(
    'join --zone, and --json: every staged change as one document',
    async () => {
      const join = ['cluster', 'join', 'n4=127.0.0.1:7004/127.0.0.1:8004', '--zone', 'z2'];
      const result = await cli([...join, '--json']);
      expect(result.code).toBe(0);
      expect(result.stdout.trimEnd().split('\n')).toHaveLength(1);
      const joined = {
        type: 'join',
        id: 'n4',
        address: '127.0.0.1:7004',
        peerAddress: '127.0.0.1:8004',
        zone: 'z2',
      };
      expect(JSON.parse(result.stdout)).toEqual({ staged: [joined] });
      // The fake claimant answers the changes as sent: no peer address given is ''.
      const replace = await cli(['cluster', 'replace', 'n3', 'n5=127.0.0.1:7005', '--json']);
      expect(JSON.parse(replace.stdout)).toEqual({
        staged: [
          joined,
          {
            type: 'replace',
            old: 'n3',
            id: 'n5',
            address: '127.0.0.1:7005',
            peerAddress: '',
            zone: '',
            dead: false,
          },
        ],
      });
    },
    testTimeoutMs,
  );
});

describe('cluster plan, commit, clear', () => {
  beforeEach(() => {
    claimant.plan = joinPlan(ring);
    claimant.staged = [
      {
        kind: {
          $case: 'join',
          value: { id: 'n4', address: '127.0.0.1:7004', peerAddress: '127.0.0.1:7005', zone: '' },
        },
      },
    ];
  });

  it(
    'plan prints changes, partitions owned before -> after, what moves per node, warnings',
    async () => {
      const result = await cli(['cluster', 'plan']);
      expect(result).toEqual({
        code: 0,
        stdout: [
          'staged changes (1):',
          '  join n4 at 127.0.0.1:7004',
          'ring version 1.5 -> 1.6, partitions owned per node (before -> after):',
          'NODE  STATUS        PARTITIONS',
          'n1    valid         3 -> 2',
          'n2    valid         3 -> 2',
          'n3    valid         2 -> 2',
          'n4    - -> joining  0 -> 2',
          'partitions whose replica sets change: 6 of 8 (replica-partitions moving: 6)',
          'replica-partitions in and out per node (estimated per partition: 1.2k objects, 3.5 MiB):',
          'NODE  IN  OUT  OBJECTS IN  BYTES IN  OBJECTS OUT  BYTES OUT',
          'n1    0   2    0           0 B       2.4k         7.0 MiB',
          'n2    0   2    0           0 B       2.4k         7.0 MiB',
          'n3    0   2    0           0 B       2.4k         7.0 MiB',
          'n4    6   0    7.2k        21.0 MiB  0            0 B',
          'warning: zones not distinct: 4 nodes in 1 zone',
          'warning: fewer than 5 nodes',
          'run `ringctl cluster commit` to apply',
          '',
        ].join('\n'),
        stderr: '',
      });
      expect(methods(claimant)).toEqual(['planChanges']);
    },
    testTimeoutMs,
  );

  it(
    'plan --json',
    async () => {
      const document = JSON.parse((await cli(['cluster', 'plan', '--json'])).stdout) as Record<
        string,
        unknown
      >;
      expect(document).toMatchObject({
        changes: [{ type: 'join', id: 'n4', address: '127.0.0.1:7004', zone: '' }],
        before: { term: 1, version: 5, nodes: expect.any(Array) as unknown },
        after: {
          term: 1,
          version: 6,
          nodes: [
            { id: 'n1', status: 'valid', partitions: 2 },
            { id: 'n2', status: 'valid', partitions: 2 },
            { id: 'n3', status: 'valid', partitions: 2 },
            { id: 'n4', status: 'joining', partitions: 2 },
          ],
        },
        partitionsChanging: 6,
        replicaPartitionsMoving: 6,
        objectsPerPartition: 1200,
        bytesPerPartition: 3_670_016,
        warnings: ['zones not distinct: 4 nodes in 1 zone', 'fewer than 5 nodes'],
      });
      expect(document['movement']).toContainEqual({
        node: 'n4',
        partitionsIn: 6,
        partitionsOut: 0,
        objectsIn: 7200,
        bytesIn: 22_020_096,
        objectsOut: 0,
        bytesOut: 0,
      });
      expect(document['transfers']).toHaveLength(6);
      expect((document['transfers'] as unknown[])[0]).toEqual({
        partition: 0,
        added: ['n4'],
        removed: ['n1'],
        state: 'pending',
        since: 6,
      });
    },
    testTimeoutMs,
  );

  it(
    'commit prints the new ring version and the transfers it created',
    async () => {
      claimant.committedRing = ringWithN4(ring, ['pending', 'pending']);
      const result = await cli(['cluster', 'commit']);
      expect(result).toEqual({
        code: 0,
        stdout: [
          'committed: ring version 1.6; 2 transfers created',
          'PARTITION  ADDED  REMOVED  STATE',
          '0          n4     n1       pending',
          '1          n4     n2       pending',
          'run `ringctl cluster transfers --watch` to follow them',
          '',
        ].join('\n'),
        stderr: '',
      });
      expect(methods(claimant)).toEqual(['commitPlan']);
      const json = await runCli(['--node', claimant.address, '--json', 'cluster', 'commit']);
      expect(JSON.parse(json.stdout)).toEqual({
        term: 1,
        version: 6,
        transfers: [
          { partition: 0, added: ['n4'], removed: ['n1'], state: 'pending', since: 6 },
          { partition: 1, added: ['n4'], removed: ['n2'], state: 'pending', since: 6 },
        ],
      });
    },
    testTimeoutMs,
  );

  it(
    'clear prints how many changes were dropped',
    async () => {
      expect(await cli(['cluster', 'clear'])).toEqual({
        code: 0,
        stdout: 'cleared 1 staged change\n',
        stderr: '',
      });
      expect(await cli(['cluster', 'clear'])).toMatchObject({ stdout: 'nothing was staged\n' });
      claimant.staged = [{ kind: { $case: 'leave', value: { id: 'n3' } } }];
      expect(JSON.parse((await cli(['cluster', 'clear', '--json'])).stdout)).toEqual({
        cleared: 1,
      });
      expect(methods(claimant)).toEqual(['clearChanges', 'clearChanges', 'clearChanges']);
    },
    testTimeoutMs,
  );
});

describe('cluster cancel and claimant', () => {
  it(
    'cancel goes to the claimant and prints the version it wrote',
    async () => {
      for (const fake of [claimant, other]) fake.ring = ringWithN4(ring, ['streaming', 'pending']);
      expect(await cli(['cluster', 'cancel'])).toEqual({
        code: 0,
        stdout:
          'cancelled: ring version 1.7; the ring stays as it was ' +
          '(joining nodes removed, leaving ones valid again)\n',
        stderr: '',
      });
      expect(methods(claimant)).toEqual(['cancelTransition']);
      const json = await runCli(['--node', claimant.address, '--json', 'cluster', 'cancel']);
      expect(JSON.parse(json.stdout)).toEqual({ term: 1, version: 8 });
    },
    testTimeoutMs,
  );

  it(
    'passes a refused cancel through',
    async () => {
      claimant.failNext = {
        code: grpc.status.FAILED_PRECONDITION,
        details: 'the transition has flipped to read-new: it can only finish',
        method: 'cancelTransition',
      };
      expect(await cli(['cluster', 'cancel'])).toEqual({
        code: 4,
        stdout: '',
        stderr: 'FAILED_PRECONDITION: the transition has flipped to read-new: it can only finish\n',
      });
    },
    testTimeoutMs,
  );

  it(
    'claimant ID hands the role over at the claimant',
    async () => {
      const result = await cli(['cluster', 'claimant', 'n2']);
      expect(result).toEqual({
        code: 0,
        stdout: 'claimant n2: handed over, ring version 1.6\n',
        stderr: '',
      });
      expect(methods(claimant)).toEqual(['moveClaimant']);
      expect(claimant.requests[0]?.request).toEqual({ to: 'n2', force: false });
    },
    testTimeoutMs,
  );

  it(
    'claimant ID --force is sent to --node itself, without asking the old claimant anything',
    async () => {
      const result = await cli(['--json', 'cluster', 'claimant', 'n2', '--force']);
      expect(result.code).toBe(0);
      expect(JSON.parse(result.stdout)).toEqual({ claimant: 'n2', term: 2, version: 1 });
      expect(methods(other)).toEqual(['moveClaimant']);
      expect(other.requests[0]?.request).toEqual({ to: 'n2', force: true });
      expect(methods(claimant)).toEqual([]);
      const human = await runCli(['--node', other.address, 'cluster', 'claimant', 'n2', '--force']);
      expect(human.stdout).toBe('claimant n2: taken over (a new term), ring version 3.1\n');
    },
    testTimeoutMs,
  );
});

describe('refusals and an unreachable claimant', () => {
  it(
    "prints the claimant's refusal and exits 4 (rejected), as JSON too with --json",
    async () => {
      claimant.failNext = {
        code: grpc.status.FAILED_PRECONDITION,
        details: 'nothing is staged',
        method: 'planChanges',
      };
      expect(await cli(['cluster', 'plan'])).toEqual({
        code: 4,
        stdout: '',
        stderr: 'FAILED_PRECONDITION: nothing is staged\n',
      });
      claimant.failNext = {
        code: grpc.status.INVALID_ARGUMENT,
        details: 'n2 exists: ids are never reused',
        method: 'stageChange',
      };
      const error = {
        code: 'INVALID_ARGUMENT',
        message: 'n2 exists: ids are never reused',
        exitCode: 4,
        grpcCode: grpc.status.INVALID_ARGUMENT,
      };
      expect(await cli(['cluster', 'join', 'n2=127.0.0.1:7009', '--json'])).toEqual({
        code: 4,
        stdout: JSON.stringify({ error }) + '\n',
        stderr: 'INVALID_ARGUMENT: n2 exists: ids are never reused\n',
      });
    },
    testTimeoutMs,
  );

  it(
    'passes "not the claimant" through when the ring at --node names a node that is no longer it',
    async () => {
      other.ring = { ...ring, claimant: 'n2' };
      claimant.ring = { ...ring, claimant: 'n1' };
      const result = await cli(['cluster', 'commit']);
      expect(result).toEqual({
        code: 4,
        stdout: '',
        stderr: `FAILED_PRECONDITION: not the claimant: membership changes go to n2 at ${other.address}\n`,
      });
      expect(methods(other)).toEqual(['getRing', 'commitPlan']);
      expect(methods(claimant)).toEqual([]);
    },
    testTimeoutMs,
  );

  it(
    'names the claimant when it cannot be reached',
    async () => {
      const n3 = ring.nodes[2]!;
      other.ring = { ...ring, claimant: 'n3' };
      const result = await cli(['cluster', 'leave', 'n2']);
      expect(result.code).toBe(3);
      expect(result.stdout).toBe('');
      expect(result.stderr).toMatch(
        new RegExp(`^UNAVAILABLE: claimant n3 at ${n3.address} is unreachable: `),
      );
    },
    testTimeoutMs,
  );

  it(
    'names the claimant when it does not answer within the deadline',
    async () => {
      claimant.hangNext = 'commitPlan';
      const result = await cli(['--deadline-ms', '200', 'cluster', 'commit']);
      expect(result.code).toBe(3);
      expect(result.stderr).toMatch(
        new RegExp(
          `^DEADLINE_EXCEEDED: claimant n1 at ${claimant.address} did not answer within 200 ms: `,
        ),
      );
    },
    testTimeoutMs,
  );

  it(
    'refuses when the ring names no claimant it lists',
    async () => {
      other.ring = { ...ring, claimant: '' };
      const result = await cli(['cluster', 'plan']);
      expect(result).toEqual({
        code: 1,
        stdout: '',
        stderr:
          `error: the ring at ${other.address} names no claimant with an address (''): ` +
          'membership changes need one\n',
      });
      expect(methods(claimant)).toEqual([]);
    },
    testTimeoutMs,
  );
});

describe('cluster status', () => {
  beforeEach(() => {
    const running = ringWithN4(ring, ['streaming', 'pending', 'catch-up', 'pending']);
    for (const fake of [claimant, other]) {
      fake.ring = { ...running, nodes: running.nodes.map((n) => ({ ...n, zone: 'z1' })) };
      fake.applied = [
        { node: 'n1', term: 1n, version: 6n },
        { node: 'n2', term: 1n, version: 6n },
        { node: 'n3', term: 1n, version: 5n },
        { node: 'n4', term: 1n, version: 0n },
      ];
    }
    claimant.staged = [{ kind: { $case: 'leave', value: { id: 'n3' } } }];
  });

  it(
    'at the claimant: members with the version each applied, claimant, staged, transfers per state',
    async () => {
      const n3 = ring.nodes[2]!.address;
      const result = await runCli(['--node', claimant.address, 'cluster', 'status']);
      const pad = (address: string) => address.padEnd(Math.max(n3.length, 15));
      expect(result.code).toBe(0);
      expect(result.stdout.split('\n')).toEqual([
        'cluster fake-cluster: ring version 1.6, claimant n1 (as n1 sees it)',
        `ID  ${'ADDRESS'.padEnd(Math.max(n3.length, 15))}  ZONE  STATUS   RING VERSION`,
        `n1  ${pad(claimant.address)}  z1    valid    1.6`,
        `n2  ${pad(other.address)}  z1    valid    1.6`,
        `n3  ${pad(n3)}  z1    valid    1.5`,
        `n4  ${pad('127.0.0.1:7004')}  z1    joining  -`,
        'staged changes (1):',
        '  leave n3',
        'transition running: 4 transfers (2 pending, 1 streaming, 1 catch-up)',
        '',
      ]);
      expect(methods(claimant)).toEqual(['getClusterStatus']);
    },
    testTimeoutMs,
  );

  it(
    'elsewhere: says that only the claimant knows what is staged, and where to ask',
    async () => {
      const result = await cli(['cluster', 'status']);
      expect(result.stdout).toContain('claimant n1 (as n2 sees it)');
      expect(result.stdout).toContain(
        `staged changes: known to the claimant only (ringctl --node ${claimant.address} cluster status)`,
      );
      expect(methods(other)).toEqual(['getClusterStatus']);
      expect(methods(claimant)).toEqual([]);
    },
    testTimeoutMs,
  );

  it(
    'without a transition prints no transfer line',
    async () => {
      claimant.ring = ring;
      const result = await runCli(['--node', claimant.address, 'cluster', 'status']);
      expect(result.stdout).not.toContain('transition');
      expect(result.stdout).toContain('ring version 1.5');
    },
    testTimeoutMs,
  );

  it(
    '--json',
    async () => {
      const result = await runCli(['--node', claimant.address, '--json', 'cluster', 'status']);
      const document = JSON.parse(result.stdout) as Record<string, unknown>;
      expect(document).toMatchObject({
        node: 'n1',
        clusterId: 'fake-cluster',
        term: 1,
        version: 6,
        claimant: 'n1',
        staged: [{ type: 'leave', id: 'n3' }],
        transition: { transfers: 4, byState: { pending: 2, streaming: 1, 'catch-up': 1 } },
      });
      expect(document['members']).toEqual([
        { ...node('n1', claimant.address, 'valid', 'z1'), applied: { term: 1, version: 6 } },
        { ...node('n2', other.address, 'valid', 'z1'), applied: { term: 1, version: 6 } },
        { ...node('n3', ring.nodes[2]!.address, 'valid', 'z1'), applied: { term: 1, version: 5 } },
        { ...node('n4', '127.0.0.1:7004', 'joining', 'z1'), applied: null },
      ]);
      const elsewhere = JSON.parse((await cli(['cluster', 'status', '--json'])).stdout) as {
        staged: unknown;
      };
      expect(elsewhere.staged).toBeNull();
    },
    testTimeoutMs,
  );
});

describe('cluster limits', () => {
  beforeEach(() => {
    // n3 has left (its address answers nothing): it is not asked.
    ring = {
      ...ring,
      nodes: ring.nodes.map((n) => (n.id === 'n3' ? { ...n, status: 'left' } : n)),
    };
    for (const fake of [claimant, other]) fake.ring = ring;
    other.limits = { concurrency: 1, objectsPerSecond: 500n, bytesPerSecond: 0n };
  });
  const limitRequests = (fake: FakeNode) =>
    fake.requests
      .filter((r) => r.method === 'setTransferLimits')
      .map((r) => r.request as SetTransferLimitsRequest);

  it(
    'without flags shows every serving member its limits, setting nothing',
    async () => {
      const result = await cli(['cluster', 'limits']);
      expect(result).toEqual({
        code: 0,
        stdout: [
          'NODE  CONCURRENCY  OBJECT RATE  BYTE RATE',
          'n1    2            unlimited    unlimited',
          'n2    1            500/s        unlimited',
          '',
        ].join('\n'),
        stderr: '',
      });
      expect(limitRequests(claimant)).toEqual([{}]);
      expect(limitRequests(other)).toEqual([{}]);
    },
    testTimeoutMs,
  );

  it(
    'sets only the flags given, on every member, and prints what each has now',
    async () => {
      const result = await cli([
        'cluster',
        'limits',
        '--concurrency',
        '4',
        '--bytes-per-second',
        '10485760',
        '--json',
      ]);
      expect(result.code).toBe(0);
      expect(JSON.parse(result.stdout)).toEqual({
        nodes: [
          {
            node: 'n1',
            address: claimant.address,
            concurrency: 4,
            objectsPerSecond: 0,
            bytesPerSecond: 10_485_760,
          },
          {
            node: 'n2',
            address: other.address,
            concurrency: 4,
            objectsPerSecond: 500,
            bytesPerSecond: 10_485_760,
          },
        ],
        failures: [],
      });
      const sent = { concurrency: 4, bytesPerSecond: 10_485_760n };
      expect(limitRequests(claimant)).toEqual([sent]);
      expect(limitRequests(other)).toEqual([sent]);
    },
    testTimeoutMs,
  );

  it(
    'names a member that cannot be asked on stderr, prints the others, and exits 1',
    async () => {
      ring = { ...ring, nodes: ring.nodes.map((n) => ({ ...n, status: 'valid' })) };
      other.ring = ring;
      const result = await cli(['cluster', 'limits', '--objects-per-second', '0']);
      expect(result.code).toBe(1);
      expect(result.stdout.split('\n')).toEqual([
        'NODE  CONCURRENCY  OBJECT RATE  BYTE RATE',
        'n1    2            unlimited    unlimited',
        'n2    1            unlimited    unlimited',
        '',
      ]);
      expect(result.stderr).toMatch(/^n3: unreachable \(UNAVAILABLE: .*\)\n$/);
    },
    testTimeoutMs,
  );

  it(
    "passes a member's refusal through, naming the member",
    async () => {
      other.failNext = {
        code: grpc.status.INVALID_ARGUMENT,
        details: 'concurrency must be 1..64',
        method: 'setTransferLimits',
      };
      const result = await cli(['cluster', 'limits', '--concurrency', '65']);
      expect(result.code).toBe(1);
      expect(result.stderr).toBe('n2: INVALID_ARGUMENT: concurrency must be 1..64\n');
    },
    testTimeoutMs,
  );
});

describe('cluster usage errors exit 2 without any RPC', () => {
  const cases: [string, string[], string][] = [
    [
      'join without =',
      ['cluster', 'join', 'n4'],
      "expected ID=HOST:PORT[/PEER_HOST:PEER_PORT] (e.g. n4=127.0.0.1:7007/127.0.0.1:7008), got 'n4'",
    ],
    [
      'join with a bad peer address',
      ['cluster', 'join', 'n4=127.0.0.1:7004/127.0.0.1'],
      'the peer address of n4 must be host:port',
    ],
    [
      'join with the peer address its client address',
      ['cluster', 'join', 'n4=127.0.0.1:7004/127.0.0.1:7004'],
      'the peer address of n4 must differ from its client address',
    ],
    [
      'join with two peer addresses',
      ['cluster', 'join', 'n4=127.0.0.1:7004/127.0.0.1:8004/127.0.0.1:9004'],
      "expected one '/' at most",
    ],
    [
      'replace with a bad peer address',
      ['cluster', 'replace', 'n3', 'n5=127.0.0.1:7005/'],
      'the peer address of n5 must be host:port',
    ],
    ['join with an empty id', ['cluster', 'join', '=127.0.0.1:7004'], 'the node id in '],
    [
      'join with a bad port',
      ['cluster', 'join', 'n4=127.0.0.1:70000'],
      'the address of n4 must be host:port',
    ],
    [
      'join without a port',
      ['cluster', 'join', 'n4=127.0.0.1'],
      'the address of n4 must be host:port',
    ],
    ['join with a bad id', ['cluster', 'join', 'n 4=127.0.0.1:7004'], 'must be 1-64 letters'],
    [
      'join with an empty zone',
      ['cluster', 'join', 'n4=127.0.0.1:7004', '--zone', ''],
      '--zone must be',
    ],
    ['join without argument', ['cluster', 'join'], 'missing required argument'],
    ['leave with an empty id', ['cluster', 'leave', ''], 'the node id must not be empty'],
    ['remove with two ids', ['cluster', 'remove', 'n2', 'n3'], 'too many arguments'],
    ['replace by itself', ['cluster', 'replace', 'n3', 'n3=127.0.0.1:7005'], 'needs a new id'],
    ['replace without a new node', ['cluster', 'replace', 'n3'], 'missing required argument'],
    ['unknown flag', ['cluster', 'leave', 'n3', '--force'], "unknown option '--force'"],
    ['unknown subcommand', ['cluster', 'grow'], "unknown command 'grow'"],
    ['bare cluster', ['cluster'], 'Usage: ringctl cluster'],
    ['claimant without id', ['cluster', 'claimant'], 'missing required argument'],
    ['claimant with a bad id', ['cluster', 'claimant', 'n 2', '--force'], 'must be 1-64 letters'],
    ['claimant with an empty id', ['cluster', 'claimant', ''], 'the node id must not be empty'],
    ['cancel with an argument', ['cluster', 'cancel', 'now'], 'too many arguments'],
    [
      'limits zero concurrency',
      ['cluster', 'limits', '--concurrency', '0'],
      '--concurrency must be',
    ],
    [
      'limits negative rate',
      ['cluster', 'limits', '--bytes-per-second', '-1'],
      '--bytes-per-second must be',
    ],
    [
      'limits fractional rate',
      ['cluster', 'limits', '--objects-per-second', '1.5'],
      '--objects-per-second must be',
    ],
    [
      'transfers --interval-ms without --watch',
      ['cluster', 'transfers', '--interval-ms', '10'],
      'go with --watch',
    ],
    [
      'transfers zero interval',
      ['cluster', 'transfers', '--watch', '--interval-ms', '0'],
      '--interval-ms must be',
    ],
    [
      'transfers timeout too long',
      ['cluster', 'transfers', '--watch', '--timeout-ms', '999999999999'],
      '--timeout-ms must be',
    ],
  ];
  for (const [name, argv, message] of cases) {
    it(
      name,
      async () => {
        const result = await cli(argv);
        expect(result.code).toBe(2);
        expect(result.stdout).toBe('');
        expect(result.stderr).toContain(message);
        expect(other.requests).toEqual([]);
        expect(claimant.requests).toEqual([]);
      },
      testTimeoutMs,
    );
  }
});
