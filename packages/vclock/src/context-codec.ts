import {
  actorBytes,
  expectAfter,
  expectCounterInRange,
  readActor,
  readCount,
  readCounter,
  writeActor,
} from './actor-codec.js';
import { assert } from './assert.js';
import { DecodeError } from './decode-error.js';
import { type DecodeLimits, assertDecodeLimits, decodeLimitsDefault } from './decode-limits.js';
import { ByteReader, varintBytes, writeVarint } from './varint.js';
import { type VersionVector, assertVersionVector } from './version-vector.js';

/**
 * The context handed to clients (the join of a clock), opaque to them, format version 2:
 *
 *   context := (nothing, for the empty context, valid for any key)
 *            | 0x02  fingerprint(8 bytes)  varint(count > 0)  pair*
 *            | 0x01  varint(count > 0)  pair*          (version 1: decoded, never encoded)
 *   pair    := varint(actor bytes) actor-utf8  varint(counter)
 *
 * The fingerprint names the key the context was made for, so that a context passed with another
 * key is refused instead of superseding that key's values (actors are shared by every key a node
 * coordinates, so another key's context covers dots of this one). It is chosen by the caller
 * (a node: the first bytes of a digest of the key); this package only carries and compares it.
 * It is not a MAC: anyone can make a context for any key, so it guards against mistakes, not
 * forgery. Version 1 contexts (no fingerprint) still decode: clients may hold them from before.
 *
 * Actors sorted (JavaScript string order), varints in their shortest form: one encoding per context.
 */
export const contextFormatVersion = 2;

/** The format before key fingerprints: read for compatibility, never written. */
const contextFormatVersionUnkeyed = 1;

/** Bytes of a context's key fingerprint: a chance collision between two keys is 2^-64. */
export const contextKeyFingerprintBytes = 8;

/** Smallest encoded pair: 1-byte actor length, 1-byte actor, counter. */
const pairBytesMin = 3;

/** Encodes the context of `vv` for the key whose fingerprint is `keyFingerprint`. */
export function encodeContext(vv: VersionVector, keyFingerprint: Uint8Array): Uint8Array {
  assertVersionVector(vv);
  assertKeyFingerprint(keyFingerprint);
  if (vv.length === 0) return new Uint8Array(0);
  let size = 1 + contextKeyFingerprintBytes + varintBytes(vv.length);
  for (const [actor, counter] of vv) size += actorBytes(actor) + varintBytes(counter);
  const out = new Uint8Array(size);
  out[0] = contextFormatVersion;
  out.set(keyFingerprint, 1);
  let at = writeVarint(out, 1 + contextKeyFingerprintBytes, vv.length);
  for (const [actor, counter] of vv) at = writeVarint(out, writeActor(out, at, actor), counter);
  assert(at === out.length, () => `encoded ${at} bytes of ${out.length} sized`);
  return out;
}

/**
 * Decodes a context a client sent back with the key whose fingerprint is `keyFingerprint`: no
 * bytes is the empty context (a first write); a version 2 context made for another key is
 * refused (`key-mismatch`); a version 1 context, which names no key, is accepted. Throws
 * DecodeError, and nothing else, for anything that is not a context this code encoded.
 */
export function decodeContext(
  bytes: Uint8Array,
  keyFingerprint: Uint8Array,
  limits: DecodeLimits = decodeLimitsDefault,
): VersionVector {
  assertKeyFingerprint(keyFingerprint);
  if (limits !== decodeLimitsDefault) assertDecodeLimits(limits);
  if (bytes.length === 0) return [];
  if (bytes.length > limits.inputBytesMax)
    throw new DecodeError(
      'oversized',
      `context of ${bytes.length} bytes, limit ${limits.inputBytesMax}`,
    );
  const reader = new ByteReader(bytes);
  const version = reader.readByte('format version');
  if (version === contextFormatVersion) {
    expectKey(reader.readView(contextKeyFingerprintBytes, 'key fingerprint'), keyFingerprint);
  } else if (version !== contextFormatVersionUnkeyed) {
    throw new DecodeError(
      'unsupported-version',
      `context format version ${version}, this code reads ${contextFormatVersionUnkeyed} and ${contextFormatVersion}`,
    );
  }
  const vv = readPairs(reader, limits);
  reader.expectEnd('context');
  return vv;
}

function readPairs(reader: ByteReader, limits: DecodeLimits): VersionVector {
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
  return vv;
}

/** Refuses a context whose fingerprint is not the request key's (compared in full, not secret). */
function expectKey(found: Uint8Array, expected: Uint8Array): void {
  for (let i = 0; i < contextKeyFingerprintBytes; i++) {
    if (found[i] !== expected[i]) {
      throw new DecodeError(
        'key-mismatch',
        `context was made for another key (key fingerprint ${hexOf(found)}, this key's ${hexOf(expected)})`,
      );
    }
  }
}

function assertKeyFingerprint(keyFingerprint: Uint8Array): void {
  assert(
    keyFingerprint.length === contextKeyFingerprintBytes,
    () => `a key fingerprint is ${contextKeyFingerprintBytes} bytes, got ${keyFingerprint.length}`,
  );
}

function hexOf(bytes: Uint8Array): string {
  let text = '';
  for (const byte of bytes) text += byte.toString(16).padStart(2, '0');
  return text;
}
