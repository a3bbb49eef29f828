import type { MemberState } from '@ringstore/membership';
import { describe, expect, it } from 'vitest';
import {
  clockProblem,
  generationAheadMaxMs,
  heartbeatMax,
  outbid,
  screenGossip,
} from './gossip-screen.js';

const nowMs = 1_800_000_000_000;
const member = (id: string, over: Partial<MemberState> = {}): MemberState => ({
  id,
  address: `${id}:7000`,
  peerAddress: `${id}:7001`,
  zone: '',
  generation: nowMs - 1_000,
  heartbeat: 1,
  status: 'up',
  ...over,
});

describe('clockProblem', () => {
  it('bounds the generation at a day past the clock, the heartbeat at a beat a millisecond', () => {
    const limit = nowMs + generationAheadMaxMs;
    expect(clockProblem(member('a', { generation: limit, heartbeat: 0 }), nowMs)).toBe(undefined);
    expect(clockProblem(member('a', { generation: nowMs + generationAheadMaxMs + 1 }), nowMs)).toBe(
      'generation-ahead',
    );
    const generation = nowMs - 1_000;
    const max = heartbeatMax(generation, nowMs);
    expect(max).toBe(1_000 + generationAheadMaxMs);
    expect(clockProblem(member('a', { heartbeat: max }), nowMs)).toBe(undefined);
    expect(clockProblem(member('a', { heartbeat: max + 1 }), nowMs)).toBe('heartbeat-ahead');
    expect(clockProblem(member('a', { heartbeat: Number.MAX_SAFE_INTEGER }), nowMs)).toBe(
      'heartbeat-ahead',
    );
    // Members not heard of yet are gossiped at generation 0, heartbeat 0.
    expect(clockProblem(member('a', { generation: 0, heartbeat: 0 }), nowMs)).toBe(undefined);
  });
});

describe('screenGossip', () => {
  it('splits a state into known others, the entry about this node, and counted leftovers', () => {
    const remote = new Map([
      ['a', member('a')],
      ['b', member('b', { generation: Number.MAX_SAFE_INTEGER })],
      ['self', member('self')],
      ['x', member('x')],
      ['y', member('y')],
    ]);
    const s = screenGossip(remote, 'self', (id) => ['a', 'b'].includes(id), nowMs);
    expect([...s.others.keys()]).toEqual(['a']);
    expect(s.aboutSelf?.id).toBe('self');
    expect(s.ignored).toEqual(
      new Map([
        ['generation-ahead', 1],
        ['unknown-member', 2],
      ]),
    );
  });
});

describe('outbid', () => {
  const own = member('n1', { generation: 100, heartbeat: 7 });

  it('raises only generation and heartbeat, just above a newer claim', () => {
    const claim = member('n1', {
      generation: 200,
      heartbeat: 3,
      address: 'evil:1',
      status: 'left',
    });
    expect(outbid(own, claim)).toEqual({ ...own, generation: 200, heartbeat: 4 });
    expect(outbid(own, member('n1', { generation: 100, heartbeat: 9 }))).toEqual({
      ...own,
      heartbeat: 10,
    });
    // Same generation and heartbeat, a later status: still newer, still outbid.
    expect(outbid(own, { ...own, status: 'left' })).toEqual({ ...own, heartbeat: 8 });
  });

  it('leaves its own state when the claim is not newer', () => {
    expect(outbid(own, own)).toBeUndefined();
    expect(outbid(own, member('n1', { generation: 100, heartbeat: 2 }))).toBeUndefined();
    expect(outbid(own, member('n1', { generation: 99, heartbeat: 1_000 }))).toBeUndefined();
  });
});
