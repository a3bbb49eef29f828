// The fuzzer for about 10 s against a real 3-node cluster (loopback, plaintext), for npm test;
// `npm run fuzz` is the longer run (60 s by default, a random seed). The seed is fixed here, so a
// failure replays with `npm run fuzz -- --seed 20261207 --seconds 10`.
import { describe, expect, it } from 'vitest';
import { liveChildPids } from '../node-process.js';
import { formatReport } from './report.js';
import { runFuzz } from './run.js';

const seed = 20_261_207;

describe('the fuzzer on a real 3-node cluster', () => {
  it('keeps every node up and SERVING, never answers INTERNAL, and leaves the known keys intact', async () => {
    const lines: string[] = [];
    const report = await runFuzz(
      { seconds: 10, seed, nodes: 3, out: undefined, concurrency: 8 },
      { log: (line) => lines.push(line) },
    );
    const summary = `${lines.join('\n')}\n${formatReport(report)}`;
    expect(report.reasons, summary).toEqual([]);
    expect(report.pass).toBe(true);
    expect(report.requests, summary).toBeGreaterThan(500);
    const rpcs = Object.keys(report.sent);
    for (const rpc of ['KV.Get', 'KV.Put', 'Cluster.GetRing', 'Peer.Gossip', 'Peer.Link'])
      expect(rpcs, summary).toContain(rpc);
    expect(report.checks.knownKeysChecked).toBe(24);
    expect(report.dir).toBeUndefined(); // a pass leaves nothing behind
    expect(liveChildPids()).toEqual([]);
  }, 60_000);
});
