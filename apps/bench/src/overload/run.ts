// `npm run bench:overload`: the security and overload issue's figures. A 3-node cluster (N=3,
// W=2, admission at the node's defaults); phase 0 fires one wave at a no-op echo server (the
// machine's own ceiling); phase 1 fires waves of concurrent puts at n1 and tallies the answers,
// samples n1's RSS, probes n1 right after and asks every node whether it marked a peer down;
// phase 2 floods n1 with oversized puts and watches its RSS. Exit 1 when a requirement fails.
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, tmpdir, totalmem } from 'node:os';
import { join, resolve } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { calibrate } from './calibrate.js';
import {
  membersSeen,
  nodeCounters,
  nodesCount,
  peersMarkedDown,
  startOverloadCluster,
  targetId,
  type OverloadCluster,
} from './cluster.js';
import { encodedHugePut, flood, floodClient, probe, type ProbeResult } from './flood.js';
import { deadlineMsMax, parseOverloadFlags, type OverloadFlags, type OverloadIo } from './flags.js';
import { cpuSeconds, RssSampler, type RssWindow } from './proc.js';
import {
  checks,
  deadlineFor,
  failures,
  latencyFigures,
  mibOf,
  nodeInflightRequestsDefault,
  overloadMarkdown,
  sharesOf,
  waveLine,
  waveText,
  type NodeCpu,
  type OverloadReport,
  type Phase1,
  type DeadlineChoice,
  type Phase2,
  type WaveLine,
} from './report.js';
import { startSenders } from './senders.js';
import { emptyTally, mergeTally, waitConnected, waveClient, type WaveTally } from './wave.js';

/** Pause between the phases: phase 1's last answers and timers settle before the baseline. */
export const betweenPhasesMs = 2_000;
/** After the flood's last answer, before "after": late buffering or release shows by then. */
export const floodSettleMs = 1_000;
/** Bound on a probe channel's dial. */
const connectTimeoutMs = 10_000;

/** Every node's CPU seconds now, by id (null: not readable). */
function clusterCpu(oc: OverloadCluster): Record<string, number | null> {
  return Object.fromEntries(oc.cluster.nodes.map((n) => [n.id, cpuSeconds(n.pid) ?? null]));
}

function cpuOver(
  before: Record<string, number | null>,
  after: Record<string, number | null>,
  wallMs: number,
): Record<string, NodeCpu | null> {
  const out: Record<string, NodeCpu | null> = {};
  for (const [id, b] of Object.entries(before)) {
    const a = after[id];
    const seconds = a == null || b === null ? null : Math.round((a - b) * 100) / 100;
    out[id] =
      seconds === null
        ? null
        : { seconds, cores: Math.round((seconds / (wallMs / 1000)) * 100) / 100 };
  }
  return out;
}

interface Waves {
  readonly total: WaveTally;
  readonly lines: WaveLine[];
  readonly wallMs: number;
  readonly nodeCpu: Record<string, NodeCpu | null>;
  readonly rss: RssWindow;
  readonly probe: ProbeResult;
}

/** The waves, with n1's RSS sampled throughout, and the probe right after the last one. */
async function fireWaves(
  oc: OverloadCluster,
  flags: OverloadFlags,
  deadlineMs: number,
  io: OverloadIo,
): Promise<Waves> {
  const n1 = oc.cluster.node(targetId);
  const senders = await startSenders(n1.address, flags.clientProcesses);
  const probeClient = waveClient(n1.address);
  try {
    await waitConnected(probeClient, connectTimeoutMs);
    const sampler = new RssSampler(n1.pid);
    const total = emptyTally();
    const lines: WaveLine[] = [];
    const cpu0 = clusterCpu(oc);
    const t0 = performance.now();
    sampler.start();
    for (let w = 1; w <= flags.rounds; w++) {
      const t = await senders.fire(w, flags.inflight, flags.valueBytes, deadlineMs);
      mergeTally(total, t);
      lines.push(waveLine(w, t));
      io.stderr.write(`wave ${w}/${flags.rounds}: ${waveText(waveLine(w, t))}\n`);
    }
    const probed = await probe(probeClient);
    const rss = sampler.stop();
    const wallMs = Math.round(performance.now() - t0);
    const nodeCpu = cpuOver(cpu0, clusterCpu(oc), wallMs);
    return { total, lines, wallMs, nodeCpu, rss, probe: probed };
  } finally {
    probeClient.close();
    await senders.close();
  }
}

