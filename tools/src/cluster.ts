// A local Ringstore cluster: N ringstore-node processes on 127.0.0.1, each with its own data
// directory and log file, started together and waited on until every one answers SERVING. Used by
// `npm start` and by the tests that start real processes. Every wait is bounded, and every failure
// names the node and shows the end of its log.
import { existsSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ClusterError, assert, type ClusterErrorCode } from './errors.js';
import type { ChannelCredentials } from '@grpc/grpc-js';
import { defaultPeerAddress } from '@ringstore/membership';
import { freePorts, isPortFree } from './free-port.js';
import { waitForServing } from './health.js';
import { readLogTail } from './log-tail.js';
import {
  describeExit,
  spawnChild,
  stopChild,
  type ChildHandle,
  type ExitInfo,
} from './node-process.js';

/** Most nodes one launcher starts: beyond this a laptop runs out of cores long before. */
export const nodesMax = 64;
/** Default bound on a node's start (process start, storage open, SERVING). */
export const startTimeoutMsDefault = 30_000;
/** Default time a node gets to exit after SIGTERM before SIGKILL. */
export const stopTimeoutMsDefault = 10_000;
/** Lines of a node's log shown in an error. */
export const logTailLines = 40;
/** Highest TCP port: the last node's port must not pass it. */
const portMax = 65_535;

/** The storage node entry point in this repository, relative to tools/src or tools/dist. */
const repoNodeBin = fileURLToPath(
  new URL('../../apps/storage-node/bin/ringstore-node.js', import.meta.url),
);
const repoNodeMain = fileURLToPath(
  new URL('../../apps/storage-node/dist/main.js', import.meta.url),
);

export interface StartClusterOptions {
  /** How many nodes: n1, n2, ... */
  readonly nodes: number;
  /** Port of n1; n2 gets the next one and so on. 0 or absent: free ports picked at random. */
  readonly basePort?: number | undefined;
  /** Node i keeps its data in dataDir/ni. */
  readonly dataDir: string;
  /** Appended to every node's command line (e.g. ['--replicas', '3']). */
  readonly extraArgs?: readonly string[] | undefined;
  /** Node i appends its stdout and stderr to logDir/ni.log. Default: dataDir. */
  readonly logDir?: string | undefined;
  /** The script to run with node. Default: this repository's ringstore-node. */
  readonly nodeBin?: string | undefined;
  readonly host?: '127.0.0.1' | undefined;
  /**
   * host:port of each node's client port, n1 first (one per node); replaces host and basePort;
   * each node's peer port is its client port + 1. The launcher does not probe them: they may
   * belong to other network namespaces (the chaos harness).
   */
  readonly addresses?: readonly string[] | undefined;
  /**
   * Words run before `node <nodeBin> ...` for a node, e.g. ['ip', 'netns', 'exec', 'ns1']. The
   * program must exec the node (keep its pid), so that the pid killed and signalled is the node's.
   */
  readonly commandPrefix?: ((id: string) => readonly string[]) | undefined;
  readonly startTimeoutMs?: number | undefined;
  readonly stopTimeoutMs?: number | undefined;
  /** Flags for one node only, after extraArgs (e.g. its own certificate files). */
  readonly nodeArgs?: ((id: string) => readonly string[]) | undefined;
  /** How the launcher reaches the client port for health checks: TLS when the nodes serve it. */
  readonly clientCredentials?: ChannelCredentials | undefined;
  /** Added to the launcher's environment for every node. */
  readonly env?: Readonly<Record<string, string | undefined>> | undefined;
  /** Called after every process start (restarts included), e.g. to record pids. */
  readonly onSpawn?: ((node: ClusterNode) => void) | undefined;
  /** Called when a node exits that the launcher did not stop or kill. */
  readonly onUnexpectedExit?: ((node: ClusterNode, exit: ExitInfo) => void) | undefined;
  /**
   * Gives every node an HTTP admin port (`--admin-listen`: metrics, health, the web console): with
   * basePort, the ports after the client and peer ports, one per node; otherwise free ones.
   */
  readonly adminPorts?: boolean | undefined;
  /**
   * Ties every node's life to this process (default true): the node gets `--exit-with-parent` and
   * a pipe on stdin whose other end only this process holds, so the nodes stop when it exits,
   * even by SIGKILL. Off for a node program that does not know the flag.
   */
  readonly exitWithParent?: boolean | undefined;
}

