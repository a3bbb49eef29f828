import { describe, expect, it } from 'vitest';
import * as publicApi from './index.js';
import { describeEngineContract } from './test-support/engine-contract.js';
import { memoryHarness } from './test-support/memory-harness.js';

describeEngineContract(memoryHarness());

describe('memory engine', () => {
  it('keeps its corruption hooks out of the public API', () => {
    expect(Object.keys(publicApi).sort()).toEqual([
      'StorageError',
      'backupPagesPerStepDefault',
      'backupPagesPerStepMax',
      'checkpointDefaults',
      'databaseFileName',
      'hintsPerCallMax',
      'keyBytesMax',
      'nodeIdMetaName',
      'openMemoryEngine',
      'openSqliteEngine',
      'pageRowsMax',
      'restoreDatabase',
      'restoredMetaName',
      'restoredPending',
    ]);
  });
});
