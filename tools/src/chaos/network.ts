// Where the nodes live on the network. As root with ip and iptables: each node in its own network
// namespace (rschaos<k>-n<i>), a veth pair to a bridge (rschaos<k>-br, 10.213.<k>.1/24) that the
// harness sits on, node i at 10.213.<k>.<10+i>. Partitions are iptables drops inside the nodes'
// namespaces, so the harness (on the bridge) still reaches every node. Otherwise: loopback, process
// faults only. Slot k (0..15) is claimed with a lock file, so concurrent runs do not collide and a
// run removes only leftovers of runs that are dead.
import { execFile, execFileSync } from 'node:child_process';
import {
  closeSync,
  existsSync,
  mkdirSync,
  openSync,
  readFileSync,
  unlinkSync,
  writeSync,
} from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import type { Drop, NemesisKind } from './schedule.js';

const execFileAsync = promisify(execFile);

/** Concurrent netns runs on one machine: slots 0..slotsMax-1, one /24 each. */
export const slotsMax = 16;
/** Bound on one ip/iptables/tc command. */
export const commandTimeoutMs = 10_000;
/** The port every node listens on inside its own namespace. */
export const netnsPort = 7001;
const lockDir = '/run/rschaos';
const namePattern = /^rschaos(\d+)-/;

export type NetworkMode = 'netns' | 'loopback';

export interface LinkSpec {
  readonly delayMs: number;
  readonly jitterMs: number;
  readonly lossPercent: number;
}

export interface Network {
  readonly mode: NetworkMode;
  /** What this network can and cannot do, for the report. */
  readonly note: string;
  /** host:port of each node (netns), or undefined: the launcher picks loopback ports. */
  readonly addresses: readonly string[] | undefined;
  readonly commandPrefix: ((id: string) => readonly string[]) | undefined;
  /** Why a nemesis cannot run here, or undefined when it can. */
  unavailable(kind: NemesisKind): string | undefined;
  /** How the link nemesis is done here (for its description). */
  readonly linkMethod: string;
  drop(drops: readonly Drop[]): Promise<void>;
  /** Removes every drop. */
  heal(): Promise<void>;
  slowLink(nodeId: string, spec: LinkSpec): Promise<void>;
  healLink(nodeId: string): Promise<void>;
  /**
   * A place for a node added to the running cluster (n<i>, i past the first nodes): its own
   * namespace and address (netns), or undefined (loopback: the launcher picks a port).
   */
  addNode(nodeId: string): Promise<string | undefined>;
  /** Removes namespaces, links and the lock. Idempotent; also run synchronously at exit. */
  close(): Promise<void>;
}

export interface NetworkLog {
  (line: string): void;
}

/** The network for a run: netns when asked for (or 'auto' and possible), else loopback. */
export async function openNetwork(
  want: 'auto' | NetworkMode,
  nodes: number,
  log: NetworkLog,
): Promise<Network> {
  if (want === 'loopback')
    return loopback('loopback asked for (--net loopback): process faults only');
  const missing = netnsMissing();
  if (missing !== undefined) {
    if (want === 'netns') throw new Error(`--net netns: ${missing}`);
    log(`network: ${missing}; falling back to loopback with process faults only (kill, pause)`);
    return loopback(`${missing}: process faults only`);
  }
  return openNetns(nodes, log);
}

function loopback(note: string): Network {
  const reason = 'needs network namespaces (run as root with ip and iptables)';
  return {
    mode: 'loopback',
    note,
    addresses: undefined,
    commandPrefix: undefined,
    linkMethod: 'none',
    unavailable: (kind) => (kind === 'partition' || kind === 'link' ? reason : undefined),
    drop: () => Promise.reject(new Error('partitions need netns')),
    heal: () => Promise.resolve(),
    slowLink: () => Promise.reject(new Error('link faults need netns')),
    healLink: () => Promise.resolve(),
    addNode: () => Promise.resolve(undefined),
    close: () => Promise.resolve(),
  };
}