export interface ClusterNode {
  readonly id: string;
  /** host:port of its client port (KV, Cluster, health). */
  readonly address: string;
  /** host:port of its peer port (node-to-node traffic; `--seeds` names these). */
  readonly peerAddress: string;
  /** host:port of its HTTP admin port (metrics, health, web console), when it has one. */
  readonly adminAddress?: string | undefined;
  /** The command line of the current (or last) process, program included. */
  readonly argv?: readonly string[] | undefined;
  /** Pid of the current (or last) process. */
  readonly pid: number;
  readonly dataDir: string;
  readonly logFile: string;
  readonly running: boolean;
}

export interface Cluster {
  /** A snapshot of every node, in id order. */
  readonly nodes: readonly ClusterNode[];
  node(id: string): ClusterNode;
  /** SIGTERM to every node, a bounded wait, then SIGKILL. The cluster cannot be restarted. */
  stop(): Promise<void>;
  /** SIGKILL one node and wait for it to exit. */
  kill(id: string): Promise<void>;
  /** SIGTERM one node, a bounded wait, then SIGKILL. */
  stopNode(id: string): Promise<void>;
  /** Stop the node if it runs, start it again with the same port and data, wait for SERVING. */
  restart(id: string): Promise<void>;
  /** Wait until every node that should be running answers SERVING. */
  waitHealthy(timeoutMs: number): Promise<void>;
  /**
   * Starts one more node on free ports with `--seeds` (the running nodes' peer addresses) instead
   * of `--nodes`: it learns the ring and waits to be joined. Resolves once it answers SERVING.
   * `address`: its client address instead, the peer port + 1 (not probed: it may be in its own
   * network namespace).
   */
  addNode(id?: string, address?: string): Promise<ClusterNode>;
  /** Waits for the node's process to exit by itself (a node that left); its exit code. */
  waitExit(id: string, timeoutMs: number): Promise<number | null>;
}

interface Settings {
  readonly nodes: number;
  readonly basePort: number;
  readonly host: string;
  readonly dataDir: string;
  readonly logDir: string;
  readonly nodeBin: string;
  readonly extraArgs: readonly string[];
  readonly startTimeoutMs: number;
  readonly stopTimeoutMs: number;
  readonly env: Readonly<Record<string, string | undefined>>;
  readonly onSpawn: ((node: ClusterNode) => void) | undefined;
  readonly onUnexpectedExit: ((node: ClusterNode, exit: ExitInfo) => void) | undefined;
  readonly addresses: readonly string[] | undefined;
  readonly commandPrefix: ((id: string) => readonly string[]) | undefined;
  readonly nodeArgs: ((id: string) => readonly string[]) | undefined;
  readonly clientCredentials: ChannelCredentials | undefined;
  readonly adminPorts: boolean;
  readonly exitWithParent: boolean;
}

/** One node of the cluster; its process comes and goes with kill and restart. */
interface Slot {
  readonly id: string;
  readonly address: string;
  readonly peerAddress: string;
  readonly adminAddress: string | undefined;
  readonly dataDir: string;
  readonly logFile: string;
  child: ChildHandle | undefined;
  argv: readonly string[] | undefined;
  /** 'stopped': by the launcher (kill, stop); 'exited': on its own. */
  state: 'running' | 'stopped' | 'exited';
  /** Started with --seeds (added to a running cluster) rather than --nodes. */
  seeds?: readonly string[];
  exitCode?: number | null;
}

