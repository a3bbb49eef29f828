// `npm run fuzz -- --seconds N --seed S --nodes N --out DIR`: fuzzes a real local cluster's client
// and peer ports (tools/src/fuzz/run.ts). Exit codes: 0 pass; 1 a node answered INTERNAL or
// UNKNOWN, exited, stopped serving, or a known key changed; 2 usage error; 3 the harness failed;
// 130 interrupted (the first Ctrl-C ends the fuzzing early and still checks; a second kills).
import { randomInt } from 'node:crypto';
import { CommanderError } from 'commander';
import { seedMax } from './chaos/prng.js';
import { FuzzUsageError, parseFuzzArgs, type FuzzOptions } from './fuzz/options.js';
import { formatReport } from './fuzz/report.js';
import { runFuzz } from './fuzz/run.js';
import { killAllChildren } from './node-process.js';

const abort = new AbortController();

function onSignal(signal: NodeJS.Signals): void {
  if (!abort.signal.aborted) {
    process.stderr.write(`${signal}: ending the fuzzing early (again to kill at once)\n`);
    abort.abort();
    return;
  }
  killAllChildren();
  process.exit(130);
}

function parse(): FuzzOptions | number {
  try {
    return parseFuzzArgs(process.argv.slice(2), randomInt(0, seedMax));
  } catch (e) {
    if (e instanceof CommanderError) return e.code === 'commander.helpDisplayed' ? 0 : 2;
    if (e instanceof FuzzUsageError) {
      process.stderr.write(`error: ${e.message}\n`);
      return 2;
    }
    throw e;
  }
}

async function main(): Promise<number> {
  const options = parse();
  if (typeof options === 'number') return options;
  for (const signal of ['SIGINT', 'SIGTERM'] as const) process.on(signal, onSignal);
  try {
    const report = await runFuzz(
      options,
      { log: (line) => process.stdout.write(`${line}\n`) },
      abort.signal,
    );
    process.stdout.write(`${formatReport(report)}\n`);
    if (abort.signal.aborted) return 130;
    return report.pass ? 0 : 1;
  } catch (e) {
    process.stderr.write(
      `fuzz: the harness failed: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`,
    );
    return 3;
  }
}

main().then(
  (code) => process.exit(code),
  (e: unknown) => {
    process.stderr.write(`fuzz: ${String(e)}\n`);
    process.exit(3);
  },
);
