import { assert } from './assert.js';
import { toBuffer } from './bytes.js';
import { Engine } from './engine.js';
import { MemoryBackend } from './memory-backend.js';
import { resolveEngineOptions } from './options.js';
import { schemaVersionCurrent, schemaVersionMetaName } from './schema.js';
import type { MemoryOptions, StorageEngine } from './types.js';

/** Backends of open memory engines, for the test hooks only (never exported from the package). */
const backends = new WeakMap<StorageEngine, MemoryBackend>();

/** An engine that keeps everything in memory (lost on close) with the SQLite engine's semantics. */
export function openMemoryEngine(options: MemoryOptions = {}): StorageEngine {
  const backend = new MemoryBackend();
  backend.writeMeta(schemaVersionMetaName, String(schemaVersionCurrent));
  const engine = new Engine(backend, resolveEngineOptions(options));
  backends.set(engine, backend);
  return engine;
}

function backendOf(engine: StorageEngine): MemoryBackend {
  const backend = backends.get(engine);
  assert(backend !== undefined, 'not an in-memory engine');
  return backend;
}

/** Test hook: damages a stored object so its checksum no longer matches. */
export function corruptMemoryObject(
  engine: StorageEngine,
  partition: number,
  key: Uint8Array,
): void {
  backendOf(engine).corruptObject(partition, toBuffer(key));
}

/** Test hook: damages a stored hint so its checksum no longer matches. */
export function corruptMemoryHint(engine: StorageEngine, id: number): void {
  backendOf(engine).corruptHint(id);
}