/** Why netns cannot be used here (root, ip, iptables, tc), or undefined. */
export function netnsMissing(): string | undefined {
  if (process.getuid?.() !== 0) return 'not running as root';
  for (const tool of ['ip', 'iptables', 'tc']) {
    if (!onPath(tool))
      return `${tool} is not installed${tool === 'iptables' ? ' (apt-get install -y iptables)' : ''}`;
  }
  return undefined;
}

function onPath(tool: string): boolean {
  const dirs = (process.env['PATH'] ?? '').split(':').concat(['/usr/sbin', '/sbin']);
  return dirs.some((dir) => dir !== '' && existsSync(join(dir, tool)));
}

interface Names {
  readonly slot: number;
  readonly bridge: string;
  readonly ns: (i: number) => string;
  readonly hostVeth: (i: number) => string;
  readonly nodeVeth: (i: number) => string;
  readonly address: (i: number) => string;
  readonly bridgeAddress: string;
}

function namesOf(slot: number): Names {
  const prefix = `rschaos${slot}-`;
  return {
    slot,
    bridge: `${prefix}br`,
    ns: (i) => `${prefix}n${i}`,
    hostVeth: (i) => `${prefix}h${i}`,
    nodeVeth: (i) => `${prefix}c${i}`,
    address: (i) => `10.213.${slot}.${10 + i}`,
    bridgeAddress: `10.213.${slot}.1`,
  };
}

async function sh(command: string, args: readonly string[]): Promise<string> {
  try {
    const { stdout } = await execFileAsync(command, [...args], {
      timeout: commandTimeoutMs,
      encoding: 'utf8',
    });
    return stdout;
  } catch (e) {
    const err = e as { stderr?: string; message: string };
    throw new Error(`${command} ${args.join(' ')}: ${(err.stderr ?? '').trim() || err.message}`);
  }
}

function shSync(command: string, args: readonly string[]): string {
  try {
    return execFileSync(command, [...args], {
      timeout: commandTimeoutMs,
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'pipe'],
    });
  } catch {
    return '';
  }
}

/** Highest node number in a slot's /24: node i is at .10+i, and .255 is the broadcast address. */
const nodeIndexMax = 244;

async function openNetns(nodes: number, log: NetworkLog): Promise<Network> {
  removeLeftovers(log);
  const slot = claimSlot();
  const names = namesOf(slot);
  // Grows as nodes are added to the running cluster, so clean-up removes theirs too.
  const placed = { nodes };
  const cleanup = (): void => removeSlot(names, placed.nodes);
  process.on('exit', cleanup);
  try {
    await sh('ip', ['link', 'add', names.bridge, 'type', 'bridge']);
    await sh('ip', ['addr', 'add', `${names.bridgeAddress}/24`, 'dev', names.bridge]);
    await sh('ip', ['link', 'set', names.bridge, 'up']);
    for (let i = 1; i <= nodes; i++) await addNode(names, i);
    await allowBridgedTraffic(names, log);
  } catch (e) {
    cleanup();
    process.off('exit', cleanup);
    throw e;
  }
  const linkMethod = await probeLinkMethod(names);
  log(
    `network: netns slot ${slot}: bridge ${names.bridge} ${names.bridgeAddress}/24, nodes ${names.address(1)}..${names.address(nodes)}; link faults by ${linkMethod}`,
  );
  return netnsNetwork(names, placed, linkMethod, () => {
    cleanup();
    process.off('exit', cleanup);
  });
}

async function addNode(names: Names, i: number): Promise<void> {
  const ns = names.ns(i);
  await sh('ip', ['netns', 'add', ns]);
  await sh('ip', [
    'link',
    'add',
    names.hostVeth(i),
    'type',
    'veth',
    'peer',
    'name',
    names.nodeVeth(i),
  ]);
  await sh('ip', ['link', 'set', names.nodeVeth(i), 'netns', ns]);
  await sh('ip', ['link', 'set', names.hostVeth(i), 'master', names.bridge]);
  await sh('ip', ['link', 'set', names.hostVeth(i), 'up']);
  await sh('ip', ['-n', ns, 'addr', 'add', `${names.address(i)}/24`, 'dev', names.nodeVeth(i)]);
  await sh('ip', ['-n', ns, 'link', 'set', names.nodeVeth(i), 'up']);
  await sh('ip', ['-n', ns, 'link', 'set', 'lo', 'up']);
}

