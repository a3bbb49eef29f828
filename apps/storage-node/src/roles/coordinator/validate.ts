import { DecodeError, decodeContext, type VersionVector } from '@ringstore/vclock';
import { invalidArgument } from '../../errors.js';
import { contextFingerprint } from '../../object.js';

export interface RequestLimits {
  readonly keyBytesMax: number;
  readonly valueBytesMax: number;
  readonly replicas: number;
}

export function validateKey(key: Uint8Array, limits: RequestLimits): void {
  if (key.length === 0)
    throw invalidArgument(`key is empty: keys are 1..${limits.keyBytesMax} bytes`);
  if (key.length > limits.keyBytesMax) {
    throw invalidArgument(
      `key is ${key.length} bytes: the limit is ${limits.keyBytesMax} bytes (key-bytes-max)`,
    );
  }
}

export function validateValue(value: Uint8Array, limits: RequestLimits): void {
  if (value.length > limits.valueBytesMax) {
    throw invalidArgument(
      `value is ${value.length} bytes: the limit is ${limits.valueBytesMax} bytes (value-bytes-max)`,
    );
  }
}

/** r or w of a request: 0 means the node's default; otherwise 1..N. */
export function quorumOf(
  name: 'r' | 'w',
  requested: number,
  fallback: number,
  limits: RequestLimits,
): number {
  if (requested === 0) return fallback;
  if (requested > limits.replicas) {
    throw invalidArgument(
      `${name}=${requested} is outside 1..N=${limits.replicas} (0 means the default, ${fallback})`,
    );
  }
  return requested;
}

/**
 * The context a client sent with `key`: empty (seen nothing), one a Get or Put of this key
 * returned, or a version 1 context from before contexts named their key (accepted). Anything
 * else, a context made for another key included, is INVALID_ARGUMENT before anything is written.
 */
export function parseContext(bytes: Uint8Array, key: Uint8Array): VersionVector {
  try {
    return decodeContext(bytes, contextFingerprint(key));
  } catch (e) {
    if (!(e instanceof DecodeError)) throw e;
    if (e.code === 'key-mismatch') {
      throw invalidArgument(
        'context was made for another key: pass back the context a Get or Put of this key returned, or none',
      );
    }
    throw invalidArgument(
      `context is malformed (${e.code}): pass back the context a Get or Put returned, or none`,
    );
  }
}
