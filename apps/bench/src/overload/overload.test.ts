// The overload bench, small: a real 3-node cluster, one wave of 3,000 puts at n1 with admission
// at 64 requests (so the excess is refused whatever this machine's speed) and a deadline long
// enough that every put reaches the node, then a flood of two 60 MiB puts. Only outcomes that do
// not depend on timing are asserted: the machine is shared.
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import type { OverloadReport } from './report.js';
import { runOverload } from './run.js';

const dir = mkdtempSync(join(tmpdir(), 'ringstore-overload-test-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('bench:overload (smoke)', () => {
  it('refuses the excess, keeps peers up, refuses the flood and still serves', async () => {
    let err = '';
    const io = { stdout: { write: () => true }, stderr: { write: (s: string) => (err += s) } };
    const json = join(dir, 'report.json');
    const argv = [
      ...['--inflight', '3000', '--rounds', '1', '--flood-messages', '2', '--no-calibrate'],
      ...['--max-inflight-requests', '64', '--deadline-ms', '20000', '--client-processes', '1'],
      ...['--json', json, '--out', dir],
    ];
    const code = await runOverload(argv, io);
    expect([0, 1], err).toContain(code);
    const r = JSON.parse(readFileSync(json, 'utf8')) as OverloadReport;
    const p1 = r.phase1;
    expect(p1.counts.RESOURCE_EXHAUSTED, err).toBeGreaterThan(0);
    expect(p1.retryAfterHinted).toBe(p1.counts.RESOURCE_EXHAUSTED);
    expect(p1.shares.UNAVAILABLE).toBeLessThanOrEqual(0.01);
    expect(Object.values(r.peersMarkedDownAtEnd).flat()).toEqual([]);
    expect(p1.membersNotAlive.flatMap((m) => m.notAlive)).toEqual([]);
    expect(p1.probe.status).toBe('OK');
    expect(r.phase2.counts.RESOURCE_EXHAUSTED).toBe(2);
    expect(Object.keys(r.phase2.answers).join()).toMatch(/larger than max/);
    expect(r.phase2.probe.status).toBe('OK');
  });
});
