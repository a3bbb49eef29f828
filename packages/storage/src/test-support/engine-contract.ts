import fc from 'fast-check';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import type { CorruptionEvent, EngineOptions, ReadResult, StorageEngine } from '../index.js';
import { StorageError } from '../index.js';
import { schemaVersionCurrent } from '../schema.js';

/** How the contract suite drives one kind of engine. */
export interface EngineHarness {
  name: string;
  /** A new, empty engine on every call. */
  open(options?: EngineOptions): StorageEngine;
  /** Damages a stored object's bytes behind the engine's back, leaving its checksum. */
  corruptObject(engine: StorageEngine, partition: number, key: Uint8Array): void;
  corruptHint(engine: StorageEngine, id: number): void;
  /** Closes the engine and opens the same store again; undefined for engines that keep nothing. */
  reopen: ((engine: StorageEngine, options?: EngineOptions) => Promise<StorageEngine>) | undefined;
  cleanup(): void;
}

export function bytes(text: string): Buffer {
  return Buffer.from(text, 'utf8');
}

/** A read as text, so results compare with toBe whatever Uint8Array subclass the engine returns. */
export function readText(result: ReadResult): string {
  return result.status === 'found'
    ? `found:${Buffer.from(result.object).toString()}`
    : result.status;
}

function hexKeys(rows: readonly { key: Uint8Array }[]): string[] {
  return rows.map((row) => Buffer.from(row.key).toString('hex'));
}

async function expectStorageError(
  promise: Promise<unknown>,
  code: StorageError['code'],
): Promise<void> {
  await expect(promise).rejects.toSatisfy(
    (error) => error instanceof StorageError && error.code === code,
  );
}

function expectThrowsStorageError(run: () => unknown, code: StorageError['code']): void {
  expect(run).toThrow(StorageError);
  try {
    run();
  } catch (error) {
    expect((error as StorageError).code).toBe(code);
  }
}

function put(engine: StorageEngine, partition: number, key: string, value: string) {
  return engine.update(partition, bytes(key), () => bytes(value));
}

export function describeEngineContract(harness: EngineHarness): void {
  describe(`${harness.name}: storage engine contract`, () => {
    const opened: StorageEngine[] = [];
    const open = (options?: EngineOptions): StorageEngine => {
      const engine = harness.open(options);
      opened.push(engine);
      return engine;
    };
    const reopen = async (engine: StorageEngine, options?: EngineOptions) => {
      const again = await harness.reopen!(engine, options);
      opened.push(again);
      return again;
    };
    afterEach(async () => {
      await Promise.allSettled(opened.splice(0).map((engine) => engine.close()));
    });
    afterAll(() => harness.cleanup());

    const context = { harness, open, reopen: harness.reopen === undefined ? undefined : reopen };
    describeObjects(context);
    describeRemoveAndLimits(context);
    describeScan(context);
    describeGroupCommit(context);
    describeGroupCommitLimits(context);
    describeHints(context);
    describeMeta(context);
    describeCorruption(context);
    describeHintCorruption(context);
    describeClose(context);
  });
}

interface ContractContext {
  harness: EngineHarness;
  open: (options?: EngineOptions) => StorageEngine;
  reopen: ((engine: StorageEngine, options?: EngineOptions) => Promise<StorageEngine>) | undefined;
}

function describeObjects({ open }: ContractContext): void {
  describe('objects', () => {
    it('reads a missing key as missing, and a written one as found', async () => {
      const engine = open();
      expect(readText(engine.get(1, bytes('k')))).toBe('missing');
      const result = await put(engine, 1, 'k', 'v1');
      expect(result.changed).toBe(true);
      expect(result.previous).toBeUndefined();
      expect(Buffer.from(result.next!).toString()).toBe('v1');
      expect(readText(engine.get(1, bytes('k')))).toBe('found:v1');
      expect(readText(engine.get(2, bytes('k')))).toBe('missing');
      expect(engine.countObjects()).toBe(1);
    });

    it('hands fn the current object and keeps it when fn returns undefined or the same bytes', async () => {
      const engine = open();
      await put(engine, 3, 'k', 'v1');
      const seen: string[] = [];
      const unchanged = await engine.update(3, bytes('k'), (current) => {
        seen.push(Buffer.from(current!).toString());
        return undefined;
      });
      expect(seen).toEqual(['v1']);
      expect(unchanged.changed).toBe(false);
      expect(Buffer.from(unchanged.next!).toString()).toBe('v1');
      const same = await engine.update(3, bytes('k'), (current) => Buffer.from(current!));
      expect(same.changed).toBe(false);
      const appended = await engine.update(3, bytes('k'), (current) =>
        bytes(`${Buffer.from(current!).toString()}+`),
      );
      expect(appended.changed).toBe(true);
      expect(Buffer.from(appended.previous!).toString()).toBe('v1');
      expect(readText(engine.get(3, bytes('k')))).toBe('found:v1+');
    });

    it('stores empty objects and keys, and keeps its own copy of the bytes', async () => {
      const engine = open();
      const value = bytes('abc');
      await engine.update(0, new Uint8Array(), () => new Uint8Array());
      await engine.update(0, bytes('k'), () => value);
      value[0] = 0x7a;
      expect(readText(engine.get(0, new Uint8Array()))).toBe('found:');
      const read = engine.get(0, bytes('k'));
      expect(readText(read)).toBe('found:abc');
      if (read.status === 'found') read.object[0] = 0x7a;
      expect(readText(engine.get(0, bytes('k')))).toBe('found:abc');
    });
  });
}

