import { assert } from './assert.js';
import {
  groupCommitCeiling,
  groupCommitMaxDefault,
  objectBytesCeiling,
  objectBytesMaxDefault,
  pendingWritesMaxDefault,
} from './limits.js';
import type {
  CommitListener,
  CorruptionListener,
  DiskFullListener,
  EngineOptions,
} from './types.js';

export interface ResolvedEngineOptions {
  groupCommitMax: number;
  pendingWritesMax: number;
  objectBytesMax: number;
  onCorruption: CorruptionListener | undefined;
  onDiskFull: DiskFullListener | undefined;
  onCommit: CommitListener | undefined;
}

/** Checks an integer option against its range; a bad value is a caller bug, so it asserts. */
export function integerOption(name: string, value: number, min: number, max: number): number {
  assert(
    Number.isSafeInteger(value) && value >= min && value <= max,
    `${name} must be an integer in ${min}..${max}, got ${value}`,
  );
  return value;
}

export function resolveEngineOptions(options: EngineOptions): ResolvedEngineOptions {
  return {
    groupCommitMax: integerOption(
      'groupCommitMax',
      options.groupCommitMax ?? groupCommitMaxDefault,
      1,
      groupCommitCeiling,
    ),
    pendingWritesMax: integerOption(
      'pendingWritesMax',
      options.pendingWritesMax ?? pendingWritesMaxDefault,
      1,
      Number.MAX_SAFE_INTEGER,
    ),
    objectBytesMax: integerOption(
      'objectBytesMax',
      options.objectBytesMax ?? objectBytesMaxDefault,
      1,
      objectBytesCeiling,
    ),
    onCorruption: options.onCorruption,
    onDiskFull: options.onDiskFull,
    onCommit: options.onCommit,
  };
}