/** Starts the nodes and resolves once every one answers SERVING; on failure, none is left running. */
export async function startCluster(options: StartClusterOptions): Promise<Cluster> {
  const settings = validate(options);
  const addresses =
    settings.addresses?.map((address) => ({ address, peerAddress: defaultPeerAddress(address) })) ??
    (await choosePorts(settings)).map(([client, peer, admin]) => ({
      address: `${settings.host}:${client}`,
      peerAddress: `${settings.host}:${peer}`,
      adminAddress: admin === undefined ? undefined : `${settings.host}:${admin}`,
    }));
  const slots = addresses.map((a, index) => newSlot(settings, `n${index + 1}`, a));
  await mkdir(settings.logDir, { recursive: true });
  await Promise.all(slots.map((slot) => mkdir(slot.dataDir, { recursive: true })));
  const cluster = new LocalCluster(settings, slots);
  try {
    for (const slot of slots) cluster.spawn(slot);
    await cluster.waitHealthy(settings.startTimeoutMs);
  } catch (error) {
    // The start failure is the news; a node stuck even after SIGKILL is left to the exit hook.
    await cluster.stop().catch(() => undefined);
    throw error;
  }
  return cluster;
}

function validate(options: StartClusterOptions): Settings {
  const basePort = options.basePort ?? 0;
  const adminPorts = options.adminPorts ?? false;
  if (!Number.isInteger(options.nodes) || options.nodes < 1 || options.nodes > nodesMax) {
    throw new ClusterError(
      'invalid_options',
      `nodes must be an integer from 1 to ${nodesMax}, got ${options.nodes}`,
    );
  }
  const lastPort = basePort + 2 * options.nodes - 1 + (adminPorts ? adminPortOffset : 0);
  if (!Number.isInteger(basePort) || basePort < 0 || lastPort > portMax) {
    const each = adminPorts ? ', and an admin port' : '';
    throw new ClusterError(
      'invalid_options',
      `basePort ${basePort} leaves no room for ${2 * options.nodes} ports (a client and a peer port per node${each})`,
    );
  }
  if (adminPorts && options.addresses !== undefined)
    throw new ClusterError('invalid_options', 'adminPorts needs ports chosen here, not addresses');
  const nodeBin = resolve(options.nodeBin ?? repoNodeBin);
  if (!existsSync(nodeBin))
    throw new ClusterError('node_bin_missing', `the node program ${nodeBin} does not exist`);
  if (options.nodeBin === undefined && !existsSync(repoNodeMain)) {
    throw new ClusterError(
      'node_bin_missing',
      `ringstore-node is not built (${repoNodeMain} is missing): run npm run build`,
    );
  }
  if (options.addresses !== undefined && options.addresses.length !== options.nodes) {
    throw new ClusterError(
      'invalid_options',
      `addresses lists ${options.addresses.length} nodes, nodes is ${options.nodes}`,
    );
  }
  const dataDir = resolve(options.dataDir);
  return {
    nodes: options.nodes,
    basePort,
    host: options.host ?? '127.0.0.1',
    dataDir,
    logDir: resolve(options.logDir ?? dataDir),
    nodeBin,
    extraArgs: options.extraArgs ?? [],
    startTimeoutMs: options.startTimeoutMs ?? startTimeoutMsDefault,
    stopTimeoutMs: options.stopTimeoutMs ?? stopTimeoutMsDefault,
    env: { ...process.env, ...options.env },
    onSpawn: options.onSpawn,
    onUnexpectedExit: options.onUnexpectedExit,
    addresses: options.addresses,
    commandPrefix: options.commandPrefix,
    nodeArgs: options.nodeArgs,
    clientCredentials: options.clientCredentials,
    adminPorts,
    exitWithParent: options.exitWithParent ?? true,
  };
}

/** Ports of one node: client, peer, and admin when the cluster has admin ports. */
export type NodePorts = [client: number, peer: number, admin?: number];

