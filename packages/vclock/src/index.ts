export type { VersionVector } from './version-vector.js';
export { vvDescends, vvEqual, vvMerge } from './version-vector.js';
export type { DVVSet, Entry, ValueEquals } from './dvvset.js';
export {
  descends,
  fresh,
  join,
  sameVersion,
  siblingCount,
  sync,
  update,
  values,
} from './dvvset.js';
export type { DecodeErrorCode } from './decode-error.js';
export { DecodeError } from './decode-error.js';
