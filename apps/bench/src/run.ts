import { coalescingDriver, readBatchMax } from './coalesce.js';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { performance } from 'node:perf_hooks';
import { Presets, SingleBar } from 'cli-progress';
import { Command, CommanderError, InvalidArgumentError, Option } from 'commander';
import { seedMax } from '@ringstore/tools';
import {
  concurrencyMax,
  durationMsMax,
  loadRecords,
  operationsMax,
  runPhase,
  valueBytesMax,
  type Driver,
  type PhaseResult,
  type Stop,
} from './harness.js';
import {
  clientProcsMax,
  loadGenerators,
  startLoadWorkers,
  type LoadGenerator,
  type LoadPhase,
  type WorkerShare,
} from './load-workers.js';
import {
  machine,
  markdown,
  ratios,
  ratiosLine,
  summaryLine,
  type Cell,
  type Report,
} from './report.js';
import { startEcho } from './targets/echo.js';
import { startEtcd } from './targets/etcd.js';
import { startRingstore } from './targets/ringstore.js';
import {
  backendOf,
  targetNames,
  type Backend,
  type BackendKind,
  type BackendOptions,
  type TargetName,
} from './targets/target.js';
import { workloadNames, workloads, type Distribution, type WorkloadName } from './workload.js';

export interface BenchIo {
  readonly stdout: { write(s: string): unknown };
  readonly stderr: { write(s: string): unknown; readonly isTTY?: boolean | undefined };
}

/** Largest record count (a load phase beyond this takes hours against a laptop cluster). */
export const recordsMax = 10_000_000;
/** Fewest nodes: N=3 replicas need three; etcd needs three members to survive one failure. */
export const nodesMin = 3;
/** Most nodes: beyond 16 processes a laptop measures its scheduler, not the store. */
export const nodesMax = 16;

export function intIn(name: string, min: number, max: number): (raw: string) => number {
  return (raw) => {
    const n = Number(raw);
    if (!/^\d+$/.test(raw.trim()) || n < min || n > max)
      throw new InvalidArgumentError(`${name} must be a whole number in ${min}..${max}`);
    return n;
  };
}

function listOf<T extends string>(
  name: string,
  allowed: readonly T[],
  upper = false,
): (raw: string) => T[] {
  return (raw) => {
    const items = raw
      .split(',')
      .map((s) => (upper ? s.trim().toUpperCase() : s.trim()))
      .filter((s) => s !== '');
    if (items.length === 0)
      throw new InvalidArgumentError(`${name} needs at least one of ${allowed.join(', ')}`);
    for (const item of items)
      if (!allowed.includes(item as T))
        throw new InvalidArgumentError(
          `${name}: unknown "${item}" (choose from ${allowed.join(', ')})`,
        );
    return [...new Set(items as T[])];
  };
}

function intList(name: string, min: number, max: number): (raw: string) => number[] {
  const one = intIn(name, min, max);
  return (raw) => {
    const items = raw
      .split(',')
      .map((s) => s.trim())
      .filter((s) => s !== '');
    if (items.length === 0) throw new InvalidArgumentError(`${name} needs at least one number`);
    return [...new Set(items.map(one))];
  };
}

function addresses(name: string): (raw: string) => string[] {
  return (raw) => {
    const items = raw
      .split(',')
      .map((s) => s.trim())
      .filter((s) => s !== '');
    for (const a of items)
      if (!/^[\w.-]+:\d{1,5}$/.test(a))
        throw new InvalidArgumentError(`${name}: "${a}" is not host:port`);
    if (items.length === 0) throw new InvalidArgumentError(`${name} needs at least one host:port`);
    return items;
  };
}