/**
 * A node's admin port is its client port + 1000 (7001: 8001): easy to guess, and clear of the
 * client and peer ports (two per node, nodesMax nodes) and of the ports just after them, where the
 * README adds a fourth node by hand.
 */
export const adminPortOffset = 1_000;

/**
 * The ports of each node from basePort on: n1 basePort and basePort + 1, n2 the next two and so
 * on (so each peer port is its client port + 1, the node's default); admin ports at the client
 * port + adminPortOffset.
 */
export function portLayout(basePort: number, nodes: number, adminPorts: boolean): NodePorts[] {
  return Array.from({ length: nodes }, (_, index): NodePorts => {
    const client = basePort + 2 * index;
    return adminPorts ? [client, client + 1, client + adminPortOffset] : [client, client + 1];
  });
}

/** portLayout from basePort, each port checked free; or free ports anywhere (basePort 0). */
async function choosePorts(settings: Settings): Promise<NodePorts[]> {
  const { nodes, basePort, adminPorts } = settings;
  const perNode = adminPorts ? 3 : 2;
  if (basePort === 0) {
    const free = await freePorts(perNode * nodes, settings.host);
    return Array.from({ length: nodes }, (_, i): NodePorts => {
      const [client, peer, admin] = free.slice(perNode * i, perNode * i + perNode);
      assert(client !== undefined && peer !== undefined, 'freePorts returns as many as asked');
      return admin === undefined ? [client, peer] : [client, peer, admin];
    });
  }
  const pairs = portLayout(basePort, nodes, adminPorts);
  for (const port of pairs.flat()) {
    if (port === undefined) continue;
    if (!(await isPortFree(port, settings.host))) {
      throw new ClusterError(
        'port_in_use',
        `${settings.host}:${port} is already in use (another cluster running?); choose another base port`,
      );
    }
  }
  return pairs;
}

function newSlot(
  settings: Settings,
  id: string,
  a: {
    readonly address: string;
    readonly peerAddress: string;
    readonly adminAddress?: string | undefined;
  },
): Slot {
  return {
    id,
    address: a.address,
    peerAddress: a.peerAddress,
    adminAddress: a.adminAddress,
    dataDir: join(settings.dataDir, id),
    logFile: join(settings.logDir, `${id}.log`),
    child: undefined,
    argv: undefined,
    state: 'stopped',
  };
}

/** What a node's command line names of it. */
export interface LaunchedNode {
  readonly id: string;
  readonly address: string;
  readonly peerAddress: string;
  readonly dataDir: string;
}

/** The command line of one node: who it is, where it listens and keeps data, and its peers. */
export function nodeArgs(
  node: LaunchedNode,
  members: readonly {
    readonly id: string;
    readonly address: string;
    readonly peerAddress: string;
  }[],
  extraArgs: readonly string[],
): string[] {
  const memberList = members.map((m) => `${m.id}=${m.address}/${m.peerAddress}`).join(',');
  return [
    '--id',
    node.id,
    '--listen',
    node.address,
    '--peer-listen',
    node.peerAddress,
    '--data',
    node.dataDir,
    '--nodes',
    memberList,
    ...extraArgs,
  ];
}

/** Flags the cluster itself gives a node, before the caller's (which may override them). */
function launcherArgs(slot: Slot, settings: Settings): string[] {
  const admin = slot.adminAddress === undefined ? [] : ['--admin-listen', slot.adminAddress];
  return [...admin, ...(settings.exitWithParent ? ['--exit-with-parent'] : [])];
}

/** The command line of a node added to a running cluster: it learns the ring from the seeds. */
export function seedArgs(
  node: LaunchedNode,
  seeds: readonly string[],
  extraArgs: readonly string[],
): string[] {
  const listen = ['--listen', node.address, '--peer-listen', node.peerAddress];
  const base = ['--id', node.id, ...listen, '--data', node.dataDir];
  return [...base, '--seeds', seeds.join(','), ...extraArgs];
}

