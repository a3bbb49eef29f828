// Starts clusters of the fake node for tests, and remembers every pid any of them spawned so that
// cleanUp() can stop them, kill strays and report any process that outlived its cluster.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { startCluster, type Cluster, type StartClusterOptions } from '../cluster.js';

export const fakeNodeBin = fileURLToPath(new URL('./fake-node.mjs', import.meta.url));

/** How long cleanUp waits for a SIGKILLed stray to disappear. */
const strayWaitMs = 2_000;

export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** Pids still alive after up to waitMs (exits are reaped asynchronously). */
export async function alivePids(pids: readonly number[], waitMs = 0): Promise<number[]> {
  const giveUpAtMs = Date.now() + waitMs;
  for (;;) {
    const alive = pids.filter(isAlive);
    if (alive.length === 0 || Date.now() >= giveUpAtMs) return alive;
    await sleep(20);
  }
}

export interface FakeClusterHarness {
  readonly spawnedPids: number[];
  /** A fresh temporary directory, removed by cleanUp. */
  readonly dir: string;
  start(options?: Partial<StartClusterOptions>): Promise<Cluster>;
  /** Stops every cluster, SIGKILLs any stray, removes the directory; returns the pids that had outlived their cluster. */
  cleanUp(): Promise<number[]>;
}

export async function fakeClusterHarness(): Promise<FakeClusterHarness> {
  const spawnedPids: number[] = [];
  const clusters: Cluster[] = [];
  const dir = await mkdtemp(join(tmpdir(), 'ringstore-tools-'));
  return {
    spawnedPids,
    dir,
    start: async (options = {}) => {
      const cluster = await startCluster({
        nodes: 2,
        dataDir: join(dir, 'data'),
        nodeBin: fakeNodeBin,
        startTimeoutMs: 8_000,
        stopTimeoutMs: 2_000,
        ...options,
        onSpawn: (node) => {
          spawnedPids.push(node.pid);
          options.onSpawn?.(node);
        },
      });
      clusters.push(cluster);
      return cluster;
    },
    cleanUp: async () => {
      await Promise.all(clusters.map((cluster) => cluster.stop().catch(() => undefined)));
      const outlived = await alivePids(spawnedPids, 200);
      for (const pid of outlived) process.kill(pid, 'SIGKILL');
      await alivePids(outlived, strayWaitMs);
      await rm(dir, { recursive: true, force: true });
      return outlived;
    },
  };
}
