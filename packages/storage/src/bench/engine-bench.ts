/**
 * Measures the SQLite engine alone: group-committed writes/s and random reads/s at 100-byte
 * values over 1 M keys, on a temporary database file.
 *
 *   npm run bench:engine -w @ringstore/storage -- [--keys 1000000] [--concurrency 1000]
 *     [--value-bytes 100] [--reads 1000000] [--updates 200000] [--synchronous normal|full]
 *     [--cache-mb 64,512]
 *
 * Each --cache-mb (SQLite's page cache, the node's --cache-mb) reopens the database and reads it
 * twice: uniformly, and with 90% of the reads on a hot tenth of the keys; CPU per read is printed
 * beside the rate, since on a shared machine the CPU time is the steadier of the two.
 */
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import { openSqliteEngine } from '../index.js';
import type { SqliteStorageEngine } from '../index.js';

interface BenchOptions {
  keys: number;
  concurrency: number;
  valueBytes: number;
  reads: number;
  updates: number;
  synchronous: 'normal' | 'full';
  cacheMb: readonly number[];
}

/** Partitions the keys spread over, as a node with Q = 256 would hold them. */
const partitionCount = 256;

function readOptions(): BenchOptions {
  const { values } = parseArgs({
    options: {
      keys: { type: 'string', default: '1000000' },
      concurrency: { type: 'string', default: '1000' },
      'value-bytes': { type: 'string', default: '100' },
      reads: { type: 'string', default: '1000000' },
      updates: { type: 'string', default: '200000' },
      synchronous: { type: 'string', default: 'normal' },
      'cache-mb': { type: 'string', default: '64' },
    },
  });
  const cacheMb = values['cache-mb'].split(',').map(Number);
  if (cacheMb.some((mb) => !Number.isInteger(mb) || mb < 1 || mb > 16_384))
    throw new Error(
      `--cache-mb: whole MiB from 1 to 16384, comma-separated: ${values['cache-mb']}`,
    );
  const synchronous = values.synchronous === 'full' ? 'full' : 'normal';
  return {
    keys: Number(values.keys),
    concurrency: Number(values.concurrency),
    valueBytes: Number(values['value-bytes']),
    reads: Number(values.reads),
    updates: Number(values.updates),
    synchronous,
    cacheMb,
  };
}

/** A 32-bit mixer (lowbias32): spreads key numbers so inserts land all over the B-tree, as hashed keys do. */
function mix32(value: number): number {
  let x = value >>> 0;
  x = Math.imul(x ^ (x >>> 16), 0x7feb352d) >>> 0;
  x = Math.imul(x ^ (x >>> 15), 0x846ca68b) >>> 0;
  return (x ^ (x >>> 16)) >>> 0;
}

function keyOf(index: number): { partition: number; key: Buffer } {
  const key = Buffer.alloc(16);
  key.writeUInt32BE(mix32(index), 0);
  key.writeUInt32BE(index, 4);
  key.writeUInt32BE(mix32(index ^ 0x5bd1e995), 8);
  key.writeUInt32BE(mix32(index + 1), 12);
  return { partition: mix32(index) % partitionCount, key };
}

/** A seeded xorshift32, so every run reads the same sequence of keys. */
function rngFrom(seed: number): () => number {
  let state = seed >>> 0 || 1;
  return () => {
    state ^= state << 13;
    state >>>= 0;
    state ^= state >>> 17;
    state ^= state << 5;
    state >>>= 0;
    return state;
  };
}

async function inWaves(
  count: number,
  concurrency: number,
  write: (index: number) => Promise<unknown>,
): Promise<number> {
  const started = performance.now();
  for (let first = 0; first < count; first += concurrency) {
    const wave: Promise<unknown>[] = [];
    for (let index = first; index < Math.min(count, first + concurrency); index++)
      wave.push(write(index));
    await Promise.all(wave);
  }
  return performance.now() - started;
}

