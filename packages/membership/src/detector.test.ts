import { describe, expect, it } from 'vitest';
import type { Detector, DetectorOptions } from './detector.js';
import { heartbeat, isAvailable, newDetector, phi } from './detector.js';
import { detectorStats } from './detector.js';
import { seededRng } from './test-support/rng.js';

const threshold = 8;
// Detection time is searched in 10 ms steps up to this much silence.
const silenceSearchMaxMs = 120_000;
const stepMs = 10;

/** 1 s heartbeats with ±200 ms jitter (seeded), as gossip delivers them; returns the detector. */
function jitteredHeartbeats(options: DetectorOptions, count: number, seed: number): Detector {
  const rng = seededRng(seed);
  let detector = newDetector(options);
  let nowMs = 0;
  for (let i = 0; i < count; i++) {
    detector = heartbeat(detector, nowMs);
    nowMs += 1000 + Math.round((rng() - 0.5) * 400);
  }
  return detector;
}

/** Milliseconds of silence after the last heartbeat until phi reaches the threshold. */
function detectionTimeMs(detector: Detector): number {
  const lastMs = detectorStats(detector).lastHeartbeatMs!;
  for (let silenceMs = 0; silenceMs <= silenceSearchMaxMs; silenceMs += stepMs) {
    if (!isAvailable(detector, lastMs + silenceMs, threshold)) return silenceMs;
  }
  throw new Error('phi never reached the threshold');
}

function expectPhiRisesWithSilence(detector: Detector, silenceMaxMs: number): void {
  const lastMs = detectorStats(detector).lastHeartbeatMs!;
  let previous = -1;
  let rises = 0;
  for (let silenceMs = 0; silenceMs <= silenceMaxMs; silenceMs += 50) {
    const value = phi(detector, lastMs + silenceMs);
    expect(value).toBeGreaterThanOrEqual(previous);
    if (value > previous) rises++;
    previous = value;
  }
  expect(rises).toBeGreaterThan(silenceMaxMs / 50 / 2);
}

describe('phi accrual detector, detection time with 1 s heartbeats and threshold 8', () => {
  it('exponential (Cassandra): phi crosses 8 about 18 s after the last heartbeat', () => {
    const detector = jitteredHeartbeats({}, 300, 7);
    const detectionMs = detectionTimeMs(detector);
    const { meanMs, samples } = detectorStats(detector);
    console.log(
      `[membership] exponential phi: mean interval ${meanMs.toFixed(1)} ms over ${samples} samples; ` +
        `phi crosses ${threshold} after ${(detectionMs / 1000).toFixed(2)} s of silence`,
    );
    // 8 / log10(e) × mean = 18.42 s for a 1,000 ms mean.
    expect(detectionMs).toBeGreaterThanOrEqual(5_000);
    expect(detectionMs).toBeLessThanOrEqual(30_000);
    expect(Math.abs(detectionMs - (threshold / Math.LOG10E) * meanMs)).toBeLessThanOrEqual(stepMs);
    expectPhiRisesWithSilence(detector, 40_000);
  });

  it('normal (Akka): sooner, and later again with an acceptable pause', () => {
    const strict = jitteredHeartbeats({ distribution: 'normal' }, 300, 7);
    const tolerant = jitteredHeartbeats(
      { distribution: 'normal', acceptableHeartbeatPauseMs: 3000 },
      300,
      7,
    );
    const strictMs = detectionTimeMs(strict);
    const tolerantMs = detectionTimeMs(tolerant);
    console.log(
      `[membership] normal phi (minStdDev 500 ms): crosses ${threshold} after ${(strictMs / 1000).toFixed(2)} s; ` +
        `with a 3 s acceptable pause after ${(tolerantMs / 1000).toFixed(2)} s`,
    );
    // mean + about 5.6 standard deviations (floored at 500 ms): 3.8 s.
    expect(strictMs).toBeGreaterThanOrEqual(3_000);
    expect(strictMs).toBeLessThanOrEqual(5_000);
    expect(tolerantMs - strictMs).toBe(3000);
    expectPhiRisesWithSilence(strict, 10_000);
  });

  it('adapts to the measured interval: 2 s heartbeats take twice as long to suspect', () => {
    let detector = newDetector({ intervalMaxMs: 5000 });
    for (let i = 0; i < 1100; i++) detector = heartbeat(detector, i * 2000);
    expect(detectorStats(detector).meanMs).toBe(2000);
    expect(detectionTimeMs(detector)).toBe(36_850);
  });
});

