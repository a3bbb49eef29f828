// The command line of `npm run chaos`: flags, their defaults, and the --smoke preset. Parsing is
// pure (the seed default comes in as an argument), so it is tested without running anything.
import { Command } from 'commander';
import { workloadNames, type WorkloadName } from './history.js';
import { membershipChangeKinds, type MembershipChangeKind } from './membership-schedule.js';
import { seedMax } from './prng.js';
import { faultKinds, nemesisKinds, type NemesisKind } from './schedule.js';

export const selfTests = ['lww', 'catch-up'] as const;
/** lww: the set workload resolves siblings by last-writer-wins; catch-up: joins flip without the Merkle catch-up. */
export type SelfTest = (typeof selfTests)[number];

export interface ChaosOptions {
  readonly seed: number;
  readonly nemeses: readonly NemesisKind[];
  readonly order: 'cycle' | 'random';
  readonly durationMs: number;
  readonly faultMs: number;
  readonly quietMs: number;
  readonly endOnFault: boolean;
  readonly workloads: readonly WorkloadName[];
  readonly nodes: number;
  readonly replicas: number;
  readonly w: number;
  readonly partitions: number;
  readonly concurrency: number;
  readonly ratePerSecond: number;
  readonly setKeys: number;
  readonly deadlineMs: number;
  readonly settleMs: number;
  readonly aeIntervalMs: number;
  readonly gossipIntervalMs: number;
  /** The membership nemesis's changes, nodes per join, and its prelude (0: none). */
  readonly membershipChanges: readonly MembershipChangeKind[];
  readonly joinSize: number;
  readonly membershipPreludeMs: number;
  /** Passed to every node when not 0 (objects per second a node receives in transfers). */
  readonly transferRate: number;
  /** Passed to every node when the delete workload runs, so the reaper collects tombstones within the run. */
  readonly tombstoneGraceMs: number;
  readonly net: 'auto' | 'netns' | 'loopback';
  /**
   * TLS on both ports with client certificates, and bearer tokens: a CA and certificates made for
   * the run in its output directory, a write token for the workload, an admin one for the harness.
   */
  readonly tls: boolean;
  readonly out: string | undefined;
  readonly selfTest: SelfTest | null;
  readonly failOnDivergence: boolean;
  readonly keepData: boolean;
  readonly smoke: boolean;
  /** The flags as given, to print the replay command. */
  readonly argv: readonly string[];
}

/** A bad command line: exit code 2. */
export class ChaosUsageError extends Error {
  override readonly name = 'ChaosUsageError';
}

/**
 * The --smoke preset (CI): a join, one partition, one kill -9, one pause, a leave, both workloads,
 * about 90 s of load (more when a transition outlasts its window), on a secured cluster (every
 * secured mode runs in the smoke: TLS on both ports, client certificates, tokens).
 */
export const smokePreset = {
  nemesis: 'membership,partition,kill,pause',
  membershipChanges: 'join,leave',
  order: 'cycle',
  duration: '90s',
  faultMs: '10000',
  quietMs: '8000',
  settleMs: '60000',
  endOnFault: true,
  failOnDivergence: true,
  tls: true,
} as const;

/**
 * The --self-test catch-up preset: 3 nodes (so a node down has no fallback to hold its hints), no
 * periodic anti-entropy (so what a node missed stays missed), each node killed in turn while 200
 * writes/s go on, then 3 joins in one transition with the catch-up skipped: partitions whose 3
 * replicas all change are streamed from one old replica, and what it missed is lost at the flip.
 */
export const catchUpPreset = {
  nemesis: 'membership',
  membershipChanges: 'join',
  joinSize: '3',
  membershipPreludeMs: '3000',
  order: 'cycle',
  nodes: '3',
  partitions: '16',
  workload: 'unique-keys',
  duration: '15s',
  faultMs: '10000',
  quietMs: '5000',
  endOnFault: true,
  rate: '200',
  concurrency: '8',
  aeIntervalMs: '3600000',
  settleMs: '10000',
} as const;

interface Raw {
  seed?: string;
  nemesis: string;
  order?: string;
  duration: string;
  faultMs: string;
  quietMs: string;
  endOnFault?: boolean;
  workload: string;
  nodes: string;
  replicas: string;
  w: string;
  partitions: string;
  concurrency: string;
  rate: string;
  setKeys: string;
  deadlineMs: string;
  settleMs: string;
  aeIntervalMs: string;
  gossipIntervalMs: string;
  membershipChanges: string;
  joinSize: string;
  membershipPreludeMs: string;
  transferRate: string;
  tombstoneGraceMs: string;
  net: string;
  tls?: boolean;
  out?: string;
  selfTest?: string;
  failOnDivergence?: boolean;
  keepData?: boolean;
  smoke?: boolean;
}