interface Flags {
  target?: TargetName[];
  compare?: TargetName[];
  workload: WorkloadName[];
  distribution: Distribution;
  records: number[];
  nodes: number[];
  valueBytes: number;
  concurrency: number;
  seconds?: number;
  operations?: number;
  warmupSeconds: number;
  loadConcurrency: number;
  /** false (--no-load): the given addresses hold the records already, from an earlier run. */
  load: boolean;
  /** Operations gathered into one BatchGet/BatchPut (1: none). */
  batch: number;
  /** Processes the load of each cell comes from: 1 is this one, more are load workers. */
  clientProcs: number;
  loadGenerator: LoadGenerator;
  deadlineMs: number;
  seed?: number;
  ringstoreAddress?: string[];
  echoAddress?: string[];
  etcdAddress?: string[];
  etcdBin?: string;
  tls?: boolean;
  profileDir?: string;
  out: string;
  json?: boolean;
  progress: boolean;
}

/** Measured time of each workload when neither --seconds nor --operations is given. */
export const secondsDefault = 10;
/** Longest warm-up: ten minutes warms any cache; a longer one is a slip of the finger. */
export const warmupSecondsMax = 600;
/** Longest request deadline: an answer later than ten minutes measures nothing about a KV store. */
export const deadlineMsMax = 600_000;

function command(io: BenchIo): Command {
  const cmd = new Command('ringstore-bench').description(
    'YCSB-style workloads against Ringstore, side by side with etcd and a no-op gRPC server, in one run.\n' +
      'Targets: ringstore (smart client, zero-hop), any-node (same cluster, round-robin: one extra hop for most requests),\n' +
      'ringstore-tls (zero-hop on a cluster of its own with TLS on both ports, client certificates and a token),\n' +
      'echo (a no-op grpc-js KV server: the one-RPC ceiling), etcd (a local etcd cluster through its gRPC KV API),\n' +
      "echo-quorum (three echo servers relaying each call's replica messages to each other as nodes do, N=3 R=W=2: the floor of a replicated request).\n" +
      'Each target is started and stopped by the bench unless its --*-address is given.\n' +
      'Every cell reports ops/s, latency percentiles, and CPU per operation of the servers and of the load generator (the bench process, or its --client-procs workers).',
  );
  // Help lists the options in the order they are added.
  addMatrixOptions(cmd);
  addLoadOptions(cmd);
  addPlaceOptions(cmd);
  return cmd.exitOverride().configureOutput({
    writeOut: (s) => void io.stdout.write(s),
    writeErr: (s) => void io.stderr.write(s),
  });
}

/** What runs: targets, workloads, and the sizes each is run at. */
function addMatrixOptions(cmd: Command): void {
  cmd
    .option(
      '--target <list>',
      `targets to run, comma-separated (${targetNames.join(', ')})`,
      listOf('--target', targetNames),
    )
    .option(
      '--compare <list>',
      'same as --target; ratios are printed for every pair that ran (ringstore/etcd, ringstore/echo, ringstore-unary/echo-quorum, ringstore/any-node, ringstore-tls/ringstore, ...)',
      listOf('--compare', targetNames),
    )
    .option(
      '--workload <list>',
      'YCSB workloads: A (50/50 read/update), B (95/5), C (read only), W (insert only)',
      listOf('--workload', workloadNames, true),
      ['A'],
    )
    .addOption(
      new Option('--distribution <kind>', 'key choice for reads and updates')
        .choices(['uniform', 'zipfian'])
        .default('zipfian'),
    )
    .option(
      '--records <list>',
      'records loaded before the workloads; a list runs each size (1000,100000,1000000)',
      intList('--records', 0, recordsMax),
      [10_000],
    )
    .option(
      '--nodes <list>',
      `ringstore nodes / etcd members; a list runs each (3,5)`,
      intList('--nodes', nodesMin, nodesMax),
      [3],
    );
}

