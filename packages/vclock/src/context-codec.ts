import {
  actorBytes,
  expectAfter,
  expectCounterInRange,
  readActor,
  readCount,
  readCounter,
  readHeader,
  writeActor,
} from './actor-codec.js';
import { assert } from './assert.js';
import { DecodeError } from './decode-error.js';
import { type DecodeLimits, assertDecodeLimits, decodeLimitsDefault } from './decode-limits.js';
import { ByteReader, varintBytes, writeVarint } from './varint.js';
import { type VersionVector, assertVersionVector } from './version-vector.js';

/**
 * The context handed to clients (the join of a clock), opaque to them, format version 1:
 *
 *   context := (nothing, for the empty context)
 *            | 0x01  varint(count > 0)  (varint(actor bytes) actor-utf8  varint(counter))*
 *
 * Actors sorted (JavaScript string order), varints in their shortest form: one encoding per context.
 */
export const contextFormatVersion = 1;

/** Smallest encoded pair: 1-byte actor length, 1-byte actor, counter. */
const pairBytesMin = 3;

export function encodeContext(vv: VersionVector): Uint8Array {
  assertVersionVector(vv);
  if (vv.length === 0) return new Uint8Array(0);
  let size = 1 + varintBytes(vv.length);
  for (const [actor, counter] of vv) size += actorBytes(actor) + varintBytes(counter);
  const out = new Uint8Array(size);
  out[0] = contextFormatVersion;
  let at = writeVarint(out, 1, vv.length);
  for (const [actor, counter] of vv) at = writeVarint(out, writeActor(out, at, actor), counter);
  assert(at === out.length, () => `encoded ${at} bytes of ${out.length} sized`);
  return out;
}

/**
 * Decodes a context a client sent back: no bytes is the empty context (a first write). Throws
 * DecodeError, and nothing else, for anything that is not a context this code encoded.
 */
export function decodeContext(
  bytes: Uint8Array,
  limits: DecodeLimits = decodeLimitsDefault,
): VersionVector {
  if (limits !== decodeLimitsDefault) assertDecodeLimits(limits);
  if (bytes.length === 0) return [];
  const reader = new ByteReader(bytes);
  readHeader(reader, limits.inputBytesMax, contextFormatVersion, 'context');
  const count = readCount(reader, limits.actorsMax, pairBytesMin, 'context pair count');
  if (count === 0) throw new DecodeError('malformed', 'an empty context is encoded as no bytes');
  const vv: (readonly [string, number])[] = [];
  let previous: string | undefined;
  for (let i = 0; i < count; i++) {
    const actor = readActor(reader, limits.actorBytesMax);
    expectAfter(previous, actor);
    previous = actor;
    const counter = readCounter(reader);
    expectCounterInRange(counter, actor);
    vv.push([actor, counter]);
  }
  reader.expectEnd('context');
  return vv;
}
