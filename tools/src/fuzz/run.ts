// One fuzz run: a real cluster on 127.0.0.1 (plaintext, so the peer port goes by the
// x-ringstore-from header, as a node holding a certificate could claim any member id), known keys
// written, then `seconds` of fuzzed requests to every client and peer RPC from `concurrency`
// workers drawing from one seeded sequence, then the checks: every node still running and
// SERVING, no answer INTERNAL or UNKNOWN, the known keys intact at R = 3.
import { mkdtempSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startCluster, type Cluster } from '../cluster.js';
import { checkHealth, healthClient } from '../health.js';
import { RequestSequence } from './generate.js';
import {
  Probe,
  checkKnownKeys,
  knownKeys,
  learnWorld,
  waitAllUp,
  writeKnownKeys,
  type KnownKey,
} from './learn.js';
import type { FuzzOptions } from './options.js';
import {
  formatReport,
  reasonsOf,
  tallyParts,
  type Crash,
  type FuzzChecks,
  type FuzzReport,
} from './report.js';
import { Tally } from './stats.js';
import { Wire } from './transport.js';

export interface FuzzIo {
  log(line: string): void;
}

/** Bound on every node seeing every other up: at start, and again after the fuzzing. */
const settleMs = 30_000;
/** How long a known key's read is retried while a quorum is briefly missing. */
const knownKeyRetryMs = 10_000;
const healthDeadlineMs = 5_000;
/** Progress lines while fuzzing, this far apart. */
const progressEveryMs = 10_000;

interface Running {
  readonly cluster: Cluster;
  readonly probe: Probe;
  readonly keys: readonly KnownKey[];
  readonly tally: Tally;
  readonly crashes: Crash[];
}

async function fuzzFor(
  run: Running,
  sequence: RequestSequence,
  options: FuzzOptions,
  io: FuzzIo,
  signal: AbortSignal,
): Promise<number> {
  const wire = new Wire();
  const startMs = Date.now();
  const endMs = startMs + options.seconds * 1000;
  const addresses = new Map(run.cluster.nodes.map((n) => [n.id, n]));
  let nextProgressMs = startMs + progressEveryMs;
  const worker = async (): Promise<void> => {
    while (Date.now() < endMs && !signal.aborted) {
      const request = sequence.next();
      const node = addresses.get(request.node)!;
      run.tally.sending(request);
      const results = await wire.send(
        request,
        request.port === 'client' ? node.address : node.peerAddress,
      );
      run.tally.answered(request, results);
      if (Date.now() >= nextProgressMs) {
        nextProgressMs += progressEveryMs;
        io.log(
          `fuzz: ${Math.round((Date.now() - startMs) / 1000)} s, ${run.tally.requests} requests`,
        );
      }
    }
  };
  try {
    await Promise.all(Array.from({ length: options.concurrency }, worker));
  } finally {
    wire.close();
  }
  return Date.now() - startMs;
}

function processGone(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return false;
  } catch {
    return true;
  }
}

async function notServing(cluster: Cluster): Promise<string[]> {
  const out: string[] = [];
  for (const n of cluster.nodes) {
    const client = healthClient(n.address);
    try {
      const status = await checkHealth(client, healthDeadlineMs);
      if (status !== 'SERVING') out.push(`${n.id} ${status}`);
    } catch (e) {
      out.push(`${n.id}: ${(e as Error).message}`);
    } finally {
      client.close();
    }
  }
  return out;
}

async function check(run: Running, ringBefore: string): Promise<FuzzChecks> {
  const nodes = run.cluster.nodes;
  const nodesDown = nodes.filter((n) => !n.running || processGone(n.pid)).map((n) => n.id);
  const up = nodes.filter((n) => !nodesDown.includes(n.id));
  const unsettled = await waitAllUp(run.probe, up, settleMs);
  const ring = await run.probe.ring(up[0]?.address ?? '').then(
    (r) => `${r.claimant} ${r.term}.${r.version}`,
    (e: Error) => `unreadable (${e.message})`,
  );
  return {
    nodesDown,
    notServing: await notServing(run.cluster),
    unsettled,
    knownKeys: await checkKnownKeys(run.probe, up, run.keys, knownKeyRetryMs),
    knownKeysChecked: run.keys.length,
    ring: `${ringBefore} -> ${ring}`,
  };
}

