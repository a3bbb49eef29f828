import { describe, expect, it } from 'vitest';
import type { GossipState, MemberState } from './index.js';
import { checkGossipState } from './index.js';
import { addressLengthMax, idLengthMax, membersMax } from './gossip-check.js';
import { initialState } from './gossip-state.js';

const member: MemberState = {
  id: 'n1',
  address: '10.0.0.1:7000',
  peerAddress: '10.0.0.1:7001',
  zone: 'a',
  generation: 1,
  heartbeat: 0,
  status: 'up',
};

function remoteWith(changes: Record<string, unknown>): GossipState {
  // What a decoder could hand over from a hostile or buggy peer.
  return new Map([['n1', { ...member, ...changes }]]);
}

describe('checkGossipState', () => {
  it('accepts well-formed gossip', () => {
    expect(checkGossipState(initialState(member), new Map())).toBeUndefined();
    expect(checkGossipState(remoteWith({ zone: '' }), initialState(member))).toBeUndefined();
    // A node that does not name its peer port gossips '' (its peer port is then client + 1).
    expect(checkGossipState(remoteWith({ peerAddress: '' }), new Map())).toBeUndefined();
  });

  it('names the field that is wrong', () => {
    const cases: [Record<string, unknown>, RegExp][] = [
      [{ id: '' }, /id-mismatch|id must be/],
      [{ address: '' }, /^field-invalid .*: address must be/],
      [{ peerAddress: 'p'.repeat(addressLengthMax + 1) }, /peer address must be/],
      [{ peerAddress: 7001 }, /peer address must be/],
      [{ zone: 'z'.repeat(65) }, /zone must be/],
      [{ generation: -1 }, /generation -1 is not a counter/],
      [{ heartbeat: 1.5 }, /heartbeat 1.5 is not a counter/],
      [{ heartbeat: Number.NaN }, /heartbeat NaN/],
      [{ status: 'dead' }, /status "dead" is unknown/],
    ];
    for (const [changes, message] of cases) {
      const error = checkGossipState(remoteWith(changes), new Map());
      expect(error).toBeDefined();
      expect(`${error!.code} ${error!.message}`).toMatch(message);
    }
    expect(checkGossipState(remoteWith({ id: 'n2' }), new Map())?.code).toBe('id-mismatch');
    const longId = 'x'.repeat(idLengthMax + 1);
    const long = new Map([[longId, { ...member, id: longId }]]);
    expect(checkGossipState(long, new Map())).toMatchObject({ code: 'field-invalid' });
  });

  it('refuses gossip that would grow the state past membersMax', () => {
    const many = (count: number, prefix: string): GossipState =>
      new Map(
        Array.from({ length: count }, (_, i): [string, MemberState] => [
          `${prefix}${i}`,
          { ...member, id: `${prefix}${i}` },
        ]),
      );
    const local = many(membersMax - 1, 'a');
    expect(checkGossipState(many(1, 'b'), local)).toBeUndefined();
    expect(checkGossipState(local, local)).toBeUndefined();
    expect(checkGossipState(many(2, 'b'), local)).toEqual({
      code: 'too-many-members',
      message: `merging would hold more than membersMax=${membersMax} members`,
    });
  });
});
