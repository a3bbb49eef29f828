import { livenessDefaults } from '@ringstore/membership';
import type { GossipRequest, GossipResponse, MemberState } from '@ringstore/proto';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { createLogger } from '../../logger.js';
import type { Peers } from '../../peer/peers.js';
import { Gossiper } from './gossiper.js';

const intervalMs = 2;
const member = (id: string, heartbeat = 1): MemberState => ({
  id,
  address: `127.0.0.1:${7_000 + Number(id.slice(1))}`,
  zone: '',
  generation: 5n,
  heartbeat: BigInt(heartbeat),
  status: 'up',
  ringTerm: 0n,
  ringVersion: 0n,
});

/** Peers' gossip call only: records who was asked and answers with `members`. */
function fakePeers(members: () => MemberState[]) {
  const asked: string[] = [];
  const peers = {
    gossip: (nodeId: string, _req: GossipRequest): Promise<GossipResponse> => {
      asked.push(nodeId);
      return Promise.resolve({ members: members(), ring: undefined });
    },
    redial: () => undefined,
  };
  return { asked, peers: peers as unknown as Peers };
}

function gossiper(peers: Peers, ids: readonly string[]): Gossiper {
  const others = ids.map((id) => ({ id, address: `127.0.0.1:${7_000 + Number(id.slice(1))}` }));
  return new Gossiper(
    { id: 'n1', address: '127.0.0.1:7001', zone: '', generation: 1 },
    others,
    { gossipIntervalMs: intervalMs, phiThreshold: 8, ...livenessDefaults(intervalMs) },
    peers,
    createLogger({ level: 'silent', nodeId: 'n1', pretty: false }),
  );
}

const active = (ids: readonly string[]) =>
  ids.map((id) => ({ id, address: `127.0.0.1:${7_000 + Number(id.slice(1))}`, zone: '' }));

describe('Gossiper following the ring', () => {
  let g: Gossiper | undefined;
  afterEach(() => g?.stop());

  it('forgets a departed member: never listed, never probed, not taken back from gossip', async () => {
    // Peers still list n4 (they are behind on the ring), with a heartbeat that keeps advancing.
    let beat = 1;
    const f = fakePeers(() => [member('n2', beat), member('n3', beat), member('n4', beat++)]);
    g = gossiper(f.peers, ['n2', 'n3', 'n4']);
    g.follow(active(['n2', 'n3']));
    g.handle({ from: 'n2', members: [member('n2', 50), member('n4', 50)], ring: undefined });
    g.start();
    // Before the fix n4 stayed a member, went down (no heartbeats of its own) and was probed
    // about one round in three; 60 rounds without it asked fail by chance with p < 1e-10.
    await vi.waitFor(() => expect(f.asked.length).toBeGreaterThanOrEqual(60), {
      timeout: 5_000,
      interval: 5,
    });
    expect(new Set(f.asked)).toEqual(new Set(['n2', 'n3']));
    expect(g.members().map((m) => m.node?.id)).toEqual(['n1', 'n2', 'n3']);
    expect(g.isUp('n4')).toBe(false);
  });

  it('ignores gossip about ids the ring does not name, and adds a member once it does', () => {
    const f = fakePeers(() => []);
    g = gossiper(f.peers, ['n2']);
    g.handle({ from: 'n2', members: [member('n2'), member('n9')], ring: undefined });
    expect(g.members().map((m) => m.node?.id)).toEqual(['n1', 'n2']);
    g.follow(active(['n2', 'n9']));
    expect(g.members().map((m) => m.node?.id)).toEqual(['n1', 'n2', 'n9']);
    expect(g.isUp('n9')).toBe(true);
  });
});
