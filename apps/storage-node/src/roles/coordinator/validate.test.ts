import { describe, expect, it } from 'vitest';
import { encodeContext } from '@ringstore/vclock';
import { RingstoreError } from '../../errors.js';
import { contextFingerprint } from '../../object.js';
import { parseContext, quorumOf, validateKey, validateValue } from './validate.js';

const limits = { keyBytesMax: 1024, valueBytesMax: 1024 * 1024, replicas: 3 };

function codeOf(fn: () => unknown): string {
  try {
    fn();
  } catch (e) {
    return e instanceof RingstoreError ? `${e.code}: ${e.message}` : 'other';
  }
  return 'ok';
}

describe('request validation', () => {
  it('keys are 1..keyBytesMax bytes', () => {
    expect(codeOf(() => validateKey(new Uint8Array(0), limits))).toContain(
      'invalid-argument: key is empty',
    );
    expect(codeOf(() => validateKey(new Uint8Array(1), limits))).toBe('ok');
    expect(codeOf(() => validateKey(new Uint8Array(1024), limits))).toBe('ok');
    expect(codeOf(() => validateKey(new Uint8Array(1025), limits))).toContain(
      'key is 1025 bytes: the limit is 1024',
    );
  });

  it('values are at most valueBytesMax bytes, empty allowed', () => {
    expect(codeOf(() => validateValue(new Uint8Array(0), limits))).toBe('ok');
    expect(codeOf(() => validateValue(new Uint8Array(1024 * 1024), limits))).toBe('ok');
    expect(codeOf(() => validateValue(new Uint8Array(1024 * 1024 + 1), limits))).toContain(
      'the limit is 1048576',
    );
  });

  it('r and w: 0 is the default, otherwise 1..N', () => {
    expect(quorumOf('w', 0, 2, limits)).toBe(2);
    expect(quorumOf('w', 3, 2, limits)).toBe(3);
    expect(codeOf(() => quorumOf('r', 4, 2, limits))).toContain('r=4 is outside 1..N=3');
  });

  it('malformed contexts are INVALID_ARGUMENT, empty means none', () => {
    const key = Buffer.from('k');
    expect(parseContext(new Uint8Array(), key)).toEqual([]);
    expect(
      codeOf(() => parseContext(new Uint8Array([0xff, 0xff, 0xff, 0x01, 0x02]), key)),
    ).toContain('invalid-argument: context is malformed');
  });

  it("a context made for another key is INVALID_ARGUMENT; the key's own and version 1 pass", () => {
    const [a, b] = [Buffer.from('a'), Buffer.from('b')];
    const vv = [['n1/1', 3] as const];
    const ofA = encodeContext(vv, contextFingerprint(a));
    expect(parseContext(ofA, a)).toEqual(vv);
    expect(codeOf(() => parseContext(ofA, b))).toBe(
      'invalid-argument: context was made for another key: pass back the context a Get or Put of this key returned, or none',
    );
    const unkeyed = Uint8Array.from([1, ...ofA.subarray(1 + 8)]);
    expect(parseContext(unkeyed, b)).toEqual(vv); // names no key: accepted, for old clients
  });

  it('fingerprints a key by the first 8 bytes of its SHA-256 (as logs tag it)', () => {
    expect(Buffer.from(contextFingerprint(Buffer.from('abc'))).toString('hex')).toBe(
      'ba7816bf8f01cfea',
    );
  });
});