async function phase1(
  oc: OverloadCluster,
  flags: OverloadFlags,
  deadlineMs: number,
  io: OverloadIo,
): Promise<Phase1> {
  const w = await fireWaves(oc, flags, deadlineMs, io);
  const total = w.total;
  const counters = await Promise.all(oc.ids.map((id) => nodeCounters(oc.metrics.get(id) ?? '')));
  const members = await Promise.all(oc.cluster.nodes.map((n) => membersSeen(n.address, n.id)));
  return {
    puts: flags.inflight * flags.rounds,
    counts: total.counts,
    otherByName: total.otherByName,
    shares: sharesOf(total.counts),
    retryAfterHinted: total.retryAfterHinted,
    clientDeadline: total.clientDeadline,
    okLatency: latencyFigures(total.okLatencyMs),
    allLatency: latencyFigures(total.allLatencyMs),
    waves: w.lines,
    messages: total.messages,
    wallMs: w.wallMs,
    nodeCpu: w.nodeCpu,
    rss: w.rss,
    probe: w.probe,
    peersMarkedDown: await peersMarkedDown(oc),
    membersNotAlive: members,
    counters: Object.fromEntries(oc.ids.map((id, i) => [id, counters[i] ?? null])),
  };
}

async function phase2(oc: OverloadCluster, flags: OverloadFlags, io: OverloadIo): Promise<Phase2> {
  const n1 = oc.cluster.node(targetId);
  const encoded = encodedHugePut(flags.floodMib);
  const client = floodClient(n1.address);
  const probeClient = waveClient(n1.address);
  const sampler = new RssSampler(n1.pid);
  try {
    await waitConnected(probeClient, connectTimeoutMs);
    sampler.start();
    const t = await flood(client, encoded, flags.floodMessages);
    await sleep(floodSettleMs);
    const rss = sampler.stop();
    const probed = await probe(probeClient);
    io.stderr.write(
      `flood: ${flags.floodMessages} x ${flags.floodMib} MiB: RESOURCE_EXHAUSTED ${t.counts.RESOURCE_EXHAUSTED}; ` +
        `RSS ${mibOf(rss.beforeBytes)} -> peak ${mibOf(rss.peakBytes)} -> ${mibOf(rss.endBytes)} MiB\n`,
    );
    return {
      messages: flags.floodMessages,
      valueMib: flags.floodMib,
      counts: t.counts,
      answers: t.messages,
      durationMs: Math.round(t.durationMs),
      rss,
      rssDeltaMib: mibOf(rss.peakBytes - rss.beforeBytes),
      rssAfterDeltaMib: mibOf(rss.endBytes - rss.beforeBytes),
      probe: probed,
    };
  } finally {
    client.close();
    probeClient.close();
  }
}

const loadAverage = (): number[] => loadavg().map((x) => Math.round(x * 100) / 100);

function settingsOf(flags: OverloadFlags, deadline: DeadlineChoice): Record<string, unknown> {
  const limit = flags.maxInflightRequests;
  return {
    ...flags,
    deadlineMs: deadline.deadlineMs,
    deadlineBasis: deadline.basis,
    nodes: nodesCount,
    replicas: 3,
    w: 2,
    target: targetId,
    admission:
      limit === undefined
        ? `node defaults (--max-inflight-requests ${nodeInflightRequestsDefault}, --max-inflight-bytes 64 MiB)`
        : `--max-inflight-requests ${limit}, --max-inflight-bytes 64 MiB`,
  };
}

