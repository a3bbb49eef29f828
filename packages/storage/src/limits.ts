/** Named limits of the storage engines (STYLE.md rule 7). */

/** Default writes per group-commit transaction: large enough to amortise the fsync, small enough that one commit stays in the low milliseconds. */
export const groupCommitMaxDefault = 1024;

/** Hard ceiling for groupCommitMax: a transaction holds the write lock and blocks reads on the event loop while it runs. */
export const groupCommitCeiling = 65_536;

/** Default bound on writes queued for the next commit; beyond it writes are refused ('overloaded') instead of growing memory. */
export const pendingWritesMaxDefault = 100_000;

/** Default largest stored object: a DVVSet holds several siblings of up to 4 MiB each (DESIGN.md section 2). */
export const objectBytesMaxDefault = 64 * 1024 * 1024;

/** Hard ceiling for objectBytesMax: SQLite's default SQLITE_MAX_LENGTH is 1e9 bytes per value, and a row holds the key too. */
export const objectBytesCeiling = 512 * 1024 * 1024;

/** Largest key the engine accepts: well above the configurable 1 KiB key limit, so reaching it is a caller bug. */
export const keyBytesMax = 64 * 1024;

/** Largest partition number: partitions are written as 32-bit unsigned integers into the checksum. */
export const partitionMax = 0xffff_ffff;

/** Largest page a scan or hint listing returns in one call: callers page, they never read a partition at once. */
export const pageRowsMax = 100_000;

/** Most hints one addHints or deleteHints call may carry: hints travel in batches, not in bulk. */
export const hintsPerCallMax = 65_536;

/** Longest meta value in characters: meta holds ids and the ring document, never bulk data. */
export const metaValueCharsMax = 16 * 1024 * 1024;

/** Reserved meta-name prefix for the engine's own rows (schema version); callers may read but not write them. */
export const reservedMetaPrefix = 'storage.';

/** Longest meta name in characters: names are short identifiers chosen in code. */
export const metaNameCharsMax = 256;

/** Longest hint target (a node id) in characters. */
export const hintTargetCharsMax = 1024;

/**
 * A scan refills its page after skipping corrupt rows at most this many times, examining at most
 * `limit` rows per refill: a page comes back short (even empty) only when a partition holds more
 * than limit * scanRefillsMax corrupt rows in a row, and then the corruption has been reported.
 */
export const scanRefillsMax = 64;

/** Default time a SQLite statement waits for another connection's lock. */
export const busyTimeoutMsDefault = 5_000;

/** Longest busy timeout accepted: a write that waits longer is stuck, not slow. */
export const busyTimeoutMsMax = 600_000;

/** Default SQLite page cache per connection. */
export const cacheBytesDefault = 64 * 1024 * 1024;

/** Largest SQLite page cache accepted per connection. */
export const cacheBytesMax = 16 * 1024 * 1024 * 1024;

/** WAL pages written before SQLite checkpoints into the database file (SQLite's default, set explicitly). */
export const walAutocheckpointPages = 1_000;

/** WAL file size kept after a checkpoint; a bigger WAL is truncated back to this. */
export const walBytesKept = 64 * 1024 * 1024;

/** Database pages an online backup step copies by default (4 KiB pages: 256 KiB per step). */
export const backupPagesPerStepDefault = 64;
/** Most pages per backup step: 16 MiB of 4 KiB pages, still a short step. */
export const backupPagesPerStepMax = 4_096;
