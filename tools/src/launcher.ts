// The `npm start` launcher as a testable function: parse the flags, start the cluster, print how to
// talk to it, run until asked to stop, stop every node. cluster-main.ts wires it to the process.
import { Command, CommanderError } from 'commander';
import {
  nodesMax,
  startCluster,
  type Cluster,
  type ClusterNode,
  type StartClusterOptions,
} from './cluster.js';
import { ClusterError } from './errors.js';
import { describeExit, type ExitInfo } from './node-process.js';

/** Where text goes: process.stdout or anything with a write(string) method (tests). */
export interface TextSink {
  write(text: string): unknown;
}

export interface LauncherIo {
  readonly stdout: TextSink;
  readonly stderr: TextSink;
}

/** Port of n1 when --base-port is not given: n1..n3 on 7001..7003. */
export const basePortDefault = 7001;
export const nodeCountDefault = 3;
export const dataDirDefault = './data';
/** Highest TCP port. */
const portMax = 65_535;
/** Longest --start-timeout-ms: a node that needs more than ten minutes to serve is broken. */
const startTimeoutMsMax = 600_000;

/** Node flags the launcher accepts itself and passes to every node unchanged. */
const passthroughFlags = ['replicas', 'partitions', 'r', 'w', 'log-level'] as const;

interface RawOptions {
  nodes: string;
  basePort: string;
  data: string;
  logDir?: string;
  nodeBin?: string;
  startTimeoutMs?: string;
  replicas?: string;
  partitions?: string;
  r?: string;
  w?: string;
  logLevel?: string;
}

/** A bad command line: exit code 2. */
export class LauncherUsageError extends Error {
  override readonly name = 'LauncherUsageError';
}

function integerOption(flag: string, text: string, min: number, max: number): number {
  const value = /^[0-9]+$/.test(text) ? Number(text) : Number.NaN;
  if (!Number.isSafeInteger(value) || value < min || value > max) {
    throw new LauncherUsageError(
      `--${flag} must be an integer from ${min} to ${max}, got '${text}'`,
    );
  }
  return value;
}

function camel(flag: string): keyof RawOptions {
  return flag.replace(/-([a-z])/g, (_, letter: string) => letter.toUpperCase()) as keyof RawOptions;
}

/** The cluster options a command line asks for (help and usage errors surface as CommanderError). */
export function parseLauncherArgs(argv: readonly string[], io: LauncherIo): StartClusterOptions {
  const program = new Command('ringstore-cluster')
    .description('Start a local Ringstore cluster on 127.0.0.1 and stop it on Ctrl-C.')
    .exitOverride()
    .configureOutput({
      writeOut: (text) => io.stdout.write(text),
      writeErr: (text) => io.stderr.write(text),
    })
    .option('--nodes <n>', 'how many nodes (n1, n2, ...)', String(nodeCountDefault))
    .option(
      '--base-port <port>',
      'client port of n1 (its peer port is the next one), the other nodes follow two by two; 0 picks free ports',
      String(basePortDefault),
    )
    .option('--data <dir>', 'data directory: node ni keeps its data in <dir>/ni', dataDirDefault)
    .option(
      '--log-dir <dir>',
      'node ni appends its output to <dir>/ni.log (default: the data directory)',
    )
    .option('--node-bin <path>', 'the node program (default: this repository ringstore-node)')
    .option('--start-timeout-ms <ms>', 'how long each node may take to answer SERVING');
  for (const flag of passthroughFlags)
    program.option(`--${flag} <value>`, `passed to every node as --${flag}`);
  program.argument('[node-args...]', 'after --: more flags for every node').action(() => undefined);
  program.parse(argv, { from: 'user' });
  const raw = program.opts<RawOptions>();
  const extraArgs = passthroughFlags.flatMap((flag) => {
    const value = raw[camel(flag)];
    return value === undefined ? [] : [`--${flag}`, value];
  });
  extraArgs.push(...program.args);
  return {
    nodes: integerOption('nodes', raw.nodes, 1, nodesMax),
    basePort: integerOption('base-port', raw.basePort, 0, portMax),
    dataDir: raw.data,
    logDir: raw.logDir,
    nodeBin: raw.nodeBin,
    startTimeoutMs:
      raw.startTimeoutMs === undefined
        ? undefined
        : integerOption('start-timeout-ms', raw.startTimeoutMs, 1, startTimeoutMsMax),
    extraArgs,
  };
}

