export type { Sha256Of, TreeOptions } from './merkle-tree.js';
export { MerkleTree, pureSha256 } from './merkle-tree.js';
export type {
  DescentEffect,
  DescentEvent,
  DescentOptions,
  DescentState,
  DescentStep,
} from './descent.js';
export { startDescent, stepDescent } from './descent.js';
export type { MerkleWireError, MerkleWireErrorCode } from './wire.js';
export { checkLevelRequest } from './wire.js';
