import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { loadRecords } from '../harness.js';
import { startEcho } from './echo.js';

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
