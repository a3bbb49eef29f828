import { describe, expect, it } from 'vitest';
import { claim, validateRing } from './index.js';
import { nameLengthMax } from './limits.js';
import { ownerOf, validateMembers } from './ring.js';
import { nodes } from './test-support/ring-checks.js';

describe('ownerOf', () => {
  it('names the member at the partition', () => {
    const ring = claim(nodes(4), { partitionCount: 16, replicas: 3 });
    for (let p = 0; p < 16; p++) expect(ownerOf(ring, p)).toBe(ring.members[ring.owners[p]!]!.id);
  });

  it('refuses a partition out of range', () => {
    const ring = claim(nodes(4), { partitionCount: 16, replicas: 3 });
    expect(() => ownerOf(ring, 16)).toThrow(/not in 0\.\.15/);
    expect(() => ownerOf(ring, 1.5)).toThrow(/not in/);
  });
});

describe('validateMembers', () => {
  it('accepts distinct ids with or without zones', () => {
    expect(
      validateMembers([
        { id: 'a', zone: '' },
        { id: 'b', zone: 'rack-1' },
      ]),
    ).toBeUndefined();
  });

  it('names the problem', () => {
    expect(validateMembers([])).toMatch(/1\.\.1024 members, got 0/);
    expect(validateMembers([{ id: '', zone: '' }])).toMatch(/member id must be/);
    expect(validateMembers([{ id: 'x'.repeat(nameLengthMax + 1), zone: '' }])).toMatch(
      /member id must be/,
    );
    expect(validateMembers([{ id: 'a', zone: 'z'.repeat(nameLengthMax + 1) }])).toMatch(
      /zone of a/,
    );
    expect(
      validateMembers([
        { id: 'a', zone: '' },
        { id: 'a', zone: '' },
      ]),
    ).toMatch(/a is listed twice/);
  });
});

describe('validateRing', () => {
  it('accepts what claim makes', () => {
    expect(validateRing(claim(nodes(7), { partitionCount: 128, replicas: 3 }))).toBeUndefined();
  });

  it('refuses a ring whose shape is wrong', () => {
    const ring = claim(nodes(3), { partitionCount: 8, replicas: 3 });
    expect(validateRing({ ...ring, partitionCount: 6 })).toMatch(/power of two/);
    expect(validateRing({ ...ring, owners: ring.owners.slice(1) })).toMatch(/7 owners for 8/);
    expect(validateRing({ ...ring, owners: ring.owners.map(() => 3) })).toMatch(
      /not a member index/,
    );
    expect(validateRing({ ...ring, members: [] })).toMatch(/members/);
  });
});
