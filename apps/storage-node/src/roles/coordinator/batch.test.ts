import { status } from '@grpc/grpc-js';
import { Applied, type GetRequest, type PutRequest } from '@ringstore/proto';
import { describe, expect, it } from 'vitest';
import { RingstoreError, refused } from '../../errors.js';
import { batchGet, batchGetItemsMax, batchPut, batchPutItemsMax, type KeyOps } from './batch.js';

const key = (s: string) => Buffer.from(s);
const get = (k: string): GetRequest => ({ key: key(k), r: 0, strictQuorum: false });
const put = (k: string, v = 'v'): { write: { $case: 'put'; value: PutRequest } } => ({
  write: {
    $case: 'put',
    value: { key: key(k), value: key(v), context: Buffer.alloc(0), w: 0, strictQuorum: false },
  },
});

/** Ops that answer from a map, fail keys named 'bad*' as bad input and 'down*' as a missed quorum. */
function ops(): KeyOps & { calls: string[] } {
  const calls: string[] = [];
  const check = (k: Uint8Array): string => {
    const name = Buffer.from(k).toString();
    calls.push(name);
    if (name.startsWith('bad')) throw refused('invalid-argument', `key ${name} is bad`);
    if (name.startsWith('down'))
      throw new RingstoreError('unavailable', 'put acked 1 of W=2', {
        applied: 'maybe',
        acked: 1,
        needed: 2,
        tried: 3,
      });
    return name;
  };
  return {
    calls,
    get: (req) =>
      Promise.resolve().then(() => {
        const name = check(req.key);
        return {
          siblings: [
            { value: key(`${name}-a`), deleted: false },
            { value: key(`${name}-b`), deleted: false },
          ],
          context: key(name),
        };
      }),
    put: (req) =>
      Promise.resolve().then(() => {
        check(req.key);
        return { context: key('c'), siblings: [{ value: Buffer.from(req.value), deleted: false }] };
      }),
    delete: (req) =>
      Promise.resolve().then(() => {
        check(req.key);
        return {};
      }),
  };
}

const deadline = () => Date.now() + 1_000;

describe('batchGet', () => {
  it('answers every item in order, siblings per item, a failed item failing alone', async () => {
    const o = ops();
    const res = await batchGet(
      o,
      { items: [get('a'), get('bad'), get('b'), get('down')] },
      deadline(),
    );
    expect(res.results.map((r) => r.result?.$case)).toEqual(['ok', 'error', 'ok', 'error']);
    const first = res.results[0]?.result;
    expect(first?.$case === 'ok' && first.value.siblings.map((s) => s.value.toString())).toEqual([
      'a-a',
      'a-b',
    ]);
    const bad = res.results[1]?.result;
    expect(bad?.$case === 'error' && bad.value.code).toBe(status.INVALID_ARGUMENT);
    expect(bad?.$case === 'error' && bad.value.failure?.applied).toBe(Applied.APPLIED_NONE);
    const down = res.results[3]?.result;
    expect(down?.$case === 'error' && down.value).toMatchObject({
      code: status.UNAVAILABLE,
      failure: { applied: Applied.APPLIED_MAYBE, acked: 1, needed: 2, tried: 3 },
    });
  });

  it('refuses a repeated key for the repeat only, without reading it twice', async () => {
    const o = ops();
    const res = await batchGet(o, { items: [get('a'), get('b'), get('a')] }, deadline());
    const third = res.results[2]?.result;
    expect(third?.$case === 'error' && third.value.message).toBe(
      'item 2 repeats the key of item 0',
    );
    expect(res.results[0]?.result?.$case).toBe('ok');
    expect(o.calls).toEqual(['a', 'b']);
  });

  it('refuses an empty batch and one over the limit whole, reading nothing', async () => {
    const o = ops();
    const over = Array.from({ length: batchGetItemsMax + 1 }, (_, i) => get(`k${i}`));
    for (const items of [[], over])
      await expect(batchGet(o, { items }, deadline())).rejects.toMatchObject({
        code: 'invalid-argument',
      });
    expect(o.calls).toEqual([]);
    const full = Array.from({ length: batchGetItemsMax }, (_, i) => get(`k${i}`));
    expect((await batchGet(o, { items: full }, deadline())).results).toHaveLength(100);
  });
});

describe('batchPut', () => {
  it('applies puts and deletes in order, each failing alone with its Failure', async () => {
    const o = ops();
    const del = {
      write: {
        $case: 'delete' as const,
        value: { key: key('gone'), context: Buffer.alloc(0), w: 0, strictQuorum: false },
      },
    };
    const res = await batchPut(
      o,
      { items: [put('a', 'x'), del, put('down'), { write: undefined }, put('bad')] },
      deadline(),
    );
    expect(res.results.map((r) => r.result?.$case)).toEqual([
      'put',
      'delete',
      'error',
      'error',
      'error',
    ]);
    const a = res.results[0]?.result;
    expect(a?.$case === 'put' && a.value.siblings[0]?.value.toString()).toBe('x');
    const down = res.results[2]?.result;
    expect(down?.$case === 'error' && down.value.failure?.applied).toBe(Applied.APPLIED_MAYBE);
    const empty = res.results[3]?.result;
    expect(empty?.$case === 'error' && empty.value).toMatchObject({
      code: status.INVALID_ARGUMENT,
      message: 'item 3 is neither a put nor a delete',
      failure: { applied: Applied.APPLIED_NONE },
    });
    expect(o.calls).toEqual(['a', 'gone', 'down', 'bad']);
  });

  it('refuses a repeated key and a batch over 25 writes', async () => {
    const o = ops();
    const res = await batchPut(o, { items: [put('a'), put('a')] }, deadline());
    expect(res.results.map((r) => r.result?.$case)).toEqual(['put', 'error']);
    expect(o.calls).toEqual(['a']);
    const over = Array.from({ length: batchPutItemsMax + 1 }, (_, i) => put(`k${i}`));
    await expect(batchPut(o, { items: over }, deadline())).rejects.toMatchObject({
      code: 'invalid-argument',
    });
  });

  it('carries the retry hint of an overload refusal as a field', async () => {
    const o = ops();
    o.put = () => {
      const e = refused('resource-exhausted', 'disk full');
      e.trailers = [['retry-after-ms', '250']];
      return Promise.reject(e);
    };
    const res = await batchPut(o, { items: [put('a')] }, deadline());
    const r = res.results[0]?.result;
    expect(r?.$case === 'error' && r.value).toMatchObject({
      code: status.RESOURCE_EXHAUSTED,
      retryAfterMs: 250,
    });
  });
});