/**
 * With br_netfilter on, bridged packets go through the host's FORWARD chain; a host that drops
 * forwarded traffic by default (Docker does) would cut every node from every other. Then one
 * ACCEPT rule for our bridge, tagged with the slot, is inserted (and removed at clean-up).
 */
async function allowBridgedTraffic(names: Names, log: NetworkLog): Promise<void> {
  let bridgeNf = '0';
  try {
    bridgeNf = readFileSync('/proc/sys/net/bridge/bridge-nf-call-iptables', 'utf8').trim();
  } catch {
    return; // br_netfilter not loaded: bridged traffic never meets iptables.
  }
  if (
    bridgeNf !== '1' ||
    (await sh('iptables', iptablesArgs('-S', 'FORWARD'))).includes('-P FORWARD ACCEPT')
  )
    return;
  log(
    `network: the host's FORWARD policy drops bridged traffic; allowing ${names.bridge} to ${names.bridge} for this run`,
  );
  await sh('iptables', iptablesArgs(...forwardRule(names.bridge, names.slot, '-I')));
}

function forwardRule(bridge: string, slot: number, action: '-I' | '-D'): string[] {
  return [
    action,
    'FORWARD',
    '-i',
    bridge,
    '-o',
    bridge,
    '-m',
    'comment',
    '--comment',
    `rschaos${slot}`,
    '-j',
    'ACCEPT',
  ];
}

/** The tbf link's rate: slow enough that gRPC traffic queues, as on a congested link. */
const tbfRateKbit = 256;
/** The tbf bucket: a packet or two, so the rate holds from the first packet on. */
const tbfBurstKbit = 16;
/** Least time a packet may queue in tbf before it is dropped: the shortest delay a fault sets. */
const tbfLatencyMinMs = 50;

/** tc netem when the kernel has it; else a tbf rate limit plus iptables random drops. */
async function probeLinkMethod(names: Names): Promise<string> {
  const ns = names.ns(1);
  const dev = names.nodeVeth(1);
  try {
    await sh('ip', [
      'netns',
      'exec',
      ns,
      'tc',
      'qdisc',
      'add',
      'dev',
      dev,
      'root',
      'netem',
      'delay',
      '1ms',
    ]);
    await sh('ip', ['netns', 'exec', ns, 'tc', 'qdisc', 'del', 'dev', dev, 'root']);
    return 'tc netem (delay, jitter, loss)';
  } catch {
    return `tbf rate limit ${tbfRateKbit} kbit/s + iptables random drop, no added delay (tc netem is not available in this kernel)`;
  }
}

/** How a netns network reaches inside one node's namespace. */
interface NodeNs {
  readonly names: Names;
  /** Every node placed so far (nodes that left keep their namespace until the end). */
  readonly ids: string[];
  /** Node number of an id: n3 is 3. */
  readonly index: (id: string) => number;
  /** Runs a command inside the node's namespace. */
  readonly inNs: (id: string, command: string, args: readonly string[]) => Promise<string>;
}

