import { describe, expect, it } from 'vitest';
import {
  ChaosUsageError,
  chaosCommand,
  parseChaosArgs,
  parseDurationMs,
  replayCommand,
} from './options.js';

/** A command whose help and errors go nowhere (commander writes them itself). */
function quiet(): ReturnType<typeof chaosCommand> {
  return chaosCommand().configureOutput({ writeOut: () => undefined, writeErr: () => undefined });
}

describe('parseChaosArgs', () => {
  it('defaults to a combined random schedule on 5 nodes, both workloads, with the given random seed', () => {
    const options = parseChaosArgs([], 1234, quiet());
    expect(options).toMatchObject({
      seed: 1234,
      order: 'random',
      nodes: 5,
      replicas: 3,
      w: 2,
      workloads: ['unique-keys', 'set'],
      net: 'auto',
      selfTest: null,
      failOnDivergence: false,
    });
    expect(options.nemeses).toEqual(['partition', 'kill', 'pause', 'link']);
  });

  it('--smoke is the CI preset, and flags given explicitly win over it', () => {
    const smoke = parseChaosArgs(['--smoke'], 1, quiet());
    expect(smoke).toMatchObject({
      nemeses: ['membership', 'partition', 'kill', 'pause'],
      membershipChanges: ['join', 'leave'],
      workloads: ['unique-keys', 'set'],
      order: 'cycle',
      durationMs: 90_000,
      faultMs: 10_000,
      quietMs: 8_000,
      endOnFault: true,
      failOnDivergence: true,
      tls: true,
      smoke: true,
    });
    expect(
      parseChaosArgs(['--smoke', '--duration', '30s', '--nemesis', 'kill'], 1, quiet()),
    ).toMatchObject({ durationMs: 30_000, nemeses: ['kill'] });
  });

  it('--tls secures the cluster, off by default; the smoke turns it on and --no-tls off again', () => {
    expect(parseChaosArgs([], 1, quiet()).tls).toBe(false);
    expect(parseChaosArgs(['--tls'], 1, quiet()).tls).toBe(true);
    expect(parseChaosArgs(['--no-tls'], 1, quiet()).tls).toBe(false);
    expect(parseChaosArgs(['--self-test', 'catch-up'], 1, quiet()).tls).toBe(false);
    expect(parseChaosArgs(['--smoke', '--no-tls'], 1, quiet())).toMatchObject({
      tls: false,
      smoke: true,
      durationMs: 90_000,
    });
    expect(replayCommand(parseChaosArgs(['--tls', '--nemesis', 'kill'], 1, quiet()))).toBe(
      'npm run chaos -- --tls --nemesis kill --seed 1',
    );
    let help = '';
    const command = chaosCommand().configureOutput({
      writeOut: (text) => (help += text),
      writeErr: () => undefined,
    });
    expect(() => parseChaosArgs(['--help'], 1, command)).toThrow();
    expect(help).toMatch(/--smoke\s+CI preset: .*--tls/s);
  });

  it('takes a seed, a nemesis list (cycled), and the self-test (set workload only)', () => {
    expect(parseChaosArgs(['--seed', '42', '--nemesis', 'kill,pause'], 1, quiet())).toMatchObject({
      seed: 42,
      nemeses: ['kill', 'pause'],
      order: 'cycle',
    });
    expect(parseChaosArgs(['--self-test', 'lww'], 1, quiet())).toMatchObject({
      selfTest: 'lww',
      workloads: ['set'],
    });
  });

  it('takes the membership nemesis and its options; combined stays the faults that heal', () => {
    const options = parseChaosArgs(
      [
        '--nemesis',
        'membership,kill',
        '--membership-changes',
        'join,dead-replace',
        '--join-size',
        '2',
        '--transfer-rate',
        '500',
        '--workload',
        'delete,unique-keys',
      ],
      1,
      quiet(),
    );
    expect(options).toMatchObject({
      nemeses: ['membership', 'kill'],
      membershipChanges: ['join', 'dead-replace'],
      joinSize: 2,
      membershipPreludeMs: 0,
      transferRate: 500,
      workloads: ['delete', 'unique-keys'],
      tombstoneGraceMs: 12_000,
    });
    expect(parseChaosArgs([], 1, quiet()).membershipChanges).toEqual([
      'join',
      'leave',
      'replace',
      'dead-replace',
    ]);
    expect(() => parseChaosArgs(['--membership-changes', 'shrink'], 1, quiet())).toThrow(
      /--membership-changes: unknown 'shrink'/,
    );
    expect(() => parseChaosArgs(['--join-size', '5'], 1, quiet())).toThrow(
      /--join-size must be an integer from 1 to 4/,
    );
  });

  it('--self-test catch-up is its preset (3 nodes, joins of 3 after a prelude, unique keys), flags given win', () => {
    expect(parseChaosArgs(['--self-test', 'catch-up'], 1, quiet())).toMatchObject({
      selfTest: 'catch-up',
      nemeses: ['membership'],
      membershipChanges: ['join'],
      joinSize: 3,
      membershipPreludeMs: 3_000,
      nodes: 3,
      partitions: 16,
      workloads: ['unique-keys'],
      endOnFault: true,
      aeIntervalMs: 3_600_000,
    });
    expect(
      parseChaosArgs(['--self-test', 'catch-up', '--join-size', '2', '--nodes', '4'], 1, quiet()),
    ).toMatchObject({ joinSize: 2, nodes: 4 });
    expect(() => parseChaosArgs(['--self-test', 'quorum'], 1, quiet())).toThrow(
      /--self-test must be one of lww, catch-up/,
    );
  });

  it('refuses bad values with a usage error naming the flag', () => {
    expect(() => parseChaosArgs(['--nemesis', 'flood'], 1, quiet())).toThrow(
      /--nemesis: unknown 'flood'/,
    );
    expect(() => parseChaosArgs(['--nodes', '2'], 1, quiet())).toThrow(ChaosUsageError);
    expect(() => parseChaosArgs(['--w', '4'], 1, quiet())).toThrow(
      /--w must be an integer from 1 to 3/,
    );
    expect(() => parseChaosArgs(['--seed', '-3'], 1, quiet())).toThrow(/--seed/);
    expect(() => parseChaosArgs(['--net', 'wifi'], 1, quiet())).toThrow(/--net must be one of/);
  });

  it('reads durations in seconds, minutes or hours within 1 s..24 h', () => {
    expect(parseDurationMs('90s')).toBe(90_000);
    expect(parseDurationMs('10m')).toBe(600_000);
    expect(parseDurationMs('75')).toBe(75_000);
    expect(() => parseDurationMs('0s')).toThrow(ChaosUsageError);
    expect(() => parseDurationMs('ten')).toThrow(ChaosUsageError);
  });

  it('prints a replay command with the seed pinned and the output directory left out', () => {
    const options = parseChaosArgs(
      ['--nemesis', 'combined', '--out', '/tmp/x', '--seed', '5', '--duration', '10m'],
      9,
      quiet(),
    );
    expect(replayCommand(options)).toBe(
      'npm run chaos -- --nemesis combined --duration 10m --seed 5',
    );
  });
});
