// The command line: flags and subcommands (commander), option validation, and the one place that
// turns errors into messages and exit codes. No process globals: everything comes through io.
import { Command, CommanderError } from 'commander';
import {
  aeStatusCommand,
  aeTriggerCommand,
  deleteCommand,
  getCommand,
  membersCommand,
  mgetCommand,
  putCommand,
  ringCommand,
  type CommonOptions,
} from './commands.js';
import type { Action, Bind, RawOptions } from './cli-types.js';
import { addCertsCommands } from './certs-commands.js';
import {
  addConnectionOptions,
  parseConnection,
  type Connection,
  type ConnectionRawOptions,
} from './connection-options.js';
import { addClusterCommands } from './run-cluster.js';
import { addExplainCommand } from './explain.js';
import {
  ClusterError,
  exitCode,
  exitCodeOfStatus,
  exitCodesHelp,
  InputError,
  RpcError,
  UsageError,
  type ErrorJson,
  type ExitCode,
} from './errors.js';
import type { RunIo } from './io.js';
import {
  aeTriggerDeadlineMsDefault,
  deadlineMsDefault,
  nodeAddressDefault,
  parseContext,
  parseDeadlineMs,
  parseNodeAddress,
  parsePartitions,
  parseQuorum,
  parseRouting,
  partitionMax,
  routingDefault,
} from './options.js';
import { connectKv } from './kv.js';
import { resolve } from 'node:path';
import { parseNodeId } from './cluster-options.js';
import { connectCluster } from './rpc.js';
import {
  backupCommand,
  backupDeadlineMsDefault,
  parsePagesPerStep,
  restoreCommand,
} from './backup.js';
import { HintedRpcError, withTlsHint } from './tls-hints.js';
import { readValue } from './value-source.js';

/** Runs ringctl with the given arguments (without "node ringctl") and returns the exit code. */
export async function run(argv: readonly string[], io: RunIo): Promise<number> {
  let code: number = exitCode.ok;
  const bind: Bind =
    (action, commandDeadlineMsDefault = deadlineMsDefault) =>
    async (...args) => {
      // commander calls actions with (...positionals, options, command).
      const command = args.at(-1) as Command;
      const positionals = args.slice(0, -2) as (string | undefined)[];
      const raw = command.optsWithGlobals<RawOptions & ConnectionRawOptions>();
      code = await withNode(
        io,
        commonOptions(raw, io, commandDeadlineMsDefault),
        await parseConnection(raw, io),
        raw,
        positionals,
        action,
      );
    };
  try {
    await buildProgram(io, bind).parseAsync(argv, { from: 'user' });
    return code;
  } catch (error) {
    return reportError(error, io, wantsJson(argv));
  }
}

/**
 * --json anywhere before a `--`: known even when commander refused the command line, so that a
 * usage error is JSON too.
 */
function wantsJson(argv: readonly string[]): boolean {
  const end = argv.indexOf('--');
  return (end < 0 ? argv : argv.slice(0, end)).includes('--json');
}

