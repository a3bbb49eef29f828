// `npm run bench:join`: issue 12's join figures. Three nodes are loaded with records, workload A
// runs at a fixed rate for a baseline window, then a fourth node joins (staged at the claimant,
// planned, committed) while the same workload keeps running; the report gives the time to "no
// transfers", objects moved per second, how fast the committed ring reached every node, and the
// workload's latency and errors during the join against the baseline.
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { performance } from 'node:perf_hooks';
import { Command, CommanderError, InvalidArgumentError, Option } from 'commander';
import { seedMax } from '@ringstore/tools';
import type { Plan } from '@ringstore/proto';
import { runFixedRate, ratePerSecondMax, type FixedRateOptions } from './fixed-rate.js';
import {
  InsertSequence,
  concurrencyMax,
  durationMsMax,
  loadRecords,
  valueBytesMax,
  type Driver,
} from './harness.js';
import {
  ClusterRpc,
  foundersCount,
  joinerId,
  sampleCluster,
  startJoinCluster,
  waitPushed,
  waitSettled,
  watchStreaming,
  type ClusterSample,
  type JoinCluster,
  type StreamingSeen,
} from './join-cluster.js';
import {
  joinMarkdown,
  joinReport,
  perSecond,
  type JoinReport,
  type JoinSettings,
  type Transition,
  type Window,
} from './join-report.js';
import { machine } from './report.js';
import { errorKind } from './stats.js';
import { deadlineMsMax, intIn, recordsMax, type BenchIo } from './run.js';
import { ringstoreDriver } from './targets/ringstore.js';
import { workloads, type Distribution } from './workload.js';

export interface JoinFlags {
  records: number;
  valueBytes: number;
  rate: number;
  partitions: number;
  /** Objects per second each node receives in transfers (its --transfer-rate); 0: unthrottled. */
  transferRate: number;
  loadConcurrency: number;
  baselineSeconds: number;
  settleTimeoutSeconds: number;
  deadlineMs: number;
  distribution: Distribution;
  seed?: number;
  out: string;
  json?: boolean;
}

/** The node's own ceiling for --transfer-rate. */
export const transferRateMax = 10_000_000;
/** Issue 12's figure is for a million records. */
export const joinRecordsDefault = 1_000_000;
/** A baseline long enough for a stable p99 at 500 ops/s (10,000 operations). */
export const baselineSecondsDefault = 20;
/** Bound on the join: a million records at the 5,000/s goal move in minutes; an hour is a hang. */
export const settleTimeoutSecondsDefault = 3_600;
/** Fewest partitions: N=3 replicas need at least three, and Q is a power of two. */
export const partitionsMin = 4;
/** Most partitions the node accepts (its --partitions ceiling). */
export const partitionsMax = 65_536;
/** Unmeasured run before the baseline: the new client's channels and the nodes' caches warm up. */
export const warmupMs = 2_000;

function powerOfTwo(name: string): (raw: string) => number {
  const int = intIn(name, partitionsMin, partitionsMax);
  return (raw) => {
    const n = int(raw);
    if ((n & (n - 1)) !== 0) throw new InvalidArgumentError(`${name} must be a power of two`);
    return n;
  };
}

