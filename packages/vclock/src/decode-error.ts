/**
 * Why bytes from disk or the wire were refused:
 * - truncated: the input ends before the structure it announces;
 * - oversized: a length, count or the whole input exceeds a DecodeLimits bound;
 * - malformed: the bytes are not the canonical encoding of a valid clock or context;
 * - unsupported-version: the format version byte is not one this code reads;
 * - key-mismatch: a context whose key fingerprint is not that of the key it came with (a context
 *   made for another key).
 */
export type DecodeErrorCode =
  'truncated' | 'oversized' | 'malformed' | 'unsupported-version' | 'key-mismatch';

/** The only error the decoders throw: an operating error with a stable code. */
export class DecodeError extends Error {
  override readonly name = 'DecodeError';
  readonly code: DecodeErrorCode;

  constructor(code: DecodeErrorCode, detail: string) {
    super(`${code}: ${detail}`);
    this.code = code;
  }
}

/**
 * An update refused because the actor's counter is at counterMax: the next dot cannot be named
 * (an operating error: the stored clock or the client's context came from a hostile or broken
 * peer). Nothing was changed.
 */
export class CounterRangeError extends Error {
  override readonly name = 'CounterRangeError';

  constructor(
    readonly actor: string,
    readonly counter: number,
  ) {
    super(`counter out of range: ${actor} is at ${counter}, the most a clock holds`);
  }
}
