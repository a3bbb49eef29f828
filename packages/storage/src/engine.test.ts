import { describe, expect, it } from 'vitest';
import { Engine } from './engine.js';
import { StorageError } from './errors.js';
import { MemoryBackend } from './memory-backend.js';
import { resolveEngineOptions } from './options.js';
import { bytes, readText } from './test-support/engine-contract.js';
import type { DiskFullEvent } from './types.js';

/** A simulated disk: while `full`, every write transaction fails as SQLite's would, storing nothing. */
class FullDiskBackend extends MemoryBackend {
  full = false;

  override transaction(work: () => void): void {
    if (this.full)
      throw new StorageError('disk_full', 'disk full: simulated: database or disk is full');
    super.transaction(work);
  }
}

function openOnSimulatedDisk() {
  const backend = new FullDiskBackend();
  const events: DiskFullEvent[] = [];
  const engine = new Engine(
    backend,
    resolveEngineOptions({ onDiskFull: (event) => events.push(event) }),
  );
  return { backend, engine, events };
}

describe('engine on a simulated full disk', () => {
  it('reports each refused transaction once, counting its writes, and nothing else', async () => {
    const { backend, engine, events } = openOnSimulatedDisk();
    await engine.update(1, bytes('a'), () => bytes('v'));
    backend.full = true;
    const refused = await Promise.allSettled([
      engine.update(1, bytes('b'), () => bytes('v')),
      engine.remove(1, bytes('a')),
      engine.addHints([
        { target: 'n2', partition: 1, key: bytes('c'), object: bytes('v'), createdAtMs: 1 },
      ]),
    ]);
    expect(refused.map((r) => r.status)).toEqual(['rejected', 'rejected', 'rejected']);
    expect(() => engine.dropHintsOlderThan(10)).toThrow(/disk full/);
    expect(events.map((event) => event.writes)).toEqual([3, 1]);

    expect(readText(engine.get(1, bytes('a')))).toBe('found:v');
    expect(readText(engine.get(1, bytes('b')))).toBe('missing');
    backend.full = false;
    await engine.update(1, bytes('b'), () => bytes('v'));
    expect(readText(engine.get(1, bytes('b')))).toBe('found:v');
    expect(events).toHaveLength(2);
  });

  it('keeps a hint listing working when its corrupt hints cannot be dropped', async () => {
    const { backend, engine, events } = openOnSimulatedDisk();
    const hint = { target: 'n2', partition: 4, key: bytes('k'), createdAtMs: 1 };
    await engine.addHints([
      { ...hint, object: bytes('good') },
      { ...hint, object: bytes('bad') },
    ]);
    backend.corruptHint(engine.listHints('n2', 10)[1]!.id);
    backend.full = true;

    const objects = (limit: number) =>
      engine.listHints('n2', limit).map((h) => Buffer.from(h.object).toString());
    expect(objects(10)).toEqual(['good']);
    expect(events).toHaveLength(1);
    expect(engine.hintCounts()).toEqual(new Map([['n2', 2]]));

    // Reported again by the next read, and dropped once the disk has room.
    backend.full = false;
    expect(objects(10)).toEqual(['good']);
    expect(engine.hintCounts()).toEqual(new Map([['n2', 1]]));
    expect(engine.stats().corruptReads).toBe(2);
  });
});

describe('engine commit reports', () => {
  it('tells onCommit the size and duration of each committed transaction, and counts queued writes', async () => {
    const commits: [number, number][] = [];
    const engine = new Engine(
      new MemoryBackend(),
      resolveEngineOptions({
        onCommit: (writes, durationMs) => commits.push([writes, durationMs]),
      }),
    );
    const three = [1, 2, 3].map((i) => engine.update(1, bytes(`k${i}`), () => bytes('v')));
    expect(engine.stats().queuedWrites).toBe(3);
    await Promise.all(three);
    expect(engine.stats().queuedWrites).toBe(0);
    engine.setMeta('m', 'v');
    expect(commits.map(([writes]) => writes)).toEqual([3, 1]);
    for (const [, durationMs] of commits) expect(durationMs).toBeGreaterThanOrEqual(0);
  });

  it('does not call onCommit for a transaction refused by a full disk', async () => {
    const backend = new FullDiskBackend();
    let commits = 0;
    const engine = new Engine(backend, resolveEngineOptions({ onCommit: () => commits++ }));
    backend.full = true;
    await expect(engine.update(1, bytes('a'), () => bytes('v'))).rejects.toThrow(/disk full/);
    expect(commits).toBe(0);
    backend.full = false;
    await engine.update(1, bytes('a'), () => bytes('v'));
    expect(commits).toBe(1);
  });
});
