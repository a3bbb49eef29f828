// The `npm start` launcher as a testable function: parse the flags, start the cluster, print how to
// talk to it, run until asked to stop, stop every node. While it runs, `restart <node>` (another
// process) asks it over its control socket to restart a node. cluster-main.ts wires it up.
import { mkdir } from 'node:fs/promises';
import type { Server } from 'node:net';
import { resolve } from 'node:path';
import { Command, CommanderError } from 'commander';
import {
  nodesMax,
  startCluster,
  startTimeoutMsDefault,
  stopTimeoutMsDefault,
  type Cluster,
  type ClusterNode,
  type StartClusterOptions,
} from './cluster.js';
import { ClusterError } from './errors.js';
import {
  ControlError,
  readState,
  removeState,
  sendControl,
  serveControl,
  socketPathFor,
  writeState,
  type ControlReply,
  type ControlRequest,
} from './launcher-control.js';
import { describeExit, killWaitMs, type ExitInfo } from './node-process.js';

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

/**
 * Time the restart command waits beyond the launcher's own bound on a restart (in the state file):
 * the round trip and the launcher's bookkeeping.
 */
const restartReplyMarginMs = 5_000;

/** Flags every node gets from the launcher, before the user's (which may override them). */
const launcherNodeArgs = ['--log-format', 'pretty'] as const;

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
      'client port of n1 (its peer port is the next one), the other nodes follow two by two; each admin (HTTP) port is the client port + 1000; 0 picks free ports',
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
  const extraArgs: string[] = [...launcherNodeArgs];
  extraArgs.push(
    ...passthroughFlags.flatMap((flag) => {
      const value = raw[camel(flag)];
      return value === undefined ? [] : [`--${flag}`, value];
    }),
  );
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
    adminPorts: true,
  };
}

/** How to reach one node: its ports, its web console, its files (also printed after a restart). */
export function formatNode(node: ClusterNode): string {
  const lines = [`  ${node.id}  client ${node.address}  peer ${node.peerAddress}  pid ${node.pid}`];
  if (node.adminAddress !== undefined) {
    const http = `http://${node.adminAddress}`;
    lines.push(`      console ${http}/  metrics ${http}/metrics`);
  }
  lines.push(`      data ${node.dataDir}  log ${node.logFile}`);
  return lines.join('\n') + '\n';
}

