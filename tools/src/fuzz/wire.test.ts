import { BatchGetResponse } from '@ringstore/proto';
import { describe, expect, it } from 'vitest';
import { createRng } from '../chaos/prng.js';
import { mutateBytes, truncate } from './mutate.js';
import { Tally } from './stats.js';
import { itemResults } from './transport.js';
import type { FuzzRequest } from './world.js';
import { actorsOf, encodeRawContext, encodeRawObject, partitionOf, varint } from './wire.js';

describe('hand-made encodings', () => {
  it('writes varints as unsigned LEB128, past 2^53 too', () => {
    expect(varint(0).toString('hex')).toBe('00');
    expect(varint(300).toString('hex')).toBe('ac02');
    expect(varint(2n ** 53n - 1n).toString('hex')).toBe('ffffffffffffff0f');
    expect(varint(2n ** 64n - 1n)).toHaveLength(10);
  });

  it('encodes objects and contexts in the vclock formats (version 1 objects, 1 and 2 contexts)', () => {
    // packages/vclock/src/counter-range.forged.test.ts: actor "a", counter 5, no values.
    const object = encodeRawObject([{ actor: 'a', counter: 5n, values: [] }]);
    expect(object.toString('hex')).toBe('01010161050000');
    const tombstone = { flags: 1, timestampMs: 1n, bytes: Buffer.from('x') };
    expect(
      encodeRawObject([{ actor: 'a', counter: 1n, values: [tombstone] }]).toString('hex'),
    ).toBe('010101610101010101' + '7800');
    expect(encodeRawContext([['a', 5n]], undefined).toString('hex')).toBe('0101016105');
    const fingerprint = Buffer.alloc(8, 0xee);
    expect(encodeRawContext([['a', 5n]], fingerprint).toString('hex')).toBe(
      `02${'ee'.repeat(8)}01016105`,
    );
  });

  it('reads back the actors of an object, values and all', () => {
    const value = { flags: 0, timestampMs: 1_700_000_000_000n, bytes: Buffer.from('hello') };
    const object = encodeRawObject([
      { actor: 'n1.abc/1', counter: 2n, values: [value, value] },
      { actor: 'n2.def/3', counter: 9n, values: [] },
    ]);
    expect(actorsOf(object)).toEqual(['n1.abc/1', 'n2.def/3']);
    expect(actorsOf(Buffer.from('garbage'))).toEqual([]);
  });

  it('computes partitions from the top bits of MD5 (as packages/ring does)', () => {
    // MD5("") = d41d8cd9...: top 16 bits 0xd41d.
    expect(partitionOf(Buffer.alloc(0), 65_536)).toBe(0xd41d);
    expect(partitionOf(Buffer.alloc(0), 256)).toBe(0xd4);
    expect(partitionOf(Buffer.alloc(0), 1)).toBe(0);
  });
});

describe('byte mutations', () => {
  it('are reproducible from the seed and change the input', () => {
    const input = Buffer.from('a message of some length, to be mutated');
    const a = Array.from({ length: 50 }, (_, i) => mutateBytes(createRng(i), input));
    const b = Array.from({ length: 50 }, (_, i) => mutateBytes(createRng(i), input));
    expect(a).toEqual(b);
    expect(a.filter((m) => !m.equals(input)).length).toBeGreaterThan(40);
  });

  it('truncate always returns a strict prefix', () => {
    const rng = createRng(3);
    const input = Buffer.from('0123456789');
    for (let i = 0; i < 100; i++) {
      const cut = truncate(rng, input);
      expect(cut.length).toBeLessThan(input.length);
      expect(input.subarray(0, cut.length).equals(cut)).toBe(true);
    }
  });
});

describe('itemResults', () => {
  it("counts each item of a batch answered OK, so an item's INTERNAL is a finding", () => {
    const reply = Buffer.from(
      BatchGetResponse.encode({
        results: [
          { result: { $case: 'ok', value: { siblings: [], context: Buffer.alloc(0) } } },
          {
            result: {
              $case: 'error',
              value: { code: 13, message: 'boom', failure: undefined, retryAfterMs: 0 },
            },
          },
        ],
      }).finish(),
    );
    const results = itemResults('KV.BatchGet', reply);
    expect(results.map((r) => [r.rpc, r.code])).toEqual([
      ['KV.BatchGet.item', 'OK'],
      ['KV.BatchGet.item', 'INTERNAL'],
    ]);
    const tally = new Tally();
    const request = { index: 0, rpc: 'KV.BatchGet', path: '', port: 'client', node: 'n1' };
    tally.answered(
      { ...request, variant: 'message', body: Buffer.alloc(0) } as unknown as FuzzRequest,
      results,
    );
    expect(tally.findingsTotal).toBe(1);
    expect(itemResults('KV.Get', reply)).toEqual([]);
    expect(itemResults('KV.BatchPut', Buffer.from([0xff]))[0]?.code).toBe('UNDECODABLE_REPLY');
  });
});
