import { describe, expect, it } from 'vitest';
import { FuzzUsageError, parseFuzzArgs } from './options.js';

describe('parseFuzzArgs', () => {
  it('defaults to 60 s on 3 nodes, 8 in flight, the given seed, no output directory', () => {
    expect(parseFuzzArgs([], 77)).toEqual({
      seconds: 60,
      seed: 77,
      nodes: 3,
      out: undefined,
      concurrency: 8,
    });
  });

  it('takes every flag', () => {
    const argv = ['--seconds', '5', '--seed', '0', '--nodes', '4', '--out', '/tmp/x'];
    expect(parseFuzzArgs([...argv, '--concurrency', '2'], 77)).toEqual({
      seconds: 5,
      seed: 0,
      nodes: 4,
      out: '/tmp/x',
      concurrency: 2,
    });
  });

  it('refuses values out of range, non-integers and unknown flags as usage errors', () => {
    for (const argv of [
      ['--seconds', '0'],
      ['--seconds', '1.5'],
      ['--seed', '-1'],
      ['--seed', String(2 ** 32)],
      ['--nodes', '2'],
      ['--nodes', '10'],
      ['--concurrency', '0'],
      ['--frobnicate'],
      ['extra'],
    ])
      expect(() => parseFuzzArgs(argv, 1), argv.join(' ')).toThrow(FuzzUsageError);
  });
});
