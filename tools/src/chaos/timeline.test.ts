import { describe, expect, it } from 'vitest';
import type { OpEvent } from './history.js';
import { bucketize, faultThroughput, renderTimelineSvg } from './timeline.js';

function event(
  type: OpEvent['type'],
  timeMs: number,
  workload: OpEvent['workload'] = 'unique-keys',
): OpEvent {
  return { op: 0, type, workload, process: 0, f: 'write', key: 'k', element: 'v', timeMs };
}

describe('timeline', () => {
  it('counts completions per bucket and workload, ignoring invokes', () => {
    const events = [
      event('invoke', 100),
      event('ok', 200),
      event('ok', 900, 'set'),
      event('unknown', 1_500),
      event('fail', 2_999),
      event('ok', 5_000),
    ];
    const buckets = bucketize(events, 3_000, 1_000);
    expect(
      buckets.map((b) => [b.startMs, b.ok['unique-keys'], b.ok.set, b.fail, b.unknown]),
    ).toEqual([
      [0, 1, 1, 0, 0],
      [1_000, 0, 0, 0, 1],
      // Past the end lands in the last bucket.
      [2_000, 1, 0, 1, 0],
    ]);
  });

  it('widens buckets beyond bucketsMax', () => {
    expect(bucketize([], 86_400_000, 1_000).length).toBeLessThanOrEqual(2_000);
  });

  it('draws one shaded rectangle per fault window, the rate lines and escaped labels', () => {
    const buckets = bucketize(
      [event('ok', 100), event('ok', 1_100, 'set'), event('unknown', 1_200)],
      2_000,
      1_000,
    );
    const svg = renderTimelineSvg(
      buckets,
      [
        { startMs: 500, endMs: 1_500, label: 'partition [n1] | [n2 n3] <x>', skipped: false },
        { startMs: 1_600, endMs: 1_900, label: 'kill -9 n2', skipped: true },
      ],
      'seed 1 & co',
    );
    expect(svg.startsWith('<svg xmlns="http://www.w3.org/2000/svg"')).toBe(true);
    expect(svg.trim().endsWith('</svg>')).toBe(true);
    expect(svg.match(/fill-opacity="0.18"/g)).toHaveLength(2);
    expect(svg.match(/<polyline/g)).toHaveLength(3);
    expect(svg).toContain('<title>partition [n1] | [n2 n3] &lt;x&gt;</title>');
    expect(svg).toContain('seed 1 &amp; co');
    expect(svg).toContain('<title>kill -9 n2 (skipped)</title>');
    expect(svg).toContain('>kill (skipped)</text>');
    expect(svg).not.toMatch(/NaN|undefined/);
  });
});

describe('faultThroughput', () => {
  const ok = (timeMs: number) =>
    ({
      op: 0,
      type: 'ok',
      workload: 'set',
      process: 0,
      f: 'write',
      key: 'k',
      element: 'e',
      timeMs,
    }) as unknown as OpEvent;
  it('counts acknowledged operations per second inside each applied window against the rest', () => {
    // 10 s: 100 acks a second outside [4 s, 6 s), 30 a second inside it.
    const events: OpEvent[] = [];
    for (let t = 0; t < 10_000; t += 10) if (t < 4_000 || t >= 6_000) events.push(ok(t));
    for (let i = 0; i < 60; i++) events.push(ok(4_000 + (i * 2_000) / 60));
    const windows = [
      { index: 1, startMs: 4_000, endMs: 6_000, label: 'pause n3', skipped: false },
      { index: 2, startMs: 7_000, endMs: 8_000, label: 'partition', skipped: true },
    ];
    expect(faultThroughput(events, windows, 10_000)).toEqual({
      healthyOpsPerSecond: 100,
      windows: [{ index: 1, label: 'pause n3', opsPerSecond: 30, ofHealthy: 0.3 }],
    });
  });
});