export function chaosCommand(): Command {
  const command = new Command('chaos')
    .description(
      'Jepsen-style fault injection against a real Ringstore cluster: prove no acknowledged write is lost.',
    )
    .exitOverride();
  // Help lists the options in the order they are added.
  addScheduleOptions(command);
  addMembershipOptions(command);
  addClusterOptions(command);
  addRunOptions(command);
  return command;
}

/** The faults and their timing. */
function addScheduleOptions(command: Command): void {
  command
    .option(
      '--seed <n>',
      `seed of the schedule and the workloads' choices (0..${seedMax}); default random, always printed`,
    )
    .option(
      '--nemesis <list>',
      `comma list of ${nemesisKinds.join(', ')}, or combined (${faultKinds.join(', ')}; random schedule)`,
      'combined',
    )
    .option(
      '--order <cycle|random>',
      'cycle: the nemeses in turn with fixed lengths; random: random kind and lengths (default: random for combined)',
    )
    .option('--duration <time>', 'length of the workload: 90s, 10m or seconds', '120s')
    .option('--fault-ms <ms>', 'length of a fault window', '10000')
    .option(
      '--quiet-ms <ms>',
      'healthy time between faults (and before the first, after the last)',
      '10000',
    )
    .option(
      '--end-on-fault',
      'stop the load when the last fault heals (no quiet time after it), so the convergence time is the repair of that fault',
    );
}

/** What the membership nemesis changes. */
function addMembershipOptions(command: Command): void {
  command
    .option(
      '--membership-changes <list>',
      `the membership nemesis's changes, comma list of ${membershipChangeKinds.join(', ')} (never the claimant; a leave only while more than N members remain; --order cycle: in turn, plain; random: random, half of them with a kill -9, SIGSTOP or partition (netns only) of a transfer party mid-transfer). New nodes get new ids and, under netns, their own namespace`,
      membershipChangeKinds.join(','),
    )
    .option('--join-size <n>', 'nodes one membership join adds, in one transition', '1')
    .option(
      '--membership-prelude-ms <ms>',
      'before each membership change, kill -9 each member in turn for this long (0: no)',
      '0',
    )
    .option(
      '--transfer-rate <n>',
      'objects per second a node receives in transfers, passed to every node (0: unlimited)',
      '0',
    );
}

/** The cluster and the load on it. */
function addClusterOptions(command: Command): void {
  command
    .option(
      '--workload <list>',
      `comma list of ${workloadNames.join(', ')} (delete: write, delete and write again, counting resurrected values)`,
      'unique-keys,set',
    )
    .option('--nodes <n>', 'nodes in the cluster', '5')
    .option('--replicas <n>', 'N: replicas per key', '3')
    .option('--w <n>', 'W of every write', '2')
    .option('--partitions <n>', 'Q: ring partitions (fewer make anti-entropy rounds shorter)', '64')
    .option('--concurrency <n>', 'workers per workload', '4')
    .option('--rate <n>', 'operations started per second per workload', '40')
    .option('--set-keys <n>', 'keys of the set workload', '5')
    .option('--deadline-ms <ms>', 'deadline of each client operation, retries included', '1000')
    .option(
      '--settle-ms <ms>',
      'bound on the wait for hints and anti-entropy once the load stops',
      '120000',
    )
    .option('--ae-interval-ms <ms>', 'passed to every node', '250')
    .option('--gossip-interval-ms <ms>', 'passed to every node', '500')
    .option(
      '--tombstone-grace-ms <ms>',
      'passed to every node when the delete workload runs (so the reaper runs within the run; below 10000 a node warns that deletes may come back)',
      '12000',
    );
}

/** Where it runs, where results go, and what counts as a failure. */
function addRunOptions(command: Command): void {
  command
    .option(
      '--net <auto|netns|loopback>',
      'auto: netns when root with ip and iptables, else loopback (process faults only)',
      'auto',
    )
    .option(
      '--tls',
      'secure the cluster: TLS on the client port (client certificates required) and mutual TLS on the peer port, with certificates made for the run (ringctl certs) in its output directory, and bearer tokens (write for the workload, admin for the harness)',
    )
    .option('--no-tls', 'plaintext (the default; turns off the --smoke preset\u2019s --tls)')
    .option(
      '--out <dir>',
      'where the report, history and node logs go (default chaos-results/<time>-seed<seed>)',
    )
    .option(
      '--self-test <lww|catch-up>',
      `passes only if the checker reports losses. lww: the set workload resolves siblings by last-writer-wins; catch-up: nodes run with --unsafe-skip-catch-up true, preset ${presetText(catchUpPreset)} (flags given win)`,
    )
    .option('--fail-on-divergence', 'exit 1 when replicas still disagree after --settle-ms')
    .option(
      '--keep-data',
      'keep the nodes\u2019 data directories and the --tls certificates and keys (default: removed when the run passes)',
    )
    .option('--smoke', `CI preset: ${presetText(smokePreset)} (flags given win)`);
}

