import { afterEach, describe, expect, it, vi } from 'vitest';
import {
  NodeHealth,
  healthInitial,
  isServing,
  stepHealth,
  type HealthEvent,
  type HealthState,
} from './health.js';
import { createLogger } from './logger.js';

const log = createLogger({ level: 'silent', nodeId: 'test', pretty: false });

function run(events: readonly HealthEvent[]): boolean[] {
  let state: HealthState = healthInitial;
  return events.map((event) => {
    state = stepHealth(state, event);
    return isServing(state);
  });
}

describe('stepHealth', () => {
  it('serves once started, until the disk fills, and again once the disk probe passes', () => {
    expect(isServing(healthInitial)).toBe(false);
    expect(
      run(['disk-writable', 'started', 'disk-full', 'disk-full', 'disk-writable', 'disk-writable']),
    ).toEqual([false, true, false, false, true, true]);
  });

  it('a full disk found while starting keeps the node NOT_SERVING once started', () => {
    expect(run(['disk-full', 'started', 'disk-writable'])).toEqual([false, false, true]);
  });

  it('never serves again once stopping or once storage is closed', () => {
    expect(run(['started', 'stopping', 'disk-writable'])).toEqual([true, false, false]);
    expect(run(['started', 'storage-closed', 'disk-writable', 'started'])).toEqual([
      true,
      false,
      false,
      false,
    ]);
  });
});

describe('NodeHealth', () => {
  afterEach(() => vi.useRealTimers());

  it('publishes changes only, and probes the disk while full until the probe passes', () => {
    vi.useFakeTimers();
    const published: boolean[] = [];
    const health = new NodeHealth(log, 1_000);
    let full = true;
    let probes = 0;
    health.probeWith(() => {
      probes++;
      // The engine reports the probe write's refusal to its listeners, during the probe.
      if (full) {
        expect(health.probing).toBe(true);
        health.on('disk-full');
        throw new Error('disk full');
      }
    });
    health.attach((serving) => published.push(serving));
    health.on('started');
    expect(published).toEqual([false, true]);
    health.on('disk-full');
    expect(published).toEqual([false, true, false]);
    vi.advanceTimersByTime(3_000);
    expect(probes).toBe(3);
    expect(published).toEqual([false, true, false]);
    full = false;
    vi.advanceTimersByTime(1_000);
    expect(probes).toBe(4);
    expect(published).toEqual([false, true, false, true]);
    expect(health.probing).toBe(false);
    // Serving again: no more probes.
    vi.advanceTimersByTime(5_000);
    expect(probes).toBe(4);
  });

  it('stops probing when the node stops', () => {
    vi.useFakeTimers();
    const health = new NodeHealth(log, 1_000);
    let probes = 0;
    health.probeWith(() => {
      probes++;
      throw new Error('disk full');
    });
    health.on('started');
    health.on('disk-full');
    vi.advanceTimersByTime(1_000);
    health.on('stopping');
    vi.advanceTimersByTime(5_000);
    expect(probes).toBe(1);
    expect(health.serving).toBe(false);
    health.close();
  });
});