function buildProgram(io: RunIo, bind: Bind): Command {
  const program = new Command('ringctl')
    .description(
      'Read, write and inspect a Ringstore cluster, run its anti-entropy exchanges, and change ' +
        'its membership.',
    )
    .exitOverride()
    .configureOutput({
      writeOut: (text) => io.stdout.write(text),
      writeErr: (text) => io.stderr.write(text),
    })
    .showHelpAfterError('(run ringctl --help for usage)')
    .addHelpText('after', exitCodesHelp)
    .option(
      '--node <host:port>',
      'node that ring, members, ae and cluster ask (cluster changes go on to the claimant its ' +
        'ring names), and that get, put and delete fetch the ring from ' +
        `(default: $RINGSTORE_NODE, else ${nodeAddressDefault})`,
    )
    .option(
      '--deadline-ms <ms>',
      'deadline in milliseconds of each RPC; for get, put and delete of each operation with all its ' +
        `retries (default: ${deadlineMsDefault}; ae trigger: ${aeTriggerDeadlineMsDefault})`,
    )
    .option(
      '--routing <mode>',
      'how get, put and delete pick a node: zero-hop (straight to a replica of the key) or any-node ' +
        `(round-robin over the ring; a node without the key forwards it) (default: ${routingDefault})`,
    )
    .option('--json', 'print one JSON document instead of text')
    .option('--key-hex', 'keys are given as hex digits (two per byte) instead of UTF-8 text')
    .option(
      '--strict',
      "strict quorum: only the key's primary replicas count towards R and W, no fallbacks",
    );
  addConnectionOptions(program);
  addDataCommands(program, bind);
  program
    .command('ring')
    .description('show the partition ring: nodes and how many partitions each owns')
    .action(bind((context) => ringCommand(context)));
  program
    .command('members')
    .description('show cluster members: status, liveness, phi and heartbeat')
    .action(bind((context) => membersCommand(context)));
  addAeCommands(program, bind);
  addExplainCommand(program, bind);
  addClusterCommands(program, bind);
  addBackupCommands(program, bind);
  addCertsCommands(program, io);
  return program;
}

function addBackupCommands(program: Command, bind: Bind): void {
  program
    .command('backup')
    .description(
      'online, consistent snapshot of every member (one after another) into DIR: ID.db, ID.json ' +
        `(manifest), cluster.json; deadline per node ${backupDeadlineMsDefault} ms unless --deadline-ms`,
    )
    .requiredOption('--dir <dir>', 'an empty (or new) directory for the backup')
    .option(
      '--pages-per-step <n>',
      "database pages each node copies per step, 1-4096 (default: the node's, 64): fewer slow the backup and its requests less",
    )
    .action(
      bind(
        (context, raw) =>
          backupCommand(context, {
            dir: raw.dir ?? '',
            pagesPerStep: parsePagesPerStep(raw.pagesPerStep),
          }),
        backupDeadlineMsDefault,
      ),
    );
  program
    .command('restore')
    .description(
      "put a node's backup in place of its database (the node stopped; it takes a new actor at its " +
        'next start); for a whole cluster, restore every node, then start them all',
    )
    .requiredOption('--dir <dir>', 'the backup (what ringctl backup wrote)')
    .requiredOption('--id <id>', 'the node to restore (DIR/ID.db)')
    .requiredOption('--data <dir>', "the node's data directory (its --data)")
    .option('--force', 'replace a database the directory holds (kept beside it, renamed)')
    .action(
      bind((context, raw) =>
        restoreCommand(context.io, {
          dir: resolve(raw.dir ?? ''),
          nodeId: parseNodeId('--id', raw.id ?? ''),
          data: resolve(raw.data ?? ''),
          force: raw.force === true,
          json: context.options.json,
        }),
      ),
    );
}

