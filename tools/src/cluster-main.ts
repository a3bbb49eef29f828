// `npm start`: node tools/dist/cluster-main.js --nodes 3. The first Ctrl-C (or SIGTERM) stops the
// nodes gracefully; a second one kills them at once. The nodes also stop when this process dies
// any other way (kill -9): each holds a pipe from it on stdin (`--exit-with-parent`).
// `npm run node -- restart n2`: node tools/dist/cluster-main.js restart n2 asks the running
// launcher to restart n2.
import { runLauncher, runRestartCommand } from './launcher.js';
import { killAllChildren } from './node-process.js';

const argv = process.argv.slice(2);

if (argv[0] === 'restart') {
  process.exitCode = await runRestartCommand(argv.slice(1), process);
} else {
  process.exitCode = await launch();
}

async function launch(): Promise<number> {
  const stopRequested = new AbortController();
  const onSignal = (signal: NodeJS.Signals): void => {
    if (!stopRequested.signal.aborted) {
      stopRequested.abort();
      return;
    }
    process.stderr.write(`${signal} again: killing every node now\n`);
    killAllChildren();
    process.exit(130);
  };
  const signals: readonly NodeJS.Signals[] = ['SIGINT', 'SIGTERM', 'SIGHUP'];
  for (const signal of signals) process.on(signal, onSignal);
  try {
    return await runLauncher(argv, process, stopRequested.signal);
  } finally {
    for (const signal of signals) process.off(signal, onSignal);
  }
}
