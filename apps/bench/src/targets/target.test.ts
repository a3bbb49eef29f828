import { describe, expect, it } from 'vitest';
import { backendOf, targetNames } from './target.js';

describe('backendOf', () => {
  it('runs ringstore, ringstore-unary and any-node on one cluster, secured with --tls; ringstore-tls always on its own secured one; echo-session on echo, echo-quorum-session on echo-quorum', () => {
    expect(targetNames).toEqual([
      'ringstore',
      'ringstore-unary',
      'ringstore-tls',
      'any-node',
      'echo',
      'echo-session',
      'echo-quorum',
      'echo-quorum-session',
      'etcd',
    ]);
    expect(targetNames.map((t) => backendOf(t, false))).toEqual([
      'ringstore',
      'ringstore',
      'ringstore-tls',
      'ringstore',
      'echo',
      'echo',
      'echo-quorum',
      'echo-quorum',
      'etcd',
    ]);
    expect(targetNames.map((t) => backendOf(t, true))).toEqual([
      'ringstore-tls',
      'ringstore-tls',
      'ringstore-tls',
      'ringstore-tls',
      'echo',
      'echo',
      'echo-quorum',
      'echo-quorum',
      'etcd',
    ]);
  });
});
