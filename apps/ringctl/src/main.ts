// Process entry point of ringctl: hands the real streams to run() and sets the exit code.
import { dropIpServerNameWarning } from './process-warnings.js';
import { run } from './run.js';

dropIpServerNameWarning(process);

// `ringctl ring | head -1`: the reader went away; stop quietly as other shell tools do.
process.stdout.on('error', (error: NodeJS.ErrnoException) => {
  if (error.code !== 'EPIPE') throw error;
  process.exit(process.exitCode ?? 0);
});

process.exitCode = await run(process.argv.slice(2), {
  stdin: process.stdin,
  stdout: process.stdout,
  stderr: process.stderr,
  env: process.env,
  terminal: process.stdout.isTTY ? process.stdout : undefined,
});
