import { livenessDefaults } from '@ringstore/membership';
import type { GossipResponse, MemberState } from '@ringstore/proto';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { createLogger } from '../../logger.js';
import type { Peers } from '../../peer/peers.js';
import { Gossiper } from './gossiper.js';

const intervalMs = 2;

const member = (id: string, heartbeat: number): MemberState => ({
  id,
  address: `127.0.0.1:${7_000 + Number(id.slice(1))}`,
  peerAddress: `127.0.0.1:${7_100 + Number(id.slice(1))}`,
  zone: '',
  generation: 5n,
  heartbeat: BigInt(heartbeat),
  status: 'up',
  ringTerm: 0n,
  ringVersion: 0n,
});

/** n2 answers every exchange; its heartbeat advances only while `beating` says so. */
function setup(localPause: () => boolean, busy: () => boolean = () => false) {
  let heartbeat = 1;
  let beating = true;
  let rounds = 0;
  const peers = {
    gossip: (): Promise<GossipResponse> => {
      rounds++;
      if (beating) heartbeat++;
      return Promise.resolve({ members: [member('n2', heartbeat)], ring: undefined });
    },
    redial: () => undefined,
  } as unknown as Peers;
  const g = new Gossiper(
    { id: 'n1', address: '127.0.0.1:7001', peerAddress: '127.0.0.1:7101', zone: '', generation: 1 },
    [{ id: 'n2', address: '127.0.0.1:7002', peerAddress: '127.0.0.1:7102' }],
    {
      gossipIntervalMs: intervalMs,
      phiThreshold: 8,
      ...livenessDefaults(intervalMs),
      localPause,
      busy,
    },
    peers,
    createLogger({ level: 'silent', nodeId: 'n1', pretty: false }),
  );
  return {
    g,
    rounds: () => rounds,
    stopBeating: () => (beating = false),
  };
}

describe('Gossiper while this node is saturated (a local pause)', () => {
  let g: Gossiper | undefined;
  afterEach(() => g?.stop());

  it('convicts a silent peer when not paused (the control)', async () => {
    const s = setup(() => false);
    g = s.g;
    g.start();
    await vi.waitFor(() => expect(s.rounds()).toBeGreaterThan(20), { timeout: 5_000, interval: 5 });
    s.stopBeating();
    await vi.waitFor(() => expect(s.g.isUp('n2')).toBe(false), { timeout: 5_000, interval: 5 });
    expect(s.g.suppressedSuspicions()).toBe(0);
  });

  it('neither convicts nor suspects a peer while paused, and judges again after', async () => {
    let paused = false;
    const s = setup(() => paused);
    g = s.g;
    g.start();
    await vi.waitFor(() => expect(s.rounds()).toBeGreaterThan(20), { timeout: 5_000, interval: 5 });
    expect(s.g.isUp('n2')).toBe(true);
    paused = true;
    s.stopBeating();
    const from = s.rounds();
    // Far more silent rounds than the control needed to convict it.
    await vi.waitFor(() => expect(s.rounds()).toBeGreaterThan(from + 300), {
      timeout: 10_000,
      interval: 5,
    });
    s.g.suspect('n2', 'a request timed out');
    expect(s.g.isUp('n2')).toBe(true);
    expect(s.g.suppressedSuspicions()).toBeGreaterThan(300);
    paused = false;
    await vi.waitFor(() => expect(s.g.isUp('n2')).toBe(false), { timeout: 5_000, interval: 5 });
  });

  it('while only busy (its queue nearly full), ignores failed requests but still convicts by heartbeats', async () => {
    const s = setup(
      () => false,
      () => true,
    );
    g = s.g;
    g.start();
    await vi.waitFor(() => expect(s.rounds()).toBeGreaterThan(20), { timeout: 5_000, interval: 5 });
    s.g.suspect('n2', 'a request timed out');
    expect(s.g.isUp('n2')).toBe(true);
    expect(s.g.suppressedSuspicions()).toBe(1);
    s.stopBeating();
    await vi.waitFor(() => expect(s.g.isUp('n2')).toBe(false), { timeout: 5_000, interval: 5 });
  });
});
