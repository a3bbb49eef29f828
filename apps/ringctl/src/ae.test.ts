import * as grpc from '@grpc/grpc-js';
import type { PartitionAntiEntropy, TriggerAntiEntropyRequest } from '@ringstore/proto';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  formatDuration,
  formatLastExchange,
  fullRoundMs,
  jsonInteger,
} from './format-anti-entropy.js';
import { startFakeNode, type FakeNode } from './test-support/fake-node.js';
import { runCli } from './test-support/run-cli.js';

let node: FakeNode;

beforeEach(async () => {
  node = await startFakeNode();
});
afterEach(async () => {
  await node.stop();
});

const nowMs = 1_700_000_000_000;
const cli = (argv: readonly string[]) => runCli(['--node', node.address, ...argv], { nowMs });
const lastRequest = () => node.requests.at(-1)!;

function partition(
  fields: Partial<PartitionAntiEntropy> & { partition: number },
): PartitionAntiEntropy {
  return {
    lastExchangeMs: 0n,
    lastPeer: '',
    exchanges: 0n,
    differences: 0n,
    repairs: 0n,
    tombstonesReaped: 0n,
    root: '',
    keys: 0n,
    ...fields,
  };
}

describe('ae status', () => {
  beforeEach(() => {
    node.antiEntropy = [
      partition({
        partition: 17,
        lastExchangeMs: BigInt(nowMs - 3 * 60_000 - 5_000),
        lastPeer: 'n3',
        exchanges: 4n,
        differences: 9n,
        repairs: 2n,
        tombstonesReaped: 1n,
        root: '00112233445566778899aabbccddeeff',
        keys: 1200n,
      }),
      partition({
        partition: 3,
        lastExchangeMs: BigInt(nowMs - 12_400),
        lastPeer: 'n2',
        exchanges: 10n,
        differences: 5n,
        repairs: 5n,
        root: 'deadbeefcafe0123456789',
        keys: 40n,
      }),
      partition({ partition: 5 }),
    ];
  });

  const summary = [
    'partitions: 3, exchanged: 2, never exchanged: 1',
    'differences found: 14, repairs: 7',
    'a full round (each partition exchanged once, one every interval) takes about 30s: ' +
      '3 partitions at --ae-interval-ms 10000',
  ];

  it('prints the summary first, with how long a full round takes, and no table', async () => {
    for (const argv of [['ae'], ['ae', 'status']]) {
      const result = await cli(argv);
      expect(result).toEqual({
        code: 0,
        stdout: [...summary, 'per partition: ringctl ae --all', ''].join('\n'),
        stderr: '',
      });
      expect(lastRequest().method).toBe('getAntiEntropy');
    }
  });

  it('--all adds a header and one line per partition (ascending), ages and short roots', async () => {
    for (const argv of [
      ['ae', '--all'],
      ['ae', 'status', '--all'],
      ['ae', '--all', 'status'],
    ]) {
      const result = await cli(argv);
      expect(result).toEqual({
        code: 0,
        stdout: [
          ...summary,
          'PARTITION  KEYS  LAST EXCHANGE  PEER  EXCHANGES  DIFFERENCES  REPAIRS  REAPED  ROOT',
          '3          40    12s ago        n2    10         5            5        0       deadbeefcafe',
          '5          0     never          -     0          0            0        0       -',
          '17         1200  3m ago         n3    4          9            2        1       001122334455',
          '',
        ].join('\n'),
        stderr: '',
      });
    }
  });

  it('gives a full round at the default setting: 256 partitions take about 42m 40s', async () => {
    node.antiEntropy = Array.from({ length: 256 }, (_, p) => partition({ partition: p }));
    const lines = (await cli(['ae'])).stdout.split('\n');
    expect(lines[0]).toBe('partitions: 256, exchanged: 0, never exchanged: 256');
    expect(lines[2]).toContain('takes about 42m 40s: 256 partitions');
    expect(lines).toHaveLength(5);
  });

  it('prints a zero summary when the node replicates no partition', async () => {
    node.antiEntropy = [];
    const result = await cli(['ae', '--all']);
    expect(result.stdout.split('\n').slice(0, 2)).toEqual([
      'partitions: 0, exchanged: 0, never exchanged: 0',
      'differences found: 0, repairs: 0',
    ]);
    expect(result.stdout).toContain(
      'PARTITION  KEYS  LAST EXCHANGE  PEER  EXCHANGES  DIFFERENCES  REPAIRS  REAPED  ROOT\n',
    );
  });

  it('--json: one document, counts as numbers, null for no exchange yet, full roots', async () => {
    const result = await cli(['ae', '--json']);
    expect(result.code).toBe(0);
    expect(result.stdout.trimEnd().split('\n')).toHaveLength(1);
    expect(JSON.parse(result.stdout)).toEqual({
      partitions: [
        {
          partition: 3,
          keys: 40,
          lastExchangeMs: nowMs - 12_400,
          lastPeer: 'n2',
          exchanges: 10,
          differences: 5,
          repairs: 5,
          tombstonesReaped: 0,
          root: 'deadbeefcafe0123456789',
        },
        {
          partition: 5,
          keys: 0,
          lastExchangeMs: null,
          lastPeer: '',
          exchanges: 0,
          differences: 0,
          repairs: 0,
          tombstonesReaped: 0,
          root: '',
        },
        {
          partition: 17,
          keys: 1200,
          lastExchangeMs: nowMs - 185_000,
          lastPeer: 'n3',
          exchanges: 4,
          differences: 9,
          repairs: 2,
          tombstonesReaped: 1,
          root: '00112233445566778899aabbccddeeff',
        },
      ],
      summary: {
        partitions: 3,
        exchanged: 2,
        neverExchanged: 1,
        differences: 14,
        repairs: 7,
        intervalMs: 10_000,
        fullRoundMs: 30_000,
      },
    });
  });

  it('--json writes counts above 2^53-1 as decimal strings', async () => {
    const big = 2n ** 64n - 1n;
    node.antiEntropy = [partition({ partition: 0, keys: big, repairs: big })];
    const document = JSON.parse((await cli(['--json', 'ae', 'status'])).stdout) as {
      partitions: { keys: unknown; repairs: unknown; exchanges: unknown }[];
      summary: { repairs: unknown };
    };
    expect(document.partitions[0]).toMatchObject({
      keys: big.toString(),
      repairs: big.toString(),
      exchanges: 0,
    });
    expect(document.summary.repairs).toBe(big.toString());
  });

  it('exits 1 with the gRPC status on an UNIMPLEMENTED (or another server error)', async () => {
    node.failNext = { code: grpc.status.UNIMPLEMENTED, details: 'anti-entropy is disabled' };
    expect(await cli(['ae'])).toEqual({
      code: 1,
      stdout: '',
      stderr: 'UNIMPLEMENTED: anti-entropy is disabled\n',
    });
  });

  it('uses the ordinary 5 s deadline', async () => {
    expect((await cli(['ae'])).code).toBe(0);
    expect(lastRequest().deadlineRemainingMs).toBeGreaterThan(4_000);
    expect(lastRequest().deadlineRemainingMs).toBeLessThanOrEqual(5_000);
  });
});

