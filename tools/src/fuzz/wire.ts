// Hand-made encodings of the bytes a node decodes inside messages: stored objects (DVVSets) and
// client contexts, in the formats of packages/vclock (object-codec.ts, context-codec.ts), written
// here without its checks so that counters past counterMax, unsorted actors, more values than
// dots, unknown flags and wrong versions can be sent. And a key's partition, as
// packages/ring/src/partition.ts computes it (tools does not depend on those packages).
import { createHash } from 'node:crypto';
import type { Rng } from '../chaos/prng.js';
import { chance, randomBytes, randomText, uint64Edges } from './mutate.js';

/** Unsigned LEB128 of any non-negative integer (bigint: past 2^53). */
export function varint(value: number | bigint): Buffer {
  const out: number[] = [];
  let rest = BigInt(value);
  while (rest >= 128n) {
    out.push(Number(rest & 0x7fn) | 0x80);
    rest >>= 7n;
  }
  out.push(Number(rest));
  return Buffer.from(out);
}

export interface RawValue {
  readonly flags: number;
  readonly timestampMs: bigint;
  readonly bytes: Buffer;
}

export interface RawEntry {
  readonly actor: string;
  readonly counter: bigint;
  readonly values: readonly RawValue[];
}

function encodeValues(values: readonly RawValue[]): Buffer {
  const parts = [varint(values.length)];
  for (const v of values)
    parts.push(
      Buffer.from([v.flags & 0xff]),
      varint(v.timestampMs),
      varint(v.bytes.length),
      v.bytes,
    );
  return Buffer.concat(parts);
}

/** object := version varint(entry count) entry* varint(anonymous count) value* */
export function encodeRawObject(
  entries: readonly RawEntry[],
  anonymous: readonly RawValue[] = [],
  version = 1,
): Buffer {
  const parts = [Buffer.from([version]), varint(entries.length)];
  for (const e of entries) {
    const actor = Buffer.from(e.actor);
    parts.push(varint(actor.length), actor, varint(e.counter), encodeValues(e.values));
  }
  parts.push(encodeValues(anonymous));
  return Buffer.concat(parts);
}

/** context := 0x02 fingerprint(8) varint(count) pair* | 0x01 varint(count) pair* */
export function encodeRawContext(
  pairs: readonly (readonly [string, bigint])[],
  fingerprint: Buffer | undefined,
): Buffer {
  const head =
    fingerprint === undefined ? [Buffer.from([1])] : [Buffer.from([2]), fingerprint.subarray(0, 8)];
  const parts = [...head, varint(pairs.length)];
  for (const [actor, counter] of pairs) {
    const bytes = Buffer.from(actor);
    parts.push(varint(bytes.length), bytes, varint(counter));
  }
  return Buffer.concat(parts);
}

/** A counter: small mostly, else one at an edge (counterMax, 2^53 - 1, 0, 2^64 - 1 ...). */
function counter(rng: Rng): bigint {
  return chance(rng, 0.7) ? BigInt(rng.int(1, 1000)) : rng.pick(uint64Edges);
}

function actor(rng: Rng, actors: readonly string[]): string {
  return chance(rng, 0.7) && actors.length > 0 ? rng.pick(actors) : randomText(rng).slice(0, 80);
}

function rawValue(rng: Rng): RawValue {
  return {
    flags: chance(rng, 0.8) ? rng.int(0, 1) : rng.int(0, 255),
    timestampMs: chance(rng, 0.8) ? BigInt(rng.int(1, 2 ** 31)) : rng.pick(uint64Edges),
    bytes: randomBytes(rng, chance(rng, 0.95) ? rng.int(0, 32) : rng.int(33, 70_000)),
  };
}

/** A made-up object: well formed or not, with counters and flags anywhere in their range. */
export function randomObject(rng: Rng, actors: readonly string[]): Buffer {
  const entries = Array.from({ length: rng.int(0, 3) }, () => ({
    actor: actor(rng, actors),
    counter: counter(rng),
    values: Array.from({ length: rng.int(0, 2) }, () => rawValue(rng)),
  }));
  if (chance(rng, 0.7))
    entries.sort((a, b) => (a.actor < b.actor ? -1 : a.actor > b.actor ? 1 : 0));
  const anonymous = chance(rng, 0.1) ? [rawValue(rng)] : [];
  return encodeRawObject(entries, anonymous, chance(rng, 0.95) ? 1 : rng.int(0, 255));
}

/** An object whose every value is a tombstone written long ago: what a reaper looks for. */
export function oldTombstone(rng: Rng, actors: readonly string[]): Buffer {
  const tombstone: RawValue = { flags: 1, timestampMs: 1n, bytes: Buffer.alloc(0) };
  return encodeRawObject([
    { actor: actor(rng, actors), counter: counter(rng), values: [tombstone] },
  ]);
}

/** A made-up context: version 1 or 2, counters anywhere in their range. */
export function randomContext(rng: Rng, actors: readonly string[]): Buffer {
  const pairs = Array.from(
    { length: rng.int(chance(rng, 0.9) ? 1 : 0, 4) },
    () => [actor(rng, actors), counter(rng)] as const,
  );
  return encodeRawContext(pairs, chance(rng, 0.5) ? randomBytes(rng, 8) : undefined);
}

/** The partition of a key: the top log2(Q) bits of MD5(key) (packages/ring/src/partition.ts). */
export function partitionOf(key: Uint8Array, partitionCount: number): number {
  const digest = createHash('md5').update(key).digest();
  const top16 = digest.readUInt16BE(0);
  return top16 >>> (16 - Math.log2(partitionCount));
}

/** Reads an unsigned LEB128 at `at`: [value, next offset]; undefined past the end. */
function readVarint(bytes: Buffer, at: number): [number, number] | undefined {
  let value = 0;
  for (let i = 0, scale = 1; at + i < bytes.length && i < 8; i++, scale *= 128) {
    const b = bytes[at + i]!;
    value += (b & 0x7f) * scale;
    if ((b & 0x80) === 0) return [value, at + i + 1];
  }
  return undefined;
}

/** Skips `count` values (flags, timestamp, length, bytes) from `at`; undefined past the end. */
function skipValues(bytes: Buffer, at: number, count: number): number | undefined {
  let next = at;
  for (let i = 0; i < count; i++) {
    const timestamp = readVarint(bytes, next + 1);
    const length = timestamp === undefined ? undefined : readVarint(bytes, timestamp[1]);
    if (length === undefined) return undefined;
    next = length[1] + length[0];
  }
  return next <= bytes.length ? next : undefined;
}

/** The actors named by an object's entries (as the nodes write them); [] if it does not parse. */
export function actorsOf(object: Buffer): string[] {
  const actors: string[] = [];
  const count = readVarint(object, 1);
  if (object[0] !== 1 || count === undefined) return actors;
  let at: number | undefined = count[1];
  for (let i = 0; i < count[0] && at !== undefined; i++) {
    const length = readVarint(object, at);
    if (length === undefined) return actors;
    actors.push(object.subarray(length[1], length[1] + length[0]).toString());
    const counter = readVarint(object, length[1] + length[0]);
    const values = counter === undefined ? undefined : readVarint(object, counter[1]);
    at = values === undefined ? undefined : skipValues(object, values[1], values[0]);
  }
  return actors;
}
