// ringctl against two real ringstore-node processes (built dist code: build first), with bearer
// tokens: a killed node shows LIVENESS down with a readable phi and is never reported up again
// without a heartbeat, and each kind of failure has its exit code and JSON error.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { exitCode } from './errors.js';
import { startLiveNodes, type LiveNodes } from './test-support/live-nodes.js';
import { runCli } from './test-support/run-cli.js';

const tokens = { admin: 'admin-token-0123456789abcdef', reader: 'read-token-0123456789abcdef' };
/** Each test's bound; the start of the nodes has its own. */
const testTimeoutMs = 60_000;
/** After the kill: how long n1 may take to see n2 down, and how long it is watched after that. */
const downWithinMs = 15_000;
const watchAfterDownMs = 4_000;
const pollIntervalMs = 200;

let dir = '';
let live: LiveNodes | undefined;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'ringctl-live-'));
  const tokenFile = join(dir, 'tokens');
  writeFileSync(tokenFile, `${tokens.admin} admin ops\n${tokens.reader} read dashboard\n`, {
    mode: 0o600,
  });
  live = await startLiveNodes({
    count: 2,
    dir,
    // The default gossip interval (1 s): phi convicts a silent node only ~5 s after its last
    // heartbeat, so a suspicion that simply expired after 1 s would show it up again.
    extraArgs: [
      ...['--replicas', '2', '--r', '1', '--w', '2', '--partitions', '8'],
      ...['--auth-token-file', tokenFile, '--log-level', 'info'],
    ],
    token: tokens.reader,
  });
}, 60_000);

afterAll(async () => {
  await live?.stop();
  if (dir !== '') rmSync(dir, { recursive: true, force: true });
}, 30_000);

function nodes(): LiveNodes {
  if (live === undefined) throw new Error('the nodes did not start');
  return live;
}
const address = (id: string) => nodes().nodes.find((n) => n.id === id)?.address ?? '';
const as = (token: string | undefined, argv: readonly string[]) =>
  runCli(argv, { env: token === undefined ? {} : { RINGSTORE_TOKEN: token } });

interface MemberJson {
  id: string;
  status: string | null;
  liveness: string;
  suspected: boolean;
  phi: number | string;
  heartbeat: string;
}

async function membersAtN1(): Promise<MemberJson[]> {
  const result = await as(tokens.reader, ['--node', address('n1'), '--json', 'members']);
  expect(result.code, result.stderr).toBe(0);
  return (JSON.parse(result.stdout) as { members: MemberJson[] }).members;
}