function joinCommand(io: BenchIo): Command {
  return new Command('ringstore-bench-join')
    .description(
      'Joins a 4th node to a loaded 3-node cluster under workload A at a fixed rate (issue 12).',
    )
    .option(
      '--records <n>',
      'records loaded first',
      intIn('--records', 1, recordsMax),
      joinRecordsDefault,
    )
    .option('--value-bytes <n>', 'value size', intIn('--value-bytes', 1, valueBytesMax), 100)
    .option('--rate <ops/s>', 'fixed rate of workload A', intIn('--rate', 1, ratePerSecondMax), 500)
    .option('--partitions <n>', 'Q of the cluster (a power of two)', powerOfTwo('--partitions'), 64)
    .option(
      '--transfer-rate <objects/s>',
      'passed to every node: objects per second a node receives in transfers (0: unthrottled)',
      intIn('--transfer-rate', 0, transferRateMax),
      0,
    )
    .option(
      '--load-concurrency <n>',
      'puts in flight while loading',
      intIn('--load-concurrency', 1, concurrencyMax),
      64,
    )
    .option(
      '--baseline-seconds <s>',
      'workload A before the join',
      intIn('--baseline-seconds', 1, durationMsMax / 1000),
      baselineSecondsDefault,
    )
    .option(
      '--settle-timeout-seconds <s>',
      'longest wait for the join to finish',
      intIn('--settle-timeout-seconds', 1, durationMsMax / 1000),
      settleTimeoutSecondsDefault,
    )
    .option(
      '--deadline-ms <ms>',
      'deadline of each request',
      intIn('--deadline-ms', 1, deadlineMsMax),
      5_000,
    )
    .addOption(
      new Option('--distribution <kind>', 'key choice of workload A')
        .choices(['uniform', 'zipfian'])
        .default('zipfian'),
    )
    .option(
      '--seed <n>',
      'seed of keys and operations (default: random)',
      intIn('--seed', 0, seedMax),
    )
    .option('--out <dir>', 'where results go (JSON and Markdown)', 'bench-results')
    .option('--json', 'print the report as JSON on stdout instead of the tables')
    .exitOverride()
    .configureOutput({
      writeOut: (s) => void io.stdout.write(s),
      writeErr: (s) => void io.stderr.write(s),
    });
}

/** The flags, or the exit code when they are bad (2) or only asked for help (0). */
export function parseJoinFlags(argv: readonly string[], io: BenchIo): JoinFlags | number {
  const cmd = joinCommand(io);
  try {
    cmd.parse([...argv], { from: 'user' });
  } catch (e) {
    if (e instanceof CommanderError) return e.exitCode === 0 ? 0 : 2;
    throw e;
  }
  return cmd.opts<JoinFlags>();
}

/** Tenths of `total` done (0..10): the load phase prints a line each time this grows. */
export function progressTenth(done: number, total: number): number {
  return total > 0 ? Math.min(10, Math.floor((done * 10) / total)) : 10;
}

const messageOf = (e: unknown): string => (e instanceof Error ? e.message : String(e));

/** First failures kept per window: enough to tell one cause from several, a screenful at most. */
export const errorSamplesMax = 5;

/** Keeps the first failures of a window (what, when, why) from the driver it wraps. */
export class ErrorSampler {
  private startMs = performance.now();
  private samples: string[] = [];

  /** Starts a window: times count from now, the list starts empty. */
  start(): void {
    this.startMs = performance.now();
    this.samples = [];
  }

  take(): string[] {
    return [...this.samples];
  }

  note(op: string, e: unknown): void {
    if (this.samples.length >= errorSamplesMax) return;
    const atS = Math.round(performance.now() - this.startMs) / 1000;
    this.samples.push(`${op} at ${atS} s: ${errorKind(e)}: ${messageOf(e)}`);
  }

  wrap(driver: Driver): Driver {
    const watched = async (op: string, call: () => Promise<void>): Promise<void> => {
      try {
        await call();
      } catch (e) {
        this.note(op, e);
        throw e;
      }
    };
    return {
      read: (key) => watched('read', () => driver.read(key)),
      update: (key, value) => watched('update', () => driver.update(key, value)),
      insert: (key, value) => watched('insert', () => driver.insert(key, value)),
      close: () => driver.close(),
    };
  }
}

/** Milliseconds to a tenth: what the report shows; finer is the timer's noise. */
const tenthMs = (ms: number): number => Math.round(ms * 10) / 10;

/** What has to be stopped however the run ends. */
interface Running {
  cluster: JoinCluster | undefined;
  driver: Driver | undefined;
}

