// `cluster transfers [--watch]`: the ring from --node, then ListTransfers at every serving member
// in parallel, shown as one table (or JSON, or progress bars on a terminal), once or every
// interval until the ring lists no transfer or the timeout passes.
import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import { askMembers } from './cluster-commands.js';
import type { WatchArgs } from './cluster-options.js';
import type { CommandContext } from './commands.js';
import { exitCode, RpcError, type ExitCode } from './errors.js';
import {
  formatFailures,
  formatTransfersHuman,
  transferRows,
  transfersJson,
  type TransfersRound,
} from './format-transfers.js';
import { startTransferBars, type TransfersView } from './transfer-bars.js';

/** Throws RpcError when --node cannot give its ring; members that fail are in `failures`. */
async function lookOnce(context: CommandContext): Promise<TransfersRound> {
  const ring = await context.cluster.getRing();
  const { answers, failures } = await askMembers(context, ring, (member) => member.listTransfers());
  const reported = answers.flatMap(({ answer }) => answer.transfers);
  return { ring, rows: transferRows(ring, reported), failures };
}

const nowMsOf = (context: CommandContext): number => context.io.nowMs?.() ?? Date.now();

export async function transfersCommand(
  context: CommandContext,
  args: WatchArgs,
): Promise<ExitCode> {
  if (args.watch) return watchTransfers(context, args);
  const round = await lookOnce(context);
  textView(context).show(round);
  return round.failures.length === 0 ? exitCode.ok : exitCode.failure;
}

/** Off a terminal (or with --json): the whole table, or one JSON line, per look. */
function textView(context: CommandContext): TransfersView {
  const { io, options } = context;
  let looks = 0;
  return {
    show: ({ ring, rows, failures }) => {
      if (options.json) io.stdout.write(JSON.stringify(transfersJson(ring, rows, failures)) + '\n');
      else
        io.stdout.write(
          (looks > 0 ? '\n' : '') + formatTransfersHuman(ring, rows, nowMsOf(context)),
        );
      io.stderr.write(formatFailures(failures));
      looks += 1;
    },
    problem: (text) => io.stderr.write(`${text}\n`),
    stop: () => undefined,
  };
}

/**
 * Looks every interval until the ring lists no transfer (exit 0) or --timeout-ms passes (exit 1).
 * --node failing to answer is reported and tried again at the next look: the watch outlives a
 * restart of the node it asks, as a transition outlives one.
 */
async function watchTransfers(context: CommandContext, args: WatchArgs): Promise<ExitCode> {
  const { io, options } = context;
  const view =
    io.terminal !== undefined && !options.json
      ? startTransferBars(io.terminal, io.stderr, () => nowMsOf(context))
      : textView(context);
  const startMs = performance.now();
  try {
    for (;;) {
      const round = await lookOrReport(context, view);
      if (round !== undefined && round.ring.transfers.length === 0) {
        // The last JSON document says complete: true; people get one line instead of a table.
        if (options.json) view.show(round);
        view.stop();
        if (!options.json) io.stdout.write('no transfers: the transition is complete\n');
        return exitCode.ok;
      }
      if (round !== undefined) view.show(round);
      const leftMs = args.timeoutMs - (performance.now() - startMs);
      if (leftMs <= 0) {
        view.stop();
        const left = round === undefined ? '' : ` (${round.ring.transfers.length} transfers left)`;
        io.stderr.write(
          `error: the transition did not complete within --timeout-ms ${args.timeoutMs}${left}\n`,
        );
        return exitCode.failure;
      }
      await sleep(Math.min(args.intervalMs, leftMs));
    }
  } finally {
    view.stop();
  }
}

async function lookOrReport(
  context: CommandContext,
  view: TransfersView,
): Promise<TransfersRound | undefined> {
  try {
    return await lookOnce(context);
  } catch (error) {
    if (!(error instanceof RpcError)) throw error;
    view.problem(`${context.options.node}: ${error.message}`);
    return undefined;
  }
}
