// Real ringstore-node processes for ringctl's end-to-end tests: started from this repository's
// built storage node (apps/storage-node/dist: build first), on 127.0.0.1 ports the OS hands out,
// each logging to DIR/ID.log. stop() kills every process it started, by pid.
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, openSync, closeSync, readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { runCli } from './run-cli.js';

const nodeBin = fileURLToPath(
  new URL('../../../storage-node/bin/ringstore-node.js', import.meta.url),
);
const nodeMain = fileURLToPath(new URL('../../../storage-node/dist/main.js', import.meta.url));

/** How long a node gets to answer after its start (a loaded 2-core machine is slow). */
const startTimeoutMs = 30_000;
/** How long a killed process gets to be reaped. */
const exitWaitMs = 5_000;
const pollIntervalMs = 200;

export interface LiveNode {
  readonly id: string;
  /** host:port of its client port. */
  readonly address: string;
  readonly logFile: string;
}

export interface LiveNodes {
  readonly nodes: readonly LiveNode[];
  /** SIGKILL one node and wait until it is gone. */
  kill(id: string): Promise<void>;
  /** The node's log so far. */
  log(id: string): string;
  /** SIGKILL every node still running and wait for each. */
  stop(): Promise<void>;
}

export interface LiveNodesOptions {
  readonly count: number;
  /** Data and log files go here. */
  readonly dir: string;
  /** Appended to every node's command line. */
  readonly extraArgs: readonly string[];
  /** RINGSTORE_TOKEN for the readiness probe (ringctl ring), when the nodes want one. */
  readonly token?: string;
}

/** Starts count nodes (n1, n2, ...) knowing each other, and resolves once each answers. */
export async function startLiveNodes(options: LiveNodesOptions): Promise<LiveNodes> {
  if (!existsSync(nodeMain))
    throw new Error(`ringstore-node is not built (${nodeMain} is missing): run the build first`);
  const ports = await freePorts(2 * options.count);
  const members = Array.from({ length: options.count }, (_, i) => ({
    id: `n${i + 1}`,
    address: `127.0.0.1:${ports[2 * i]}`,
    peerAddress: `127.0.0.1:${ports[2 * i + 1]}`,
  }));
  const list = members.map((m) => `${m.id}=${m.address}/${m.peerAddress}`).join(',');
  const children = new Map<string, ChildProcess>();
  const nodes = members.map((m) => ({ ...m, logFile: join(options.dir, `${m.id}.log`) }));
  const live: LiveNodes = {
    nodes,
    kill: async (id) => {
      const child = children.get(id);
      children.delete(id);
      if (child !== undefined) await killAndWait(child);
    },
    log: (id) => readFileSync(join(options.dir, `${id}.log`), 'utf8'),
    stop: async () => {
      const all = [...children.values()];
      children.clear();
      await Promise.all(all.map(killAndWait));
    },
  };
  try {
    for (const node of nodes) {
      const data = join(options.dir, node.id);
      mkdirSync(data, { recursive: true });
      const args = ['--id', node.id, '--listen', node.address, '--peer-listen', node.peerAddress];
      args.push('--data', data, '--nodes', list, ...options.extraArgs);
      children.set(node.id, spawnLogged(args, node.logFile));
    }
    for (const node of nodes) await waitAnswering(node, options.token);
  } catch (error) {
    await live.stop();
    throw error;
  }
  return live;
}

function spawnLogged(args: readonly string[], logFile: string): ChildProcess {
  const fd = openSync(logFile, 'a');
  try {
    return spawn(process.execPath, [nodeBin, ...args], {
      stdio: ['ignore', fd, fd],
      env: { PATH: process.env['PATH'] ?? '', FORCE_COLOR: '0' },
    });
  } finally {
    closeSync(fd);
  }
}

async function waitAnswering(node: LiveNode, token: string | undefined): Promise<void> {
  const env: Record<string, string> = token === undefined ? {} : { RINGSTORE_TOKEN: token };
  const deadline = Date.now() + startTimeoutMs;
  for (;;) {
    const result = await runCli(['--node', node.address, '--deadline-ms', '1000', 'ring'], { env });
    if (result.code === 0) return;
    if (Date.now() > deadline)
      throw new Error(`${node.id} did not answer within ${startTimeoutMs} ms: ${result.stderr}`);
    await new Promise((resolve) => setTimeout(resolve, pollIntervalMs));
  }
}

async function killAndWait(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  child.kill('SIGKILL');
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<void>((_, reject) => {
    timer = setTimeout(
      () => reject(new Error(`pid ${child.pid} not gone ${exitWaitMs} ms after SIGKILL`)),
      exitWaitMs,
    );
  });
  try {
    await Promise.race([exited, late]);
  } finally {
    clearTimeout(timer);
  }
}

/** count distinct free ports: all held open at once, then released. */
async function freePorts(count: number): Promise<number[]> {
  const servers: Server[] = [];
  try {
    for (let i = 0; i < count; i++) {
      const server = createServer();
      servers.push(server);
      await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    }
    return servers.map((server) => {
      const address = server.address();
      if (address === null || typeof address === 'string') throw new Error('no TCP address');
      return address.port;
    });
  } finally {
    await Promise.all(
      servers.map((server) => new Promise<void>((resolve) => server.close(() => resolve()))),
    );
  }
}