/** One join benchmark run: exit 0 when it ran to the end, 1 when it failed, 2 on bad flags. */
export async function runJoin(argv: readonly string[], io: BenchIo): Promise<number> {
  const f = parseJoinFlags(argv, io);
  if (typeof f === 'number') return f;
  const seed = f.seed ?? Math.floor(Math.random() * seedMax);
  const startedAt = new Date();
  const dir = mkdtempSync(join(tmpdir(), 'ringstore-bench-join-'));
  const running: Running = { cluster: undefined, driver: undefined };
  // Ctrl-C: stop the nodes by pid (SIGTERM, then SIGKILL) before going, not just the bench.
  const interrupted = (signal: NodeJS.Signals): void => {
    io.stderr.write(`ringstore-bench join: ${signal}: stopping the nodes; logs in ${dir}\n`);
    void shutdown(running).finally(() => process.exit(130));
  };
  process.once('SIGINT', interrupted);
  process.once('SIGTERM', interrupted);
  let report: JoinReport | undefined;
  try {
    io.stderr.write(`ringstore-bench join: seed ${seed}; nodes, data and logs in ${dir}\n`);
    report = await scenario(f, io, seed, dir, running, startedAt);
  } catch (e) {
    io.stderr.write(`ringstore-bench join: FAILED ${messageOf(e)}\n`);
  } finally {
    process.off('SIGINT', interrupted);
    process.off('SIGTERM', interrupted);
    await shutdown(running);
  }
  if (report === undefined) {
    io.stderr.write(`ringstore-bench join: node logs kept in ${dir}\n`);
    return 1;
  }
  rmSync(dir, { recursive: true, force: true });
  writeJoinResults(f, io, report);
  return 0;
}

async function shutdown(running: Running): Promise<void> {
  const { driver, cluster } = running;
  running.driver = undefined;
  running.cluster = undefined;
  await driver?.close().catch(() => undefined);
  await cluster?.cluster.stop();
}

async function scenario(
  f: JoinFlags,
  io: BenchIo,
  seed: number,
  dir: string,
  running: Running,
  startedAt: Date,
): Promise<JoinReport> {
  const log = (s: string): void => void io.stderr.write(`ringstore-bench join: ${s}\n`);
  const jc = await startJoinCluster(dir, f.partitions, f.transferRate, (id, pid) =>
    log(`${id} started, pid ${pid}`),
  );
  running.cluster = jc;
  const contexts = new Map<string, Buffer>();
  const load = await loadPhase(f, log, jc, seed, contexts);
  const sampler = new ErrorSampler();
  const driver = sampler.wrap(await ringstoreDriver(jc.seeds, 'zero-hop', f.deadlineMs, contexts));
  running.driver = driver;
  const options: Workload['options'] = {
    driver,
    workload: workloads.A,
    distribution: f.distribution,
    records: f.records,
    inserts: new InsertSequence(f.records),
    valueBytes: f.valueBytes,
    ratePerSecond: f.rate,
  };
  await runFixedRate({ ...options, durationMs: warmupMs, seed: seed + 1 });
  log(`baseline: workload A at ${f.rate} ops/s for ${f.baselineSeconds} s`);
  const baseline = await measuredWindow(jc, founderIds(), sampler, () =>
    runFixedRate({ ...options, durationMs: f.baselineSeconds * 1000, seed: seed + 2 }),
  );
  log(`baseline: ${windowLine(baseline)}`);
  const { during, transition } = await joinWindow(f, log, jc, { options, sampler }, seed + 3);
  log(`during the join: ${windowLine(during)}`);
  const settings: JoinSettings = {
    records: f.records,
    valueBytes: f.valueBytes,
    ratePerSecond: f.rate,
    partitions: f.partitions,
    transferRate: f.transferRate,
    loadConcurrency: f.loadConcurrency,
    baselineSeconds: f.baselineSeconds,
    distribution: f.distribution,
    deadlineMs: f.deadlineMs,
    seed,
  };
  const m = { load, baseline, during, transition };
  return joinReport(settings, m, machine(), startedAt.toISOString());
}

const founderIds = (): string[] => Array.from({ length: foundersCount }, (_, i) => `n${i + 1}`);

function windowLine(w: Window): string {
  const r = w.result;
  const l = r.latency;
  return `${r.operations} ops, p50 ${l.p50Ms} p99 ${l.p99Ms} p99.9 ${l.p999Ms} ms, ${r.errors} errors`;
}

/** The load phase through the SDK (zero-hop, W=2 at the nodes), a line per tenth done. */
async function loadPhase(
  f: JoinFlags,
  log: (s: string) => void,
  jc: JoinCluster,
  seed: number,
  contexts: Map<string, Buffer>,
): Promise<{ durationMs: number; retries: number }> {
  const loader = await ringstoreDriver(jc.seeds, 'zero-hop', f.deadlineMs, contexts);
  const t0 = performance.now();
  let shown = 0;
  try {
    log(`loading ${f.records} records of ${f.valueBytes} bytes, ${f.loadConcurrency} in flight`);
    return await loadRecords(loader, f.records, f.valueBytes, f.loadConcurrency, seed, (done) => {
      const tenth = progressTenth(done, f.records);
      if (tenth <= shown) return;
      shown = tenth;
      const rate = perSecond(done, performance.now() - t0);
      log(`load: ${done}/${f.records} (${tenth * 10}%), ${rate} records/s`);
    });
  } finally {
    await loader.close();
  }
}

