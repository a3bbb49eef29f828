// The overload bench's command line (commander): the sizes of both phases and where results go.
import { Command, CommanderError, InvalidArgumentError } from 'commander';
import { clientProcessesMax } from './senders.js';

export interface OverloadFlags {
  inflight: number;
  rounds: number;
  valueBytes: number;
  /** Absent: chosen from the calibration wave (deadlineFor in report.ts). */
  deadlineMs?: number;
  clientProcesses: number;
  floodMessages: number;
  floodMib: number;
  /** Phase 0: one wave at a no-op echo server first (--no-calibrate skips it). */
  calibrate: boolean;
  /** Passed to every node; absent: the node's default (256). */
  maxInflightRequests?: number;
  json?: string;
  out: string;
}

export interface OverloadIo {
  readonly stdout: { write(s: string): unknown };
  readonly stderr: { write(s: string): unknown };
}

/** Most puts in one wave: ten times the figure; beyond, the client is what is measured. */
export const inflightMax = 100_000;
/** Most waves: each takes seconds. */
export const roundsMax = 100;
/** The node's default value limit (1 MiB): a larger put would be refused for its size. */
export const valueBytesMax = 1024 * 1024;
/** Longest deadline of a phase-1 put. */
export const deadlineMsMax = 60_000;
/** Most flood messages: the client holds a framed copy of each in flight. */
export const floodMessagesMax = 256;
/** Smallest flood message: above the node's client message limit (about 1.1 MiB by default). */
export const floodMibMin = 2;
/** Largest flood message: the client builds it in memory. */
export const floodMibMax = 512;
/** The node's own ceiling for --max-inflight-requests. */
export const nodeInflightRequestsMax = 1_000_000;
/**
 * Wave workers by default: one per core of the 2-core VM. Measured there (docs/performance.md
 * "Overload"): one channel holds 10,000 calls, but issuing and answering them costs the client
 * 2.3-3.6 s of CPU per wave, and in this process that blocks the RSS sampler and the probe
 * (a probe took 11 s); in workers the parent stays free to measure.
 */
export const clientProcessesDefault = 2;

function intIn(name: string, min: number, max: number): (raw: string) => number {
  return (raw) => {
    const v = Number(raw);
    if (!/^\d+$/.test(raw.trim()) || !Number.isSafeInteger(v) || v < min || v > max)
      throw new InvalidArgumentError(`${name} must be an integer from ${min} to ${max}`);
    return v;
  };
}

function overloadCommand(io: OverloadIo): Command {
  return new Command('ringstore-bench-overload')
    .description(
      'Overloads one node of a 3-node cluster with waves of concurrent puts, then floods it with ' +
        'oversized messages; checks admission control (RESOURCE_EXHAUSTED, no peer marked ' +
        'down, bounded memory).',
    )
    .option(
      '--inflight <n>',
      'puts fired at once per wave, all at n1',
      intIn('--inflight', 1, inflightMax),
      10_000,
    )
    .option('--rounds <k>', 'waves of --inflight puts', intIn('--rounds', 1, roundsMax), 6)
    .option(
      '--value-bytes <n>',
      'value size of a phase-1 put',
      intIn('--value-bytes', 1, valueBytesMax),
      100,
    )
    .option(
      '--deadline-ms <ms>',
      'deadline of each phase-1 put (default: twice the time the no-op server took to answer ' +
        'the calibration wave, at least 2 s; 10 s with --no-calibrate)',
      intIn('--deadline-ms', 1, deadlineMsMax),
    )
    .option(
      '--client-processes <p>',
      'child processes firing each wave together (0: this process, one channel)',
      intIn('--client-processes', 0, clientProcessesMax),
      clientProcessesDefault,
    )
    .option(
      '--flood-messages <n>',
      'oversized puts sent at once in phase 2',
      intIn('--flood-messages', 0, floodMessagesMax),
      24,
    )
    .option(
      '--flood-mib <mib>',
      'value size of each flood message, MiB',
      intIn('--flood-mib', floodMibMin, floodMibMax),
      60,
    )
    .option(
      '--max-inflight-requests <n>',
      "passed to every node (default: the node's own, 256)",
      intIn('--max-inflight-requests', 1, nodeInflightRequestsMax),
    )
    .option('--no-calibrate', 'skip phase 0 (one wave at a no-op echo server: the machine ceiling)')
    .option('--json <file>', 'also write the JSON report to FILE')
    .option('--out <dir>', 'where results (JSON, Markdown) and node logs go', 'bench-results')
    .exitOverride()
    .configureOutput({
      writeOut: (s) => void io.stdout.write(s),
      writeErr: (s) => void io.stderr.write(s),
    });
}

/** The flags, or the exit code when they are bad (2) or only asked for help (0). */
export function parseOverloadFlags(
  argv: readonly string[],
  io: OverloadIo,
): OverloadFlags | number {
  const cmd = overloadCommand(io);
  try {
    cmd.parse([...argv], { from: 'user' });
  } catch (e) {
    if (e instanceof CommanderError) return e.exitCode === 0 ? 0 : 2;
    throw e;
  }
  return cmd.opts<OverloadFlags>();
}
