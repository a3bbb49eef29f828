import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { status } from '@grpc/grpc-js';
import { Applied } from '@ringstore/proto';
import { startCluster, type Cluster } from '@ringstore/tools';
import { afterAll, describe, expect, it } from 'vitest';
import { eventually } from '../test-support/eventually.js';
import { connectNode, statusOf, type NodeClient } from '../test-support/kv-client.js';

/** The node's whole data filesystem: small, so a few dozen puts fill it. */
const tmpfsBytes = 4 * 1024 * 1024;
/** Created on the tmpfs before the node starts, deleted to give space back. */
const fillerBytes = 1024 * 1024;
const valueBytes = 100 * 1024;
/** More puts than the tmpfs can hold: the fill loop is bounded. */
const fillPutsMax = Math.ceil(tmpfsBytes / valueBytes) + 16;
/** Puts refused on purpose once full: far more than the log lines allowed for them. */
const refusedPutsExtra = 25;
/** Puts that must succeed after the filler is deleted: well within the megabyte it frees. */
const putsAfterFree = 3;
const putDeadlineMs = 10_000;
/** Bound on mount and umount, which are instant on tmpfs. */
const mountTimeoutMs = 10_000;

function run(args: readonly string[]): string | undefined {
  const [command, ...rest] = args;
  const result = spawnSync(command!, rest, { encoding: 'utf8', timeout: mountTimeoutMs });
  if (result.error !== undefined) return result.error.message;
  if (result.status !== 0) return result.stderr.trim() || `exit status ${result.status}`;
  return undefined;
}

/** A mounted tmpfs, unmounted (lazily if still busy) and removed by unmount(); idempotent. */
class Tmpfs {
  private mounted = false;
  readonly dir = mkdtempSync(join(tmpdir(), 'ringstore-disk-full-'));

  /** Mounts it, or returns why it cannot be (not root, mount refused in a container). */
  mount(): string | undefined {
    if (process.platform !== 'linux') return `tmpfs needs Linux, not ${process.platform}`;
    if (process.getuid?.() !== 0) return 'mounting a tmpfs needs root';
    const failed = run(['mount', '-t', 'tmpfs', '-o', `size=${tmpfsBytes}`, 'tmpfs', this.dir]);
    if (failed !== undefined) return `mount -t tmpfs refused: ${failed}`;
    this.mounted = true;
    return undefined;
  }

  unmount(): void {
    if (this.mounted && run(['umount', this.dir]) !== undefined) run(['umount', '-l', this.dir]);
    this.mounted = false;
    if (existsSync(this.dir)) rmSync(this.dir, { recursive: true, force: true });
  }
}

/** A 100 KiB value whose bytes say which put wrote it. */
function valueOf(n: number): Buffer {
  return Buffer.alloc(valueBytes, n % 251);
}

async function expectStored(client: NodeClient, key: string, n: number): Promise<void> {
  const res = await client.get(key, { r: 1, deadlineMs: putDeadlineMs });
  expect(res.siblings.length, key).toBe(1);
  expect(Buffer.from(res.siblings[0]!.value).equals(valueOf(n)), key).toBe(true);
}

function diskFullLines(logFile: string): string[] {
  return readFileSync(logFile, 'utf8')
    .split('\n')
    .filter((line) => /disk full/i.test(line));
}

describe('a node whose disk fills up', () => {
  const tmpfs = new Tmpfs();
  const logDir = mkdtempSync(join(tmpdir(), 'ringstore-disk-full-logs-'));
  let cluster: Cluster | undefined;
  let client: NodeClient | undefined;

  /** Stops the node by pid (SIGTERM, bounded, then SIGKILL), then unmounts; safe to repeat. */
  async function cleanUp(): Promise<void> {
    client?.close();
    client = undefined;
    try {
      await cluster?.stop();
    } finally {
      cluster = undefined;
      tmpfs.unmount();
      rmSync(logDir, { recursive: true, force: true });
    }
  }
  afterAll(cleanUp, 30_000);

  it('refuses writes RESOURCE_EXHAUSTED "disk full" (applied none), logs it rarely, serves reads, and writes again once space is freed', async (ctx) => {
    const skipReason = tmpfs.mount();
    if (skipReason !== undefined) {
      console.log(`disk-full integration test skipped: ${skipReason}`);
      return ctx.skip(skipReason);
    }
    try {
      const filler = join(tmpfs.dir, 'filler');
      writeFileSync(filler, Buffer.alloc(fillerBytes));
      cluster = await startCluster({
        nodes: 1,
        basePort: 0,
        dataDir: join(tmpfs.dir, 'data'),
        // The log must not be on the full disk: it is what the test reads.
        logDir,
        extraArgs: ['--replicas', '1', '--r', '1', '--w', '1'],
      });
      const node = cluster.node('n1');
      client = connectNode(node.address);

      // Fill the disk: puts succeed until one is refused for want of space.
      const stored: number[] = [];
      let refusal: Awaited<ReturnType<typeof statusOf>> | undefined;
      for (let n = 0; n < fillPutsMax && refusal === undefined; n++) {
        const outcome = await statusOf(
          client.put(`fill-${n}`, valueOf(n), { w: 1, deadlineMs: putDeadlineMs }),
        );
        if (outcome.code === -1) stored.push(n);
        else refusal = outcome;
      }
      expect(refusal, `${fillPutsMax} puts of ${valueBytes} bytes all fit`).toBeDefined();
      expect(stored.length).toBeGreaterThan(0);
      expect([refusal!.code, refusal!.details]).toEqual([
        status.RESOURCE_EXHAUSTED,
        expect.stringMatching(/disk full/),
      ]);
      expect(refusal!.failure?.applied).toBe(Applied.APPLIED_NONE);

      // Every further put is refused the same way, and none of them is a log line of its own.
      for (let n = 0; n < refusedPutsExtra; n++) {
        const outcome = await statusOf(
          client.put(`refused-${n}`, valueOf(n), { w: 1, deadlineMs: putDeadlineMs }),
        );
        expect([outcome.code, outcome.failure?.applied], outcome.details).toEqual([
          status.RESOURCE_EXHAUSTED,
          Applied.APPLIED_NONE,
        ]);
      }

      // Reads keep working: everything acknowledged is there, nothing refused is.
      for (const n of stored) await expectStored(client, `fill-${n}`, n);
      const refused = await client.get('refused-0', { r: 1, deadlineMs: putDeadlineMs });
      expect(refused.siblings).toEqual([]);

      const lines = await eventually(() => {
        const found = diskFullLines(node.logFile);
        if (found.length > 0) return Promise.resolve(found);
        return Promise.reject(new Error(`no "disk full" line in ${node.logFile}`));
      });
      expect(lines.length, lines.join('\n')).toBeLessThanOrEqual(2);
      expect(lines.join('\n')).not.toMatch(/"stack"/);

      // Space comes back: writes succeed again, without a restart.
      rmSync(filler);
      for (let n = 0; n < putsAfterFree; n++) {
        await client.put(`after-${n}`, valueOf(n), { w: 1, deadlineMs: putDeadlineMs });
        await expectStored(client, `after-${n}`, n);
      }
      expect(cluster.node('n1').pid).toBe(node.pid);
      expect(diskFullLines(node.logFile).length).toBeLessThanOrEqual(2);
    } finally {
      await cleanUp();
    }
  }, 120_000);
});
