import { DecodeError } from './decode-error.js';
import { readUtf8, utf8Length, writeUtf8 } from './utf8.js';
import { type ByteReader, varintBytes, writeVarint } from './varint.js';
import { counterMax } from './version-vector.js';

/**
 * Pieces shared by the object and context encodings: the format version byte, counts checked
 * against limits and remaining input, and actor names (varint byte length, then UTF-8).
 */

/** Bytes an actor takes encoded. */
export function actorBytes(actor: string): number {
  const length = utf8Length(actor);
  return varintBytes(length) + length;
}

export function writeActor(out: Uint8Array, offset: number, actor: string): number {
  return writeUtf8(out, writeVarint(out, offset, utf8Length(actor)), actor);
}

export function readActor(reader: ByteReader, actorBytesMax: number): string {
  const length = reader.readVarint('actor length');
  if (length === 0) throw new DecodeError('malformed', `empty actor at byte ${reader.offsetBytes}`);
  if (length > actorBytesMax)
    throw new DecodeError('oversized', `actor of ${length} bytes, limit ${actorBytesMax}`);
  return readUtf8(reader.readView(length, 'actor'), 'actor');
}

export function readCounter(reader: ByteReader): number {
  const counter = reader.readVarint('counter');
  if (counter === 0)
    throw new DecodeError('malformed', `counter 0 at byte ${reader.offsetBytes - 1}`);
  return counter;
}

/**
 * Refuses a counter above counterMax: a clock that holds one cannot take another write under that
 * actor, so it is refused where it enters (from disk, a peer or a client) rather than stored.
 */
export function expectCounterInRange(counter: number, actor: string): void {
  if (counter > counterMax)
    throw new DecodeError(
      'malformed',
      `counter out of range: ${JSON.stringify(actor)} at ${counter}, at most ${counterMax}`,
    );
}

/**
 * Reads a count of items that take at least `itemBytesMin` bytes each, refusing it before any
 * item is read when it exceeds `countMax` or the remaining input cannot hold that many items.
 */
export function readCount(
  reader: ByteReader,
  countMax: number,
  itemBytesMin: number,
  what: string,
): number {
  const count = reader.readVarint(what);
  if (count > countMax) throw new DecodeError('oversized', `${what} ${count}, limit ${countMax}`);
  reader.expectBytes(count * itemBytesMin, what);
  return count;
}

/** Checks the whole input's size and its format version byte. */
export function readHeader(
  reader: ByteReader,
  inputBytesMax: number,
  formatVersion: number,
  what: string,
): void {
  const inputBytes = reader.remainingBytes;
  if (inputBytes > inputBytesMax)
    throw new DecodeError('oversized', `${what} of ${inputBytes} bytes, limit ${inputBytesMax}`);
  const version = reader.readByte('format version');
  if (version !== formatVersion) {
    throw new DecodeError(
      'unsupported-version',
      `${what} format version ${version}, this code reads ${formatVersion}`,
    );
  }
}

/** Refuses actors out of order or repeated: a clock or context has one canonical form. */
export function expectAfter(previous: string | undefined, actor: string): void {
  if (previous !== undefined && previous >= actor) {
    throw new DecodeError(
      'malformed',
      `actors not sorted or repeated: ${JSON.stringify(previous)} then ${JSON.stringify(actor)}`,
    );
  }
}
