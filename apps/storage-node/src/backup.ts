// Cluster.Backup: an online, consistent snapshot of this node's database, streamed to the caller
// (`ringctl backup`). SQLite's online backup API copies the database on the engine's own
// connection a few pages per event-loop turn (writes committed meanwhile are in the copy), into a
// temporary file beside the database; the file is then streamed in chunks with backpressure and
// removed, whatever happens. One backup at a time per node. Restoring is `ringctl restore`.
import { createHash, randomBytes } from 'node:crypto';
import { createReadStream, rmSync } from 'node:fs';
import { dirname, join } from 'node:path';
import type { BackupChunk, BackupManifest } from '@ringstore/proto';
import {
  backupPagesPerStepDefault,
  backupPagesPerStepMax,
  type SqliteStorageEngine,
} from '@ringstore/storage';
import { refused } from './errors.js';

/** Bytes of the database file per BackupChunk (well under the 4 MiB gRPC message default). */
export const backupChunkBytes = 256 * 1024;
/** Prefix of the temporary copies in the data directory (a crash may leave one: removed at start). */
export const backupTempPrefix = 'backup-in-progress-';

export interface BackupSource {
  readonly storage: Pick<SqliteStorageEngine, 'backup' | 'countObjects' | 'path'>;
  readonly nodeId: string;
  readonly actor: string;
  /** The ring this node holds now. */
  readonly ring: () => { readonly term: number; readonly version: number };
}

/** Where the backup's chunks go: resolves once the chunk may be followed by the next. */
export type ChunkSink = (chunk: BackupChunk) => Promise<void>;

export class Backups {
  private running = false;

  constructor(private readonly source: BackupSource) {}

  /**
   * Takes the snapshot and sends it: the manifest, the file's bytes in order, its SHA-256.
   * `cancelled` is asked between chunks (the caller went away). INVALID_ARGUMENT for a step
   * outside 1..backupPagesPerStepMax (0: the default), FAILED_PRECONDITION while one runs.
   */
  async send(pagesPerStep: number, sink: ChunkSink, cancelled: () => boolean): Promise<void> {
    if (!Number.isInteger(pagesPerStep) || pagesPerStep < 0 || pagesPerStep > backupPagesPerStepMax)
      throw refused(
        'invalid-argument',
        `pages_per_step must be in 0..${backupPagesPerStepMax} (0: ${backupPagesPerStepDefault}), got ${pagesPerStep}`,
      );
    if (this.running)
      throw refused('failed-precondition', `a backup of ${this.source.nodeId} is running already`);
    this.running = true;
    const { storage } = this.source;
    const file = join(
      dirname(storage.path),
      `${backupTempPrefix}${randomBytes(6).toString('hex')}.db`,
    );
    try {
      const { bytes } = await storage.backup(file, {
        pagesPerStep: pagesPerStep === 0 ? backupPagesPerStepDefault : pagesPerStep,
      });
      // Same turn as the backup's last step: no commit in between, so this is the copy's count.
      const objects = storage.countObjects();
      const ring = this.source.ring();
      const manifest: BackupManifest = {
        nodeId: this.source.nodeId,
        actor: this.source.actor,
        ringTerm: BigInt(ring.term),
        ringVersion: BigInt(ring.version),
        createdAtMs: BigInt(Date.now()),
        databaseBytes: BigInt(bytes),
        objects: BigInt(objects),
      };
      await sink({ part: { $case: 'manifest', value: manifest } });
      const digest = createHash('sha256');
      const stream = createReadStream(file, { highWaterMark: backupChunkBytes });
      try {
        for await (const chunk of stream) {
          if (cancelled()) return;
          const data = chunk as Buffer;
          digest.update(data);
          await sink({ part: { $case: 'data', value: data } });
        }
      } finally {
        stream.destroy();
      }
      await sink({ part: { $case: 'sha256', value: digest.digest() } });
    } finally {
      rmSync(file, { force: true });
      this.running = false;
    }
  }
}
