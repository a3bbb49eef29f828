import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { Presets, SingleBar } from 'cli-progress';
import { Command, CommanderError, InvalidArgumentError, Option } from 'commander';
import {
  concurrencyMax,
  durationMsMax,
  loadRecords,
  operationsMax,
  runPhase,
  valueBytesMax,
  type Driver,
  type Stop,
} from './harness.js';
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
export const nodesMin = 3;
export const nodesMax = 16;

function intIn(name: string, min: number, max: number): (raw: string) => number {
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
  deadlineMs: number;
  seed?: number;
  ringstoreAddress?: string[];
  echoAddress?: string[];
  etcdAddress?: string[];
  etcdBin?: string;
  profileDir?: string;
  out: string;
  json?: boolean;
  progress: boolean;
}

function command(io: BenchIo): Command {
  return new Command('ringstore-bench')
    .description(
      'YCSB-style workloads against Ringstore, side by side with etcd and a no-op gRPC server, in one run.\n' +
        'Targets: ringstore (smart client, zero-hop), any-node (same cluster, round-robin: one extra hop for most requests),\n' +
        'echo (a no-op grpc-js KV server: the one-RPC ceiling), etcd (a local etcd cluster through its gRPC KV API).\n' +
        'Each target is started and stopped by the bench unless its --*-address is given.',
    )
    .option(
      '--target <list>',
      `targets to run, comma-separated (${targetNames.join(', ')})`,
      listOf('--target', targetNames),
    )
    .option(
      '--compare <list>',
      'same as --target; ratios are printed for every pair that ran (ringstore/etcd, ringstore/echo, ringstore/any-node)',
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
    )
    .option('--value-bytes <n>', 'value size', intIn('--value-bytes', 1, valueBytesMax), 100)
    .option(
      '--concurrency <n>',
      'requests in flight',
      intIn('--concurrency', 1, concurrencyMax),
      32,
    )
    .option(
      '--seconds <s>',
      'measured time of each workload (default 10, unless --operations)',
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
      intIn('--warmup-seconds', 0, 600),
      2,
    )
    .option(
      '--load-concurrency <n>',
      'requests in flight during the load phase',
      intIn('--load-concurrency', 1, concurrencyMax),
      64,
    )
    .option(
      '--deadline-ms <ms>',
      'deadline of each request',
      intIn('--deadline-ms', 1, 600_000),
      5_000,
    )
    .option(
      '--seed <n>',
      'seed of key and operation choice (printed; default: random)',
      intIn('--seed', 0, 0xffff_ffff),
    )
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
      '--profile-dir <dir>',
      'write a V8 CPU profile of every ringstore node started here (node --cpu-prof)',
    )
    .option('--out <dir>', 'where results go (JSON and Markdown)', 'bench-results')
    .option('--json', 'print the whole report as JSON on stdout instead of summary lines')
    .option('--no-progress', 'no progress bar (it is shown only on a TTY anyway)')
    .exitOverride()
    .configureOutput({
      writeOut: (s) => void io.stdout.write(s),
      writeErr: (s) => void io.stderr.write(s),
    });
}

const starters: Record<BackendKind, (o: BackendOptions) => Promise<Backend>> = {
  ringstore: startRingstore,
  echo: startEcho,
  etcd: startEtcd,
};

