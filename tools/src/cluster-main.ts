// `npm start`: node tools/dist/cluster-main.js --nodes 3. The first Ctrl-C (or SIGTERM) stops the
// nodes gracefully; a second one kills them at once.
import { runLauncher } from './launcher.js';
import { killAllChildren } from './node-process.js';

const stopRequested = new AbortController();

function onSignal(signal: NodeJS.Signals): void {
  if (!stopRequested.signal.aborted) {
    stopRequested.abort();
    return;
  }
  process.stderr.write(`${signal} again: killing every node now\n`);
  killAllChildren();
  process.exit(130);
}

process.on('SIGINT', onSignal);
process.on('SIGTERM', onSignal);
process.on('SIGHUP', onSignal);

process.exitCode = await runLauncher(process.argv.slice(2), process, stopRequested.signal);
process.off('SIGINT', onSignal);
process.off('SIGTERM', onSignal);
process.off('SIGHUP', onSignal);