/** What the user sees once the cluster serves: the nodes and commands to try. */
export function formatBanner(nodes: readonly ClusterNode[], dataDir = dataDirDefault): string {
  const first = nodes[0]?.address ?? '127.0.0.1:7001';
  const second = nodes[1]?.address ?? first;
  const keyBase64 = Buffer.from('greeting').toString('base64');
  const dataFlag = dataDir === dataDirDefault ? '' : ` --data ${dataDir}`;
  const console = nodes[0]?.adminAddress;
  const lines = [
    `Ringstore: ${nodes.length} node${nodes.length === 1 ? '' : 's'} serving`,
    ...nodes.map((node) => formatNode(node).trimEnd()),
    '',
    'Try:',
    `  npx ringctl --node ${first} put greeting hello`,
    `  npx ringctl --node ${second} get greeting`,
    `  npx ringctl --node ${first} members`,
    `  grpcurl -plaintext ${first} list`,
    `  grpcurl -plaintext -d '{"key":"${keyBase64}"}' ${first} ringstore.v1.KV/Get`,
    ...(console === undefined ? [] : [`  open http://${console}/ in a browser (the web console)`]),
    `  npm run node -- restart ${nodes[1]?.id ?? 'n1'}${dataFlag}   (from another terminal)`,
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
  const control = new ControlChannel(resolve(options.dataDir), io, restartTimeoutMsOf(options));
  try {
    await control.open();
  } catch (error) {
    return reportClusterError(error, io);
  }
  // Exits during the start are reported by startCluster's error, with the log tail.
  let started = false;
  const onUnexpectedExit = (node: ClusterNode, exit: ExitInfo): void => {
    if (!started) return;
    reportExit(io, node, exit);
    control.save();
  };
  let cluster: Cluster;
  try {
    cluster = await startCluster({ ...options, onUnexpectedExit });
  } catch (error) {
    await control.close();
    return reportClusterError(error, io);
  }
  started = true;
  control.attach(cluster);
  io.stdout.write(formatBanner(cluster.nodes, options.dataDir));
  await aborted(stopRequested);
  return stopLauncher(cluster, control, io);
}

async function stopLauncher(cluster: Cluster, control: ControlChannel, io: LauncherIo) {
  io.stdout.write('Stopping the cluster...\n');
  await control.close();
  try {
    await cluster.stop();
  } catch (error) {
    return reportClusterError(error, io);
  }
  io.stdout.write('Stopped.\n');
  return 0;
}

/** The launcher's bound on one restart: stop (then SIGKILL and its wait), start, SERVING. */
function restartTimeoutMsOf(options: StartClusterOptions): number {
  const start = options.startTimeoutMs ?? startTimeoutMsDefault;
  return (options.stopTimeoutMs ?? stopTimeoutMsDefault) + killWaitMs + start;
}

/**
 * The launcher's side of `restart`: the control socket, the state file beside the data, and the
 * restarts themselves, one at a time (a second request while one runs is refused, not queued).
 */
class ControlChannel {
  private readonly socketPath: string;
  private server: Server | undefined;
  private cluster: Cluster | undefined;
  private running: Promise<ControlReply> | undefined;
  private closing = false;

  constructor(
    private readonly dataDir: string,
    private readonly io: LauncherIo,
    private readonly restartTimeoutMs: number,
  ) {
    this.socketPath = socketPathFor(dataDir);
  }

  async open(): Promise<void> {
    await mkdir(this.dataDir, { recursive: true });
    this.server = await serveControl(this.socketPath, (request) => this.handle(request));
  }

  attach(cluster: Cluster): void {
    this.cluster = cluster;
    this.save();
  }

  /** Writes the state file: every node's pid, addresses and command line as they are now. */
  save(): void {
    if (this.cluster === undefined || this.closing) return;
    writeState(this.dataDir, {
      launcherPid: process.pid,
      socketPath: this.socketPath,
      restartTimeoutMs: this.restartTimeoutMs,
      nodes: this.cluster.nodes,
    });
  }

  /** Refuses new requests, lets a restart under way finish, removes the socket and state file. */
  async close(): Promise<void> {
    this.closing = true;
    this.server?.close();
    if (this.running !== undefined) {
      this.io.stdout.write('Waiting for the restart under way to finish...\n');
      await this.running;
    }
    removeState(this.dataDir, { socketPath: this.socketPath });
  }

  private async handle(request: ControlRequest): Promise<ControlReply> {
    const refusal = this.closing
      ? 'the launcher is stopping the cluster'
      : this.cluster === undefined
        ? 'the cluster is still starting'
        : this.running !== undefined
          ? 'another restart is under way; try again when it is done'
          : undefined;
    if (refusal !== undefined || this.cluster === undefined)
      return { ok: false, error: refusal ?? 'no cluster' };
    this.running = this.restart(this.cluster, request.node);
    try {
      return await this.running;
    } finally {
      this.running = undefined;
    }
  }

  private async restart(cluster: Cluster, id: string): Promise<ControlReply> {
    try {
      const previousPid = cluster.node(id).pid;
      this.io.stdout.write(`Restarting ${id} (pid ${previousPid}) as asked...\n`);
      try {
        await cluster.restart(id);
      } finally {
        this.save();
      }
      const node = cluster.node(id);
      this.io.stdout.write(`Restarted ${id}:\n${formatNode(node)}`);
      return { ok: true, node, previousPid };
    } catch (error) {
      if (!(error instanceof ClusterError)) throw error;
      this.io.stderr.write(`error: restart ${id}: ${error.message}\n`);
      return { ok: false, error: error.message };
    }
  }
}

/**
 * `restart <node>`: asks the launcher running with --data to restart one node (SIGTERM, a bounded
 * wait, SIGKILL, the same command line, SERVING) and prints its addresses. 0 done, 1 failed, 2 usage.
 */
export async function runRestartCommand(argv: readonly string[], io: LauncherIo): Promise<number> {
  let id: string;
  let dataDir: string;
  try {
    [id, dataDir] = parseRestartArgs(argv, io);
  } catch (error) {
    return usageExitCode(error, io);
  }
  let reply: ControlReply;
  try {
    const state = readState(dataDir);
    if (!isAlive(state.launcherPid)) {
      throw new ControlError(
        `the launcher (pid ${state.launcherPid}) that used ${dataDir} is gone: start the cluster with npm start`,
      );
    }
    io.stdout.write(`Restarting ${id}...\n`);
    const request: ControlRequest = { command: 'restart', node: id };
    reply = await sendControl(
      state.socketPath,
      request,
      state.restartTimeoutMs + restartReplyMarginMs,
    );
  } catch (error) {
    if (!(error instanceof ControlError)) throw error;
    io.stderr.write(`error: ${error.message}\n`);
    return 1;
  }
  if (!reply.ok) {
    io.stderr.write(`error: ${reply.error}\n`);
    return 1;
  }
  io.stdout.write(`Restarted ${id} (pid ${reply.previousPid} -> ${reply.node.pid}):\n`);
  io.stdout.write(formatNode(reply.node));
  return 0;
}

function parseRestartArgs(argv: readonly string[], io: LauncherIo): [string, string] {
  const program = new Command('ringstore-cluster restart')
    .description(
      'Restart one node of the local cluster that `npm start` runs (same ports, data, flags).',
    )
    .exitOverride()
    .configureOutput({
      writeOut: (text) => io.stdout.write(text),
      writeErr: (text) => io.stderr.write(text),
    })
    .argument('<node>', 'the node to restart, e.g. n2')
    .option('--data <dir>', 'the data directory the launcher was given', dataDirDefault);
  program.parse(argv, { from: 'user' });
  const [id] = program.args;
  if (id === undefined) throw new LauncherUsageError('name the node to restart, e.g. n2');
  return [id, resolve(program.opts<{ data: string }>().data)];
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    // EPERM: alive, someone else's (a pid reused since).
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
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
  if (!(error instanceof ClusterError) && !(error instanceof ControlError)) throw error;
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