function report(label: string, operations: number, elapsedMs: number, cpuUs?: number): void {
  const perSecond = Math.round(operations / (elapsedMs / 1000));
  const cpu = cpuUs === undefined ? '' : `, ${(cpuUs / operations).toFixed(2)} us CPU per op`;
  console.log(
    `${label.padEnd(44)} ${operations} ops in ${(elapsedMs / 1000).toFixed(2)} s = ${perSecond.toLocaleString('en-US')} ops/s${cpu}`,
  );
}

async function insertPhase(
  engine: SqliteStorageEngine,
  options: BenchOptions,
  value: Buffer,
): Promise<void> {
  const commitsBefore = engine.stats().commits;
  const elapsedMs = await inWaves(options.keys, options.concurrency, (index) => {
    const { partition, key } = keyOf(index);
    return engine.update(partition, key, () => value);
  });
  report(`insert (${options.concurrency} concurrent updates)`, options.keys, elapsedMs);
  console.log(`  commits: ${engine.stats().commits - commitsBefore}`);
}

async function updatePhase(engine: SqliteStorageEngine, options: BenchOptions): Promise<void> {
  const random = rngFrom(42);
  const elapsedMs = await inWaves(options.updates, options.concurrency, () => {
    const { partition, key } = keyOf(random() % options.keys);
    return engine.update(partition, key, (current) => {
      const next = Buffer.from(current ?? new Uint8Array(options.valueBytes));
      next[0] = (next[0]! + 1) & 0xff;
      return next;
    });
  });
  report(
    `read-modify-write of random keys (${options.concurrency} concurrent)`,
    options.updates,
    elapsedMs,
  );
}

function readPhase(
  engine: SqliteStorageEngine,
  options: BenchOptions,
  label = 'get of random existing keys',
  hot = false,
): void {
  const random = rngFrom(hot ? 11 : 7);
  // hot: 90% of the reads on the first tenth of the keys (a working set), the rest anywhere.
  const hotKeys = Math.max(1, Math.floor(options.keys / 10));
  const pick = (): number =>
    hot && random() % 10 !== 0 ? random() % hotKeys : random() % options.keys;
  const lookups = Array.from({ length: options.reads }, () => keyOf(pick()));
  let found = 0;
  const started = performance.now();
  const cpuBefore = process.cpuUsage();
  for (const { partition, key } of lookups)
    if (engine.get(partition, key).status === 'found') found++;
  const cpu = process.cpuUsage(cpuBefore);
  report(label, options.reads, performance.now() - started, cpu.user + cpu.system);
  if (found !== options.reads)
    throw new Error(`only ${found} of ${options.reads} reads found their key`);
}

async function main(): Promise<void> {
  const options = readOptions();
  const directory = mkdtempSync(join(tmpdir(), 'ringstore-engine-bench-'));
  const path = join(directory, 'bench.db');
  try {
    const open = (cacheMb: number): SqliteStorageEngine =>
      openSqliteEngine({
        path,
        synchronous: options.synchronous,
        cacheBytes: cacheMb * 1024 * 1024,
      });
    let engine = open(options.cacheMb[0] ?? 64);
    console.log(
      `SQLite engine, synchronous ${options.synchronous}, ${options.keys} keys of 16 bytes, ${options.valueBytes}-byte values, ${path}`,
    );
    await insertPhase(engine, options, Buffer.alloc(options.valueBytes, 0x61));
    for (const cacheMb of options.cacheMb) {
      await engine.close();
      engine = open(cacheMb);
      console.log(`  page cache ${cacheMb} MiB:`);
      readPhase(engine, options);
      readPhase(engine, options, 'get, 90% on a hot tenth of the keys', true);
    }
    await updatePhase(engine, options);
    console.log(
      `  objects: ${engine.countObjects()}, database file: ${(statSync(path).size / 2 ** 20).toFixed(0)} MiB`,
    );
    await engine.close();
  } finally {
    rmSync(directory, { recursive: true, force: true });
  }
}

await main();