/** How hard and how long each workload runs. */
function addLoadOptions(cmd: Command): void {
  cmd
    .option('--value-bytes <n>', 'value size', intIn('--value-bytes', 1, valueBytesMax), 100)
    .option(
      '--concurrency <n>',
      'requests in flight',
      intIn('--concurrency', 1, concurrencyMax),
      32,
    )
    .option(
      '--seconds <s>',
      `measured time of each workload (default ${secondsDefault}, unless --operations)`,
      intIn('--seconds', 1, durationMsMax / 1000),
    )
    .option(
      '--operations <n>',
      'measured operations of each workload, instead of --seconds',
      intIn('--operations', 1, operationsMax),
    )
    .option(
      '--warmup-seconds <s>',
      'unmeasured run of the same workload first',
      intIn('--warmup-seconds', 0, warmupSecondsMax),
      2,
    )
    .option(
      '--load-concurrency <n>',
      'requests in flight during the load phase',
      intIn('--load-concurrency', 1, concurrencyMax),
      64,
    )
    .option(
      '--no-load',
      'skip the load phase: the servers at the given --*-address hold --records records already (an earlier run loaded them), so a settled cluster can be measured again',
    )
    .option(
      '--batch <n>',
      'gather up to N operations started together into one BatchGet or BatchPut (writes: at most 25); ' +
        'ringstore, ringstore-tls, any-node and echo; etcd runs unbatched',
      intIn('--batch', 1, readBatchMax),
      1,
    )
    .option(
      '--client-procs <k>',
      `run each warm-up and measured phase from K load worker processes (up to ${clientProcsMax}), ` +
        'each with its own client, a K-th of --concurrency and of --operations, so one Node ' +
        "process's CPU does not cap the load (each worker's JIT starts cold: give it a few seconds of " +
        'warm-up); 1: from the bench process itself',
      intIn('--client-procs', 1, clientProcsMax),
      1,
    )
    .addOption(
      new Option(
        '--load-generator <kind>',
        'what sends the load: node (the SDK or grpc-js, in this process or --client-procs workers) or ' +
          "c-core (--client-procs Python grpcio processes, gRPC's C core: a client that is not ours; " +
          'plaintext unary calls, so the targets ringstore-unary, echo and etcd; with ringstore-unary, ' +
          'calls go round-robin to the nodes, zero-hop while --nodes is at most N)',
      )
        .choices(loadGenerators)
        .default('node'),
    )
    .option(
      '--deadline-ms <ms>',
      'deadline of each request',
      intIn('--deadline-ms', 1, deadlineMsMax),
      5_000,
    )
    .option(
      '--seed <n>',
      'seed of key and operation choice (printed; default: random)',
      intIn('--seed', 0, seedMax),
    );
}

/** Where the targets are (given or started here) and where the results go. */
function addPlaceOptions(cmd: Command): void {
  cmd
    .option(
      '--ringstore-address <list>',
      'host:port of running ringstore nodes (default: start a local cluster)',
      addresses('--ringstore-address'),
    )
    .option(
      '--echo-address <host:port>',
      'a running echo server (default: start one)',
      addresses('--echo-address'),
    )
    .option(
      '--etcd-address <list>',
      'host:port of running etcd members (default: start a local cluster)',
      addresses('--etcd-address'),
    )
    .option('--etcd-bin <path>', 'the etcd binary (default: etcd on PATH, else /usr/bin/etcd)')
    .option(
      '--tls',
      'run the ringstore and any-node targets on a secured cluster, as ringstore-tls: TLS on the client port with client certificates, mutual TLS on the peer port, a bearer token (certificates made for the run)',
    )
    .option(
      '--profile-dir <dir>',
      'write a V8 CPU profile of every ringstore node started here (node --cpu-prof)',
    )
    .option('--out <dir>', 'where results go (JSON and Markdown)', 'bench-results')
    .option('--json', 'print the whole report as JSON on stdout instead of summary lines')
    .option('--no-progress', 'no progress bar (it is shown only on a TTY anyway)');
}

const starters: Record<BackendKind, (o: BackendOptions) => Promise<Backend>> = {
  ringstore: (o) => startRingstore(o, false),
  'ringstore-tls': (o) => startRingstore(o, true),
  echo: (o) => startEcho(o),
  'echo-quorum': (o) => startEcho(o, true),
  etcd: startEtcd,
};

interface ProgressBar {
  start(label: string, total: number): (value: number) => void;
  stop(): void;
}