function addDataCommands(program: Command, bind: Bind): void {
  program
    .command('get')
    .description('read a key: every sibling (deleted ones marked) and the context, in base64')
    .argument('<key>')
    .option('--r <n>', 'replicas that must answer (default: the cluster default)')
    .action(
      bind((context, raw, [key]) => getCommand(context, key ?? '', quorumOrDefault('--r', raw.r))),
    );
  program
    .command('mget')
    .description(
      'read many keys in few calls (BatchGet, grouped per node): each one as get shows it, "not found", or its error',
    )
    .argument('<keys...>')
    .option('--r <n>', 'replicas that must answer for each key (default: the cluster default)')
    .action(
      bind((context, raw, [keys]) =>
        mgetCommand(
          context,
          (keys as unknown as string[] | undefined) ?? [],
          quorumOrDefault('--r', raw.r),
        ),
      ),
    );
  program
    .command('put')
    .description('write a value, from the argument, --file, or stdin when neither is given')
    .argument('<key>')
    .argument('[value]')
    .option('--file <path>', 'read the value from this file (- for stdin)')
    .option('--value-hex', 'the value is hex digits (two per byte) instead of raw bytes')
    .option(
      '--context <base64>',
      'context of the read this write is based on (supersedes what it saw)',
    )
    .option('--w <n>', 'replicas that must acknowledge (default: the cluster default)')
    .action(
      bind(async (context, raw, [key, argument]) => {
        const w = quorumOrDefault('--w', raw.w);
        const writeContext =
          raw.context === undefined ? Buffer.alloc(0) : parseContext(raw.context);
        const value = await readValue(
          { argument, file: raw.file, hex: raw.valueHex === true },
          context.io,
        );
        return putCommand(context, { key: key ?? '', value, context: writeContext, w });
      }),
    );
  program
    .command('delete')
    .description('delete a key; without --context, reads it first and deletes what the read saw')
    .argument('<key>')
    .option('--context <base64>', 'context of the read this delete is based on')
    .option('--w <n>', 'replicas that must acknowledge (default: the cluster default)')
    .action(
      bind((context, raw, [key]) => {
        const w = quorumOrDefault('--w', raw.w);
        const deleteContext = raw.context === undefined ? undefined : parseContext(raw.context);
        return deleteCommand(context, { key: key ?? '', context: deleteContext, w });
      }),
    );
}

const aeJsonHelp = `
--json: uint64 counts (keys, exchanges, differences, repairs, reaped, bytes, lastExchangeMs) are JSON
numbers, or decimal strings when above 2^53-1; lastExchangeMs is null when there was no exchange yet.
ae status --json always lists every partition; its summary has partitions, exchanged,
neverExchanged, differences, repairs, intervalMs (null: the node does not report it) and
fullRoundMs (at intervalMs, else at the default 10000 ms; null: periodic exchanges are off).`;

function addAeCommands(program: Command, bind: Bind): void {
  const status = bind((context, raw) => aeStatusCommand(context, raw.all === true));
  const allHelp = 'also print the table of every partition (JSON always has it)';
  const ae = program
    .command('ae')
    .description(
      'anti-entropy: a summary of the exchanges (ae status, the default; --all adds every ' +
        'partition) or run exchanges now',
    )
    .option('--all', allHelp)
    .addHelpText('after', aeJsonHelp)
    // Bare `ae` is `ae status`; anything else that is not a subcommand gets a clear message.
    .allowExcessArguments(true)
    .action(async (...args: unknown[]) => {
      const [unknown] = (args.at(-1) as Command).args;
      if (unknown !== undefined)
        throw new UsageError(`unknown command 'ae ${unknown}' (ae takes status or trigger)`);
      await status(...args);
    });
  ae.command('status')
    .description(
      'partitions exchanged and never exchanged, differences, repairs, how long a full round ' +
        'takes; with --all per partition: keys, last exchange, peer, exchanges, differences, ' +
        'repairs, reaped tombstones, root',
    )
    .option('--all', allHelp)
    .action(status);
  ae.command('trigger')
    .description(
      `run exchanges now and wait for them (deadline ${aeTriggerDeadlineMsDefault} ms unless --deadline-ms); ` +
        'prints exchanges, differences, repairs, bytes transferred and tombstones reaped',
    )
    .option(
      '--partition <n>',
      `partition to exchange, 0-${partitionMax}; repeatable (default: every partition the node replicates)`,
      collect,
    )
    .option('--rebuild', "rebuild the partitions' Merkle trees from storage before exchanging")
    .action(
      bind(
        (context, raw) =>
          aeTriggerCommand(context, {
            partitions: parsePartitions(raw.partition ?? []),
            rebuild: raw.rebuild === true,
          }),
        aeTriggerDeadlineMsDefault,
      ),
    );
}

/** Commander argument parser of a repeatable flag: every value, in order. */
function collect(value: string, previous: string[] | undefined): string[] {
  return [...(previous ?? []), value];
}

