// `cluster transfers --watch` on a terminal: one progress bar per transfer a receiver reports
// (cli-progress MultiBar), under a summary line, redrawn after every look.
import { MultiBar, type SingleBar } from 'cli-progress';
import { formatTransferCounts, ringVersion } from './format-cluster.js';
import { formatDoneOfTotal, formatFailures, type TransfersRound } from './format-transfers.js';
import { formatLastExchange } from './format-anti-entropy.js';
import { formatBytes } from './format-units.js';
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

const barFormat =
  '{partition} {route} {state} [{bar}] {objects} objects {bytes} {rate} {last}{stalled}';

/** The values a transfer's bar shows (cli-progress payload). */
function payloadOf(row: TransfersRound['rows'][number], nowMs: number): Record<string, string> {
  const p = row.progress;
  return {
    partition: String(row.partition).padStart(5),
    route: `${p?.from || '?'}->${row.to || '?'}`,
    state: row.state.padEnd(9),
    objects:
      p === undefined ? '-' : formatDoneOfTotal(p.objectsDone.toString(), p.objectsTotal, String),
    bytes:
      p === undefined
        ? '-'
        : formatDoneOfTotal(formatBytes(p.bytesDone), p.bytesTotal, formatBytes),
    rate: `${Math.round(p?.objectsPerSecond ?? 0)}/s`,
    last: p === undefined ? '' : formatLastExchange(p.lastProgressMs, nowMs),
    stalled: p?.stalled ? ` stalled: ${p.stalled}` : '',
  };
}

function summaryOf({ ring, failures }: TransfersRound): string {
  const unreachable =
    failures.length === 0 ? '' : `; not answering: ${failures.map((f) => f.node).join(', ')}`;
  return `ring version ${ringVersion(ring)}: ${formatTransferCounts(ring.transfers)}${unreachable}`;
}

/**
 * Draws on `terminal` (stdout, a TTY). Members that fail are named in the summary line while the
 * bars are drawn (a line on stderr would tear them on the same screen), and on stderr at the end.
 */
export function startTransferBars(
  terminal: NodeJS.WritableStream,
  stderr: TextSink,
  nowMs: () => number,
): TransfersView {
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
    summary.update(0, { text: summaryOf(round) });
    const keys = new Set<string>();
    for (const row of round.rows) {
      if (row.progress === undefined) continue;
      const key = `${row.partition}/${row.to}`;
      keys.add(key);
      const { objectsDone, objectsTotal } = row.progress;
      const total = Math.max(Number(objectsTotal), Number(objectsDone), 1);
      const bar = bars.get(key) ?? multi.create(total, 0);
      bars.set(key, bar);
      bar.setTotal(total);
      bar.update(Number(objectsDone), payloadOf(row, nowMs()));
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
