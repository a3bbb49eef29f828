// Phase 0, the machine's own ceiling: the same wave (N puts at once, same senders, same deadline)
// at the bench's echo server, a grpc-js server that does no work. What it cannot answer within
// the deadline, no node could on this machine at this moment: the client and gRPC cost alone.
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { freePort, spawnChild, stopChild } from '@ringstore/tools';
import { startSenders } from './senders.js';
import { waitConnected, waveClient, type WaveTally } from './wave.js';

/** The built echo server (tsc output), from src/overload or dist/overload alike. */
export const echoServerScript = fileURLToPath(
  new URL('../../dist/echo-server.js', import.meta.url),
);
/** Bound on the echo server's start: a Node process loading grpc-js on a busy machine. */
export const echoStartMs = 15_000;
/** Time the echo server gets to exit after SIGTERM before SIGKILL. */
export const echoStopMs = 5_000;

export interface CalibrationSpec {
  readonly inflight: number;
  readonly valueBytes: number;
  readonly deadlineMs: number;
  readonly clientProcesses: number;
  /** Where the echo server's log goes. */
  readonly logDir: string;
}

/** One wave at a fresh echo server; the server is stopped (by pid) before this returns. */
export async function calibrate(spec: CalibrationSpec): Promise<WaveTally> {
  if (!existsSync(echoServerScript))
    throw new Error(`${echoServerScript} is missing: build first (npm run build)`);
  const address = `127.0.0.1:${await freePort()}`;
  const server = spawnChild({
    command: process.execPath,
    args: [echoServerScript, '--listen', address, '--value-bytes', String(spec.valueBytes)],
    logFile: join(spec.logDir, 'echo.log'),
    cwd: spec.logDir,
    env: process.env,
    onExit: () => undefined,
  });
  try {
    const ready = waveClient(address);
    try {
      await waitConnected(ready, echoStartMs);
    } finally {
      ready.close();
    }
    const senders = await startSenders(address, spec.clientProcesses);
    try {
      return await senders.fire(0, spec.inflight, spec.valueBytes, spec.deadlineMs);
    } finally {
      await senders.close();
    }
  } finally {
    await stopChild(server, 'SIGTERM', echoStopMs);
  }
}