/** A progress bar on stderr when it is a terminal; nothing otherwise. */
function progressBar(io: BenchIo, enabled: boolean): ProgressBar {
  if (!enabled || io.stderr.isTTY !== true)
    return { start: () => () => undefined, stop: () => undefined };
  const bar = new SingleBar(
    { format: '{label} [{bar}] {value}/{total} {unit}', hideCursor: true, stream: process.stderr },
    Presets.shades_classic,
  );
  let running = false;
  return {
    start: (label, total) => {
      if (running) bar.stop();
      bar.start(total, 0, { label, unit: '' });
      running = true;
      return (value) => bar.update(Math.min(value, total));
    },
    stop: () => {
      if (running) bar.stop();
      running = false;
    },
  };
}

/** One bench run: what the flags asked for, and what it has measured and failed so far. */
interface BenchRun {
  readonly f: Flags;
  readonly io: BenchIo;
  readonly targets: readonly TargetName[];
  readonly stop: Stop;
  readonly seed: number;
  readonly bar: ProgressBar;
  readonly workDir: string;
  readonly cells: Cell[];
  readonly loads: Report['loads'][number][];
  readonly failures: string[];
}

/** Where a run stands when it measures against one backend at one size. */
interface Place {
  readonly kind: BackendKind;
  readonly nodes: number;
  readonly records: number;
}

const messageOf = (e: unknown): string => (e instanceof Error ? e.message : String(e));

/** `npm run bench`: exit 0 when every run finished without errors, 1 otherwise, 2 on bad flags. */
export async function run(argv: readonly string[], io: BenchIo): Promise<number> {
  const f = parseFlags(argv, io);
  if (typeof f === 'number') return f;
  const targets: TargetName[] = [...new Set([...(f.target ?? []), ...(f.compare ?? [])])];
  if (targets.length === 0) targets.push('ringstore');
  const secured = targets.some((t) => backendOf(t, f.tls === true) === 'ringstore-tls');
  if (secured && f.ringstoreAddress !== undefined) {
    io.stderr.write(
      'ringstore-bench: --tls and ringstore-tls start a secured cluster of their own: not with --ringstore-address\n',
    );
    return 2;
  }
  if (!f.load) {
    const started = targets.filter(
      (t) => givenAddresses(f)[backendOf(t, f.tls === true)] === undefined,
    );
    if (started.length > 0) {
      io.stderr.write(
        `ringstore-bench: --no-load measures data an earlier run loaded at a given address: ${started.join(', ')} would start empty\n`,
      );
      return 2;
    }
  }
  const cCoreRefused = f.loadGenerator === 'c-core' ? cCoreFlagsRefusal(f, targets) : undefined;
  if (cCoreRefused !== undefined) {
    io.stderr.write(`ringstore-bench: --load-generator c-core: ${cCoreRefused}\n`);
    return 2;
  }
  const stop: Stop =
    f.operations !== undefined
      ? { operations: f.operations }
      : { durationMs: (f.seconds ?? secondsDefault) * 1000 };
  const seed = f.seed ?? Math.floor(Math.random() * seedMax);
  const startedAt = new Date();
  io.stderr.write(
    `ringstore-bench: seed ${seed}; targets ${targets.join(',')}${f.tls === true ? ' (--tls)' : ''}; workloads ${f.workload.join(',')}; ${f.distribution}; records ${f.records.join(',')}; nodes ${f.nodes.join(',')}\n`,
  );
  const r: BenchRun = {
    f,
    io,
    targets,
    stop,
    seed,
    bar: progressBar(io, f.progress),
    workDir: mkdtempSync(join(tmpdir(), 'ringstore-bench-')),
    cells: [],
    loads: [],
    failures: [],
  };
  try {
    await runMatrix(r);
  } finally {
    r.bar.stop();
    rmSync(r.workDir, { recursive: true, force: true });
  }
  writeResults(r, startedAt);
  for (const failure of r.failures) io.stderr.write(`ringstore-bench: FAILED ${failure}\n`);
  const errors = r.cells.reduce((s, c) => s + c.result.errors, 0);
  return r.failures.length === 0 && errors === 0 ? 0 : 1;
}

