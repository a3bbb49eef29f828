import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, bench, describe } from 'vitest';
import { openMemoryEngine, openSqliteEngine } from './index.js';
import type { StorageEngine } from './index.js';

// Micro-benchmarks of one engine call; bench:engine (src/bench/engine-bench.ts) measures 1 M keys.
const keysCount = 10_000;
const batchSize = 100;
const value = Buffer.alloc(100, 0x61);
const keys = Array.from({ length: keysCount }, (_, i) => Buffer.from(`user:${i}`));
const directory = mkdtempSync(join(tmpdir(), 'ringstore-storage-bench-'));

async function filled(engine: StorageEngine): Promise<StorageEngine> {
  await Promise.all(keys.map((key, i) => engine.update(i % 256, key, () => value)));
  return engine;
}

const engines = {
  sqlite: await filled(openSqliteEngine({ path: join(directory, 'bench.db') })),
  memory: await filled(openMemoryEngine()),
};

afterAll(async () => {
  await Promise.all(Object.values(engines).map((engine) => engine.close()));
  rmSync(directory, { recursive: true, force: true });
});

for (const [name, engine] of Object.entries(engines)) {
  describe(`${name} engine`, () => {
    let next = 0;
    bench('get (hit, 100-byte value, checksum verified)', () => {
      const i = next++ % keysCount;
      if (engine.get(i % 256, keys[i]!).status !== 'found') throw new Error('missing key');
    });

    bench(`update x${batchSize} concurrent (one group commit)`, async () => {
      const first = next;
      next += batchSize;
      await Promise.all(
        Array.from({ length: batchSize }, (_, j) => {
          const i = (first + j) % keysCount;
          return engine.update(i % 256, keys[i]!, (current) => {
            const updated = Buffer.from(current ?? value);
            updated[0] = (updated[0]! + 1) & 0xff;
            return updated;
          });
        }),
      );
    });
  });
}
