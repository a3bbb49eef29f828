import { openMemoryEngine } from '../index.js';
import { corruptMemoryHint, corruptMemoryObject } from '../memory-engine.js';
import type { EngineHarness } from './engine-contract.js';

export { corruptMemoryHint, corruptMemoryObject };

export function memoryHarness(): EngineHarness {
  return {
    name: 'memory',
    open: (options) => openMemoryEngine(options),
    corruptObject: corruptMemoryObject,
    corruptHint: corruptMemoryHint,
    reopen: undefined,
    cleanup: () => undefined,
  };
}
