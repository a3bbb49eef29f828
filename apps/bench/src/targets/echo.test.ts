import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { status } from '@grpc/grpc-js';
import { freePort } from '@ringstore/tools';
import { afterAll, describe, expect, it } from 'vitest';
import { loadRecords } from '../harness.js';
import { startServerProcess, waitReady } from './child.js';
import { echoDriver, echoServerScript, startEcho } from './echo.js';

const dir = mkdtempSync(join(tmpdir(), 'ringstore-bench-echo-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('the echo target (a real echo server process)', () => {
  it("reports its server's CPU, which moves with load, and refuses a reading once it is gone", async () => {
    const backend = await startEcho({
      nodes: 1,
      deadlineMs: 5_000,
      valueBytes: 20,
      workDir: dir,
      records: 0,
    });
    let stopped = false;
    try {
      const before = await backend.cpuSeconds!();
      const driver = await backend.driver('echo');
      await loadRecords(driver, 2_000, 20, 16, 1);
      await driver.close();
      expect(await backend.cpuSeconds!()).toBeGreaterThan(before);
      await backend.stop();
      stopped = true;
      await expect(backend.cpuSeconds!()).rejects.toThrow(/is gone/);
    } finally {
      if (!stopped) await backend.stop();
    }
  }, 60_000);
});

/** Whether a process with this pid exists (signal 0 checks without sending anything). */
function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

describe('the echo-quorum target (three real echo servers relaying to each other)', () => {
  it('starts three servers, reports the CPU of all three, and stops every one of them', async () => {
    const backend = await startEcho(
      { nodes: 3, deadlineMs: 5_000, valueBytes: 20, workDir: join(dir, 'quorum'), records: 0 },
      true,
    );
    const pids = [...backend.description.matchAll(/\d{2,}/g)].map((m) => Number(m[0]));
    let stopped = false;
    try {
      expect(backend.kind).toBe('echo-quorum');
      expect(pids).toHaveLength(3);
      const before = await backend.cpuSeconds!();
      const driver = await backend.driver('echo-quorum');
      await loadRecords(driver, 2_000, 20, 16, 1);
      await driver.close();
      expect(await backend.cpuSeconds!()).toBeGreaterThan(before);
      await backend.stop();
      stopped = true;
      for (const pid of pids) expect(alive(pid)).toBe(false);
    } finally {
      if (!stopped) await backend.stop();
    }
  }, 60_000);

  it('answers a call only after its replica messages: a put needs one other server, a get its peer', async () => {
    const addresses = await Promise.all([0, 1, 2].map(async () => `127.0.0.1:${await freePort()}`));
    const servers = addresses.map((address, i) =>
      startServerProcess(
        process.execPath,
        [
          echoServerScript,
          '--listen',
          address,
          '--value-bytes',
          '10',
          '--peers',
          addresses.filter((a) => a !== address).join(','),
        ],
        join(dir, `relay-${i}.log`),
        dir,
      ),
    );
    const first = echoDriver([addresses[0]!], 2_000);
    const key = Buffer.from('k');
    const value = Buffer.from('v');
    try {
      await waitReady('echo quorum', servers, () => first.read(key), 15_000);
      // One other server down: every put still has an acknowledgement (W=2 with its own).
      await servers[2]!.stop();
      for (let i = 0; i < 4; i++) await first.update(key, value);
      // Both down: nothing to relay to, so neither a get nor a put is answered OK.
      await servers[1]!.stop();
      await expect(first.read(key)).rejects.toMatchObject({ code: status.UNAVAILABLE });
      await expect(first.update(key, value)).rejects.toMatchObject({ code: status.UNAVAILABLE });
    } finally {
      await first.close();
      await Promise.all(servers.map((s) => s.stop()));
    }
  }, 60_000);
});