function describeRemoveAndLimits({ open }: ContractContext): void {
  describe('remove and limits', () => {
    it('removes a key, only when it still holds the expected object if one is given', async () => {
      const engine = open();
      await put(engine, 1, 'a', 'v1');
      await put(engine, 1, 'b', 'v1');
      expect(await engine.remove(1, bytes('missing'))).toBe(false);
      expect(await engine.remove(1, bytes('a'), bytes('other'))).toBe(false);
      expect(readText(engine.get(1, bytes('a')))).toBe('found:v1');
      expect(await engine.remove(1, bytes('a'), bytes('v1'))).toBe(true);
      expect(await engine.remove(1, bytes('b'))).toBe(true);
      expect(readText(engine.get(1, bytes('a')))).toBe('missing');
      expect(readText(engine.get(1, bytes('b')))).toBe('missing');
      expect(engine.countObjects()).toBe(0);
    });

    it('refuses an object larger than objectBytesMax and stores nothing', async () => {
      const engine = open({ objectBytesMax: 8 });
      await expectStorageError(
        engine.update(1, bytes('k'), () => new Uint8Array(9)),
        'object_too_large',
      );
      await engine.update(1, bytes('j'), () => new Uint8Array(8));
      expect(readText(engine.get(1, bytes('k')))).toBe('missing');
      expect(engine.get(1, bytes('j')).status).toBe('found');
    });

    it('asserts on programmer errors: bad partition, bad option', () => {
      const engine = open();
      expect(() => engine.get(-1, bytes('k'))).toThrow(/partition/);
      expect(() => engine.get(1.5, bytes('k'))).toThrow(/partition/);
      expect(() => engine.scan(1, { limit: 0 })).toThrow(/limit/);
      expect(() => open({ groupCommitMax: 0 })).toThrow(/groupCommitMax/);
    });
  });
}

function describeScan({ open }: ContractContext): void {
  describe('scan', () => {
    const keys = [[0x02], [0x01, 0x00], [], [0xff], [0x01], [0x00, 0xff, 0xff], [0x01, 0x00, 0x00]];
    const sortedHex = keys
      .map((key) => Buffer.from(key))
      .sort(Buffer.compare)
      .map((key) => key.toString('hex'));

    it('returns a partition in bytewise key order, paged with afterKey and limit', async () => {
      const engine = open();
      await Promise.all(keys.map((key) => engine.update(7, new Uint8Array(key), () => bytes('v'))));
      await put(engine, 6, 'other', 'v');
      await put(engine, 8, 'other', 'v');
      expect(hexKeys(engine.scan(7, { limit: 100 }))).toEqual(sortedHex);
      const first = engine.scan(7, { limit: 3 });
      expect(hexKeys(first)).toEqual(sortedHex.slice(0, 3));
      const second = engine.scan(7, { afterKey: first[2]!.key, limit: 3 });
      expect(hexKeys(second)).toEqual(sortedHex.slice(3, 6));
      const third = engine.scan(7, { afterKey: second[2]!.key, limit: 3 });
      expect(hexKeys(third)).toEqual(sortedHex.slice(6));
      expect(Buffer.from(third[0]!.object).toString()).toBe('v');
      expect(engine.scan(9, { limit: 10 })).toEqual([]);
    });

    it('pages through any set of keys exactly once, in order (property)', async () => {
      const engine = open();
      let partition = 0;
      await fc.assert(
        fc.asyncProperty(
          fc.uniqueArray(fc.uint8Array({ maxLength: 6 }), {
            maxLength: 40,
            selector: (key) => Buffer.from(key).toString('hex'),
          }),
          fc.integer({ min: 1, max: 7 }),
          async (keyList, limit) => {
            partition++;
            await Promise.all(keyList.map((key) => engine.update(partition, key, () => key)));
            const seen: string[] = [];
            let page = engine.scan(partition, { limit });
            for (let round = 0; page.length > 0 && round <= keyList.length; round++) {
              seen.push(...hexKeys(page));
              page = engine.scan(partition, { afterKey: page.at(-1)!.key, limit });
            }
            const expected = keyList.map((key) => Buffer.from(key)).sort(Buffer.compare);
            expect(seen).toEqual(expected.map((key) => key.toString('hex')));
          },
        ),
        { seed: 20240611, numRuns: 40 },
      );
    });
  });
}

