// Runs ringctl in-process with captured output, as a shell would see it.
import { Readable } from 'node:stream';
import type { RunIo } from '../io.js';
import { run } from '../run.js';

export interface CliResult {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

export interface CliInput {
  /** Bytes on stdin; an empty stream when omitted. */
  readonly stdin?: string | Buffer;
  readonly env?: Record<string, string>;
  /** The wall clock ringctl sees (ms since the epoch); Date.now when omitted. */
  readonly nowMs?: number;
  /** stdout as a terminal (progress bars are drawn there); omitted: stdout is not a terminal. */
  readonly terminal?: NodeJS.WritableStream;
}

export async function runCli(argv: readonly string[], input: CliInput = {}): Promise<CliResult> {
  let stdout = '';
  let stderr = '';
  const io: RunIo = {
    stdin: Readable.from(input.stdin === undefined ? [] : [Buffer.from(input.stdin)]),
    stdout: { write: (text: string) => (stdout += text) },
    stderr: { write: (text: string) => (stderr += text) },
    env: input.env ?? {},
    ...(input.nowMs === undefined ? {} : { nowMs: () => input.nowMs ?? 0 }),
    terminal: input.terminal,
  };
  const code = await run(argv, io);
  return { code, stdout, stderr };
}
