// `npm run bench:spread`: how fast a new ring version reaches every node, by push and by gossip
// alone (tools/src/chaos/spread.ts). Needs root with ip and iptables (network namespaces). Exit
// codes: 0 measured, 2 usage error or netns unavailable, 3 the measurement failed.
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Command, CommanderError, InvalidArgumentError } from 'commander';
import { measureSpread } from './chaos/spread.js';
import { killAllChildren } from './node-process.js';

function int(min: number, max: number) {
  return (value: string): number => {
    const n = Number(value);
    if (!Number.isInteger(n) || n < min || n > max)
      throw new InvalidArgumentError(`must be an integer in ${min}..${max}`);
    return n;
  };
}

interface SpreadArgs {
  nodes: number;
  rounds: number;
  gossipIntervalMs: number;
  out: string;
}

function parse(): SpreadArgs | number {
  const program = new Command('spread')
    .description(
      'Measure how fast a new ring version reaches every node: by the claimant push, and by gossip alone (a node cut off from the claimant).',
    )
    .option('--nodes <n>', 'nodes in the cluster', int(3, 16), 5)
    .option('--rounds <n>', 'claimant hand-overs to time', int(1, 100), 10)
    .option(
      '--gossip-interval-ms <ms>',
      'passed to every node (the default)',
      int(50, 60_000),
      1_000,
    )
    .option(
      '--out <dir>',
      'where the JSON result, node data and logs go',
      `bench-results/spread-${Date.now()}`,
    )
    .exitOverride();
  try {
    program.parse(process.argv);
  } catch (e) {
    if (e instanceof CommanderError) return e.code === 'commander.helpDisplayed' ? 0 : 2;
    throw e;
  }
  return program.opts<SpreadArgs>();
}

function quantile(sorted: readonly number[], q: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] ?? 0;
}

async function main(): Promise<number> {
  const options = parse();
  if (typeof options === 'number') return options;
  if (process.getuid?.() !== 0) {
    process.stderr.write('spread: needs root (network namespaces, iptables)\n');
    return 2;
  }
  process.on('SIGINT', () => {
    killAllChildren();
    process.exit(130);
  });
  mkdirSync(options.out, { recursive: true });
  const log = (line: string): void => void process.stdout.write(`${line}\n`);
  try {
    const rounds = await measureSpread({ ...options, outDir: options.out, log });
    const push = rounds.map((r) => r.pushMs).sort((a, b) => a - b);
    const gossip = rounds.map((r) => r.gossipMs).sort((a, b) => a - b);
    const summary = {
      nodes: options.nodes,
      gossipIntervalMs: options.gossipIntervalMs,
      rounds,
      pushMs: { median: quantile(push, 0.5), max: push.at(-1) ?? 0 },
      gossipMs: { median: quantile(gossip, 0.5), max: gossip.at(-1) ?? 0 },
    };
    writeFileSync(join(options.out, 'spread.json'), `${JSON.stringify(summary, null, 2)}\n`);
    log(
      `spread: push median ${summary.pushMs.median} ms, max ${summary.pushMs.max} ms; gossip alone median ${summary.gossipMs.median} ms, max ${summary.gossipMs.max} ms (${rounds.length} rounds, ${options.nodes} nodes, gossip every ${options.gossipIntervalMs} ms)`,
    );
    return 0;
  } catch (e) {
    process.stderr.write(`spread: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`);
    return e instanceof Error && /netns|not running as root|not installed/.test(e.message) ? 2 : 3;
  }
}

process.exitCode = await main();
