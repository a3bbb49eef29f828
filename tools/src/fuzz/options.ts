// The command line of `npm run fuzz`. Parsing is pure (the default seed comes in as an argument),
// so it is tested without starting anything.
import { Command, InvalidArgumentError } from 'commander';
import { seedMax } from '../chaos/prng.js';

export interface FuzzOptions {
  readonly seconds: number;
  readonly seed: number;
  readonly nodes: number;
  /** Where the data, logs and report go (kept); undefined: a temporary directory, removed on a pass. */
  readonly out: string | undefined;
  /** Requests in flight at once. */
  readonly concurrency: number;
}

/** A bad command line: exit code 2. */
export class FuzzUsageError extends Error {
  override readonly name = 'FuzzUsageError';
}

export const secondsDefault = 60;
/** A day: longer runs belong to a scheduler, not one command. */
export const secondsMax = 86_400;
export const nodesDefault = 3;
/** Three: every key's N = 3 replicas exist, so known keys are read at R = 3. */
export const nodesMin = 3;
/** A laptop's worth of node processes. */
export const nodesMax = 9;
export const concurrencyDefault = 8;
/** Enough to keep every node busy; more only measures the admission limits. */
export const concurrencyMax = 256;

function integerIn(name: string, min: number, max: number) {
  return (raw: string): number => {
    const n = Number(raw);
    if (!/^\d+$/.test(raw) || !Number.isSafeInteger(n) || n < min || n > max)
      throw new InvalidArgumentError(`${name} must be an integer from ${min} to ${max}`);
    return n;
  };
}

export function buildFuzzCommand(): Command {
  return new Command('fuzz')
    .description(
      'Starts a real cluster, writes known keys, sends random and mutated messages to every client and peer RPC, then checks that the nodes stayed up, nothing answered INTERNAL and the known keys kept their values.',
    )
    .option(
      '--seconds <n>',
      `how long to fuzz, in seconds (default ${secondsDefault})`,
      integerIn('--seconds', 1, secondsMax),
    )
    .option(
      '--seed <n>',
      `the run's seed (0..${seedMax}; default random)`,
      integerIn('--seed', 0, seedMax),
    )
    .option(
      '--nodes <n>',
      `nodes in the cluster (default ${nodesDefault})`,
      integerIn('--nodes', nodesMin, nodesMax),
    )
    .option(
      '--out <dir>',
      'keep data, logs and the report here (default: a temporary directory, kept only on failure)',
    )
    .option(
      '--concurrency <n>',
      `requests in flight (default ${concurrencyDefault})`,
      integerIn('--concurrency', 1, concurrencyMax),
    )
    .exitOverride()
    .allowExcessArguments(false);
}

/** Parses argv (without node and the script); throws FuzzUsageError or CommanderError (help). */
export function parseFuzzArgs(argv: readonly string[], seedDefault: number): FuzzOptions {
  const cmd = buildFuzzCommand().configureOutput({ writeErr: () => undefined });
  try {
    cmd.parse([...argv], { from: 'user' });
  } catch (e) {
    if (e instanceof Error && 'code' in e && e.code === 'commander.helpDisplayed') throw e;
    throw new FuzzUsageError(e instanceof Error ? e.message.replace(/^error: /, '') : String(e));
  }
  const o = cmd.opts<{
    seconds?: number;
    seed?: number;
    nodes?: number;
    out?: string;
    concurrency?: number;
  }>();
  return {
    seconds: o.seconds ?? secondsDefault,
    seed: o.seed ?? seedDefault,
    nodes: o.nodes ?? nodesDefault,
    out: o.out,
    concurrency: o.concurrency ?? concurrencyDefault,
  };
}
