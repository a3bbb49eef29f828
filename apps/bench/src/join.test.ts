import { describe, expect, it } from 'vitest';
import type { Driver } from './harness.js';
import { ErrorSampler, errorSamplesMax, parseJoinFlags, progressTenth } from './join.js';

function captureIo(): { io: Parameters<typeof parseJoinFlags>[1]; err: () => string } {
  let err = '';
  return {
    io: {
      stdout: { write: () => true },
      stderr: { write: (s: string) => (err += s), isTTY: false },
    },
    err: () => err,
  };
}

describe('parseJoinFlags', () => {
  it("defaults to issue 12's figure: a million 100-byte records, 500 ops/s, 64 partitions", () => {
    expect(parseJoinFlags([], captureIo().io)).toEqual({
      records: 1_000_000,
      valueBytes: 100,
      rate: 500,
      partitions: 64,
      transferRate: 0,
      loadConcurrency: 64,
      baselineSeconds: 20,
      settleTimeoutSeconds: 3_600,
      deadlineMs: 5_000,
      distribution: 'zipfian',
      out: 'bench-results',
    });
  });

  it('takes every flag', () => {
    const f = parseJoinFlags(
      [
        '--records',
        '20000',
        '--value-bytes',
        '50',
        '--rate',
        '200',
        '--partitions',
        '128',
        '--transfer-rate',
        '2000',
        '--load-concurrency',
        '16',
        '--baseline-seconds',
        '5',
        '--seed',
        '3',
        '--distribution',
        'uniform',
        '--json',
      ],
      captureIo().io,
    );
    expect(f).toMatchObject({
      records: 20_000,
      valueBytes: 50,
      rate: 200,
      partitions: 128,
      transferRate: 2_000,
      loadConcurrency: 16,
      baselineSeconds: 5,
      seed: 3,
      distribution: 'uniform',
      json: true,
    });
  });

  it.each([
    [['--partitions', '100'], '--partitions must be a power of two'],
    [['--partitions', '2'], '--partitions must be a whole number in 4..65536'],
    [['--transfer-rate', '-1'], '--transfer-rate must be a whole number in 0..10000000'],
    [['--rate', '0'], '--rate must be a whole number'],
    [['--records', 'many'], '--records must be a whole number'],
    [['--distribution', 'latest'], "'latest' is invalid"],
    [['--bogus'], "unknown option '--bogus'"],
  ])('refuses %j with exit code 2, saying why', (argv, message) => {
    const { io, err } = captureIo();
    expect(parseJoinFlags(argv, io)).toBe(2);
    expect(err()).toContain(message);
  });

  it('answers --help with exit code 0', () => {
    expect(parseJoinFlags(['--help'], captureIo().io)).toBe(0);
  });
});

describe('progressTenth', () => {
  it('counts whole tenths done, at most ten', () => {
    expect(progressTenth(0, 200)).toBe(0);
    expect(progressTenth(19, 200)).toBe(0);
    expect(progressTenth(20, 200)).toBe(1);
    expect(progressTenth(199, 200)).toBe(9);
    expect(progressTenth(200, 200)).toBe(10);
    expect(progressTenth(0, 0)).toBe(10);
  });
});

describe('ErrorSampler', () => {
  it('keeps the first failures of a window, passes every outcome through, and starts over', async () => {
    let n = 0;
    const failing: Driver = {
      read: () => Promise.reject(Object.assign(new Error(`down ${++n}`), { code: 14 })),
      update: () => Promise.resolve(),
      insert: () => Promise.resolve(),
      close: () => Promise.resolve(),
    };
    const sampler = new ErrorSampler();
    const driver = sampler.wrap(failing);
    sampler.start();
    await driver.update(Buffer.from('k'), Buffer.from('v'));
    for (let i = 0; i < errorSamplesMax + 2; i++)
      await expect(driver.read(Buffer.from('k'))).rejects.toThrow(`down ${i + 1}`);
    const taken = sampler.take();
    expect(taken).toHaveLength(errorSamplesMax);
    expect(taken[0]).toMatch(/^read at \d+(\.\d+)? s: UNAVAILABLE: down 1$/);
    sampler.start();
    expect(sampler.take()).toEqual([]);
  });
});