/** The targets the C-core load generator drives: plaintext unary calls, one operation each. */
export const cCoreTargets: readonly TargetName[] = [
  'ringstore-unary',
  'echo',
  'echo-quorum',
  'etcd',
];

/** Why --load-generator c-core cannot run what the flags ask for, or undefined. */
function cCoreFlagsRefusal(f: Flags, targets: readonly TargetName[]): string | undefined {
  const others = targets.filter((t) => !cCoreTargets.includes(t));
  if (others.length > 0)
    return `it drives ${cCoreTargets.join(', ')} (plaintext unary calls), not ${others.join(', ')}`;
  if (f.tls === true) return 'it is plaintext only, not --tls';
  if (f.batch > 1) return 'it sends one operation per call, not --batch';
  return undefined;
}

/** The flags, or the exit code when they are bad (2) or only asked for help (0). */
function parseFlags(argv: readonly string[], io: BenchIo): Flags | number {
  const cmd = command(io);
  try {
    cmd.parse([...argv], { from: 'user' });
  } catch (e) {
    if (e instanceof CommanderError) return e.exitCode === 0 ? 0 : 2;
    throw e;
  }
  const f = cmd.opts<Flags>();
  if (f.seconds !== undefined && f.operations !== undefined) {
    io.stderr.write('ringstore-bench: give --seconds or --operations, not both\n');
    return 2;
  }
  return f;
}

/** Every size (nodes, records) against every backend the targets need, one backend at a time. */
async function runMatrix(r: BenchRun): Promise<void> {
  const kinds = [...new Set(r.targets.map((t) => backendOf(t, r.f.tls === true)))];
  for (const nodes of r.f.nodes)
    for (const records of r.f.records)
      for (const kind of kinds) await runBackend(r, { kind, nodes, records });
}

/** Starts (or reaches) one backend, loads it, runs its targets, stops it; a failure is recorded. */
async function runBackend(r: BenchRun, at: Place): Promise<void> {
  const backend = await startBackend(r, at);
  if (backend === undefined) return;
  try {
    const mine = r.targets.filter((t) => backendOf(t, r.f.tls === true) === at.kind);
    if (at.records > 0 && r.f.load) await loadBackend(r, at, backend, mine[0]!);
    for (const target of mine) await runTarget(r, at, backend, target);
  } catch (e) {
    r.bar.stop();
    r.failures.push(`${at.kind}: ${messageOf(e)}`);
    r.io.stderr.write(`ringstore-bench: ${at.kind} failed: ${messageOf(e)}\n`);
  } finally {
    await backend.stop();
  }
}

/** The addresses given for each backend (--*-address); undefined: the bench starts it. */
function givenAddresses(f: Flags): Record<BackendKind, string[] | undefined> {
  return {
    ringstore: f.ringstoreAddress,
    'ringstore-tls': undefined,
    echo: f.echoAddress,
    'echo-quorum': undefined,
    etcd: f.etcdAddress,
  };
}

async function startBackend(r: BenchRun, at: Place): Promise<Backend | undefined> {
  const f = r.f;
  const given = givenAddresses(f);
  try {
    return await starters[at.kind]({
      nodes: at.nodes,
      addresses: given[at.kind],
      deadlineMs: f.deadlineMs,
      valueBytes: f.valueBytes,
      workDir: join(r.workDir, `${at.kind}-${at.nodes}-${at.records}`),
      records: at.records,
      profileDir: f.profileDir,
      etcdBin: f.etcdBin,
    });
  } catch (e) {
    r.failures.push(`${at.kind}: ${messageOf(e)}`);
    r.io.stderr.write(`ringstore-bench: could not start ${at.kind}: ${messageOf(e)}\n`);
    return undefined;
  }
}

