// How other processes reach a running launcher: a state file in its data directory (its pid, its
// control socket, each node's pid, addresses and command line) and a unix socket on which it takes
// requests such as "restart n2". The launcher does the restart itself, so the restarted node is its
// child like the others: it gets the launcher's stdin pipe and dies with the launcher.
import { createHash } from 'node:crypto';
import { readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { connect, createServer, type Server, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ClusterNode } from './cluster.js';

/** Name of the state file in the launcher's data directory. */
export const stateFileName = 'launcher.json';
/** Longest request or reply line: a node id and a few words, or a node and its command line. */
export const controlLineBytesMax = 64 * 1024;
/** Time a client gets to send its request once connected. */
export const requestWaitMs = 5_000;
/** Time a probe of an existing socket may take before the socket is taken as stale. */
const probeTimeoutMs = 1_000;
/**
 * Longest unix socket path put in the data directory: the kernel's limit is 108 bytes with the
 * terminating NUL (sun_path); a longer data directory gets a socket in the temporary directory.
 */
const socketPathBytesMax = 100;

export interface LauncherState {
  readonly launcherPid: number;
  readonly socketPath: string;
  /** How long a restart may take in the launcher (stop, kill, start): a client waits that long. */
  readonly restartTimeoutMs: number;
  readonly nodes: readonly ClusterNode[];
}

export type ControlRequest = { readonly command: 'restart'; readonly node: string };

export type ControlReply =
  | { readonly ok: true; readonly node: ClusterNode; readonly previousPid: number }
  | { readonly ok: false; readonly error: string };

/** An operating error of the control channel (no launcher, a stale socket, a bad reply). */
export class ControlError extends Error {
  override readonly name = 'ControlError';
}

export function statePath(dataDir: string): string {
  return join(dataDir, stateFileName);
}

/** The control socket of a launcher using dataDir (an absolute path). */
export function socketPathFor(dataDir: string): string {
  const inData = join(dataDir, 'launcher.sock');
  if (Buffer.byteLength(inData) <= socketPathBytesMax) return inData;
  const digest = createHash('sha256').update(dataDir).digest('hex').slice(0, 16);
  return join(tmpdir(), `ringstore-launcher-${digest}.sock`);
}

/** Written whole to a temporary file, then renamed: a reader never sees half a state. */
export function writeState(dataDir: string, state: LauncherState): void {
  const path = statePath(dataDir);
  const temporary = `${path}.${process.pid}.tmp`;
  writeFileSync(temporary, JSON.stringify(state, null, 2) + '\n');
  renameSync(temporary, path);
}

export function removeState(dataDir: string, state: { socketPath: string }): void {
  rmSync(statePath(dataDir), { force: true });
  rmSync(state.socketPath, { force: true });
}

export function readState(dataDir: string): LauncherState {
  const path = statePath(dataDir);
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch {
    throw new ControlError(
      `no launcher state at ${path}: is a cluster running with --data ${dataDir} (npm start)?`,
    );
  }
  try {
    return JSON.parse(text) as LauncherState;
  } catch (error) {
    throw new ControlError(`${path} is not launcher state: ${(error as Error).message}`);
  }
}

/**
 * Serves requests on socketPath, one line of JSON in, one line out. A socket left by a launcher
 * that died is replaced; one that answers belongs to a running launcher: ControlError.
 */
export async function serveControl(
  socketPath: string,
  handle: (request: ControlRequest) => Promise<ControlReply>,
): Promise<Server> {
  const server = createServer((socket) => serveOne(socket, handle));
  try {
    await listen(server, socketPath);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EADDRINUSE') throw error;
    if (await answers(socketPath))
      throw new ControlError(
        `another launcher is running with this data directory (${socketPath})`,
      );
    rmSync(socketPath, { force: true });
    await listen(server, socketPath);
  }
  return server;
}

function listen(server: Server, path: string): Promise<void> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(path, () => {
      server.off('error', reject);
      resolve();
    });
  });
}

function answers(socketPath: string): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect(socketPath);
    socket.setTimeout(probeTimeoutMs, () => socket.destroy());
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('close', () => resolve(false));
    socket.once('error', () => resolve(false));
  });
}

function serveOne(
  socket: Socket,
  handle: (request: ControlRequest) => Promise<ControlReply>,
): void {
  socket.on('error', () => undefined);
  socket.setTimeout(requestWaitMs, () => socket.destroy());
  void readLine(socket).then(async (line) => {
    socket.setTimeout(0);
    const request = parseRequest(line);
    const reply = 'error' in request ? request : await handle(request);
    socket.end(JSON.stringify(reply) + '\n');
  });
}

function parseRequest(
  line: string | undefined,
): ControlRequest | { readonly ok: false; readonly error: string } {
  try {
    const value = JSON.parse(line ?? '') as Partial<ControlRequest>;
    if (value.command === 'restart' && typeof value.node === 'string')
      return { command: 'restart', node: value.node };
  } catch {
    // Answered below.
  }
  return { ok: false, error: `not a request: ${(line ?? '').slice(0, 200)}` };
}

/** The first line the peer sends (undefined if it sends none), at most controlLineBytesMax. */
function readLine(socket: Socket): Promise<string | undefined> {
  return new Promise((resolve) => {
    let text = '';
    const done = (line: string | undefined): void => {
      socket.removeAllListeners('data');
      resolve(line);
    };
    socket.on('data', (chunk: Buffer) => {
      text += chunk.toString('utf8');
      const end = text.indexOf('\n');
      if (end >= 0) done(text.slice(0, end));
      else if (text.length > controlLineBytesMax) done(undefined);
    });
    socket.once('end', () => done(text === '' ? undefined : text));
    socket.once('close', () => done(undefined));
  });
}

/** Sends one request to the launcher behind socketPath and waits at most timeoutMs for its reply. */
export function sendControl(
  socketPath: string,
  request: ControlRequest,
  timeoutMs: number,
): Promise<ControlReply> {
  return new Promise((resolve, reject) => {
    const socket = connect(socketPath);
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new ControlError(`the launcher did not answer within ${timeoutMs} ms`));
    }, timeoutMs);
    socket.once('error', (error: NodeJS.ErrnoException) => {
      clearTimeout(timer);
      reject(new ControlError(`cannot reach the launcher at ${socketPath} (${error.code})`));
    });
    socket.once('connect', () => socket.write(JSON.stringify(request) + '\n'));
    void readLine(socket).then((line) => {
      clearTimeout(timer);
      socket.destroy();
      const reply =
        line === undefined
          ? new ControlError('the launcher closed without an answer')
          : parseReply(line);
      if (reply instanceof ControlError) reject(reply);
      else resolve(reply);
    });
  });
}

function parseReply(line: string): ControlReply | ControlError {
  try {
    return JSON.parse(line) as ControlReply;
  } catch {
    return new ControlError(`the launcher answered something else: ${line.slice(0, 200)}`);
  }
}
