import { hash } from 'node:crypto';
import { MerkleTree, type Sha256Of } from '@ringstore/merkle';
import type { KeyDigest } from '@ringstore/proto';
import type { StorageEngine } from '@ringstore/storage';

/**
 * Rows read per scan page. A page is read and handled in one go (a few ms of SQLite reads and
 * hashing on a 2-core machine), then the scan gives the event loop a turn, so no scan of a large
 * partition holds requests up for longer than a page.
 */
export const scanPageRows = 500;
/** Pages read per scan at most (bounds a scan at 5 M rows). */
export const scanPagesMax = 10_000;

/** The digest of a stored object, the leaf input of the Merkle trees. */
export function digestOf(object: Uint8Array): Uint8Array {
  // Node's one-shot hash: no Hash object per write (measured 1.1 us against 1.5 us).
  return hash('sha256', object, 'buffer');
}

/**
 * The trees' SHA-256 from node:crypto (the merkle package's own is pure TypeScript): the same
 * hashes, so trees compare with any replica's, at a fraction of the CPU of a write's three
 * (segment, old entry, new entry).
 */
export const nodeSha256: Sha256Of = (parts) => hash('sha256', Buffer.concat(parts), 'buffer');

type Row = { readonly key: Uint8Array; readonly object: Uint8Array };

/** A turn of the event loop: timers, I/O and other requests run before the scan goes on. */
const nextTurn = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

/**
 * Every (key, object) of a partition in key order, a page at a time: `onPage` runs synchronously
 * with the rows just read (so no write lands between the read and its handling) and returns
 * false to stop; between pages the event loop turns. Resolves with the pages read.
 */
export async function scanPartitionPaced(
  storage: StorageEngine,
  partition: number,
  onPage: (rows: readonly Row[]) => boolean | void,
): Promise<number> {
  let afterKey: Uint8Array | undefined;
  for (let page = 0; page < scanPagesMax; page++) {
    if (page > 0) await nextTurn();
    const rows = storage.scan(partition, { afterKey, limit: scanPageRows });
    if (onPage(rows) === false || rows.length < scanPageRows) return page + 1;
    afterKey = rows[rows.length - 1]?.key;
  }
  return scanPagesMax;
}

/**
 * A tree being rebuilt from storage while writes go on. Rows are read in key order; a write to a
 * key at or before the cursor (the last key read) is applied to the new tree too, since the scan
 * has passed it; a write to a later key is not, since the scan will read it. This holds because a
 * write's report (trackWrites) runs in the microtasks right after its group commit, before the
 * event loop's next turn, which is where the scan reads its next page: no page can see a write
 * whose report has not run.
 */
interface Build {
  readonly tree: MerkleTree;
  count: number;
  cursor: Uint8Array | undefined;
  cancelled: boolean;
  done: Promise<MerkleTree | undefined>;
}

/**
 * One Merkle tree per partition this node replicates (DESIGN.md section 6), updated on every
 * write the node applies and rebuilt from storage at start or on demand.
 */
export class PartitionTrees {
  private readonly trees = new Map<number, MerkleTree>();
  private readonly keyCounts = new Map<number, number>();
  private readonly builds = new Map<number, Build>();

  private held: number[];

  constructor(
    private readonly storage: StorageEngine,
    partitions: readonly number[],
  ) {
    this.held = [...partitions];
  }

  /** The partitions this node stores (read or pending replica), ascending. */
  get partitions(): readonly number[] {
    return this.held;
  }

  /**
   * Follows a ring change: partitions newly held get a tree from what storage has (empty for a
   * partition just being received: streaming and writes fill it), dropped ones lose theirs.
   */
  follow(partitions: readonly number[]): void {
    const next = [...partitions].sort((a, b) => a - b);
    const keep = new Set(next);
    for (const p of this.held)
      if (!keep.has(p)) {
        this.trees.delete(p);
        this.keyCounts.delete(p);
        const build = this.builds.get(p);
        if (build !== undefined) build.cancelled = true;
        this.builds.delete(p);
      }
    const known = new Set(this.held);
    this.held = next;
    for (const p of next) if (!known.has(p)) void this.rebuild(p);
  }