/** The load phase, through the first target of the backend. */
async function loadBackend(
  r: BenchRun,
  at: Place,
  backend: Backend,
  target: TargetName,
): Promise<void> {
  const loader = await backend.driver(target);
  try {
    const loaded = await loadRecords(
      loader,
      at.records,
      r.f.valueBytes,
      r.f.loadConcurrency,
      r.seed,
      r.bar.start(`load ${at.kind} ${at.records}`, at.records),
    );
    r.bar.stop();
    r.loads.push({ backend: at.kind, nodes: at.nodes, records: at.records, ...loaded });
  } finally {
    await loader.close();
  }
}

/** Every workload against one target, each a measured cell (after its warm-up). */
async function runTarget(
  r: BenchRun,
  at: Place,
  backend: Backend,
  target: TargetName,
): Promise<void> {
  if (r.f.clientProcs > 1 || r.f.loadGenerator !== 'node') {
    for (const name of r.f.workload) await runCellInWorkers(r, at, backend, target, name);
    return;
  }
  const f = r.f;
  const plain: Driver = await backend.driver(target);
  const batch = f.batch > 1 && plain.readMany !== undefined ? f.batch : 1;
  const driver = batch > 1 ? coalescingDriver(plain, batch) : plain;
  try {
    for (const name of f.workload) {
      const base = {
        driver,
        workload: workloads[name],
        distribution: f.distribution,
        records: at.records,
        inserts: backend.inserts,
        valueBytes: f.valueBytes,
        concurrency: f.concurrency,
        seed: r.seed,
      };
      if (f.warmupSeconds > 0)
        await runPhase({
          ...base,
          stop: { durationMs: f.warmupSeconds * 1000 },
          onProgress: undefined,
        });
      await measureCell(r, { at, backend, target, name, batch }, async (onProgress) => {
        // The load generator is this process: its CPU over the phase is the client's.
        const cpuBefore = process.cpuUsage();
        const result = await runPhase({ ...base, stop: r.stop, onProgress });
        const cpu = process.cpuUsage(cpuBefore);
        return {
          result,
          clientCpuUs: cpu.user + cpu.system,
          concurrency: f.concurrency,
          workers: [],
        };
      });
    }
  } finally {
    await driver.close();
  }
}

/**
 * One cell from --client-procs load workers: started for it (each connects its own driver),
 * its warm-up and measured phase split between them, stopped by pid however it ends. Each
 * worker's ringstore driver keeps its own cache of causal contexts, empty at the start (the
 * bench process's cache, filled by the load phase and earlier cells, stays here): an update of
 * a key a worker has not read or written yet goes without a context until its warm-up has.
 */
async function runCellInWorkers(
  r: BenchRun,
  at: Place,
  backend: Backend,
  target: TargetName,
  name: WorkloadName,
): Promise<void> {
  const f = r.f;
  const workers = await startLoadWorkers(
    f.clientProcs,
    backend.driverSpec(target),
    f.batch,
    f.loadGenerator,
  );
  try {
    const phase: LoadPhase = {
      workload: name,
      distribution: f.distribution,
      records: at.records,
      valueBytes: f.valueBytes,
      concurrency: f.concurrency,
      stop: r.stop,
      seed: r.seed,
    };
    if (f.warmupSeconds > 0)
      await workers.run(
        { ...phase, stop: { durationMs: f.warmupSeconds * 1000 } },
        backend.inserts,
      );
    await measureCell(
      r,
      { at, backend, target, name, batch: workers.batch },
      async (onProgress) => {
        const {
          result,
          workers: shares,
          cpuUs,
        } = await workers.run(phase, backend.inserts, onProgress);
        return {
          result,
          clientCpuUs: cpuUs,
          concurrency: shares.reduce((sum, w) => sum + w.concurrency, 0),
          workers: shares,
        };
      },
    );
  } finally {
    await workers.stop();
  }
}

/** Server CPU microseconds per operation between two readings; null without both, or no operation. */
export function cpuPerOpUs(
  beforeSeconds: number | undefined,
  afterSeconds: number | undefined,
  operations: number,
): number | null {
  if (beforeSeconds === undefined || afterSeconds === undefined || operations === 0) return null;
  return Math.round(((afterSeconds - beforeSeconds) * 1e6) / operations);
}

