import { livenessDefaults } from '@ringstore/membership';
import type { GossipRequest, GossipResponse, MemberState } from '@ringstore/proto';
import { afterEach, describe, expect, it } from 'vitest';
import { RingstoreError } from '../../errors.js';
import { createLogger } from '../../logger.js';
import { Metrics } from '../../metrics.js';
import type { Peers } from '../../peer/peers.js';
import { generationAheadMaxMs } from './gossip-screen.js';
import { Gossiper } from './gossiper.js';

// Forged Gossip calls: one claiming generation 2^53 - 1 for a healthy node made every node see it
// down, for good; one naming 1,021 invented members must change nothing either.

const intervalMs = 1_000;
const nowMs = 1_800_000_000_000;
/** Generations are start times in ms; these nodes started an hour ago. */
const started = nowMs - 3_600_000;

const addressOf = (id: string) => `127.0.0.1:${7_000 + Number(id.slice(1))}`;
const peerAddressOf = (id: string) => `127.0.0.1:${8_000 + Number(id.slice(1))}`;

function member(id: string, over: Partial<MemberState> = {}): MemberState {
  return {
    id,
    address: addressOf(id),
    peerAddress: peerAddressOf(id),
    zone: '',
    generation: BigInt(started),
    heartbeat: 1n,
    status: 'up',
    ringTerm: 0n,
    ringVersion: 0n,
    ...over,
  };
}

const peers = { redial: () => undefined } as unknown as Peers;
let g: Gossiper | undefined;
afterEach(() => g?.stop());

function gossiper(metrics?: Metrics): Gossiper {
  g = new Gossiper(
    {
      id: 'n1',
      address: addressOf('n1'),
      peerAddress: peerAddressOf('n1'),
      zone: '',
      generation: started,
    },
    ['n2', 'n3'].map((id) => ({ id, address: addressOf(id), peerAddress: peerAddressOf(id) })),
    { gossipIntervalMs: intervalMs, phiThreshold: 8, ...livenessDefaults(intervalMs) },
    peers,
    createLogger({ level: 'silent', nodeId: 'n1', pretty: false }),
    undefined,
    metrics,
    () => nowMs,
  );
  return g;
}

const request = (from: string, members: MemberState[]): GossipRequest => ({
  from,
  members,
  ring: undefined,
});

function stateOf(gossip: Gossiper, id: string) {
  const m = gossip.members().find((x) => x.node?.id === id);
  return { generation: m?.generation, heartbeat: m?.heartbeat, address: m?.node?.address };
}

describe('gossip claiming a generation or heartbeat beyond the clock', () => {
  it('ignores generation 2^53 - 1 for a healthy node, which stays heard through its own gossip', () => {
    const gossip = gossiper();
    gossip.handle(request('n2', [member('n2', { heartbeat: 5n })]));
    // n3 (forged, or broken) claims n2 restarted at 2^53 - 1 ms.
    const forged = member('n2', { generation: BigInt(Number.MAX_SAFE_INTEGER) });
    gossip.handle(request('n3', [forged]));
    expect(stateOf(gossip, 'n2').generation).toBe(BigInt(started));
    // n2's own next heartbeat is still taken: it was lost behind the forged generation before.
    gossip.handle(request('n2', [member('n2', { heartbeat: 6n })]));
    expect(stateOf(gossip, 'n2')).toMatchObject({ generation: BigInt(started), heartbeat: 6n });
    expect(gossip.ignored()['generation-ahead']).toBe(1);
  });

  it('takes a generation up to a day ahead (clock skew), not beyond', () => {
    const gossip = gossiper();
    const ahead = (ms: number) => member('n2', { generation: BigInt(nowMs + ms) });
    gossip.handle(request('n3', [ahead(generationAheadMaxMs + 1)]));
    expect(stateOf(gossip, 'n2').generation).toBe(0n);
    gossip.handle(request('n3', [ahead(60_000)]));
    expect(stateOf(gossip, 'n2').generation).toBe(BigInt(nowMs + 60_000));
  });

  it('ignores a heartbeat of 2^53 - 1 (beyond one beat a millisecond since the start)', () => {
    const gossip = gossiper();
    gossip.handle(request('n2', [member('n2', { heartbeat: 5n })]));
    gossip.handle(request('n3', [member('n2', { heartbeat: BigInt(Number.MAX_SAFE_INTEGER) })]));
    gossip.handle(request('n2', [member('n2', { heartbeat: 6n })]));
    expect(stateOf(gossip, 'n2').heartbeat).toBe(6n);
    expect(gossip.ignored()['heartbeat-ahead']).toBe(1);
  });

  it('never takes gossip about this node; a newer claim is outbid, its fields never taken', () => {
    const gossip = gossiper();
    const claim = member('n1', {
      address: '10.6.6.6:1',
      generation: BigInt(nowMs + 60_000),
      heartbeat: 40n,
      status: 'left',
    });
    gossip.handle(request('n3', [claim]));
    // Our own entry now beats the claim everywhere it spread: same generation, one beat more.
    expect(stateOf(gossip, 'n1')).toEqual({
      generation: BigInt(nowMs + 60_000),
      heartbeat: 41n,
      address: addressOf('n1'),
    });
    expect(gossip.members().find((m) => m.node?.id === 'n1')?.node?.status).toBe('up');
    // An older claim (the usual case: a peer's view of us lags) changes nothing.
    gossip.handle(request('n3', [member('n1', { heartbeat: 2n })]));
    expect(stateOf(gossip, 'n1').heartbeat).toBe(41n);
    // A claim beyond the clock is not even outbid: it is ignored.
    gossip.handle(request('n3', [member('n1', { generation: BigInt(Number.MAX_SAFE_INTEGER) })]));
    expect(stateOf(gossip, 'n1').generation).toBe(BigInt(nowMs + 60_000));
  });
});

