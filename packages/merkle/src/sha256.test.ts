import { createHash } from 'node:crypto';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { Sha256, sha256 } from './sha256.js';

const seed = 20240613;
const encoder = new TextEncoder();

function hex(bytes: Uint8Array): string {
  return Buffer.from(bytes).toString('hex');
}

function nodeSha256(...parts: Uint8Array[]): string {
  const hash = createHash('sha256');
  for (const part of parts) hash.update(part);
  return hash.digest('hex');
}

describe('sha256', () => {
  it('matches the FIPS 180-4 test vectors', () => {
    expect(hex(sha256())).toBe('e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855');
    expect(hex(sha256(encoder.encode('abc')))).toBe(
      'ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad',
    );
    expect(
      hex(sha256(encoder.encode('abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq'))),
    ).toBe('248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1');
  });

  it('matches node:crypto at every length around the block and padding boundaries', () => {
    for (let length = 0; length <= 200; length++) {
      const message = Uint8Array.from({ length }, (_, i) => (i * 31 + length) & 0xff);
      expect(hex(sha256(message))).toBe(nodeSha256(message));
    }
  });

  it('matches node:crypto however the message is split across updates', () => {
    fc.assert(
      fc.property(fc.array(fc.uint8Array({ maxLength: 150 }), { maxLength: 6 }), (parts) => {
        expect(hex(sha256(...parts))).toBe(nodeSha256(...parts));
      }),
      { seed, numRuns: 300 },
    );
  });

  it('hashes a message of several blocks given as a subarray', () => {
    const backing = Uint8Array.from({ length: 5000 }, (_, i) => (i * 7) & 0xff);
    const view = backing.subarray(3, 4099);
    expect(hex(sha256(view))).toBe(nodeSha256(view));
  });

  it('refuses to be used after digest', () => {
    const hash = new Sha256().update(encoder.encode('x'));
    hash.digest();
    expect(() => hash.digest()).toThrow(/digest twice/);
    expect(() => hash.update(encoder.encode('y'))).toThrow(/after digest/);
  });
});
