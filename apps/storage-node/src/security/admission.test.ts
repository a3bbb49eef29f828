import { performance } from 'node:perf_hooks';
import { describe, expect, it } from 'vitest';
import {
  Admission,
  SaturationMonitor,
  admissionDefaults,
  deadlinePassed,
  eventLoopDelayHistogram,
  lagWindowMs,
  type AdmissionRefusal,
  type DelayHistogram,
  type Ticket,
} from './admission.js';
import { AssertionError } from './assert.js';

const testTimeoutMs = 5_000;

class FakeClock {
  nowMs = 0;
  readonly now = (): number => this.nowMs;
}

function admitted(result: Ticket | AdmissionRefusal): Ticket {
  if (result.refused) throw new Error(`refused: ${result.reason}`);
  return result;
}

function refusal(result: Ticket | AdmissionRefusal): AdmissionRefusal {
  if (!result.refused) throw new Error('admitted');
  return result;
}

describe('Admission', { timeout: testTimeoutMs }, () => {
  it('defaults to 256 requests and 64 MiB', () => {
    expect(new Admission({ now: () => 0 }).limits).toEqual({
      requestsMax: 256,
      bytesMax: 64 * 1024 * 1024,
    });
    expect(admissionDefaults).toEqual({ requestsMax: 256, bytesMax: 67_108_864 });
  });

  it('admits up to requestsMax, refuses the next, and admits again after a leave', () => {
    const admission = new Admission({ now: () => 0, requestsMax: 3 });
    const tickets = [1, 2, 3].map(() => admitted(admission.tryEnter(10)));
    expect(admission.inflight).toBe(3);
    expect(admission.inflightBytes).toBe(30);
    expect(refusal(admission.tryEnter(10)).reason).toBe('requests');
    expect(refusal(admission.tryEnter(0)).reason).toBe('requests');
    expect(admission.refusedTotal).toEqual({ requests: 2, bytes: 0 });
    expect(admission.inflight).toBe(3);
    tickets[0]!.leave();
    expect(admission.inflight).toBe(2);
    expect(admitted(admission.tryEnter(10)).bytes).toBe(10);
  });

  it('bounds the bytes in flight, admitting up to exactly bytesMax', () => {
    const admission = new Admission({ now: () => 0, bytesMax: 100 });
    const first = admitted(admission.tryEnter(60));
    expect(refusal(admission.tryEnter(41)).reason).toBe('bytes');
    const second = admitted(admission.tryEnter(40));
    expect(admission.inflightBytes).toBe(100);
    expect(refusal(admission.tryEnter(1)).reason).toBe('bytes');
    expect(admission.refusedTotal).toEqual({ requests: 0, bytes: 2 });
    first.leave();
    second.leave();
    expect(admission.inflightBytes).toBe(0);
  });

  it('admits a request larger than bytesMax alone, and only alone', () => {
    const admission = new Admission({ now: () => 0, bytesMax: 100 });
    const small = admitted(admission.tryEnter(1));
    expect(refusal(admission.tryEnter(150)).reason).toBe('bytes');
    small.leave();
    const large = admitted(admission.tryEnter(150));
    expect(admission.inflightBytes).toBe(150);
    expect(refusal(admission.tryEnter(1)).reason).toBe('bytes');
    large.leave();
  });

  it('counts a batch as its units, and admits one larger than the limit only alone', () => {
    const a = new Admission({ now: new FakeClock().now, requestsMax: 10 });
    const batch = admitted(a.tryEnter(0, 8));
    expect(a.inflight).toBe(8);
    expect(refusal(a.tryEnter(0, 3)).reason).toBe('requests');
    const one = admitted(a.tryEnter(0));
    expect(a.inflight).toBe(9);
    batch.leave();
    one.leave();
    expect(a.inflight).toBe(0);
    const huge = admitted(a.tryEnter(0, 25));
    expect(refusal(a.tryEnter(0)).reason).toBe('requests');
    huge.leave();
    expect(a.inflight).toBe(0);
  });

  it('counts a ticket once however often it leaves', () => {
    const admission = new Admission({ now: () => 0, requestsMax: 2 });
    const a = admitted(admission.tryEnter(5));
    const b = admitted(admission.tryEnter(7));
    a.leave();
    a.leave();
    a.leave();
    expect(admission.inflight).toBe(1);
    expect(admission.inflightBytes).toBe(7);
    b.leave();
    expect(admission.inflight).toBe(0);
    expect(admission.inflightBytes).toBe(0);
  });

  it('hints a retry of one average duration times the overload, clamped to 10..1000 ms', () => {
    const clock = new FakeClock();
    const admission = new Admission({ now: clock.now, requestsMax: 4 });
    const tickets = [1, 2, 3, 4].map(() => admitted(admission.tryEnter(0)));
    // No request finished yet: a 100 ms guess, times 5/4.
    expect(refusal(admission.tryEnter(0)).retryAfterMs).toBe(125);
    clock.nowMs = 40;
    tickets[0]!.leave(); // the first sample sets the average: 40 ms
    expect(admission.averageDurationMs).toBe(40);
    tickets[0] = admitted(admission.tryEnter(0));
    expect(refusal(admission.tryEnter(0)).retryAfterMs).toBe(50);
    clock.nowMs = 140;
    tickets[1]!.leave(); // 140 ms: the average moves a tenth of the way, to 50
    expect(admission.averageDurationMs).toBe(50);
    tickets[1] = admitted(admission.tryEnter(0));
    expect(refusal(admission.tryEnter(0)).retryAfterMs).toBe(63); // ceil(62.5)
  });

  it('scales the hint by the bytes overshoot', () => {
    const clock = new FakeClock();
    const admission = new Admission({ now: clock.now, bytesMax: 100 });
    const ticket = admitted(admission.tryEnter(10));
    clock.nowMs = 40;
    ticket.leave();
    admitted(admission.tryEnter(90));
    expect(refusal(admission.tryEnter(60))).toEqual({
      refused: true,
      reason: 'bytes',
      retryAfterMs: 60, // 40 ms times 150/100
    });
  });

  it('clamps the hint', () => {
    for (const [durationMs, hintMs] of [
      [1, 10],
      [5_000, 1000],
    ] as const) {
      const clock = new FakeClock();
      const admission = new Admission({ now: clock.now, requestsMax: 1 });
      const ticket = admitted(admission.tryEnter(0));
      clock.nowMs = durationMs;
      ticket.leave();
      admitted(admission.tryEnter(0));
      expect(refusal(admission.tryEnter(0)).retryAfterMs).toBe(hintMs);
    }
  });

  it('asserts on impossible sizes and limits', () => {
    const admission = new Admission({ now: () => 0 });
    expect(() => admission.tryEnter(-1)).toThrow(AssertionError);
    expect(() => admission.tryEnter(1.5)).toThrow(AssertionError);
    expect(() => admission.tryEnter(Number.NaN)).toThrow(AssertionError);
    expect(() => new Admission({ now: () => 0, requestsMax: 0 })).toThrow(AssertionError);
    expect(() => new Admission({ now: () => 0, bytesMax: 0.5 })).toThrow(AssertionError);
    expect(admission.inflight).toBe(0);
  });
});