describe('gossip naming members the ring does not', () => {
  it('ignores 1,021 invented members and counts them; the real peers stay up', async () => {
    const metrics = new Metrics();
    const gossip = gossiper(metrics);
    const invented = Array.from({ length: 1_021 }, (_, i) =>
      member(`x${i + 10}`, { status: 'left' }),
    );
    gossip.handle(request('n2', [member('n2', { heartbeat: 3n }), ...invented]));
    expect(gossip.members().map((m) => m.node?.id)).toEqual(['n1', 'n2', 'n3']);
    expect(gossip.isUp('n2')).toBe(true);
    expect(gossip.isUp('n3')).toBe(true);
    expect(gossip.ignored()['unknown-member']).toBe(1_021);
    expect(await metrics.text()).toMatch(
      /ringstore_gossip_ignored_total\{reason="unknown-member"\} 1021/,
    );
  });

  it('refuses a message of more than membersMax members whole, counted "malformed"', () => {
    const gossip = gossiper();
    const invented = Array.from({ length: 1_100 }, (_, i) => member(`x${i + 10}`));
    const call = () => gossip.handle(request('n2', [member('n2', { heartbeat: 9n }), ...invented]));
    expect(call).toThrow(RingstoreError);
    expect(call).toThrow(/more than membersMax/);
    expect(stateOf(gossip, 'n2').heartbeat).toBe(0n);
    expect(gossip.ignored().malformed).toBe(2);
  });

  it('ignores what a gossip answer says beyond the clock, as it does a request', async () => {
    const forged: GossipResponse = {
      members: [member('n2', { generation: BigInt(Number.MAX_SAFE_INTEGER) }), member('x99')],
      ring: undefined,
    };
    const answering = {
      gossip: () => Promise.resolve(forged),
      redial: () => undefined,
    } as unknown as Peers;
    g = new Gossiper(
      {
        id: 'n1',
        address: addressOf('n1'),
        peerAddress: peerAddressOf('n1'),
        zone: '',
        generation: started,
      },
      [{ id: 'n2', address: addressOf('n2'), peerAddress: peerAddressOf('n2') }],
      { gossipIntervalMs: 5, phiThreshold: 8, ...livenessDefaults(5) },
      answering,
      createLogger({ level: 'silent', nodeId: 'n1', pretty: false }),
      undefined,
      undefined,
      () => nowMs,
    );
    const gossip = g;
    gossip.start();
    await new Promise((resolve) => setTimeout(resolve, 60));
    expect(gossip.ignored()['generation-ahead']).toBeGreaterThan(0);
    expect(gossip.ignored()['unknown-member']).toBeGreaterThan(0);
    expect(stateOf(gossip, 'n2').generation).toBe(0n);
  });
});
