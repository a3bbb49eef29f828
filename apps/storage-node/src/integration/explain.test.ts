// `ringctl explain` against a real 4-node cluster (N=3, anti-entropy only on demand, so nothing
// repairs a replica behind the test's back): a key on 3/3 replicas, siblings, a down replica with
// the hint its fallback holds, a replica behind and one missing the key after it comes back,
// --json, and a key the node refuses.
import { execFile } from 'node:child_process';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { partitionOf } from '@ringstore/ring';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestCluster, type TestCluster } from '../test-support/cluster-fixture.js';
import { eventually } from '../test-support/eventually.js';
import { keysFor, replicasOf, ringOf } from '../test-support/keys.js';
import { listMembers } from '../test-support/kv-client.js';

const run = promisify(execFile);
const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), '../../../..');
const ringctlBin = join(repoRoot, 'apps/ringctl/bin/ringctl.js');
const ids = ['n1', 'n2', 'n3', 'n4'];

interface ExplainJson {
  readonly position: string;
  readonly partition: number;
  readonly primaries: string[];
  readonly preferenceList: { node: string; hintFor: string | null }[];
  readonly replicas: {
    node: string;
    role: string;
    answered: boolean;
    behindDots: number | null;
    object: { state: string; siblings: unknown[] } | null;
    merkle: { segment: number; segmentHash: string } | null;
  }[];
  readonly hints: { holder: string; target: string; clock: { actor: string }[] }[];
  readonly siblings: number;
  readonly segmentsAgree: boolean | null;
  readonly consistent: boolean;
  readonly verdict: string;
}