/** What the user sees once the cluster serves: the nodes and commands to try. */
export function formatBanner(nodes: readonly ClusterNode[]): string {
  const first = nodes[0]?.address ?? '127.0.0.1:7001';
  const second = nodes[1]?.address ?? first;
  const keyBase64 = Buffer.from('greeting').toString('base64');
  const lines = [
    `Ringstore: ${nodes.length} node${nodes.length === 1 ? '' : 's'} serving`,
    ...nodes.map(
      (node) =>
        `  ${node.id}  ${node.address}  pid ${node.pid}  data ${node.dataDir}  log ${node.logFile}`,
    ),
    '',
    'Try:',
    `  npx ringctl --node ${first} put greeting hello`,
    `  npx ringctl --node ${second} get greeting`,
    `  npx ringctl --node ${first} members`,
    `  grpcurl -plaintext ${first} list`,
    `  grpcurl -plaintext -d '{"key":"${keyBase64}"}' ${first} ringstore.v1.KV/Get`,
    '',
    'Press Ctrl-C to stop the cluster.',
  ];
  return lines.join('\n') + '\n';
}

/**
 * Runs the launcher until stopRequested aborts, then stops every node. Returns the exit code:
 * 0 stopped cleanly, 1 the cluster failed to start or stop, 2 usage error.
 */
export async function runLauncher(
  argv: readonly string[],
  io: LauncherIo,
  stopRequested: AbortSignal,
): Promise<number> {
  let options: StartClusterOptions;
  try {
    options = parseLauncherArgs(argv, io);
  } catch (error) {
    return usageExitCode(error, io);
  }
  io.stdout.write(`Starting ${options.nodes} nodes (data in ${options.dataDir})...\n`);
  let cluster: Cluster;
  // Exits during the start are reported by startCluster's error, with the log tail.
  let started = false;
  const onUnexpectedExit = (node: ClusterNode, exit: ExitInfo): void => {
    if (started) reportExit(io, node, exit);
  };
  try {
    cluster = await startCluster({ ...options, onUnexpectedExit });
  } catch (error) {
    return reportClusterError(error, io);
  }
  started = true;
  io.stdout.write(formatBanner(cluster.nodes));
  await aborted(stopRequested);
  io.stdout.write('Stopping the cluster...\n');
  try {
    await cluster.stop();
  } catch (error) {
    return reportClusterError(error, io);
  }
  io.stdout.write('Stopped.\n');
  return 0;
}

function usageExitCode(error: unknown, io: LauncherIo): number {
  if (error instanceof CommanderError) {
    // commander has printed the message or the help already.
    return ['commander.helpDisplayed', 'commander.version'].includes(error.code) ? 0 : 2;
  }
  if (error instanceof LauncherUsageError) {
    io.stderr.write(`error: ${error.message}\n`);
    return 2;
  }
  throw error;
}

function reportClusterError(error: unknown, io: LauncherIo): number {
  if (!(error instanceof ClusterError)) throw error;
  io.stderr.write(`error: ${error.message}\n`);
  return 1;
}

function reportExit(io: LauncherIo, node: ClusterNode, exit: ExitInfo): void {
  io.stderr.write(
    `warning: node ${node.id} (${node.address}) ${describeExit(exit)}; see ${node.logFile}\n`,
  );
}

function aborted(signal: AbortSignal): Promise<void> {
  if (signal.aborted) return Promise.resolve();
  return new Promise((resolve) =>
    signal.addEventListener('abort', () => resolve(), { once: true }),
  );
}
