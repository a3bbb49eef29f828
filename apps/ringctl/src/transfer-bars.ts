// `cluster transfers --watch` on a terminal: one progress bar per transfer a receiver reports
// (cli-progress MultiBar), under a summary line, redrawn after every look.
import type { TransferProgress } from '@ringstore/proto';
import { MultiBar, type SingleBar } from 'cli-progress';
import { formatTransferCounts, ringVersion } from './format-cluster.js';
import {
  formatFailures,
  formatProgress,
  knownTotals,
  type TransfersRound,
} from './format-transfers.js';
import { formatLastExchange } from './format-anti-entropy.js';
import type { TextSink } from './io.js';

/** How a watch shows each look; stop() is idempotent. */
export interface TransfersView {
  show(round: TransfersRound): void;
  /** A look that failed as a whole (--node did not answer). */
  problem(text: string): void;
  stop(): void;
}

/** Characters of the bar itself: room for the columns beside it on an 80-column terminal. */
const barSizeChars = 24;
/** Redraws per second between looks (cli-progress redraws only when a value changed). */
const barFps = 5;
/**
 * Bars drawn at most, and never more than the terminal has lines for: cli-progress redraws by
 * moving the cursor up, which cannot go above the top of the screen.
 */
const barsShownMax = 20;
/** Lines kept for the summary, the cursor line and the shell prompt. */
const terminalLinesReserved = 3;
/** Assumed terminal height when the stream does not say. */
const terminalLinesDefault = 24;
/** Which transfers get a bar first: those that need a look, then those moving data. */
const statePriority: readonly string[] = ['streaming', 'catch-up', 'pending', 'read-new', 'done'];

const barFormat =
  '{partition} {route} {state} [{bar}] {objects} objects {bytes} {rate} {last}{stalled}';

/** The values a transfer's bar shows (cli-progress payload). */
function payloadOf(p: TransferProgress, nowMs: number): Record<string, string> {
  const { objects, bytes } = formatProgress(p);
  return {
    partition: String(p.partition).padStart(5),
    route: `${p.from || '?'}->${p.to || '?'}`,
    state: p.state.padEnd(9),
    objects,
    bytes,
    rate: `${Math.round(p.objectsPerSecond)}/s`,
    last: formatLastExchange(p.lastProgressMs, nowMs),
    stalled: p.stalled ? ` stalled: ${p.stalled}` : '',
  };
}

/** Bar value and total: an empty partition that has been streamed shows as a full bar. */
function barValues(p: TransferProgress): { value: number; total: number } {
  const known = knownTotals(p).objects;
  if (known === 0n) return { value: 1, total: 1 };
  const done = Number(p.objectsDone);
  return { value: done, total: Math.max(Number(known ?? 0n), done, 1) };
}

type Row = TransfersRound['rows'][number];

function priorityOf(row: Row): number {
  if (row.progress?.stalled) return -1;
  const index = statePriority.indexOf(row.state);
  return index < 0 ? statePriority.length : index;
}

/** The reported transfers that get a bar: stalled first, then by state, at most `shownMax`. */
function barRows(rows: readonly Row[], shownMax: number): Row[] {
  return rows
    .filter((row) => row.progress !== undefined)
    .sort((a, b) => priorityOf(a) - priorityOf(b) || a.partition - b.partition)
    .slice(0, shownMax);
}

function summaryOf({ ring, rows, failures }: TransfersRound, shown: number): string {
  const reported = rows.filter((row) => row.progress !== undefined).length;
  const more =
    shown < reported ? `; bars for ${shown} of ${reported} (cluster transfers lists all)` : '';
  const unreachable =
    failures.length === 0 ? '' : `; not answering: ${failures.map((f) => f.node).join(', ')}`;
  return (
    `ring version ${ringVersion(ring)}: ${formatTransferCounts(ring.transfers)}` +
    `${more}${unreachable}`
  );
}

/**
 * Draws on `terminal` (stdout, a TTY). Members that fail are named in the summary line while the
 * bars are drawn (a line on stderr would tear them on the same screen), and on stderr at the end.
 */
export function startTransferBars(
  terminal: NodeJS.WritableStream & { readonly rows?: number },
  stderr: TextSink,
  nowMs: () => number,
): TransfersView {
  const lines = terminal.rows ?? terminalLinesDefault;
  const shownMax = Math.max(1, Math.min(barsShownMax, lines - terminalLinesReserved));
  const multi = new MultiBar({
    stream: terminal,
    format: barFormat,
    barsize: barSizeChars,
    fps: barFps,
    hideCursor: true,
    clearOnComplete: false,
    // No SIGINT handler of its own: Ctrl-C ends ringctl at once, as every other command.
    gracefulExit: false,
  });
  const summary = multi.create(0, 0, { text: '' }, { format: '{text}' });
  const bars = new Map<string, SingleBar>();
  let lastFailures = '';
  let stopped = false;
  const show = (round: TransfersRound): void => {
    const shown = barRows(round.rows, shownMax);
    summary.update(0, { text: summaryOf(round, shown.length) });
    const keys = new Set<string>();
    for (const { partition, to, progress } of shown) {
      if (progress === undefined) continue;
      const key = `${partition}/${to}`;
      keys.add(key);
      const { value, total } = barValues(progress);
      const bar = bars.get(key) ?? multi.create(total, 0);
      bars.set(key, bar);
      bar.setTotal(total);
      bar.update(value, payloadOf(progress, nowMs()));
    }
    for (const [key, bar] of bars) {
      if (keys.has(key)) continue;
      multi.remove(bar);
      bars.delete(key);
    }
    lastFailures = formatFailures(round.failures);
    multi.update();
  };
  return {
    show,
    problem: (text) => multi.log(`${text}\n`),
    stop: () => {
      if (stopped) return;
      stopped = true;
      multi.stop();
      stderr.write(lastFailures);
    },
  };
}
