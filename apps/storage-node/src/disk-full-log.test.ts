import { describe, expect, it } from 'vitest';
import { DiskFullLog, diskFullLogIntervalMs } from './disk-full-log.js';

function recorder() {
  const lines: { fields: Record<string, unknown>; message: string }[] = [];
  const log = {
    error: (fields: Record<string, unknown>, message: string) => lines.push({ fields, message }),
  };
  return { lines, log: log as unknown as ConstructorParameters<typeof DiskFullLog>[0] };
}

const event = (writes: number) => ({ writes, reason: 'disk full: commit on /d/ringstore.db' });

describe('DiskFullLog', () => {
  it('logs the first refusal at once, then at most once per interval, with the count since the last line', () => {
    const { lines, log } = recorder();
    const diskFull = new DiskFullLog(log);
    diskFull.refused(event(1), 1_000);
    for (let n = 1; n <= 500; n++) diskFull.refused(event(2), 1_000 + n * 100);
    expect(lines).toHaveLength(1);
    diskFull.refused(event(1), 1_000 + diskFullLogIntervalMs);
    expect(lines).toHaveLength(2);
    expect(lines.map((line) => line.fields)).toEqual([
      { refusedWrites: 1, sinceLastLineMs: undefined, reason: event(1).reason },
      // 500 batches of 2 refused silently, and this one.
      { refusedWrites: 1_001, sinceLastLineMs: diskFullLogIntervalMs, reason: event(1).reason },
    ]);
    expect(lines[0]!.message).toMatch(/^disk full: writes refused/);
  });

  it('logs again at once after a quiet interval', () => {
    const { lines, log } = recorder();
    const diskFull = new DiskFullLog(log, 10);
    diskFull.refused(event(3), 0);
    diskFull.refused(event(4), 50);
    expect(lines.map((line) => line.fields['refusedWrites'])).toEqual([3, 4]);
  });
});