function netnsNetwork(
  names: Names,
  placed: { nodes: number },
  linkMethod: string,
  close: () => void,
): Network {
  const index = (id: string): number => {
    const i = Number(id.replace(/^n/, ''));
    if (!Number.isInteger(i) || i < 1 || i > placed.nodes)
      throw new Error(`assertion failed: no node ${id}`);
    return i;
  };
  const ns: NodeNs = {
    names,
    ids: Array.from({ length: placed.nodes }, (_, i) => `n${i + 1}`),
    index,
    inNs: (id, command, args) => sh('ip', ['netns', 'exec', names.ns(index(id)), command, ...args]),
  };
  const netem = linkMethod.startsWith('tc netem');
  let closed = false;
  return {
    mode: 'netns',
    note: `each node in its own network namespace on bridge ${names.bridge} (${names.bridgeAddress}/24); partitions cut node-to-node traffic only, the harness on the bridge reaches every node`,
    addresses: ns.ids.map((id) => `${names.address(index(id))}:${netnsPort}`),
    commandPrefix: (id) => ['ip', 'netns', 'exec', names.ns(index(id))],
    linkMethod,
    unavailable: () => undefined,
    drop: (drops) => dropAll(ns, drops),
    async heal() {
      await Promise.all(ns.ids.map((id) => ns.inNs(id, 'iptables', iptablesArgs('-F', 'INPUT'))));
    },
    slowLink: (id, spec) => (netem ? netemLink(ns, id, spec) : tbfLink(ns, id, spec)),
    async healLink(id) {
      await ns
        .inNs(id, 'tc', ['qdisc', 'del', 'dev', names.nodeVeth(index(id)), 'root'])
        .catch(() => undefined);
      await ns.inNs(id, 'iptables', iptablesArgs('-F', 'INPUT'));
      await ns.inNs(id, 'iptables', iptablesArgs('-F', 'OUTPUT'));
    },
    addNode: (id) => placeNode(ns, placed, id),
    close() {
      if (!closed) close();
      closed = true;
      return Promise.resolve();
    },
  };
}

/**
 * A namespace for n<i>, a number past every node placed (ids are never reused; a change that
 * failed may have skipped one); its address.
 */
async function placeNode(ns: NodeNs, placed: { nodes: number }, id: string): Promise<string> {
  const i = Number(id.replace(/^n/, ''));
  if (!Number.isInteger(i) || i <= placed.nodes || i > nodeIndexMax)
    throw new Error(
      `assertion failed: node ${id} is not a new node (past n${placed.nodes}, at most n${nodeIndexMax})`,
    );
  // Counted before it exists, so a failure half-way is cleaned up at the end too (clean-up of a
  // number never placed finds nothing to remove).
  placed.nodes = i;
  await addNode(ns.names, i);
  ns.ids.push(id);
  return `${ns.names.address(i)}:${netnsPort}`;
}

/** Seconds iptables waits for the xtables lock, which rule changes on all nodes contend for. */
const iptablesLockWaitSeconds = 5;

/** iptables arguments, waiting for the lock instead of failing when another change holds it. */
function iptablesArgs(...args: string[]): string[] {
  return ['-w', String(iptablesLockWaitSeconds), ...args];
}

/**
 * A packet from `from` to `to` is dropped as it arrives at `to`. Nodes in parallel (the fault
 * lands at once), each node's rules in order.
 */
async function dropAll(ns: NodeNs, drops: readonly Drop[]): Promise<void> {
  await Promise.all(
    ns.ids.map(async (id) => {
      for (const d of drops.filter((drop) => drop.to === id))
        await ns.inNs(
          id,
          'iptables',
          iptablesArgs('-A', 'INPUT', '-s', ns.names.address(ns.index(d.from)), '-j', 'DROP'),
        );
    }),
  );
}

async function netemLink(ns: NodeNs, id: string, spec: LinkSpec): Promise<void> {
  await ns.inNs(id, 'tc', [
    'qdisc',
    'add',
    'dev',
    ns.names.nodeVeth(ns.index(id)),
    'root',
    'netem',
    'delay',
    `${spec.delayMs}ms`,
    `${spec.jitterMs}ms`,
    'loss',
    `${spec.lossPercent}%`,
  ]);
}

/** The slow link without netem: a rate that queues (tbf), plus random drops both ways. */
async function tbfLink(ns: NodeNs, id: string, spec: LinkSpec): Promise<void> {
  await ns.inNs(id, 'tc', [
    'qdisc',
    'add',
    'dev',
    ns.names.nodeVeth(ns.index(id)),
    'root',
    'tbf',
    'rate',
    `${tbfRateKbit}kbit`,
    'burst',
    `${tbfBurstKbit}kbit`,
    'latency',
    `${Math.max(tbfLatencyMinMs, spec.delayMs)}ms`,
  ]);
  const probability = (spec.lossPercent / 100).toFixed(3);
  for (const chain of ['INPUT', 'OUTPUT']) {
    await ns.inNs(
      id,
      'iptables',
      iptablesArgs(
        '-A',
        chain,
        '-m',
        'statistic',
        '--mode',
        'random',
        '--probability',
        probability,
        '-j',
        'DROP',
      ),
    );
  }
}

