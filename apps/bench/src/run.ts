import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Command, CommanderError, InvalidArgumentError, Option } from 'commander';
import { startCluster } from '@ringstore/tools';
import { concurrencyMax, durationMsMax, runLoad, valueBytesMax, type LoadOptions, type LoadResult, type Workload } from './load.js';

export interface BenchIo {
  readonly stdout: { write(s: string): unknown };
  readonly stderr: { write(s: string): unknown };
}

function intIn(name: string, min: number, max: number): (raw: string) => number {
  return (raw) => {
    const n = Number(raw);
    if (!/^\d+$/.test(raw.trim()) || n < min || n > max) throw new InvalidArgumentError(`${name} must be a whole number in ${min}..${max}`);
    return n;
  };
}

interface Flags {
  target?: string;
  nodes: number;
  workload: Workload;
  seconds: number;
  concurrency: number;
  valueBytes: number;
  keys: number;
  deadlineMs: number;
  r: number;
  w: number;
  json?: boolean;
  client: 'direct' | 'zero-hop' | 'any-node';
}

function command(io: BenchIo): Command {
  return new Command('ringstore-bench')
    .description('Closed-loop put/get load against a Ringstore cluster: a local one it starts (--nodes), or yours (--target).')
    .option('--target <addresses>', 'comma-separated host:port of running nodes (default: start a local cluster)')
    .option('--nodes <n>', 'nodes of the local cluster to start', intIn('--nodes', 1, 16), 3)
    .addOption(new Option('--workload <kind>', 'put, get or mixed (alternating)').choices(['put', 'get', 'mixed']).default('put'))
    .option('--seconds <s>', 'how long to run', intIn('--seconds', 1, durationMsMax / 1000), 10)
    .option('--concurrency <n>', 'requests in flight', intIn('--concurrency', 1, concurrencyMax), 64)
    .option('--value-bytes <n>', 'value size', intIn('--value-bytes', 0, valueBytesMax), 100)
    .option('--keys <n>', 'distinct keys', intIn('--keys', 1, 100_000_000), 100_000)
    .option('--deadline-ms <ms>', 'deadline of each request', intIn('--deadline-ms', 1, 600_000), 5_000)
    .option('--r <n>', 'read quorum per request (0 = node default)', intIn('--r', 0, 16), 0)
    .option('--w <n>', 'write quorum per request (0 = node default)', intIn('--w', 0, 16), 0)
    .addOption(new Option('--client <kind>', 'direct (generated gRPC clients, round-robin) or the SDK with zero-hop or any-node routing').choices(['direct', 'zero-hop', 'any-node']).default('direct'))
    .option('--json', 'print the result as JSON')
    .exitOverride()
    .configureOutput({ writeOut: (s) => void io.stdout.write(s), writeErr: (s) => void io.stderr.write(s) });
}

function formatResult(r: LoadResult, where: string): string {
  const kinds = Object.entries(r.errorKinds).map(([k, n]) => `${k}=${n}`).join(' ');
  return [
    `${r.workload} (${r.client}) against ${where}: ${r.opsPerSecond} ops/s (${r.ok} ok, ${r.errors} errors${kinds ? `: ${kinds}` : ''}) in ${r.durationMs} ms, concurrency ${r.concurrency}`,
    `latency ms: p50 ${r.latencyMs.p50}  p99 ${r.latencyMs.p99}  p99.9 ${r.latencyMs.p999}  max ${r.latencyMs.max}`,
  ].join('\n') + '\n';
}

async function withCluster<T>(nodes: number, fn: (addresses: string[]) => Promise<T>): Promise<T> {
  const dir = mkdtempSync(join(tmpdir(), 'ringstore-bench-'));
  try {
    const cluster = await startCluster({ nodes, basePort: 0, dataDir: join(dir, 'data'), logDir: join(dir, 'logs'), extraArgs: ['--log-level', 'warn'] });
    try {
      return await fn(cluster.nodes.map((n) => n.address));
    } finally {
      await cluster.stop();
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** `npm run bench`: exit 0 when the run finished without errors, 1 with errors, 2 on bad flags. */
export async function run(argv: readonly string[], io: BenchIo): Promise<number> {
  const cmd = command(io);
  try {
    cmd.parse([...argv], { from: 'user' });
  } catch (e) {
    if (e instanceof CommanderError) return e.exitCode === 0 ? 0 : 2;
    throw e;
  }
  const f = cmd.opts<Flags>();
  const load = (addresses: string[]): Promise<LoadResult> => {
    const options: LoadOptions = { addresses, workload: f.workload, durationMs: f.seconds * 1000, concurrency: f.concurrency, valueBytes: f.valueBytes, keyCount: f.keys, deadlineMs: f.deadlineMs, r: f.r, w: f.w, client: f.client };
    return runLoad(options);
  };
  const targets = f.target?.split(',').map((s) => s.trim()).filter((s) => s !== '');
  const where = targets ? targets.join(',') : `a local ${f.nodes}-node cluster`;
  const result = targets ? await load(targets) : await withCluster(f.nodes, load);
  io.stdout.write(f.json ? `${JSON.stringify({ where, ...result })}\n` : formatResult(result, where));
  return result.errors === 0 ? 0 : 1;
}
