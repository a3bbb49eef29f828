import { afterEach, describe, expect, it, vi } from 'vitest';
import { FrameOutbox, takeFrame, type FrameLimits } from './outbox.js';
import { PendingCalls, type Expiry } from './pending.js';

/** Resolves on a later turn of the event loop than every setImmediate queued before it. */
function nextTurn(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}

/** Each message is its own size. */
const sizeIsValue = (m: number): number => m;

/** 0, 1, ..., n - 1. */
function range(n: number): number[] {
  return Array.from({ length: n }, (_, i) => i);
}

/** A promise's rejection (or a failure when it resolved). */
async function rejectionOf(promise: Promise<unknown>): Promise<unknown> {
  return promise.then(
    (value) => {
      throw new Error(`expected a rejection, resolved with ${String(value)}`);
    },
    (e: unknown) => e,
  );
}

/** An outbox that records each frame it sends. */
function recordingOutbox(
  limits: FrameLimits,
  sizeOf: (m: number) => number = () => 1,
): { outbox: FrameOutbox<number>; frames: number[][] } {
  const frames: number[][] = [];
  const outbox = new FrameOutbox<number>(limits, sizeOf, (messages) => {
    frames.push(messages);
  });
  return { outbox, frames };
}

/** performance.now included: PendingCalls measures lateness with it. */
const fakeTimers: Parameters<typeof vi.useFakeTimers>[0] = {
  toFake: ['setTimeout', 'clearTimeout', 'setImmediate', 'performance'],
};

afterEach(() => {
  vi.useRealTimers();
});

