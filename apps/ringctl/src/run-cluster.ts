// The `cluster` subcommands on the command line: arguments and flags, validated before any RPC.
import type { Command } from 'commander';
import type { Bind } from './cli-types.js';
import {
  cancelCommand,
  claimantCommand,
  clearCommand,
  commitCommand,
  limitsCommand,
  planCommand,
  stageCommand,
  statusCommand,
} from './cluster-commands.js';
import {
  joinChange,
  leaveChange,
  parseLimits,
  parseNodeId,
  parseWatchArgs,
  removeChange,
  replaceChange,
  watchIntervalMsDefault,
  watchTimeoutMsDefault,
} from './cluster-options.js';
import { transfersCommand } from './transfers.js';

const clusterHelp = `
Changes (join, leave, remove, replace) are only staged, at the claimant (ringctl finds it in the
ring --node holds); plan shows what they would move, commit applies them, clear drops them.
--json: uint64 values (versions, objects, bytes, times) are JSON numbers, or decimal strings when
above 2^53-1; an answer that is not whole (a member not answering) still prints, and exits 1.`;

export function addClusterCommands(program: Command, bind: Bind): void {
  const cluster = program
    .command('cluster')
    .description('membership: stage, plan and commit changes; status, transfers and their limits')
    .addHelpText('after', clusterHelp);
  addChangeCommands(cluster, bind);
  cluster
    .command('plan')
    .description(
      'show the staged transition: ring before and after, partitions and estimated objects and ' +
        'bytes moving per node, warnings',
    )
    .action(bind((context) => planCommand(context)));
  cluster
    .command('commit')
    .description(
      'apply the last plan (refused without one, or if the ring or the staged changes moved on)',
    )
    .action(bind((context) => commitCommand(context)));
  cluster
    .command('clear')
    .description('drop the staged changes')
    .action(bind((context) => clearCommand(context)));
  cluster
    .command('cancel')
    .description('drop the running transition before its flip: the ring stays as it was')
    .action(bind((context) => cancelCommand(context)));
  cluster
    .command('claimant')
    .description(
      'hand the claimant role to ID (no transition running); --force: make the node at --node, ' +
        'ID, claimant in a new term, only while it sees the old claimant down',
    )
    .argument('<id>', 'the node to become claimant')
    .option('--force', 'take the role over for a claimant that died (sent to --node, which is ID)')
    .action(
      bind((context, raw, [id]) =>
        claimantCommand(context, parseNodeId('the node id', id ?? ''), raw.force === true),
      ),
    );
  cluster
    .command('status')
    .description(
      'members and the ring version each applied, the claimant, staged changes, transfers',
    )
    .action(bind((context) => statusCommand(context)));
  addTransferCommands(cluster, bind);
}

function addChangeCommands(cluster: Command, bind: Bind): void {
  cluster
    .command('join')
    .description('stage adding a node started with --seeds')
    .argument('<ID=HOST:PORT>', "the new node's id and address")
    .option('--zone <zone>', 'the zone the node is in (replicas are spread over zones)')
    .action(
      bind((context, raw, [spec]) => stageCommand(context, joinChange(spec ?? '', raw.zone))),
    );
  cluster
    .command('leave')
    .description('stage retiring a live node: it hands its partitions over, then exits')
    .argument('<id>')
    .action(bind((context, _raw, [id]) => stageCommand(context, leaveChange(id ?? ''))));
  cluster
    .command('remove')
    .description('stage removing a dead node: its partitions are rebuilt from the live replicas')
    .argument('<id>')
    .action(bind((context, _raw, [id]) => stageCommand(context, removeChange(id ?? ''))));
  cluster
    .command('replace')
    .description("stage giving OLD's partitions to a new node, and only those")
    .argument('<old>', 'the node to replace')
    .argument('<ID=HOST:PORT>', "the new node's id and address")
    .option('--zone <zone>', 'the zone the new node is in')
    .option('--dead', 'OLD is gone: stream from the other replicas')
    .action(
      bind((context, raw, [old, spec]) =>
        stageCommand(context, replaceChange(old ?? '', spec ?? '', raw.zone, raw.dead === true)),
      ),
    );
}

function addTransferCommands(cluster: Command, bind: Bind): void {
  cluster
    .command('transfers')
    .description(
      'per inbound transfer (asked at every member): partition, from, to, state, objects ' +
        'and bytes done of total, rate, last progress, why stalled',
    )
    .option('--watch', 'look again every interval until no transfer is left (bars on a terminal)')
    .option('--interval-ms <ms>', `time between two looks (default: ${watchIntervalMsDefault})`)
    .option(
      '--timeout-ms <ms>',
      'give up (exit 1) when transfers are left after this long ' +
        `(default: ${watchTimeoutMsDefault})`,
    )
    .action(bind((context, raw) => transfersCommand(context, parseWatchArgs(raw))));
  cluster
    .command('limits')
    .description(
      'set the transfer limits on every member (flags not given stay); ' +
        "without flags show each member's",
    )
    .option('--concurrency <n>', 'transfers a node runs at once, in and out together')
    .option('--objects-per-second <n>', 'objects a node receives per second (0: unlimited)')
    .option('--bytes-per-second <n>', 'bytes a node receives per second (0: unlimited)')
    .action(bind((context, raw) => limitsCommand(context, parseLimits(raw))));
}
