import { describe, expect, it } from 'vitest';
import { AssertionError, HedgeDelay, hedgeDefaults } from './index.js';

const {
  defaultMs: defaultHedgeMs,
  ceilingMs: hedgeCeilingMs,
  floorMs: hedgeFloorMs,
  recomputeEvery,
  samplesMin,
  windowSize,
} = hedgeDefaults;

describe('HedgeDelay', () => {
  it('waits the default until enough reads were seen', () => {
    const l = new HedgeDelay();
    for (let i = 0; i < samplesMin - 1; i++) l.record(100);
    expect(l.delayMs()).toBe(defaultHedgeMs);
  });

  it('hedges after the p95 of recent reads, rounded up', () => {
    const l = new HedgeDelay();
    // One slow read in ten: the p95 is in the slow tail. One in a hundred: it is not.
    for (let i = 0; i < 640; i++) l.record(i % 10 === 0 ? 40 : 3.2);
    expect(l.delayMs()).toBe(40);
    for (let i = 0; i < 640; i++) l.record(i % 100 === 0 ? 40 : 3.2);
    expect(l.delayMs()).toBe(4);
  });

  it('forgets reads older than its window', () => {
    const l = new HedgeDelay();
    for (let i = 0; i < windowSize; i++) l.record(300);
    expect(l.delayMs()).toBe(300);
    for (let i = 0; i < windowSize; i++) l.record(7);
    expect(l.delayMs()).toBe(7);
  });

  it('stays between its floor and ceiling, and ignores nonsense', () => {
    const l = new HedgeDelay();
    for (let i = 0; i < recomputeEvery; i++) l.record(0.01);
    expect(l.delayMs()).toBe(hedgeFloorMs);
    for (let i = 0; i < windowSize; i++) l.record(60_000);
    expect(l.delayMs()).toBe(hedgeCeilingMs);
    for (let i = 0; i < windowSize; i++) l.record(Number.NaN);
    l.record(-1);
    expect(l.delayMs()).toBe(hedgeCeilingMs);
  });

  it('takes other bounds, and refuses impossible ones', () => {
    const l = new HedgeDelay({ samplesMin: 1, recomputeEvery: 1, floorMs: 0, ceilingMs: 10 });
    l.record(0.4);
    expect(l.delayMs()).toBe(1);
    l.record(50);
    expect(l.delayMs()).toBe(10);
    expect(() => new HedgeDelay({ percentile: 1 })).toThrow(AssertionError);
    expect(() => new HedgeDelay({ floorMs: 5, ceilingMs: 1 })).toThrow(AssertionError);
  });
});
