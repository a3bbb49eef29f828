import type { DiskFullEvent } from '@ringstore/storage';
import type { Logger } from './logger.js';

/**
 * Least time between two "disk full" log lines. A full disk refuses every write: a line (or a
 * stack) per refusal would flood the log, and fill its disk too when it shares the data's.
 */
export const diskFullLogIntervalMs = 60_000;

/**
 * The storage engine's onDiskFull, rate limited: the first refusal is logged at once, later ones
 * at most once per interval, each line counting the writes refused since the line before (the
 * ones it stayed silent about included). Time is an argument, so tests need no clock.
 */
export class DiskFullLog {
  /** Writes refused since the last line, that line's own included once it is written. */
  private refusedWrites = 0;
  private loggedAtMs: number | undefined;

  constructor(
    private readonly log: Pick<Logger, 'error'>,
    private readonly intervalMs = diskFullLogIntervalMs,
  ) {}

  refused(event: DiskFullEvent, nowMs: number): void {
    this.refusedWrites += event.writes;
    if (this.loggedAtMs !== undefined && nowMs - this.loggedAtMs < this.intervalMs) return;
    this.log.error(
      {
        refusedWrites: this.refusedWrites,
        sinceLastLineMs: this.loggedAtMs === undefined ? undefined : nowMs - this.loggedAtMs,
        reason: event.reason,
      },
      `disk full: writes refused, nothing of them stored; reads still served. Free space in the data directory: writes resume by themselves (logged at most every ${this.intervalMs / 1000} s)`,
    );
    this.loggedAtMs = nowMs;
    this.refusedWrites = 0;
  }
}
