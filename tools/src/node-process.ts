// One child process of the launcher: spawn with output to a log file, watch for its exit, stop it
// within a bound. Every live child is in a registry so that the parent kills them by pid when it
// exits or is interrupted, even if nobody called stop.
import { spawn, type ChildProcess } from 'node:child_process';
import { closeSync, openSync, writeSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';

export interface ExitInfo {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
}

export interface SpawnOptions {
  readonly command: string;
  readonly args: readonly string[];
  /** stdout and stderr are appended here, after a header line naming the command. */
  readonly logFile: string;
  readonly cwd: string;
  readonly env: Readonly<Record<string, string | undefined>>;
  /**
   * stdin is a pipe whose write end only this process holds (never written, never closed): the
   * child sees EOF when this process exits, even by SIGKILL (`ringstore-node --exit-with-parent`).
   * Otherwise stdin is /dev/null.
   */
  readonly stdinPipe?: boolean | undefined;
  /** Called once when the process exits, whatever the reason. */
  readonly onExit: (exit: ExitInfo) => void;
}

export interface ChildHandle {
  readonly pid: number;
  /** undefined while the process runs. */
  exitInfo(): ExitInfo | undefined;
  readonly exited: Promise<ExitInfo>;
  /** Sends a signal; false when the process is already gone. */
  signal(signal: NodeJS.Signals): boolean;
}

/** How long to wait for the exit event after SIGKILL before declaring the process stuck. */
export const killWaitMs = 5_000;

/** Signals after which the parent takes its children down with it (unless it handles them itself). */
const fatalSignals: readonly NodeJS.Signals[] = ['SIGINT', 'SIGTERM', 'SIGHUP'];

const liveChildren = new Set<ChildProcess>();
let hooksInstalled = false;

/** Pids of every child started here that is still running. */
export function liveChildPids(): number[] {
  return [...liveChildren].flatMap((child) => (child.pid === undefined ? [] : [child.pid]));
}

/** SIGKILLs every process the launcher started that is still running. Synchronous. */
export function killAllChildren(): void {
  for (const pid of liveChildPids()) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // Already gone.
    }
  }
}

/**
 * A signal nobody else handles would end the parent without running 'exit' hooks, leaving the
 * children (in their own process group) running: kill them, then die of the signal as before.
 * When the program has its own handler (the launcher stops nodes gracefully on Ctrl-C), leave it be.
 */
function onFatalSignal(signal: NodeJS.Signals): void {
  if (process.listenerCount(signal) > 1) return;
  killAllChildren();
  process.removeListener(signal, onFatalSignal);
  process.kill(process.pid, signal);
}

function installHooks(): void {
  if (hooksInstalled) return;
  hooksInstalled = true;
  process.on('exit', killAllChildren);
  for (const signal of fatalSignals) process.on(signal, onFatalSignal);
}

export function spawnChild(options: SpawnOptions): ChildHandle {
  installHooks();
  const logFd = openLog(options);
  let child: ChildProcess;
  try {
    child = spawn(options.command, [...options.args], {
      cwd: options.cwd,
      env: options.env,
      // libuv opens the pipe close-on-exec: no other child inherits this one's write end.
      stdio: [options.stdinPipe === true ? 'pipe' : 'ignore', logFd, logFd],
      // Own process group: a Ctrl-C at the terminal reaches the launcher only, which then stops
      // the nodes in order instead of every process racing to die at once.
      detached: true,
    });
  } finally {
    closeSync(logFd);
  }
  const pid = child.pid;
  if (pid === undefined) throw new Error(`could not start ${options.command}`);
  liveChildren.add(child);
  // Never written, so an error here (EPIPE once the child is gone) means nothing.
  child.stdin?.on('error', () => undefined);
  let exitInfo: ExitInfo | undefined;
  const exited = new Promise<ExitInfo>((resolve) => {
    child.once('exit', (code, signal) => {
      liveChildren.delete(child);
      exitInfo = { code, signal };
      options.onExit(exitInfo);
      resolve(exitInfo);
    });
  });
  return {
    pid,
    exited,
    exitInfo: () => exitInfo,
    signal: (signal) => exitInfo === undefined && child.kill(signal),
  };
}

function openLog(options: SpawnOptions): number {
  const fd = openSync(options.logFile, 'a');
  const started = new Date().toISOString();
  writeSync(fd, `=== ${started} starting: ${options.command} ${options.args.join(' ')}\n`);
  return fd;
}

/** Resolves with the exit, or undefined when the process still runs after timeoutMs. */
export async function waitForExit(
  child: ChildHandle,
  timeoutMs: number,
): Promise<ExitInfo | undefined> {
  const timeout = new AbortController();
  try {
    return await Promise.race([
      child.exited,
      sleep(timeoutMs, undefined, { signal: timeout.signal }),
    ]);
  } finally {
    timeout.abort();
  }
}

/**
 * Stops a process: the signal (SIGCONT too, in case it was paused), a bounded wait, then SIGKILL.
 * Resolves with the exit, or undefined if even SIGKILL did not end it within killWaitMs.
 */
export async function stopChild(
  child: ChildHandle,
  signal: NodeJS.Signals,
  timeoutMs: number,
): Promise<ExitInfo | undefined> {
  const done = child.exitInfo();
  if (done !== undefined) return done;
  child.signal(signal);
  if (signal !== 'SIGKILL') child.signal('SIGCONT');
  const exit = await waitForExit(child, timeoutMs);
  if (exit !== undefined) return exit;
  child.signal('SIGKILL');
  return waitForExit(child, killWaitMs);
}

/** Describes an exit for messages: "exited with code 1" or "was killed by SIGKILL". */
export function describeExit(exit: ExitInfo): string {
  return exit.signal === null
    ? `exited with code ${exit.code ?? '?'}`
    : `was killed by ${exit.signal}`;
}