async function startRun(options: FuzzOptions, dir: string, crashes: Crash[], tally: Tally) {
  const cluster = await startCluster({
    nodes: options.nodes,
    basePort: 0,
    dataDir: join(dir, 'data'),
    logDir: join(dir, 'logs'),
    onUnexpectedExit: (node, exit) =>
      crashes.push({ node: node.id, exit, recent: tally.recentTo(node.id) }),
  });
  const probe = new Probe();
  const keys = knownKeys(options.seed);
  return { cluster, probe, keys, tally, crashes } satisfies Running;
}

/** Settles the cluster, writes the known keys, learns the world, fuzzes, then checks. */
async function fuzzAndCheck(
  run: Running,
  options: FuzzOptions,
  io: FuzzIo,
  signal: AbortSignal,
): Promise<{ fuzzMs: number; checks: FuzzChecks }> {
  const startup = await waitAllUp(run.probe, run.cluster.nodes, settleMs);
  if (startup.length > 0) throw new Error(`the cluster did not settle: ${startup.join('; ')}`);
  await writeKnownKeys(run.probe, run.cluster.nodes, run.keys);
  const intact = await checkKnownKeys(run.probe, run.cluster.nodes, run.keys, knownKeyRetryMs);
  if (intact.length > 0) throw new Error(`known keys did not read back: ${intact.join('; ')}`);
  const world = await learnWorld(run.probe, run.cluster, run.keys);
  io.log(
    `fuzz: cluster up, ${run.keys.length} known keys written; fuzzing for ${options.seconds} s`,
  );
  const fuzzMs = await fuzzFor(run, new RequestSequence(options.seed, world), options, io, signal);
  const checks = await check(run, `${world.claimant} ${world.ringTerm}.${world.ringVersion}`);
  return { fuzzMs, checks };
}

/** Runs the fuzzer; resolves with the report (written to the directory, kept unless it passed). */
export async function runFuzz(
  options: FuzzOptions,
  io: FuzzIo,
  signal: AbortSignal = new AbortController().signal,
): Promise<FuzzReport> {
  const wallStartMs = Date.now();
  const dir = options.out ?? mkdtempSync(join(tmpdir(), 'ringstore-fuzz-'));
  mkdirSync(dir, { recursive: true });
  io.log(
    `fuzz: seed ${options.seed} (replay: npm run fuzz -- --seed ${options.seed} --seconds ${options.seconds} --nodes ${options.nodes})`,
  );
  const tally = new Tally();
  const crashes: Crash[] = [];
  const run = await startRun(options, dir, crashes, tally);
  let fuzzMs = 0;
  let checks: FuzzChecks;
  try {
    ({ fuzzMs, checks } = await fuzzAndCheck(run, options, io, signal));
  } catch (e) {
    throw new Error(`${(e as Error).message} (data and logs kept in ${dir})`, { cause: e });
  } finally {
    run.probe.close();
    await run.cluster.stop();
  }
  const parts = tallyParts(tally);
  const reasons = reasonsOf(checks, crashes, parts.findingsTotal);
  const pass = reasons.length === 0;
  const keep = !pass || options.out !== undefined;
  const report: FuzzReport = {
    seed: options.seed,
    nodes: options.nodes,
    seconds: options.seconds,
    concurrency: options.concurrency,
    fuzzMs,
    wallMs: Date.now() - wallStartMs,
    ...parts,
    crashes,
    checks,
    pass,
    reasons,
    dir: keep ? dir : undefined,
  };
  if (keep) {
    writeFileSync(join(dir, 'report.json'), JSON.stringify(report, bigints, 2));
    writeFileSync(join(dir, 'summary.txt'), `${formatReport(report)}\n`);
  } else rmSync(dir, { recursive: true, force: true });
  return report;
}

function bigints(_key: string, value: unknown): unknown {
  return typeof value === 'bigint' ? value.toString() : value;
}