/** A progress bar on stderr when it is a terminal; nothing otherwise. */
function progressBar(
  io: BenchIo,
  enabled: boolean,
): { start(label: string, total: number): (value: number) => void; stop(): void } {
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

/** `npm run bench`: exit 0 when every run finished without errors, 1 otherwise, 2 on bad flags. */
export async function run(argv: readonly string[], io: BenchIo): Promise<number> {
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
  const targets: TargetName[] = [...new Set([...(f.target ?? []), ...(f.compare ?? [])])];
  if (targets.length === 0) targets.push('ringstore');
  const stop: Stop =
    f.operations !== undefined
      ? { operations: f.operations }
      : { durationMs: (f.seconds ?? 10) * 1000 };
  const seed = f.seed ?? Math.floor(Math.random() * 0xffff_ffff);
  const startedAt = new Date();
  io.stderr.write(
    `ringstore-bench: seed ${seed}; targets ${targets.join(',')}; workloads ${f.workload.join(',')}; ${f.distribution}; records ${f.records.join(',')}; nodes ${f.nodes.join(',')}\n`,
  );
  const given: Record<BackendKind, string[] | undefined> = {
    ringstore: f.ringstoreAddress,
    echo: f.echoAddress,
    etcd: f.etcdAddress,
  };
  const cells: Cell[] = [];
  const loads: Report['loads'][number][] = [];
  const failures: string[] = [];
  const bar = progressBar(io, f.progress);
  const workDir = mkdtempSync(join(tmpdir(), 'ringstore-bench-'));
  try {
    for (const nodes of f.nodes) {
      for (const records of f.records) {
        const kinds = [...new Set(targets.map(backendOf))];
        for (const kind of kinds) {
          let backend: Backend;
          try {
            backend = await starters[kind]({
              nodes,
              addresses: given[kind],
              deadlineMs: f.deadlineMs,
              valueBytes: f.valueBytes,
              workDir: join(workDir, `${kind}-${nodes}-${records}`),
              records,
              profileDir: f.profileDir,
              etcdBin: f.etcdBin,
            });
          } catch (e) {
            failures.push(`${kind}: ${e instanceof Error ? e.message : String(e)}`);
            io.stderr.write(
              `ringstore-bench: could not start ${kind}: ${e instanceof Error ? e.message : String(e)}\n`,
            );
            continue;
          }
          try {
            const mine = targets.filter((t) => backendOf(t) === kind);
            if (records > 0) {
              const loader = await backend.driver(mine[0]!);
              try {
                const loaded = await loadRecords(
                  loader,
                  records,
                  f.valueBytes,
                  f.loadConcurrency,
                  seed,
                  bar.start(`load ${kind} ${records}`, records),
                );
                bar.stop();
                loads.push({ backend: kind, nodes, records, ...loaded });
              } finally {
                await loader.close();
              }
            }
            for (const target of mine) {
              const driver: Driver = await backend.driver(target);
              try {
                for (const name of f.workload) {
                  const base = {
                    driver,
                    workload: workloads[name],
                    distribution: f.distribution,
                    records,
                    inserts: backend.inserts,
                    valueBytes: f.valueBytes,
                    concurrency: f.concurrency,
                    seed,
                  };
                  if (f.warmupSeconds > 0) {
                    await runPhase({
                      ...base,
                      stop: { durationMs: f.warmupSeconds * 1000 },
                      onProgress: undefined,
                    });
                  }
                  const total =
                    'operations' in stop ? stop.operations : Math.round(stop.durationMs / 1000);
                  const t0 = Date.now();
                  const tick = bar.start(`${target} ${name}`, total);
                  const result = await runPhase({
                    ...base,
                    stop,
                    onProgress: (done) =>
                      tick('operations' in stop ? done : Math.floor((Date.now() - t0) / 1000)),
                  });
                  bar.stop();
                  const cell: Cell = {
                    target,
                    backend: backend.description,
                    workload: name,
                    distribution: f.distribution,
                    nodes,
                    records,
                    concurrency: f.concurrency,
                    valueBytes: f.valueBytes,
                    result,
                  };
                  cells.push(cell);
                  if (f.json !== true) io.stdout.write(`${summaryLine(cell)}\n`);
                }
              } finally {
                await driver.close();
              }
            }
          } catch (e) {
            bar.stop();
            failures.push(`${kind}: ${e instanceof Error ? e.message : String(e)}`);
            io.stderr.write(
              `ringstore-bench: ${kind} failed: ${e instanceof Error ? e.message : String(e)}\n`,
            );
          } finally {
            await backend.stop();
          }
        }
      }
    }
  } finally {
    bar.stop();
    rmSync(workDir, { recursive: true, force: true });
  }
  const report: Report = {
    startedAt: startedAt.toISOString(),
    seed,
    machine: machine(),
    settings: {
      targets,
      workloads: f.workload,
      distribution: f.distribution,
      records: f.records,
      nodes: f.nodes,
      valueBytes: f.valueBytes,
      concurrency: f.concurrency,
      ...stop,
      warmupSeconds: f.warmupSeconds,
      deadlineMs: f.deadlineMs,
    },
    loads,
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
  for (const failure of failures) io.stderr.write(`ringstore-bench: FAILED ${failure}\n`);
  const errors = cells.reduce((s, c) => s + c.result.errors, 0);
  return failures.length === 0 && errors === 0 ? 0 : 1;
}
