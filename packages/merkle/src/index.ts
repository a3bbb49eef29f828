export type { TreeOptions } from './merkle-tree.js';
export {
  MerkleTree,
  childIndexes,
  fanoutMax,
  hashBytes,
  segmentsMax,
  treeOptionsDefault,
} from './merkle-tree.js';
export type { DiffResult } from './diff.js';
export { compareLevel, diff, diffWithStats } from './diff.js';
export type { MerkleWireError, MerkleWireErrorCode } from './wire.js';
export { checkLevelRequest, checkLevelResponse } from './wire.js';
export { Sha256, sha256, sha256Bytes } from './sha256.js';
