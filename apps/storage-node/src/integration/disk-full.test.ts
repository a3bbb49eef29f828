import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { status } from '@grpc/grpc-js';
import { Applied } from '@ringstore/proto';
import { freePort, startCluster, type Cluster } from '@ringstore/tools';
import { afterAll, describe, expect, it } from 'vitest';
import { diskProbeIntervalMs } from '../health.js';
import { eventually } from '../test-support/eventually.js';
import { checkHealth } from '../test-support/grpc-probes.js';
import { connectNode, statusOf, type NodeClient } from '../test-support/kv-client.js';

/** The node's whole data filesystem: small, so a few dozen puts fill it. */
const tmpfsBytes = 4 * 1024 * 1024;
/**
 * Created on the tmpfs before the node starts, deleted to give space back. Most of the tmpfs:
 * once it is deleted, the checkpoint may copy the whole WAL into the database file (it grows by
 * up to the WAL's size, at most tmpfsBytes - fillerBytes), and what is left free must still hold
 * the probe's margin (twice the largest client message, about 650 KiB here).
 */
const fillerBytes = 3 * 1024 * 1024;
const valueBytes = 100 * 1024;
/**
 * --value-bytes-max: the node is SERVING again once twice its largest client message is free
 * (node.ts probeDisk), about 650 KiB with this, well within what deleting the filler frees.
 */
const valueBytesMax = 256 * 1024;
/** More puts than the tmpfs can hold: the fill loop is bounded. */
const fillPutsMax = Math.ceil(tmpfsBytes / valueBytes) + 16;
/** Puts refused on purpose once full: far more than the log lines allowed for them. */
const refusedPutsExtra = 25;
/** Puts that must succeed after the filler is deleted: well within the space it frees. */
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

/** The HTTP health and the series of the node's admin port that say whether it can write. */
async function httpHealth(adminAddress: string): Promise<{
  healthz: [number, string];
  serving: string | undefined;
  diskFull: string | undefined;
  refusedWrites: string | undefined;
}> {
  const get = async (path: string): Promise<[number, string]> => {
    const res = await fetch(`http://${adminAddress}${path}`, {
      signal: AbortSignal.timeout(5_000),
    });
    return [res.status, await res.text()];
  };
  const [, metrics] = await get('/metrics');
  const series = (name: string) => new RegExp(`^${name} (\\S+)$`, 'm').exec(metrics)?.[1];
  return {
    healthz: await get('/healthz'),
    serving: series('ringstore_serving'),
    diskFull: series('ringstore_storage_disk_full'),
    refusedWrites: series('ringstore_storage_disk_full_writes_total'),
  };
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

  it('refuses writes RESOURCE_EXHAUSTED "disk full" (applied none), logs it rarely, serves reads but reports NOT_SERVING, and serves and writes again once space is freed', async (ctx) => {
    const skipReason = tmpfs.mount();
    if (skipReason !== undefined) {
      console.log(`disk-full integration test skipped: ${skipReason}`);
      return ctx.skip(skipReason);
    }
    try {
      const filler = join(tmpfs.dir, 'filler');
      writeFileSync(filler, Buffer.alloc(fillerBytes));
      const adminAddress = `127.0.0.1:${await freePort()}`;
      cluster = await startCluster({
        nodes: 1,
        basePort: 0,
        dataDir: join(tmpfs.dir, 'data'),
        // The log must not be on the full disk: it is what the test reads.
        logDir,
        extraArgs: [
          ...['--replicas', '1', '--r', '1', '--w', '1'],
          ...['--value-bytes-max', String(valueBytesMax), '--metrics-listen', adminAddress],
        ],
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

      // The node cannot write: its health says so, on gRPC and on /healthz, at once.
      expect(await checkHealth(node.address)).toBe('NOT_SERVING');
      expect(await httpHealth(adminAddress)).toMatchObject({
        healthz: [503, 'NOT_SERVING\n'],
        serving: '0',
        diskFull: '1',
      });

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

      // Refused client writes are counted; the health probe's own tries are not.
      const refusedWrites = Number((await httpHealth(adminAddress)).refusedWrites);
      expect(refusedWrites).toBeGreaterThanOrEqual(1 + refusedPutsExtra);
      expect(refusedWrites).toBeLessThan(1 + refusedPutsExtra + 8);

      // Space comes back: the node's probe write commits, and it is SERVING again before any
      // client writes; then writes succeed, without a restart.
      rmSync(filler);
      await eventually(async () => {
        expect(await checkHealth(node.address)).toBe('SERVING');
      }, 10 * diskProbeIntervalMs);
      expect(await httpHealth(adminAddress)).toMatchObject({
        healthz: [200, 'SERVING\n'],
        serving: '1',
        diskFull: '0',
      });
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
