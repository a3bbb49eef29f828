import { describe, expect, it } from 'vitest';
import type { Cluster, ClusterNode } from '../cluster.js';
import { plaintextAccess } from './access.js';
import { clusterRpc } from './cluster-rpc.js';
import { runSchedule, type NemesisDeps } from './nemesis.js';
import type { Network } from './network.js';
import type { FaultWindow } from './schedule.js';

/** A cluster and a network that record what the nemesis asks of them. */
function fakes(options: { partitionUnavailable?: string; restartFails?: boolean } = {}): {
  deps: NemesisDeps;
  calls: string[];
} {
  const calls: string[] = [];
  const t0 = Date.now();
  const node = (id: string): ClusterNode => ({
    id,
    address: '',
    peerAddress: '',
    pid: 0,
    dataDir: '',
    logFile: '',
    running: true,
  });
  const cluster = {
    nodes: [],
    node,
    stop: () => Promise.resolve(),
    kill: (id: string) => (calls.push(`kill ${id}`), Promise.resolve()),
    stopNode: () => Promise.resolve(),
    restart: (id: string) => (
      calls.push(`restart ${id}`),
      options.restartFails === true ? Promise.reject(new Error('did not serve')) : Promise.resolve()
    ),
    waitHealthy: () => Promise.resolve(),
    addNode: (id?: string) => Promise.resolve(node(id ?? 'n9')),
    waitExit: () => Promise.resolve(0),
  } satisfies Cluster;
  const network: Network = {
    mode: 'netns',
    note: '',
    addresses: undefined,
    commandPrefix: undefined,
    linkMethod: 'tc netem',
    unavailable: (kind) => (kind === 'partition' ? options.partitionUnavailable : undefined),
    drop: (drops) => (calls.push(`drop ${drops.length}`), Promise.resolve()),
    heal: () => (calls.push('heal'), Promise.resolve()),
    slowLink: (id) => (calls.push(`slow ${id}`), Promise.resolve()),
    healLink: (id) => (calls.push(`fast ${id}`), Promise.resolve()),
    addNode: () => Promise.resolve(undefined),
    close: () => Promise.resolve(),
  };
  const deps = {
    cluster,
    network,
    nowMs: () => Date.now() - t0,
    log: () => undefined,
    departed: new Set<string>(),
    rpc: clusterRpc(plaintextAccess),
    prepareNode: () => Promise.resolve(),
  };
  return { deps, calls };
}

const partition: FaultWindow = {
  index: 0,
  startMs: 10,
  endMs: 120,
  fault: {
    kind: 'partition',
    mode: 'one-way',
    groups: [['n1'], ['n2', 'n3']],
    drops: [
      { from: 'n2', to: 'n1' },
      { from: 'n3', to: 'n1' },
    ],
  },
};
const kill: FaultWindow = {
  index: 1,
  startMs: 150,
  endMs: 200,
  fault: { kind: 'kill', nodes: ['n2'] },
};

describe('runSchedule', () => {
  it('applies each fault at its start and heals it at its end, in order', async () => {
    const { deps, calls } = fakes();
    const records = await runSchedule([partition, kill], deps, new AbortController().signal);
    expect(calls).toEqual(['drop 2', 'heal', 'kill n2', 'restart n2']);
    expect(records[0]?.appliedMs).toBeGreaterThanOrEqual(10);
    expect(records[0]?.healedMs).toBeGreaterThanOrEqual(120);
    expect(records[1]?.healedMs).toBeGreaterThanOrEqual(200);
  });

  it('skips a fault this machine cannot do, with the reason, and keeps the schedule timing', async () => {
    const t0 = Date.now();
    const { deps, calls } = fakes({ partitionUnavailable: 'needs netns' });
    const records = await runSchedule([partition], deps, new AbortController().signal);
    expect(records[0]?.skipped).toBe('needs netns');
    expect(records[0]?.appliedMs).toBeUndefined();
    expect(calls).toEqual([]);
    // The load runs through the skipped window: the schedule ends when it would have healed.
    expect(Date.now() - t0).toBeGreaterThanOrEqual(115);
  });

  it('records a failed heal and goes on; an abort heals the fault under way before returning', async () => {
    const failing = fakes({ restartFails: true });
    const records = await runSchedule([kill], failing.deps, new AbortController().signal);
    expect(records[0]?.error).toBe('heal: did not serve');

    const { deps, calls } = fakes();
    const abort = new AbortController();
    setTimeout(() => abort.abort(), 40);
    const aborted = await runSchedule([partition, kill], deps, abort.signal);
    expect(calls).toEqual(['drop 2', 'heal']);
    expect(aborted).toHaveLength(1);
    expect(aborted[0]?.healedMs).toBeLessThan(120);
  });
});