class LocalCluster implements Cluster {
  private stopped = false;

  constructor(
    private readonly settings: Settings,
    private readonly slots: Slot[],
  ) {}

  async addNode(id = `n${this.slots.length + 1}`, address?: string): Promise<ClusterNode> {
    if (this.slots.some((s) => s.id === id))
      throw new ClusterError('invalid_options', `${id} exists`);
    const host = this.settings.host;
    const portCount = this.settings.adminPorts ? 3 : 2;
    const [client, peer, admin] = address === undefined ? await freePorts(portCount, host) : [];
    const slot = newSlot(
      this.settings,
      id,
      address === undefined
        ? {
            address: `${host}:${client}`,
            peerAddress: `${host}:${peer}`,
            adminAddress: admin === undefined ? undefined : `${host}:${admin}`,
          }
        : { address, peerAddress: defaultPeerAddress(address) },
    );
    slot.seeds = this.slots.filter((s) => s.state === 'running').map((s) => s.peerAddress);
    await mkdir(slot.dataDir, { recursive: true });
    this.slots.push(slot);
    this.spawn(slot);
    const failure = await this.waitServing(slot, this.settings.startTimeoutMs);
    if (failure !== undefined) {
      await this.stopSlot(slot, 'SIGKILL');
      throw failure;
    }
    return snapshot(slot);
  }

  async waitExit(id: string, timeoutMs: number): Promise<number | null> {
    const slot = this.slot(id);
    const deadline = Date.now() + timeoutMs;
    while (slot.state === 'running' && Date.now() < deadline)
      await new Promise((r) => setTimeout(r, 100));
    if (slot.state === 'running')
      throw new ClusterError('stop_timeout', `${id} did not exit within ${timeoutMs} ms`);
    return slot.exitCode ?? null;
  }

  get nodes(): readonly ClusterNode[] {
    return this.slots.map(snapshot);
  }

  node(id: string): ClusterNode {
    return snapshot(this.slot(id));
  }

  spawn(slot: Slot): void {
    assert(slot.state !== 'running', `node ${slot.id} is already running`);
    const founders = this.slots.filter((s) => s.seeds === undefined);
    const extraArgs = [
      ...launcherArgs(slot, this.settings),
      ...this.settings.extraArgs,
      ...(this.settings.nodeArgs?.(slot.id) ?? []),
    ];
    const args = [
      this.settings.nodeBin,
      ...(slot.seeds === undefined
        ? nodeArgs(slot, founders, extraArgs)
        : seedArgs(slot, slot.seeds, extraArgs)),
    ];
    const [command, ...prefixArgs] = [
      ...(this.settings.commandPrefix?.(slot.id) ?? []),
      process.execPath,
    ];
    assert(command !== undefined, 'a command line has a program');
    const child = spawnChild({
      command,
      args: [...prefixArgs, ...args],
      logFile: slot.logFile,
      cwd: process.cwd(),
      env: this.settings.env,
      stdinPipe: this.settings.exitWithParent,
      onExit: (exit) => {
        // A process replaced by restart may report its exit late; only the current one counts.
        if (slot.child !== child || slot.state !== 'running') return;
        slot.state = 'exited';
        slot.exitCode = exit.code;
        this.settings.onUnexpectedExit?.(snapshot(slot), exit);
      },
    });
    slot.child = child;
    slot.argv = [command, ...prefixArgs, ...args];
    slot.state = 'running';
    this.settings.onSpawn?.(snapshot(slot));
  }

  async stop(): Promise<void> {
    this.stopped = true;
    const exited = await Promise.all(this.slots.map((slot) => this.stopSlot(slot, 'SIGTERM')));
    const stuck = this.slots.filter((_, index) => exited[index] === false).map((slot) => slot.id);
    if (stuck.length > 0) {
      throw new ClusterError(
        'stop_timeout',
        `nodes ${stuck.join(', ')} did not exit even after SIGKILL`,
      );
    }
  }

