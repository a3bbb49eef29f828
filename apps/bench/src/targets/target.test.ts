import { describe, expect, it } from 'vitest';
import { backendOf, targetNames } from './target.js';

describe('backendOf', () => {
  it('runs ringstore and any-node on one cluster, secured with --tls; ringstore-tls always on its own secured one', () => {
    expect(targetNames).toContain('ringstore-tls');
    expect(targetNames.map((t) => backendOf(t, false))).toEqual([
      'ringstore',
      'ringstore-tls',
      'ringstore',
      'echo',
      'etcd',
    ]);
    expect(targetNames.map((t) => backendOf(t, true))).toEqual([
      'ringstore-tls',
      'ringstore-tls',
      'ringstore-tls',
      'echo',
      'etcd',
    ]);
  });
});
