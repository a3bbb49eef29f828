// `npm run chaos -- --nemesis ... --duration ...` and `npm run chaos:smoke`. Exit codes: 0 pass,
// 1 an acknowledged write was lost, a deleted value resurrected or the final ring check failed (or
// a self-test found no loss), 2 usage error, 3 the harness failed, 130 interrupted.
// The first Ctrl-C stops the run and cleans up; a second one kills the nodes at once.
import { randomInt } from 'node:crypto';
import { CommanderError } from 'commander';
import { ChaosUsageError, parseChaosArgs, type ChaosOptions } from './chaos/options.js';
import { seedMax } from './chaos/prng.js';
import { runChaos } from './chaos/run.js';
import { killAllChildren } from './node-process.js';

const abort = new AbortController();

function onSignal(signal: NodeJS.Signals): void {
  if (!abort.signal.aborted) {
    process.stderr.write(`${signal}: stopping the run and cleaning up (again to kill at once)\n`);
    abort.abort();
    return;
  }
  killAllChildren();
  // 'exit' hooks remove the network namespaces.
  process.exit(130);
}

function parse(): ChaosOptions | number {
  try {
    return parseChaosArgs(process.argv.slice(2), randomInt(0, seedMax));
  } catch (e) {
    if (e instanceof CommanderError)
      return ['commander.helpDisplayed', 'commander.version'].includes(e.code) ? 0 : 2;
    if (e instanceof ChaosUsageError) {
      process.stderr.write(`error: ${e.message}\n`);
      return 2;
    }
    throw e;
  }
}

async function main(): Promise<number> {
  const options = parse();
  if (typeof options === 'number') return options;
  for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) process.on(signal, onSignal);
  try {
    const report = await runChaos(
      options,
      { log: (line) => process.stdout.write(`${line}\n`) },
      abort.signal,
    );
    process.stdout.write(
      `chaos: ${report.verdict.pass ? 'PASS' : 'FAIL'}: ${report.verdict.reasons.join('; ')} (seed ${report.seed}, ${(report.wallMs / 1000).toFixed(0)} s)\n`,
    );
    return report.verdict.exitCode;
  } catch (e) {
    if (abort.signal.aborted) {
      process.stderr.write(
        'chaos: interrupted; every node, namespace and rule it set up is removed\n',
      );
      return 130;
    }
    process.stderr.write(
      `chaos: the run failed: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`,
    );
    return 3;
  }
}

process.exitCode = await main();
