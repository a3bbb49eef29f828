export type { VersionVector } from './version-vector.js';
export type { DVVSet, Entry, ValueEquals } from './dvvset.js';
export { fresh, join, sameVersion, sync, update, values } from './dvvset.js';
export type { DecodeErrorCode } from './decode-error.js';
export { DecodeError } from './decode-error.js';
export type { DecodeLimits } from './decode-limits.js';
export type { StoredValue } from './stored-value.js';
export { decodeObject, encodeObject } from './object-codec.js';
export { decodeContext, encodeContext } from './context-codec.js';