describe('ae trigger', () => {
  beforeEach(() => {
    node.triggerResponse = {
      exchanges: 6,
      differences: 12n,
      repairs: 11n,
      bytesTransferred: 48_213n,
      tombstonesReaped: 3n,
    };
  });

  it('asks for every partition without --partition, and prints the totals', async () => {
    const result = await cli(['ae', 'trigger']);
    expect(result).toEqual({
      code: 0,
      stdout:
        'exchanges: 6, differences: 12, repairs: 11, bytes transferred: 48213, tombstones reaped: 3\n',
      stderr: '',
    });
    expect(lastRequest().method).toBe('triggerAntiEntropy');
    expect(lastRequest().request).toEqual({ partitions: [], rebuild: false });
  });

  it('passes repeated --partition (in order, each once) and --rebuild through', async () => {
    const result = await cli([
      'ae',
      'trigger',
      '--partition',
      '7',
      '--rebuild',
      '--partition',
      '0',
      '--partition',
      '65535',
      '--partition',
      '7',
    ]);
    expect(result.code).toBe(0);
    const request = lastRequest().request as TriggerAntiEntropyRequest;
    expect(request).toEqual({ partitions: [7, 0, 65_535], rebuild: true });
  });

  it('--json: one document with the same number rule as status', async () => {
    node.triggerResponse = { ...node.triggerResponse, bytesTransferred: 2n ** 60n };
    const result = await cli(['ae', 'trigger', '--partition', '1', '--json']);
    expect(result.code).toBe(0);
    expect(JSON.parse(result.stdout)).toEqual({
      exchanges: 6,
      differences: 12,
      repairs: 11,
      bytesTransferred: (2n ** 60n).toString(),
      tombstonesReaped: 3,
    });
  });

  it.each([
    ['negative', '-1'],
    ['too large', '65536'],
    ['fractional', '1.5'],
    ['not a number', 'two'],
    ['empty', ''],
  ])('exits 2 without calling the node for a %s --partition', async (_name, value) => {
    const result = await cli(['ae', 'trigger', '--partition', '3', '--partition', value]);
    expect(result.code).toBe(2);
    expect(result.stdout).toBe('');
    expect(result.stderr).toContain(
      `--partition must be an integer from 0 to 65535, got '${value}'`,
    );
    expect(node.requests).toEqual([]);
  });

  it('exits 4 (rejected) with the gRPC status on a FAILED_PRECONDITION', async () => {
    node.failNext = {
      code: grpc.status.FAILED_PRECONDITION,
      details: 'partition 9 is not replicated here',
    };
    expect(await cli(['ae', 'trigger', '--partition', '9'])).toEqual({
      code: 4,
      stdout: '',
      stderr: 'FAILED_PRECONDITION: partition 9 is not replicated here\n',
    });
  });

  it('has a 60 s deadline by default', async () => {
    expect((await cli(['ae', 'trigger'])).code).toBe(0);
    expect(lastRequest().deadlineRemainingMs).toBeGreaterThan(55_000);
    expect(lastRequest().deadlineRemainingMs).toBeLessThanOrEqual(60_000);
  });

  it('takes an explicit --deadline-ms instead, even one equal to the ordinary default', async () => {
    for (const [argv, deadlineMs] of [
      [['ae', 'trigger', '--deadline-ms', '2000'], 2_000],
      [['--deadline-ms', '5000', 'ae', 'trigger'], 5_000],
    ] as const) {
      expect((await cli(argv)).code).toBe(0);
      expect(lastRequest().deadlineRemainingMs).toBeGreaterThan(deadlineMs - 1_000);
      expect(lastRequest().deadlineRemainingMs).toBeLessThanOrEqual(deadlineMs);
    }
  });

  it('fails with DEADLINE_EXCEEDED when the exchanges outlast the deadline', async () => {
    node.hangNext = true;
    const result = await cli(['ae', 'trigger', '--deadline-ms', '100']);
    expect(result.code).toBe(3);
    expect(result.stderr).toMatch(/^DEADLINE_EXCEEDED: /);
  });
});

