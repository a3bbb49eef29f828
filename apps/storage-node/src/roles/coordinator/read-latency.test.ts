import { describe, expect, it } from 'vitest';
import {
  ReadLatency,
  defaultHedgeMs,
  hedgeCeilingMs,
  hedgeFloorMs,
  recomputeEvery,
  samplesMin,
  windowSize,
} from './read-latency.js';

describe('ReadLatency', () => {
  it('waits the default until enough reads were seen', () => {
    const l = new ReadLatency();
    for (let i = 0; i < samplesMin - 1; i++) l.record(100);
    expect(l.hedgeAfterMs()).toBe(defaultHedgeMs);
  });

  it('hedges after the p95 of recent reads, rounded up', () => {
    const l = new ReadLatency();
    // One slow read in ten: the p95 is in the slow tail. One in a hundred: it is not.
    for (let i = 0; i < 640; i++) l.record(i % 10 === 0 ? 40 : 3.2);
    expect(l.hedgeAfterMs()).toBe(40);
    for (let i = 0; i < 640; i++) l.record(i % 100 === 0 ? 40 : 3.2);
    expect(l.hedgeAfterMs()).toBe(4);
  });

  it('forgets reads older than its window', () => {
    const l = new ReadLatency();
    for (let i = 0; i < windowSize; i++) l.record(300);
    expect(l.hedgeAfterMs()).toBe(300);
    for (let i = 0; i < windowSize; i++) l.record(7);
    expect(l.hedgeAfterMs()).toBe(7);
  });

  it('stays between its floor and ceiling, and ignores nonsense', () => {
    const l = new ReadLatency();
    for (let i = 0; i < recomputeEvery; i++) l.record(0.01);
    expect(l.hedgeAfterMs()).toBe(hedgeFloorMs);
    for (let i = 0; i < windowSize; i++) l.record(60_000);
    expect(l.hedgeAfterMs()).toBe(hedgeCeilingMs);
    for (let i = 0; i < windowSize; i++) l.record(Number.NaN);
    l.record(-1);
    expect(l.hedgeAfterMs()).toBe(hedgeCeilingMs);
  });
});