/** A preset as flags: "--nemesis kill --end-on-fault ...". */
function presetText(preset: Readonly<Record<string, string | boolean>>): string {
  const flag = (name: string): string =>
    `--${name.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)}`;
  return Object.entries(preset)
    .map(([name, value]) => (value === true ? flag(name) : `${flag(name)} ${String(value)}`))
    .join(' ');
}

/** Fewest nodes: a fault needs a minority to cut off, kill or pause. */
const nodesMin = 3;
/** Most nodes: their processes and the load share one machine. */
const nodesMax = 16;
/** Shortest fault or quiet window: a shorter fault is over before a request could notice it. */
const windowMsMin = 100;
/** Longest fault or quiet window: an hour-long window is a soak test, not a chaos run. */
const windowMsMax = 3_600_000;
/** Fewest partitions: with fewer, one of the default 5 nodes could be primary for none. */
const partitionsMin = 8;
/** Most partitions: one anti-entropy round over 4096, at 250 ms each, already takes 17 min. */
const partitionsMax = 4096;
/** Most workers per workload: each has its own SDK client, with a channel to every node. */
const concurrencyMax = 256;
/** Highest rate per workload: far past what one harness process starts; a typo, not a rate. */
const ratePerSecondMax = 100_000;
/** Most set keys: the final reads read every key through every node. */
const setKeysMax = 10_000;
/** Shortest client deadline: with less, no operation would reach a node. */
const deadlineMsMin = 10;
/** Longest client deadline: the node's own bound on a request's timeout. */
const deadlineMsMax = 600_000;
/** Longest settle: a repair slower than an hour is the finding, not something to wait for. */
const settleMsMax = 3_600_000;
/** Longest anti-entropy interval: an hour, that is no round at all within a run. */
const aeIntervalMsMax = 3_600_000;
/** Shortest gossip interval: faster, and gossip would be most of the cluster's traffic. */
const gossipIntervalMsMin = 10;
/** Longest gossip interval: the node's own bound. */
const gossipIntervalMsMax = 60_000;
/** Shortest run: a second, time for every worker to start an operation. */
const durationMsMin = 1_000;
/** Longest run: a day, what opsPerWorkerMax allows a worker at 1,000 operations per second. */
const durationMsMax = 86_400_000;
/** Most nodes one join adds: more joiners at once on one machine is a load test, not a fault. */
const joinSizeMax = 4;
/** Longest prelude kill: a minute down is a dead node, which dead-replace covers. */
const preludeMsMax = 60_000;
/** Highest transfer rate: the node's own bound. */
const transferRateMax = 100_000_000;
/** Longest tombstone grace: longer, and no tombstone is reaped within a run. */
const tombstoneGraceMsMax = 3_600_000;

function int(flag: string, text: string, min: number, max: number): number {
  const value = /^[0-9]+$/.test(text) ? Number(text) : Number.NaN;
  if (!Number.isSafeInteger(value) || value < min || value > max)
    throw new ChaosUsageError(`--${flag} must be an integer from ${min} to ${max}, got '${text}'`);
  return value;
}

/** "90s", "10m", "600" (seconds) in milliseconds. */
export function parseDurationMs(text: string): number {
  const match = /^([0-9]+)(s|m|h)?$/.exec(text);
  if (match === null)
    throw new ChaosUsageError(`--duration must look like 90s, 10m or 600, got '${text}'`);
  const unit = { s: 1_000, m: 60_000, h: 3_600_000 }[
    (match[2] as 's' | 'm' | 'h' | undefined) ?? 's'
  ];
  const ms = Number(match[1]) * unit;
  if (ms < durationMsMin || ms > durationMsMax)
    throw new ChaosUsageError(`--duration must be from 1 s to 24 h, got '${text}'`);
  return ms;
}

function list<T extends string>(flag: string, text: string, allowed: readonly T[]): T[] {
  const items = text
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s !== '');
  for (const item of items)
    if (!allowed.includes(item as T))
      throw new ChaosUsageError(`--${flag}: unknown '${item}' (one of ${allowed.join(', ')})`);
  if (items.length === 0) throw new ChaosUsageError(`--${flag} is empty`);
  return [...new Set(items as T[])];
}

