import { assert } from './assert.js';
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
import { DecodeError } from './decode-error.js';
import { type DecodeLimits, assertDecodeLimits, decodeLimitsDefault } from './decode-limits.js';
import { type DVVSet, type Entry, assertClock } from './dvvset.js';
import type { StoredValue } from './stored-value.js';
import { ByteReader, varintBytes, writeVarint } from './varint.js';

/**
 * A stored object (a DVVSet of StoredValue), format version 1:
 *
 *   object := 0x01  varint(entry count)  entry*  varint(anonymous count)  value*
 *   entry  := varint(actor bytes) actor-utf8  varint(counter)  varint(value count)  value*
 *   value  := flags (bit 0: tombstone, other bits 0)  varint(timestampMs)  varint(length)  bytes
 *
 * Entries are sorted by actor (JavaScript string order), an entry's values newest first, and the
 * varints unsigned LEB128 in their shortest form, so every object has exactly one encoding.
 */
export const objectFormatVersion = 1;

const tombstoneFlag = 0x01;
/** Smallest encoded entry: 1-byte actor length, 1-byte actor, counter, value count. */
const entryBytesMin = 4;
/** Smallest encoded value: flags, timestamp, length. */
const valueBytesMin = 3;

function valueBytes(value: StoredValue): number {
  return 1 + varintBytes(value.timestampMs) + varintBytes(value.bytes.length) + value.bytes.length;
}

function valuesBytes(values: readonly StoredValue[]): number {
  let bytes = varintBytes(values.length);
  for (const value of values) bytes += valueBytes(value);
  return bytes;
}

function objectBytes(o: DVVSet<StoredValue>): number {
  let bytes = 1 + varintBytes(o.entries.length) + valuesBytes(o.anonymous);
  for (const entry of o.entries)
    bytes += actorBytes(entry.actor) + varintBytes(entry.counter) + valuesBytes(entry.values);
  return bytes;
}

function writeValues(out: Uint8Array, offset: number, values: readonly StoredValue[]): number {
  let at = writeVarint(out, offset, values.length);
  for (const value of values) {
    out[at++] = value.tombstone ? tombstoneFlag : 0;
    at = writeVarint(out, at, value.timestampMs);
    at = writeVarint(out, at, value.bytes.length);
    out.set(value.bytes, at);
    at += value.bytes.length;
  }
  return at;
}

/** Encodes a well-formed object (one that update and sync build); anything else is a programmer error. */
export function encodeObject(o: DVVSet<StoredValue>): Uint8Array {
  assertClock(o);
  const out = new Uint8Array(objectBytes(o));
  out[0] = objectFormatVersion;
  let at = writeVarint(out, 1, o.entries.length);
  for (const entry of o.entries) {
    at = writeActor(out, at, entry.actor);
    at = writeVarint(out, at, entry.counter);
    at = writeValues(out, at, entry.values);
  }
  at = writeValues(out, at, o.anonymous);
  assert(at === out.length, () => `encoded ${at} bytes of ${out.length} sized`);
  return out;
}

interface ValueBudget {
  valuesLeft: number;
  readonly valueBytesMax: number;
}

function readValue(reader: ByteReader, valueBytesMax: number): StoredValue {
  const flags = reader.readByte('value flags');
  if ((flags & ~tombstoneFlag) !== 0)
    throw new DecodeError(
      'malformed',
      `unknown value flags ${flags} at byte ${reader.offsetBytes - 1}`,
    );
  const timestampMs = reader.readVarint('value timestamp');
  const length = reader.readVarint('value length');
  if (length > valueBytesMax)
    throw new DecodeError('oversized', `value of ${length} bytes, limit ${valueBytesMax}`);
  return {
    bytes: reader.readBytes(length, 'value'),
    tombstone: flags === tombstoneFlag,
    timestampMs,
  };
}

function readValues(reader: ByteReader, budget: ValueBudget, count: number): StoredValue[] {
  budget.valuesLeft -= count;
  const values: StoredValue[] = [];
  for (let i = 0; i < count; i++) values.push(readValue(reader, budget.valueBytesMax));
  return values;
}

function readEntry(
  reader: ByteReader,
  actorBytesMax: number,
  budget: ValueBudget,
): Entry<StoredValue> {
  const actor = readActor(reader, actorBytesMax);
  const counter = readCounter(reader);
  const count = readCount(reader, budget.valuesLeft, valueBytesMin, 'value count');
  if (count > counter)
    throw new DecodeError(
      'malformed',
      `${count} values at ${counter} dots of ${JSON.stringify(actor)}`,
    );
  expectCounterInRange(counter, actor);
  return { actor, counter, values: readValues(reader, budget, count) };
}

/**
 * Decodes a stored or received object. Throws DecodeError, and nothing else, for any input that
 * is not the encoding of a well-formed object within `limits`; every count and length is checked
 * against the limits and the remaining input before anything is allocated for it.
 */
export function decodeObject(
  bytes: Uint8Array,
  limits: DecodeLimits = decodeLimitsDefault,
): DVVSet<StoredValue> {
  if (limits !== decodeLimitsDefault) assertDecodeLimits(limits);
  const reader = new ByteReader(bytes);
  readHeader(reader, limits.inputBytesMax, objectFormatVersion, 'object');
  const budget: ValueBudget = { valuesLeft: limits.valuesMax, valueBytesMax: limits.valueBytesMax };
  const entryCount = readCount(reader, limits.actorsMax, entryBytesMin, 'entry count');
  const entries: Entry<StoredValue>[] = [];
  let previous: string | undefined;
  for (let i = 0; i < entryCount; i++) {
    const entry = readEntry(reader, limits.actorBytesMax, budget);
    expectAfter(previous, entry.actor);
    previous = entry.actor;
    entries.push(entry);
  }
  const anonymousCount = readCount(
    reader,
    budget.valuesLeft,
    valueBytesMin,
    'anonymous value count',
  );
  const anonymous = readValues(reader, budget, anonymousCount);
  reader.expectEnd('object');
  return { entries, anonymous };
}