/** Claims the first free slot: its lock file holds our pid. */
function claimSlot(): number {
  mkdirSync(lockDir, { recursive: true });
  for (let slot = 0; slot < slotsMax; slot++) {
    const path = join(lockDir, `slot-${slot}.pid`);
    try {
      const fd = openSync(path, 'wx');
      writeSync(fd, String(process.pid));
      closeSync(fd);
      return slot;
    } catch {
      // Taken: by a live run, or by a dead one whose leftovers removeLeftovers already cleared.
      if (!ownerAlive(slot)) {
        unlinkSync(path);
        slot--;
      }
    }
  }
  throw new Error(`all ${slotsMax} netns slots are taken by running chaos runs (${lockDir})`);
}

function ownerAlive(slot: number): boolean {
  const path = join(lockDir, `slot-${slot}.pid`);
  let pid: number;
  try {
    pid = Number(readFileSync(path, 'utf8').trim());
  } catch {
    return false;
  }
  if (!Number.isInteger(pid) || pid <= 0) return false;
  if (pid === process.pid) return true;
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** Removes namespaces and links named rschaos<k>- whose run (slot k's lock owner) is gone. */
function removeLeftovers(log: NetworkLog): void {
  const namespaces = shSync('ip', ['netns', 'list'])
    .split('\n')
    .map((line) => line.split(' ')[0] ?? '');
  const links = shSync('ip', ['-o', 'link', 'show'])
    .split('\n')
    .map((line) => (line.split(': ')[1] ?? '').split('@')[0] ?? '');
  const stale = new Set<number>();
  for (const name of [...namespaces, ...links]) {
    const slot = Number(namePattern.exec(name)?.[1] ?? Number.NaN);
    if (Number.isInteger(slot) && !ownerAlive(slot)) stale.add(slot);
  }
  for (const slot of stale) {
    log(`network: removing leftovers of an earlier run in slot ${slot}`);
    const prefix = `rschaos${slot}-`;
    for (const ns of namespaces.filter((n) => n.startsWith(prefix))) removeNamespace(ns);
    for (const link of links.filter((l) => l.startsWith(prefix)))
      shSync('ip', ['link', 'del', link]);
    removeForwardRule(`${prefix}br`, slot);
    const lock = join(lockDir, `slot-${slot}.pid`);
    if (existsSync(lock)) unlinkSync(lock);
  }
}

/** SIGKILLs what still runs in the namespace (our node processes) by pid, then deletes it. */
function removeNamespace(ns: string): void {
  for (const pid of shSync('ip', ['netns', 'pids', ns]).split('\n').map(Number)) {
    if (Number.isInteger(pid) && pid > 0) {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        // Gone already.
      }
    }
  }
  shSync('ip', ['netns', 'del', ns]);
}

/** Most copies of a slot's FORWARD rule deleted: each is a run killed before its clean-up. */
const forwardRuleCopiesMax = 4;

/** Deletes the slot's FORWARD rule, every copy of it, if any (bounded: one per attempt). */
function removeForwardRule(bridge: string, slot: number): void {
  for (let i = 0; i < forwardRuleCopiesMax; i++) {
    try {
      execFileSync('iptables', iptablesArgs(...forwardRule(bridge, slot, '-D')), {
        timeout: commandTimeoutMs,
        stdio: 'ignore',
      });
    } catch {
      return; // No such rule (left).
    }
  }
}

function removeSlot(names: Names, nodes: number): void {
  for (let i = 1; i <= nodes; i++) {
    removeNamespace(names.ns(i));
    shSync('ip', ['link', 'del', names.hostVeth(i)]);
  }
  shSync('ip', ['link', 'del', names.bridge]);
  removeForwardRule(names.bridge, names.slot);
  const lock = join(lockDir, `slot-${names.slot}.pid`);
  if (ownerAlive(names.slot) && existsSync(lock)) unlinkSync(lock);
}