async function calibration(
  flags: OverloadFlags,
  logDir: string,
  io: OverloadIo,
): Promise<WaveLine | null> {
  if (!flags.calibrate) return null;
  // Without --deadline-ms, the calibration wave gets the longest deadline: it finds how long the
  // machine takes to answer the whole wave, and phase 1's deadline is chosen from that.
  const t = await calibrate({ ...flags, deadlineMs: flags.deadlineMs ?? deadlineMsMax, logDir });
  const line = waveLine(0, t);
  io.stderr.write(`calibration (no-op echo server): ${waveText(line)}\n`);
  return line;
}

async function measure(
  oc: OverloadCluster,
  flags: OverloadFlags,
  argv: readonly string[],
  io: OverloadIo,
  logDir: string,
): Promise<OverloadReport> {
  const startedAt = new Date().toISOString();
  const loadAtStart = loadAverage();
  const calibrated = await calibration(flags, logDir, io);
  const deadline = deadlineFor(flags.deadlineMs, calibrated, deadlineMsMax);
  io.stderr.write(`phase 1 deadline: ${deadline.deadlineMs} ms (${deadline.basis})\n`);
  const p1 = await phase1(oc, flags, deadline.deadlineMs, io);
  await sleep(betweenPhasesMs);
  const p2 = await phase2(oc, flags, io);
  const atEnd = await peersMarkedDown(oc);
  const measured = { phase1: p1, phase2: p2, peersMarkedDownAtEnd: atEnd };
  const limit = flags.maxInflightRequests ?? nodeInflightRequestsDefault;
  return {
    startedAt,
    command: ['npm run bench:overload --', ...argv].join(' '),
    machine: {
      cores: cpus().length,
      cpu: cpus()[0]?.model ?? 'unknown',
      memoryGiB: Math.round(totalmem() / 2 ** 30),
      node: process.version,
      loadAverageAtStart: loadAtStart,
      loadAverageAtEnd: loadAverage(),
    },
    settings: settingsOf(flags, deadline),
    calibration: calibrated,
    ...measured,
    checks: checks(measured, flags.inflight, limit),
  };
}

function writeResults(report: OverloadReport, flags: OverloadFlags, base: string): void {
  const json = `${JSON.stringify(report, null, 2)}\n`;
  writeFileSync(`${base}.json`, json);
  writeFileSync(`${base}.md`, overloadMarkdown(report));
  if (flags.json !== undefined) writeFileSync(resolve(flags.json), json);
}

/** The whole bench: exit code 0 (every requirement met), 1 (one failed, or a start), 2 (flags). */
export async function runOverload(argv: readonly string[], io: OverloadIo): Promise<number> {
  const flags = parseOverloadFlags(argv, io);
  if (typeof flags === 'number') return flags;
  const out = resolve(flags.out);
  const base = join(out, `overload-${new Date().toISOString().replace(/[:.]/g, '-')}`);
  const logDir = `${base}-logs`;
  mkdirSync(logDir, { recursive: true });
  const dataDir = mkdtempSync(join(tmpdir(), 'ringstore-overload-'));
  io.stderr.write(`starting ${nodesCount} nodes (logs in ${logDir})\n`);
  const oc = await startOverloadCluster(dataDir, logDir, flags.maxInflightRequests);
  try {
    const report = await measure(oc, flags, argv, io, logDir);
    writeResults(report, flags, base);
    io.stdout.write(overloadMarkdown(report));
    io.stdout.write(`\nresults: ${base}.json, ${base}.md\n`);
    const failed = failures(report.checks);
    for (const line of failed) io.stderr.write(`${line}\n`);
    return failed.length === 0 ? 0 : 1;
  } finally {
    await oc.cluster.stop();
    rmSync(dataDir, { recursive: true, force: true });
  }
}