function describeGroupCommit({ open }: ContractContext): void {
  describe('group commit', () => {
    it('commits writes issued in the same tick in one transaction', async () => {
      const engine = open();
      const before = engine.stats();
      const writes = Array.from({ length: 100 }, (_, i) => put(engine, i % 4, `k${i}`, `v${i}`));
      expect(readText(engine.get(0, bytes('k0')))).toBe('missing');
      await Promise.all(writes);
      const after = engine.stats();
      expect(after.commits - before.commits).toBe(1);
      expect(after.writes - before.writes).toBe(100);
      expect(readText(engine.get(3, bytes('k99')))).toBe('found:v99');
    });

    it('splits a long queue into transactions of groupCommitMax writes', async () => {
      const engine = open({ groupCommitMax: 10 });
      await Promise.all(Array.from({ length: 25 }, (_, i) => put(engine, 1, `k${i}`, 'v')));
      expect(engine.stats().commits).toBe(3);
      expect(engine.countObjects()).toBe(25);
    });

    it('lets fn see the writes made earlier in the same batch', async () => {
      const engine = open();
      const append = (suffix: string) =>
        engine.update(1, bytes('k'), (current) =>
          bytes(`${current === undefined ? '' : Buffer.from(current).toString()}${suffix}`),
        );
      const results = await Promise.all([
        append('a'),
        append('b'),
        append('c'),
        engine.remove(1, bytes('k'), bytes('abc')),
      ]);
      expect(results[3]).toBe(true);
      expect(readText(engine.get(1, bytes('k')))).toBe('missing');
      expect(engine.stats().commits).toBe(1);
    });
  });
}

function describeGroupCommitLimits({ open }: ContractContext): void {
  describe('group commit: failures and limits', () => {
    it('rejects only the write whose fn threw; the rest of the batch commits', async () => {
      const engine = open();
      const failure = new Error('fn failed');
      const results = await Promise.allSettled([
        put(engine, 1, 'a', 'v'),
        engine.update(1, bytes('b'), () => {
          throw failure;
        }),
        put(engine, 1, 'c', 'v'),
      ]);
      expect(results.map((result) => result.status)).toEqual([
        'fulfilled',
        'rejected',
        'fulfilled',
      ]);
      expect((results[1] as PromiseRejectedResult).reason).toBe(failure);
      expect(engine.scan(1, { limit: 10 }).map((row) => Buffer.from(row.key).toString())).toEqual([
        'a',
        'c',
      ]);
      expect(engine.stats().writes).toBe(2);
    });

    it("refuses writes beyond pendingWritesMax as 'overloaded'", async () => {
      const engine = open({ pendingWritesMax: 3 });
      const accepted = [put(engine, 1, 'a', 'v'), put(engine, 1, 'b', 'v'), engine.addHints([])];
      await expectStorageError(put(engine, 1, 'c', 'v'), 'overloaded');
      await Promise.all(accepted);
      await put(engine, 1, 'c', 'v');
      expect(engine.countObjects()).toBe(3);
    });
  });
}

function hint(target: string, createdAtMs: number, key = `k${createdAtMs}`) {
  return { target, partition: 5, key: bytes(key), object: bytes(`o${createdAtMs}`), createdAtMs };
}