async function n2AtN1(): Promise<MemberJson> {
  const n2 = (await membersAtN1()).find((m) => m.id === 'n2');
  if (n2 === undefined) throw new Error('n1 does not list n2');
  return n2;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Polls until n1 counts n2 up with a heartbeat heard, so gossip runs both ways. */
async function waitN2Up(): Promise<void> {
  const deadline = Date.now() + downWithinMs;
  for (;;) {
    const n2 = await n2AtN1();
    if (n2.liveness === 'up' && n2.heartbeat !== '0') return;
    if (Date.now() > deadline) throw new Error(`n2 not up at n1: ${JSON.stringify(n2)}`);
    await sleep(pollIntervalMs);
  }
}

describe('ringctl against real nodes', () => {
  it(
    'refuses an admin call with a read token: exit 5, PERMISSION_DENIED as JSON',
    async () => {
      const result = await as(tokens.reader, ['--node', address('n1'), '--json', 'ae']);
      expect(result.code).toBe(exitCode.denied);
      expect(result.stderr).toMatch(/^PERMISSION_DENIED: /);
      expect(JSON.parse(result.stdout)).toMatchObject({
        error: { code: 'PERMISSION_DENIED', exitCode: 5, grpcCode: 7 },
      });
      const anonymous = await as(undefined, ['--node', address('n1'), 'ring']);
      expect(anonymous.code).toBe(exitCode.denied);
      expect(anonymous.stderr).toMatch(/^UNAUTHENTICATED: /);
    },
    testTimeoutMs,
  );

  it(
    'not found exits 1, a partition the node does not have exits 4, both as JSON',
    async () => {
      const absent = await as(tokens.reader, ['--node', address('n1'), '--json', 'get', 'absent']);
      expect(absent.code).toBe(exitCode.notFound);
      expect(JSON.parse(absent.stdout)).toMatchObject({ error: { code: 'NOT_FOUND' } });
      const args = ['--node', address('n1'), '--json', 'ae', 'trigger', '--partition', '99'];
      const rejected = await as(tokens.admin, args);
      expect(rejected.code, rejected.stderr).toBe(exitCode.rejected);
      const error = (JSON.parse(rejected.stdout) as { error: { code: string } }).error;
      expect(['INVALID_ARGUMENT', 'FAILED_PRECONDITION', 'OUT_OF_RANGE']).toContain(error.code);
    },
    testTimeoutMs,
  );

  it(
    'ae prints the summary first with the full round, and the table only with --all',
    async () => {
      const brief = await as(tokens.admin, ['--node', address('n1'), 'ae']);
      expect(brief.code, brief.stderr).toBe(0);
      const lines = brief.stdout.trimEnd().split('\n');
      expect(lines[0]).toMatch(/^partitions: 8, exchanged: \d, never exchanged: \d$/);
      // 8 partitions, one every 10 s: the interval the node reports (its default).
      expect(lines[2]).toContain('takes about 1m 20s: 8 partitions at --ae-interval-ms 10000');
      expect(brief.stdout).not.toContain('PARTITION');
      const all = await as(tokens.admin, ['--node', address('n1'), 'ae', '--all']);
      expect(all.stdout.trimEnd().split('\n')).toHaveLength(3 + 1 + 8);
    },
    testTimeoutMs,
  );

  it(
    'a killed node: LIVENESS down with a readable phi, never up again without a heartbeat',
    async () => {
      await waitN2Up();
      await nodes().kill('n2');
      const killedMs = Date.now();
      // Writes through n1 reach n2's dead port: n1 suspects n2 at once (W=2 cannot be met).
      for (const key of ['a', 'b', 'c', 'd']) {
        await as(tokens.admin, ['--node', address('n1'), '--deadline-ms', '2000', 'put', key, 'v']);
      }
      const seen: MemberJson[] = [];
      while (seen.at(-1)?.liveness !== 'down') {
        if (Date.now() - killedMs > downWithinMs) throw new Error(JSON.stringify(seen));
        seen.push(await n2AtN1());
        await sleep(pollIntervalMs);
      }
      const downMs = Date.now();
      while (Date.now() - downMs < watchAfterDownMs) {
        seen.push(await n2AtN1());
        await sleep(pollIntervalMs);
      }
      const firstDown = seen.findIndex((m) => m.liveness === 'down');
      // Down by suspicion (the failed writes) while phi was still low: the case that flipped back.
      expect(seen[firstDown]).toMatchObject({ suspected: true });
      expect(seen.slice(firstDown).map((m) => m.liveness)).not.toContain('up');
      expect(seen.slice(firstDown).every((m) => m.status === 'valid')).toBe(true);
      // The log agrees: no "peer is up" after n2's "peer is down".
      const log = nodes().log('n1');
      const downAt = log.lastIndexOf('peer is down');
      expect(downAt).toBeGreaterThan(-1);
      expect(log.slice(downAt)).not.toContain('peer is up');

      const human = await as(tokens.reader, ['--node', address('n1'), 'members']);
      expect(human.code).toBe(0);
      const row = human.stdout.split('\n').find((line) => line.startsWith('n2 '));
      expect(row).toMatch(/ valid +down( \(suspected\))? +(inf|>1000|\d+\.\d\d) +\d+$/);
      expect(human.stdout).not.toContain('e+');
      const unreachable = await as(tokens.reader, ['--node', address('n2'), '--json', 'ring']);
      expect(unreachable.code).toBe(exitCode.unavailable);
      expect(JSON.parse(unreachable.stdout)).toMatchObject({ error: { code: 'UNAVAILABLE' } });
    },
    testTimeoutMs,
  );
});
