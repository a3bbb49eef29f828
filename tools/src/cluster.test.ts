import { readFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:net';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { nodeArgs, portLayout, seedArgs, startCluster, type ClusterNode } from './cluster.js';
import { ClusterError } from './errors.js';
import { freePort, isPortFree } from './free-port.js';
import { checkHealth, healthClient } from './health.js';
import type { ExitInfo } from './node-process.js';
import {
  alivePids,
  fakeClusterHarness,
  fakeNodeBin,
  isAlive,
  type FakeClusterHarness,
} from './test-support/fake-cluster.js';

let harness: FakeClusterHarness;

beforeEach(async () => {
  harness = await fakeClusterHarness();
});

afterEach(async () => {
  // Every process any test started must be gone once its cluster is stopped.
  expect(await harness.cleanUp()).toEqual([]);
});

async function healthOf(address: string): Promise<string> {
  const client = healthClient(address);
  try {
    return await checkHealth(client, 2_000);
  } finally {
    client.close();
  }
}

/** The rejection of a promise, which must reject with a ClusterError. */
async function clusterErrorOf(promise: Promise<unknown>): Promise<ClusterError> {
  const error = await promise.then(
    () => undefined,
    (rejection: unknown) => rejection,
  );
  expect(error).toBeInstanceOf(ClusterError);
  return error as ClusterError;
}

async function startsOf(node: ClusterNode): Promise<number> {
  return (await readFile(join(node.dataDir, 'starts.log'), 'utf8')).trim().split('\n').length;
}

describe('startCluster', () => {
  it('starts every node on its own free client and peer ports and returns once all answer SERVING; stop() ends them with SIGTERM', async () => {
    const cluster = await harness.start({ nodes: 3, extraArgs: ['--fake-delay-ms', '300'] });
    const nodes = cluster.nodes;
    expect(nodes.map((node) => node.id)).toEqual(['n1', 'n2', 'n3']);
    const addresses = nodes.flatMap((node) => [node.address, node.peerAddress]);
    expect(new Set(addresses).size).toBe(6);
    expect(harness.spawnedPids).toEqual(nodes.map((node) => node.pid));
    for (const node of nodes) {
      expect(node.running).toBe(true);
      expect(node.address).toMatch(/^127\.0\.0\.1:\d+$/);
      expect(node.peerAddress).toMatch(/^127\.0\.0\.1:\d+$/);
      expect(await healthOf(node.address)).toBe('SERVING');
      expect(await healthOf(node.peerAddress)).toBe('SERVING');
      expect(node.logFile).toBe(join(harness.dir, 'data', `${node.id}.log`));
      expect(await readFile(node.logFile, 'utf8')).toContain(`fake node ${node.id}: SERVING`);
    }
    await cluster.stop();
    expect(harness.spawnedPids.filter(isAlive)).toEqual([]);
    expect(cluster.nodes.every((node) => !node.running)).toBe(true);
    for (const node of nodes)
      expect(await readFile(node.logFile, 'utf8')).toContain('stopping on SIGTERM');
  });

  it('uses consecutive client/peer port pairs from basePort, logs to logDir, and passes id, addresses, data, members and extra arguments', async () => {
    const basePort = await freeConsecutivePorts(4);
    const logDir = join(harness.dir, 'logs');
    const cluster = await harness.start({ nodes: 2, basePort, logDir, extraArgs: ['--w', '1'] });
    const [n1, n2] = cluster.nodes;
    // Each node's peer port is its client port + 1 (the node's default), the next node two on.
    expect([n1!.address, n1!.peerAddress, n2!.address, n2!.peerAddress]).toEqual([
      `127.0.0.1:${basePort}`,
      `127.0.0.1:${basePort + 1}`,
      `127.0.0.1:${basePort + 2}`,
      `127.0.0.1:${basePort + 3}`,
    ]);
    expect(n2!.dataDir).toBe(join(harness.dir, 'data', 'n2'));
    const argv = JSON.parse(await readFile(join(n2!.dataDir, 'argv.json'), 'utf8')) as string[];
    const members = `n1=${n1!.address}/${n1!.peerAddress},n2=${n2!.address}/${n2!.peerAddress}`;
    expect(argv).toEqual([
      '--id',
      'n2',
      '--listen',
      n2!.address,
      '--peer-listen',
      n2!.peerAddress,
      '--data',
      n2!.dataDir,
      '--nodes',
      members,
      '--exit-with-parent',
      '--w',
      '1',
    ]);
    expect(n2!.logFile).toBe(join(logDir, 'n2.log'));
    expect(await readFile(n2!.logFile, 'utf8')).toContain('fake node n2: listening on');
  });

  it('lays admin ports out at the client port + 1000, clear of the next nodes', () => {
    expect(portLayout(7001, 3, true)).toEqual([
      [7001, 7002, 8001],
      [7003, 7004, 8003],
      [7005, 7006, 8005],
    ]);
    expect(portLayout(7001, 2, false)).toEqual([
      [7001, 7002],
      [7003, 7004],
    ]);
  });

  it('with adminPorts, passes each node its admin address', async () => {
    const cluster = await harness.start({ nodes: 2, adminPorts: true });
    const [n1, n2] = cluster.nodes;
    expect(n1!.adminAddress).toMatch(/^127\.0\.0\.1:\d+$/);
    expect(n2!.adminAddress).not.toBe(n1!.adminAddress);
    const argv = JSON.parse(await readFile(join(n2!.dataDir, 'argv.json'), 'utf8')) as string[];
    expect(argv.slice(-3)).toEqual(['--admin-listen', n2!.adminAddress, '--exit-with-parent']);
    expect(n2!.argv?.slice(-3)).toEqual(argv.slice(-3));
  });

  it('refuses a base port that is taken, before starting anything', async () => {
    const server = await holdPort();
    const port = (server.address() as { port: number }).port;
    try {
      const error = await clusterErrorOf(harness.start({ nodes: 2, basePort: port }));
      expect(error.code).toBe('port_in_use');
      expect(error.message).toContain(`127.0.0.1:${port} is already in use`);
      expect(harness.spawnedPids).toEqual([]);
    } finally {
      server.close();
    }
  });

  it('refuses a taken peer port of the base port range, before starting anything', async () => {
    const basePort = await freeConsecutivePorts(4);
    // n2's peer port (basePort + 3) is taken: every pair is probed, not only the client ports.
    const server = await holdPort(basePort + 3);
    try {
      const error = await clusterErrorOf(harness.start({ nodes: 2, basePort }));
      expect(error.code).toBe('port_in_use');
      expect(error.message).toContain(`127.0.0.1:${basePort + 3} is already in use`);
      expect(harness.spawnedPids).toEqual([]);
    } finally {
      server.close();
    }
  });

  it('reports a node that exits at start with the tail of its log, and leaves no process running', async () => {
    const error = await clusterErrorOf(harness.start({ extraArgs: ['--fake-crash'] }));
    expect(error.code).toBe('node_exited');
    expect(error.message).toMatch(
      /^node n\d \(127\.0\.0\.1:\d+\) exited with code 1 before serving/,
    );
    expect(error.message).toContain('simulated start-up failure: cannot open the data directory');
    expect(error.logTail).toContain('simulated start-up failure');
    expect(error.logFile).toMatch(/n\d\.log$/);
    expect(harness.spawnedPids).toHaveLength(2);
    expect(await alivePids(harness.spawnedPids, 1_000)).toEqual([]);
  });

  it('gives up on a node that never serves after startTimeoutMs, and stops them all', async () => {
    const error = await clusterErrorOf(
      harness.start({ nodes: 1, extraArgs: ['--fake-not-serving'], startTimeoutMs: 1_500 }),
    );
    expect(error.code).toBe('start_timeout');
    // On a loaded machine the node may not even have answered yet; either way the wait is bounded.
    expect(error.message).toMatch(
      /not SERVING after 1500 ms \(last (answer NOT_SERVING|error .*DEADLINE_EXCEEDED)/,
    );
    expect(error.message).toContain('--- last lines of');
    expect(await alivePids(harness.spawnedPids, 1_000)).toEqual([]);
  });

  it('validates its options', async () => {
    expect(
      (await clusterErrorOf(startCluster({ nodes: 0, dataDir: '/tmp/x', nodeBin: fakeNodeBin })))
        .code,
    ).toBe('invalid_options');
    const tooHigh = startCluster({
      nodes: 3,
      basePort: 65_534,
      dataDir: '/tmp/x',
      nodeBin: fakeNodeBin,
    });
    expect((await clusterErrorOf(tooHigh)).code).toBe('invalid_options');
    // One node needs two ports: its client port and its peer port.
    const noPeerPort = startCluster({
      nodes: 1,
      basePort: 65_535,
      dataDir: '/tmp/x',
      nodeBin: fakeNodeBin,
    });
    const noRoom = await clusterErrorOf(noPeerPort);
    expect(noRoom.code).toBe('invalid_options');
    expect(noRoom.message).toContain('leaves no room for 2 ports');
    const missing = startCluster({ nodes: 1, dataDir: '/tmp/x', nodeBin: '/nonexistent/node.js' });
    const error = await clusterErrorOf(missing);
    expect(error.code).toBe('node_bin_missing');
    expect(error.message).toContain('/nonexistent/node.js does not exist');
  });
});

describe('a running cluster', () => {
  it('stop() falls back to SIGKILL when a node ignores SIGTERM', async () => {
    const cluster = await harness.start({
      nodes: 1,
      extraArgs: ['--fake-ignore-sigterm'],
      stopTimeoutMs: 300,
    });
    await cluster.stop();
    expect(harness.spawnedPids.filter(isAlive)).toEqual([]);
    expect(await readFile(cluster.node('n1').logFile, 'utf8')).toContain('ignoring SIGTERM');
  });

  it('kill() SIGKILLs one node; the others keep serving; restart() brings it back on the same port and data', async () => {
    const cluster = await harness.start();
    const before = cluster.node('n2');
    await cluster.kill('n2');
    expect(isAlive(before.pid)).toBe(false);
    expect(cluster.node('n2').running).toBe(false);
    expect(await healthOf(cluster.node('n1').address)).toBe('SERVING');
    await cluster.waitHealthy(2_000);

    await cluster.restart('n2');
    const after = cluster.node('n2');
    expect(after.pid).not.toBe(before.pid);
    expect(after.address).toBe(before.address);
    expect(after.peerAddress).toBe(before.peerAddress);
    expect(after.running).toBe(true);
    expect(await healthOf(after.address)).toBe('SERVING');
    expect(await startsOf(after)).toBe(2);
    expect(harness.spawnedPids).toContain(after.pid);
  });

  it('restart() of a running node stops it gracefully first', async () => {
    const cluster = await harness.start({ nodes: 1 });
    const before = cluster.node('n1');
    await cluster.restart('n1');
    expect(isAlive(before.pid)).toBe(false);
    expect(await readFile(before.logFile, 'utf8')).toContain('stopping on SIGTERM');
    expect(await healthOf(cluster.node('n1').address)).toBe('SERVING');
  });

  it('reports a node that dies on its own, and waitHealthy fails naming it', async () => {
    const exits: [string, ExitInfo][] = [];
    const cluster = await harness.start({
      onUnexpectedExit: (node, exit) => exits.push([node.id, exit]),
    });
    const victim = cluster.node('n2');
    process.kill(victim.pid, 'SIGKILL');
    await expect.poll(() => exits).toEqual([['n2', { code: null, signal: 'SIGKILL' }]]);
    expect(cluster.node('n2').running).toBe(false);
    const error = await clusterErrorOf(cluster.waitHealthy(2_000));
    expect(error.code).toBe('node_exited');
    expect(error.nodeId).toBe('n2');
    expect(error.message).toContain('was killed by SIGKILL before serving');
  });

  it('rejects unknown node ids, and restarts after stop', async () => {
    const cluster = await harness.start({ nodes: 1 });
    const unknown = await clusterErrorOf(cluster.kill('n9'));
    expect(unknown.code).toBe('unknown_node');
    expect(unknown.message).toContain('nodes: n1');
    await cluster.stop();
    expect((await clusterErrorOf(cluster.restart('n1'))).code).toBe('cluster_stopped');
  });
});

describe('addNode', () => {
  it("starts a node on two free ports with --seeds naming the running nodes' peer addresses", async () => {
    const cluster = await harness.start({ nodes: 2 });
    await cluster.kill('n2');
    const n3 = await cluster.addNode('n3');
    const taken = cluster.nodes
      .filter((n) => n.id !== 'n3')
      .flatMap((n) => [n.address, n.peerAddress]);
    expect(taken).not.toContain(n3.address);
    expect(taken).not.toContain(n3.peerAddress);
    expect(n3.peerAddress).not.toBe(n3.address);
    expect(await healthOf(n3.peerAddress)).toBe('SERVING');
    const argv = JSON.parse(await readFile(join(n3.dataDir, 'argv.json'), 'utf8')) as string[];
    // Only n1 runs: a killed node is no seed.
    expect(argv).toEqual([
      ...['--id', 'n3', '--listen', n3.address, '--peer-listen', n3.peerAddress],
      ...['--data', n3.dataDir, '--seeds', cluster.node('n1').peerAddress, '--exit-with-parent'],
    ]);
  });

  it('given a client address, takes its port + 1 as the peer address', async () => {
    const client = await freeConsecutivePorts(2);
    const cluster = await harness.start({ nodes: 1 });
    const n2 = await cluster.addNode('n2', `127.0.0.1:${client}`);
    expect([n2.address, n2.peerAddress]).toEqual([
      `127.0.0.1:${client}`,
      `127.0.0.1:${client + 1}`,
    ]);
  });
});

describe('nodeArgs and seedArgs', () => {
  it('name the node, its client and peer addresses and data, every member or the seeds, then the extra arguments', () => {
    const members = [
      { id: 'n1', address: 'h:1', peerAddress: 'h:2' },
      { id: 'n2', address: 'h:3', peerAddress: 'h:9' },
    ];
    const n1 = { id: 'n1', address: 'h:1', peerAddress: 'h:2', dataDir: '/d/n1' };
    expect(nodeArgs(n1, members, ['--r', '1'])).toEqual([
      ...['--id', 'n1', '--listen', 'h:1', '--peer-listen', 'h:2', '--data', '/d/n1'],
      ...['--nodes', 'n1=h:1/h:2,n2=h:3/h:9', '--r', '1'],
    ]);
    const n3 = { id: 'n3', address: 'h:5', peerAddress: 'h:6', dataDir: '/d/n3' };
    expect(seedArgs(n3, ['h:2', 'h:9'], ['--r', '1'])).toEqual([
      ...['--id', 'n3', '--listen', 'h:5', '--peer-listen', 'h:6', '--data', '/d/n3'],
      ...['--seeds', 'h:2,h:9', '--r', '1'],
    ]);
  });
});

/** The first of `count` consecutive ports free on 127.0.0.1 (a client and a peer port per node). */
async function freeConsecutivePorts(count: number): Promise<number> {
  const attemptsMax = 20;
  for (let attempt = 0; attempt < attemptsMax; attempt++) {
    const port = await freePort();
    if (port + count - 1 > 65_535) continue;
    const rest = Array.from({ length: count - 1 }, (_, i) => port + 1 + i);
    if ((await Promise.all(rest.map((p) => isPortFree(p)))).every(Boolean)) return port;
  }
  throw new Error(`no ${count} consecutive free ports in ${attemptsMax} attempts`);
}

function holdPort(port = 0): Promise<Server> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen({ host: '127.0.0.1', port }, () => resolve(server));
  });
}