function describeHints({ open }: ContractContext): void {
  describe('hints', () => {
    it('lists a target’s hints oldest first, deletes them by id, and counts them', async () => {
      const engine = open();
      await engine.addHints([hint('n2', 10), hint('n3', 11), hint('n2', 12)]);
      await engine.addHints([hint('n2', 13)]);
      const listed = engine.listHints('n2', 10);
      expect(listed.map((each) => each.createdAtMs)).toEqual([10, 12, 13]);
      expect(listed[0]).toMatchObject({ target: 'n2', partition: 5, createdAtMs: 10 });
      expect(Buffer.from(listed[0]!.key).toString()).toBe('k10');
      expect(Buffer.from(listed[0]!.object).toString()).toBe('o10');
      expect(engine.listHints('n2', 2).map((each) => each.createdAtMs)).toEqual([10, 12]);
      expect(engine.hintCounts()).toEqual(
        new Map([
          ['n2', 3],
          ['n3', 1],
        ]),
      );
      await engine.deleteHints([listed[0]!.id, listed[1]!.id]);
      expect(engine.listHints('n2', 10).map((each) => each.createdAtMs)).toEqual([13]);
      await engine.deleteHints(engine.listHints('n3', 10).map((each) => each.id));
      expect(engine.hintCounts()).toEqual(new Map([['n2', 1]]));
      expect(engine.listHints('nobody', 10)).toEqual([]);
    });

    it('counts the hints of a partition, whatever their target', async () => {
      const engine = open();
      await engine.addHints([hint('n2', 1), hint('n3', 2), { ...hint('n2', 3), partition: 6 }]);
      expect(engine.partitionHints(5)).toBe(2);
      expect(engine.partitionHints(6)).toBe(1);
      expect(engine.partitionHints(7)).toBe(0);
      await engine.deleteHints(engine.listHints('n3', 10).map((each) => each.id));
      expect(engine.partitionHints(5)).toBe(1);
    });

    it('drops hints older than a cutoff, and a target’s oldest beyond a count', async () => {
      const engine = open();
      await engine.addHints([
        hint('n2', 1),
        hint('n2', 2),
        hint('n3', 3),
        hint('n2', 4),
        hint('n2', 5),
      ]);
      expect(engine.dropHintsOlderThan(3)).toBe(2);
      expect(engine.hintCounts()).toEqual(
        new Map([
          ['n2', 2],
          ['n3', 1],
        ]),
      );
      expect(engine.dropHintsBeyond('n2', 1)).toBe(1);
      expect(engine.dropHintsBeyond('n2', 1)).toBe(0);
      expect(engine.dropHintsBeyond('n3', 0)).toBe(1);
      expect(engine.listHints('n2', 10).map((each) => each.createdAtMs)).toEqual([5]);
    });

    it('never reuses the id of a deleted hint', async () => {
      const engine = open();
      await engine.addHints([hint('n2', 1), hint('n2', 2)]);
      const [, newest] = engine.listHints('n2', 10);
      await engine.deleteHints([newest!.id]);
      await engine.addHints([hint('n2', 3)]);
      expect(engine.listHints('n2', 10).at(-1)!.id).toBeGreaterThan(newest!.id);
    });

    it('refuses a hint whose object is larger than objectBytesMax', async () => {
      const engine = open({ objectBytesMax: 4 });
      await expectStorageError(
        engine.addHints([hint('n2', 1), { ...hint('n2', 2), object: new Uint8Array(5) }]),
        'object_too_large',
      );
      expect(engine.hintCounts().size).toBe(0);
    });
  });
}

function describeMeta({ open }: ContractContext): void {
  describe('meta', () => {
    it('sets and reads names, and refuses the reserved storage. prefix', () => {
      const engine = open();
      expect(engine.getMeta('node_id')).toBeUndefined();
      engine.setMeta('node_id', 'n1');
      engine.setMeta('node_id', 'n2');
      expect(engine.getMeta('node_id')).toBe('n2');
      expect(engine.getMeta('storage.schema_version')).toBe(String(schemaVersionCurrent));
      expectThrowsStorageError(
        () => engine.setMeta('storage.schema_version', '9'),
        'reserved_meta_name',
      );
      expect(engine.getMeta('storage.schema_version')).toBe(String(schemaVersionCurrent));
    });
  });
}

function corruptionSetup(open: ContractContext['open']) {
  const events: CorruptionEvent[] = [];
  const engine = open({ onCorruption: (event) => events.push(event) });
  return { engine, events };
}