describe('phi accrual detector, window and inputs', () => {
  it('does not suspect a member before its first heartbeat, then assumes the first estimate', () => {
    const fresh = newDetector();
    expect(phi(fresh, 1e9)).toBe(0);
    expect(isAvailable(fresh, 1e9, threshold)).toBe(true);
    const once = heartbeat(fresh, 5000);
    expect(detectorStats(once)).toEqual({
      samples: 2,
      meanMs: 1000,
      stdDevMs: 250,
      lastHeartbeatMs: 5000,
    });
    expect(phi(once, 6000)).toBeCloseTo(Math.LOG10E, 10);
  });

  it('is immutable: heartbeat returns a new detector and leaves the old one as it was', () => {
    const before = jitteredHeartbeats({}, 10, 3);
    const statsBefore = detectorStats(before);
    const nowMs = statsBefore.lastHeartbeatMs! + 5000;
    const phiBefore = phi(before, nowMs);
    const after = heartbeat(before, statsBefore.lastHeartbeatMs! + 1500);
    expect(after).not.toBe(before);
    expect(detectorStats(before)).toEqual(statsBefore);
    expect(phi(before, nowMs)).toBe(phiBefore);
    expect(phi(after, nowMs)).toBeLessThan(phiBefore);
  });

  it('keeps at most windowSize intervals, forgetting the oldest', () => {
    let detector = newDetector({ windowSize: 100, intervalMaxMs: 10_000 });
    let nowMs = 0;
    for (let i = 0; i < 5000; i++) detector = heartbeat(detector, (nowMs += 1000));
    expect(detectorStats(detector)).toMatchObject({ samples: 100, meanMs: 1000, stdDevMs: 0 });
    for (let i = 0; i < 99; i++) detector = heartbeat(detector, (nowMs += 3000));
    expect(detectorStats(detector).meanMs).toBe(2980);
    detector = heartbeat(detector, (nowMs += 3000));
    expect(detectorStats(detector)).toMatchObject({ samples: 100, meanMs: 3000 });
  });

  it('does not sample a gap longer than intervalMaxMs (the member was down or restarting)', () => {
    let detector = newDetector();
    for (let i = 0; i < 50; i++) detector = heartbeat(detector, i * 1000);
    const { samples, meanMs } = detectorStats(detector);
    detector = heartbeat(detector, 49_000 + 60_000);
    expect(detectorStats(detector)).toMatchObject({ samples, meanMs, lastHeartbeatMs: 109_000 });
    expect(phi(detector, 109_000)).toBe(0);
  });

  it('does not divide by zero when heartbeats share a millisecond', () => {
    let detector = newDetector({ windowSize: 2 });
    for (let i = 0; i < 5; i++) detector = heartbeat(detector, 100);
    expect(detectorStats(detector).meanMs).toBe(0);
    expect(phi(detector, 100)).toBe(0);
    expect(phi(detector, 101)).toBeCloseTo(Math.LOG10E, 10);
  });

  it('rejects time going backwards and nonsensical options', () => {
    const detector = heartbeat(newDetector(), 1000);
    expect(() => heartbeat(detector, 999)).toThrow(/monotonic/);
    expect(() => phi(detector, Number.NaN)).toThrow(/nowMs/);
    expect(() => newDetector({ windowSize: 1 })).toThrow(/windowSize 1/);
    expect(() => newDetector({ windowSize: 10_001 })).toThrow(/windowSize/);
    expect(() => newDetector({ minStdDevMs: 0 })).toThrow(/minStdDevMs/);
    expect(() => newDetector({ acceptableHeartbeatPauseMs: -1 })).toThrow(
      /acceptableHeartbeatPauseMs/,
    );
    expect(() => isAvailable(detector, 1000, 0)).toThrow(/threshold/);
  });
});