describe('ringctl explain (real 4-node cluster, N=3)', () => {
  let tc: TestCluster;
  let behindKey = '';
  let missingKey = '';
  let hintedKey = '';

  async function ringctl(
    args: string[],
  ): Promise<{ code: number; stdout: string; stderr: string }> {
    try {
      const { stdout, stderr } = await run(
        process.execPath,
        [ringctlBin, '--node', tc.address('n1'), ...args],
        { timeout: 30_000, env: { ...process.env, FORCE_COLOR: '0' } },
      );
      return { code: 0, stdout, stderr };
    } catch (e) {
      const err = e as { code?: number; stdout?: string; stderr?: string };
      return { code: err.code ?? -1, stdout: err.stdout ?? '', stderr: err.stderr ?? '' };
    }
  }

  async function explainJson(key: string): Promise<ExplainJson> {
    const result = await ringctl(['--json', 'explain', key]);
    expect(result.code, result.stderr).toBe(0);
    return JSON.parse(result.stdout) as ExplainJson;
  }

  beforeAll(async () => {
    tc = await startTestCluster(4, ['--ae-interval-ms', '0']);
  }, 90_000);
  afterAll(async () => {
    await tc?.stop();
  }, 60_000);

  it('a key written to every replica: consistent on 3/3, the segments agree', async () => {
    await tc.client('n1').put('explain-ok', 'v1', { w: 3 });
    const human = await ringctl(['explain', 'explain-ok']);
    expect(human.code, human.stderr).toBe(0);
    expect(human.stdout).toMatch(/^verdict: consistent on 3\/3$/m);
    expect(human.stdout.match(/merkle segment: \d+ [0-9a-f]{12} \(agrees\)/g)).toHaveLength(3);

    const doc = await explainJson('explain-ok');
    const ring = ringOf(await tc.client('n1').ring());
    expect(doc.position).toMatch(/^[0-9a-f]{32}$/);
    expect(doc.partition).toBe(partitionOf(Buffer.from('explain-ok'), ring.partitionCount));
    expect(doc.primaries).toEqual(replicasOf(ring, 'explain-ok'));
    expect(doc.consistent).toBe(true);
    expect(doc.segmentsAgree).toBe(true);
    const primaries = doc.replicas.filter((r) => r.role === 'primary');
    expect(primaries).toHaveLength(3);
    for (const r of primaries) {
      expect(r).toMatchObject({ answered: true, behindDots: 0, object: { state: 'found' } });
      expect(r.merkle?.segmentHash).toMatch(/^[0-9a-f]{64}$/);
    }
    expect(new Set(primaries.map((r) => r.merkle?.segmentHash)).size).toBe(1);
  }, 60_000);

  it('two writes without a context: the verdict reports the siblings', async () => {
    await tc.client('n1').put('explain-siblings', 'a', { w: 3 });
    await tc.client('n2').put('explain-siblings', 'b', { w: 3 });
    const human = await ringctl(['explain', 'explain-siblings']);
    expect(human.stdout).toMatch(
      /^verdict: siblings: 2, resolve with a put carrying the context$/m,
    );
    const doc = await explainJson('explain-siblings');
    expect(doc.siblings).toBe(2);
    expect(doc.consistent).toBe(false);
  }, 60_000);

  it('a replica down: who answered, and the hint its fallback holds', async () => {
    const ring = ringOf(await tc.client('n1').ring());
    [hintedKey = '', behindKey = '', missingKey = ''] = keysFor(ring, 'n3', 3, 'explain-n3');
    const via = (key: string) => replicasOf(ring, key).find((id) => id !== 'n3')!;
    const first = await tc.client(via(hintedKey)).put(hintedKey, 'v1', { w: 3 });
    const behind = await tc.client(via(behindKey)).put(behindKey, 'v1', { w: 3 });
    await tc.kill('n3');
    await waitSeenDown(tc, 'n3');
    // Sloppy quorum: the fourth node stands in for n3 and keeps a hint.
    await tc.client(via(hintedKey)).put(hintedKey, 'v2', { w: 3, context: first.context });
    // Strict quorum: the primaries only, no hint: n3 will come back behind, and missing a key.
    await tc
      .client(via(behindKey))
      .put(behindKey, 'v2', { w: 2, strict: true, context: behind.context });
    await tc.client(via(missingKey)).put(missingKey, 'v1', { w: 2, strict: true });

    const fallback = ids.find((id) => !replicasOf(ring, hintedKey).includes(id))!;
    const human = await ringctl(['explain', hintedKey]);
    expect(human.code, human.stderr).toBe(0);
    expect(human.stdout).toContain(`n3 (down) -> ${fallback} (fallback)`);
    expect(human.stdout).toMatch(
      new RegExp(
        `^verdict: n3 down: 2/3 answered; the 2 that answered agree; ` +
          `hint for n3 held by ${fallback}: handoff delivers it once n3 is up$`,
        'm',
      ),
    );
    const doc = await explainJson(hintedKey);
    expect(doc.preferenceList).toContainEqual({ node: fallback, hintFor: 'n3' });
    expect(doc.hints).toHaveLength(1);
    expect(doc.hints[0]).toMatchObject({ holder: fallback, target: 'n3' });
    expect(doc.replicas.find((r) => r.node === 'n3')).toMatchObject({
      answered: false,
      object: null,
    });
  }, 90_000);

  it('back up: the replica behind by a dot, the key it missed, the hint delivered', async () => {
    await tc.restart('n3');
    const behind = await ringctl(['explain', behindKey]);
    expect(behind.code, behind.stderr).toBe(0);
    expect(behind.stdout).toMatch(
      /^verdict: n3 behind by 1 dot: read repair or anti-entropy will fix it$/m,
    );
    const doc = await explainJson(behindKey);
    expect(doc.replicas.find((r) => r.node === 'n3')).toMatchObject({ behindDots: 1 });
    expect(doc.segmentsAgree).toBe(false);

    const missing = await ringctl(['explain', missingKey]);
    expect(missing.stdout).toMatch(
      /^verdict: missing on n3: read repair or anti-entropy will fix it$/m,
    );
    // The fallback hands its hint over once it sees n3 up: then the key agrees on 3/3.
    await eventually(
      async () => {
        const hinted = await explainJson(hintedKey);
        if (hinted.verdict !== 'consistent on 3/3') throw new Error(hinted.verdict);
        expect(hinted.hints).toEqual([]);
      },
      30_000,
      500,
    );
  }, 90_000);

  it('a key the node refuses: INVALID_ARGUMENT, a failing exit code', async () => {
    const result = await ringctl(['explain', 'k'.repeat(2_000)]);
    expect([0, 2]).not.toContain(result.code);
    expect(result.stderr).toMatch(/INVALID_ARGUMENT: key is 2000 bytes: the limit is 1024 bytes/);
  }, 30_000);
});

async function waitSeenDown(tc: TestCluster, target: string): Promise<void> {
  await eventually(
    async () => {
      for (const id of ids.filter((i) => i !== target)) {
        const member = (await listMembers(tc.address(id))).find((m) => m.node?.id === target);
        if (member?.alive !== false) throw new Error(`${id} still sees ${target} alive`);
      }
    },
    30_000,
    100,
  );
}
