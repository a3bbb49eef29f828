import { describe, expect, it } from 'vitest';
import { summarise, type CpuProfile } from './profile-top.js';

const frame = (
  functionName: string,
  url = '',
  lineNumber = 0,
): { functionName: string; url: string; lineNumber: number } => ({ functionName, url, lineNumber });

describe('summarise', () => {
  it('splits sampled time into self and inclusive time per function', () => {
    // (root) -> handle (apps/x.js) -> { encode (packages/y.js), write }
    const profile: CpuProfile = {
      nodes: [
        { id: 1, callFrame: frame('(root)'), children: [2] },
        { id: 2, callFrame: frame('handle', 'file:///repo/apps/x.js', 9), children: [3, 4] },
        { id: 3, callFrame: frame('encode', 'file:///repo/packages/y.js', 0) },
        { id: 4, callFrame: frame('write', 'file:///repo/node_modules/grpc/z.js', 4) },
      ],
      samples: [3, 3, 4, 2],
      timeDeltas: [0, 1000, 1000, 1000, 1000],
    };
    const { totalMs, functions } = summarise(profile);
    expect(totalMs).toBe(4);
    const get = (prefix: string) => functions.find((f) => f.name.startsWith(prefix))!;
    expect(get('encode')).toMatchObject({
      name: 'encode packages/y.js:1',
      selfMs: 2,
      totalMs: 2,
      selfPct: 50,
    });
    expect(get('write')).toMatchObject({ name: 'write ~/grpc/z.js:5', selfMs: 1, totalMs: 1 });
    expect(get('handle')).toMatchObject({
      name: 'handle apps/x.js:10',
      selfMs: 1,
      totalMs: 4,
      totalPct: 100,
    });
  });
});
