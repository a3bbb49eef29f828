import { fstatSync } from 'node:fs';
import { format } from 'node:util';
import { setLogger } from '@grpc/grpc-js';
import { ConfigError, helpText, loadConfig, type NodeConfig } from './config.js';
import { createLogger, describeStartFailure, type Listeners, type Logger } from './logger.js';
import { startNode, type RunningNode } from './node.js';

/**
 * Time a node whose parent is gone (--exit-with-parent) gets beyond --shutdown-timeout-ms before it
 * exits anyway: closing storage and the servers after the in-flight requests are done.
 */
const parentGoneMarginMs = 5_000;

/** `ringstore-node`: exit 0 on a clean stop, 2 on bad flags or config, 1 on a failure to start. */
async function main(argv: string[]): Promise<number> {
  if (argv.includes('--help') || argv.includes('-h')) {
    process.stdout.write(helpText());
    return 0;
  }
  let config;
  try {
    config = loadConfig(argv, process.env);
    if (config.exitWithParent) checkStdinIsPipe();
  } catch (e) {
    if (e instanceof ConfigError) {
      process.stderr.write(`ringstore-node: ${e.message}\nTry 'ringstore-node --help'.\n`);
      return 2;
    }
    throw e;
  }
  const logFormat = config.logFormat === 'auto' ? {} : { pretty: config.logFormat === 'pretty' };
  const log = createLogger({ level: config.logLevel, nodeId: config.id, ...logFormat });
  routeGrpcLogs(log);
  const parentGone = new AbortController();
  if (config.exitWithParent) watchParent(config, log, parentGone);
  let node;
  try {
    node = await startNode(config, log);
  } catch (e) {
    return reportStartFailure(e, config, log);
  }
  logAddresses(config, node, log);
  await untilStopped(node, log, parentGone.signal);
  return 0;
}

/** The exit code of a failed start, after reporting it: one line for an operating error. */
function reportStartFailure(e: unknown, config: NodeConfig, log: Logger): number {
  if (e instanceof ConfigError) {
    process.stderr.write(`ringstore-node: ${e.message}\n`);
    return 2;
  }
  const failure = describeStartFailure(e, listenersOf(config));
  if (failure === undefined) log.fatal({ err: e }, 'node failed to start');
  else log.fatal({ code: failure.code }, failure.message);
  return 1;
}

function listenersOf(config: NodeConfig): Listeners {
  return { client: config.listen, peer: config.peerListen, admin: config.adminListen };
}

/** One line with every address of the node, the ports as bound (a configured :0 is resolved). */
function logAddresses(config: NodeConfig, node: RunningNode, log: Logger): void {
  const host = (address: string): string => address.slice(0, address.lastIndexOf(':'));
  const client = `${host(config.listen)}:${node.port}`;
  const peer = `${host(config.peerListen)}:${node.peerPort}`;
  const admin =
    config.adminListen === '' ? 'off' : `http://${host(config.adminListen)}:${node.adminPort}/`;
  log.info({ client, peer, admin }, `addresses: client ${client}, peer ${peer}, admin ${admin}`);
}

/**
 * grpc-js writes its own errors to stderr ("E No address added ..."); the ones that matter are
 * also returned to the node, which reports them (once, in its log format), so they go to debug.
 */
function routeGrpcLogs(log: Logger): void {
  const write = (...args: unknown[]): void => log.debug({ component: 'grpc-js' }, format(...args));
  setLogger({ error: write, info: write, debug: write });
}

/** --exit-with-parent on a terminal or /dev/null would stop at once or never: refused. */
function checkStdinIsPipe(): void {
  const stdin = fstatSync(0);
  if (stdin.isFIFO() || stdin.isSocket()) return;
  throw new ConfigError(
    '--exit-with-parent: stdin is not a pipe (the parent must hold the other end of a pipe on stdin)',
  );
}

/**
 * The parent holds the only write end of our stdin: EOF means it exited, however it died. Stop as
 * on SIGTERM, and exit anyway once the shutdown has had its time and a margin.
 */
function watchParent(config: NodeConfig, log: Logger, parentGone: AbortController): void {
  const onGone = (): void => {
    if (parentGone.signal.aborted) return;
    log.warn('parent process gone (stdin closed): stopping');
    parentGone.abort();
    setTimeout(() => {
      log.error({ code: 'shutdown-timeout' }, 'parent process gone: exiting without a clean stop');
      process.exit(1);
    }, config.shutdownTimeoutMs + parentGoneMarginMs).unref();
  };
  process.stdin.on('data', () => undefined);
  process.stdin.once('end', onGone);
  process.stdin.once('close', onGone);
  process.stdin.once('error', onGone);
  process.stdin.resume();
}

/** Runs until SIGTERM, SIGINT, the parent's exit or the node's retirement, then stops the node. */
async function untilStopped(
  running: RunningNode,
  log: Logger,
  parentGone: AbortSignal,
): Promise<void> {
  await new Promise<void>((resolve) => {
    const stop = (): void => {
      running.stop().then(resolve, (e: unknown) => {
        log.error({ err: e }, 'unclean shutdown');
        resolve();
      });
    };
    const onSignal = (signal: NodeJS.Signals): void => {
      log.info({ signal }, 'signal received');
      stop();
    };
    process.once('SIGTERM', onSignal);
    process.once('SIGINT', onSignal);
    // Certificates and token files are re-read without a restart (rotation).
    process.on('SIGHUP', () => {
      log.info({ signal: 'SIGHUP' }, 'signal received: re-reading certificates and tokens');
      running.reload();
    });
    if (parentGone.aborted) stop();
    else parentGone.addEventListener('abort', stop, { once: true });
    // A node that has left the cluster stops serving and exits 0; its data directory is kept.
    void running.retired.then(() => {
      log.info('left the cluster: stopping');
      stop();
    });
  });
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
