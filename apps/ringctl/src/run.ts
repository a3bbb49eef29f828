// The command line: flags and subcommands (commander), option validation, and the one place that
// turns errors into messages and exit codes. No process globals: everything comes through io.
import { Command, CommanderError } from 'commander';
import {
  deleteCommand,
  getCommand,
  membersCommand,
  putCommand,
  ringCommand,
  type CommandContext,
  type CommonOptions,
} from './commands.js';
import { exitCode, InputError, RpcError, UsageError } from './errors.js';
import type { RunIo } from './io.js';
import {
  deadlineMsDefault,
  nodeAddressDefault,
  parseContext,
  parseDeadlineMs,
  parseNodeAddress,
  parseQuorum,
} from './options.js';
import { connectNode } from './rpc.js';
import { readValue } from './value-source.js';

/** Flags as commander hands them over, before validation. */
interface RawOptions {
  node?: string;
  deadlineMs: string;
  json?: boolean;
  keyHex?: boolean;
  strict?: boolean;
  valueHex?: boolean;
  r?: string;
  w?: string;
  context?: string;
  file?: string;
}

/** A command body: positional arguments as commander parsed them (optional ones may be missing). */
type Action = (context: CommandContext, raw: RawOptions, positionals: readonly (string | undefined)[]) => Promise<number>;
type Bind = (action: Action) => (...args: unknown[]) => Promise<void>;

/** Runs ringctl with the given arguments (without "node ringctl") and returns the exit code. */
export async function run(argv: readonly string[], io: RunIo): Promise<number> {
  let code: number = exitCode.ok;
  const bind: Bind =
    (action) =>
    async (...args) => {
      // commander calls actions with (...positionals, options, command).
      const command = args.at(-1) as Command;
      const positionals = args.slice(0, -2) as (string | undefined)[];
      code = await withNode(io, command.optsWithGlobals<RawOptions>(), positionals, action);
    };
  try {
    await buildProgram(io, bind).parseAsync(argv, { from: 'user' });
    return code;
  } catch (error) {
    return reportError(error, io);
  }
}

function buildProgram(io: RunIo, bind: Bind): Command {
  const program = new Command('ringctl')
    .description('Read, write and inspect a Ringstore cluster.')
    .exitOverride()
    .configureOutput({ writeOut: (text) => io.stdout.write(text), writeErr: (text) => io.stderr.write(text) })
    .showHelpAfterError('(run ringctl --help for usage)')
    .option('--node <host:port>', `node to contact (default: $RINGSTORE_NODE, else ${nodeAddressDefault})`)
    .option('--deadline-ms <ms>', 'deadline of every RPC in milliseconds', String(deadlineMsDefault))
    .option('--json', 'print one JSON document instead of text')
    .option('--key-hex', 'keys are given as hex digits (two per byte) instead of UTF-8 text')
    .option('--strict', 'strict quorum: only the key\'s primary replicas count towards R and W, no fallbacks');
  addDataCommands(program, bind);
  program
    .command('ring')
    .description('show the partition ring: nodes and how many partitions each owns')
    .action(bind((context) => ringCommand(context)));
  program
    .command('members')
    .description('show cluster members: status, liveness, phi and heartbeat')
    .action(bind((context) => membersCommand(context)));
  return program;
}

function addDataCommands(program: Command, bind: Bind): void {
  program
    .command('get')
    .description('read a key: every sibling (deleted ones marked) and the context, in base64')
    .argument('<key>')
    .option('--r <n>', 'replicas that must answer (default: the cluster default)')
    .action(bind((context, raw, [key]) => getCommand(context, key ?? '', quorumOrDefault('--r', raw.r))));
  program
    .command('put')
    .description('write a value, from the argument, --file, or stdin when neither is given')
    .argument('<key>')
    .argument('[value]')
    .option('--file <path>', 'read the value from this file (- for stdin)')
    .option('--value-hex', 'the value is hex digits (two per byte) instead of raw bytes')
    .option('--context <base64>', 'context of the read this write is based on (supersedes what it saw)')
    .option('--w <n>', 'replicas that must acknowledge (default: the cluster default)')
    .action(
      bind(async (context, raw, [key, argument]) => {
        const w = quorumOrDefault('--w', raw.w);
        const writeContext = raw.context === undefined ? Buffer.alloc(0) : parseContext(raw.context);
        const value = await readValue({ argument, file: raw.file, hex: raw.valueHex === true }, context.io);
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

/** 0 asks the node for its configured default. */
function quorumOrDefault(flag: string, text: string | undefined): number {
  return text === undefined ? 0 : parseQuorum(flag, text);
}

function commonOptions(raw: RawOptions, io: RunIo): CommonOptions {
  const envNode = io.env?.['RINGSTORE_NODE'];
  const node =
    raw.node !== undefined
      ? parseNodeAddress('--node', raw.node)
      : envNode !== undefined && envNode !== ''
        ? parseNodeAddress('RINGSTORE_NODE', envNode)
        : nodeAddressDefault;
  return {
    node,
    deadlineMs: parseDeadlineMs(raw.deadlineMs),
    json: raw.json === true,
    keyHex: raw.keyHex === true,
    strict: raw.strict === true,
  };
}

async function withNode(
  io: RunIo,
  raw: RawOptions,
  positionals: readonly (string | undefined)[],
  action: Action,
): Promise<number> {
  const options = commonOptions(raw, io);
  const api = connectNode(options.node, options.deadlineMs, options.strict);
  try {
    return await action({ options, api, io }, raw, positionals);
  } finally {
    api.close();
  }
}

function reportError(error: unknown, io: RunIo): number {
  if (error instanceof CommanderError) {
    // commander has already printed the message (or the help) through io.
    const informational = ['commander.helpDisplayed', 'commander.version'].includes(error.code);
    return informational ? exitCode.ok : exitCode.usage;
  }
  if (error instanceof UsageError) {
    io.stderr.write(`error: ${error.message}\n(run ringctl --help for usage)\n`);
    return exitCode.usage;
  }
  if (error instanceof InputError) {
    io.stderr.write(`error: ${error.message}\n`);
    return exitCode.failure;
  }
  if (error instanceof RpcError) {
    io.stderr.write(`${error.message}\n`);
    return exitCode.failure;
  }
  throw error;
}
