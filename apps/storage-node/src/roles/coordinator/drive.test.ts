import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { drive, eventsPerRequestMax, type DriverEffect, type MachineStep } from './drive.js';

interface ToyEvent {
  readonly name: string;
}
/** The toy machine's one effect of its own: what a real machine's replicate or read would be. */
interface Send {
  readonly type: 'send';
  readonly to: string;
}
type ToyEffect = Send | DriverEffect<ToyEvent, string>;
interface ToyState {
  readonly seen: readonly string[];
}
type ToyStep = MachineStep<ToyState, ToyEffect>;

const send = (to: string): ToyEffect => ({ type: 'send', to });
const respond = (result: string): ToyEffect => ({ type: 'respond', result });
const done: ToyEffect = { type: 'done' };
const timer = (afterMs: number, name: string): ToyEffect => ({
  type: 'schedule-timeout',
  afterMs,
  fire: { name },
});

/**
 * A machine whose step records each event it is fed (in `log`, with what was performed, so the
 * order of the two shows) and returns the effects `script` gives for it. Its state is the events
 * seen so far, which `script` gets too: only a driver that threads each step's state into the
 * next shows it whole.
 */
function toy(script: (event: string, seen: readonly string[]) => ToyEffect[]) {
  const log: string[] = [];
  const stepped: string[] = [];
  const step = (state: ToyState, event: ToyEvent): ToyStep => {
    stepped.push(event.name);
    log.push(`step ${event.name}`);
    const seen = [...state.seen, event.name];
    return { state: { seen }, effects: script(event.name, seen) };
  };
  const start = (effects: ToyEffect[]): ToyStep => ({ state: { seen: [] }, effects });
  return { step, start, log, stepped };
}

beforeEach(() => {
  vi.useFakeTimers();
});
afterEach(() => {
  vi.useRealTimers();
});

describe('drive', () => {
  it("resolves with respond's result; perform gets only effects not its own", async () => {
    const m = toy(() => []);
    const performed: Send[] = [];
    const result = await drive(
      m.start([send('a'), timer(100, 'deadline'), respond('answer'), send('b'), done]),
      m.step,
      (effect) => {
        performed.push(effect);
      },
    );
    expect(result).toBe('answer');
    expect(performed).toEqual([send('a'), send('b')]);
    expect(m.stepped).toEqual([]);
  });

  it('queues an event fed while performing: stepped after the rest are performed', async () => {
    const m = toy((event, seen) => (event === 'b-ack' ? [respond(seen.join()), done] : []));
    const result = await drive(m.start([send('a'), send('b')]), m.step, (effect, feed) => {
      m.log.push(`perform send ${effect.to}`);
      feed({ name: `${effect.to}-ack` }); // synchronously, as a cached answer would
    });
    expect(result).toBe('a-ack,b-ack');
    // Re-entrant, the ack of a would be stepped before b was sent.
    expect(m.log).toEqual(['perform send a', 'perform send b', 'step a-ack', 'step b-ack']);
  });

  it("queues events fed while performing a step's effects, in order", async () => {
    const m = toy((event) => {
      if (event === 'first') return [send('x'), send('y')];
      if (event === 'y-ack') return [respond('ok'), done];
      return [];
    });
    const pending = drive(m.start([send('go')]), m.step, (effect, feed) => {
      m.log.push(`perform send ${effect.to}`);
      if (effect.to === 'go') queueMicrotask(() => feed({ name: 'first' }));
      else feed({ name: `${effect.to}-ack` });
    });
    expect(await pending).toBe('ok');
    expect(m.log).toEqual([
      'perform send go',
      'step first',
      'perform send x',
      'perform send y',
      'step x-ack',
      'step y-ack',
    ]);
  });

  it("feeds a schedule-timeout effect's fire event after afterMs, not before", async () => {
    const m = toy((event) => (event === 'deadline' ? [respond('timed out'), done] : []));
    let result: string | undefined;
    void drive(m.start([timer(100, 'deadline')]), m.step, () => undefined).then((r) => {
      result = r;
    });
    await vi.advanceTimersByTimeAsync(99);
    expect(m.stepped).toEqual([]);
    await vi.advanceTimersByTimeAsync(1);
    expect(m.stepped).toEqual(['deadline']);
    expect(result).toBe('timed out');
  });

  it('steps late acks after the answer until done, which clears its timers', async () => {
    const m = toy((event) => {
      if (event === 'a-ack') return [respond('ok')];
      if (event === 'b-ack') return [done];
      return [respond('too late')];
    });
    const answers: Record<string, number> = { a: 10, b: 50 };
    let result: string | undefined;
    const start = m.start([
      timer(100, 'deadline'),
      timer(500, 'repair-wait'),
      send('a'),
      send('b'),
    ]);
    void drive(start, m.step, (effect, feed) => {
      setTimeout(() => feed({ name: `${effect.to}-ack` }), answers[effect.to]);
    }).then((r) => {
      result = r;
    });
    await vi.advanceTimersByTimeAsync(10);
    expect(result).toBe('ok');
    expect(vi.getTimerCount()).toBe(3); // the two armed by the machine, and b's answer
    await vi.advanceTimersByTimeAsync(40);
    expect(m.stepped).toEqual(['a-ack', 'b-ack']);
    expect(vi.getTimerCount()).toBe(0);
    await vi.advanceTimersByTimeAsync(1_000);
    expect(m.stepped).toEqual(['a-ack', 'b-ack']);
  });

  it('fails a request fed more than eventsPerRequestMax events', async () => {
    // Every event makes the machine send again, answered at once: a loop only the bound ends.
    const m = toy((_event, seen) =>
      seen.length > eventsPerRequestMax ? [respond('unbounded'), done] : [send('again')],
    );
    const fed = drive(m.start([send('again')]), m.step, (_effect, feed) => feed({ name: 'ack' }));
    await expect(fed).rejects.toThrow('request machine fed too many events');
    expect(m.stepped).toHaveLength(eventsPerRequestMax);
  });
});