/** 0 asks the node for its configured default. */
function quorumOrDefault(flag: string, text: string | undefined): number {
  return text === undefined ? 0 : parseQuorum(flag, text);
}

function commonOptions(
  raw: RawOptions,
  io: RunIo,
  commandDeadlineMsDefault: number,
): CommonOptions {
  const envNode = io.env?.['RINGSTORE_NODE'];
  const node =
    raw.node !== undefined
      ? parseNodeAddress('--node', raw.node)
      : envNode !== undefined && envNode !== ''
        ? parseNodeAddress('RINGSTORE_NODE', envNode)
        : nodeAddressDefault;
  return {
    node,
    deadlineMs:
      raw.deadlineMs === undefined ? commandDeadlineMsDefault : parseDeadlineMs(raw.deadlineMs),
    routing: raw.routing === undefined ? routingDefault : parseRouting(raw.routing),
    json: raw.json === true,
    keyHex: raw.keyHex === true,
    strict: raw.strict === true,
  };
}

async function withNode(
  io: RunIo,
  options: CommonOptions,
  connection: Connection,
  raw: RawOptions,
  positionals: readonly (string | undefined)[],
  action: Action,
): Promise<number> {
  const { node, deadlineMs, routing, strict } = options;
  // Neither connects before its first call, so a command uses only the one it needs.
  const cluster = connectCluster(node, deadlineMs, connection);
  const kv = connectKv({ seed: node, deadlineMs, routing, strictQuorum: strict, connection });
  try {
    const dial = (address: string) => connectCluster(address, deadlineMs, connection);
    return await action({ options, kv, cluster, dial, io }, raw, positionals);
  } catch (error) {
    throw withTlsHint(error, connection);
  } finally {
    kv.close();
    cluster.close();
  }
}

function reportError(error: unknown, io: RunIo, json: boolean): number {
  const report = errorReport(error);
  if (report === undefined) throw error;
  if (report.text !== undefined) io.stderr.write(report.text);
  if (json && report.json !== undefined)
    io.stdout.write(JSON.stringify({ error: report.json }) + '\n');
  return report.code;
}

interface ErrorReport {
  readonly code: ExitCode;
  /** For stderr; undefined: already printed (commander prints its own errors). */
  readonly text: string | undefined;
  /** For stdout with --json; undefined: no error (help or version shown). */
  readonly json: ErrorJson | undefined;
}

/** How an error is reported; undefined: not one ringctl reports (a bug: it crashes). */
function errorReport(error: unknown): ErrorReport | undefined {
  if (error instanceof CommanderError) {
    // commander has already printed the message (or the help) through io.
    if (['commander.helpDisplayed', 'commander.version'].includes(error.code))
      return { code: exitCode.ok, text: undefined, json: undefined };
    const message = error.message.replace(/^error: /, '');
    return { code: exitCode.usage, text: undefined, json: localJson('USAGE', message, 2) };
  }
  if (error instanceof UsageError) {
    const text = `error: ${error.message}\n(run ringctl --help for usage)\n`;
    return { code: exitCode.usage, text, json: localJson('USAGE', error.message, 2) };
  }
  if (error instanceof InputError || error instanceof ClusterError) {
    const kind = error instanceof InputError ? 'INPUT' : 'CLUSTER';
    const json = localJson(kind, error.message, exitCode.failure);
    return { code: exitCode.failure, text: `error: ${error.message}\n`, json };
  }
  if (error instanceof RpcError) {
    const code = exitCodeOfStatus(error.statusName);
    const json: ErrorJson = {
      code: error.statusName,
      message: error.details,
      exitCode: code,
      grpcCode: error.code,
      ...(error instanceof HintedRpcError ? { hint: error.hint } : {}),
    };
    return { code, text: `${error.message}\n`, json };
  }
  return undefined;
}

function localJson(code: string, message: string, exit: ExitCode): ErrorJson {
  return { code, message, exitCode: exit };
}