  async kill(id: string): Promise<void> {
    await this.stopOne(this.slot(id), 'SIGKILL');
  }

  async stopNode(id: string): Promise<void> {
    await this.stopOne(this.slot(id), 'SIGTERM');
  }

  async restart(id: string): Promise<void> {
    const slot = this.slot(id);
    if (this.stopped)
      throw new ClusterError('cluster_stopped', `cannot restart ${id}: the cluster was stopped`);
    await this.stopOne(slot, 'SIGTERM');
    this.spawn(slot);
    const failure = await this.waitServing(slot, this.settings.startTimeoutMs);
    if (failure === undefined) return;
    // Leave no half-started process behind: the caller gets the error and a stopped node.
    await this.stopSlot(slot, 'SIGKILL');
    throw failure;
  }

  async waitHealthy(timeoutMs: number): Promise<void> {
    const expected = this.slots.filter((slot) => slot.state !== 'stopped');
    const failures = await Promise.all(expected.map((slot) => this.waitServing(slot, timeoutMs)));
    const failure = failures.find((error) => error !== undefined);
    if (failure !== undefined) throw failure;
  }

  private slot(id: string): Slot {
    const slot = this.slots.find((candidate) => candidate.id === id);
    if (slot === undefined) {
      const known = this.slots.map((candidate) => candidate.id).join(', ');
      throw new ClusterError('unknown_node', `no node ${id} in this cluster (nodes: ${known})`, {
        nodeId: id,
      });
    }
    return slot;
  }

  /** undefined when the node answers SERVING in time; otherwise the error to report. */
  private async waitServing(slot: Slot, timeoutMs: number): Promise<ClusterError | undefined> {
    const exitReason = (): string | undefined => {
      const exit = slot.child?.exitInfo();
      return exit === undefined ? undefined : `${describeExit(exit)} before serving`;
    };
    const early = exitReason();
    if (early !== undefined) return nodeFailure('node_exited', slot, early);
    const result = await waitForServing(slot.address, {
      timeoutMs,
      abortReason: exitReason,
      credentials: this.settings.clientCredentials,
    });
    if (result.serving) return undefined;
    const code: ClusterErrorCode = exitReason() === undefined ? 'start_timeout' : 'node_exited';
    return nodeFailure(code, slot, result.reason);
  }

  private async stopOne(slot: Slot, signal: NodeJS.Signals): Promise<void> {
    if (!(await this.stopSlot(slot, signal))) {
      throw new ClusterError('stop_timeout', `node ${slot.id} did not exit even after SIGKILL`, {
        nodeId: slot.id,
      });
    }
  }

  /** false when the process is still there after SIGKILL and killWaitMs. */
  private async stopSlot(slot: Slot, signal: NodeJS.Signals): Promise<boolean> {
    const child = slot.child;
    slot.state = 'stopped';
    if (child === undefined) return true;
    const exit = await stopChild(child, signal, this.settings.stopTimeoutMs);
    return exit !== undefined;
  }
}

function snapshot(slot: Slot): ClusterNode {
  return {
    id: slot.id,
    address: slot.address,
    peerAddress: slot.peerAddress,
    adminAddress: slot.adminAddress,
    argv: slot.argv,
    pid: slot.child?.pid ?? 0,
    dataDir: slot.dataDir,
    logFile: slot.logFile,
    running: slot.state === 'running',
  };
}

/** An error naming the node, with the end of its log in the message and as a field. */
async function nodeFailure(
  code: ClusterErrorCode,
  slot: Slot,
  reason: string,
): Promise<ClusterError> {
  const logTail = await readLogTail(slot.logFile, logTailLines);
  const shown = logTail === '' ? '(the log is empty)' : logTail;
  const message = `node ${slot.id} (${slot.address}) ${reason}\n--- last lines of ${slot.logFile} ---\n${shown}`;
  return new ClusterError(code, message, { nodeId: slot.id, logFile: slot.logFile, logTail });
}
