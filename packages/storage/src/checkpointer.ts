// WAL checkpoints off the request path. With SQLite's autocheckpoint, the write that crosses
// 1,000 WAL pages copies them into the database file and syncs it, on the event loop, inside a
// request: a latency spike every few thousand writes, longer as the database outgrows the page
// cache. Here the engine's connection never checkpoints (wal_autocheckpoint = 0); a worker thread
// with its own connection runs PASSIVE checkpoints (they never wait for, or block, the writer)
// when writes have been committed, and a TRUNCATE checkpoint when the WAL has grown past its
// bound, so the WAL stays bounded even when readers keep a passive checkpoint from finishing.
import { createRequire } from 'node:module';
import { Worker } from 'node:worker_threads';

/** How the checkpointer runs. */
export interface CheckpointOptions {
  /** Time between checks for new commits to checkpoint. */
  readonly intervalMs: number;
  /** WAL size past which a TRUNCATE checkpoint (which waits for readers) resets it. */
  readonly walBytesMax: number;
  /** How long one checkpoint may take before the worker is considered stuck. */
  readonly timeoutMs: number;
}

export const checkpointDefaults: CheckpointOptions = {
  intervalMs: 500,
  walBytesMax: 256 * 1024 * 1024,
  timeoutMs: 60_000,
};

/** What the checkpointer has done, for stats and tests. */
export interface CheckpointStats {
  /** Checkpoints that ran to the end (PASSIVE may have left frames behind for readers). */
  readonly checkpoints: number;
  /** Of them, TRUNCATE checkpoints run because the WAL passed its bound. */
  readonly truncates: number;
  /** Checkpoints that failed (disk full, I/O); the next interval tries again. */
  readonly failures: number;
  /** WAL frames after the last checkpoint, and how many of them it copied. */
  readonly lastLogFrames: number;
  readonly lastCheckpointedFrames: number;
  /** The worker is gone (failed to start, crashed or stuck): SQLite's autocheckpoint is back on. */
  readonly fallenBack: boolean;
}

/** How long close waits for the worker's own close (its last checkpoint) before terminating it. */
const closeWaitMs = 5_000;

// The worker's code, evaluated (a file path would differ between sources and the built package).
const workerSource = `
const { parentPort, workerData } = require('node:worker_threads');
const Database = require(workerData.driver);
const db = new Database(workerData.path, { timeout: workerData.busyTimeoutMs });
db.pragma('wal_autocheckpoint = 0');
parentPort.on('message', (m) => {
  if (m.type === 'close') {
    db.close();
    parentPort.close();
    return;
  }
  try {
    const [r] = db.pragma('wal_checkpoint(' + m.mode + ')');
    parentPort.postMessage({ id: m.id, ok: true, busy: r.busy, log: r.log, checkpointed: r.checkpointed });
  } catch (e) {
    parentPort.postMessage({ id: m.id, ok: false, message: String(e && e.message).slice(0, 300) });
  }
});
`;

type Answer =
  | { id: number; ok: true; busy: number; log: number; checkpointed: number }
  | { id: number; ok: false; message: string };

/** Runs the checkpoints of one database file in a worker thread. */
export class Checkpointer {
  private readonly worker: Worker;
  private readonly timer: NodeJS.Timeout;
  private running: { id: number; timer: NodeJS.Timeout } | undefined;
  private nextId = 1;
  private commitsSeen = 0;
  private truncateNext = false;
  private closed = false;
  private stats: CheckpointStats = {
    checkpoints: 0,
    truncates: 0,
    failures: 0,
    lastLogFrames: 0,
    lastCheckpointedFrames: 0,
    fallenBack: false,
  };

  constructor(
    path: string,
    busyTimeoutMs: number,
    private readonly pageBytes: number,
    /** Commits the engine has made so far: no new commit, no checkpoint. */
    private readonly commits: () => number,
    /** The worker is gone: the engine turns SQLite's own autocheckpoint back on. */
    private readonly fallBack: (reason: string) => void,
    private readonly options: CheckpointOptions = checkpointDefaults,
  ) {
    const driver = createRequire(import.meta.url).resolve('better-sqlite3');
    this.worker = new Worker(workerSource, {
      eval: true,
      workerData: { driver, path, busyTimeoutMs },
    });
    this.worker.unref();
    this.worker.on('message', (answer: Answer) => this.answered(answer));
    this.worker.on('error', (e) => this.gone(`checkpoint worker failed: ${e.message}`));
    this.worker.on('exit', (code) => {
      if (!this.closed) this.gone(`checkpoint worker exited (${code})`);
    });
    this.timer = setInterval(() => this.tick(), options.intervalMs);
    this.timer.unref();
  }

  get current(): CheckpointStats {
    return this.stats;
  }

  /** Stops the worker (the engine's close then checkpoints what is left, as SQLite does). */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    clearInterval(this.timer);
    if (this.running !== undefined) clearTimeout(this.running.timer);
    // Held (ref) while it closes: an unref'd worker would let the process exit mid-close.
    this.worker.ref();
    this.worker.postMessage({ type: 'close' });
    const exited = new Promise<void>((resolve) => this.worker.once('exit', () => resolve()));
    let timer: NodeJS.Timeout | undefined;
    const bound = new Promise<void>((resolve) => {
      timer = setTimeout(resolve, closeWaitMs);
    });
    await Promise.race([exited, bound]);
    clearTimeout(timer);
    await this.worker.terminate();
  }

  private tick(): void {
    if (this.closed || this.running !== undefined) return;
    const commits = this.commits();
    if (commits === this.commitsSeen && !this.truncateNext) return;
    this.commitsSeen = commits;
    const mode = this.truncateNext ? 'TRUNCATE' : 'PASSIVE';
    const id = this.nextId++;
    const timer = setTimeout(
      () => this.gone(`a checkpoint took over ${this.options.timeoutMs} ms`),
      this.options.timeoutMs,
    );
    timer.unref();
    this.running = { id, timer };
    this.worker.postMessage({ type: 'checkpoint', id, mode });
  }

  private answered(answer: Answer): void {
    if (this.running?.id !== answer.id) return;
    clearTimeout(this.running.timer);
    this.running = undefined;
    if (!answer.ok) {
      this.stats = { ...this.stats, failures: this.stats.failures + 1 };
      return;
    }
    const truncated = this.truncateNext;
    this.truncateNext = answer.log * this.pageBytes > this.options.walBytesMax;
    this.stats = {
      ...this.stats,
      checkpoints: this.stats.checkpoints + 1,
      truncates: this.stats.truncates + (truncated ? 1 : 0),
      lastLogFrames: answer.log,
      lastCheckpointedFrames: answer.checkpointed,
    };
  }

  private gone(reason: string): void {
    if (this.stats.fallenBack || this.closed) return;
    this.closed = true;
    clearInterval(this.timer);
    if (this.running !== undefined) clearTimeout(this.running.timer);
    this.stats = { ...this.stats, fallenBack: true };
    void this.worker.terminate();
    this.fallBack(reason);
  }
}