const cpuSecondsSince = (from: NodeJS.CpuUsage): number => {
  const d = process.cpuUsage(from);
  return (d.user + d.system) / 1e6;
};

/** Runs one workload window between two samples of the nodes' CPU time. */
async function measuredWindow(
  jc: JoinCluster,
  ids: readonly string[],
  sampler: ErrorSampler,
  run: () => ReturnType<typeof runFixedRate>,
): Promise<Window> {
  const before = await sampleCluster(jc.metrics, ids);
  const cpu = process.cpuUsage();
  sampler.start();
  const result = await run();
  const after = await sampleCluster(jc.metrics, ids);
  return {
    result,
    serverCpuSeconds: after.cpuSeconds - before.cpuSeconds,
    clientCpuSeconds: cpuSecondsSince(cpu),
    errorSamples: sampler.take(),
  };
}

/** The claimant named in the ring, and a Cluster client for it. */
async function findClaimant(rpcs: readonly ClusterRpc[]): Promise<{ id: string; rpc: ClusterRpc }> {
  const first = rpcs[0];
  if (first === undefined) throw new Error('no nodes');
  const ring = await first.ring();
  const node = ring.nodes.find((n) => n.id === ring.claimant);
  const rpc = rpcs.find((r) => r.address === node?.address);
  if (rpc === undefined) throw new Error(`the claimant "${ring.claimant}" is not a node here`);
  return { id: ring.claimant, rpc };
}

interface Watched {
  readonly commitVersion: bigint;
  readonly commitMs: number;
  readonly pushMs: number | undefined;
  readonly settleMs: number;
  readonly settledVersion: bigint;
}

/** Commits at t0's claimant, then waits for the push to every node and for the join to settle. */
async function commitAndWatch(
  claimant: ClusterRpc,
  rpcs: readonly ClusterRpc[],
  t0: number,
  timeoutMs: number,
): Promise<Watched> {
  const commitVersion = await claimant.commit();
  const commitMs = performance.now() - t0;
  const pushMs = await waitPushed(rpcs, commitVersion, t0);
  const { settleMs, version } = await waitSettled(rpcs, t0, timeoutMs);
  return { commitVersion, commitMs, pushMs, settleMs, settledVersion: version };
}

/**
 * Workload A at the fixed rate from just before the commit until the join has settled, with the
 * transfer counters sampled meanwhile; every failure of the three is reported, none left running.
 */
async function commitUnderWorkload(
  f: JoinFlags,
  jc: JoinCluster,
  rpcs: readonly ClusterRpc[],
  claimant: ClusterRpc,
  run: (until: () => boolean) => ReturnType<typeof runFixedRate>,
  before: ClusterSample,
): Promise<{ result: Window['result']; watched: Watched; seen: StreamingSeen }> {
  const ids = [...founderIds(), joinerId];
  let settled = false;
  const workload = run(() => settled);
  const t0 = performance.now();
  const changing = commitAndWatch(claimant, rpcs, t0, f.settleTimeoutSeconds * 1000).finally(
    () => (settled = true),
  );
  const streaming = watchStreaming(jc.metrics, ids, before, t0, () => settled);
  // All three have ended before the first failure (the join's first) is thrown: none is left running.
  await Promise.allSettled([workload, changing, streaming]);
  const [result, watched, seen] = await Promise.all([workload, changing, streaming]);
  return { result, watched, seen };
}

/** Workload A at the fixed rate (all but its length and seed), and the sampler of its failures. */
interface Workload {
  readonly options: Omit<FixedRateOptions, 'durationMs' | 'seed'>;
  readonly sampler: ErrorSampler;
}