describe('ae usage', () => {
  it('rejects an unknown ae subcommand with exit 2', async () => {
    const result = await cli(['ae', 'frobnicate']);
    expect(result.code).toBe(2);
    expect(result.stderr).toContain("unknown command 'ae frobnicate' (ae takes status or trigger)");
    expect(node.requests).toEqual([]);
  });

  it('ae --help lists status and trigger and documents the JSON number rule', async () => {
    const result = await cli(['ae', '--help']);
    expect(result.code).toBe(0);
    expect(result.stdout).toContain('status');
    expect(result.stdout).toContain('trigger');
    expect(result.stdout).toContain('decimal strings when above 2^53-1');
    expect(result.stdout).toContain('--all');
  });

  it('ae trigger --help shows --partition, --rebuild and the 60 s default deadline', async () => {
    const result = await cli(['ae', 'trigger', '--help']);
    expect(result.code).toBe(0);
    for (const text of ['--partition <n>', '--rebuild', '60000 ms'])
      expect(result.stdout).toContain(text);
  });
});

describe('formatLastExchange', () => {
  it.each([
    [0n, 'never'],
    [BigInt(nowMs), '0s ago'],
    [BigInt(nowMs + 5_000), '0s ago'],
    [BigInt(nowMs - 59_999), '59s ago'],
    [BigInt(nowMs - 60_000), '1m ago'],
    [BigInt(nowMs - 3_599_999), '59m ago'],
    [BigInt(nowMs - 3_600_000), '1h ago'],
    [BigInt(nowMs - 47 * 3_600_000), '47h ago'],
    [BigInt(nowMs - 48 * 3_600_000), '2d ago'],
  ])('%s -> %s', (lastExchangeMs, text) => {
    expect(formatLastExchange(lastExchangeMs, nowMs)).toBe(text);
  });
});

describe('formatDuration', () => {
  it.each([
    [0, '0s'],
    [59_400, '59s'],
    [59_600, '1m'],
    [80_000, '1m 20s'],
    [2_560_000, '42m 40s'],
    [3_599_600, '1h'],
    [3_600_000 + 5 * 60_000, '1h 5m'],
    [86_400_000, '1d'],
    [3 * 86_400_000 + 4 * 3_600_000 + 59_000, '3d 4h'],
  ])('%s ms -> %s', (ms, text) => {
    expect(formatDuration(ms)).toBe(text);
  });

  it('a full round is partitions x interval, and none when the interval is 0', () => {
    expect(fullRoundMs(256, 10_000)).toBe(2_560_000);
    expect(fullRoundMs(256, 0)).toBeUndefined();
  });
});

describe('jsonInteger', () => {
  it('is a number up to 2^53-1 and a string above', () => {
    expect(jsonInteger(2n ** 53n - 1n)).toBe(Number.MAX_SAFE_INTEGER);
    expect(jsonInteger(2n ** 53n)).toBe('9007199254740992');
  });
});
