import { ConfigError, helpText, loadConfig } from './config.js';
import { createLogger } from './logger.js';
import { startNode } from './node.js';

/** `ringstore-node`: exit 0 on a clean stop, 2 on bad flags or config, 1 on a failure to start. */
async function main(argv: string[]): Promise<number> {
  if (argv.includes('--help') || argv.includes('-h')) {
    process.stdout.write(helpText());
    return 0;
  }
  let config;
  try {
    config = loadConfig(argv, process.env);
  } catch (e) {
    if (e instanceof ConfigError) {
      process.stderr.write(`ringstore-node: ${e.message}\nTry 'ringstore-node --help'.\n`);
      return 2;
    }
    throw e;
  }
  const log = createLogger({ level: config.logLevel, nodeId: config.id });
  let node;
  try {
    node = await startNode(config, log);
  } catch (e) {
    if (e instanceof ConfigError) {
      process.stderr.write(`ringstore-node: ${e.message}\n`);
      return 2;
    }
    log.fatal({ err: e }, 'node failed to start');
    return 1;
  }
  const running = node;
  await new Promise<void>((resolve) => {
    const onSignal = (signal: NodeJS.Signals): void => {
      log.info({ signal }, 'signal received');
      running.stop().then(resolve, (e: unknown) => {
        log.error({ err: e }, 'unclean shutdown');
        resolve();
      });
    };
    process.once('SIGTERM', onSignal);
    process.once('SIGINT', onSignal);
    // Certificates and token files are re-read without a restart (rotation).
    process.on('SIGHUP', () => {
      log.info({ signal: 'SIGHUP' }, 'signal received: re-reading certificates and tokens');
      running.reload();
    });
    // A node that has left the cluster stops serving and exits 0; its data directory is kept.
    void running.retired.then(() => {
      log.info('left the cluster: stopping');
      running.stop().then(resolve, (e: unknown) => {
        log.error({ err: e }, 'unclean shutdown');
        resolve();
      });
    });
  });
  return 0;
}

/** Time pino gets to flush its last lines before the process exits. */
const logFlushMs = 200;

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
    // Let pino flush, then leave even if a stray handle (a peer's half-open stream) lingers.
    setTimeout(() => process.exit(code), logFlushMs).unref();
  },
  (e: unknown) => {
    process.stderr.write(
      `ringstore-node: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`,
    );
    process.exit(1);
  },
);