/** Stages n4's join at the claimant and plans it. */
async function stageAndPlan(
  log: (s: string) => void,
  rpcs: readonly ClusterRpc[],
  joiner: { readonly address: string; readonly peerAddress: string },
): Promise<{ claimant: { id: string; rpc: ClusterRpc }; plan: Plan }> {
  const claimant = await findClaimant(rpcs);
  await claimant.rpc.stageJoin(joinerId, joiner.address, joiner.peerAddress);
  const plan = await claimant.rpc.plan();
  const warnings = plan.warnings.length > 0 ? `; warnings: ${plan.warnings.join('; ')}` : '';
  log(`plan at ${claimant.id}: ${plan.replicaPartitionsMoving} replica-partitions move${warnings}`);
  return { claimant, plan };
}

function transitionOf(
  claimant: string,
  plan: Plan,
  watched: Watched,
  seen: StreamingSeen,
  counters: { readonly before: ClusterSample; readonly after: ClusterSample },
  nodes: number,
): Transition {
  const { before, after } = counters;
  const current = plan.current;
  // Objects counted after the last sample still arrived before the ring settled.
  const streamingMs =
    after.transferObjects > seen.objects ? watched.settleMs : (seen.lastGrowthMs ?? null);
  return {
    claimant,
    commitVersion: String(watched.commitVersion),
    settledVersion: String(watched.settledVersion),
    commitMs: tenthMs(watched.commitMs),
    pushMs: watched.pushMs === undefined ? null : tenthMs(watched.pushMs),
    settleMs: tenthMs(watched.settleMs),
    streamingMs: streamingMs === null ? null : tenthMs(streamingMs),
    objectsMoved: after.transferObjects - before.transferObjects,
    objectsToJoiner: after.joinerTransferObjects - before.joinerTransferObjects,
    plannedObjects: plan.movement.reduce((sum, m) => sum + Number(m.objectsIn), 0),
    replicaPartitionsMoving: plan.replicaPartitionsMoving,
    idealReplicaPartitions:
      current === undefined ? 0 : (current.replicas * current.partitionCount) / nodes,
  };
}

/** Adds n4, stages its join at the claimant, plans, commits under the workload, measures it all. */
async function joinWindow(
  f: JoinFlags,
  log: (s: string) => void,
  jc: JoinCluster,
  workload: Workload,
  seed: number,
): Promise<{ during: Window; transition: Transition }> {
  const joiner = await jc.cluster.addNode(joinerId);
  log(`${joinerId} serving at ${joiner.address} (--seeds); staging its join`);
  const rpcs = jc.cluster.nodes.map((n) => new ClusterRpc(n.address));
  try {
    const { claimant, plan } = await stageAndPlan(log, rpcs, joiner);
    const ids = [...founderIds(), joinerId];
    const before = await sampleCluster(jc.metrics, ids);
    const cpu = process.cpuUsage();
    workload.sampler.start();
    log('committing; workload A runs until every node holds the same ring with no transfers');
    const durationMs = f.settleTimeoutSeconds * 1000;
    const run = (until: () => boolean): ReturnType<typeof runFixedRate> =>
      runFixedRate({ ...workload.options, durationMs, until, seed });
    const under = await commitUnderWorkload(f, jc, rpcs, claimant.rpc, run, before);
    const after = await sampleCluster(jc.metrics, ids);
    const during: Window = {
      result: under.result,
      serverCpuSeconds: after.cpuSeconds - before.cpuSeconds,
      clientCpuSeconds: cpuSecondsSince(cpu),
      errorSamples: workload.sampler.take(),
    };
    const counters = { before, after };
    const transition = transitionOf(
      claimant.id,
      plan,
      under.watched,
      under.seen,
      counters,
      ids.length,
    );
    return { during, transition };
  } finally {
    for (const r of rpcs) r.close();
  }
}

/** The report as JSON and Markdown under --out; on stdout the tables, or the JSON with --json. */
function writeJoinResults(f: JoinFlags, io: BenchIo, report: JoinReport): void {
  const outDir = resolve(f.out);
  mkdirSync(outDir, { recursive: true });
  const stem = join(outDir, `join-${report.startedAt.replace(/[:.]/g, '-')}`);
  const md = joinMarkdown(report);
  writeFileSync(`${stem}.json`, `${JSON.stringify(report, null, 2)}\n`);
  writeFileSync(`${stem}.md`, md);
  io.stdout.write(f.json === true ? `${JSON.stringify(report)}\n` : md);
  io.stderr.write(`ringstore-bench join: results in ${stem}.json and ${stem}.md\n`);
}
