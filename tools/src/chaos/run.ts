// One chaos run, end to end: network, cluster, workloads under the fault schedule, settle, final
// reads, checker, report. Everything it starts (processes, namespaces, bridge) is removed at the end,
// on failure and on abort too.
import { createWriteStream } from 'node:fs';
import { mkdir, rm, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { performance } from 'node:perf_hooks';
import { startCluster, type Cluster } from '../cluster.js';
import { checkSet, type CheckResult, type FinalRead } from './checker.js';
import { clusterRpc } from './cluster-rpc.js';
import { checkDeletes } from './delete-checker.js';
import { History, itemOf, type OpEvent, type WorkloadName } from './history.js';
import { runSchedule } from './nemesis.js';
import { openNetwork, type Network } from './network.js';
import { replayCommand, type ChaosOptions } from './options.js';
import { createRng } from './prng.js';
import {
  decideVerdict,
  renderMarkdown,
  type ConvergenceResult,
  type RunReport,
  type WindowRecord,
} from './report.js';
import { describeFault, generateSchedule, type FaultWindow } from './schedule.js';
import { waitForRing, type RingCheck } from './ring-check.js';
import { plaintextSecurity, tlsSecurity, type RunSecurity } from './security.js';
import { decodeSet } from './set-value.js';
import {
  readEverywhere,
  tombstonesReaped,
  waitForAgreement,
  type NodeAddress,
  type NodeReads,
} from './settle.js';
import { bucketize, faultThroughput, renderTimelineSvg } from './timeline.js';
import { runWorkload } from './workloads.js';

export interface RunIo {
  readonly log: (line: string) => void;
}

/** Between two polls of the replicas' Merkle roots. */
export const agreementPollMs = 250;
/** Width of a timeline bar: a second, the unit the run's rates are given in. */
export const timelineBucketMs = 1_000;
/** Mixed into the run's seed for the workloads' choices, so they draw apart from the schedule's. */
const workloadSeedSalt = 0x5eed;
/** Most members the membership nemesis grows the cluster to: the node processes share one machine. */
const membersMax = 16;

/** Runs the whole thing; resolves with the report (its verdict holds the exit code). */
export async function runChaos(
  options: ChaosOptions,
  io: RunIo,
  abort: AbortSignal,
): Promise<RunReport> {
  const wallStart = performance.now();
  const startedAt = new Date().toISOString();
  const outDir = resolve(
    options.out ?? join('chaos-results', `${startedAt.replace(/[:.]/g, '-')}-seed${options.seed}`),
  );
  await mkdir(outDir, { recursive: true });
  const nodeIds = Array.from({ length: options.nodes }, (_, i) => `n${i + 1}`);
  const schedule = generateSchedule({
    ...options,
    nodeIds,
    kinds: options.nemeses,
    membership: {
      replicas: options.replicas,
      // A --nodes cluster's claimant is its first node; the nemesis reads the ring to be sure.
      claimant: 'n1',
      changes: options.membershipChanges,
      joinSize: options.joinSize,
      membersMax: Math.min(membersMax, options.nodes + 2 * options.joinSize),
      preludeMs: options.membershipPreludeMs,
    },
  });
  io.log(`chaos: seed ${options.seed} (replay: ${replayCommand(options)})`);
  io.log(
    `chaos: ${schedule.length} fault windows over ${options.durationMs / 1000} s; output in ${outDir}`,
  );
  for (const w of schedule)
    io.log(
      `  ${(w.startMs / 1000).toFixed(1)}..${(w.endMs / 1000).toFixed(1)} s  ${describeFault(w.fault)}`,
    );
  const network = await openNetwork(options.net, options.nodes, io.log);
  try {
    const unavailable = [...new Set(options.nemeses)].flatMap((kind) => {
      const reason = network.unavailable(kind);
      return reason === undefined ? [] : [{ kind, reason }];
    });
    for (const u of unavailable)
      io.log(`chaos: nemesis ${u.kind} is not available here and is skipped: ${u.reason}`);
    const security = options.tls
      ? await tlsSecurity(join(outDir, 'pki'), nodeIds, network.addresses)
      : plaintextSecurity(network.addresses !== undefined);
    io.log(`chaos: security: ${security.note}`);
    const departed = new Set<string>();
    const cluster = await startNodes({ options, network, security, outDir, io }, departed);
    try {
      const report = await exercise({
        options,
        network,
        security,
        cluster,
        departed,
        schedule,
        outDir,
        io,
        abort,
        unavailable,
        startedAt,
        wallStart,
      });
      // The run's throwaway PKI (keys included) goes with the data: kept only to debug a failure.
      if (report.verdict.pass && !options.keepData)
        for (const dir of ['data', 'pki'])
          await rm(join(outDir, dir), { recursive: true, force: true });
      return report;
    } finally {
      await cluster
        .stop()
        .catch((e: unknown) => io.log(`chaos: stopping the cluster: ${(e as Error).message}`));
    }
  } finally {
    await network.close();
  }
}

/** The flags every node gets (nodes added by the membership nemesis too). */
export function nodeFlags(options: ChaosOptions): string[] {
  return [
    ['--replicas', options.replicas],
    ['--partitions', options.partitions],
    ['--w', options.w],
    ['--ae-interval-ms', options.aeIntervalMs],
    ['--gossip-interval-ms', options.gossipIntervalMs],
    ...(options.transferRate > 0 ? [['--transfer-rate', options.transferRate]] : []),
    ...(options.workloads.includes('delete')
      ? [['--tombstone-grace-ms', options.tombstoneGraceMs]]
      : []),
    ...(options.selfTest === 'catch-up' ? [['--unsafe-skip-catch-up', 'true']] : []),
  ].flatMap(([flag, value]) => [String(flag), String(value)]);
}

/** What the nodes start with: the run's flags, its network, its security. */
interface Start {
  readonly options: ChaosOptions;
  readonly network: Network;
  readonly security: RunSecurity;
  readonly outDir: string;
  readonly io: RunIo;
}

async function startNodes(
  { options, network, security, outDir, io }: Start,
  departed: ReadonlySet<string>,
): Promise<Cluster> {
  // Plaintext on the private addresses of network namespaces needs --insecure (docs/security.md);
  // under --tls each node also gets its own certificate files (nodeArgs).
  const extraArgs = [...nodeFlags(options), ...security.clusterArgs];
  io.log(`chaos: starting ${options.nodes} nodes (${network.mode}) ${extraArgs.join(' ')}`);
  return startCluster({
    nodes: options.nodes,
    basePort: 0,
    dataDir: join(outDir, 'data'),
    logDir: join(outDir, 'logs'),
    extraArgs,
    nodeArgs: security.nodeArgs,
    clientCredentials: security.healthCredentials,
    addresses: network.addresses,
    commandPrefix: network.commandPrefix,
    onUnexpectedExit: (node, exit) =>
      io.log(
        departed.has(node.id)
          ? `chaos: node ${node.id} left the cluster and exited (${exit.signal ?? exit.code ?? '?'})`
          : `chaos: warning: node ${node.id} exited on its own (${exit.signal ?? exit.code ?? '?'}); see ${node.logFile}`,
      ),
  });
}

interface Exercise {
  readonly options: ChaosOptions;
  readonly network: Network;
  readonly security: RunSecurity;
  readonly cluster: Cluster;
  /** Nodes out of the cluster for good (left, replaced): the final checks leave them out. */
  readonly departed: Set<string>;
  readonly schedule: readonly FaultWindow[];
  readonly outDir: string;
  readonly io: RunIo;
  readonly abort: AbortSignal;
  readonly unavailable: RunReport['unavailable'];
  readonly startedAt: string;
  readonly wallStart: number;
}

async function exercise(x: Exercise): Promise<RunReport> {
  const { options, cluster, io } = x;
  const nodes: NodeAddress[] = cluster.nodes.map((n) => ({ id: n.id, address: n.address }));
  const historyFile = createWriteStream(join(x.outDir, 'history.jsonl'));
  const t0 = performance.now();
  const nowMs = (): number => Math.round(performance.now() - t0);
  const history = new History(nowMs, (event) => historyFile.write(`${JSON.stringify(event)}\n`));
  const { windows, stoppedMs } = await underLoad(x, nodes, history, nowMs);
  await new Promise<void>((done) => historyFile.end(done));
  const { live, ring, convergence } = await settle(x, windows, stoppedMs);
  const workloads = await checkAll(options, live, history.events, x.security, io);
  const verdict = decideVerdict(
    workloads,
    convergence,
    options.selfTest,
    options.failOnDivergence,
    ring.problems,
  );
  const report: RunReport = {
    tool: 'ringstore-chaos',
    version: 1,
    seed: options.seed,
    replay: replayCommand(options),
    startedAt: x.startedAt,
    network: x.network.mode,
    networkNote: `${x.network.note}; link faults: ${x.network.linkMethod}`,
    security: { tls: x.security.tls, note: x.security.note },
    nodes: options.nodes,
    replicas: options.replicas,
    partitions: options.partitions,
    writeQuorum: options.w,
    durationMs: stoppedMs,
    nemeses: options.nemeses,
    order: options.order,
    unavailable: x.unavailable,
    windows,
    workloads,
    convergence,
    ring: {
      ...ring,
      transitions: windows.filter((w) => w.kind === 'membership' && w.error === undefined).length,
      tombstonesReaped: await tombstonesReaped(live, x.security.access),
    },
    selfTest: options.selfTest,
    failOnDivergence: options.failOnDivergence,
    verdict,
    throughput: faultThroughput(history.events, timelineWindows(windows), stoppedMs),
    wallMs: Math.round(performance.now() - x.wallStart),
  };
  await writeReport(report, history.events, x.outDir, io);
  return report;
}

/**
 * After the load: the nodes still in the cluster, the last transition's end and the ring check,
 * then the wait for every replica to agree.
 */
async function settle(
  x: Exercise,
  windows: readonly WindowRecord[],
  stoppedMs: number,
): Promise<{ live: NodeAddress[]; ring: RingCheck; convergence: ConvergenceResult }> {
  const { options, io } = x;
  const live = x.cluster.nodes
    .filter((n) => n.running && !x.departed.has(n.id))
    .map((n) => ({ id: n.id, address: n.address }));
  const lastHealMs = Math.max(0, ...windows.map((w) => w.healedMs ?? 0));
  io.log(
    `chaos: load stopped at ${(stoppedMs / 1000).toFixed(1)} s; waiting up to ${options.settleMs / 1000} s for one ring on ${live.map((n) => n.id).join(' ')} and for every replica to agree`,
  );
  const access = x.security.access;
  const ring = await waitForRing(
    live,
    options.replicas,
    options.settleMs,
    agreementPollMs,
    clusterRpc(access),
  );
  io.log(
    ring.problems.length === 0
      ? `chaos: ring v${ring.version} on every live node, members ${ring.members.join(' ')}, no transfers`
      : `chaos: ring problems: ${ring.problems.join('; ')}`,
  );
  // One bound for both waits; convergence counts from the end of the load, the ring wait included.
  const agreed = await waitForAgreement(
    live,
    options.replicas,
    Math.max(0, options.settleMs - ring.waitedMs),
    agreementPollMs,
    access,
  );
  const afterMs = agreed.agreedAfterMs === null ? null : ring.waitedMs + agreed.agreedAfterMs;
  const convergence: ConvergenceResult = {
    converged: afterMs !== null,
    convergenceMs: afterMs,
    sinceLastHealMs: afterMs === null ? null : afterMs + stoppedMs - lastHealMs,
    divergentPartitions: agreed.agreement.divergent,
    partitionsChecked: agreed.agreement.partitions,
    polls: agreed.polls,
    settleMs: options.settleMs,
  };
  io.log(
    convergence.converged
      ? `chaos: replicas agree after ${afterMs} ms`
      : `chaos: ${agreed.agreement.divergent} partitions still divergent (silent nodes: ${agreed.agreement.silent.join(' ') || 'none'})`,
  );
  return { live, ring, convergence };
}

/** Workloads and nemesis together for the run's duration; then every fault is healed. */
async function underLoad(
  x: Exercise,
  nodes: readonly NodeAddress[],
  history: History,
  nowMs: () => number,
): Promise<{ windows: WindowRecord[]; stoppedMs: number }> {
  const { options, io } = x;
  const stop = new AbortController();
  const onAbort = (): void => stop.abort();
  x.abort.addEventListener('abort', onAbort, { once: true });
  // With endOnFault the last heal ends the load, also when a transition outlasted its window.
  const cancelTimer =
    options.endOnFault && x.schedule.length > 0
      ? (): void => undefined
      : abortAt(options.durationMs, nowMs, stop);
  const rng = createRng((options.seed ^ workloadSeedSalt) >>> 0);
  const seeds = nodes.map((n) => n.address);
  try {
    io.log(
      `chaos: load: ${options.workloads.join(' + ')}, ${options.ratePerSecond} ops/s each, ${options.concurrency} workers each, W=${options.w}`,
    );
    const loads = options.workloads.map((name) =>
      runWorkload(
        {
          name,
          concurrency: options.concurrency,
          ratePerSecond: options.ratePerSecond,
          setKeys: options.setKeys,
          w: options.w,
          deadlineMs: options.deadlineMs,
          merge: options.selfTest === 'lww' ? 'lww' : 'union',
        },
        {
          seeds,
          security: x.security.client,
          history,
          nowMs,
          wallMs: () => Date.now(),
          pickKey: (count) => rng.int(0, count - 1),
        },
        stop.signal,
      ),
    );
    const windows = await runSchedule(
      x.schedule,
      {
        cluster: x.cluster,
        network: x.network,
        nowMs,
        log: io.log,
        departed: x.departed,
        rpc: clusterRpc(x.security.access),
        prepareNode: (id, address) => x.security.prepareNode(id, address),
      },
      stop.signal,
    );
    if (options.endOnFault && windows.length > 0) stop.abort();
    await Promise.all(loads);
    const stoppedMs = nowMs();
    history.closeOpen('the run ended before the operation completed');
    if (x.abort.aborted) throw new Error('the run was interrupted');
    return { windows, stoppedMs };
  } finally {
    cancelTimer();
    stop.abort();
    x.abort.removeEventListener('abort', onAbort);
  }
}

/**
 * Aborts `stop` once the run's clock (nowMs, which also times the schedule and stamps the history)
 * reaches atMs. A timer counts on the event loop's clock and may fire just before nowMs says it is
 * due, so it is re-armed until then. Returns the cancel.
 */
function abortAt(atMs: number, nowMs: () => number, stop: AbortController): () => void {
  let timer: NodeJS.Timeout | undefined;
  const check = (): void => {
    const leftMs = atMs - nowMs();
    if (leftMs <= 0) stop.abort();
    else timer = setTimeout(check, leftMs);
  };
  check();
  return () => clearTimeout(timer);
}

/** Final reads of every workload's keys through every node, and the checker on each workload. */
async function checkAll(
  options: ChaosOptions,
  nodes: readonly NodeAddress[],
  events: readonly OpEvent[],
  security: RunSecurity,
  io: RunIo,
): Promise<CheckResult[]> {
  const results: CheckResult[] = [];
  for (const workload of options.workloads) {
    const keys = [
      ...new Set(
        events.filter((e) => e.workload === workload && e.type === 'invoke').map((e) => e.key),
      ),
    ];
    io.log(
      `chaos: ${workload}: reading ${keys.length} keys with R=${options.replicas} through each of ${nodes.length} nodes`,
    );
    const reads = (await readEverywhere(nodes, keys, options.replicas, security.access)).map((r) =>
      finalReadOf(workload, r),
    );
    const result =
      workload === 'delete' ? checkDeletes(events, reads) : checkSet(workload, events, reads);
    io.log(
      `chaos: ${workload}: attempted ${result.attempted}, acknowledged ${result.acknowledged}, failed ${result.failed}, overloaded ${result.overloaded} (${result.overloadAnswers} overload answers), unknown ${result.unknown}, ` +
        `lost ${result.lost}, unknown-but-present ${result.unknownPresent}, unexpected ${result.unexpected}, unverified ${result.unverified}` +
        (workload === 'delete' ? `, resurrected ${result.resurrected}` : ''),
    );
    results.push(result);
  }
  return results;
}

/** The items a node's reads hold: the value of a unique key, the elements of a set. */
export function finalReadOf(workload: WorkloadName, reads: NodeReads): FinalRead {
  const present = new Set<string>();
  for (const [key, values] of reads.values) {
    for (const value of values) {
      if (workload !== 'set') present.add(itemOf(key, value.toString('utf8')));
      else for (const element of decodeSet(value).elements) present.add(itemOf(key, element));
    }
  }
  return { reader: reads.node, present, unreadableKeys: reads.unreadable };
}

/** The fault windows as applied (planned times when not recorded), for the timeline and rates. */
function timelineWindows(windows: readonly WindowRecord[]) {
  return windows.map((w) => ({
    index: w.index,
    startMs: w.appliedMs ?? w.startMs,
    endMs: w.healedMs ?? w.endMs,
    label: w.description,
    skipped: w.skipped !== undefined,
  }));
}

async function writeReport(
  report: RunReport,
  events: readonly OpEvent[],
  outDir: string,
  io: RunIo,
): Promise<void> {
  const windows = timelineWindows(report.windows);
  const svg = renderTimelineSvg(
    bucketize(events, report.durationMs, timelineBucketMs),
    windows,
    `Ringstore chaos, seed ${report.seed}: ${report.verdict.pass ? 'PASS' : 'FAIL'}`,
  );
  await writeFile(join(outDir, 'timeline.svg'), svg);
  await writeFile(join(outDir, 'report.json'), `${JSON.stringify(report, null, 2)}\n`);
  await writeFile(join(outDir, 'report.md'), renderMarkdown(report, 'timeline.svg'));
  io.log(
    `chaos: report ${join(outDir, 'report.md')} (json, timeline.svg, history.jsonl, logs/ beside it)`,
  );
}