describe('deadlinePassed', { timeout: testTimeoutMs }, () => {
  it.each([
    [1000, 999, false],
    [1000, 1000, true],
    [1000, 1001, true],
    [Number.POSITIVE_INFINITY, 1e15, false],
  ])('deadline %d at %d: %s', (deadlineMs, nowMs, passed) => {
    expect(deadlinePassed(deadlineMs, nowMs)).toBe(passed);
  });
});

/** A histogram whose p99 the test sets (in ms), counting resets like perf_hooks' one. */
class FakeHistogram implements DelayHistogram {
  p99Ms = 0;
  resets = 0;
  disabled = false;
  percentile(percentile: number): number {
    expect(percentile).toBe(99);
    return this.p99Ms * 1e6;
  }
  reset(): void {
    this.resets++;
    this.p99Ms = 0;
  }
  disable(): void {
    this.disabled = true;
  }
}

describe('SaturationMonitor', { timeout: testTimeoutMs }, () => {
  function setUp(options: { lagThresholdMs?: number; requestsMax?: number } = {}) {
    const clock = new FakeClock();
    const histogram = new FakeHistogram();
    const admission = new Admission({ now: clock.now, requestsMax: options.requestsMax ?? 100 });
    const monitor = new SaturationMonitor({
      histogram,
      now: clock.now,
      admission,
      ...(options.lagThresholdMs === undefined ? {} : { lagThresholdMs: options.lagThresholdMs }),
    });
    return { clock, histogram, admission, monitor };
  }

  it('is saturated when the lag p99 is above 200 ms, not at it', () => {
    const { histogram, monitor } = setUp();
    histogram.p99Ms = 200;
    expect(monitor.lagMs()).toBe(200);
    expect(monitor.saturated()).toBe(false);
    histogram.p99Ms = 201;
    expect(monitor.saturated()).toBe(true);
    expect(monitor.reason()).toBe('event-loop-lag');
  });

  it('takes its threshold as an option', () => {
    const { histogram, monitor } = setUp({ lagThresholdMs: 50 });
    histogram.p99Ms = 60;
    expect(monitor.saturated()).toBe(true);
  });

  it('keeps a stall for the window after the one it happened in, then forgets it', () => {
    const { clock, histogram, monitor } = setUp();
    histogram.p99Ms = 300;
    clock.nowMs = 500;
    expect(monitor.lagMs()).toBe(300);
    expect(histogram.resets).toBe(0);
    clock.nowMs = lagWindowMs; // the window closes: its p99 is kept, the histogram starts over
    expect(monitor.lagMs()).toBe(300);
    expect(histogram.resets).toBe(1);
    expect(monitor.saturated()).toBe(true);
    histogram.p99Ms = 20;
    clock.nowMs = 2 * lagWindowMs - 1;
    expect(monitor.lagMs()).toBe(300);
    clock.nowMs = 2 * lagWindowMs;
    expect(monitor.lagMs()).toBe(20);
    expect(monitor.saturated()).toBe(false);
    expect(histogram.resets).toBe(2);
  });

  it('counts a fresh stall in the current window at once', () => {
    const { clock, histogram, monitor } = setUp();
    clock.nowMs = lagWindowMs;
    expect(monitor.lagMs()).toBe(0);
    clock.nowMs = lagWindowMs + 10;
    histogram.p99Ms = 450;
    expect(monitor.lagMs()).toBe(450);
  });

  it('is saturated with more than 90% of requestsMax in flight', () => {
    const { admission, monitor } = setUp({ requestsMax: 100 });
    const tickets = Array.from({ length: 90 }, () => admitted(admission.tryEnter(0)));
    expect(monitor.saturated()).toBe(false);
    tickets.push(admitted(admission.tryEnter(0)));
    expect(monitor.reason()).toBe('inflight');
    tickets.pop()!.leave();
    expect(monitor.saturated()).toBe(false);
  });

  it('stops the histogram on close', () => {
    const { histogram, monitor } = setUp();
    monitor.close();
    expect(histogram.disabled).toBe(true);
  });

  it('sees a real event-loop stall through perf_hooks, in ms', async () => {
    const histogram = eventLoopDelayHistogram();
    const monitor = new SaturationMonitor({ histogram, now: () => performance.now() });
    try {
      await new Promise((resolve) => setTimeout(resolve, 30));
      const until = performance.now() + 300;
      while (performance.now() < until) {
        // Block the loop: the histogram's next sample comes about 300 ms late.
      }
      await new Promise((resolve) => setTimeout(resolve, 30));
      expect(monitor.lagMs()).toBeGreaterThan(200);
      expect(monitor.lagMs()).toBeLessThan(2_000);
      expect(monitor.saturated()).toBe(true);
    } finally {
      monitor.close();
    }
  });
});