function describeCorruption({ harness, open }: ContractContext): void {
  describe('corruption', () => {
    it('never returns a damaged object: get says corrupt, counts and reports it', async () => {
      const { engine, events } = corruptionSetup(open);
      await put(engine, 4, 'k', 'value');
      harness.corruptObject(engine, 4, bytes('k'));
      const read = engine.get(4, bytes('k'));
      expect(read.status).toBe('corrupt');
      expect(engine.stats().corruptReads).toBe(1);
      expect(events).toHaveLength(1);
      expect(events[0]).toMatchObject({ source: 'object', partition: 4 });
      expect(Buffer.from(events[0]!.key).toString()).toBe('k');
      expect(events[0]!.reason).toMatch(/checksum/);
    });

    it('skips damaged rows in a scan but still fills the page', async () => {
      const { engine, events } = corruptionSetup(open);
      await Promise.all(['a', 'b', 'c', 'd', 'e'].map((key) => put(engine, 4, key, key)));
      harness.corruptObject(engine, 4, bytes('a'));
      harness.corruptObject(engine, 4, bytes('b'));
      const page = engine.scan(4, { limit: 2 });
      expect(page.map((row) => Buffer.from(row.key).toString())).toEqual(['c', 'd']);
      expect(engine.stats().corruptReads).toBe(2);
      expect(events.map((event) => Buffer.from(event.key).toString())).toEqual(['a', 'b']);
    });

    it('treats a damaged object as missing in update, so a write repairs it', async () => {
      const { engine } = corruptionSetup(open);
      await put(engine, 4, 'k', 'old');
      harness.corruptObject(engine, 4, bytes('k'));
      const seen: (Uint8Array | undefined)[] = [];
      const result = await engine.update(4, bytes('k'), (current) => {
        seen.push(current);
        return bytes('repaired');
      });
      expect(seen).toEqual([undefined]);
      expect(result.previous).toBeUndefined();
      expect(readText(engine.get(4, bytes('k')))).toBe('found:repaired');
    });
  });
}

function describeHintCorruption({ harness, open }: ContractContext): void {
  describe('corruption of hints and failed batches', () => {
    it('drops a damaged hint instead of listing it', async () => {
      const { engine, events } = corruptionSetup(open);
      await engine.addHints([hint('n2', 1), hint('n2', 2)]);
      harness.corruptHint(engine, engine.listHints('n2', 10)[0]!.id);
      expect(engine.listHints('n2', 10).map((each) => each.createdAtMs)).toEqual([2]);
      expect(events.map((event) => event.source)).toEqual(['hint']);
      expect(engine.stats().corruptReads).toBe(1);
      expect(engine.hintCounts()).toEqual(new Map([['n2', 1]]));
    });

    it('keeps nothing of a batch whose transaction failed (a listener broke its contract)', async () => {
      const engine = open({
        onCorruption: () => {
          throw new Error('listener threw');
        },
      });
      await put(engine, 4, 'k', 'v');
      harness.corruptObject(engine, 4, bytes('k'));
      const results = await Promise.allSettled([
        put(engine, 4, 'a', 'v'),
        put(engine, 4, 'k', 'v2'),
      ]);
      expect(results.map((result) => result.status)).toEqual(['rejected', 'rejected']);
      expect(readText(engine.get(4, bytes('a')))).toBe('missing');
    });
  });
}

function describeClose({ open, reopen }: ContractContext): void {
  describe('close', () => {
    it('commits queued writes, then refuses every call as closed', async () => {
      const engine = open();
      const queued = put(engine, 1, 'k', 'v');
      const closing = engine.close();
      await expectStorageError(put(engine, 1, 'j', 'v'), 'closed');
      await closing;
      await expect(queued).resolves.toMatchObject({ changed: true });
      expect(engine.close()).toBe(closing);
      expectThrowsStorageError(() => engine.get(1, bytes('k')), 'closed');
      expectThrowsStorageError(() => engine.scan(1, { limit: 1 }), 'closed');
      expectThrowsStorageError(() => engine.setMeta('x', 'y'), 'closed');
      expectThrowsStorageError(() => engine.listHints('n2', 1), 'closed');
      await expectStorageError(engine.remove(1, bytes('k')), 'closed');
      await expectStorageError(engine.addHints([]), 'closed');
      expect(engine.stats().writes).toBe(1);
    });

    if (reopen === undefined) return;
    it('keeps objects, hints and meta across close and reopen', async () => {
      const engine = open();
      const queued = [put(engine, 2, 'k', 'v'), engine.addHints([hint('n3', 7)])];
      engine.setMeta('node_id', 'n1');
      const again = await reopen(engine);
      await Promise.all(queued);
      expect(readText(again.get(2, bytes('k')))).toBe('found:v');
      expect(again.listHints('n3', 10).map((each) => each.createdAtMs)).toEqual([7]);
      expect(again.getMeta('node_id')).toBe('n1');
      await put(again, 2, 'j', 'w');
      expect(again.countObjects()).toBe(2);
    });
  });
}