function oneOf<T extends string>(flag: string, text: string, allowed: readonly T[]): T {
  if (!allowed.includes(text as T))
    throw new ChaosUsageError(`--${flag} must be one of ${allowed.join(', ')}, got '${text}'`);
  return text as T;
}

/** Parses argv (without node and the script); `randomSeed` is used when --seed is absent. */
export function parseChaosArgs(
  argv: readonly string[],
  randomSeed: number,
  command = chaosCommand(),
): ChaosOptions {
  command.parse([...argv], { from: 'user' });
  const given = new Set(
    command.options
      .filter((o) => command.getOptionValueSource(o.attributeName()) === 'cli')
      .map((o) => o.attributeName()),
  );
  const raw = command.opts<Raw>();
  const selfTest = raw.selfTest === undefined ? null : oneOf('self-test', raw.selfTest, selfTests);
  const preset = raw.smoke === true ? smokePreset : selfTest === 'catch-up' ? catchUpPreset : {};
  for (const [name, value] of Object.entries(preset))
    if (!given.has(name)) (raw as unknown as Record<string, unknown>)[name] = value;
  const combined = raw.nemesis.trim() === 'combined';
  const nodes = int('nodes', raw.nodes, nodesMin, nodesMax);
  const replicas = int('replicas', raw.replicas, 1, nodes);
  return {
    seed: raw.seed === undefined ? randomSeed : int('seed', raw.seed, 0, seedMax),
    nemeses: combined ? [...faultKinds] : list('nemesis', raw.nemesis, nemesisKinds),
    order:
      raw.order === undefined
        ? combined
          ? 'random'
          : 'cycle'
        : oneOf('order', raw.order, ['cycle', 'random'] as const),
    durationMs: parseDurationMs(raw.duration),
    faultMs: int('fault-ms', raw.faultMs, windowMsMin, windowMsMax),
    quietMs: int('quiet-ms', raw.quietMs, windowMsMin, windowMsMax),
    endOnFault: raw.endOnFault === true,
    workloads: selfTest === 'lww' ? ['set'] : list('workload', raw.workload, workloadNames),
    nodes,
    replicas,
    w: int('w', raw.w, 1, replicas),
    partitions: int('partitions', raw.partitions, partitionsMin, partitionsMax),
    concurrency: int('concurrency', raw.concurrency, 1, concurrencyMax),
    ratePerSecond: int('rate', raw.rate, 1, ratePerSecondMax),
    setKeys: int('set-keys', raw.setKeys, 1, setKeysMax),
    deadlineMs: int('deadline-ms', raw.deadlineMs, deadlineMsMin, deadlineMsMax),
    settleMs: int('settle-ms', raw.settleMs, 0, settleMsMax),
    aeIntervalMs: int('ae-interval-ms', raw.aeIntervalMs, 1, aeIntervalMsMax),
    gossipIntervalMs: int(
      'gossip-interval-ms',
      raw.gossipIntervalMs,
      gossipIntervalMsMin,
      gossipIntervalMsMax,
    ),
    membershipChanges: list('membership-changes', raw.membershipChanges, membershipChangeKinds),
    joinSize: int('join-size', raw.joinSize, 1, joinSizeMax),
    membershipPreludeMs: int('membership-prelude-ms', raw.membershipPreludeMs, 0, preludeMsMax),
    transferRate: int('transfer-rate', raw.transferRate, 0, transferRateMax),
    tombstoneGraceMs: int('tombstone-grace-ms', raw.tombstoneGraceMs, 0, tombstoneGraceMsMax),
    net: oneOf('net', raw.net, ['auto', 'netns', 'loopback'] as const),
    tls: raw.tls === true,
    out: raw.out,
    selfTest,
    failOnDivergence: raw.failOnDivergence === true,
    keepData: raw.keepData === true,
    smoke: raw.smoke === true,
    argv,
  };
}

/** The command that replays a run: its flags with the seed pinned. */
export function replayCommand(options: ChaosOptions): string {
  const flags: string[] = [];
  for (let i = 0; i < options.argv.length; i++) {
    const arg = options.argv[i] as string;
    if (arg === '--seed') i++;
    else if (!arg.startsWith('--seed=') && !arg.startsWith('--out')) flags.push(arg);
    if (arg === '--out') i++;
  }
  return `npm run chaos -- ${[...flags, '--seed', String(options.seed)].join(' ')}`;
}