/** What a cell is of: where, which target and workload, and the batch its driver gathers. */
interface CellPlace {
  readonly at: Place;
  readonly backend: Backend;
  readonly target: TargetName;
  readonly name: WorkloadName;
  readonly batch: number;
}

/** What one measured phase gave, wherever its load came from. */
interface Measured {
  readonly result: PhaseResult;
  /** The load generator's user + system CPU over the phase (every worker's), microseconds. */
  readonly clientCpuUs: number;
  /** Requests in flight, all processes together. */
  readonly concurrency: number;
  readonly workers: readonly WorkerShare[];
}

/**
 * The measured phase of one cell, `phase` run between two readings of the servers' CPU with the
 * progress bar counting operations or seconds; the cell is recorded and, without --json, printed.
 */
async function measureCell(
  r: BenchRun,
  place: CellPlace,
  phase: (onProgress: (done: number) => void) => Promise<Measured>,
): Promise<void> {
  const { at, backend, target, name } = place;
  const f = r.f;
  const stop = r.stop;
  const total = 'operations' in stop ? stop.operations : Math.round(stop.durationMs / 1000);
  const cpuBefore = await backend.cpuSeconds?.();
  // The bar's seconds come from the monotonic clock the harness ends the phase by.
  const t0 = performance.now();
  const tick = r.bar.start(`${target} ${name}`, total);
  const measured = await phase((done) =>
    tick('operations' in stop ? done : Math.floor((performance.now() - t0) / 1000)),
  );
  r.bar.stop();
  const cpuAfter = await backend.cpuSeconds?.();
  const { result } = measured;
  const cell: Cell = {
    target,
    backend: backend.description,
    workload: name,
    distribution: f.distribution,
    nodes: at.nodes,
    records: at.records,
    concurrency: measured.concurrency,
    batch: place.batch,
    valueBytes: f.valueBytes,
    result,
    serverCpuUsPerOp: cpuPerOpUs(cpuBefore, cpuAfter, result.operations),
    clientCpuUsPerOp:
      result.operations === 0 ? null : Math.round(measured.clientCpuUs / result.operations),
    clientProcesses: f.clientProcs,
    loadGenerator: f.loadGenerator,
    workers: measured.workers,
  };
  r.cells.push(cell);
  if (f.json !== true) r.io.stdout.write(`${summaryLine(cell)}\n`);
}

/** The report as JSON and Markdown under --out, and on stdout what the flags ask for. */
function writeResults(r: BenchRun, startedAt: Date): void {
  const { f, io, cells } = r;
  const report: Report = {
    startedAt: startedAt.toISOString(),
    seed: r.seed,
    machine: machine(),
    settings: {
      targets: r.targets,
      workloads: f.workload,
      distribution: f.distribution,
      records: f.records,
      nodes: f.nodes,
      tls: f.tls === true,
      valueBytes: f.valueBytes,
      concurrency: f.concurrency,
      clientProcesses: f.clientProcs,
      loadGenerator: f.loadGenerator,
      ...r.stop,
      warmupSeconds: f.warmupSeconds,
      deadlineMs: f.deadlineMs,
    },
    loads: r.loads,
    cells,
    ratios: ratios(cells),
  };
  const outDir = resolve(f.out);
  mkdirSync(outDir, { recursive: true });
  const stem = join(outDir, `bench-${startedAt.toISOString().replace(/[:.]/g, '-')}`);
  writeFileSync(`${stem}.json`, `${JSON.stringify(report, null, 2)}\n`);
  writeFileSync(`${stem}.md`, markdown(report));
  if (f.json === true) io.stdout.write(`${JSON.stringify(report)}\n`);
  else if (report.ratios.length > 0) io.stdout.write(`ratios: ${ratiosLine(report.ratios)}\n`);
  io.stderr.write(`ringstore-bench: results in ${stem}.json and ${stem}.md\n`);
}
