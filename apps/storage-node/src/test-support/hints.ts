import { existsSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';

/**
 * Hints a node holds, read from its SQLite file with a second, read-only connection (WAL lets it
 * read while the node writes). Keyed by target node id.
 */
export function hintsHeld(dataDir: string): Map<string, number> {
  const path = join(dataDir, 'ringstore.db');
  const counts = new Map<string, number>();
  if (!existsSync(path)) return counts;
  const db = new Database(path, { readonly: true, fileMustExist: true, timeout: 5_000 });
  try {
    for (const row of db
      .prepare('SELECT target, COUNT(*) AS n FROM hints GROUP BY target')
      .all() as { target: string; n: number }[]) {
      counts.set(row.target, row.n);
    }
  } finally {
    db.close();
  }
  return counts;
}

/** Objects a node stores per partition, read the same way. */
export function objectsHeld(dataDir: string): Map<number, number> {
  const counts = new Map<number, number>();
  const db = new Database(join(dataDir, 'ringstore.db'), {
    readonly: true,
    fileMustExist: true,
    timeout: 5_000,
  });
  try {
    for (const row of db
      .prepare('SELECT partition, COUNT(*) AS n FROM objects GROUP BY partition')
      .all() as { partition: number; n: number }[]) {
      counts.set(row.partition, row.n);
    }
  } finally {
    db.close();
  }
  return counts;
}

export function totalHints(dataDirs: readonly string[], target?: string): number {
  let total = 0;
  for (const dir of dataDirs)
    for (const [t, n] of hintsHeld(dir)) if (target === undefined || t === target) total += n;
  return total;
}