  /**
   * The partition's tree; undefined when this node does not hold the partition, or while its
   * first build from storage runs (started here if none is).
   */
  tree(partition: number): MerkleTree | undefined {
    if (!this.partitions.includes(partition)) return undefined;
    const tree = this.trees.get(partition);
    if (tree === undefined) void this.rebuild(partition);
    return tree;
  }

  /** A build of the partition's tree is running. */
  building(partition: number): boolean {
    return this.builds.has(partition);
  }

  keys(partition: number): number {
    return this.keyCounts.get(partition) ?? 0;
  }

  /**
   * Reads the partition from storage into a fresh tree, a page per turn of the event loop, and
   * puts it in place of the old one (which writes keep up to date meanwhile). Joins a build
   * already running. Resolves with the new tree; undefined when the partition was dropped
   * meanwhile. Corrupt rows are hashed as stored: they differ from every good copy.
   */
  rebuild(partition: number): Promise<MerkleTree | undefined> {
    const running = this.builds.get(partition);
    if (running !== undefined) return running.done;
    const build: Build = {
      tree: MerkleTree.create(undefined, nodeSha256),
      count: 0,
      cursor: undefined,
      cancelled: false,
      done: Promise.resolve(undefined),
    };
    this.builds.set(partition, build);
    build.done = scanPartitionPaced(this.storage, partition, (rows) => {
      if (build.cancelled) return false;
      for (const row of rows) build.tree.update(row.key, undefined, digestOf(row.object));
      build.count += rows.length;
      build.cursor = rows[rows.length - 1]?.key ?? build.cursor;
      return true;
    }).then(
      () => {
        if (build.cancelled) return undefined;
        this.builds.delete(partition);
        this.trees.set(partition, build.tree);
        this.keyCounts.set(partition, build.count);
        return build.tree;
      },
      (e: unknown) => {
        this.builds.delete(partition);
        throw e;
      },
    );
    return build.done;
  }

  /** Builds every held partition's tree, one after another. */
  async rebuildAll(): Promise<void> {
    for (const p of this.partitions) await this.rebuild(p);
  }

  /** A write the node applied: previous and next are the stored bytes before and after (undefined: absent). */
  onWrite(
    partition: number,
    key: Uint8Array,
    previous: Uint8Array | undefined,
    next: Uint8Array | undefined,
  ): void {
    const tree = this.trees.get(partition);
    const build = this.builds.get(partition);
    // Before it: the build reads the key later, with this write in it.
    const scanned = build?.cursor !== undefined && Buffer.compare(key, build.cursor) <= 0;
    if (tree === undefined && !scanned) return; // not replicated here, or the build will read it
    const before = previous === undefined ? undefined : digestOf(previous);
    const after = next === undefined ? undefined : digestOf(next);
    const delta = (next === undefined ? 0 : 1) - (previous === undefined ? 0 : 1);
    if (tree !== undefined) {
      tree.update(key, before, after);
      this.keyCounts.set(partition, (this.keyCounts.get(partition) ?? 0) + delta);
    }
    if (scanned && build !== undefined) {
      build.tree.update(key, before, after);
      build.count += delta;
    }
  }

  /** The keys and digests of the given segments, from storage (one paced partition scan). */
  async segmentEntries(partition: number, segments: readonly number[]): Promise<KeyDigest[]> {
    const tree = this.tree(partition);
    if (tree === undefined) return [];
    const wanted = new Set(segments);
    const entries: KeyDigest[] = [];
    await scanPartitionPaced(this.storage, partition, (rows) => {
      for (const row of rows)
        if (wanted.has(tree.segmentOf(row.key)))
          entries.push({ key: Buffer.from(row.key), digest: Buffer.from(digestOf(row.object)) });
    });
    return entries;
  }
}