describe('frames', { timeout: 10_000 }, () => {
  describe('takeFrame', () => {
    it('cuts a frame at messagesMax, oldest first, and leaves the rest queued', () => {
      const queue = range(10);
      const frame = takeFrame(queue, { messagesMax: 4, bytesMax: 1_000_000 }, () => 1);
      expect(frame).toEqual([0, 1, 2, 3]);
      expect(queue).toEqual([4, 5, 6, 7, 8, 9]);
    });

    it('takes the whole queue when it is within both limits', () => {
      const queue = [1, 2, 3];
      expect(takeFrame(queue, { messagesMax: 3, bytesMax: 6 }, sizeIsValue)).toEqual([1, 2, 3]);
      expect(queue).toEqual([]);
    });

    it('cuts a frame at bytesMax: a frame of exactly bytesMax fits, one byte more does not', () => {
      const queue = [10, 10, 10, 10];
      expect(takeFrame(queue, { messagesMax: 100, bytesMax: 25 }, sizeIsValue)).toEqual([10, 10]);
      expect(queue).toEqual([10, 10]);

      const exact = [10, 10, 10, 10];
      expect(takeFrame(exact, { messagesMax: 100, bytesMax: 30 }, sizeIsValue)).toEqual([
        10, 10, 10,
      ]);
      expect(exact).toEqual([10]);

      const oneOver = [10, 10, 11];
      expect(takeFrame(oneOver, { messagesMax: 100, bytesMax: 30 }, sizeIsValue)).toEqual([10, 10]);
      expect(oneOver).toEqual([11]);
    });

    it('stops at whichever limit comes first', () => {
      const byCount = [1, 1, 1, 1, 1];
      expect(takeFrame(byCount, { messagesMax: 2, bytesMax: 100 }, sizeIsValue)).toHaveLength(2);
      const byBytes = [1, 1, 1, 1, 1];
      expect(takeFrame(byBytes, { messagesMax: 100, bytesMax: 3 }, sizeIsValue)).toHaveLength(3);
    });

    it('always takes at least one message: an oversized message goes alone', () => {
      const queue = [100, 1, 1];
      expect(takeFrame(queue, { messagesMax: 10, bytesMax: 10 }, sizeIsValue)).toEqual([100]);
      expect(queue).toEqual([1, 1]);
      expect(takeFrame(queue, { messagesMax: 10, bytesMax: 10 }, sizeIsValue)).toEqual([1, 1]);
      expect(queue).toEqual([]);
    });

    it('ends a frame before an oversized message, which then goes alone in the next', () => {
      const queue = [1, 100, 1];
      const limits = { messagesMax: 10, bytesMax: 10 };
      const frames: number[][] = [];
      while (queue.length > 0) frames.push(takeFrame(queue, limits, sizeIsValue));
      expect(frames).toEqual([[1], [100], [1]]);
    });

    it('takes nothing from an empty queue', () => {
      const queue: number[] = [];
      expect(takeFrame(queue, { messagesMax: 4, bytesMax: 4 }, sizeIsValue)).toEqual([]);
    });
  });

  describe('FrameOutbox', () => {
    it('sends ten messages pushed in one turn as one frame, on the next turn, in order', async () => {
      const { outbox, frames } = recordingOutbox({ messagesMax: 256, bytesMax: 48 * 1024 });
      for (const m of range(10)) outbox.push(m);
      expect(frames).toEqual([]);
      expect(outbox.length).toBe(10);
      await nextTurn();
      expect(frames).toEqual([range(10)]);
      expect(outbox.length).toBe(0);
    });

    it('does not flush synchronously nor on a microtask, only on setImmediate', async () => {
      vi.useFakeTimers(fakeTimers);
      const { outbox, frames } = recordingOutbox({ messagesMax: 256, bytesMax: 1024 });
      outbox.push(1);
      await Promise.resolve();
      await Promise.resolve();
      expect(frames).toEqual([]);
      expect(vi.getTimerCount()).toBe(1);
      vi.runOnlyPendingTimers();
      expect(frames).toEqual([[1]]);
    });

    it('schedules one flush for a burst, however many messages it holds', () => {
      vi.useFakeTimers(fakeTimers);
      const { outbox } = recordingOutbox({ messagesMax: 256, bytesMax: 1024 });
      for (const m of range(50)) outbox.push(m);
      expect(vi.getTimerCount()).toBe(1);
    });

    it('cuts 600 messages pushed in one turn into 3 frames of at most messagesMax (256)', async () => {
      const { outbox, frames } = recordingOutbox({ messagesMax: 256, bytesMax: 48 * 1024 });
      for (const m of range(600)) outbox.push(m);
      await nextTurn();
      expect(frames.map((f) => f.length)).toEqual([256, 256, 88]);
      expect(frames.flat()).toEqual(range(600));
    });

    it('cuts a burst by bytes too, an oversized message alone in its frame', async () => {
      const { outbox, frames } = recordingOutbox({ messagesMax: 100, bytesMax: 10 }, sizeIsValue);
      for (const m of [4, 4, 4, 50, 3, 3]) outbox.push(m);
      await nextTurn();
      expect(frames).toEqual([[4, 4], [4], [50], [3, 3]]);
    });

    it('sends what a later turn pushes in a frame of its own', async () => {
      const { outbox, frames } = recordingOutbox({ messagesMax: 256, bytesMax: 1024 });
      outbox.push(1);
      outbox.push(2);
      await nextTurn();
      outbox.push(3);
      await nextTurn();
      expect(frames).toEqual([[1, 2], [3]]);
    });

    it('flush() writes everything queued at once', () => {
      const { outbox, frames } = recordingOutbox({ messagesMax: 2, bytesMax: 1024 });
      for (const m of range(5)) outbox.push(m);
      outbox.flush();
      expect(frames).toEqual([[0, 1], [2, 3], [4]]);
      expect(outbox.length).toBe(0);
    });

    it('clear() returns the unsent messages, oldest first, and they are never sent', async () => {
      const { outbox, frames } = recordingOutbox({ messagesMax: 256, bytesMax: 1024 });
      for (const m of range(3)) outbox.push(m);
      expect(outbox.clear()).toEqual([0, 1, 2]);
      expect(outbox.length).toBe(0);
      await nextTurn();
      await nextTurn();
      expect(frames).toEqual([]);
    });

    it('sends only what was pushed after clear() in the same turn', async () => {
      const { outbox, frames } = recordingOutbox({ messagesMax: 256, bytesMax: 1024 });
      outbox.push(1);
      outbox.push(2);
      expect(outbox.clear()).toEqual([1, 2]);
      outbox.push(3);
      await nextTurn();
      expect(frames).toEqual([[3]]);
    });

    it('refuses limits that are not positive', () => {
      const send = (): void => undefined;
      const sizeOf = (): number => 1;
      for (const limits of [
        { messagesMax: 0, bytesMax: 1024 },
        { messagesMax: -1, bytesMax: 1024 },
        { messagesMax: 256, bytesMax: 0 },
        { messagesMax: 256, bytesMax: -5 },
        { messagesMax: Number.NaN, bytesMax: 1024 },
        { messagesMax: 256, bytesMax: Number.NaN },
      ])
        expect(() => new FrameOutbox<number>(limits, sizeOf, send)).toThrow(RangeError);
      expect(
        () => new FrameOutbox<number>({ messagesMax: 1, bytesMax: 1 }, sizeOf, send),
      ).not.toThrow();
    });
  });

  describe('PendingCalls', () => {
    const neverExpires = 60_000;
    const expiredError = (): Error => new Error('expired');

    it('gives distinct, increasing ids', () => {
      const pending = new PendingCalls<string>(10);
      const calls = range(5).map(() => pending.add(neverExpires, expiredError));
      for (const call of calls) call.reply.catch(() => undefined);
      const ids = calls.map((c) => c.id);
      expect(new Set(ids).size).toBe(5);
      for (let i = 1; i < ids.length; i++) expect(ids[i]! > ids[i - 1]!).toBe(true);
      expect(pending.size).toBe(5);
      pending.failAll(() => new Error('done'));
    });

    it('never reuses an id once its call has settled', () => {
      const pending = new PendingCalls<string>(1);
      const first = pending.add(neverExpires, expiredError);
      expect(pending.settle(first.id, 'a')).toBe(true);
      const second = pending.add(neverExpires, expiredError);
      expect(second.id).not.toBe(first.id);
      expect(second.id > first.id).toBe(true);
      expect(pending.settle(second.id, 'b')).toBe(true);
    });

    it('delivers each reply to the call of its id, whatever the order', async () => {
      const pending = new PendingCalls<string>(10);
      const a = pending.add(neverExpires, expiredError);
      const b = pending.add(neverExpires, expiredError);
      const c = pending.add(neverExpires, expiredError);
      expect(pending.settle(c.id, 'C')).toBe(true);
      expect(pending.settle(a.id, 'A')).toBe(true);
      expect(pending.settle(b.id, 'B')).toBe(true);
      expect(await Promise.all([a.reply, b.reply, c.reply])).toEqual(['A', 'B', 'C']);
      expect(pending.size).toBe(0);
    });

    it('fails one call with the error given, leaving the others', async () => {
      const pending = new PendingCalls<string>(10);
      const a = pending.add(neverExpires, expiredError);
      const b = pending.add(neverExpires, expiredError);
      const error = new Error('this one');
      expect(pending.fail(a.id, error)).toBe(true);
      expect(await rejectionOf(a.reply)).toBe(error);
      expect(pending.size).toBe(1);
      expect(pending.settle(b.id, 'B')).toBe(true);
      expect(await b.reply).toBe('B');
    });

    it('returns false for a settle or fail of an unknown id, or of one already settled', async () => {
      const pending = new PendingCalls<string>(10);
      expect(pending.settle(1n, 'x')).toBe(false);
      expect(pending.fail(1n, new Error('x'))).toBe(false);
      const a = pending.add(neverExpires, expiredError);
      expect(pending.settle(a.id + 100n, 'x')).toBe(false);
      expect(pending.fail(a.id + 100n, new Error('x'))).toBe(false);
      expect(pending.size).toBe(1);
      expect(pending.settle(a.id, 'first')).toBe(true);
      expect(pending.settle(a.id, 'second')).toBe(false);
      expect(pending.fail(a.id, new Error('late'))).toBe(false);
      expect(await a.reply).toBe('first');
    });

    it('expires a call after its timeout with the error `expired` makes (real timers)', async () => {
      const pending = new PendingCalls<string>(10);
      const error = new Error('no reply in time');
      const expiries: Expiry[] = [];
      const call = pending.add(20, (e) => {
        expiries.push(e);
        return error;
      });
      expect(await rejectionOf(call.reply)).toBe(error);
      expect(expiries).toHaveLength(1);
      expect(pending.size).toBe(0);
      // The reply that comes after the deadline is ignored.
      expect(pending.settle(call.id, 'late')).toBe(false);
    });

    it('expires a call exactly at its timeout, not before, with lateMs 0 on time (fake timers)', async () => {
      vi.useFakeTimers(fakeTimers);
      const pending = new PendingCalls<string>(10);
      const expiries: Expiry[] = [];
      const call = pending.add(100, (e) => {
        expiries.push(e);
        return new Error('expired');
      });
      const rejected = rejectionOf(call.reply);
      vi.advanceTimersByTime(99);
      expect(expiries).toEqual([]);
      expect(pending.size).toBe(1);
      vi.advanceTimersByTime(1);
      expect(expiries).toHaveLength(1);
      expect(expiries[0]!.lateMs).toBeCloseTo(0, 6);
      expect(pending.size).toBe(0);
      expect(await rejected).toMatchObject({ message: 'expired' });
      expect(pending.settle(call.id, 'late')).toBe(false);
    });

    it('says how late the timer fired when the event loop was stalled', async () => {
      const pending = new PendingCalls<string>(10);
      const expiries: Expiry[] = [];
      const call = pending.add(10, (e) => {
        expiries.push(e);
        return new Error('expired');
      });
      const rejected = rejectionOf(call.reply);
      // Block the event loop well past the deadline.
      const until = performance.now() + 80;
      while (performance.now() < until);
      await rejected;
      expect(expiries).toHaveLength(1);
      expect(expiries[0]!.lateMs).toBeGreaterThanOrEqual(60);
    });

    it('stops the timer of a call that was answered', async () => {
      vi.useFakeTimers(fakeTimers);
      const pending = new PendingCalls<string>(10);
      const expired = vi.fn(expiredError);
      const call = pending.add(100, expired);
      expect(vi.getTimerCount()).toBe(1);
      expect(pending.settle(call.id, 'on time')).toBe(true);
      expect(vi.getTimerCount()).toBe(0);
      vi.advanceTimersByTime(1_000);
      expect(expired).not.toHaveBeenCalled();
      expect(await call.reply).toBe('on time');
    });

    it('failAll rejects every call with the error for its id, empties it, and stops the timers', async () => {
      vi.useFakeTimers(fakeTimers);
      const pending = new PendingCalls<string>(10);
      const expired = vi.fn(expiredError);
      const calls = range(3).map(() => pending.add(100, expired));
      const rejections = calls.map((c) => rejectionOf(c.reply));
      const seen: bigint[] = [];
      const failed = pending.failAll((id) => {
        seen.push(id);
        return new Error(`broken ${id}`);
      });
      expect(failed).toBe(3);
      expect(pending.size).toBe(0);
      expect(pending.full).toBe(false);
      expect(new Set(seen)).toEqual(new Set(calls.map((c) => c.id)));
      const errors = (await Promise.all(rejections)) as Error[];
      expect(errors.map((e) => e.message)).toEqual(calls.map((c) => `broken ${c.id}`));
      expect(vi.getTimerCount()).toBe(0);
      vi.advanceTimersByTime(1_000);
      expect(expired).not.toHaveBeenCalled();
      for (const call of calls) expect(pending.settle(call.id, 'late')).toBe(false);
      expect(pending.failAll(() => new Error('none'))).toBe(0);
    });

    it('is full at max: add() then throws RangeError, and makes room as calls settle', async () => {
      const pending = new PendingCalls<string>(2);
      expect(pending.max).toBe(2);
      expect(pending.full).toBe(false);
      const a = pending.add(neverExpires, expiredError);
      expect(pending.full).toBe(false);
      const b = pending.add(neverExpires, expiredError);
      expect(pending.full).toBe(true);
      expect(() => pending.add(neverExpires, expiredError)).toThrow(RangeError);
      expect(pending.size).toBe(2);
      expect(pending.settle(a.id, 'A')).toBe(true);
      expect(pending.full).toBe(false);
      const c = pending.add(neverExpires, expiredError);
      expect(pending.full).toBe(true);
      expect(pending.settle(b.id, 'B')).toBe(true);
      expect(pending.settle(c.id, 'C')).toBe(true);
      expect(await Promise.all([a.reply, b.reply, c.reply])).toEqual(['A', 'B', 'C']);
    });

    it('refuses a max below 1 or not a whole number', () => {
      for (const max of [0, -1, 0.5, 1.5, Number.NaN, Number.POSITIVE_INFINITY])
        expect(() => new PendingCalls<string>(max)).toThrow(RangeError);
      expect(new PendingCalls<string>(1).max).toBe(1);
    });
  });
});
